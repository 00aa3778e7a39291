// The IKEv2 proposal and traffic-selector choices (ikev2_proposals.h), one rule at a time.
#include "ike/ikev2_proposals.h"

#include <gtest/gtest.h>

#include "ikev2/constants.h"

namespace ikepulse::ike::v2 {
namespace {

ikev2::TrafficSelector Ts(uint32_t lo, uint32_t hi, uint8_t proto = 0) {
  ikev2::TrafficSelector t;
  t.ip_protocol = proto;
  t.start_address = SpiBytes(lo);
  t.end_address = SpiBytes(hi);
  return t;
}

constexpr uint32_t kNet10_1 = 0x0a010000;  // 10.1.0.0

TEST(Ikev2ProposalsTest, ToNetAcceptsOnlyPrefixes) {
  IpAddress net, mask;
  ASSERT_TRUE(ToNet(Range{kNet10_1, kNet10_1 + 255}, net, mask));
  EXPECT_EQ(net, IpAddress::V4(10, 1, 0, 0));
  EXPECT_EQ(mask, IpAddress::V4(255, 255, 255, 0));
  ASSERT_TRUE(ToNet(Range{0, 0xffffffffu}, net, mask));  // everything: /0
  EXPECT_EQ(mask, IpAddress::V4(0, 0, 0, 0));
  ASSERT_TRUE(ToNet(Range{kNet10_1 + 7, kNet10_1 + 7}, net, mask));  // one host: /32
  EXPECT_EQ(mask, IpAddress::V4(255, 255, 255, 255));
  EXPECT_FALSE(ToNet(Range{kNet10_1 + 5, kNet10_1 + 200}, net, mask));  // not a prefix
  EXPECT_FALSE(ToNet(Range{kNet10_1 + 128, kNet10_1 + 383}, net, mask));  // unaligned
}

TEST(Ikev2ProposalsTest, FromTsRefusesWhatIsNotAnIpv4Range) {
  EXPECT_TRUE(FromTs(Ts(kNet10_1, kNet10_1 + 255)));
  EXPECT_FALSE(FromTs(Ts(kNet10_1 + 255, kNet10_1)));  // start after end
  ikev2::TrafficSelector short_addr = Ts(kNet10_1, kNet10_1);
  short_addr.end_address.pop_back();
  EXPECT_FALSE(FromTs(short_addr));
  ikev2::TrafficSelector v6 = Ts(kNet10_1, kNet10_1);
  v6.ts_type = static_cast<uint8_t>(ikev2::TsType::kIpv6AddrRange);
  EXPECT_FALSE(FromTs(v6));
  ikev2::TrafficSelector ports = Ts(kNet10_1, kNet10_1);
  ports.start_port = 500;
  ports.end_port = 499;
  EXPECT_FALSE(FromTs(ports));
}

// The responder keeps what the peer asked for inside what it is configured for.
TEST(Ikev2ProposalsTest, NarrowTakesTheLargestIntersectionWithOurs) {
  const Range ours = FromNet(IpAddress::V4(10, 1, 0, 0), IpAddress::V4(255, 255, 255, 0), 0);
  ikev2::TsPayload wide;
  wide.selectors = {Ts(0x0a000000, 0x0affffff)};  // 10.0.0.0/8
  auto r = Narrow(wide, ours);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lo, kNet10_1);
  EXPECT_EQ(r->hi, kNet10_1 + 255);

  ikev2::TsPayload two;  // a host inside ours, and a /25 inside ours: the /25 wins
  two.selectors = {Ts(kNet10_1 + 9, kNet10_1 + 9), Ts(kNet10_1 + 128, kNet10_1 + 255)};
  r = Narrow(two, ours);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lo, kNet10_1 + 128);

  ikev2::TsPayload elsewhere;
  elsewhere.selectors = {Ts(0x0a020000, 0x0a0200ff)};  // 10.2.0.0/24
  EXPECT_FALSE(Narrow(elsewhere, ours));

