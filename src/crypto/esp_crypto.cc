// ESP transforms: pre-keyed OpenSSL cipher and HMAC contexts for one SA direction.
#include "crypto/esp_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <climits>

#include "common/check.h"
#include "crypto/openssl_ptr.h"

namespace ikepulse::crypto {
namespace {

constexpr size_t kNumEnc = 7;
constexpr size_t kNumInteg = 6;

// Indexed by EspEncAlg.
constexpr std::array<const char*, kNumEnc> kEncOpenSsl = {
    nullptr, "AES-128-CBC", "AES-192-CBC", "AES-256-CBC", "DES-EDE3-CBC", "AES-128-GCM",
    "AES-256-GCM"};
constexpr std::array<const char*, kNumEnc> kEncNames = {
    "null", "aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc", "aes128-gcm16", "aes256-gcm16"};
// The key as negotiated (AES-GCM: the AES key and the 4-byte salt).
constexpr std::array<size_t, kNumEnc> kEncKeyLen = {0, 16, 24, 32, 24, 20, 36};
// The key OpenSSL takes.
constexpr std::array<size_t, kNumEnc> kCipherKeyLen = {0, 16, 24, 32, 24, 16, 32};
// The IV carried in each packet (AES-GCM: the explicit 8 bytes; OpenSSL's nonce is 12).
constexpr std::array<size_t, kNumEnc> kIvLen = {0, 16, 16, 16, 8, 8, 8};
constexpr std::array<size_t, kNumEnc> kAlign = {4, 16, 16, 16, 8, 4, 4};
constexpr std::array<bool, kNumEnc> kAead = {false, false, false, false, false, true, true};
constexpr size_t kGcmNonceLength = kEspGcmSaltLength + 8;

// Indexed by EspIntegAlg.
constexpr std::array<const char*, kNumInteg> kIntegDigest = {nullptr,    "MD5",      "SHA1",
                                                             "SHA2-256", "SHA2-384", "SHA2-512"};
constexpr std::array<const char*, kNumInteg> kIntegNames = {
    "none", "hmac-md5-96", "hmac-sha1-96", "hmac-sha256-128", "hmac-sha384-192", "hmac-sha512-256"};
constexpr std::array<size_t, kNumInteg> kIntegKeyLen = {0, 16, 20, 32, 48, 64};
constexpr std::array<size_t, kNumInteg> kIcvLen = {0, 12, 12, 16, 24, 32};

size_t EncIndex(EspEncAlg a) {
  const auto i = static_cast<size_t>(a);
  IKEPULSE_CHECK(i < kNumEnc);
  return i;
}
size_t IntegIndex(EspIntegAlg a) {
  const auto i = static_cast<size_t>(a);
  IKEPULSE_CHECK(i < kNumInteg);
  return i;
}

// Fetched once for the life of the process (as cipher.cc and hash.cc do).
struct Algorithms {
  std::array<CipherPtr, kNumEnc> cipher;
  MacPtr hmac;
  Algorithms() {
    for (size_t i = 1; i < kNumEnc; ++i) {
      cipher[i].reset(EVP_CIPHER_fetch(nullptr, kEncOpenSsl[i], nullptr));
      IKEPULSE_CHECK(cipher[i] != nullptr);
      IKEPULSE_CHECK(static_cast<size_t>(EVP_CIPHER_get_key_length(cipher[i].get())) ==
                     kCipherKeyLen[i]);
      IKEPULSE_CHECK(static_cast<size_t>(EVP_CIPHER_get_iv_length(cipher[i].get())) ==
                     (kAead[i] ? kGcmNonceLength : kIvLen[i]));
    }
    hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    IKEPULSE_CHECK(hmac != nullptr);
  }
};

const Algorithms& Algs() {
  static const Algorithms algs;
  return algs;
}

}  // namespace

size_t EspEncKeyLength(EspEncAlg a) { return kEncKeyLen[EncIndex(a)]; }
size_t EspIvLength(EspEncAlg a) { return kIvLen[EncIndex(a)]; }
size_t EspAlignment(EspEncAlg a) { return kAlign[EncIndex(a)]; }
bool EspIsAead(EspEncAlg a) { return kAead[EncIndex(a)]; }
size_t EspIntegKeyLength(EspIntegAlg a) { return kIntegKeyLen[IntegIndex(a)]; }
size_t EspIcvLength(EspIntegAlg a) { return kIcvLen[IntegIndex(a)]; }
const char* EspEncName(EspEncAlg a) { return kEncNames[EncIndex(a)]; }
const char* EspIntegName(EspIntegAlg a) { return kIntegNames[IntegIndex(a)]; }

Bytes TruncatedHmac(HashAlg h, ByteSpan key, ByteSpan data, size_t len) {
  IKEPULSE_CHECK(len <= HashLength(h));
  SecretBytes full = Prf(h, key, {data});
  return Bytes(full.data(), full.data() + len);
}

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The cipher contexts are keyed on first use, one per direction: an IPsec SA is used in one
// direction only (the outbound SA encrypts, the inbound one decrypts), so keying both at
// Create would cost a second key schedule (640 bytes of OpenSSL heap) per SA for nothing.
// The encryption key is kept (wiped on free) until then.
struct EspCryptoContext::Impl {
  SecretBytes enc_key;   // for the contexts not keyed yet (AES-GCM: without the salt)
  std::array<uint8_t, kEspGcmSaltLength> salt{};  // AES-GCM
  CipherCtxPtr enc_ctx;  // keyed for encryption (first Encrypt)
  CipherCtxPtr dec_ctx;  // keyed for decryption (first Decrypt)
  MacCtxPtr mac;         // keyed; re-initialised per packet with a null key (= same key)
};

namespace {
CipherCtxPtr KeyedCipherCtx(EspEncAlg enc, ByteSpan key, bool encrypt) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  const EVP_CIPHER* cipher = Algs().cipher[EncIndex(enc)].get();
  if (EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), nullptr, encrypt ? 1 : 0, nullptr) != 1)
    return nullptr;
  IKEPULSE_CHECK(EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1);
  return ctx;
}
}  // namespace

