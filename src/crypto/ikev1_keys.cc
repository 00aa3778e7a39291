// IKEv1 key derivation and authentication hashes (RFC 2409 §5, §5.5, §5.7, Appendix B).
// The formula is written above each computation; the names follow the RFC.
#include "crypto/ikev1_keys.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/check.h"

namespace ikepulse::crypto {
namespace {

std::array<uint8_t, 4> U32Be(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes Truncated(Bytes b, size_t n) {
  IKEPULSE_CHECK(b.size() >= n);
  b.resize(n);
  return b;
}

}  // namespace

Phase1Keys DerivePhase1Psk(HashAlg prf, ByteSpan psk, ByteSpan ni_b, ByteSpan nr_b, ByteSpan gxy,
                           ByteSpan cky_i, ByteSpan cky_r, size_t enc_key_len) {
  static constexpr uint8_t k0[1] = {0};
  static constexpr uint8_t k1[1] = {1};
  static constexpr uint8_t k2[1] = {2};
  Phase1Keys k;
  // SKEYID = prf(pre-shared-key, Ni_b | Nr_b)
  k.skeyid = Prf(prf, psk, {ni_b, nr_b});
  // SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
  k.skeyid_d = Prf(prf, k.skeyid.span(), {gxy, cky_i, cky_r, k0});
  // SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
  k.skeyid_a = Prf(prf, k.skeyid.span(), {k.skeyid_d.span(), gxy, cky_i, cky_r, k1});
  // SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
  k.skeyid_e = Prf(prf, k.skeyid.span(), {k.skeyid_a.span(), gxy, cky_i, cky_r, k2});

  if (k.skeyid_e.size() >= enc_key_len) {
    // Ka = the first enc_key_len bytes of SKEYID_e.
    k.enc_key = SecretBytes(k.skeyid_e.span().first(enc_key_len));
    return k;
  }
  // Appendix B: Ka = K1 | K2 | K3 ...,  K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1), ...
  // truncated to enc_key_len.
  k.enc_key = SecretBytes(enc_key_len);
  SecretBytes kn = Prf(prf, k.skeyid_e.span(), {k0});
  size_t off = 0;
  while (true) {
    const size_t n = std::min(kn.size(), enc_key_len - off);
    std::memcpy(k.enc_key.data() + off, kn.data(), n);
    off += n;
    if (off == enc_key_len) break;
    kn = Prf(prf, k.skeyid_e.span(), {kn.span()});
  }
  return k;
}

Bytes Phase1Iv(HashAlg h, ByteSpan gxi, ByteSpan gxr, size_t block_size) {
  // IV = hash(g^xi | g^xr), truncated to the cipher block size.
  return Truncated(Hash(h, {gxi, gxr}), block_size);
}

Bytes Phase2Iv(HashAlg h, ByteSpan last_phase1_block, uint32_t message_id, size_t block_size) {
  // IV = hash(last phase-1 CBC output block | M-ID), truncated to the block size.
  const auto mid = U32Be(message_id);
  return Truncated(Hash(h, {last_phase1_block, mid}), block_size);
}

SecretBytes HashI(HashAlg prf, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, ByteSpan cky_i,
                  ByteSpan cky_r, ByteSpan sai_b, ByteSpan idii_b) {
  // HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
  return Prf(prf, skeyid, {gxi, gxr, cky_i, cky_r, sai_b, idii_b});
}

SecretBytes HashR(HashAlg prf, ByteSpan skeyid, ByteSpan gxi, ByteSpan gxr, ByteSpan cky_i,
                  ByteSpan cky_r, ByteSpan sai_b, ByteSpan idir_b) {
  // HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
  return Prf(prf, skeyid, {gxr, gxi, cky_r, cky_i, sai_b, idir_b});
}

SecretBytes InformationalHash(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id,
                              ByteSpan after_hash) {
  // HASH(1) = prf(SKEYID_a, M-ID | N/D)
  const auto mid = U32Be(message_id);
  return Prf(prf, skeyid_a, {mid, after_hash});
}

SecretBytes QuickModeHash1(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id,
                           ByteSpan after_hash) {
  // HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [| KE] [| IDci | IDcr])
  const auto mid = U32Be(message_id);
  return Prf(prf, skeyid_a, {mid, after_hash});
}

SecretBytes QuickModeHash2(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b,
                           ByteSpan after_hash) {
  // HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [| KE] [| IDci | IDcr])
  const auto mid = U32Be(message_id);
  return Prf(prf, skeyid_a, {mid, ni_b, after_hash});
}

SecretBytes QuickModeHash3(HashAlg prf, ByteSpan skeyid_a, uint32_t message_id, ByteSpan ni_b,
                           ByteSpan nr_b) {
  // HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
  static constexpr uint8_t k0[1] = {0};
  const auto mid = U32Be(message_id);
  return Prf(prf, skeyid_a, {k0, mid, ni_b, nr_b});
}

SecretBytes QuickModeKeymat(HashAlg prf, ByteSpan skeyid_d, std::optional<ByteSpan> gqm_xy,
                            uint8_t protocol, ByteSpan spi, ByteSpan ni_b, ByteSpan nr_b,
                            size_t length) {
  const uint8_t proto[1] = {protocol};
  const ByteSpan gxy = gqm_xy.value_or(ByteSpan());
  SecretBytes keymat(length);
  if (length == 0) return keymat;
  // K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
  SecretBytes kn = Prf(prf, skeyid_d, {gxy, proto, spi, ni_b, nr_b});
  size_t off = 0;
  while (true) {
    const size_t n = std::min(kn.size(), length - off);
    std::memcpy(keymat.data() + off, kn.data(), n);
    off += n;
    if (off == length) break;
    // K(n+1) = prf(SKEYID_d, Kn | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
    kn = Prf(prf, skeyid_d, {kn.span(), gxy, proto, spi, ni_b, nr_b});
  }
  return keymat;
}

Bytes NatDHash(HashAlg h, ByteSpan cky_i, ByteSpan cky_r, ByteSpan ip, uint16_t port) {
  // HASH(CKY-I | CKY-R | IP | Port), port in network order (RFC 3947 §3.2).
  const uint8_t port_be[2] = {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  return Hash(h, {cky_i, cky_r, ip, port_be});
}

}  // namespace ikepulse::crypto
