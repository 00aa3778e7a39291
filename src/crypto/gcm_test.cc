// AesGcmSeal / AesGcmOpen: the GCM test cases of McGrew and Viega, "The Galois/Counter Mode of
// Operation (GCM)" (also in NIST's GCM validation set): test cases 1, 2 and 4 (AES-128) and 16
// (AES-256, the same inputs as 4 with the key doubled); tampering and size errors.
#include <gtest/gtest.h>

#include <string>

#include "crypto/crypto.h"

namespace ikepulse::crypto {
namespace {

TEST(AesGcmTest, McGrewViegaTestCase1And2) {
  const Bytes key(16, 0), nonce(12, 0);
  // Test case 1: empty plaintext, empty AAD.
  auto t1 = AesGcmSeal(key, nonce, {}, {});
  ASSERT_TRUE(t1.has_value()) << t1.error().detail;
  EXPECT_EQ(ToHex(*t1), "58e2fccefa7e3061367f1d57a4e7455a");
  auto o1 = AesGcmOpen(key, nonce, {}, *t1);
  ASSERT_TRUE(o1.has_value());
  EXPECT_TRUE(o1->empty());
  // Test case 2: one zero block.
  auto t2 = AesGcmSeal(key, nonce, {}, Bytes(16, 0));
  ASSERT_TRUE(t2.has_value());
  EXPECT_EQ(ToHex(*t2), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
}

const char kTc4Plain[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
    "49a6b525b16aedf5aa0de657ba637b39";
const char kTc4Aad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const char kTc4Nonce[] = "cafebabefacedbaddecaf888";

TEST(AesGcmTest, McGrewViegaTestCase4And16) {
  const Bytes key128 = HexOrDie("feffe9928665731c6d6a8f9467308308");
  const Bytes key256 = HexOrDie("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const Bytes plain = HexOrDie(kTc4Plain), aad = HexOrDie(kTc4Aad), nonce = HexOrDie(kTc4Nonce);
  const std::string want128 =
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aa"
      "c84aa051ba30b396a0aac973d58e091"
      "5bc94fbc3221a5db94fae95ae7121a47";
  const std::string want256 =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
      "56828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b";
  for (const auto& [key, want] : {std::pair{key128, want128}, std::pair{key256, want256}}) {
    auto sealed = AesGcmSeal(key, nonce, aad, plain);
    ASSERT_TRUE(sealed.has_value()) << sealed.error().detail;
    EXPECT_EQ(ToHex(*sealed), want);
    auto opened = AesGcmOpen(key, nonce, aad, *sealed);
    ASSERT_TRUE(opened.has_value()) << opened.error().detail;
    EXPECT_EQ(ToHex(*opened), kTc4Plain);
  }
}

TEST(AesGcmTest, EveryFlippedBitIsRefused) {
  const Bytes key = HexOrDie("feffe9928665731c6d6a8f9467308308");
  const Bytes plain = HexOrDie(kTc4Plain), aad = HexOrDie(kTc4Aad), nonce = HexOrDie(kTc4Nonce);
  auto sealed = AesGcmSeal(key, nonce, aad, plain);
  ASSERT_TRUE(sealed.has_value());
  for (size_t i = 0; i < sealed->size() * 8; ++i) {
    Bytes bad = *sealed;
    bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_FALSE(AesGcmOpen(key, nonce, aad, bad).has_value()) << "ciphertext/tag bit " << i;
  }
  for (size_t i = 0; i < aad.size() * 8; ++i) {
    Bytes bad = aad;
    bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_FALSE(AesGcmOpen(key, nonce, bad, *sealed).has_value()) << "AAD bit " << i;
  }
  for (size_t i = 0; i < nonce.size() * 8; ++i) {
    Bytes bad = nonce;
    bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_FALSE(AesGcmOpen(key, bad, aad, *sealed).has_value()) << "nonce bit " << i;
  }
  // A context that refused a tag still works for the next call.
  EXPECT_TRUE(AesGcmOpen(key, nonce, aad, *sealed).has_value());
}

TEST(AesGcmTest, SizeErrors) {
  const Bytes nonce(12, 0);
  EXPECT_FALSE(AesGcmSeal(Bytes(24, 0), nonce, {}, {}).has_value()) << "AES-192 not offered";
  EXPECT_FALSE(AesGcmSeal(Bytes(15, 0), nonce, {}, {}).has_value());
  EXPECT_FALSE(AesGcmSeal(Bytes(16, 0), Bytes(8, 0), {}, {}).has_value());
  EXPECT_FALSE(AesGcmOpen(Bytes(16, 0), nonce, {}, Bytes(15, 0)).has_value()) << "no room for tag";
  EXPECT_FALSE(AesGcmOpen(Bytes(16, 0), nonce, {}, {}).has_value());
}

}  // namespace
}  // namespace ikepulse::crypto
