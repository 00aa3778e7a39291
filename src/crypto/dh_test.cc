// DhKeyPair: agreement for every group, RFC 5903 §8 vectors for groups 19-21, MODP values
// checked against an independent BIGNUM computation, and rejection of bad peer values.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "crypto/crypto.h"

namespace ikepulse::crypto {
namespace {

constexpr uint16_t kAllGroups[] = {1, 2, 5, 14, 15, 16, 19, 20, 21};
constexpr uint16_t kModpGroups[] = {1, 2, 5, 14, 15, 16};

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn BnFromBytes(ByteSpan b) { return Bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr)); }
Bytes BnToBytes(const BIGNUM* b, size_t len) {
  Bytes out(len);
  EXPECT_EQ(BN_bn2binpad(b, out.data(), static_cast<int>(len)), static_cast<int>(len));
  return out;
}

// RFC 2409 §6.1 and §6.2 primes, typed from the RFC.
constexpr const char* kRfc2409Prime768 =
    "FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1"
    "29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD"
    "EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245"
    "E485B576 625E7EC6 F44C42E9 A63A3620 FFFFFFFF FFFFFFFF";
constexpr const char* kRfc2409Prime1024 =
    "FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1"
    "29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD"
    "EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245"
    "E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED"
    "EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE65381"
    "FFFFFFFF FFFFFFFF";

// The group's prime as an independent source sees it: the RFC 2409 text for groups 1 and 2,
// OpenSSL's own named-group table ("modp_1536" ... "modp_4096") for the RFC 3526 groups.
Bytes IndependentPrime(uint16_t group) {
  if (group == 1) return HexOrDie(kRfc2409Prime768);
  if (group == 2) return HexOrDie(kRfc2409Prime1024);
  const char* name = group == 5    ? "modp_1536"
                     : group == 14 ? "modp_2048"
                     : group == 15 ? "modp_3072"
                                   : "modp_4096";
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EXPECT_EQ(EVP_PKEY_paramgen_init(ctx.get()), 1);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(name), 0),
      OSSL_PARAM_construct_end()};
  EXPECT_EQ(EVP_PKEY_CTX_set_params(ctx.get(), params), 1);
  EVP_PKEY* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_paramgen(ctx.get(), &raw), 1);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(raw);
  BIGNUM* p = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_FFC_P, &p), 1);
  Bn owned(p);
  return BnToBytes(p, PublicValueLength(group));
}

// base^exp mod p, big-endian, padded to `len`.
Bytes ModExp(ByteSpan base, ByteSpan exp, ByteSpan p) {
  Bn b = BnFromBytes(base), e = BnFromBytes(exp), m = BnFromBytes(p), r(BN_new());
  std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  EXPECT_EQ(BN_mod_exp(r.get(), b.get(), e.get(), m.get(), ctx.get()), 1);
  return BnToBytes(r.get(), p.size());
}

Bytes Padded(size_t len, std::initializer_list<uint8_t> tail) {
  Bytes out(len - tail.size(), 0);
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

TEST(DhTest, SupportedGroupsAndLengths) {
  for (uint16_t g : kAllGroups) EXPECT_TRUE(IsSupportedGroup(g)) << g;
  for (uint16_t g : {0, 3, 4, 17, 18, 22, 24, 31, 65535}) {
    EXPECT_FALSE(IsSupportedGroup(static_cast<uint16_t>(g))) << g;
    EXPECT_EQ(PublicValueLength(static_cast<uint16_t>(g)), 0u);
    EXPECT_EQ(DhKeyPair::Generate(static_cast<uint16_t>(g)), nullptr);
    EXPECT_EQ(DhKeyPair::FromPrivate(static_cast<uint16_t>(g), Bytes{5}), nullptr);
  }
  EXPECT_EQ(PublicValueLength(1), 96u);
  EXPECT_EQ(PublicValueLength(2), 128u);
  EXPECT_EQ(PublicValueLength(5), 192u);
  EXPECT_EQ(PublicValueLength(14), 256u);
  EXPECT_EQ(PublicValueLength(15), 384u);
  EXPECT_EQ(PublicValueLength(16), 512u);
  EXPECT_EQ(PublicValueLength(19), 64u);
  EXPECT_EQ(PublicValueLength(20), 96u);
  EXPECT_EQ(PublicValueLength(21), 132u);
}

TEST(DhTest, TwoKeyPairsAgreeInEveryGroup) {
  for (uint16_t g : kAllGroups) {
    SCOPED_TRACE(g);
    auto a = DhKeyPair::Generate(g);
    auto b = DhKeyPair::Generate(g);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->group(), g);
    EXPECT_EQ(a->public_value().size(), PublicValueLength(g));
    EXPECT_NE(a->public_value(), b->public_value());
    auto ab = a->ComputeShared(b->public_value());
    auto ba = b->ComputeShared(a->public_value());
    ASSERT_TRUE(ab.has_value()) << ab.error().detail;
    ASSERT_TRUE(ba.has_value()) << ba.error().detail;
    EXPECT_TRUE(*ab == *ba);
    const size_t secret_len = g >= 19 ? PublicValueLength(g) / 2 : PublicValueLength(g);
    EXPECT_EQ(ab->size(), secret_len);
  }
}

