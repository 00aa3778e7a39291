// IKEv1 cryptography. The only directory that includes <openssl/*>. Everything here is a
// pure function of its inputs (DH key generation and OpenSslRandom excepted).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>

#include "common/bytes.h"
#include "common/random.h"
#include "common/result.h"

namespace ikepulse::crypto {

enum class HashAlg : uint8_t { kMd5, kSha1, kSha256, kSha384, kSha512 };
size_t HashLength(HashAlg h);
const char* HashName(HashAlg h);  // "md5", "sha1", "sha256", ...

// hash(data[0] | data[1] | ...)
Bytes Hash(HashAlg h, std::initializer_list<ByteSpan> data);

// prf(key, data[0] | data[1] | ...) = HMAC with hash h (RFC 2104). The IKEv1 PRF.
SecretBytes Prf(HashAlg h, ByteSpan key, std::initializer_list<ByteSpan> data);

enum class CipherAlg : uint8_t { kAes128Cbc, kAes192Cbc, kAes256Cbc, k3DesCbc };
size_t KeyLength(CipherAlg c);
size_t BlockSize(CipherAlg c);
const char* CipherName(CipherAlg c);

struct CryptoError {
  const char* detail = "";
};

// Raw CBC with no padding. `data` must be a multiple of the block size (error otherwise);
// key and iv must have the cipher's sizes (error otherwise).
Result<Bytes, CryptoError> CbcEncrypt(CipherAlg c, ByteSpan key, ByteSpan iv, ByteSpan data);
Result<Bytes, CryptoError> CbcDecrypt(CipherAlg c, ByteSpan key, ByteSpan iv, ByteSpan data);

// AES-GCM (NIST SP 800-38D) with a 12-byte nonce and a 16-byte tag; the key is 16 or 32 bytes
// (AES-128/256). Seal returns ciphertext | tag. Open takes ciphertext | tag and returns the
// plaintext, or an error if the tag does not verify (OpenSSL compares it in constant time) or
// the sizes are wrong. Used by the IKEv2 SK payload (ikev2_keys.h, RFC 5282).
Result<Bytes, CryptoError> AesGcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plain);
Result<Bytes, CryptoError> AesGcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed);

// Diffie-Hellman: MODP groups 1, 2, 5, 14, 15, 16 (RFC 2409 / 3526) and ECP groups 19, 20, 21
// (RFC 5903: the public value is x | y, each coordinate fixed-length; the shared secret is
// the x coordinate). Public values and shared secrets are fixed-length big-endian (MODP: left
// padded to the prime size).
bool IsSupportedGroup(uint16_t group);
size_t PublicValueLength(uint16_t group);

class DhKeyPair {
 public:
  // Key pairs Generate has made in this process (all threads): tests check with it that a
  // path costs no DH.
  static uint64_t Generated();
  // A fresh key pair (OpenSSL RNG). nullopt for an unsupported group.
  static std::unique_ptr<DhKeyPair> Generate(uint16_t group);
  // From a known private value (tests, vectors). MODP: big-endian x. ECP: big-endian scalar.
  static std::unique_ptr<DhKeyPair> FromPrivate(uint16_t group, ByteSpan priv);
  virtual ~DhKeyPair() = default;

  virtual uint16_t group() const = 0;
  virtual const Bytes& public_value() const = 0;
  // g^xy. Error on a peer value of the wrong length or not on the curve / out of range.
  virtual Result<SecretBytes, CryptoError> ComputeShared(ByteSpan peer_public) const = 0;
  // The same key pair (shares the immutable key; a snapshot of an engine copies its SAs).
  virtual std::unique_ptr<DhKeyPair> Clone() const = 0;
};

// The IKEv2 COOKIE's keyed hash (RFC 7296 §2.6): HMAC-SHA-256(secret, Ni | IPi | SPIi),
// truncated to `length` bytes (1-32). Pure; the caller prefixes the secret's generation.
Bytes Ikev2CookieMac(ByteSpan secret, ByteSpan ni, ByteSpan ip, ByteSpan spi_i, size_t length);

// RAND_bytes-backed Random for the daemon.
class OpenSslRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override;
};

}  // namespace ikepulse::crypto
