// Live configuration changes (issue "IOS shell" item 9), each rule pinned:
// - a keepalive change applies to established SAs from their next interval;
// - removing a crypto map entry tears down its IPsec SAs (Delete sent); removing a peer from
//   the entry's list tears down the SAs with that peer (failover_test.cc);
// - a pre-shared key change applies to new negotiations only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "common/random.h"
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


// --- A change costs O(the change) (DESIGN.md §6.4) -------------------------------------------
// The engine matches the new configuration's crypto map entries to the old ones by identity
// (config/cow_list.h): untouched entries, their failover cursors and their SAs stay as they
// are; only added, changed and removed entries are acted on.

config::CryptoMapEntry EntryFor(const config::Config& c, uint32_t seq, IpAddress peer) {
  config::CryptoMapEntry e = c.crypto_maps.front();
  e.seq = seq;
  e.keep_up = false;
  e.peers.resize(1);
  e.peers.front().host = peer.ToString();
  e.peers.front().address = peer;
  return e;
}

void InsertOrdered(config::Config& c, config::CryptoMapEntry e) {
  auto at = std::lower_bound(c.crypto_maps.begin(), c.crypto_maps.end(), e,
                             [](const config::CryptoMapEntry& x, const config::CryptoMapEntry& y) {
                               return std::tie(x.map_name, x.seq) < std::tie(y.map_name, y.seq);
                             });
  c.crypto_maps.insert(at, std::move(e));
}

TEST(LiveChange, EntriesAddedAroundALiveOneLeaveItAndItsSasAlone) {
  Live l;
  config::Config c = MakeConfig(l.sa);  // green 10 -> B, up
  const uint32_t seq = c.crypto_maps.front().seq;
  config::CryptoMapEntry before = EntryFor(c, 1, Ip("192.0.2.9"));  // before it, another peer
  before.map_name = "blue";
  config::CryptoMapEntry after = EntryFor(c, seq + 5, Ip("192.0.2.2"));  // after it, to B too
  InsertOrdered(c, before);
  InsertOrdered(c, after);
  l.a.SetConfig(c);
  l.sim.RunFor(Seconds(30));
  EXPECT_EQ(OfKind(l.a.events(), EventKind::kChildSaDown).size(), 0u);
  EXPECT_EQ(OfKind(l.a.events(), EventKind::kIkeSaUp).size(), 1u);
  EXPECT_GE(OfKind(l.a.events(), EventKind::kDpdAckReceived).size(), 2u);
  const auto entries = l.a.node().Entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].map_name, "blue");
  EXPECT_EQ(entries[1].seq, seq);
  EXPECT_TRUE(entries[1].up);
  EXPECT_EQ(entries[2].seq, seq + 5);
  EXPECT_THAT(l.a.node().EntriesOfPeer(Ip("192.0.2.2")),
              ElementsAre(std::pair(std::string("green"), seq), std::pair(std::string("green"), seq + 5)));
  // Removing the one before changes nothing for the live entry either.
  c.crypto_maps.erase(c.crypto_maps.begin());
  l.a.SetConfig(c);
  l.sim.RunFor(Seconds(1));
  EXPECT_EQ(OfKind(l.a.events(), EventKind::kChildSaDown).size(), 0u);
  ASSERT_EQ(l.a.node().Entries().size(), 2u);
  EXPECT_TRUE(l.a.node().Entries()[0].up);
}

TEST(LiveChange, ChangingThePeersOfAnEntryTearsDownOnlyItsSasToPeersNoLongerListed) {
  Live l;
  config::Config c = MakeConfig(l.sa);
  // A second peer after B: B is still listed, its SA stays.
  config::CryptoMapPeer second = c.crypto_maps.front().peers.front();
  second.host = "192.0.2.7";
  second.address = Ip("192.0.2.7");
  c.crypto_maps.Mut(0).peers.push_back(second);
  l.a.SetConfig(c);
  l.sim.RunFor(Seconds(1));
  EXPECT_EQ(OfKind(l.a.events(), EventKind::kChildSaDown).size(), 0u);
  EXPECT_THAT(l.a.node().EntriesOfPeer(Ip("192.0.2.7")), ::testing::SizeIs(1));
  // B taken out of the list: its SA goes, with a Delete to B.
  c.crypto_maps.Mut(0).peers.erase(c.crypto_maps.front().peers.begin());
  l.a.SetConfig(c);
  EXPECT_TRUE(l.a.ChildSas().empty());
  ASSERT_TRUE(l.sim.RunUntil([&] { return l.b.ChildSas().empty(); }, l.sim.now() + Seconds(1)));
  EXPECT_THAT(l.a.node().EntriesOfPeer(Ip("192.0.2.2")), ::testing::IsEmpty());
}

