// Strict Quick Mode and SPI ownership.
// - The initiator's check of QM2 (CheckQm2) against what its QM1 proposed: lifetimes, PFS,
//   proxy IDs, SPI; the responder's refusal of zero lifetimes (SelectPhase2).
// - Our inbound SPIs are ours and unique; the peers' outbound SPIs are per SA: two peers that
//   choose the same SPI for their SAs with us get two working, independent IPsec SAs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ike/algorithms.h"
#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::CheckQm2;
using isakmp::Attribute;

constexpr uint16_t kLifeType = 1, kLifeDuration = 2;  // IPsec DOI SA attributes

isakmp::IdPayload Id(const char* net) {
  isakmp::IdPayload id;
  id.id_type = 4;  // IPv4 subnet
  const IpAddress addr = Ip(net), mask = Ip("255.255.255.0");
  ByteSpan a = addr.span(), m = mask.span();
  id.data.assign(a.begin(), a.end());
  id.data.insert(id.data.end(), m.begin(), m.end());
  return id;
}

class CheckQm2Test : public ::testing::Test {
 protected:
  CheckQm2Test() {
    SiteSpec s = SiteA();
    s.ipsec_lifetime_s = 3600;
    cfg = MakeConfig(s);
    cfg.crypto_maps.Mut(0).lifetime_kb = 100000;
    idci = Id("198.51.100.0");
    idcr = Id("203.0.113.0");
  }
  const config::CryptoMapEntry& entry() const { return cfg.crypto_maps[0]; }
  // The QM2 SA an honest responder sends: our proposal back, its SPI in it.
  isakmp::SaPayload Qm2() const {
    isakmp::SaPayload sa = ike::BuildPhase2Sa(cfg, entry(), 0x1234, false, false);
    sa.proposals.resize(1);
    sa.proposals[0].spi = {0xc0, 0xff, 0xee, 0x01};
    return sa;
  }
  // Sets lifetime `type` (1 s, 2 kB) to `v` in `sa` (replacing ours).
  static void SetLife(isakmp::SaPayload& sa, uint16_t type, uint64_t v) {
    auto& at = sa.proposals[0].transforms[0].attributes;
    for (size_t i = 0; i + 1 < at.size(); ++i)
      if (at[i].type == kLifeType && at[i].AsInteger() == type && at[i + 1].type == kLifeDuration)
        at[i + 1] = Attribute::Integer(kLifeDuration, v);
  }
  std::string Check(const isakmp::SaPayload& sa, bool ke = false, bool have_dh = false) {
    std::vector<const isakmp::IdPayload*> ids{&idci, &idcr};
    return CheckQm2(cfg, &entry(), sa, ke, have_dh, ids, idci, idcr, algs);
  }
  config::Config cfg;
  isakmp::IdPayload idci, idcr;
  ike::Phase2Algs algs;
};

TEST_F(CheckQm2Test, OurOwnProposalBackIsAccepted) {
  EXPECT_EQ(Check(Qm2()), "");
  EXPECT_EQ(algs.lifetime_s, 3600u);
  EXPECT_EQ(algs.lifetime_kb, 100000u);
}

TEST_F(CheckQm2Test, ShorterLifetimesAreAcceptedAndUsed) {
  auto sa = Qm2();
  SetLife(sa, 1, 600);
  SetLife(sa, 2, 5000);
  EXPECT_EQ(Check(sa), "");
  EXPECT_EQ(algs.lifetime_s, 600u);
  EXPECT_EQ(algs.lifetime_kb, 5000u);
}

TEST_F(CheckQm2Test, AbsentLifetimesMeanOurs) {
  auto sa = Qm2();
  sa.proposals[0].transforms[0].attributes.clear();  // also no auth: ESP-AES without HMAC
  cfg.transform_sets["Trans1"].auth = config::EspAuth::kNone;
  EXPECT_EQ(Check(sa), "");
  EXPECT_EQ(algs.lifetime_s, 3600u);
  EXPECT_EQ(algs.lifetime_kb, 100000u);
}

