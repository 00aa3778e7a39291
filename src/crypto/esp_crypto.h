// ESP cryptographic transforms (RFC 4303 §3.4.3/§3.3.2): a keyed context for one SA direction
// with CBC encryption (RFC 3602 AES-CBC, RFC 2451 3DES-CBC, RFC 2410 NULL) and truncated-HMAC
// integrity (RFC 2403 HMAC-MD5-96, RFC 2404 HMAC-SHA1-96, RFC 4868 HMAC-SHA-256-128,
// -384-192, -512-256), or the combined mode AES-GCM with a 16-byte ICV (RFC 4106). Only this
// directory includes <openssl/*>; src/dataplane uses these.
//
// AES-GCM (RFC 4106): the "encryption key" handed to Create is the AES key followed by a
// 4-byte salt, as both KEYMATs deliver it (16 + 4 or 32 + 4 bytes); there is no integrity
// key (EspIntegAlg::kNone). The nonce is salt | the packet's 8-byte explicit IV, the AAD is
// SPI | sequence number (no ESN).
//
// EspCryptoContext keeps its OpenSSL contexts keyed once (the key schedule is done at
// creation, not per packet). It is not thread-safe: one context per SA direction, used by one
// thread. It owns copies of the keys only inside OpenSSL's contexts (freed and cleansed by
// OpenSSL); keys are never logged.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/crypto.h"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX, opaque here

namespace ikepulse::crypto {

// Every value written out (these are our own enums, not IANA numbers).
enum class EspEncAlg : uint8_t {
  kNull = 0,       // RFC 2410: no IV, 4-byte alignment
  kAes128Cbc = 1,  // RFC 3602: 16-byte IV and block
  kAes192Cbc = 2,
  kAes256Cbc = 3,
  k3DesCbc = 4,    // RFC 2451: 8-byte IV and block
  kAes128Gcm16 = 5,  // RFC 4106: 16-byte key + 4-byte salt, 8-byte IV, 16-byte ICV, 4-byte alignment
  kAes256Gcm16 = 6,  // RFC 4106: 32-byte key + 4-byte salt
};
enum class EspIntegAlg : uint8_t {
  kNone = 0,            // no integrity (then no anti-replay either, RFC 4303 §3.4.3)
  kHmacMd5_96 = 1,      // RFC 2403: 16-byte key, 12-byte ICV
  kHmacSha1_96 = 2,     // RFC 2404: 20-byte key, 12-byte ICV
  kHmacSha256_128 = 3,  // RFC 4868: 32-byte key, 16-byte ICV
  kHmacSha384_192 = 4,  // RFC 4868: 48-byte key, 24-byte ICV
  kHmacSha512_256 = 5,  // RFC 4868: 64-byte key, 32-byte ICV
};

// For AES-GCM: the key and the salt (20 or 36 bytes).
size_t EspEncKeyLength(EspEncAlg a);
size_t EspIvLength(EspEncAlg a);
// A combined-mode (AEAD) algorithm: AES-GCM.
bool EspIsAead(EspEncAlg a);
inline constexpr size_t kEspGcmIcvLength = 16;
inline constexpr size_t kEspGcmSaltLength = 4;
// The alignment of (payload | padding | pad length | next header): the cipher block size,
// at least 4 (RFC 4303 §2.4).
size_t EspAlignment(EspEncAlg a);
size_t EspIntegKeyLength(EspIntegAlg a);
size_t EspIcvLength(EspIntegAlg a);
const char* EspEncName(EspEncAlg a);      // "aes128-cbc", "3des-cbc", "null", "aes128-gcm16"
const char* EspIntegName(EspIntegAlg a);  // "hmac-sha1-96", ...

// HMAC(key, data) truncated to `len` bytes (len <= the hash length).
Bytes TruncatedHmac(HashAlg h, ByteSpan key, ByteSpan data, size_t len);

// Constant-time comparison (CRYPTO_memcmp); false for different sizes.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

class EspCryptoContext {
 public:
  // Errors on wrong key lengths (an AEAD algorithm takes integ kNone and no integrity key).
  static Result<std::unique_ptr<EspCryptoContext>, CryptoError> Create(EspEncAlg enc,
                                                                       ByteSpan enc_key,
                                                                       EspIntegAlg integ,
                                                                       ByteSpan integ_key);
  ~EspCryptoContext();
  EspCryptoContext(const EspCryptoContext&) = delete;
  EspCryptoContext& operator=(const EspCryptoContext&) = delete;

  EspEncAlg enc() const { return enc_; }
  EspIntegAlg integ() const { return integ_; }
  size_t iv_length() const { return EspIvLength(enc_); }
  size_t alignment() const { return EspAlignment(enc_); }
  bool aead() const { return EspIsAead(enc_); }
  // The ICV is checked on receipt (HMAC or AEAD): anti-replay applies (RFC 4303 §3.4.3).
  bool authenticated() const { return aead() || integ_ != EspIntegAlg::kNone; }
  size_t icv_length() const { return aead() ? kEspGcmIcvLength : EspIcvLength(integ_); }

  // CBC in place over `data` (a multiple of the block size; NULL: any multiple of 4 and a
  // no-op). `iv` must be iv_length() bytes. Errors on bad sizes and for an AEAD context.
  Result<void, CryptoError> Encrypt(ByteSpan iv, std::span<uint8_t> data) const;
  Result<void, CryptoError> Decrypt(ByteSpan iv, std::span<uint8_t> data) const;

  // ICV = HMAC(integ_key, data[0] | data[1] | ...) truncated; `out` is icv_length() bytes.
  // No-op for kNone.
  void ComputeIcv(std::initializer_list<ByteSpan> data, std::span<uint8_t> out) const;
  // Recomputes the ICV and compares in constant time. Always true for kNone.
  bool VerifyIcv(std::initializer_list<ByteSpan> data, ByteSpan icv) const;

  // AEAD only (RFC 4106 §3-5). Seal encrypts `data` in place under nonce = salt | iv (`iv`
  // 8 bytes) with `aad` authenticated, and writes the ICV to `icv` (icv_length() bytes).
  Result<void, CryptoError> Seal(ByteSpan aad, ByteSpan iv, std::span<uint8_t> data,
                                 std::span<uint8_t> icv) const;
  // Open decrypts `data` into `out` (same size) and verifies the ICV over `aad` and `data`
  // before returning: on any error (kIcvMismatch: the ICV did not verify) `out` is zeroed
  // and must not be used.
  enum class OpenError : uint8_t { kBadSize, kIcvMismatch, kCryptoFailure };
  Result<void, OpenError> Open(ByteSpan aad, ByteSpan iv, ByteSpan data, ByteSpan icv,
                               std::span<uint8_t> out) const;

 private:
  struct Impl;
  EspCryptoContext(EspEncAlg enc, EspIntegAlg integ, std::unique_ptr<Impl> impl);
  Result<void, CryptoError> Crypt(ByteSpan iv, std::span<uint8_t> data, bool encrypt) const;
  // The AES-GCM context of one direction, keyed on first use, with nonce salt | iv set.
  evp_cipher_ctx_st* GcmContext(bool encrypt, ByteSpan iv) const;

  EspEncAlg enc_;
  EspIntegAlg integ_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ikepulse::crypto