// Whatever sequence of changes reaches a configuration, the engine's view of its entries is
// the one a fresh engine builds from that configuration at once: same entries in the same
// order, each peer's entries in configuration order.
TEST(LiveChange, IncrementalChangesMatchAFreshEngineOverARandomSequence) {
  SeededRandom rng(42);
  ike::Node live(rng);
  config::Config c = MakeConfig(SiteA());
  const config::CryptoMapEntry proto = c.crypto_maps.front();
  c.crypto_maps.clear();
  const IpAddress peers[] = {Ip("192.0.2.2"), Ip("192.0.2.3"), Ip("192.0.2.4"), Ip("198.51.100.9")};
  const char* maps[] = {"blue", "green"};
  std::mt19937 gen(7);
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(gen() % n); };
  ike::Outbox out;
  TimePoint now = TimePoint(Seconds(100));
  for (int step = 0; step < 400; ++step) {
    const uint32_t op = pick(4);
    if (op == 0 || c.crypto_maps.empty()) {  // add (or replace) an entry
      config::CryptoMapEntry e = proto;
      e.map_name = maps[pick(2)];
      e.seq = 1 + pick(30);
      e.peers.clear();
      for (uint32_t k = 0, n = 1 + pick(2); k < n; ++k) {
        config::CryptoMapPeer p = proto.peers.front();
        p.address = peers[pick(4)];
        p.host = p.address->ToString();
        e.peers.push_back(p);
      }
      auto at = std::lower_bound(c.crypto_maps.begin(), c.crypto_maps.end(), e,
                                 [](const auto& x, const auto& y) {
                                   return std::tie(x.map_name, x.seq) < std::tie(y.map_name, y.seq);
                                 });
      if (at != c.crypto_maps.end() && at->map_name == e.map_name && at->seq == e.seq)
        c.crypto_maps.Mut(at) = e;
      else
        c.crypto_maps.insert(at, e);
    } else if (op == 1) {  // remove one
      c.crypto_maps.erase(c.crypto_maps.begin() + pick(static_cast<uint32_t>(c.crypto_maps.size())));
    } else if (op == 2) {  // change one's peers
      auto& e = c.crypto_maps.Mut(pick(static_cast<uint32_t>(c.crypto_maps.size())));
      e.peers.front().address = peers[pick(4)];
      e.peers.front().host = e.peers.front().address->ToString();
    } else {  // touch one without changing it (a new object, equal value)
      (void)c.crypto_maps.Mut(pick(static_cast<uint32_t>(c.crypto_maps.size())));
    }
    live.SetConfig(c, now, out);
    ike::Node fresh(rng);
    fresh.SetConfig(c, now, out);
    out.Clear();
    const auto got = live.Entries(), want = fresh.Entries();
    ASSERT_EQ(got.size(), want.size()) << "step " << step;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].map_name, want[k].map_name) << "step " << step;
      EXPECT_EQ(got[k].seq, want[k].seq) << "step " << step;
      EXPECT_EQ(got[k].current_peer, want[k].current_peer) << "step " << step;
    }
    for (const IpAddress& p : peers)
      ASSERT_EQ(live.EntriesOfPeer(p), fresh.EntriesOfPeer(p)) << "step " << step << " " << p.ToString();
    for (const auto& e : c.crypto_maps)
      ASSERT_TRUE(live.EntryStateOf(e.map_name, e.seq).has_value()) << "step " << step;
  }
}


// A list that names one (map, seq) twice (the CLI never makes one; a hand-built Config can):
// the first stands, and a change never lists an entry twice.
TEST(LiveChange, AnEntryListedTwiceCountsOnce) {
  SeededRandom rng(3);
  ike::Node n(rng);
  config::Config c = MakeConfig(SiteA());
  c.crypto_maps.push_back(c.crypto_maps.front());
  ike::Outbox out;
  n.SetConfig(c, TimePoint(Seconds(10)), out);
  EXPECT_EQ(n.Entries().size(), 1u);
  c.crypto_maps.Mut(1).peers.front().address = Ip("192.0.2.99");
  n.SetConfig(c, TimePoint(Seconds(11)), out);
  ASSERT_EQ(n.Entries().size(), 1u);
  EXPECT_EQ(n.Entries()[0].current_peer, c.crypto_maps.front().peers.front().address);
}

}  // namespace
}  // namespace ikepulse::scenario
