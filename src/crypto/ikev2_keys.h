// IKEv2 key derivation, pre-shared-key authentication and the Encrypted (SK) payload
// (RFC 7296 §2.13-2.18, §2.15, §3.14; RFC 4868 for the truncated HMACs; RFC 5282 for AES-GCM).
// The formula is written above each function; the names follow RFC 7296.
//
// The PRF of every function here is HMAC with the given hash (PRF_HMAC_SHA1 = 2,
// PRF_HMAC_SHA2_256/384/512 = 5/6/7; PRF_HMAC_MD5 = 1 works too). PRF_AES128_XCBC is not
// supported. Its output length, and the length of SK_d, SK_pi and SK_pr, is HashLength(prf).
//
// Every secret result is a SecretBytes (wiped when freed). Errors are values: peer input never
// aborts; a length a caller chose wrongly (e.g. prf+ asked for more than 255 blocks) is a
// programmer error and checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>

#include "common/bytes.h"
#include "common/random.h"
#include "common/result.h"
#include "crypto/crypto.h"

namespace ikepulse::crypto {

// ---------------------------------------------------------------------------------------------
// Key derivation.

// prf+ (K, S) = T1 | T2 | T3 | ... truncated to `length` bytes, where S = seed[0] | seed[1] | ...
//   T1 = prf(K, S | 0x01),  Tn = prf(K, Tn-1 | S | n)   (§2.13)
// The counter is one byte, so `length` must be at most 255 * HashLength(prf) (checked).
SecretBytes PrfPlus(HashAlg prf, ByteSpan key, std::initializer_list<ByteSpan> seed, size_t length);

// SKEYSEED = prf(Ni | Nr, g^ir)   (§2.14). Ni and Nr are the Nonce payload bodies, g^ir the
// shared secret as DhKeyPair::ComputeShared returns it (MODP: left-padded to the prime
// length; ECP: the x coordinate).
SecretBytes Skeyseed(HashAlg prf, ByteSpan ni, ByteSpan nr, ByteSpan g_ir);

// Rekeying an IKE SA (§2.18), with the PRF of the old SA:
//   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
// Ni, Nr: the nonces of the CREATE_CHILD_SA exchange that rekeys.
SecretBytes RekeySkeyseed(HashAlg prf, ByteSpan sk_d_old, ByteSpan g_ir_new, ByteSpan ni,
                          ByteSpan nr);

// Encryption transforms of the SK payload (our own enum, not the IANA numbers: ENCR_AES_CBC is
// 12, ENCR_AES_GCM_16 is 20, each with a Key Length attribute).
enum class Ikev2EncrAlg : uint8_t {
  kAesCbc128 = 0,     // RFC 3602: 16-byte key, 16-byte IV and block
  kAesCbc256 = 1,     // 32-byte key
  kAesGcm16_128 = 2,  // RFC 5282: 16-byte key + 4-byte salt, 8-byte IV, 16-byte ICV
  kAesGcm16_256 = 3,  // 32-byte key + 4-byte salt
};
// Integrity transforms (our own enum; IANA AUTH_HMAC_SHA1_96 = 2, AUTH_HMAC_SHA2_256_128 /
// 384_192 / 512_256 = 12/13/14). The ICV is the HMAC truncated to half its length, except
// SHA-1 (96 bits) (RFC 2404, RFC 4868 §2.3).
enum class Ikev2IntegAlg : uint8_t {
  kNone = 0,            // with an AEAD cipher only
  kHmacSha1_96 = 1,     // 20-byte key, 12-byte ICV
  kHmacSha256_128 = 2,  // 32-byte key, 16-byte ICV
  kHmacSha384_192 = 3,  // 48-byte key, 24-byte ICV
  kHmacSha512_256 = 4,  // 64-byte key, 32-byte ICV
};

bool IsAead(Ikev2EncrAlg e);
// The length of SK_ei / SK_er: the cipher key, plus the 4-byte salt for AES-GCM (RFC 5282 §7.1).
size_t EncrKeyMaterialLength(Ikev2EncrAlg e);
size_t IvLength(Ikev2EncrAlg e);  // CBC 16, GCM 8
// The length of SK_ai / SK_ar (0 for kNone).
size_t IntegKeyLength(Ikev2IntegAlg i);
// The length of the SK payload's Integrity Checksum Data: the AEAD tag (16) or the truncated
// HMAC.
size_t IcvLength(Ikev2EncrAlg e, Ikev2IntegAlg i);
const char* Ikev2EncrName(Ikev2EncrAlg e);    // "aes128-cbc", "aes256-gcm16", ...
const char* Ikev2IntegName(Ikev2IntegAlg i);  // "none", "hmac-sha256-128", ...

// The negotiated transforms of an IKE SA.
struct IkeSuite {
  HashAlg prf = HashAlg::kSha256;
  Ikev2EncrAlg encr = Ikev2EncrAlg::kAesCbc128;
  Ikev2IntegAlg integ = Ikev2IntegAlg::kHmacSha256_128;
};

// A suite is valid when an AEAD cipher comes without an integrity transform and a CBC cipher
// with one (§3.3.3, RFC 5282 §8).
Result<void, CryptoError> CheckSuite(const IkeSuite& s);

struct IkeSaKeys {
  SecretBytes sk_d;   // derives Child SA keys and the next SKEYSEED; HashLength(prf)
  SecretBytes sk_ai;  // integrity of the initiator's messages (empty with an AEAD cipher)
  SecretBytes sk_ar;  // integrity of the responder's messages
  SecretBytes sk_ei;  // encryption of the initiator's messages (key | salt for GCM)
  SecretBytes sk_er;  // encryption of the responder's messages
  SecretBytes sk_pi;  // the initiator's AUTH (MACedIDForI); HashLength(prf)
  SecretBytes sk_pr;  // the responder's AUTH (MACedIDForR)
};

// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
// (§2.14), cut in that order with the suite's lengths. Errors: an invalid suite (CheckSuite),
// SPIs that are not 8 bytes.
Result<IkeSaKeys, CryptoError> DeriveIkeSaKeys(const IkeSuite& s, ByteSpan skeyseed, ByteSpan ni,
                                               ByteSpan nr, ByteSpan spi_i, ByteSpan spi_r);

// Child SA keys (§2.17), for the exchange that creates the Child SA:
//   KEYMAT = prf+(SK_d, Ni | Nr)                 (IKE_AUTH, CREATE_CHILD_SA without KE)
//   KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)    (CREATE_CHILD_SA with KE)
// taken as encr_i | integ_i | encr_r | integ_r, where _i protects what the initiator of that
// exchange sends. `encr_key_len` includes the 4-byte salt of AES-GCM (RFC 4106 §8.1);
// `integ_key_len` is 0 for an AEAD cipher.
struct ChildSaKeys {
  SecretBytes encr_i, integ_i, encr_r, integ_r;
};
ChildSaKeys DeriveChildSaKeys(HashAlg prf, ByteSpan sk_d, std::optional<ByteSpan> g_ir_new,
                              ByteSpan ni, ByteSpan nr, size_t encr_key_len, size_t integ_key_len);

// ---------------------------------------------------------------------------------------------
// Pre-shared-key authentication (§2.15).

// MACedIDForI = prf(SK_pi, RestOfInitIDPayload), MACedIDForR = prf(SK_pr, RestOfRespIDPayload).
// `id_body` is the ID payload without its generic header: ID Type | RESERVED | data.
SecretBytes MacedId(HashAlg prf, ByteSpan sk_p, ByteSpan id_body);

// AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>), where
//   SignedOctets = RealMessage | Nonce(peer) | prf(SK_p, RestOfIDPayload)
// (the key pad is the 17 ASCII bytes, no terminating NUL). For the initiator: RealMessage is
// its last IKE_SA_INIT request as sent (no non-ESP marker), the nonce is Nr, SK_pi and the IDi
// body; for the responder: its IKE_SA_INIT response, Ni, SK_pr and the IDr body.
SecretBytes PskAuth(HashAlg prf, ByteSpan psk, ByteSpan real_message, ByteSpan peer_nonce,
                    ByteSpan sk_p, ByteSpan id_body);
// Recomputes AUTH and compares it with `received` in constant time.
bool VerifyPskAuth(HashAlg prf, ByteSpan psk, ByteSpan real_message, ByteSpan peer_nonce,
                   ByteSpan sk_p, ByteSpan id_body, ByteSpan received);

// ---------------------------------------------------------------------------------------------
// The Encrypted (SK) payload (§3.14, RFC 5282).
//
//   IKE header | [clear payloads] | SK generic header | IV | ciphertext | ICV
//   ciphertext = E(inner payloads | Padding | Pad Length)
//
// CBC + HMAC: the padding makes the plaintext a multiple of the block size; the ICV is the
// truncated HMAC (SK_a) over everything from the first byte of the IKE header to the end of
// the ciphertext. AES-GCM: no padding is needed (Pad Length 0 is sent); the nonce is the
// salt (last 4 bytes of SK_e) | the 8-byte IV, the associated data is everything before the
// IV (IKE header through the SK generic header), the ICV is the 16-byte tag.

// The keys protecting the messages of one side: {SK_ei, SK_ai} or {SK_er, SK_ar}. The spans
// point into an IkeSaKeys, which must outlive this.
struct SkKeys {
  Ikev2EncrAlg encr = Ikev2EncrAlg::kAesCbc128;
  Ikev2IntegAlg integ = Ikev2IntegAlg::kNone;
  ByteSpan encr_key;   // SK_e (key | salt for GCM)
  ByteSpan integ_key;  // SK_a (empty for GCM)
};
// The keys of the messages the initiator (sender_is_initiator) or the responder of the IKE SA
// sends.
SkKeys SkKeysFor(const IkeSuite& s, const IkeSaKeys& k, bool sender_is_initiator);

// The size of the datagram ProtectSk returns for a prefix and inner payloads of these sizes.
size_t ProtectedLength(Ikev2EncrAlg e, Ikev2IntegAlg i, size_t prefix_len, size_t inner_len);

// Builds the whole datagram. `message_prefix` is the message built so far: the 28-byte IKE
// header, any clear payloads, and last the SK payload's 4-byte generic header, whose Next
// Payload is already the type of the first inner payload. The header's Length and the SK
// Payload Length are filled in here (they are part of what is authenticated). `inner` is the
// serialized inner payload chain. The IV comes from `random`. Errors: wrong key lengths, an
// invalid suite, a prefix shorter than 32 bytes, a message longer than 2^32-1 or an SK payload
// longer than 65535 bytes.
Result<Bytes, CryptoError> ProtectSk(const SkKeys& k, ByteSpan message_prefix, ByteSpan inner,
                                     Random& random);

// Checks and decrypts the SK payload that starts at `sk_offset` (its generic header) in a
// received datagram (after any non-ESP marker, exactly the header's Length long) and returns
// the inner payload chain with the padding and the Pad Length removed. The ICV is checked
// before anything is decrypted (HMAC) or by the AEAD open, in constant time. Errors (never a
// read out of bounds): wrong key lengths, a datagram shorter than a header or whose Length
// differs from its size, an SK payload that does not end the datagram or cannot hold the IV,
// the ICV and a Pad Length, a CBC ciphertext not a multiple of the block size, a wrong ICV, a
// Pad Length larger than the plaintext before it.
Result<Bytes, CryptoError> UnprotectSk(const SkKeys& k, ByteSpan datagram, size_t sk_offset);

}  // namespace ikepulse::crypto