EspCryptoContext::EspCryptoContext(EspEncAlg enc, EspIntegAlg integ, std::unique_ptr<Impl> impl)
    : enc_(enc), integ_(integ), impl_(std::move(impl)) {}
EspCryptoContext::~EspCryptoContext() = default;

Result<std::unique_ptr<EspCryptoContext>, CryptoError> EspCryptoContext::Create(
    EspEncAlg enc, ByteSpan enc_key, EspIntegAlg integ, ByteSpan integ_key) {
  if (static_cast<size_t>(enc) >= kNumEnc || static_cast<size_t>(integ) >= kNumInteg) {
    return MakeUnexpected(CryptoError{"Unknown ESP algorithm."});
  }
  if (enc_key.size() != EspEncKeyLength(enc)) {
    return MakeUnexpected(CryptoError{"Wrong ESP encryption key length."});
  }
  if (EspIsAead(enc) && integ != EspIntegAlg::kNone) {
    return MakeUnexpected(CryptoError{"No integrity algorithm with a combined mode."});
  }
  if (integ_key.size() != EspIntegKeyLength(integ)) {
    return MakeUnexpected(CryptoError{"Wrong ESP integrity key length."});
  }
  auto impl = std::make_unique<Impl>();
  // No cipher context yet: each is keyed on first use (the key length is checked above, and
  // CBC keying cannot fail otherwise except on allocation, which Crypt reports).
  if (EspIsAead(enc)) {
    const size_t k = kCipherKeyLen[EncIndex(enc)];
    impl->enc_key = SecretBytes(enc_key.first(k));
    std::copy(enc_key.begin() + static_cast<std::ptrdiff_t>(k), enc_key.end(),
              impl->salt.begin());
  } else if (enc != EspEncAlg::kNull) {
    impl->enc_key = SecretBytes(enc_key);
  }
  if (integ != EspIntegAlg::kNone) {
    impl->mac.reset(EVP_MAC_CTX_new(Algs().hmac.get()));
    IKEPULSE_CHECK(impl->mac != nullptr);
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(kIntegDigest[IntegIndex(integ)]), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(impl->mac.get(), integ_key.data(), integ_key.size(), params) != 1) {
      return MakeUnexpected(CryptoError{"HMAC initialisation failed."});
    }
  }
  return std::unique_ptr<EspCryptoContext>(new EspCryptoContext(enc, integ, std::move(impl)));
}

