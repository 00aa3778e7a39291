// AES-GCM (NIST SP 800-38D) with a 12-byte nonce and a 16-byte tag, for the IKEv2 SK payload
// (RFC 5282). As in cipher.cc, each thread keeps one context per key size, re-keyed per call.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <climits>
#include <memory>

#include "common/check.h"
#include "crypto/crypto.h"
#include "crypto/openssl_ptr.h"

namespace ikepulse::crypto {
namespace {

constexpr size_t kNonceLength = 12;  // the GCM default IV length in OpenSSL
constexpr size_t kTagLength = 16;

// Index 0: AES-128-GCM, 1: AES-256-GCM.
const EVP_CIPHER* Fetched(size_t i) {
  struct Ciphers {
    std::array<CipherPtr, 2> cipher;
    Ciphers() {
      cipher[0].reset(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr));
      cipher[1].reset(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
      IKEPULSE_CHECK(cipher[0] != nullptr && cipher[1] != nullptr);
      IKEPULSE_CHECK(EVP_CIPHER_get_key_length(cipher[0].get()) == 16);
      IKEPULSE_CHECK(EVP_CIPHER_get_key_length(cipher[1].get()) == 32);
      IKEPULSE_CHECK(static_cast<size_t>(EVP_CIPHER_get_iv_length(cipher[0].get())) ==
                     kNonceLength);
    }
  };
  static const Ciphers ciphers;
  return ciphers.cipher[i].get();
}

EVP_CIPHER_CTX* Context(size_t i) {
  (void)Fetched(i);  // the cipher outlives every thread's contexts
  static thread_local std::array<CipherCtxPtr, 2> contexts;
  CipherCtxPtr& ctx = contexts[i];
  if (!ctx) {
    ctx.reset(EVP_CIPHER_CTX_new());
    IKEPULSE_CHECK(ctx != nullptr);
    IKEPULSE_CHECK(EVP_CipherInit_ex2(ctx.get(), Fetched(i), nullptr, nullptr, 1, nullptr) == 1);
  }
  return ctx.get();
}

// A non-null pointer for an empty span (OpenSSL treats a null output of an update as "this
// is associated data").
const uint8_t* Ptr(ByteSpan b) {
  static const uint8_t kEmpty = 0;
  return b.empty() ? &kEmpty : b.data();
}

Result<Bytes, CryptoError> Gcm(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan in,
                               ByteSpan tag_in, bool encrypt) {
  if (key.size() != 16 && key.size() != 32) {
    return MakeUnexpected(CryptoError{"Wrong key length."});
  }
  if (nonce.size() != kNonceLength) return MakeUnexpected(CryptoError{"Wrong nonce length."});
  if (in.size() > static_cast<size_t>(INT_MAX) - kTagLength ||
      aad.size() > static_cast<size_t>(INT_MAX)) {
    return MakeUnexpected(CryptoError{"Data too long."});
  }
  EVP_CIPHER_CTX* ctx = Context(key.size() == 16 ? 0 : 1);
  if (EVP_CipherInit_ex2(ctx, nullptr, key.data(), nonce.data(), encrypt ? 1 : 0, nullptr) != 1) {
    return MakeUnexpected(CryptoError{"Cipher initialisation failed."});
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return MakeUnexpected(CryptoError{"AAD update failed."});
  }
  Bytes out(in.size() + (encrypt ? kTagLength : 0));
  uint8_t scratch = 0;
  uint8_t* dst = out.empty() ? &scratch : out.data();
  if (!in.empty() && (EVP_CipherUpdate(ctx, dst, &len, Ptr(in), static_cast<int>(in.size())) != 1 ||
                      static_cast<size_t>(len) != in.size())) {
    return MakeUnexpected(CryptoError{"Cipher update failed."});
  }
  if (!encrypt) {
    // The expected tag goes in before the final call, which verifies it.
    std::array<uint8_t, kTagLength> tag;
    std::copy(tag_in.begin(), tag_in.end(), tag.begin());
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag.data(), tag.size()),
        OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(ctx, params) != 1) {
      return MakeUnexpected(CryptoError{"Setting the tag failed."});
    }
  }
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx, dst + in.size(), &final_len) != 1 || final_len != 0) {
    SecureWipe(out.data(), out.size());
    return MakeUnexpected(CryptoError{encrypt ? "Cipher final failed." : "Tag mismatch."});
  }
  if (encrypt) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                             out.data() + in.size(), kTagLength),
                           OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_get_params(ctx, params) != 1) {
      return MakeUnexpected(CryptoError{"Reading the tag failed."});
    }
  }
  return out;
}

}  // namespace

Result<Bytes, CryptoError> AesGcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plain) {
  return Gcm(key, nonce, aad, plain, {}, /*encrypt=*/true);
}

Result<Bytes, CryptoError> AesGcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed) {
  if (sealed.size() < kTagLength) return MakeUnexpected(CryptoError{"Shorter than the tag."});
  return Gcm(key, nonce, aad, sealed.first(sealed.size() - kTagLength), sealed.last(kTagLength),
             /*encrypt=*/false);
}

}  // namespace ikepulse::crypto