TEST_F(CheckQm2Test, LongerOrZeroLifetimesAreRefused) {
  for (auto [type, v] : std::vector<std::pair<uint16_t, uint64_t>>{{1, 3601},
                                                                   {1, 0},
                                                                   {1, 0xffffffffffull},
                                                                   {2, 100001},
                                                                   {2, 0},
                                                                   {2, 0x40000000000000ull},
                                                                   {2, UINT64_MAX}}) {
    auto sa = Qm2();
    SetLife(sa, type, v);
    EXPECT_NE(Check(sa), "") << "type " << type << " value " << v;
  }
}

TEST_F(CheckQm2Test, PfsMustBeTheGroupWeAskedFor) {
  cfg.crypto_maps.Mut(0).pfs_group = 14;
  auto sa = Qm2();
  EXPECT_EQ(Check(sa, /*ke=*/true, /*have_dh=*/true), "");
  EXPECT_EQ(algs.pfs_group, std::optional<uint16_t>(14));
  EXPECT_EQ(Check(sa, /*ke=*/false, true), "PFS without KE");
  // Another group.
  for (auto& a : sa.proposals[0].transforms[0].attributes)
    if (a.type == 3) a = Attribute::Tv(3, 2);
  EXPECT_EQ(Check(sa, true, true), "PFS group");
  // No group at all when we asked for one.
  auto& at = sa.proposals[0].transforms[0].attributes;
  at.erase(std::remove_if(at.begin(), at.end(), [](const Attribute& a) { return a.type == 3; }),
           at.end());
  EXPECT_EQ(Check(sa, true, true), "PFS group");
}

TEST_F(CheckQm2Test, PfsWeDidNotAskForIsRefused) {
  auto sa = Qm2();
  sa.proposals[0].transforms[0].attributes.push_back(Attribute::Tv(3, 14));
  EXPECT_EQ(Check(sa, true, false), "PFS group");
  EXPECT_EQ(Check(Qm2(), /*ke=*/true, false), "KE without PFS");
}

TEST_F(CheckQm2Test, ProxyIdsMustBeAsSent) {
  isakmp::IdPayload wider = Id("203.0.0.0");
  wider.data[6] = 0;  // 255.255.0.0
  isakmp::IdPayload proto = idcr;
  proto.protocol = 6;
  for (const auto* other : {&wider, &proto, &idci}) {
    std::vector<const isakmp::IdPayload*> ids{&idci, other};
    EXPECT_EQ(CheckQm2(cfg, &entry(), Qm2(), false, false, ids, idci, idcr, algs),
              "proxy identities")
        << ::testing::PrintToString(other->data) << " proto " << int(other->protocol);
  }
  std::vector<const isakmp::IdPayload*> none;
  EXPECT_EQ(CheckQm2(cfg, &entry(), Qm2(), false, false, none, idci, idcr, algs),
            "proxy identities");
}

TEST_F(CheckQm2Test, SpiTransformAndShape) {
  auto sa = Qm2();
  sa.proposals[0].spi = {0, 0, 0, 255};
  EXPECT_EQ(Check(sa), "reserved SPI");
  sa = Qm2();
  sa.proposals.push_back(sa.proposals[0]);
  EXPECT_EQ(Check(sa), "not exactly one proposal");
  sa = Qm2();
  sa.proposals[0].transforms[0].id = 3;  // 3DES: not offered
  EXPECT_EQ(Check(sa), "transform not offered");
  EXPECT_EQ(CheckQm2(cfg, nullptr, Qm2(), false, false, {}, idci, idcr, algs),
            "crypto map entry gone");
}

TEST(SelectPhase2, ResponderRefusesZeroLifetimesAndTakesTheShorter) {
  config::Config cfg = MakeConfig(SiteB());
  const auto& e = cfg.crypto_maps[0];
  config::Config peer_cfg = MakeConfig(SiteA());
  auto offer = [&](std::optional<uint32_t> s, std::optional<uint64_t> kb) {
    peer_cfg.crypto_maps.Mut(0).lifetime_s = s;
    peer_cfg.crypto_maps.Mut(0).lifetime_kb = kb;
    return ike::BuildPhase2Sa(peer_cfg, peer_cfg.crypto_maps[0], 0x1000, false, false);
  };
  EXPECT_FALSE(ike::SelectPhase2(offer(0, std::nullopt), cfg, e));
  EXPECT_FALSE(ike::SelectPhase2(offer(std::nullopt, 0), cfg, e));
  auto c = ike::SelectPhase2(offer(120, UINT64_MAX), cfg, e);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->algs.lifetime_s, 120u);
  EXPECT_EQ(c->algs.lifetime_kb, config::kDefaultIpsecLifetimeKb);
}

