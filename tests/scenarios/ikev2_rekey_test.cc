// IKEv2 CREATE_CHILD_SA through ike::Node in virtual time (DESIGN.md §6.6): Child SA and IKE
// SA rekeys at the exact soft-lifetime instants, with matching keys on both nodes and the old
// SAs gone; the core's SPI index following an IKE rekey (the old SA still takes its Delete);
// liveness after a rekey (peer killed right after: dead at exactly T0+20); replayed rekey
// datagrams changing nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using ::testing::IsEmpty;
using ::testing::SizeIs;

bool SameKeys(const ike::ChildSaSnapshot& x, const ike::ChildSaSnapshot& y) {
  return x.spi_in == y.spi_out && x.spi_out == y.spi_in && !x.enc_key_in.empty() &&
         x.enc_key_in == y.enc_key_out && x.auth_key_in == y.auth_key_out &&
         x.enc_key_out == y.enc_key_in && x.auth_key_out == y.auth_key_in;
}

constexpr uint8_t kCreateChildSa = 36;

// The IKEv2 exchange type and response flag of a datagram (0 for anything else).
uint8_t ExchangeOf(const ike::Datagram& d, bool* response = nullptr) {
  size_t off = d.remote.port == 4500 || d.local.port == 4500 ? 4 : 0;
  if (d.data.size() < off + 28 || (d.data[off + 17] >> 4) != 2) return 0;
  if (response) *response = (d.data[off + 19] & 0x20) != 0;
  return d.data[off + 18];
}

// A (192.0.2.1) initiates `green 1` to B; `child_s` and `ike_s` are both sides' lifetimes.
struct Pair {
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  sim::Link& link = sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));

  Pair(uint32_t child_s, uint32_t ike_s, std::optional<config::KeepaliveConfig> dpd_a = {},
       std::optional<uint16_t> pfs = {}) {
    for (auto* n : {&a, &b}) {
      SiteSpec s = n == &a ? SiteA() : SiteB();
      s.ipsec_lifetime_s = child_s;
      s.pfs = pfs;
      config::Config c = MakeConfig(s);
      AddFlex(c, s.peers, s.psk, n == &a ? dpd_a : std::nullopt);
      c.ikev2_profiles["FLEX"].lifetime_s = ike_s;
      n->SetConfig(c);
    }
  }
  void Up() {
    a.Initiate("green", 1);
    ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, sim.now() + Seconds(5)));
  }
  // CREATE_CHILD_SA requests A sent, with their instants.
  std::vector<sim::PacketRecord> Requests(const IpAddress& from) const {
    std::vector<sim::PacketRecord> v;
    for (const auto& r : sim.packets()) {
      bool resp = false;
      if (r.fate == sim::PacketFate::kSent && r.datagram.local.ip == from &&
          ExchangeOf(r.datagram, &resp) == kCreateChildSa && !resp)
        v.push_back(r);
    }
    return v;
  }
  void ExpectOneMirroredPair() {
    auto ca = a.ChildSasWithKeys();
    auto cb = b.ChildSasWithKeys();
    ASSERT_THAT(ca, SizeIs(1));
    ASSERT_THAT(cb, SizeIs(1));
    EXPECT_TRUE(SameKeys(ca[0], cb[0]));
  }
};

TEST(Ikev2Rekey, ChildSaRekeyedAtTheSoftLifetimeWithTheOldPairDeleted) {
  Pair p(/*child_s=*/300, /*ike_s=*/86400, {}, /*pfs=*/14);
  p.Up();
  const TimePoint t0 = OfKind(p.a.events(), EventKind::kChildSaUp).at(0).at;
  const uint32_t old_in = p.a.ChildSas()[0].spi_in;
  p.sim.RunUntil(t0 + Seconds(280));
  auto reqs = p.Requests(Ip("192.0.2.1"));
  ASSERT_THAT(reqs, SizeIs(1));
  EXPECT_EQ(reqs[0].at, t0 + Seconds(270));  // 300 s - ipsec_rekey_margin (30 s)
  p.ExpectOneMirroredPair();
  EXPECT_NE(p.a.ChildSas()[0].spi_in, old_in);
  // A's new pair came up before the old one went.
  auto up = OfKind(p.a.events(), EventKind::kChildSaUp);
  auto down = OfKind(p.a.events(), EventKind::kChildSaDown);
  ASSERT_THAT(up, SizeIs(2));
  ASSERT_THAT(down, SizeIs(1));
  EXPECT_EQ(down[0].value, old_in);
  EXPECT_LT(up[1].at, down[0].at);
  EXPECT_THAT(OfKind(p.b.events(), EventKind::kChildSaDown), SizeIs(1));
  EXPECT_EQ(p.a.ike_sa_count(), 1u);
  EXPECT_EQ(p.b.ike_sa_count(), 1u);
  // No tunnel DOWN/UP logs: the tunnel stayed up.
  EXPECT_THAT(OfKind(p.a.events(), EventKind::kLog), SizeIs(1));
  EXPECT_EQ(p.a.counters().dropped, 0u);
  EXPECT_EQ(p.b.counters().dropped, 0u);
}

