// IKEv1 derivations (RFC 2409 §5, §5.5, §5.7, Appendix B; RFC 3947 §3.2). Each function is
// checked against a step-by-step recomputation through Prf/Hash with the bytes laid out by
// hand, and the main ones against fixed answers computed outside this code base (a separate
// HMAC implementation, from the RFC formulas).
#include "crypto/ikev1_keys.h"

#include <gtest/gtest.h>

#include <numeric>

namespace ikepulse::crypto {
namespace {

Bytes Seq(uint8_t first, size_t n) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), first);
  return b;
}

Bytes Cat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (ByteSpan p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes ToBytes(const SecretBytes& s) { return Bytes(s.span().begin(), s.span().end()); }

// Fixed phase-1 inputs shared by the tests.
struct Inputs {
  Bytes psk =
      Bytes{'i', 'k', 'e', 'p', 'u', 'l', 's', 'e', '-', 't', 'e', 's', 't', '-', 'p', 's', 'k'};
  Bytes ni = Seq(0x10, 16);
  Bytes nr = Seq(0x40, 20);
  Bytes gxy = Seq(0x00, 96);  // 96 bytes with a leading zero byte, as a padded group-1 g^xy
  Bytes cky_i = HexOrDie("0102030405060708");
  Bytes cky_r = HexOrDie("a1a2a3a4a5a6a7a8");
};

const uint8_t k0[] = {0}, k1[] = {1}, k2[] = {2};

// SKEYID* recomputed by hand through Prf.
void ExpectSkeyids(HashAlg h, const Inputs& in, const Phase1Keys& k) {
  SecretBytes skeyid = Prf(h, in.psk, {Cat({in.ni, in.nr})});
  SecretBytes d = Prf(h, skeyid.span(), {Cat({in.gxy, in.cky_i, in.cky_r, k0})});
  SecretBytes a = Prf(h, skeyid.span(), {Cat({d.span(), in.gxy, in.cky_i, in.cky_r, k1})});
  SecretBytes e = Prf(h, skeyid.span(), {Cat({a.span(), in.gxy, in.cky_i, in.cky_r, k2})});
  EXPECT_TRUE(k.skeyid == skeyid);
  EXPECT_TRUE(k.skeyid_d == d);
  EXPECT_TRUE(k.skeyid_a == a);
  EXPECT_TRUE(k.skeyid_e == e);
}

TEST(Phase1KeysTest, Sha1Aes128TruncatesSkeyidE) {
  Inputs in;
  Phase1Keys k =
      DerivePhase1Psk(HashAlg::kSha1, in.psk, in.ni, in.nr, in.gxy, in.cky_i, in.cky_r, 16);
  ExpectSkeyids(HashAlg::kSha1, in, k);
  EXPECT_EQ(k.skeyid.size(), 20u);
  EXPECT_EQ(ToBytes(k.enc_key), Bytes(k.skeyid_e.data(), k.skeyid_e.data() + 16));
}

TEST(Phase1KeysTest, Sha1Aes256ExpandsSkeyidE) {
  Inputs in;
  Phase1Keys k =
      DerivePhase1Psk(HashAlg::kSha1, in.psk, in.ni, in.nr, in.gxy, in.cky_i, in.cky_r, 32);
  ExpectSkeyids(HashAlg::kSha1, in, k);
  // Appendix B: K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1), Ka = (K1 | K2)[0..32).
  SecretBytes ka1 = Prf(HashAlg::kSha1, k.skeyid_e.span(), {k0});
  SecretBytes ka2 = Prf(HashAlg::kSha1, k.skeyid_e.span(), {ka1.span()});
  Bytes expected = Cat({ka1.span(), ka2.span()});
  expected.resize(32);
  EXPECT_EQ(ToBytes(k.enc_key), expected);
  // The expanded key is not simply SKEYID_e with something appended.
  EXPECT_NE(Bytes(k.enc_key.data(), k.enc_key.data() + 20), ToBytes(k.skeyid_e));

  // Fixed answers, computed with an independent HMAC-SHA1 from the RFC formulas.
  EXPECT_EQ(ToHex(k.skeyid.span()), "87031a63b7d31075ec7522e0c514ca2dd6cb1c6e");
  EXPECT_EQ(ToHex(k.skeyid_d.span()), "07e5f9eb6818b5ffd62db6f53eb49fb379170d79");
  EXPECT_EQ(ToHex(k.skeyid_a.span()), "5e9b1216cfa5f948182470d4f4b38a52412f8520");
  EXPECT_EQ(ToHex(k.skeyid_e.span()), "96b58f71f30719e3426769ae45082628ee20a0fd");
  EXPECT_EQ(ToHex(k.enc_key.span()),
            "0f518c7e2feef48d3d64b25649fbbefe32a0b3e432d69fefae48fd6424487180");
}

TEST(Phase1KeysTest, Md5TripleDesExpands) {
  Inputs in;
  Phase1Keys k =
      DerivePhase1Psk(HashAlg::kMd5, in.psk, in.ni, in.nr, in.gxy, in.cky_i, in.cky_r, 24);
  ExpectSkeyids(HashAlg::kMd5, in, k);
  EXPECT_EQ(ToHex(k.skeyid.span()), "54dee38c6cfa90b23a42c0a83ddc3b2a");
  EXPECT_EQ(ToHex(k.skeyid_e.span()), "14f03a14e6dbf1cea3289b52efe79ae4");
  EXPECT_EQ(ToHex(k.enc_key.span()), "843c6ea00c7ddfc3eddd2656c07a905878e507fb3ea6ca1e");
}

TEST(Phase1KeysTest, ExactLengthAndThreeBlockExpansion) {
  Inputs in;
  // SHA-256 output (32) == AES-256 key: no expansion, Ka = SKEYID_e.
  Phase1Keys k =
      DerivePhase1Psk(HashAlg::kSha256, in.psk, in.ni, in.nr, in.gxy, in.cky_i, in.cky_r, 32);
  ExpectSkeyids(HashAlg::kSha256, in, k);
  EXPECT_TRUE(k.enc_key == k.skeyid_e);
  // MD5 (16) to 40 bytes: K1 | K2 | K3, truncated.
  k = DerivePhase1Psk(HashAlg::kMd5, in.psk, in.ni, in.nr, in.gxy, in.cky_i, in.cky_r, 40);
  SecretBytes a = Prf(HashAlg::kMd5, k.skeyid_e.span(), {k0});
  SecretBytes b = Prf(HashAlg::kMd5, k.skeyid_e.span(), {a.span()});
  SecretBytes c = Prf(HashAlg::kMd5, k.skeyid_e.span(), {b.span()});
  Bytes expected = Cat({a.span(), b.span(), c.span()});
  expected.resize(40);
  EXPECT_EQ(ToBytes(k.enc_key), expected);
}

TEST(IvTest, Phase1Iv) {
  const Bytes gxi = Seq(1, 128), gxr = Seq(0x80, 128);
  const Bytes full = Hash(HashAlg::kSha1, {Cat({gxi, gxr})});
  EXPECT_EQ(Phase1Iv(HashAlg::kSha1, gxi, gxr, 16), Bytes(full.begin(), full.begin() + 16));
  EXPECT_EQ(Phase1Iv(HashAlg::kSha1, gxi, gxr, 8), Bytes(full.begin(), full.begin() + 8));
  // Order matters: g^xi first.
  EXPECT_NE(Phase1Iv(HashAlg::kSha1, gxr, gxi, 16), Phase1Iv(HashAlg::kSha1, gxi, gxr, 16));
  const Bytes full256 = Hash(HashAlg::kSha256, {Cat({gxi, gxr})});
  EXPECT_EQ(Phase1Iv(HashAlg::kSha256, gxi, gxr, 16), Bytes(full256.begin(), full256.begin() + 16));
}

TEST(IvTest, Phase2IvUsesMessageIdInNetworkOrder) {
  const Bytes last = HexOrDie("00112233445566778899aabbccddeeff");
  const Bytes manual = Cat({last, HexOrDie("deadbeef")});
  const Bytes full = Hash(HashAlg::kSha1, {manual});
  EXPECT_EQ(Phase2Iv(HashAlg::kSha1, last, 0xdeadbeef, 16), Bytes(full.begin(), full.begin() + 16));
  const Bytes md5 = Hash(HashAlg::kMd5, {Cat({Seq(0, 8), HexOrDie("00000001")})});
  EXPECT_EQ(Phase2Iv(HashAlg::kMd5, Seq(0, 8), 1, 8), Bytes(md5.begin(), md5.begin() + 8));
  // Every DPD message gets its own IV (DESIGN.md §2.3).
  EXPECT_NE(Phase2Iv(HashAlg::kSha1, last, 1, 16), Phase2Iv(HashAlg::kSha1, last, 2, 16));
}

TEST(AuthHashTest, HashIAndHashR) {
  const Bytes skeyid = Seq(0x30, 20);
  const Bytes gxi = Seq(1, 96), gxr = Seq(0x61, 96);
  const Bytes cky_i = HexOrDie("0102030405060708"), cky_r = HexOrDie("1112131415161718");
  const Bytes sai_b = HexOrDie("00000001000000010000002c01010001");
  const Bytes idii = HexOrDie("01000000c0000201"), idir = HexOrDie("01000000c0000202");
  SecretBytes hi = HashI(HashAlg::kSha1, skeyid, gxi, gxr, cky_i, cky_r, sai_b, idii);
  SecretBytes hr = HashR(HashAlg::kSha1, skeyid, gxi, gxr, cky_i, cky_r, sai_b, idir);
  // HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
  EXPECT_TRUE(hi == Prf(HashAlg::kSha1, skeyid, {Cat({gxi, gxr, cky_i, cky_r, sai_b, idii})}));
  // HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
  EXPECT_TRUE(hr == Prf(HashAlg::kSha1, skeyid, {Cat({gxr, gxi, cky_r, cky_i, sai_b, idir})}));
  // With the same ID the two differ only by the swapped order.
  EXPECT_FALSE(HashI(HashAlg::kSha1, skeyid, gxi, gxr, cky_i, cky_r, sai_b, idii) ==
               HashR(HashAlg::kSha1, skeyid, gxi, gxr, cky_i, cky_r, sai_b, idii));
}

TEST(InformationalHashTest, MessageIdThenPayloads) {
  Inputs in;
  Phase1Keys k =
      DerivePhase1Psk(HashAlg::kSha1, in.psk, in.ni, in.nr, in.gxy, in.cky_i, in.cky_r, 32);
  // A 32-byte N payload (generic header + body) after the HASH payload.
  Bytes notify(32, 0);
  notify[3] = 0x20;
  SecretBytes h = InformationalHash(HashAlg::kSha1, k.skeyid_a.span(), 0x5a5b5c5d, notify);
  // HASH(1) = prf(SKEYID_a, M-ID | N/D)
  EXPECT_TRUE(h == Prf(HashAlg::kSha1, k.skeyid_a.span(), {Cat({HexOrDie("5a5b5c5d"), notify})}));
  EXPECT_EQ(ToHex(h.span()), "c2a2da0cd883f87c83311c1c30601287a1f076a0");  // independent HMAC
  EXPECT_FALSE(h == InformationalHash(HashAlg::kSha1, k.skeyid_a.span(), 0x5d5c5b5a, notify));
}

TEST(QuickModeTest, Hashes) {
  const Bytes ska = Seq(0x50, 32);
  const uint32_t mid = 0x01020304;
  const Bytes mid_b = HexOrDie("01020304");
  const Bytes ni_b = Seq(0xa0, 16), nr_b = Seq(0xc0, 24);
  const Bytes after1 = Seq(0x00, 80), after2 = Seq(0x20, 72);
  // HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [| KE] [| IDci | IDcr])
  EXPECT_TRUE(QuickModeHash1(HashAlg::kSha256, ska, mid, after1) ==
              Prf(HashAlg::kSha256, ska, {Cat({mid_b, after1})}));
  // HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [| KE] [| IDci | IDcr])
  EXPECT_TRUE(QuickModeHash2(HashAlg::kSha256, ska, mid, ni_b, after2) ==
              Prf(HashAlg::kSha256, ska, {Cat({mid_b, ni_b, after2})}));
  // HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
  EXPECT_TRUE(QuickModeHash3(HashAlg::kSha256, ska, mid, ni_b, nr_b) ==
              Prf(HashAlg::kSha256, ska, {Cat({k0, mid_b, ni_b, nr_b})}));
  EXPECT_EQ(QuickModeHash3(HashAlg::kSha256, ska, mid, ni_b, nr_b).size(), 32u);
}

TEST(QuickModeTest, KeymatWithoutPfs) {
  Inputs in;
  Phase1Keys k =
      DerivePhase1Psk(HashAlg::kSha1, in.psk, in.ni, in.nr, in.gxy, in.cky_i, in.cky_r, 16);
  const Bytes spi = HexOrDie("c0ffee01");
  const uint8_t esp[] = {3};
  // K1 = prf(SKEYID_d, protocol | SPI | Ni_b | Nr_b); 16 bytes fit in one block.
  SecretBytes km =
      QuickModeKeymat(HashAlg::kSha1, k.skeyid_d.span(), std::nullopt, 3, spi, in.ni, in.nr, 16);
  SecretBytes b1 = Prf(HashAlg::kSha1, k.skeyid_d.span(), {Cat({esp, spi, in.ni, in.nr})});
  EXPECT_EQ(ToBytes(km), Bytes(b1.data(), b1.data() + 16));

  // 3DES (24) + HMAC-SHA1 (20) = 44 bytes: K1 | K2 | K3 with
  // K(n+1) = prf(SKEYID_d, Kn | protocol | SPI | Ni_b | Nr_b).
  SecretBytes km44 =
      QuickModeKeymat(HashAlg::kSha1, k.skeyid_d.span(), std::nullopt, 3, spi, in.ni, in.nr, 44);
  SecretBytes b2 =
      Prf(HashAlg::kSha1, k.skeyid_d.span(), {Cat({b1.span(), esp, spi, in.ni, in.nr})});
  SecretBytes b3 =
      Prf(HashAlg::kSha1, k.skeyid_d.span(), {Cat({b2.span(), esp, spi, in.ni, in.nr})});
  Bytes expected = Cat({b1.span(), b2.span(), b3.span()});
  expected.resize(44);
  EXPECT_EQ(ToBytes(km44), expected);
  EXPECT_EQ(ToHex(km44.span()),  // independent HMAC-SHA1
            "f2462c6087a0fe56ee6886b63fe31d1a879ab1e3a19ca2f155d7f647b95f143c"
            "ce3f3d8f09331fc81d573a59");
  // Each direction has its own SPI, hence its own keys.
  EXPECT_FALSE(km44 == QuickModeKeymat(HashAlg::kSha1, k.skeyid_d.span(), std::nullopt, 3,
                                       HexOrDie("c0ffee02"), in.ni, in.nr, 44));
  EXPECT_EQ(
      QuickModeKeymat(HashAlg::kSha1, k.skeyid_d.span(), std::nullopt, 3, spi, in.ni, in.nr, 0)
          .size(),
      0u);
}

TEST(QuickModeTest, KeymatWithPfs) {
  const Bytes skeyid_d = Seq(0x70, 32);
  const Bytes gqm = Seq(0x01, 256);
  const Bytes spi = HexOrDie("12345678");
  const Bytes ni_b = Seq(0xa0, 32), nr_b = Seq(0xc0, 32);
  const uint8_t esp[] = {3};
  // K1 = prf(SKEYID_d, g(qm)^xy | protocol | SPI | Ni_b | Nr_b)
  // K2 = prf(SKEYID_d, K1 | g(qm)^xy | protocol | SPI | Ni_b | Nr_b)
  SecretBytes km =
      QuickModeKeymat(HashAlg::kSha256, skeyid_d, ByteSpan(gqm), 3, spi, ni_b, nr_b, 64);
  SecretBytes b1 = Prf(HashAlg::kSha256, skeyid_d, {Cat({gqm, esp, spi, ni_b, nr_b})});
  SecretBytes b2 = Prf(HashAlg::kSha256, skeyid_d, {Cat({b1.span(), gqm, esp, spi, ni_b, nr_b})});
  EXPECT_EQ(ToBytes(km), Cat({b1.span(), b2.span()}));
  // PFS changes the keys.
  EXPECT_FALSE(km ==
               QuickModeKeymat(HashAlg::kSha256, skeyid_d, std::nullopt, 3, spi, ni_b, nr_b, 64));
}

TEST(NatDTest, HashOfCookiesAddressAndPort) {
  const Bytes cky_i = Seq(0, 8), cky_r = Seq(8, 8);
  const Bytes ip4 = {192, 0, 2, 1};
  // HASH(CKY-I | CKY-R | IP | Port), port 4500 = 0x1194 in network order.
  EXPECT_EQ(NatDHash(HashAlg::kSha1, cky_i, cky_r, ip4, 4500),
            Hash(HashAlg::kSha1, {Cat({cky_i, cky_r, ip4, HexOrDie("1194")})}));
  EXPECT_EQ(ToHex(NatDHash(HashAlg::kSha1, cky_i, cky_r, ip4, 4500)),
            "d433ee5a31cc253e9d0c0c0dd800b6ec27f00b6c");  // independent SHA-1
  EXPECT_NE(NatDHash(HashAlg::kSha1, cky_i, cky_r, ip4, 500),
            NatDHash(HashAlg::kSha1, cky_i, cky_r, ip4, 4500));
  const Bytes ip6 = HexOrDie("20010db8000000000000000000000001");
  EXPECT_EQ(NatDHash(HashAlg::kSha256, cky_i, cky_r, ip6, 500),
            Hash(HashAlg::kSha256, {Cat({cky_i, cky_r, ip6, HexOrDie("01f4")})}));
}

}  // namespace
}  // namespace ikepulse::crypto
