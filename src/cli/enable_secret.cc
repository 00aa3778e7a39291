#include "cli/enable_secret.h"

#include <crypt.h>

#include <array>
#include <cstring>
#include <memory>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"

namespace ikepulse::cli {

namespace {

// IOS's base64 alphabet for types 4, 8 and 9 (the crypt(3) characters in ASCII order); the
// bit order is that of standard base64, without padding: 32 bytes -> 43 characters.
constexpr char kAlphabet[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t kSaltLen = 14;
constexpr size_t kHashChars = 43;
constexpr uint32_t kType8Iterations = 20000;
constexpr uint64_t kType9N = 16384;

std::string Encode(ByteSpan b) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t v : b) {
    acc = (acc << 8) | v;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

bool InAlphabet(std::string_view s) {
  for (char c : s)
    if (!std::strchr(kAlphabet, c) || c == '\0') return false;
  return true;
}

std::optional<std::string> Crypt(std::string_view plain, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string phrase(plain);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  std::optional<std::string> r;
  if (out && out[0] != '*') r = std::string(out);
  SecureWipe(phrase.data(), phrase.size());
  SecureWipe(data.get(), sizeof(crypt_data));
  return r;
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::optional<std::string> HashEnableSecretWithSalt(std::string_view plain, int type,
                                                    std::string_view salt) {
  if ((type != 8 && type != 9) || salt.size() != kSaltLen || !InAlphabet(salt)) return std::nullopt;
  const ByteSpan pw(reinterpret_cast<const uint8_t*>(plain.data()), plain.size());
  const ByteSpan s(reinterpret_cast<const uint8_t*>(salt.data()), salt.size());
  auto key = type == 9 ? crypto::Scrypt(pw, s, kType9N, 1, 1, 32)
                       : crypto::Pbkdf2Sha256(pw, s, kType8Iterations, 32);
  if (!key) return std::nullopt;
  return "$" + std::to_string(type) + "$" + std::string(salt) + "$" + Encode(key->span());
}

std::optional<std::string> HashEnableSecret(std::string_view plain) {
  std::array<uint8_t, kSaltLen> raw{};
  crypto::OpenSslRandom rng;
  rng.Fill(raw);
  std::string salt;
  for (uint8_t v : raw) salt += kAlphabet[v & 0x3f];
  return HashEnableSecretWithSalt(plain, 9, salt);
}

int EnableSecretType(std::string_view hash) {
  if (hash.rfind("$9$", 0) == 0) return 9;
  if (hash.rfind("$8$", 0) == 0) return 8;
  return 5;
}

bool IsEnableSecretHash(int type, std::string_view hash) {
  if (type == 5) return EnableSecretType(hash) == 5 && IsCryptHash(hash);
  if (type != 8 && type != 9) return false;
  // "$9$" + salt + "$" + hash
  if (hash.size() != 3 + kSaltLen + 1 + kHashChars) return false;
  if (EnableSecretType(hash) != type || hash[3 + kSaltLen] != '$') return false;
  return InAlphabet(hash.substr(3, kSaltLen)) && InAlphabet(hash.substr(4 + kSaltLen));
}

bool VerifyEnableSecret(std::string_view plain, const std::string& hash) {
  const int type = EnableSecretType(hash);
  std::optional<std::string> h;
  if (type == 5) {
    h = Crypt(plain, hash);
  } else if (IsEnableSecretHash(type, hash)) {
    h = HashEnableSecretWithSalt(plain, type, std::string_view(hash).substr(3, kSaltLen));
  }
  return h && ConstantTimeEqual(*h, hash);
}

bool IsCryptHash(std::string_view hash) {
  if (hash.size() < 4 || hash[0] != '$') return false;
  for (char c : hash)
    if (c == ' ' || c == '\t' || c == ':') return false;
  const int r = crypt_checksalt(std::string(hash).c_str());
  return r == CRYPT_SALT_OK || r == CRYPT_SALT_METHOD_LEGACY;  // IOS type 5 is MD5 `$1$`
}

}  // namespace ikepulse::cli
