// Stateless crypto-map failover (DESIGN.md §4): peers in order, wrap-around, the default
// peer, setup failures, and the first Main Mode packet to the next peer at the verdict.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using ::testing::IsEmpty;

struct Farm {
  sim::Simulator sim{5};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 1};
  std::vector<std::unique_ptr<sim::SimNode>> peers;
  SiteSpec spec;

  explicit Farm(bool default_first = false, int n = 3) {
    spec.self = Ip("192.0.2.1");
    spec.keepalive = Keepalive(10, 2, true);
    spec.keep_up = true;
    spec.default_first = default_first;
    for (int i = 0; i < n; ++i) {
      const IpAddress ip = IpAddress::V4(192, 0, 2, static_cast<uint8_t>(2 + i));
      spec.peers.push_back(ip);
      peers.push_back(std::make_unique<sim::SimNode>(sim, "B" + std::to_string(i + 1),
                                                     std::vector<IpAddress>{ip}, 10 + i));
      sim.Connect(Ip("192.0.2.1"), ip, Millis(5));
      SiteSpec sb;
      sb.self = ip;
      sb.peers = {Ip("192.0.2.1")};
      sb.local_lan = "203.0.113.0";
      sb.remote_lan = "198.51.100.0";
      peers.back()->SetConfig(MakeConfig(sb));
    }
  }
  void Start() { a.SetConfig(MakeConfig(spec)); }
  IpAddress PeerIp(int i) const { return spec.peers[i]; }
  bool UpWith(int i) const {
    auto ch = a.ChildSas();
    return !ch.empty() && ch.front().remote.ip == PeerIp(i);
  }
  // Time of the first Main Mode packet A sent to `ip` at or after `from`.
  std::optional<TimePoint> FirstMainModeTo(const IpAddress& ip, TimePoint from) const {
    for (const auto& r : sim.packets()) {
      if (r.at < from || r.fate != sim::PacketFate::kSent || r.datagram.remote.ip != ip) continue;
      if (r.datagram.local.ip != Ip("192.0.2.1")) continue;
      auto x = sim::IsakmpExchangeType(r.datagram);
      if (x && *x == 2) return r.at;
    }
    return std::nullopt;
  }
  TimePoint DeadAt(size_t n) const { return OfKind(a.events(), EventKind::kPeerDead).at(n).at; }
};

TEST(Failover, WrapsAThroughCAndBackAtTheVerdictInstant) {
  Farm f;
  f.Start();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(0); }, f.sim.now() + Seconds(5)));
  // B1 dies: dead at its T0+20, and the first MM1 to B2 goes out at that same instant.
  f.peers[0]->Kill();
  const TimePoint t0 = f.sim.now();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(1); }, t0 + Seconds(30)));
  const TimePoint dead1 = f.DeadAt(0);
  EXPECT_EQ(f.FirstMainModeTo(f.PeerIp(1), t0), dead1);
  EXPECT_EQ(f.FirstMainModeTo(f.PeerIp(2), t0), std::nullopt);  // nothing to B3
  // B2 dies: on to B3.
  f.peers[1]->Kill();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(2); }, f.sim.now() + Seconds(30)));
  EXPECT_EQ(f.FirstMainModeTo(f.PeerIp(2), dead1), f.DeadAt(1));
  // B1 is back; B3 dies: wrap around to B1.
  f.peers[0]->Revive();
  f.peers[2]->Kill();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(0); }, f.sim.now() + Seconds(30)));
  EXPECT_EQ(f.FirstMainModeTo(f.PeerIp(0), f.DeadAt(1) + Seconds(1)), f.DeadAt(2));
  auto failovers = OfKind(f.a.events(), EventKind::kFailover);
  ASSERT_EQ(failovers.size(), 3u);
  EXPECT_EQ(failovers[2].peer, f.PeerIp(0));
}

TEST(Failover, UnreachableAtSetupMovesOnAfterGiveUp) {
  Farm f;
  f.peers[0]->Kill();
  const TimePoint t = f.sim.now();
  f.Start();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(1); }, t + Seconds(60)));
  // MM1 at t, +1, +3, +7, +15; give-up at +23 and MM1 to B2 at that instant.
  auto giveup = OfKind(f.a.events(), EventKind::kGiveUp);
  ASSERT_EQ(giveup.size(), 1u);
  EXPECT_EQ(giveup[0].at, t + Seconds(23));
  EXPECT_EQ(f.FirstMainModeTo(f.PeerIp(1), t), t + Seconds(23));
}

TEST(Failover, DefaultPeerIsRetriedFirstAfterAFailure) {
  Farm f(/*default_first=*/true);
  f.Start();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(0); }, f.sim.now() + Seconds(5)));
  f.peers[0]->Kill();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(1); }, f.sim.now() + Seconds(30)));
  // B1 (the default) is back; B2 dies: the list restarts at the default, not at B3.
  f.peers[0]->Revive();
  f.peers[1]->Kill();
  const TimePoint t = f.sim.now();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(0); }, t + Seconds(30)));
  EXPECT_EQ(f.FirstMainModeTo(f.PeerIp(2), t), std::nullopt);
}

TEST(Failover, ChangingThePeerListResetsToTheFirst) {
  Farm f;
  f.Start();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(0); }, f.sim.now() + Seconds(5)));
  f.peers[0]->Kill();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(1); }, f.sim.now() + Seconds(30)));
  EXPECT_EQ(f.a.Entries().front().peer_index, 1u);
  f.peers[0]->Revive();
  // New list: B3, B1 (B2 removed). The entry restarts at index 0 = B3.
  f.spec.peers = {f.PeerIp(2), f.PeerIp(0)};
  f.Start();
  EXPECT_EQ(f.a.Entries().front().peer_index, 0u);
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(2); }, f.sim.now() + Seconds(5)));
  // The SA with B2, no longer listed, was torn down.
  for (const auto& s : f.a.IsakmpSas()) EXPECT_NE(s.remote.ip, f.PeerIp(1));
}

// `show crypto map` asks for one entry at a time (Node::EntryStateOf, O(SAs to its peers)):
// the answer is the entry's line of the full list, before and after a failover.
TEST(Failover, OneEntryStateAgreesWithTheFullList) {
  Farm f;
  f.Start();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(0); }, f.sim.now() + Seconds(5)));
  auto same = [&](const char* when) {
    SCOPED_TRACE(when);
    const auto all = f.a.Entries();
    ASSERT_EQ(all.size(), 1u);
    const auto one = f.a.node().EntryStateOf(all[0].map_name, all[0].seq);
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(one->peer_index, all[0].peer_index);
    EXPECT_EQ(one->current_peer, all[0].current_peer);
    EXPECT_EQ(one->up, all[0].up);
    EXPECT_TRUE(one->up);
  };
  same("first peer");
  f.peers[0]->Kill();
  ASSERT_TRUE(f.sim.RunUntil([&] { return f.UpWith(1); }, f.sim.now() + Seconds(30)));
  same("after failover");
  EXPECT_EQ(f.a.node().EntryStateOf(f.a.Entries()[0].map_name, 999), std::nullopt);
  EXPECT_EQ(f.a.node().EntryStateOf("no-such-map", 1), std::nullopt);
}

}  // namespace
}  // namespace ikepulse::scenario
