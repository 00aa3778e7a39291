// EspCryptoContext and TruncatedHmac: RFC 2202 / RFC 4231 truncation vectors, agreement with
// CbcEncrypt and Prf for every algorithm, RFC 3602 through the keyed context, key checks.
#include "crypto/esp_crypto.h"

#include <gtest/gtest.h>

#include <string>

#include "common/random.h"

namespace ikepulse::crypto {
namespace {

Bytes Repeat(uint8_t b, size_t n) { return Bytes(n, b); }

TEST(TruncatedHmacTest, Rfc2202And4231TruncationCases) {
  const std::string data = "Test With Truncation";
  // RFC 2202 test case 5 (digest-96).
  EXPECT_EQ(ToHex(TruncatedHmac(HashAlg::kMd5, Repeat(0x0c, 16), AsSpan(data), 12)),
            "56461ef2342edc00f9bab995");
  EXPECT_EQ(ToHex(TruncatedHmac(HashAlg::kSha1, Repeat(0x0c, 20), AsSpan(data), 12)),
            "4c1a03424b55e07fe7f27be1");
  // RFC 4231 test case 5 (truncated to 128 bits).
  EXPECT_EQ(ToHex(TruncatedHmac(HashAlg::kSha256, Repeat(0x0c, 20), AsSpan(data), 16)),
            "a3b6167473100ee06e0c796c2955552b");
  EXPECT_EQ(ToHex(TruncatedHmac(HashAlg::kSha384, Repeat(0x0c, 20), AsSpan(data), 16)),
            "3abf34c3503b2a23a46efc619baef897");
  EXPECT_EQ(ToHex(TruncatedHmac(HashAlg::kSha512, Repeat(0x0c, 20), AsSpan(data), 16)),
            "415fad6271580a531d4179bc891d87a6");
}

TEST(ConstantTimeEqualTest, SizesAndContent) {
  const Bytes a = {1, 2, 3};
  const Bytes b = {1, 2, 4};
  EXPECT_TRUE(ConstantTimeEqual(a, a));
  EXPECT_FALSE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(a, ByteSpan(a).first(2)));
  EXPECT_TRUE(ConstantTimeEqual(ByteSpan(), ByteSpan()));
}

constexpr EspEncAlg kEncs[] = {EspEncAlg::kNull, EspEncAlg::kAes128Cbc, EspEncAlg::kAes192Cbc,
                               EspEncAlg::kAes256Cbc, EspEncAlg::k3DesCbc};
constexpr EspIntegAlg kIntegs[] = {EspIntegAlg::kNone, EspIntegAlg::kHmacMd5_96,
                                   EspIntegAlg::kHmacSha1_96, EspIntegAlg::kHmacSha256_128,
                                   EspIntegAlg::kHmacSha384_192, EspIntegAlg::kHmacSha512_256};

Bytes RandomBytes(Random& rng, size_t n) {
  Bytes b(n);
  rng.Fill(b);
  return b;
}

std::optional<CipherAlg> ToCipherAlg(EspEncAlg e) {
  switch (e) {
    case EspEncAlg::kAes128Cbc: return CipherAlg::kAes128Cbc;
    case EspEncAlg::kAes192Cbc: return CipherAlg::kAes192Cbc;
    case EspEncAlg::kAes256Cbc: return CipherAlg::kAes256Cbc;
    case EspEncAlg::k3DesCbc: return CipherAlg::k3DesCbc;
    case EspEncAlg::kNull: break;
  }
  return std::nullopt;
}

HashAlg ToHash(EspIntegAlg i) {
  switch (i) {
    case EspIntegAlg::kHmacMd5_96: return HashAlg::kMd5;
    case EspIntegAlg::kHmacSha1_96: return HashAlg::kSha1;
    case EspIntegAlg::kHmacSha256_128: return HashAlg::kSha256;
    case EspIntegAlg::kHmacSha384_192: return HashAlg::kSha384;
    default: return HashAlg::kSha512;
  }
}

TEST(EspCryptoContextTest, CipherMatchesCbcEncryptForEveryAlgorithm) {
  SeededRandom rng(7);
  for (EspEncAlg e : kEncs) {
    SCOPED_TRACE(EspEncName(e));
    const Bytes key = RandomBytes(rng, EspEncKeyLength(e));
    auto ctx = EspCryptoContext::Create(e, key, EspIntegAlg::kNone, {});
    ASSERT_TRUE(ctx.has_value());
    // Several packets through the same keyed context: each must equal a one-shot CBC.
    for (int round = 0; round < 3; ++round) {
      const Bytes iv = RandomBytes(rng, EspIvLength(e));
      const Bytes plain = RandomBytes(rng, EspAlignment(e) * (round + 1) * 3);
      Bytes buf = plain;
      ASSERT_TRUE((*ctx)->Encrypt(iv, buf).has_value());
      if (auto c = ToCipherAlg(e)) {
        auto expected = CbcEncrypt(*c, key, iv, plain);
        ASSERT_TRUE(expected.has_value());
        EXPECT_EQ(buf, *expected);
      } else {
        EXPECT_EQ(buf, plain);  // NULL encryption
      }
      ASSERT_TRUE((*ctx)->Decrypt(iv, buf).has_value());
      EXPECT_EQ(buf, plain);
    }
  }
}

TEST(EspCryptoContextTest, Rfc3602Case2ThroughKeyedContext) {
  auto ctx = EspCryptoContext::Create(EspEncAlg::kAes128Cbc,
                                      HexOrDie("c286696d887c9aa0611bbb3e2025a45a"),
                                      EspIntegAlg::kNone, {});
  ASSERT_TRUE(ctx.has_value());
  Bytes data = HexOrDie("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  ASSERT_TRUE((*ctx)->Encrypt(HexOrDie("562e17996d093d28ddb3ba695a2e6f58"), data).has_value());
  EXPECT_EQ(ToHex(data), "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1");
}

TEST(EspCryptoContextTest, IcvMatchesTruncatedHmacForEveryAlgorithm) {
  SeededRandom rng(11);
  for (EspIntegAlg i : kIntegs) {
    SCOPED_TRACE(EspIntegName(i));
    const Bytes key = RandomBytes(rng, EspIntegKeyLength(i));
    auto ctx = EspCryptoContext::Create(EspEncAlg::kNull, {}, i, key);
    ASSERT_TRUE(ctx.has_value());
    for (int round = 0; round < 3; ++round) {  // the keyed MAC context is reused
      const Bytes a = RandomBytes(rng, 8);
      const Bytes b = RandomBytes(rng, 37 + round);
      Bytes icv((*ctx)->icv_length());
      (*ctx)->ComputeIcv({a, b}, icv);
      if (i == EspIntegAlg::kNone) {
        EXPECT_TRUE(icv.empty());
        EXPECT_TRUE((*ctx)->VerifyIcv({a, b}, icv));
        continue;
      }
      Bytes joined = a;
      joined.insert(joined.end(), b.begin(), b.end());
      EXPECT_EQ(icv, TruncatedHmac(ToHash(i), key, joined, EspIcvLength(i)));
      EXPECT_TRUE((*ctx)->VerifyIcv({a, b}, icv));
      Bytes bad = icv;
      bad.back() ^= 1;
      EXPECT_FALSE((*ctx)->VerifyIcv({a, b}, bad));
      EXPECT_FALSE((*ctx)->VerifyIcv({a, b}, ByteSpan(icv).first(icv.size() - 1)));
    }
  }
}

TEST(EspCryptoContextTest, RejectsWrongKeyLengthsAndSizes) {
  EXPECT_FALSE(EspCryptoContext::Create(EspEncAlg::kAes128Cbc, Bytes(15), EspIntegAlg::kNone, {})
                   .has_value());
  EXPECT_FALSE(EspCryptoContext::Create(EspEncAlg::kAes256Cbc, Bytes(32),
                                        EspIntegAlg::kHmacSha1_96, Bytes(16))
                   .has_value());
  EXPECT_FALSE(EspCryptoContext::Create(EspEncAlg::kNull, Bytes(1), EspIntegAlg::kNone, {})
                   .has_value());
  auto ctx = EspCryptoContext::Create(EspEncAlg::k3DesCbc, Bytes(24, 1), EspIntegAlg::kNone, {});
  ASSERT_TRUE(ctx.has_value());
  Bytes data(12);
  EXPECT_FALSE((*ctx)->Encrypt(Bytes(8), data).has_value());   // not a multiple of 8
  Bytes ok(16);
  EXPECT_FALSE((*ctx)->Decrypt(Bytes(16), ok).has_value());    // wrong IV length
  EXPECT_TRUE((*ctx)->Decrypt(Bytes(8), ok).has_value());
}

}  // namespace
}  // namespace ikepulse::crypto
