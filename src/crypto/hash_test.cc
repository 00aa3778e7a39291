// Hash and Prf known answers: RFC 2202 (HMAC-MD5, HMAC-SHA-1), RFC 4231 (HMAC-SHA-2).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/crypto.h"

namespace ikepulse::crypto {
namespace {

Bytes Repeat(uint8_t b, size_t n) { return Bytes(n, b); }

struct HmacCase {
  const char* name;
  HashAlg alg;
  Bytes key;
  Bytes data;
  const char* expected_hex;
};

const std::string kHiThere = "Hi There";
const std::string kJefeData = "what do ya want for nothing?";
const std::string kBigKeyData = "Test Using Larger Than Block-Size Key - Hash Key First";

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

std::vector<HmacCase> Cases() {
  return {
      // RFC 2202 §2 (HMAC-MD5), test cases 1, 2, 3, 6.
      {"md5_1", HashAlg::kMd5, Repeat(0x0b, 16), B(kHiThere), "9294727a3638bb1c13f48ef8158bfc9d"},
      {"md5_2", HashAlg::kMd5, B("Jefe"), B(kJefeData), "750c783e6ab0b503eaa86e310a5db738"},
      {"md5_3", HashAlg::kMd5, Repeat(0xaa, 16), Repeat(0xdd, 50),
       "56be34521d144c88dbb8c733f0e8b3f6"},
      {"md5_6", HashAlg::kMd5, Repeat(0xaa, 80), B(kBigKeyData),
       "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"},
      // RFC 2202 §3 (HMAC-SHA-1), test cases 1, 2, 3, 6.
      {"sha1_1", HashAlg::kSha1, Repeat(0x0b, 20), B(kHiThere),
       "b617318655057264e28bc0b6fb378c8ef146be00"},
      {"sha1_2", HashAlg::kSha1, B("Jefe"), B(kJefeData),
       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {"sha1_3", HashAlg::kSha1, Repeat(0xaa, 20), Repeat(0xdd, 50),
       "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
      {"sha1_6", HashAlg::kSha1, Repeat(0xaa, 80), B(kBigKeyData),
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
      // RFC 4231 §4.2 (test case 1).
      {"sha256_1", HashAlg::kSha256, Repeat(0x0b, 20), B(kHiThere),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"sha384_1", HashAlg::kSha384, Repeat(0x0b, 20), B(kHiThere),
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
       "faea9ea9076ede7f4af152e8b2fa9cb6"},
      {"sha512_1", HashAlg::kSha512, Repeat(0x0b, 20), B(kHiThere),
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
       "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      // RFC 4231 §4.3 (test case 2).
      {"sha256_2", HashAlg::kSha256, B("Jefe"), B(kJefeData),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"sha384_2", HashAlg::kSha384, B("Jefe"), B(kJefeData),
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
       "8e2240ca5e69e2c78b3239ecfab21649"},
      {"sha512_2", HashAlg::kSha512, B("Jefe"), B(kJefeData),
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      // RFC 4231 §4.7 (test case 6: key larger than the block size).
      {"sha256_6", HashAlg::kSha256, Repeat(0xaa, 131), B(kBigKeyData),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  };
}

TEST(PrfTest, RfcKnownAnswers) {
  for (const HmacCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    SecretBytes mac = Prf(c.alg, c.key, {c.data});
    EXPECT_EQ(ToHex(mac.span()), c.expected_hex);
    EXPECT_EQ(mac.size(), HashLength(c.alg));
  }
}

TEST(PrfTest, DataPiecesAreConcatenated) {
  const Bytes key = Repeat(0x0b, 20);
  const Bytes hi = B("Hi "), there = B("There"), empty;
  SecretBytes mac = Prf(HashAlg::kSha1, key, {hi, empty, there});
  EXPECT_EQ(ToHex(mac.span()), "b617318655057264e28bc0b6fb378c8ef146be00");
}

TEST(PrfTest, Ikev2CookieMacIsTruncatedHmacSha256OfNiIpSpi) {
  // RFC 4231 test case 2 with the data given as Ni | IPi | SPIi pieces.
  const Bytes mac = Ikev2CookieMac(B("Jefe"), B("what do ya"), B(" want "), B("for nothing?"), 16);
  EXPECT_EQ(ToHex(mac), "5bdcc146bf60754e6a042426089575c7");
  EXPECT_EQ(ToHex(Ikev2CookieMac(B("Jefe"), B("what do ya"), B(" want "), B("for nothing?"), 32)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(PrfTest, EmptyKeyAndData) {
  EXPECT_EQ(ToHex(Prf(HashAlg::kMd5, {}, {}).span()), "74e6f7298a9c2d168935f58c001bad88");
  EXPECT_EQ(ToHex(Prf(HashAlg::kSha1, {}, {}).span()), "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
  EXPECT_EQ(ToHex(Prf(HashAlg::kSha256, {}, {}).span()),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(PrfTest, RepeatedCallsAreIndependent) {
  // The HMAC template context is shared; a call must not leak its key into the next.
  const Bytes k1 = B("key one"), k2 = B("key two"), d = B("data");
  SecretBytes a = Prf(HashAlg::kSha256, k1, {d});
  SecretBytes b = Prf(HashAlg::kSha256, k2, {d});
  SecretBytes a2 = Prf(HashAlg::kSha256, k1, {d});
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(a == a2);
}

TEST(HashTest, KnownAnswers) {
  const Bytes abc = B("abc");
  // FIPS 180-2 / RFC 1321 "abc" digests.
  EXPECT_EQ(ToHex(Hash(HashAlg::kMd5, {abc})), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(ToHex(Hash(HashAlg::kSha1, {abc})), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(ToHex(Hash(HashAlg::kSha256, {abc})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Hash(HashAlg::kSha384, {abc})),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(ToHex(Hash(HashAlg::kSha512, {abc})),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  const Bytes a = B("a"), bc = B("bc");
  EXPECT_EQ(Hash(HashAlg::kSha1, {a, bc}), Hash(HashAlg::kSha1, {abc}));
}

TEST(HashTest, LengthsAndNames) {
  EXPECT_EQ(HashLength(HashAlg::kMd5), 16u);
  EXPECT_EQ(HashLength(HashAlg::kSha1), 20u);
  EXPECT_EQ(HashLength(HashAlg::kSha256), 32u);
  EXPECT_EQ(HashLength(HashAlg::kSha384), 48u);
  EXPECT_EQ(HashLength(HashAlg::kSha512), 64u);
  EXPECT_STREQ(HashName(HashAlg::kMd5), "md5");
  EXPECT_STREQ(HashName(HashAlg::kSha1), "sha1");
  EXPECT_STREQ(HashName(HashAlg::kSha256), "sha256");
  EXPECT_STREQ(HashName(HashAlg::kSha384), "sha384");
  EXPECT_STREQ(HashName(HashAlg::kSha512), "sha512");
}

TEST(OpenSslRandomTest, FillsAndDiffers) {
  OpenSslRandom rng;
  Bytes a(32), b(32);
  rng.Fill(a);
  rng.Fill(b);
  EXPECT_NE(a, b);
  EXPECT_NE(a, Bytes(32, 0));
  rng.Fill(std::span<uint8_t>());  // empty is fine
}

}  // namespace
}  // namespace ikepulse::crypto