  ikev2::TsPayload tcp;  // a protocol-specific offer narrows "any" to that protocol
  tcp.selectors = {Ts(kNet10_1, kNet10_1 + 255, 6)};
  r = Narrow(tcp, ours);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->proto, 6);
}

TEST(Ikev2ProposalsTest, InvertTurnsAWildcardIntoAMask) {
  EXPECT_EQ(Invert(IpAddress::V4(0, 0, 0, 255)), IpAddress::V4(255, 255, 255, 0));
  EXPECT_EQ(SpiValue(SpiBytes(0x01020304)), 0x01020304u);
}

}  // namespace
}  // namespace ikepulse::ike::v2

namespace ikepulse::ike::v2 {
namespace {

using ikev2::TransformType;

ikev2::Transform MakeTransform(TransformType type, uint16_t id, uint16_t key_bits = 0) {
  ikev2::Transform t;
  t.type = static_cast<uint8_t>(type);
  t.id = id;
  if (key_bits) t.attributes.push_back(ikev2::Attribute::KeyLength(key_bits));
  return t;
}

// ESP AES-GCM-16 (RFC 4106 / RFC 5282): ENCR_AES_GCM_16 with its key length and no INTEG
// transform in our proposal and reply; a peer's INTEG NONE is accepted, a real INTEG is not.
TEST(Ikev2EspGcmTest, ProposalAndSelection) {
  config::Config cfg;
  cfg.transform_sets["G"] = config::TransformSet{"G", config::EspCipher::kAesGcm256};
  cfg.transform_sets["C"] = config::TransformSet{"C", config::EspCipher::kAes128,
                                                 config::EspAuth::kSha1};
  config::CryptoMapEntry e;
  e.transform_sets = {"G"};
  ikev2::SaPayload ours = OurEspProposals(cfg, e, 0x11223344);
  ASSERT_EQ(ours.proposals.size(), 1u);
  const auto& tr = ours.proposals[0].transforms;
  ASSERT_EQ(tr.size(), 2u);  // ENCR, ESN
  EXPECT_EQ(tr[0].type, uint8_t(TransformType::kEncr));
  EXPECT_EQ(tr[0].id, uint16_t(ikev2::EncrId::kAesGcm16));
  EXPECT_EQ(tr[0].key_length(), 256);
  EXPECT_EQ(tr[1].type, uint8_t(TransformType::kEsn));

  // The responder (same config) takes it and replies without INTEG.
  auto c = SelectEsp(ours, cfg, e);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->algs.cipher, config::EspCipher::kAesGcm256);
  EXPECT_EQ(c->algs.auth, config::EspAuth::kNone);
  EXPECT_EQ(c->algs.EncKeyLength(), 36u);  // key + salt from the Child KEYMAT
  EXPECT_EQ(c->algs.AuthKeyLength(), 0u);
  EXPECT_EQ(c->peer_spi, 0x11223344u);
  for (const auto& t : c->reply.transforms) EXPECT_NE(t.type, uint8_t(TransformType::kInteg));
  const auto ids = EspIdsOf(cfg.transform_sets["G"]);
  ASSERT_TRUE(ids.has_value());
  c->reply.spi = SpiBytes(0x55667788);
  EXPECT_TRUE(EspMatches(c->reply, *ids, /*exact=*/true));

