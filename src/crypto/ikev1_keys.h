// IKEv1 key derivation and authentication hashes (RFC 2409 §5, §5.5, §5.7, Appendix B).
// Formulas are written above each function; names follow the RFC.
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "crypto/crypto.h"

namespace ikepulse::crypto {

// The phase-1 key material for pre-shared-key authentication.
struct Phase1Keys {
  SecretBytes skeyid;    // prf(pre-shared-key, Ni_b | Nr_b)
  SecretBytes skeyid_d;  // prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
  SecretBytes skeyid_a;  // prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
  SecretBytes skeyid_e;  // prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
  SecretBytes enc_key;   // Ka: SKEYID_e truncated or expanded (Appendix B) to the key length
};

// RFC 2409 §5 for pre-shared keys, plus Appendix B expansion of SKEYID_e to enc_key_len:
//   Ka = K1 | K2 | ...,  K1 = prf(SKEYID_e, 0), K(n+1) = prf(SKEYID_e, Kn)   (if too short)
Phase1Keys DerivePhase1Psk(HashAlg prf, ByteSpan psk, ByteSpan ni_b, ByteSpan nr_b, ByteSpan gxy,
                           ByteSpan cky_i, ByteSpan cky_r, size_t enc_key_len);

// Phase-1 IV (Appendix B): hash(g^xi | g^xr) truncated to the block size.
Bytes Phase1Iv(HashAlg h, ByteSpan gxi, ByteSpan gxr, size_t block_size);

// IV for a phase-2 / informational exchange (Appendix B):
//   hash(last phase-1 CBC output block | M-ID) truncated to the block size.
Bytes Phase2Iv(HashAlg h, ByteSpan last_phase1_block, uint32_t message_id, size_t block_size);

// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
SecretBytes HashI(HashAlg prf, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, ByteSpan cky_i,
                  ByteSpan cky_r, ByteSpan sai_b, ByteSpan idii_b);
// HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
SecretBytes HashR(HashAlg prf, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, ByteSpan cky_i,
                  ByteSpan cky_r, ByteSpan sai_b, ByteSpan idir_b);

// Informational HASH(1) = prf(SKEYID_a, M-ID | N/D), where N/D is every payload byte after
// the HASH payload, generic headers included, padding excluded (§5.7).
SecretBytes InformationalHash(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id,
                              ByteSpan after_hash);

// Quick Mode (§5.5):
// HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [| KE] [| IDci | IDcr])   (= bytes after HASH)
SecretBytes QuickModeHash1(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id,
                           ByteSpan after_hash);
// HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [| KE] [| IDci | IDcr])
SecretBytes QuickModeHash2(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b,
                           ByteSpan after_hash);
// HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
SecretBytes QuickModeHash3(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b,
                           ByteSpan nr_b);

// KEYMAT = K1 | K2 | ... truncated to `length`:
//   K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//   K(n+1) = prf(SKEYID_d, Kn | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
// `spi` is the 4-byte SPI of the SA the keys are for (chosen by that SA's receiver).
SecretBytes QuickModeKeymat(HashAlg prf, ByteSpan skeyid_d, std::optional<ByteSpan> gqm_xy,
                            uint8_t protocol, ByteSpan spi, ByteSpan ni_b, ByteSpan nr_b,
                            size_t length);

// NAT-D (RFC 3947 §3.2): HASH(CKY-I | CKY-R | IP | Port), port in network order.
Bytes NatDHash(HashAlg h, ByteSpan cky_i, ByteSpan cky_r, ByteSpan ip, uint16_t port);

}  // namespace ikepulse::crypto
