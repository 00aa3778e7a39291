// EspCryptoContext and TruncatedHmac: RFC 2202 / RFC 4231 truncation vectors, agreement with
// CbcEncrypt and Prf for every algorithm, RFC 3602 through the keyed context, key checks;
// AES-GCM (RFC 4106) through the keyed context: the GCM spec's test cases 4 and 16 with the
// 12-byte nonce split into salt | IV, tag and ciphertext tampering, sizes.
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
    case EspEncAlg::kNull:
    case EspEncAlg::kAes128Gcm16:
    case EspEncAlg::kAes256Gcm16: break;
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

// McGrew-Viega GCM test cases 4 (AES-128) and 16 (AES-256): nonce cafebabe | facedbaddecaf888
// is RFC 4106's salt | explicit IV; the key handed over is key | salt, as the KEYMAT gives it.
TEST(EspCryptoContextGcmTest, GcmSpecCases4And16AsSaltAndIv) {
  const Bytes plain = HexOrDie(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
      "49a6b525b16aedf5aa0de657ba637b39");
  const Bytes aad = HexOrDie("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const Bytes iv = HexOrDie("facedbaddecaf888");
  struct Case {
    EspEncAlg alg;
    const char* key_salt;
    const char* cipher;
    const char* tag;
  };
  const Case cases[] = {
      {EspEncAlg::kAes128Gcm16, "feffe9928665731c6d6a8f9467308308cafebabe",
       "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aa"
       "c84aa051ba30b396a0aac973d58e091",
       "5bc94fbc3221a5db94fae95ae7121a47"},
      {EspEncAlg::kAes256Gcm16,
       "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308cafebabe",
       "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
       "56828838c5f61e6393ba7a0abcc9f662",
       "76fc6ece0f4e1768cddf8853bb2d551b"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(EspEncName(c.alg));
    auto ctx = EspCryptoContext::Create(c.alg, HexOrDie(c.key_salt), EspIntegAlg::kNone, {});
    ASSERT_TRUE(ctx.has_value());
    EXPECT_TRUE((*ctx)->aead());
    EXPECT_TRUE((*ctx)->authenticated());
    EXPECT_EQ((*ctx)->iv_length(), 8u);
    EXPECT_EQ((*ctx)->icv_length(), 16u);
    EXPECT_EQ((*ctx)->alignment(), 4u);
    for (int round = 0; round < 2; ++round) {  // the keyed context is reused
      Bytes data = plain;
      Bytes tag(16);
      ASSERT_TRUE((*ctx)->Seal(aad, iv, data, tag).has_value());
      EXPECT_EQ(ToHex(data), c.cipher);
      EXPECT_EQ(ToHex(tag), c.tag);
      Bytes out(data.size());
      ASSERT_TRUE((*ctx)->Open(aad, iv, data, tag, out).has_value());
      EXPECT_EQ(out, plain);
    }
  }
}

TEST(EspCryptoContextGcmTest, TamperingFailsAndZeroesTheOutput) {
  SeededRandom rng(5);
  const Bytes key = RandomBytes(rng, 20);
  auto ctx = EspCryptoContext::Create(EspEncAlg::kAes128Gcm16, key, EspIntegAlg::kNone, {});
  ASSERT_TRUE(ctx.has_value());
  const Bytes aad = RandomBytes(rng, 8), iv = RandomBytes(rng, 8), plain = RandomBytes(rng, 48);
  Bytes data = plain, tag(16);
  ASSERT_TRUE((*ctx)->Seal(aad, iv, data, tag).has_value());
  using E = EspCryptoContext::OpenError;
  auto open = [&](ByteSpan a, ByteSpan v, ByteSpan d, ByteSpan t) {
    Bytes out(d.size(), 0xee);
    auto r = (*ctx)->Open(a, v, d, t, out);
    if (!r) {
      EXPECT_EQ(out, Bytes(d.size(), 0));  // nothing of an unverified packet is left
      return std::optional<E>(r.error());
    }
    return std::optional<E>();
  };
  EXPECT_EQ(open(aad, iv, data, tag), std::nullopt);
  for (size_t i : {size_t{0}, size_t{7}}) {
    Bytes a = aad;
    a[i] ^= 0x80;  // SPI or sequence number changed
    EXPECT_EQ(open(a, iv, data, tag), E::kIcvMismatch);
  }
  Bytes v = iv;
  v[3] ^= 1;
  EXPECT_EQ(open(aad, v, data, tag), E::kIcvMismatch);
  Bytes d = data;
  d[20] ^= 1;
  EXPECT_EQ(open(aad, iv, d, tag), E::kIcvMismatch);
  Bytes t = tag;
  t[15] ^= 1;
  EXPECT_EQ(open(aad, iv, data, t), E::kIcvMismatch);
  EXPECT_EQ(open(aad, iv, data, ByteSpan(tag).first(12)), E::kBadSize);
  EXPECT_EQ(open(aad, ByteSpan(iv).first(4), data, tag), E::kBadSize);
  // Another salt (the same AES key) is another nonce.
  Bytes other_salt = key;
  other_salt[19] ^= 1;
  auto ctx2 = EspCryptoContext::Create(EspEncAlg::kAes128Gcm16, other_salt, EspIntegAlg::kNone, {});
  ASSERT_TRUE(ctx2.has_value());
  Bytes out(data.size());
  EXPECT_FALSE((*ctx2)->Open(aad, iv, data, tag, out).has_value());
}

TEST(EspCryptoContextGcmTest, KeyChecksAndNoCbcCalls) {
  EXPECT_FALSE(EspCryptoContext::Create(EspEncAlg::kAes128Gcm16, Bytes(16), EspIntegAlg::kNone, {})
                   .has_value());  // the salt is missing
  EXPECT_FALSE(EspCryptoContext::Create(EspEncAlg::kAes256Gcm16, Bytes(32), EspIntegAlg::kNone, {})
                   .has_value());
  EXPECT_FALSE(EspCryptoContext::Create(EspEncAlg::kAes128Gcm16, Bytes(20),
                                        EspIntegAlg::kHmacSha1_96, Bytes(20))
                   .has_value());  // no integrity algorithm with a combined mode
  EXPECT_EQ(EspEncKeyLength(EspEncAlg::kAes128Gcm16), 20u);
  EXPECT_EQ(EspEncKeyLength(EspEncAlg::kAes256Gcm16), 36u);
  EXPECT_FALSE(EspIsAead(EspEncAlg::kAes128Cbc));
  auto ctx = EspCryptoContext::Create(EspEncAlg::kAes256Gcm16, Bytes(36, 3), EspIntegAlg::kNone, {});
  ASSERT_TRUE(ctx.has_value());
  Bytes data(16);
  EXPECT_FALSE((*ctx)->Encrypt(Bytes(8), data).has_value());
  EXPECT_FALSE((*ctx)->Decrypt(Bytes(8), data).has_value());
  Bytes tag(16);
  EXPECT_FALSE((*ctx)->Seal(Bytes(8), Bytes(7), data, tag).has_value());
  auto cbc = EspCryptoContext::Create(EspEncAlg::kAes128Cbc, Bytes(16), EspIntegAlg::kNone, {});
  ASSERT_TRUE(cbc.has_value());
  EXPECT_FALSE((*cbc)->aead());
  EXPECT_FALSE((*cbc)->authenticated());
  EXPECT_FALSE((*cbc)->Seal(Bytes(8), Bytes(8), data, tag).has_value());
}

}  // namespace
}  // namespace ikepulse::crypto
