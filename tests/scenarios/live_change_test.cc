// Live configuration changes (issue "IOS shell" item 9), each rule pinned:
// - a keepalive change applies to established SAs from their next interval;
// - removing a crypto map entry tears down its IPsec SAs (Delete sent); removing a peer from
//   the entry's list tears down the SAs with that peer (failover_test.cc);
// - a pre-shared key change applies to new negotiations only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using ::testing::ElementsAre;

struct Live {
  sim::Simulator sim{9};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 31};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 32};
  SiteSpec sa, sb;
  TimePoint t0;

  Live() {
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
    sa.self = Ip("192.0.2.1");
    sa.peers = {Ip("192.0.2.2")};
    sa.keepalive = Keepalive(10, 2, true);
    sa.keep_up = true;
    sb.self = Ip("192.0.2.2");
    sb.peers = {Ip("192.0.2.1")};
    sb.local_lan = "203.0.113.0";
    sb.remote_lan = "198.51.100.0";
    b.SetConfig(MakeConfig(sb));
    a.SetConfig(MakeConfig(sa));
    EXPECT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, sim.now() + Seconds(5)));
    t0 = OfKind(a.events(), EventKind::kChildSaUp).front().at;
  }
  std::vector<Duration> Sent() const {
    std::vector<Duration> out;
    for (const auto& e : OfKind(a.events(), EventKind::kDpdSent)) out.push_back(e.at - t0);
    return out;
  }
};

TEST(LiveChange, KeepaliveChangeAppliesFromTheNextInterval) {
  Live l;
  l.sim.RunUntil(l.t0 + Seconds(5));
  l.sa.keepalive = Keepalive(20, 2, true);
  l.a.SetConfig(MakeConfig(l.sa));
  l.sim.RunUntil(l.t0 + Seconds(55));
  // The running interval keeps its 10 s; the next ones are 20 s (after each 10 ms ACK).
  EXPECT_THAT(l.Sent(), ElementsAre(Seconds(10), Seconds(30) + Millis(10), Seconds(50) + Millis(20)));
  // The SA itself was not touched.
  EXPECT_EQ(OfKind(l.a.events(), EventKind::kIkeSaUp).size(), 1u);
}

TEST(LiveChange, NoKeepaliveStopsProbingAtOnce) {
  Live l;
  l.sim.RunUntil(l.t0 + Seconds(5));
  l.sa.keepalive = config::KeepaliveConfig{};  // `no crypto isakmp keepalive`
  l.a.SetConfig(MakeConfig(l.sa));
  l.sim.RunFor(Seconds(60));
  EXPECT_TRUE(l.Sent().empty());
}

TEST(LiveChange, RemovingTheCryptoMapEntryTearsDownItsIpsecSas) {
  Live l;
  config::Config c = MakeConfig(l.sa);
  c.crypto_maps.clear();
  l.a.SetConfig(c);
  EXPECT_TRUE(l.a.ChildSas().empty());
  // B received the Delete for the IPsec SAs.
  ASSERT_TRUE(l.sim.RunUntil([&] { return l.b.ChildSas().empty(); }, l.sim.now() + Seconds(1)));
  EXPECT_EQ(OfKind(l.b.events(), EventKind::kChildSaDown).size(), 1u);
}

TEST(LiveChange, PreSharedKeyChangeAppliesToNewNegotiationsOnly) {
  Live l;
  l.sa.psk = "a-new-key";
  l.a.SetConfig(MakeConfig(l.sa));
  l.sim.RunFor(Seconds(30));
  // The established SA stays (DPD still answered).
  EXPECT_EQ(l.a.ChildSas().size(), 1u);
  EXPECT_GE(OfKind(l.a.events(), EventKind::kDpdAckReceived).size(), 2u);
  // A new negotiation uses the new key, which B does not have: it never comes up.
  l.a.Clear(ike::ClearFilter{});
  l.sim.RunFor(Seconds(30));
  EXPECT_TRUE(l.a.ChildSas().empty());
  EXPECT_GT(l.b.counters().dropped_auth, 0u);
}

}  // namespace
}  // namespace ikepulse::scenario