struct Rfc5903Vector {
  uint16_t group;
  const char* i;
  const char* gix;
  const char* giy;
  const char* r;
  const char* grx;
  const char* gry;
  const char* girx;
};

// RFC 5903 §8.1, §8.2, §8.3.
const Rfc5903Vector kRfc5903[] = {
    {19, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
     "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
     "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
     "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
     "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
     "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
     "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"},
    {20,
     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB"
     "194",
     "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F4"
     "1AA",
     "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A"
     "81C",
     "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A744"
     "8FC",
     "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3"
     "571",
     "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E63"
     "86C",
     "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59"
     "746"},
    {21,
     "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095AA85A30FE1C2952C6771D937BA9"
     "777"
     "F5957B2639BAB072462F68C27A57382D4A52",
     "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBEE1E3BF42E00B8E380AEAE57C2D107"
     "564"
     "941885942AF5A7F4601723C4195D176CED3E",
     "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10AD8A788015AC405D7799DC75E7B7D5"
     "B6C"
     "F2261A6A7F1507438BF01BEB6CA3926F9582",
     "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C677D600B343757A3BDBF2A3163E"
     "4C2"
     "F869CCA7458AA4A4EFFC311F5CB151685EB9",
     "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A219B97C356436ADC6E95BB0352F6BE6"
     "4A6"
     "C2912D4EF2D0433CED2B6171640012D9460F",
     "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87220B6536C5C408A1D2AEBB8E86D67"
     "8AE"
     "49CB57091F4732296579AB44FCD17F0FC56A",
     "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1427E73CA4BAA240A34786859810"
     "C06"
     "B3C715A3A8CC3151F2BEE417996D19F3DDEA"},
};

Bytes Concat(const char* a, const char* b) {
  Bytes x = HexOrDie(a), y = HexOrDie(b);
  x.insert(x.end(), y.begin(), y.end());
  return x;
}

TEST(DhTest, Rfc5903VectorsReproducedExactly) {
  for (const Rfc5903Vector& v : kRfc5903) {
    SCOPED_TRACE(v.group);
    const Bytes gi = Concat(v.gix, v.giy), gr = Concat(v.grx, v.gry), gir = HexOrDie(v.girx);
    ASSERT_EQ(gi.size(), PublicValueLength(v.group));
    auto initiator = DhKeyPair::FromPrivate(v.group, HexOrDie(v.i));
    auto responder = DhKeyPair::FromPrivate(v.group, HexOrDie(v.r));
    ASSERT_NE(initiator, nullptr);
    ASSERT_NE(responder, nullptr);
    EXPECT_EQ(initiator->public_value(), gi);
    EXPECT_EQ(responder->public_value(), gr);
    auto s1 = initiator->ComputeShared(gr);
    auto s2 = responder->ComputeShared(gi);
    ASSERT_TRUE(s1.has_value()) << s1.error().detail;
    ASSERT_TRUE(s2.has_value()) << s2.error().detail;
    EXPECT_EQ(ToHex(s1->span()), ToHex(gir));
    EXPECT_EQ(ToHex(s2->span()), ToHex(gir));
  }
}

