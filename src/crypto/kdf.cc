#include "crypto/kdf.h"

#include <openssl/evp.h>

namespace ikepulse::crypto {

std::optional<SecretBytes> Pbkdf2Sha256(ByteSpan password, ByteSpan salt, uint32_t iterations,
                                        size_t out_len) {
  if (iterations == 0 || out_len == 0) return std::nullopt;
  SecretBytes out(out_len);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()),
                        static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out_len), out.data()) != 1)
    return std::nullopt;
  return out;
}

std::optional<SecretBytes> Scrypt(ByteSpan password, ByteSpan salt, uint64_t n, uint64_t r,
                                  uint64_t p, size_t out_len) {
  if (out_len == 0) return std::nullopt;
  SecretBytes out(out_len);
  // 0 = OpenSSL's default memory cap (32 MiB), ample for IOS's N=16384, r=1.
  if (EVP_PBE_scrypt(reinterpret_cast<const char*>(password.data()), password.size(), salt.data(),
                     salt.size(), n, r, p, 0, out.data(), out_len) != 1)
    return std::nullopt;
  return out;
}

}  // namespace ikepulse::crypto