Result<void, CryptoError> EspCryptoContext::Crypt(ByteSpan iv, std::span<uint8_t> data,
                                                  bool encrypt) const {
  if (aead()) return MakeUnexpected(CryptoError{"Combined mode: use Seal/Open."});
  if (iv.size() != iv_length()) return MakeUnexpected(CryptoError{"Wrong IV length."});
  if (data.size() % alignment() != 0) {
    return MakeUnexpected(CryptoError{"Data is not a multiple of the block size."});
  }
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return MakeUnexpected(CryptoError{"Data too long."});
  }
  if (enc_ == EspEncAlg::kNull || data.empty()) return {};
  CipherCtxPtr& slot = encrypt ? impl_->enc_ctx : impl_->dec_ctx;
  if (!slot) {
    slot = KeyedCipherCtx(enc_, impl_->enc_key.span(), encrypt);
    if (!slot) return MakeUnexpected(CryptoError{"Cipher initialisation failed."});
  }
  if (impl_->enc_ctx && impl_->dec_ctx) impl_->enc_key = SecretBytes();  // both keyed: wipe
  EVP_CIPHER_CTX* ctx = slot.get();
  // Keep the key schedule; set only the IV.
  if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, iv.data(), encrypt ? 1 : 0, nullptr) != 1) {
    return MakeUnexpected(CryptoError{"Cipher IV setup failed."});
  }
  int len = 0;
  if (EVP_CipherUpdate(ctx, data.data(), &len, data.data(), static_cast<int>(data.size())) != 1 ||
      static_cast<size_t>(len) != data.size()) {
    return MakeUnexpected(CryptoError{"Cipher update failed."});
  }
  return {};
}

Result<void, CryptoError> EspCryptoContext::Encrypt(ByteSpan iv, std::span<uint8_t> data) const {
  return Crypt(iv, data, /*encrypt=*/true);
}

Result<void, CryptoError> EspCryptoContext::Decrypt(ByteSpan iv, std::span<uint8_t> data) const {
  return Crypt(iv, data, /*encrypt=*/false);
}

void EspCryptoContext::ComputeIcv(std::initializer_list<ByteSpan> data,
                                  std::span<uint8_t> out) const {
  IKEPULSE_CHECK(out.size() == icv_length());
  if (integ_ == EspIntegAlg::kNone) return;
  EVP_MAC_CTX* mac = impl_->mac.get();
  // A null key re-initialises HMAC with the key already set (OpenSSL 3 HMAC provider).
  IKEPULSE_CHECK(EVP_MAC_init(mac, nullptr, 0, nullptr) == 1);
  for (ByteSpan d : data) IKEPULSE_CHECK(EVP_MAC_update(mac, d.data(), d.size()) == 1);
  std::array<uint8_t, EVP_MAX_MD_SIZE> full;
  size_t len = 0;
  IKEPULSE_CHECK(EVP_MAC_final(mac, full.data(), &len, full.size()) == 1);
  IKEPULSE_CHECK(len >= out.size());
  std::copy(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(out.size()), out.begin());
  SecureWipe(full.data(), full.size());
}

bool EspCryptoContext::VerifyIcv(std::initializer_list<ByteSpan> data, ByteSpan icv) const {
  if (integ_ == EspIntegAlg::kNone) return icv.empty();
  if (icv.size() != icv_length()) return false;
  std::array<uint8_t, EVP_MAX_MD_SIZE> expected;
  ComputeIcv(data, std::span<uint8_t>(expected.data(), icv.size()));
  return CRYPTO_memcmp(expected.data(), icv.data(), icv.size()) == 0;
}