// A protects 198.51.100.0/24 towards B (203.0.113.0/24, entry 1) and C (203.0.114.0/24,
// entry 2). B and C run the same random seed, so as responders they choose the same inbound
// SPI: A's outbound SPI is the same on both IPsec SAs.
class SamePeerSpi : public ::testing::Test {
 protected:
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  sim::SimNode c{sim, "C", {Ip("192.0.2.3")}, 22};

  void SetUp() override {
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.3"), Millis(5));
    config::Config ca = MakeConfig(SiteA());
    SiteSpec sc = SiteB();
    sc.self = Ip("192.0.2.3");
    sc.local_lan = "203.0.114.0";
    config::Config cc = MakeConfig(sc);
    config::AccessList acl = ca.acls["101"];
    acl.name = "102";
    acl.entries[0].dst = Ip("203.0.114.0");
    ca.acls["102"] = acl;
    config::CryptoMapEntry e2 = ca.crypto_maps[0];
    e2.seq = 2;
    e2.match_address = "102";
    e2.peers[0].host = "192.0.2.3";
    e2.peers[0].address = Ip("192.0.2.3");
    ca.crypto_maps.push_back(e2);
    a.SetConfig(ca);
    b.SetConfig(MakeConfig(SiteB()));
    c.SetConfig(cc);
    a.Initiate("green", 1);
    a.Initiate("green", 2);
    ASSERT_TRUE(sim.RunUntil([&] { return a.ChildSas().size() == 2 && HasChild(b) && HasChild(c); },
                             sim.now() + Seconds(5)));
  }
  ike::ChildSaSnapshot ToPeer(const char* peer) {
    for (const auto& ch : a.ChildSas())
      if (ch.map_seq == (std::string(peer) == "B" ? 1u : 2u)) return ch;
    ADD_FAILURE() << "no SA with " << peer;
    return {};
  }
};

TEST_F(SamePeerSpi, BothSasWorkAndStayIndependent) {
  auto to_b = ToPeer("B"), to_c = ToPeer("C");
  ASSERT_EQ(to_b.spi_out, to_c.spi_out) << "B and C chose different SPIs: the test is moot";
  EXPECT_NE(to_b.spi_in, to_c.spi_in);
  // Traffic is counted on the right SA, both ways.
  a.OnChildTraffic(to_b.spi_in, /*inbound=*/false, 100);
  a.OnChildTraffic(to_c.spi_in, /*inbound=*/false, 300);
  a.OnChildTraffic(to_c.spi_in, /*inbound=*/true, 50);
  EXPECT_EQ(ToPeer("B").bytes_out, 100u);
  EXPECT_EQ(ToPeer("C").bytes_out, 300u);
  EXPECT_EQ(ToPeer("B").bytes_in, 0u);
  EXPECT_EQ(ToPeer("C").bytes_in, 50u);
  // Deleting the SA with B (clear crypto sa peer B) leaves the SA with C whole.
  ike::ClearFilter f;
  f.remote = Ip("192.0.2.2");
  f.ipsec_only = true;
  a.Clear(f);
  sim.RunFor(Seconds(1));
  ASSERT_THAT(a.ChildSas(), ::testing::SizeIs(1));
  EXPECT_EQ(a.ChildSas()[0].spi_in, to_c.spi_in);
  EXPECT_THAT(c.ChildSas(), ::testing::SizeIs(1));
  a.OnChildTraffic(to_c.spi_in, false, 7);
  EXPECT_EQ(ToPeer("C").bytes_out, 307u);
  const std::vector<uint32_t> spis{to_c.spi_in};
  EXPECT_THAT(a.node().ChildSas(sim.now(), spis), ::testing::SizeIs(1));
}

}  // namespace
}  // namespace ikepulse::scenario
