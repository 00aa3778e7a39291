// Raw CBC encryption for IKEv1 payloads (RFC 2409 Appendix B; RFC 3602 for AES-CBC).
// The caller pads (DESIGN.md §2.5) and chains IVs; this file only runs the block cipher.
#include <openssl/evp.h>

#include <array>
#include <climits>
#include <memory>

#include "common/check.h"
#include "crypto/crypto.h"
#include "crypto/openssl_ptr.h"

namespace ikepulse::crypto {
namespace {

constexpr size_t kNumCiphers = 4;

size_t Index(CipherAlg c) {
  const auto i = static_cast<size_t>(c);
  IKEPULSE_CHECK(i < kNumCiphers);
  return i;
}

constexpr std::array<const char*, kNumCiphers> kOpenSslNames = {"AES-128-CBC", "AES-192-CBC",
                                                                "AES-256-CBC", "DES-EDE3-CBC"};
constexpr std::array<const char*, kNumCiphers> kNames = {"aes-128-cbc", "aes-192-cbc",
                                                         "aes-256-cbc", "3des-cbc"};
constexpr std::array<size_t, kNumCiphers> kKeyLengths = {16, 24, 32, 24};
constexpr std::array<size_t, kNumCiphers> kBlockSizes = {16, 16, 16, 8};

// Fetched once for the life of the process (see hash.cc).
const EVP_CIPHER* Fetched(CipherAlg c) {
  struct Ciphers {
    std::array<CipherPtr, kNumCiphers> cipher;
    Ciphers() {
      for (size_t i = 0; i < kNumCiphers; ++i) {
        cipher[i].reset(EVP_CIPHER_fetch(nullptr, kOpenSslNames[i], nullptr));
        IKEPULSE_CHECK(cipher[i] != nullptr);
        IKEPULSE_CHECK(static_cast<size_t>(EVP_CIPHER_get_key_length(cipher[i].get())) ==
                       kKeyLengths[i]);
        IKEPULSE_CHECK(static_cast<size_t>(EVP_CIPHER_get_block_size(cipher[i].get())) ==
                       kBlockSizes[i]);
      }
    }
  };
  static const Ciphers ciphers;
  return ciphers.cipher[Index(c)].get();
}

// This thread's context for `c`, made on first use and re-keyed by each call (as in hash.cc:
// creating one per call cost more than encrypting a DPD message). The key schedule of the
// last call stays in it until the next call; OpenSSL cleanses it when the thread ends.
EVP_CIPHER_CTX* Context(CipherAlg c) {
  (void)Fetched(c);  // the cipher outlives every thread's contexts
  static thread_local std::array<CipherCtxPtr, kNumCiphers> contexts;
  CipherCtxPtr& ctx = contexts[Index(c)];
  if (!ctx) {
    ctx.reset(EVP_CIPHER_CTX_new());
    IKEPULSE_CHECK(ctx != nullptr);
    IKEPULSE_CHECK(EVP_CipherInit_ex2(ctx.get(), Fetched(c), nullptr, nullptr, 1, nullptr) == 1);
    IKEPULSE_CHECK(EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1);
  }
  return ctx.get();
}

Result<Bytes, CryptoError> Cbc(CipherAlg c, ByteSpan key, ByteSpan iv, ByteSpan data,
                               bool encrypt) {
  if (key.size() != KeyLength(c)) return MakeUnexpected(CryptoError{"Wrong key length."});
  if (iv.size() != BlockSize(c)) return MakeUnexpected(CryptoError{"Wrong IV length."});
  if (data.size() % BlockSize(c) != 0) {
    return MakeUnexpected(CryptoError{"Data is not a multiple of the block size."});
  }
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return MakeUnexpected(CryptoError{"Data too long."});
  }
  Bytes out(data.size());
  if (data.empty()) return out;

  EVP_CIPHER_CTX* ctx = Context(c);
  if (EVP_CipherInit_ex2(ctx, nullptr, key.data(), iv.data(), encrypt ? 1 : 0, nullptr) != 1) {
    return MakeUnexpected(CryptoError{"Cipher initialisation failed."});
  }
  // Padding is off from the context's creation and a re-initialisation keeps it off; setting
  // it again per call costs a parameter lookup by name. Checked, because with padding on the
  // final call below would write a block past `out`.
  if (!EVP_CIPHER_CTX_test_flags(ctx, EVP_CIPH_NO_PADDING)) {
    IKEPULSE_CHECK(EVP_CIPHER_CTX_set_padding(ctx, 0) == 1);
  }
  int len = 0;
  if (EVP_CipherUpdate(ctx, out.data(), &len, data.data(), static_cast<int>(data.size())) != 1) {
    return MakeUnexpected(CryptoError{"Cipher update failed."});
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx, out.data() + len, &final_len) != 1) {
    return MakeUnexpected(CryptoError{"Cipher final failed."});
  }
  IKEPULSE_CHECK(static_cast<size_t>(len + final_len) == data.size());
  return out;
}

}  // namespace

size_t KeyLength(CipherAlg c) { return kKeyLengths[Index(c)]; }
size_t BlockSize(CipherAlg c) { return kBlockSizes[Index(c)]; }
const char* CipherName(CipherAlg c) { return kNames[Index(c)]; }

Result<Bytes, CryptoError> CbcEncrypt(CipherAlg c, ByteSpan key, ByteSpan iv, ByteSpan data) {
  return Cbc(c, key, iv, data, /*encrypt=*/true);
}

Result<Bytes, CryptoError> CbcDecrypt(CipherAlg c, ByteSpan key, ByteSpan iv, ByteSpan data) {
  return Cbc(c, key, iv, data, /*encrypt=*/false);
}

}  // namespace ikepulse::crypto
