// CbcEncrypt / CbcDecrypt: RFC 3602 and NIST SP 800-38A AES-CBC vectors, a NIST SP 800-67
// 3DES known answer, and argument checks.
#include <gtest/gtest.h>

#include <string>

#include "crypto/crypto.h"

namespace ikepulse::crypto {
namespace {

struct CbcCase {
  const char* name;
  CipherAlg alg;
  const char* key;
  const char* iv;
  const char* plain;
  const char* cipher;
};

// NIST SP 800-38A F.2 plaintext and IV.
constexpr const char* kSp80038aIv = "000102030405060708090a0b0c0d0e0f";
constexpr const char* kSp80038aPlain =
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710";

const CbcCase kCases[] = {
    // RFC 3602 §4, case #1 ("Single block msg") and case #2.
    {"rfc3602_1", CipherAlg::kAes128Cbc, "06a9214036b8a15b512e03d534120006",
     "3dafba429d9eb430b422da802c9fac41", "53696e676c6520626c6f636b206d7367",
     "e353779c1079aeb82708942dbe77181a"},
    {"rfc3602_2", CipherAlg::kAes128Cbc, "c286696d887c9aa0611bbb3e2025a45a",
     "562e17996d093d28ddb3ba695a2e6f58",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"},
    // NIST SP 800-38A F.2.1, F.2.3, F.2.5.
    {"sp800_38a_aes128", CipherAlg::kAes128Cbc, "2b7e151628aed2a6abf7158809cf4f3c", kSp80038aIv,
     kSp80038aPlain,
     "7649abac8119b246cee98e9b12e9197d"
     "5086cb9b507219ee95db113a917678b2"
     "73bed6b8e3c1743b7116e69e22229516"
     "3ff1caa1681fac09120eca307586e1a7"},
    {"sp800_38a_aes192", CipherAlg::kAes192Cbc, "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
     kSp80038aIv, kSp80038aPlain,
     "4f021db243bc633d7178183a9fa071e8"
     "b4d9ada9ad7dedf4e5e738763f69145a"
     "571b242012fb7ae07fa9baac3df102e0"
     "08b0e27988598881d920a9e64f5615cd"},
    {"sp800_38a_aes256", CipherAlg::kAes256Cbc,
     "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", kSp80038aIv,
     kSp80038aPlain,
     "f58c4c04d6e5f1ba779eabfb5f7bfbd6"
     "9cfc4e967edb808d679f777bc6702c7d"
     "39f23369a9d9bacfa530e26304231461"
     "b2eb05e2c39be9fcda6c19078c6a9d1b"},
    // NIST SP 800-67 Rev. 2 TDEA example, first block ("The qufc"): with a zero IV the
    // first CBC block is the ECB block.
    {"sp800_67_3des", CipherAlg::k3DesCbc, "0123456789abcdef23456789abcdef01456789abcdef0123",
     "0000000000000000", "5468652071756663", "a826fd8ce53b855f"},
};

TEST(CbcTest, KnownAnswersBothWays) {
  for (const CbcCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const Bytes key = HexOrDie(c.key), iv = HexOrDie(c.iv);
    const Bytes plain = HexOrDie(c.plain), cipher = HexOrDie(c.cipher);
    auto enc = CbcEncrypt(c.alg, key, iv, plain);
    ASSERT_TRUE(enc.has_value()) << enc.error().detail;
    EXPECT_EQ(ToHex(*enc), c.cipher);
    auto dec = CbcDecrypt(c.alg, key, iv, cipher);
    ASSERT_TRUE(dec.has_value()) << dec.error().detail;
    EXPECT_EQ(ToHex(*dec), c.plain);
  }
}

TEST(CbcTest, AKeptContextCarriesNothingBetweenCalls) {
  // Each thread keeps one context per cipher and re-keys it per call: the known answers hold
  // in any order, with the direction, key and IV changing from call to call, and after a
  // call that was refused.
  for (int round = 0; round < 3; ++round) {
    for (size_t i = std::size(kCases); i-- > 0;) {
      const CbcCase& c = kCases[(i + round) % std::size(kCases)];
      SCOPED_TRACE(c.name);
      const Bytes key = HexOrDie(c.key), iv = HexOrDie(c.iv);
      EXPECT_FALSE(CbcEncrypt(c.alg, key, iv, Bytes(BlockSize(c.alg) + 1)).has_value());
      auto dec = CbcDecrypt(c.alg, key, iv, HexOrDie(c.cipher));
      ASSERT_TRUE(dec.has_value());
      EXPECT_EQ(ToHex(*dec), c.plain);
      auto enc = CbcEncrypt(c.alg, key, iv, HexOrDie(c.plain));
      ASSERT_TRUE(enc.has_value());
      EXPECT_EQ(ToHex(*enc), c.cipher);
    }
  }
}

TEST(CbcTest, TripleDesChainsBlocks) {
  // C2 = E(P2 xor C1): a two-block CBC encryption equals two one-block ones chained by hand.
  const Bytes key = HexOrDie("0123456789abcdef23456789abcdef01456789abcdef0123");
  const Bytes iv = HexOrDie("0011223344556677");
  const Bytes plain = HexOrDie(
      "5468652071756663"
      "6b2062726f776e20");
  auto two = CbcEncrypt(CipherAlg::k3DesCbc, key, iv, plain);
  ASSERT_TRUE(two.has_value());
  auto c1 = CbcEncrypt(CipherAlg::k3DesCbc, key, iv, ByteSpan(plain).first(8));
  ASSERT_TRUE(c1.has_value());
  auto c2 = CbcEncrypt(CipherAlg::k3DesCbc, key, *c1, ByteSpan(plain).subspan(8));
  ASSERT_TRUE(c2.has_value());
  Bytes joined = *c1;
  joined.insert(joined.end(), c2->begin(), c2->end());
  EXPECT_EQ(*two, joined);
}

TEST(CbcTest, RoundTripAllCiphers) {
  for (CipherAlg alg :
       {CipherAlg::kAes128Cbc, CipherAlg::kAes192Cbc, CipherAlg::kAes256Cbc, CipherAlg::k3DesCbc}) {
    SCOPED_TRACE(CipherName(alg));
    Bytes key(KeyLength(alg)), iv(BlockSize(alg)), plain(BlockSize(alg) * 5);
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
    for (size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<uint8_t>(0xa0 + i);
    for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i);
    auto enc = CbcEncrypt(alg, key, iv, plain);
    ASSERT_TRUE(enc.has_value());
    EXPECT_EQ(enc->size(), plain.size());  // no padding added
    EXPECT_NE(*enc, plain);
    auto dec = CbcDecrypt(alg, key, iv, *enc);
    ASSERT_TRUE(dec.has_value());
    EXPECT_EQ(*dec, plain);
  }
}

TEST(CbcTest, EmptyDataIsEmpty) {
  const Bytes key(16, 1), iv(16, 2);
  auto enc = CbcEncrypt(CipherAlg::kAes128Cbc, key, iv, {});
  ASSERT_TRUE(enc.has_value());
  EXPECT_TRUE(enc->empty());
}

TEST(CbcTest, WrongSizesRejected) {
  for (CipherAlg alg :
       {CipherAlg::kAes128Cbc, CipherAlg::kAes192Cbc, CipherAlg::kAes256Cbc, CipherAlg::k3DesCbc}) {
    SCOPED_TRACE(CipherName(alg));
    const size_t kl = KeyLength(alg), bs = BlockSize(alg);
    const Bytes key(kl, 1), iv(bs, 2), data(bs * 2, 3);
    for (auto* fn : {&CbcEncrypt, &CbcDecrypt}) {
      EXPECT_FALSE((*fn)(alg, Bytes(kl - 1, 1), iv, data).has_value());
      EXPECT_FALSE((*fn)(alg, Bytes(kl + 1, 1), iv, data).has_value());
      EXPECT_FALSE((*fn)(alg, Bytes(), iv, data).has_value());
      EXPECT_FALSE((*fn)(alg, key, Bytes(bs - 1, 2), data).has_value());
      EXPECT_FALSE((*fn)(alg, key, Bytes(bs + 1, 2), data).has_value());
      EXPECT_FALSE((*fn)(alg, key, Bytes(), data).has_value());
      EXPECT_FALSE((*fn)(alg, key, iv, Bytes(bs + 1, 3)).has_value());
      EXPECT_FALSE((*fn)(alg, key, iv, Bytes(1, 3)).has_value());
      EXPECT_TRUE((*fn)(alg, key, iv, data).has_value());
    }
  }
  auto r = CbcEncrypt(CipherAlg::kAes128Cbc, Bytes(15), Bytes(16), Bytes(16));
  ASSERT_FALSE(r.has_value());
  EXPECT_STREQ(r.error().detail, "Wrong key length.");
  r = CbcEncrypt(CipherAlg::kAes128Cbc, Bytes(16), Bytes(8), Bytes(16));
  ASSERT_FALSE(r.has_value());
  EXPECT_STREQ(r.error().detail, "Wrong IV length.");
  r = CbcDecrypt(CipherAlg::kAes128Cbc, Bytes(16), Bytes(16), Bytes(17));
  ASSERT_FALSE(r.has_value());
  EXPECT_STREQ(r.error().detail, "Data is not a multiple of the block size.");
}

TEST(CbcTest, SizesAndNames) {
  EXPECT_EQ(KeyLength(CipherAlg::kAes128Cbc), 16u);
  EXPECT_EQ(KeyLength(CipherAlg::kAes192Cbc), 24u);
  EXPECT_EQ(KeyLength(CipherAlg::kAes256Cbc), 32u);
  EXPECT_EQ(KeyLength(CipherAlg::k3DesCbc), 24u);
  EXPECT_EQ(BlockSize(CipherAlg::kAes128Cbc), 16u);
  EXPECT_EQ(BlockSize(CipherAlg::kAes256Cbc), 16u);
  EXPECT_EQ(BlockSize(CipherAlg::k3DesCbc), 8u);
  EXPECT_STREQ(CipherName(CipherAlg::kAes256Cbc), "aes-256-cbc");
  EXPECT_STREQ(CipherName(CipherAlg::k3DesCbc), "3des-cbc");
}

}  // namespace
}  // namespace ikepulse::crypto