TEST(DhTest, EcpBadPeerValuesRejected) {
  for (const Rfc5903Vector& v : kRfc5903) {
    SCOPED_TRACE(v.group);
    auto initiator = DhKeyPair::FromPrivate(v.group, HexOrDie(v.i));
    ASSERT_NE(initiator, nullptr);
    const Bytes gr = Concat(v.grx, v.gry);
    const size_t len = gr.size();
    // Wrong lengths, including the SEC1 form with its 0x04 prefix.
    Bytes with_prefix = gr;
    with_prefix.insert(with_prefix.begin(), 0x04);
    for (const Bytes& bad : {Bytes(), Bytes(len - 1, 1), Bytes(len + 1, 1), with_prefix}) {
      auto r = initiator->ComputeShared(bad);
      ASSERT_FALSE(r.has_value());
      EXPECT_STREQ(r.error().detail, "Wrong ECP public value length.");
    }
    // Not on the curve: one bit of y flipped; the point at "infinity" (0, 0); x, y >= p.
    Bytes flipped = gr;
    flipped.back() ^= 1;
    for (const Bytes& bad : {flipped, Bytes(len, 0), Bytes(len, 0xff)}) {
      auto r = initiator->ComputeShared(bad);
      EXPECT_FALSE(r.has_value());
    }
    // Still works after the failures.
    EXPECT_TRUE(initiator->ComputeShared(gr).has_value());
  }
}

TEST(DhTest, EcpFromPrivateRejectsZeroAndOutOfRange) {
  for (uint16_t g : {19, 20, 21}) {
    SCOPED_TRACE(g);
    EXPECT_EQ(DhKeyPair::FromPrivate(g, Bytes(PublicValueLength(g) / 2, 0)), nullptr);
    EXPECT_EQ(DhKeyPair::FromPrivate(g, Bytes()), nullptr);
    EXPECT_EQ(DhKeyPair::FromPrivate(g, Bytes(PublicValueLength(g) / 2, 0xff)), nullptr);
    // A scalar of 1 gives the generator.
    auto one = DhKeyPair::FromPrivate(g, Bytes{1});
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->public_value().size(), PublicValueLength(g));
  }
}

TEST(DhTest, ModpPrimesMatchIndependentSources) {
  // If the library's p differs from the RFC's, g^x for x just above the prime size differs.
  for (uint16_t g : kModpGroups) {
    SCOPED_TRACE(g);
    const Bytes p = IndependentPrime(g);
    ASSERT_EQ(p.size(), PublicValueLength(g));
    const size_t bits = p.size() * 8;
    const Bytes x = {static_cast<uint8_t>((bits + 5) >> 8), static_cast<uint8_t>(bits + 5)};
    auto key = DhKeyPair::FromPrivate(g, x);
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key->public_value(), ModExp(Bytes{2}, x, p));
  }
}

TEST(DhTest, ModpSmallExponentLeftPadded) {
  // Group 2, x = 2: g^x = 4, left-padded to 128 bytes; with peer g^3 = 8, g^xy = 64.
  auto a = DhKeyPair::FromPrivate(2, Bytes{2});
  auto b = DhKeyPair::FromPrivate(2, Bytes{0, 0, 3});  // leading zeros in x are fine
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->public_value(), Padded(128, {4}));
  EXPECT_EQ(b->public_value(), Padded(128, {8}));
  auto s = a->ComputeShared(b->public_value());
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(Bytes(s->span().begin(), s->span().end()), Padded(128, {64}));
  for (uint16_t g : kModpGroups) {
    auto k = DhKeyPair::FromPrivate(g, Bytes{10});
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->public_value(), Padded(PublicValueLength(g), {0x04, 0x00}));  // 2^10 = 1024
  }
}