TEST(Ikev2Rekey, IkeSaRekeyedAtTheSoftLifetimeThenLivenessHoldsAtTPlus20) {
  Pair p(/*child_s=*/3600, /*ike_s=*/600, Keepalive(10, 2, true));
  p.Up();
  const TimePoint t0 = OfKind(p.a.events(), EventKind::kChildSaUp).at(0).at;
  const auto before_a = p.a.node().Ikev2Sas(p.sim.now());
  ASSERT_THAT(before_a, SizeIs(1));
  p.sim.RunUntil(t0 + Seconds(545));
  auto reqs = p.Requests(Ip("192.0.2.1"));
  ASSERT_FALSE(reqs.empty());
  // 600 s - isakmp_rekey_margin (60 s); DPD probes are INFORMATIONAL, not counted here.
  EXPECT_EQ(reqs[0].at, t0 + Seconds(540));
  auto sa = p.a.node().Ikev2Sas(p.sim.now());
  auto sb = p.b.node().Ikev2Sas(p.sim.now());
  ASSERT_THAT(sa, SizeIs(1));
  ASSERT_THAT(sb, SizeIs(1));
  EXPECT_NE(sa[0].spi_local, before_a[0].spi_local);
  EXPECT_NE(sa[0].spi_remote, before_a[0].spi_remote);
  EXPECT_EQ(sa[0].spi_local, sb[0].spi_remote);
  EXPECT_EQ(sa[0].spi_remote, sb[0].spi_local);
  EXPECT_TRUE(sa[0].initiator);
  EXPECT_EQ(sa[0].active_time_s, 4);  // since the rekey response (540.01 s): 4.99 s
  p.ExpectOneMirroredPair();  // the Child SA moved, untouched
  EXPECT_THAT(OfKind(p.a.events(), EventKind::kChildSaDown), IsEmpty());
  EXPECT_EQ(p.a.counters().dropped, 0u);
  EXPECT_EQ(p.b.counters().dropped, 0u);
  // B is killed right after the rekey: T0' = the last message A heard from B.
  TimePoint last_heard{};
  for (const auto& r : p.sim.packets())
    if (r.fate == sim::PacketFate::kDelivered && r.datagram.local.ip == Ip("192.0.2.2"))
      last_heard = std::max(last_heard, r.at);
  p.b.Kill();
  p.sim.RunUntil(last_heard + Seconds(25));
  auto dead = OfKind(p.a.events(), EventKind::kPeerDead);
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].at, last_heard + Seconds(20));
}

TEST(Ikev2Rekey, TheOldIkeSaTakesItsDeleteAndReplayedRekeyDatagramsChangeNothing) {
  Pair p(/*child_s=*/3600, /*ike_s=*/600);
  p.Up();
  const TimePoint t0 = OfKind(p.a.events(), EventKind::kChildSaUp).at(0).at;
  p.sim.RunUntil(t0 + Seconds(600));
  // Everything either side sent around the rekey, replayed to the other later.
  std::vector<std::pair<ike::Datagram, sim::HostId>> recorded;
  for (const auto& r : p.sim.packets())
    if (r.fate == sim::PacketFate::kDelivered && r.at >= t0 + Seconds(540))
      recorded.emplace_back(r.datagram, r.datagram.local.ip == Ip("192.0.2.1") ? p.a.id()
                                                                              : p.b.id());
  ASSERT_GE(recorded.size(), 4u);  // rekey request, response, Delete of the old SA, its answer
  const auto sa = p.a.node().Ikev2Sas(p.sim.now());
  const auto ca = p.a.ChildSasWithKeys();
  const uint64_t drops_a = p.a.counters().dropped, drops_b = p.b.counters().dropped;
  for (const auto& [d, from] : recorded) p.sim.Inject(d, from);
  p.sim.RunFor(Seconds(2));
  auto sa2 = p.a.node().Ikev2Sas(p.sim.now());
  ASSERT_THAT(sa2, SizeIs(1));
  EXPECT_EQ(sa2[0].spi_local, sa[0].spi_local);
  EXPECT_EQ(sa2[0].spi_remote, sa[0].spi_remote);
  EXPECT_EQ(p.a.ChildSasWithKeys()[0].spi_in, ca[0].spi_in);
  EXPECT_EQ(p.a.counters().dropped + p.b.counters().dropped - drops_a - drops_b,
            recorded.size());
  EXPECT_THAT(OfKind(p.a.events(), EventKind::kIkeSaDown), IsEmpty());
  p.ExpectOneMirroredPair();
}

TEST(Ikev2Rekey, ChildAndIkeRekeysRepeatForHours) {
  Pair p(/*child_s=*/300, /*ike_s=*/900, Keepalive(10, 2, true));
  p.Up();
  const TimePoint t0 = OfKind(p.a.events(), EventKind::kChildSaUp).at(0).at;
  p.sim.RunUntil(t0 + Seconds(3 * 3600));
  p.ExpectOneMirroredPair();
  EXPECT_EQ(p.a.ike_sa_count(), 1u);
  EXPECT_EQ(p.b.ike_sa_count(), 1u);
  EXPECT_THAT(OfKind(p.a.events(), EventKind::kPeerDead), IsEmpty());
  EXPECT_THAT(OfKind(p.a.events(), EventKind::kIkeSaDown), IsEmpty());
  // A new pair's lifetime starts when the rekey response arrives (10 ms round trip), so the
  // Child SA rekeys come every 270.01 s: 39 of them in 3 h.
  auto ups = OfKind(p.a.events(), EventKind::kChildSaUp);
  ASSERT_THAT(ups, SizeIs(1 + 39));
  for (size_t k = 1; k < ups.size(); ++k)
    EXPECT_EQ(ups[k].at - ups[k - 1].at, Seconds(270) + Millis(10)) << k;
  // CREATE_CHILD_SA requests from A: those 39 and 12 IKE SA rekeys (every 840.01 s).
  EXPECT_THAT(p.Requests(Ip("192.0.2.1")), SizeIs(39 + 12));
  EXPECT_THAT(p.Requests(Ip("192.0.2.2")), IsEmpty());
  EXPECT_EQ(p.a.counters().dropped, 0u);
  EXPECT_EQ(p.b.counters().dropped, 0u);
}

}  // namespace
}  // namespace ikepulse::scenario
