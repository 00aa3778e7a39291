// Replay-proof liveness: an on-path attacker records every datagram B sends to A over the whole
// life of the tunnel (Main Mode, Quick Modes and a rekey, DPD both ways, Deletes) and replays
// the recording to A from B's address, in order, reversed and shuffled, again and again, while
// B lives and after it died. Replays are authenticated but old: they must change nothing, and
// A's DPD verdict must still come at exactly T0 + interval + 5 * retry (T0 = B's last genuine
// packet), with failover to the next `set peer` at that instant.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;

constexpr Duration kLink = Millis(5);

struct ReplayLab {
  sim::Simulator sim{11};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 101};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 202};
  sim::SimNode c{sim, "C", {Ip("192.0.2.3")}, 303};
  std::vector<ike::Datagram> recorded;  // everything B sent to A, delivered or not
  std::mt19937 shuffle{7};
  int order = 0;

  explicit ReplayLab(config::KeepaliveConfig ka_a) {
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), kLink);
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.3"), kLink);
    sim.SetPacketObserver([this](const sim::PacketRecord& r) {
      if (r.fate == sim::PacketFate::kSent && r.from == b.id() &&
          r.datagram.remote.ip == Ip("192.0.2.1"))
        recorded.push_back(r.datagram);
    });
    SiteSpec sa;
    sa.self = Ip("192.0.2.1");
    sa.peers = {Ip("192.0.2.2"), Ip("192.0.2.3")};
    sa.keepalive = ka_a;
    sa.keep_up = true;
    sa.ipsec_lifetime_s = 120;  // a rekey (QM + Deletes) within the recording
    for (sim::SimNode* n : {&b, &c}) {
      SiteSpec sb;
      sb.self = n->address();
      sb.peers = {Ip("192.0.2.1")};
      sb.local_lan = "203.0.113.0";
      sb.remote_lan = "198.51.100.0";
      sb.keepalive = Keepalive(10, 2, true);  // B probes A too
      n->SetConfig(MakeConfig(sb));
    }
    a.SetConfig(MakeConfig(sa));
  }

  // Replays the whole recording to A from B's address, each time in another order.
  void ReplayAll() {
    std::vector<ike::Datagram> v = recorded;
    switch (order++ % 3) {
      case 0:
        break;
      case 1:
        std::reverse(v.begin(), v.end());
        break;
      default:
        std::shuffle(v.begin(), v.end(), shuffle);
        break;
    }
    for (auto& d : v) sim.Inject(std::move(d));
  }
  TimePoint LastDeliveredFromB() const {
    TimePoint t = kNever;
    for (const auto& r : sim.packets())
      if (r.fate == sim::PacketFate::kDelivered && r.from == b.id() && r.to == a.id()) t = r.at;
    return t;
  }
  std::vector<uint32_t> ChildSpisIn() const {
    std::vector<uint32_t> s;
    for (const auto& ch : a.ChildSas()) s.push_back(ch.spi_in);
    return s;
  }
};

void LiveThenReplayAfterDeath(config::KeepaliveConfig ka) {
  ReplayLab l(ka);
  ASSERT_TRUE(
      l.sim.RunUntil([&] { return HasChild(l.a) && HasChild(l.b); }, l.sim.now() + Seconds(60)));
  // A life with DPD both ways, a rekey, and B's ACKs to a few of A's R-U-THEREs lost (so B's
  // recorded R-U-THERE-ACKs and R-U-THEREs include some A never saw: new M-IDs to A).
  l.sim.RunFor(Seconds(150));
  l.sim.FindLink(Ip("192.0.2.1"), Ip("192.0.2.2"))->DropIf([&](const ike::Datagram& d) {
    return d.local.ip == l.b.address();
  });
  l.sim.RunFor(Seconds(5));
  l.sim.FindLink(Ip("192.0.2.1"), Ip("192.0.2.2"))->ClearDropIf();
  l.sim.RunFor(Seconds(15));
  ASSERT_TRUE(HasChild(l.a));
  ASSERT_GT(l.recorded.size(), 10u);

  // While B lives: replays change nothing (same SPIs, no new exchange, no verdict).
  const auto spis = l.ChildSpisIn();
  const uint64_t dead0 = l.a.counters().peers_dead;
  for (int i = 0; i < 3; ++i) {
    l.ReplayAll();
    l.sim.RunFor(Seconds(1));
  }
  EXPECT_EQ(l.ChildSpisIn(), spis);
  EXPECT_EQ(l.a.counters().peers_dead, dead0);
  EXPECT_GT(l.a.counters().dropped_replay, 0u);

  // B dies right after A took its R-U-THERE (a new sequence number) as liveness (T0); the
  // attacker keeps
  // replaying (every 500 ms, all orders) until well past the verdict.
  const size_t acks = OfKind(l.a.events(), EventKind::kDpdAckSent).size();
  ASSERT_TRUE(
      l.sim.RunUntil([&] { return OfKind(l.a.events(), EventKind::kDpdAckSent).size() > acks; },
                     l.sim.now() + Seconds(30)));
  l.b.Kill();
  const TimePoint t0 = OfKind(l.a.events(), EventKind::kDpdAckSent).back().at;
  l.sim.RunFor(kLink * 2);
  ASSERT_EQ(l.LastDeliveredFromB(), t0) << "T0 is B's last genuine packet";
  const uint64_t replay0 = l.a.counters().dropped_replay;
  for (int i = 0; i < 60; ++i) {
    l.ReplayAll();
    l.sim.RunFor(Millis(500));
  }
  const auto dead = OfKind(l.a.events(), EventKind::kPeerDead);
  ASSERT_FALSE(dead.empty());
  const TimePoint verdict = dead.back().at;
  const auto& cfg = ka;
  EXPECT_EQ(verdict, t0 + Seconds(cfg.interval_s) + 5 * Seconds(cfg.retry_s))
      << "verdict " << (verdict - t0).count() << " after T0";
  EXPECT_GT(l.a.counters().dropped_replay, replay0);
  // Failover: the first Main Mode packet to C at the verdict instant, and the tunnel up with C.
  bool mm_to_c = false;
  for (const auto& r : l.sim.packets())
    if (r.at == verdict && r.fate == sim::PacketFate::kSent && r.from == l.a.id() &&
        r.datagram.remote.ip == Ip("192.0.2.3") && sim::IsakmpExchangeType(r.datagram) == 2)
      mm_to_c = true;
  EXPECT_TRUE(mm_to_c);
  auto ch = l.a.ChildSas();
  ASSERT_FALSE(ch.empty());
  EXPECT_EQ(ch.front().remote.ip, Ip("192.0.2.3"));
}

TEST(ReplayLiveness, PeriodicVerdictExactUnderReplayAndFailover) {
  LiveThenReplayAfterDeath(Keepalive(10, 2, true));
}

}  // namespace
}  // namespace ikepulse::scenario