TEST(DhTest, ModpSharedSecretMatchesIndependentComputation) {
  for (uint16_t g : kModpGroups) {
    SCOPED_TRACE(g);
    const Bytes p = IndependentPrime(g);
    Bytes xa(32), xb(32);
    OpenSslRandom rng;
    rng.Fill(xa);
    rng.Fill(xb);
    xa[0] |= 0x80;
    xb[0] |= 0x80;
    auto a = DhKeyPair::FromPrivate(g, xa);
    auto b = DhKeyPair::FromPrivate(g, xb);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->public_value(), ModExp(Bytes{2}, xa, p));
    auto s = a->ComputeShared(b->public_value());
    ASSERT_TRUE(s.has_value()) << s.error().detail;
    EXPECT_EQ(Bytes(s->span().begin(), s->span().end()), ModExp(b->public_value(), xa, p));
    // A generated key agrees with a FromPrivate key too.
    auto c = DhKeyPair::Generate(g);
    ASSERT_NE(c, nullptr);
    auto sc = c->ComputeShared(a->public_value());
    ASSERT_TRUE(sc.has_value());
    EXPECT_EQ(Bytes(sc->span().begin(), sc->span().end()), ModExp(c->public_value(), xa, p));
  }
}

TEST(DhTest, ModpBadPeerValuesRejected) {
  for (uint16_t g : kModpGroups) {
    SCOPED_TRACE(g);
    const Bytes p = IndependentPrime(g);
    const size_t len = p.size();
    auto key = DhKeyPair::FromPrivate(g, Bytes{0x12, 0x34, 0x56});
    ASSERT_NE(key, nullptr);
    Bytes p_minus_1 = p;
    p_minus_1.back() -= 1;
    Bn p_plus_1_bn = BnFromBytes(p);
    ASSERT_EQ(BN_add_word(p_plus_1_bn.get(), 1), 1);
    const Bytes p_plus_1 = BnToBytes(p_plus_1_bn.get(), len);
    struct Bad {
      const char* what;
      Bytes value;
      const char* detail;
    };
    const Bad bads[] = {
        {"empty", Bytes(), "Wrong DH public value length."},
        {"short", Bytes(len - 1, 0x55), "Wrong DH public value length."},
        {"long", Bytes(len + 1, 0x55), "Wrong DH public value length."},
        {"zero", Bytes(len, 0), "DH public value is 0 or 1."},
        {"one", Padded(len, {1}), "DH public value is 0 or 1."},
        {"p-1", p_minus_1, "DH public value is p-1."},
        {"p", p, "DH public value is not below p."},
        {"p+1", p_plus_1, "DH public value is not below p."},
        {"all ff", Bytes(len, 0xff), "DH public value is not below p."},
    };
    for (const Bad& b : bads) {
      SCOPED_TRACE(b.what);
      auto r = key->ComputeShared(b.value);
      ASSERT_FALSE(r.has_value());
      EXPECT_STREQ(r.error().detail, b.detail);
    }
    // Two is the smallest value allowed.
    EXPECT_TRUE(key->ComputeShared(Padded(len, {2})).has_value());
  }
}

TEST(DhTest, ModpFromPrivateRejectsOutOfRange) {
  for (uint16_t g : kModpGroups) {
    SCOPED_TRACE(g);
    const Bytes p = IndependentPrime(g);
    EXPECT_EQ(DhKeyPair::FromPrivate(g, Bytes()), nullptr);
    EXPECT_EQ(DhKeyPair::FromPrivate(g, Bytes{0}), nullptr);
    EXPECT_EQ(DhKeyPair::FromPrivate(g, Bytes{1}), nullptr);
    EXPECT_EQ(DhKeyPair::FromPrivate(g, p), nullptr);
    Bytes p_minus_1 = p;
    p_minus_1.back() -= 1;
    EXPECT_EQ(DhKeyPair::FromPrivate(g, p_minus_1), nullptr);
    EXPECT_NE(DhKeyPair::FromPrivate(g, Bytes{2}), nullptr);
  }
}

TEST(DhTest, PeerFromAnotherGroupRejected) {
  auto g2 = DhKeyPair::Generate(2);
  auto g14 = DhKeyPair::Generate(14);
  auto g19 = DhKeyPair::Generate(19);
  auto g20 = DhKeyPair::Generate(20);
  ASSERT_TRUE(g2 && g14 && g19 && g20);
  EXPECT_FALSE(g2->ComputeShared(g14->public_value()).has_value());
  EXPECT_FALSE(g14->ComputeShared(g2->public_value()).has_value());
  EXPECT_FALSE(g19->ComputeShared(g20->public_value()).has_value());
  EXPECT_FALSE(g20->ComputeShared(g19->public_value()).has_value());
}

}  // namespace
}  // namespace ikepulse::crypto