EVP_CIPHER_CTX* EspCryptoContext::GcmContext(bool encrypt, ByteSpan iv) const {
  CipherCtxPtr& slot = encrypt ? impl_->enc_ctx : impl_->dec_ctx;
  if (!slot) {
    slot = KeyedCipherCtx(enc_, impl_->enc_key.span(), encrypt);
    if (!slot) return nullptr;
  }
  if (impl_->enc_ctx && impl_->dec_ctx) impl_->enc_key = SecretBytes();  // both keyed: wipe
  std::array<uint8_t, kGcmNonceLength> nonce;
  std::copy(impl_->salt.begin(), impl_->salt.end(), nonce.begin());
  std::copy(iv.begin(), iv.end(), nonce.begin() + kEspGcmSaltLength);
  // Keep the key schedule; set only the nonce (12 bytes, OpenSSL's default GCM IV length).
  if (EVP_CipherInit_ex2(slot.get(), nullptr, nullptr, nonce.data(), encrypt ? 1 : 0, nullptr) !=
      1)
    return nullptr;
  return slot.get();
}

Result<void, CryptoError> EspCryptoContext::Seal(ByteSpan aad, ByteSpan iv,
                                                 std::span<uint8_t> data,
                                                 std::span<uint8_t> icv) const {
  if (!aead()) return MakeUnexpected(CryptoError{"Not a combined mode."});
  if (iv.size() != iv_length() || icv.size() != kEspGcmIcvLength ||
      data.size() > static_cast<size_t>(INT_MAX) || aad.size() > static_cast<size_t>(INT_MAX)) {
    return MakeUnexpected(CryptoError{"Wrong AEAD sizes."});
  }
  EVP_CIPHER_CTX* ctx = GcmContext(/*encrypt=*/true, iv);
  if (!ctx) return MakeUnexpected(CryptoError{"Cipher initialisation failed."});
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return MakeUnexpected(CryptoError{"AAD update failed."});
  }
  if (!data.empty() &&
      (EVP_EncryptUpdate(ctx, data.data(), &len, data.data(), static_cast<int>(data.size())) != 1 ||
       static_cast<size_t>(len) != data.size())) {
    return MakeUnexpected(CryptoError{"Cipher update failed."});
  }
  uint8_t tail[16];
  if (EVP_EncryptFinal_ex(ctx, tail, &len) != 1 || len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(icv.size()), icv.data()) !=
          1) {
    return MakeUnexpected(CryptoError{"Cipher final failed."});
  }
  return {};
}

Result<void, EspCryptoContext::OpenError> EspCryptoContext::Open(ByteSpan aad, ByteSpan iv,
                                                                 ByteSpan data, ByteSpan icv,
                                                                 std::span<uint8_t> out) const {
  auto fail = [&](OpenError e) {
    if (!out.empty()) SecureWipe(out.data(), out.size());
    return MakeUnexpected(e);
  };
  if (!aead() || iv.size() != iv_length() || icv.size() != kEspGcmIcvLength ||
      out.size() != data.size() || data.size() > static_cast<size_t>(INT_MAX) ||
      aad.size() > static_cast<size_t>(INT_MAX)) {
    return fail(OpenError::kBadSize);
  }
  EVP_CIPHER_CTX* ctx = GcmContext(/*encrypt=*/false, iv);
  if (!ctx) return fail(OpenError::kCryptoFailure);
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return fail(OpenError::kCryptoFailure);
  }
  if (!data.empty() &&
      (EVP_DecryptUpdate(ctx, out.data(), &len, data.data(), static_cast<int>(data.size())) != 1 ||
       static_cast<size_t>(len) != data.size())) {
    return fail(OpenError::kCryptoFailure);
  }
  // OpenSSL takes a non-const tag; copy it.
  std::array<uint8_t, kEspGcmIcvLength> tag;
  std::copy(icv.begin(), icv.end(), tag.begin());
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()), tag.data()) !=
      1) {
    return fail(OpenError::kCryptoFailure);
  }
  uint8_t tail[16];
  // The tag is compared in constant time by OpenSSL's GCM final.
  if (EVP_DecryptFinal_ex(ctx, tail, &len) != 1) return fail(OpenError::kIcvMismatch);
  return {};
}

}  // namespace ikepulse::crypto
