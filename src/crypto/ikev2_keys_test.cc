// IKEv2 keys, AUTH and the SK payload (ikev2_keys.h).
//
// Known answers: the HMAC truncations of the integrity transforms against RFC 4868 §2.7.2
// (AUTH256-1, AUTH384-1, AUTH512-1) and RFC 2202 test case 1 (HMAC-SHA1-96); prf+, SKEYSEED,
// the SK_* split, the rekeyed SKEYSEED, Child SA KEYMAT and PSK AUTH against values computed
// independently with Python's hmac/hashlib by tests/vectors/ikev2_kat.py (same inputs; run
// `python3 tests/vectors/ikev2_kat.py` to see them). The strongSwan captures in tests/vectors
// (ikev2-*.vec, vectors_test) check the same functions against a real peer.
// Then: SK round trips for every suite, every flipped bit refused, padding rules, truncated and
// malformed datagrams (never read out of bounds: run under ASan in CI), key length checks.
#include "crypto/ikev2_keys.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/random.h"
#include "crypto/esp_crypto.h"

namespace ikepulse::crypto {
namespace {

Bytes Pattern(uint8_t start, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + i);
  return b;
}
std::string H(ByteSpan b) { return ToHex(b); }

// ---------------------------------------------------------------------------------------------
// Integrity transforms: the ICV is the HMAC truncated to IcvLength.

TEST(Ikev2IntegTest, TruncationsMatchRfc4868AndRfc2202) {
  const std::string hi = "Hi There";
  struct Case {
    Ikev2IntegAlg integ;
    HashAlg hash;
    uint8_t key_byte;
    const char* icv;
  };
  const Case cases[] = {
      // RFC 2202 test case 1 (key 0x0b x 20), truncated to 96 bits (RFC 2404).
      {Ikev2IntegAlg::kHmacSha1_96, HashAlg::kSha1, 0x0b, "b617318655057264e28bc0b6"},
      // RFC 4868 §2.7.2.1 AUTH256-1, §2.7.2.2 AUTH384-1, §2.7.2.3 AUTH512-1 (key 0x0b x the
      // integrity key length).
      {Ikev2IntegAlg::kHmacSha256_128, HashAlg::kSha256, 0x0b, "198a607eb44bfbc69903a0f1cf2bbdc5"},
      {Ikev2IntegAlg::kHmacSha384_192, HashAlg::kSha384, 0x0b,
       "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"},
      {Ikev2IntegAlg::kHmacSha512_256, HashAlg::kSha512, 0x0b,
       "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Ikev2IntegName(c.integ));
    const Bytes key(IntegKeyLength(c.integ), c.key_byte);
    const size_t icv_len = IcvLength(Ikev2EncrAlg::kAesCbc128, c.integ);
    EXPECT_EQ(H(TruncatedHmac(c.hash, key, AsSpan(hi), icv_len)), c.icv);
  }
}

TEST(Ikev2IntegTest, Lengths) {
  EXPECT_EQ(IntegKeyLength(Ikev2IntegAlg::kNone), 0u);
  EXPECT_EQ(IntegKeyLength(Ikev2IntegAlg::kHmacSha1_96), 20u);
  EXPECT_EQ(IntegKeyLength(Ikev2IntegAlg::kHmacSha256_128), 32u);
  EXPECT_EQ(IntegKeyLength(Ikev2IntegAlg::kHmacSha384_192), 48u);
  EXPECT_EQ(IntegKeyLength(Ikev2IntegAlg::kHmacSha512_256), 64u);
  EXPECT_EQ(IcvLength(Ikev2EncrAlg::kAesCbc256, Ikev2IntegAlg::kHmacSha1_96), 12u);
  EXPECT_EQ(IcvLength(Ikev2EncrAlg::kAesCbc256, Ikev2IntegAlg::kHmacSha512_256), 32u);
  EXPECT_EQ(IcvLength(Ikev2EncrAlg::kAesGcm16_128, Ikev2IntegAlg::kNone), 16u);
  EXPECT_EQ(EncrKeyMaterialLength(Ikev2EncrAlg::kAesCbc128), 16u);
  EXPECT_EQ(EncrKeyMaterialLength(Ikev2EncrAlg::kAesCbc256), 32u);
  EXPECT_EQ(EncrKeyMaterialLength(Ikev2EncrAlg::kAesGcm16_128), 20u);
  EXPECT_EQ(EncrKeyMaterialLength(Ikev2EncrAlg::kAesGcm16_256), 36u);
  EXPECT_EQ(IvLength(Ikev2EncrAlg::kAesCbc128), 16u);
  EXPECT_EQ(IvLength(Ikev2EncrAlg::kAesGcm16_256), 8u);
}

// ---------------------------------------------------------------------------------------------
// prf+, SKEYSEED, the split (expected values: tests/vectors/ikev2_kat.py).

const Bytes kNi = Pattern(0x10, 32), kNr = Pattern(0x80, 32), kGir = Pattern(0x40, 256);
const Bytes kSpiI = HexOrDie("0102030405060708"), kSpiR = HexOrDie("1112131415161718");

TEST(PrfPlusTest, KnownAnswers) {
  const Bytes key = Pattern(0, 32);
  const std::string seed = "ikepulse prf+ seed";
  EXPECT_EQ(H(PrfPlus(HashAlg::kSha1, key, {AsSpan(seed)}, 71).span()),
            "236ab9efe69fa72bb408b8e72035f6bfaa1a3c4701f79d1b1c940535e99ee405e7d73d27126bfeda9ed9"
            "5f95f63590713b3289aaf5f199af3b0c841f6a32d39adaef71e36ca248");
  EXPECT_EQ(H(PrfPlus(HashAlg::kSha256, key, {AsSpan(seed)}, 100).span()),
            "d8fcdf03e945828eb576dd4881050ebc5b92125259e0b80746f3d5159031c68153d4c507b1e9f598ca8b"
            "c5a040139aee6c61a64b627c9ffa4a4746dd263f358ac8297b3276c723cc115f6a752b08874c2e45b45b"
            "0f808776b5f1075ca4fb8cbbaa08886b");
  EXPECT_EQ(H(PrfPlus(HashAlg::kSha384, key, {AsSpan(seed)}, 130).span()),
            "bf2c5b1d7e06e76adf3f031d6c4016fd661e0d51c62ba6ddd41ebf6275670a7f3a624053d6ca528b71c6"
            "041860efdae0634f6af8f33c41e9d59ea625ac96139c58b9b8869d5c988c731df4ff2cc68bfc203fb561"
            "0a92140f53ad1f2ab733908850041ed3b976d69efc48d652210633a8790cf2e4070faae5ae512207d66b"
            "698b4671");
  EXPECT_EQ(H(PrfPlus(HashAlg::kSha512, key, {AsSpan(seed)}, 200).span()),
            "a934efe2d166bbcf1dff366132753fbfd1f4ecab04ac8ef7757a9e78615e80d2fab95a860b70be5fa0d5"
            "983f7f64abb0dd0c379af70b629b53897ddacda2b0ba0bf3f62fdc91a1ca47ac5f4afaaccf829a2cc45e"
            "7a85767eebfbaedff0b914ab88651ba7cf4f14ff6156e9fc39ce1863291593c94f7356bf333883516093"
            "3ed49d7835b36e722b7c2f7f16828f81d04d2a8ca7c41bcd5ef622feb899e0fc18345d9142419ab9f8d2"
            "0f9f7f4c615f094590825c39fcb37184af3bb75c8fa56cb966aed6903937d33b");
}

TEST(PrfPlusTest, StructureAndLimits) {
  const Bytes key = Pattern(0, 20), s1 = Pattern(1, 7), s2 = Pattern(9, 30);
  // T1 = prf(K, S | 0x01): the first block is one HMAC.
  const uint8_t one[1] = {1};
  EXPECT_EQ(H(PrfPlus(HashAlg::kSha256, key, {s1, s2}, 32).span()),
            H(Prf(HashAlg::kSha256, key, {s1, s2, one}).span()));
  // The seed parts are concatenated; a shorter output is a prefix of a longer one.
  Bytes s12 = s1;
  s12.insert(s12.end(), s2.begin(), s2.end());
  const SecretBytes long_out = PrfPlus(HashAlg::kSha256, key, {s12}, 255 * 32);
  EXPECT_EQ(long_out.size(), 255u * 32);  // the largest length the one-byte counter allows
  EXPECT_EQ(H(PrfPlus(HashAlg::kSha256, key, {s1, s2}, 33).span()), H(long_out.span().first(33)));
  EXPECT_TRUE(PrfPlus(HashAlg::kSha256, key, {s1}, 0).empty());
}

TEST(PrfPlusDeathTest, MoreThan255BlocksIsAProgrammerError) {
  const Bytes key(20, 1);
  EXPECT_DEATH((void)PrfPlus(HashAlg::kSha1, key, {}, 255 * 20 + 1), "");
}

struct SplitCase {
  const char* name;
  IkeSuite suite;
  const char* skeyseed;
  const char* sk[7];  // d, ai, ar, ei, er, pi, pr
};

TEST(IkeSaKeysTest, SkeyseedAndSplitKnownAnswers) {
  const SplitCase cases[] = {
      {"aes128-cbc hmac-sha256-128 prf-sha256",
       {HashAlg::kSha256, Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kHmacSha256_128},
       "cd6cf9f9eb7f2e8e45d46db4dd2f41cfa182085ba5fb7233743cbe243bd1a2c7",
       {"fd13b078331b20ad270c4c864fedbedb888493dc88d483e2fcb73189a6c69e2f",
        "278287133585af03470f6032c3ef959d46d2c1087c139889ccfe4032c875782f",
        "2b7227ea07b6a09738c54e7b180ab7617a5711e6af2e395d8c670552205c4f3b",
        "af8aa37dcdf9feb094ce483164cd4f34", "8e52d822ee4976f50c23e4f34cd1a179",
        "e26588c7a6b65b09a5f38802f489bd4dbe4c9d3f45cfc9d1723cf14b552fd360",
        "82bccd0761d6c708508567a5aa27395fe28abc42279f32d9f4c9adf8a95cd132"}},
      {"aes256-cbc hmac-sha1-96 prf-sha1",
       {HashAlg::kSha1, Ikev2EncrAlg::kAesCbc256, Ikev2IntegAlg::kHmacSha1_96},
       "84b3fbdd514e3e500770cb414cdf4cdcd91b0881",
       {"e828786669a0149f9f4d7888c5e707f8d187e89d", "09f443cacd25fbd9b4b7165d208bacb6175063b7",
        "ab42cd2c4fadba9bf0a9a11629949a36036dbb09",
        "c631bbe99428af471ffb2a5f252c3dfd003c1ee86b94a4f92f04574b5cb92ae7",
        "e6ad5d9ab196fa854c6be26b4ce5184479e872c5963f8e5a038f8872cff3363b",
        "2abdee212f8cf9ab00dbf44d2970a01789252dc8", "c5b73d341450be49bdb0eccdbdafc696b1807720"}},
      {"aes128-gcm16 prf-sha256",
       {HashAlg::kSha256, Ikev2EncrAlg::kAesGcm16_128, Ikev2IntegAlg::kNone},
       "cd6cf9f9eb7f2e8e45d46db4dd2f41cfa182085ba5fb7233743cbe243bd1a2c7",
       {"fd13b078331b20ad270c4c864fedbedb888493dc88d483e2fcb73189a6c69e2f", "", "",
        "278287133585af03470f6032c3ef959d46d2c108", "7c139889ccfe4032c875782f2b7227ea07b6a097",
        "38c54e7b180ab7617a5711e6af2e395d8c670552205c4f3baf8aa37dcdf9feb0",
        "94ce483164cd4f348e52d822ee4976f50c23e4f34cd1a179e26588c7a6b65b09"}},
      {"aes256-gcm16 prf-sha384",
       {HashAlg::kSha384, Ikev2EncrAlg::kAesGcm16_256, Ikev2IntegAlg::kNone},
       "2ee5d114ccde931da2bdc081632c0fd0bb39da8d728dff3eaa4cd7741d4f00fd60c2167ff96f1bbc3d96c3fd"
       "33b541b9",
       {"49ae0c9a7f97d520bda39497344867294317cfb7b3a06a083c9205db98a5e451cd11dd63bed05811980eb8"
        "4519f889da",
        "", "", "ecff7a4979797d1e0a028ff878b713d32e269e6544a7100af517547df46fd51f98f35dc8",
        "c260bf62e1ac139781e4fa12d51e5f81d43edc899e04d12f67b39b51c53f5101cece999a",
        "106fdf9b51ae5e5b72de3f63346a761ef9c30139c2d56735ac145d6909db81d868b7b7ad7a2fc90554b67a"
        "3fc7b621b4",
        "71124273faa31c7d6db2b34329d40aaaae5bb28e88bb52c4d8308c332989b42ec6a30995457cc2b7ae35dc"
        "f14d2f56ff"}},
      {"aes256-cbc hmac-sha512-256 prf-sha512",
       {HashAlg::kSha512, Ikev2EncrAlg::kAesCbc256, Ikev2IntegAlg::kHmacSha512_256},
       "b55dee6c0dbacdd0cdfe9aab18b41bc0bd8fd4b638b2d8025284ebde8c7e4a04dfb12e44f68eb8b297384936"
       "ca90513eecda668984c73475bdc32320b6560da7",
       {"c3f89a249c69ba3d0e38b93e698c852372b9050b011f28ac73e989866e2b5e4bfd3c19ddf17b61ff23531b"
        "2129aad8fc97eebdf718c7563fafd434d1d15f0048",
        "c0863e60e90e92b7ed96bbcc5f48dfbdc8fd76833c2051baf3cb2ec3a529a802bdcfef028675bea21c7e2b"
        "767f1b893424b8c089e837c63eb518eaf0d060eb07",
        "a91e9a9d614b1f9363b5cd2cd015f4a3834948508a883f43564e65eb7d6fefbac6744363007d58107fc0a3"
        "8688e0627ec1b2408e2f214792a82f87e066ac5e36",
        "4b23342b5a75b05b44b0f5ed05e33be328a6153157872633debe3f145fb28143",
        "bd8dfe3358345a2485e8d94a827c1385ca7e4be1628717c97f49a1751a48d100",
        "c19eba5197e5a0c2cedf5be43137cc5adf9e14dc1bb753739f77e9649ed3ba91fdd20afffa238c6d59da76"
        "5bc7abbe4d1bb333d3cf1f961601b201054e440152",
        "f55c70e9188f7cecae7b8332a1597839bdd99f16a3b85975133dc27da3563cf502f39cfe622e8cc5753532"
        "8fa49615a6c6cb572370ec5c8e045fad6d41406523"}},
  };
  for (const SplitCase& c : cases) {
    SCOPED_TRACE(c.name);
    const SecretBytes seed = Skeyseed(c.suite.prf, kNi, kNr, kGir);
    EXPECT_EQ(H(seed.span()), c.skeyseed);
    auto k = DeriveIkeSaKeys(c.suite, seed.span(), kNi, kNr, kSpiI, kSpiR);
    ASSERT_TRUE(k.has_value()) << k.error().detail;
    EXPECT_EQ(H(k->sk_d.span()), c.sk[0]);
    EXPECT_EQ(H(k->sk_ai.span()), c.sk[1]);
    EXPECT_EQ(H(k->sk_ar.span()), c.sk[2]);
    EXPECT_EQ(H(k->sk_ei.span()), c.sk[3]);
    EXPECT_EQ(H(k->sk_er.span()), c.sk[4]);
    EXPECT_EQ(H(k->sk_pi.span()), c.sk[5]);
    EXPECT_EQ(H(k->sk_pr.span()), c.sk[6]);
  }
}

TEST(IkeSaKeysTest, SuiteAndSpiErrors) {
  EXPECT_TRUE(
      CheckSuite({HashAlg::kSha256, Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kHmacSha256_128})
          .has_value());
  EXPECT_TRUE(CheckSuite({HashAlg::kSha384, Ikev2EncrAlg::kAesGcm16_256, Ikev2IntegAlg::kNone})
                  .has_value());
  EXPECT_FALSE(
      CheckSuite({HashAlg::kSha256, Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kNone}).has_value());
  EXPECT_FALSE(
      CheckSuite({HashAlg::kSha256, Ikev2EncrAlg::kAesGcm16_128, Ikev2IntegAlg::kHmacSha256_128})
          .has_value());
  EXPECT_FALSE(
      CheckSuite({HashAlg::kSha256, static_cast<Ikev2EncrAlg>(9), Ikev2IntegAlg::kHmacSha256_128})
          .has_value());
  const IkeSuite ok{HashAlg::kSha256, Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kHmacSha256_128};
  const Bytes seed(32, 7);
  EXPECT_FALSE(DeriveIkeSaKeys(ok, seed, kNi, kNr, Bytes(4, 1), kSpiR).has_value());
  EXPECT_FALSE(DeriveIkeSaKeys(ok, seed, kNi, kNr, kSpiI, Bytes(9, 1)).has_value());
  EXPECT_FALSE(DeriveIkeSaKeys({HashAlg::kSha256, Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kNone},
                               seed, kNi, kNr, kSpiI, kSpiR)
                   .has_value());
}

TEST(IkeSaKeysTest, RekeyAndChildKnownAnswers) {
  const Bytes sk_d = Pattern(0xd0, 32), gir = Pattern(0x60, 256);
  const Bytes ni = Pattern(0x20, 16), nr = Pattern(0x30, 24);
  EXPECT_EQ(H(RekeySkeyseed(HashAlg::kSha256, sk_d, gir, ni, nr).span()),
            "fcb0c1824febd0fd6acb94b9d120bbb845cd6721d69c0d9964098678984befaf");
  // AES-128-CBC + HMAC-SHA-256 without PFS: encr_i | integ_i | encr_r | integ_r.
  const std::string nopfs =
      "5e6246277f39926df116fd6fc7c016e05657ac741bf380c8bbf9877bd3e53380a00eec114f2c4139800adda2"
      "a3587c1da1c5a2fa6b6225926eb8accd8c666981a16501e6a052210a395d69142f1f7179297b4c225d202046"
      "de97a0a88decc8b5";
  const ChildSaKeys c = DeriveChildSaKeys(HashAlg::kSha256, sk_d, std::nullopt, ni, nr, 16, 32);
  EXPECT_EQ(H(c.encr_i.span()) + H(c.integ_i.span()) + H(c.encr_r.span()) + H(c.integ_r.span()),
            nopfs);
  EXPECT_EQ(c.encr_i.size(), 16u);
  EXPECT_EQ(c.integ_r.size(), 32u);
  // AES-256-GCM (32-byte key + 4-byte salt) with PFS: g^ir first in the seed.
  const ChildSaKeys g = DeriveChildSaKeys(HashAlg::kSha256, sk_d, ByteSpan(gir), ni, nr, 36, 0);
  EXPECT_EQ(H(g.encr_i.span()) + H(g.encr_r.span()),
            "7e0994a9633a63c9938e395310acf532e4c09c15e86466d3e59e284534d71482607b47af8ef666ea4d23"
            "75bf968fbdd067785d0745fd077c886f9560b18ffeaca6528a5f97856352");
  EXPECT_TRUE(g.integ_i.empty());
  EXPECT_TRUE(g.integ_r.empty());
}

TEST(PskAuthTest, KnownAnswerAndVerify) {
  const std::string psk = "ikepulse test psk";
  const Bytes msg = Pattern(0xa0, 300), nonce = Pattern(0x55, 32), sk_p = Pattern(0x70, 48);
  const Bytes id = HexOrDie("01000000c0000201");  // ID_IPV4_ADDR 192.0.2.1
  EXPECT_EQ(H(MacedId(HashAlg::kSha384, sk_p, id).span()),
            "ad4479f9147f89bc9e898a6878d1adc457b88163890401a5b15793781cd0898884c88e24d1378e9f7e7b"
            "5f9551b67f49");
  const SecretBytes auth = PskAuth(HashAlg::kSha384, AsSpan(psk), msg, nonce, sk_p, id);
  EXPECT_EQ(H(auth.span()),
            "c4a808680da21f30dbd0237bd9af25d203ef653cd8c7ed8b26423c8b8363601b1e4b7240f674f7a4d1b7"
            "dc3bde3c8f23");
  EXPECT_TRUE(VerifyPskAuth(HashAlg::kSha384, AsSpan(psk), msg, nonce, sk_p, id, auth.span()));
  Bytes bad(auth.span().begin(), auth.span().end());
  bad[47] ^= 1;
  EXPECT_FALSE(VerifyPskAuth(HashAlg::kSha384, AsSpan(psk), msg, nonce, sk_p, id, bad));
  EXPECT_FALSE(
      VerifyPskAuth(HashAlg::kSha384, AsSpan(psk), msg, nonce, sk_p, id, auth.span().first(32)));
  const std::string other = "ikepulse test psK";
  EXPECT_FALSE(VerifyPskAuth(HashAlg::kSha384, AsSpan(other), msg, nonce, sk_p, id, auth.span()));
}

// ---------------------------------------------------------------------------------------------
// The SK payload.

struct Suite {
  Ikev2EncrAlg encr;
  Ikev2IntegAlg integ;
};
const Suite kSuites[] = {
    {Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kHmacSha1_96},
    {Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kHmacSha256_128},
    {Ikev2EncrAlg::kAesCbc256, Ikev2IntegAlg::kHmacSha384_192},
    {Ikev2EncrAlg::kAesCbc256, Ikev2IntegAlg::kHmacSha512_256},
    {Ikev2EncrAlg::kAesGcm16_128, Ikev2IntegAlg::kNone},
    {Ikev2EncrAlg::kAesGcm16_256, Ikev2IntegAlg::kNone},
};

std::string SuiteName(const Suite& s) {
  return std::string(Ikev2EncrName(s.encr)) + "/" + Ikev2IntegName(s.integ);
}

// Keys for a suite, owned.
struct OwnedKeys {
  Bytes e, a;
  SkKeys Keys(const Suite& s) const { return SkKeys{s.encr, s.integ, e, a}; }
};
OwnedKeys MakeKeys(const Suite& s, uint8_t seed) {
  return {Pattern(seed, EncrKeyMaterialLength(s.encr)),
          Pattern(static_cast<uint8_t>(seed + 0x40), IntegKeyLength(s.integ))};
}

// An INFORMATIONAL request header + SK generic header (Next Payload = first inner type).
Bytes Prefix(uint8_t inner_next) {
  Bytes p = HexOrDie(
      "0102030405060708"  // SPIi
      "1112131415161718"  // SPIr
      "2e202508"          // Next Payload SK, version 2.0, INFORMATIONAL, I
      "00000002"          // Message ID
      "00000000");        // Length (filled in)
  p.push_back(inner_next);
  p.insert(p.end(), {0, 0, 0});  // C/reserved, Payload Length (filled in)
  return p;
}

TEST(SkPayloadTest, RoundTripEverySuiteAndSize) {
  SeededRandom rng(1);
  for (const Suite& s : kSuites) {
    SCOPED_TRACE(SuiteName(s));
    const OwnedKeys ok = MakeKeys(s, 3);
    const SkKeys k = ok.Keys(s);
    for (size_t n : {0, 1, 8, 15, 16, 17, 31, 32, 100, 1000}) {
      SCOPED_TRACE(n);
      const Bytes inner = Pattern(static_cast<uint8_t>(n), n);
      const Bytes prefix = Prefix(n ? 42 : 0);
      auto msg = ProtectSk(k, prefix, inner, rng);
      ASSERT_TRUE(msg.has_value()) << msg.error().detail;
      EXPECT_EQ(msg->size(), ProtectedLength(s.encr, s.integ, prefix.size(), n));
      // The Length fields were filled in; everything else of the prefix is unchanged.
      const uint32_t len = (uint32_t{(*msg)[24]} << 24) | (uint32_t{(*msg)[25]} << 16) |
                           (uint32_t{(*msg)[26]} << 8) | (*msg)[27];
      EXPECT_EQ(len, msg->size());
      const size_t sk_len = (size_t{(*msg)[30]} << 8) | (*msg)[31];
      EXPECT_EQ(sk_len, msg->size() - 28);
      EXPECT_EQ(H(ByteSpan(*msg).first(24)), H(ByteSpan(prefix).first(24)));
      EXPECT_EQ((*msg)[28], prefix[28]);
      // CBC: the smallest padding; GCM: none (IV 8, Pad Length 1, ICV 16 around the inner).
      const size_t body = msg->size() - 32 - IvLength(s.encr) - IcvLength(s.encr, s.integ);
      if (IsAead(s.encr)) {
        EXPECT_EQ(body, n + 1);
      } else {
        EXPECT_EQ(body % 16, 0u);
        EXPECT_LE(body - n - 1, 15u);
      }
      auto plain = UnprotectSk(k, *msg, 28);
      ASSERT_TRUE(plain.has_value()) << plain.error().detail;
      EXPECT_EQ(H(*plain), H(inner));
    }
  }
}

TEST(SkPayloadTest, ClearPayloadsBeforeSkAreAuthenticated) {
  // A prefix with a clear Notify in front of SK (as in IKE_SA_INIT-style layouts): the SK
  // payload starts after it and the Notify is covered by the ICV / the AAD.
  SeededRandom rng(2);
  for (const Suite& s : kSuites) {
    SCOPED_TRACE(SuiteName(s));
    const OwnedKeys ok = MakeKeys(s, 9);
    Bytes prefix = Prefix(0);
    prefix.resize(28);
    prefix[16] = 41;  // Notify first
    // Notify: Next Payload SK, length 8, protocol 0, no SPI, type 16406.
    const Bytes notify = HexOrDie("2e00000800004016");
    prefix.insert(prefix.end(), notify.begin(), notify.end());
    prefix.insert(prefix.end(), {42, 0, 0, 0});  // SK header, inner Delete
    const Bytes inner = HexOrDie("0000000801000000");
    auto msg = ProtectSk(ok.Keys(s), prefix, inner, rng);
    ASSERT_TRUE(msg.has_value());
    auto plain = UnprotectSk(ok.Keys(s), *msg, 36);
    ASSERT_TRUE(plain.has_value()) << plain.error().detail;
    EXPECT_EQ(H(*plain), H(inner));
    Bytes bad = *msg;
    bad[30] ^= 0x01;  // inside the clear Notify
    EXPECT_FALSE(UnprotectSk(ok.Keys(s), bad, 36).has_value());
    // The SK payload is not where the caller says.
    EXPECT_FALSE(UnprotectSk(ok.Keys(s), *msg, 28).has_value());
  }
}

TEST(SkPayloadTest, EveryFlippedBitIsRefused) {
  SeededRandom rng(3);
  for (const Suite& s : kSuites) {
    SCOPED_TRACE(SuiteName(s));
    const OwnedKeys ok = MakeKeys(s, 5);
    const Bytes inner = Pattern(0x33, 21);
    auto msg = ProtectSk(ok.Keys(s), Prefix(41), inner, rng);
    ASSERT_TRUE(msg.has_value());
    ASSERT_TRUE(UnprotectSk(ok.Keys(s), *msg, 28).has_value());
    // Header, SK header (associated data), IV, ciphertext, padding, ICV: every bit counts.
    for (size_t i = 0; i < msg->size() * 8; ++i) {
      Bytes bad = *msg;
      bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
      EXPECT_FALSE(UnprotectSk(ok.Keys(s), bad, 28).has_value()) << "bit " << i;
    }
  }
}

TEST(SkPayloadTest, WrongDirectionKeysAreRefused) {
  SeededRandom rng(4);
  const IkeSuite suite{HashAlg::kSha256, Ikev2EncrAlg::kAesGcm16_128, Ikev2IntegAlg::kNone};
  const SecretBytes seed = Skeyseed(suite.prf, kNi, kNr, kGir);
  auto keys = DeriveIkeSaKeys(suite, seed.span(), kNi, kNr, kSpiI, kSpiR);
  ASSERT_TRUE(keys.has_value());
  auto msg = ProtectSk(SkKeysFor(suite, *keys, true), Prefix(0), {}, rng);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->size(), 57u) << "an empty INFORMATIONAL with AES-GCM is 57 bytes";
  EXPECT_TRUE(UnprotectSk(SkKeysFor(suite, *keys, true), *msg, 28).has_value());
  EXPECT_FALSE(UnprotectSk(SkKeysFor(suite, *keys, false), *msg, 28).has_value());
}

// Builds a CBC + HMAC-SHA-256-128 datagram around an arbitrary (already padded) plaintext, so
// that bad padding arrives with a valid ICV.
Bytes CbcDatagram(const OwnedKeys& ok, const Bytes& plain) {
  Bytes msg = Prefix(41);
  const Bytes iv = Pattern(0x99, 16);
  msg.insert(msg.end(), iv.begin(), iv.end());
  auto ct = CbcEncrypt(CipherAlg::kAes128Cbc, ok.e, iv, plain);
  EXPECT_TRUE(ct.has_value());
  msg.insert(msg.end(), ct->begin(), ct->end());
  const size_t total = msg.size() + 16;
  msg[24] = 0;
  msg[25] = 0;
  msg[26] = static_cast<uint8_t>(total >> 8);
  msg[27] = static_cast<uint8_t>(total);
  msg[30] = static_cast<uint8_t>((total - 28) >> 8);
  msg[31] = static_cast<uint8_t>(total - 28);
  const Bytes icv = TruncatedHmac(HashAlg::kSha256, ok.a, msg, 16);
  msg.insert(msg.end(), icv.begin(), icv.end());
  return msg;
}

TEST(SkPayloadTest, PaddingRules) {
  const Suite s{Ikev2EncrAlg::kAesCbc128, Ikev2IntegAlg::kHmacSha256_128};
  const OwnedKeys ok = MakeKeys(s, 7);
  // A Pad Length of 15 in a single block: the inner chain is empty.
  Bytes p(16, 0xee);
  p[15] = 15;
  auto r = UnprotectSk(ok.Keys(s), CbcDatagram(ok, p), 28);
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_TRUE(r->empty());
  // Longer than needed padding is accepted (§3.14: any length that aligns): 5 inner bytes,
  // 26 padding bytes, Pad Length 26.
  Bytes q(32, 0xab);
  q[31] = 26;
  r = UnprotectSk(ok.Keys(s), CbcDatagram(ok, q), 28);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(H(*r), "ababababab");
  // A Pad Length that reaches past the start of the plaintext is refused.
  for (uint8_t bad : {16, 17, 200, 255}) {
    p[15] = bad;
    EXPECT_FALSE(UnprotectSk(ok.Keys(s), CbcDatagram(ok, p), 28).has_value()) << int{bad};
  }
  q[31] = 32;
  EXPECT_FALSE(UnprotectSk(ok.Keys(s), CbcDatagram(ok, q), 28).has_value());
  q[31] = 31;
  EXPECT_TRUE(UnprotectSk(ok.Keys(s), CbcDatagram(ok, q), 28).has_value());

  // GCM: a plaintext of 3 bytes whose Pad Length says 3 (sealed properly).
  const Suite g{Ikev2EncrAlg::kAesGcm16_128, Ikev2IntegAlg::kNone};
  const OwnedKeys gk = MakeKeys(g, 8);
  for (uint8_t pad : {2, 3, 255}) {
    Bytes msg = Prefix(41);
    const Bytes iv = Pattern(0x10, 8);
    msg.insert(msg.end(), iv.begin(), iv.end());
    const size_t total = msg.size() + 3 + 16;
    msg[27] = static_cast<uint8_t>(total);
    msg[31] = static_cast<uint8_t>(total - 28);
    Bytes nonce(gk.e.end() - 4, gk.e.end());
    nonce.insert(nonce.end(), iv.begin(), iv.end());
    const Bytes plain = {0x01, 0x02, pad};
    auto sealed = AesGcmSeal(ByteSpan(gk.e).first(16), nonce, ByteSpan(msg).first(32), plain);
    ASSERT_TRUE(sealed.has_value());
    msg.insert(msg.end(), sealed->begin(), sealed->end());
    auto out = UnprotectSk(gk.Keys(g), msg, 28);
    if (pad == 2) {
      ASSERT_TRUE(out.has_value()) << out.error().detail;
      EXPECT_TRUE(out->empty());
    } else {
      EXPECT_FALSE(out.has_value()) << int{pad};
    }
  }
}

TEST(SkPayloadTest, TruncatedAndMalformedDatagramsAreRefused) {
  SeededRandom rng(5);
  for (const Suite& s : kSuites) {
    SCOPED_TRACE(SuiteName(s));
    const OwnedKeys ok = MakeKeys(s, 11);
    auto msg = ProtectSk(ok.Keys(s), Prefix(41), Pattern(1, 40), rng);
    ASSERT_TRUE(msg.has_value());
    // Every prefix of the datagram, as is and with both Length fields rewritten to agree with
    // the truncation (so the size checks, not the ICV, must catch it). Each is a fresh copy,
    // exactly as long as the truncation, so ASan sees any read past it.
    for (size_t n = 0; n < msg->size(); ++n) {
      std::vector<uint8_t> cut(msg->begin(), msg->begin() + n);
      EXPECT_FALSE(UnprotectSk(ok.Keys(s), cut, 28).has_value()) << n;
      if (n >= 32) {
        cut[24] = 0;
        cut[25] = 0;
        cut[26] = static_cast<uint8_t>(n >> 8);
        cut[27] = static_cast<uint8_t>(n);
        cut[30] = static_cast<uint8_t>((n - 28) >> 8);
        cut[31] = static_cast<uint8_t>(n - 28);
        EXPECT_FALSE(UnprotectSk(ok.Keys(s), cut, 28).has_value()) << n;
      }
    }
    // SK offsets inside the header, at or past the end.
    for (size_t off : {size_t{0}, size_t{27}, msg->size() - 3, msg->size(), msg->size() + 1,
                       SIZE_MAX, SIZE_MAX - 2}) {
      EXPECT_FALSE(UnprotectSk(ok.Keys(s), *msg, off).has_value()) << off;
    }
    // An SK Payload Length that disagrees with the datagram, either way.
    for (int delta : {-1, 1, -16}) {
      Bytes bad = *msg;
      const size_t sk_len = ((size_t{bad[30]} << 8) | bad[31]) + delta;
      bad[30] = static_cast<uint8_t>(sk_len >> 8);
      bad[31] = static_cast<uint8_t>(sk_len);
      EXPECT_FALSE(UnprotectSk(ok.Keys(s), bad, 28).has_value()) << delta;
    }
    // Trailing bytes after the header's Length.
    Bytes longer = *msg;
    longer.push_back(0);
    EXPECT_FALSE(UnprotectSk(ok.Keys(s), longer, 28).has_value());
  }
}

TEST(SkPayloadTest, KeyAndPrefixErrors) {
  SeededRandom rng(6);
  const Suite s{Ikev2EncrAlg::kAesCbc256, Ikev2IntegAlg::kHmacSha1_96};
  const OwnedKeys ok = MakeKeys(s, 1);
  SkKeys k = ok.Keys(s);
  EXPECT_FALSE(ProtectSk(k, ByteSpan(Prefix(0)).first(31), {}, rng).has_value());
  auto msg = ProtectSk(k, Prefix(0), {}, rng);
  ASSERT_TRUE(msg.has_value());
  SkKeys short_e = k;
  short_e.encr_key = k.encr_key.first(16);
  EXPECT_FALSE(ProtectSk(short_e, Prefix(0), {}, rng).has_value());
  EXPECT_FALSE(UnprotectSk(short_e, *msg, 28).has_value());
  SkKeys short_a = k;
  short_a.integ_key = k.integ_key.first(19);
  EXPECT_FALSE(ProtectSk(short_a, Prefix(0), {}, rng).has_value());
  EXPECT_FALSE(UnprotectSk(short_a, *msg, 28).has_value());
  SkKeys mixed = k;
  mixed.integ = Ikev2IntegAlg::kNone;
  EXPECT_FALSE(ProtectSk(mixed, Prefix(0), {}, rng).has_value());
  SkKeys gcm_with_integ{Ikev2EncrAlg::kAesGcm16_128, Ikev2IntegAlg::kHmacSha1_96, Pattern(0, 20),
                        Pattern(0, 20)};
  EXPECT_FALSE(ProtectSk(gcm_with_integ, Prefix(0), {}, rng).has_value());
  // An SK payload over 65535 bytes cannot be expressed.
  EXPECT_FALSE(ProtectSk(k, Prefix(42), Bytes(65535, 0), rng).has_value());
}

}  // namespace
}  // namespace ikepulse::crypto