  // INTEG NONE offered with it: the same; a real INTEG: not this transform set.
  ikev2::SaPayload with_none = ours;
  with_none.proposals[0].transforms.push_back(MakeTransform(TransformType::kInteg, 0));
  EXPECT_TRUE(SelectEsp(with_none, cfg, e).has_value());
  ikev2::SaPayload with_sha = ours;
  with_sha.proposals[0].transforms.push_back(
      MakeTransform(TransformType::kInteg, uint16_t(ikev2::IntegId::kHmacSha1_96)));
  EXPECT_FALSE(SelectEsp(with_sha, cfg, e).has_value());
  // AES-GCM 128 offered, 256 configured: no match; AES-CBC configured: no match either.
  ikev2::SaPayload g128 = ours;
  g128.proposals[0].transforms[0] =
      MakeTransform(TransformType::kEncr, uint16_t(ikev2::EncrId::kAesGcm16), 128);
  EXPECT_FALSE(SelectEsp(g128, cfg, e).has_value());
  config::CryptoMapEntry cbc;
  cbc.transform_sets = {"C"};
  EXPECT_FALSE(SelectEsp(ours, cfg, cbc).has_value());
  // A transform set that (wrongly) carries integrity with GCM is never proposed.
  cfg.transform_sets["G"].auth = config::EspAuth::kSha1;
  EXPECT_FALSE(EspIdsOf(cfg.transform_sets["G"]).has_value());
}

// IKEv1 Quick Mode: ESP transform ID 20 (ESP_AES_GCM_16) with a Key Length attribute and no
// Authentication Algorithm attribute, both ways.
TEST(Ikev1EspGcmTest, QuickModeTransform) {
  config::Config cfg;
  cfg.transform_sets["G"] = config::TransformSet{"G", config::EspCipher::kAesGcm128};
  config::CryptoMapEntry e;
  e.transform_sets = {"G"};
  isakmp::SaPayload sa = BuildPhase2Sa(cfg, e, 0x1234, false, false);
  ASSERT_EQ(sa.proposals.size(), 1u);
  const isakmp::Transform& t = sa.proposals[0].transforms.at(0);
  EXPECT_EQ(t.id, 20);
  bool key_length = false;
  for (const auto& a : t.attributes) {
    EXPECT_NE(a.type, uint16_t(isakmp::P2Attr::kAuthenticationAlgorithm));
    if (a.type == uint16_t(isakmp::P2Attr::kKeyLength)) {
      key_length = true;
      EXPECT_EQ(a.AsInteger(), 128u);
    }
  }
  EXPECT_TRUE(key_length);
  auto parsed = ParsePhase2Proposal(sa.proposals[0]);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->cipher, config::EspCipher::kAesGcm128);
  EXPECT_EQ(parsed->auth, config::EspAuth::kNone);
  EXPECT_EQ(parsed->EncKeyLength(), 20u);  // 16-byte key + 4-byte salt from the KEYMAT
  EXPECT_EQ(parsed->TransformName(), "esp-gcm");
  auto chosen = SelectPhase2(sa, cfg, e);
  ASSERT_TRUE(chosen.has_value());
  EXPECT_EQ(chosen->algs.cipher, config::EspCipher::kAesGcm128);

  // 256 bits; no Key Length, 192 bits or an Authentication Algorithm: refused.
  auto with = [&](std::optional<uint16_t> bits, bool auth) {
    isakmp::Proposal p = sa.proposals[0];
    auto& at = p.transforms[0].attributes;
    std::erase_if(at, [](const auto& a) { return a.type == uint16_t(isakmp::P2Attr::kKeyLength); });
    if (bits) at.push_back(isakmp::Attribute::Tv(uint16_t(isakmp::P2Attr::kKeyLength), *bits));
    if (auth) at.push_back(isakmp::Attribute::Tv(uint16_t(isakmp::P2Attr::kAuthenticationAlgorithm), 2));
    return ParsePhase2Proposal(p);
  };
  ASSERT_TRUE(with(256, false).has_value());
  EXPECT_EQ(with(256, false)->cipher, config::EspCipher::kAesGcm256);
  EXPECT_EQ(with(256, false)->TransformName(), "esp-gcm 256");
  EXPECT_FALSE(with(std::nullopt, false).has_value());
  EXPECT_FALSE(with(192, false).has_value());
  EXPECT_FALSE(with(128, true).has_value());
}

}  // namespace
}  // namespace ikepulse::ike::v2
