// Two crypto map entries to the same peer with the same IKEv2 profile (DESIGN.md §6.6): the
// second entry's Child SA comes over the first entry's IKE SA by CREATE_CHILD_SA, never by a
// second IKE SA, in every path that brings an entry up (keep-up, traffic, failover); both
// entries fail over together at the seed's verdict instant; a refused Child SA is asked again
// every 10 s without touching the IKE SA. Kilobyte lifetimes of IKEv2 Child SAs: the data
// plane's soft signal rekeys the pair (either side), the hard one deletes it and a kept-up
// entry gets a new one over the same IKE SA.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int kIkeSaInit = 34;
constexpr int kCreateChildSa = 36;

// Entry `green 2`: a copy of `green 1` (same peers, same profile) protecting a second pair of
// networks with ACL 102.
void AddSecondEntry(config::Config& c, const char* local_lan, const char* remote_lan,
                    bool keep_up) {
  config::AccessList acl;
  acl.name = "102";
  config::AclEntry ae;
  ae.src = Ip(local_lan);
  ae.src_wildcard = Ip("0.0.0.255");
  ae.dst = Ip(remote_lan);
  ae.dst_wildcard = Ip("0.0.0.255");
  acl.entries.push_back(ae);
  c.acls["102"] = acl;
  config::CryptoMapEntry e = c.crypto_maps[0];
  e.seq = 2;
  e.match_address = "102";
  e.keep_up = keep_up;
  c.crypto_maps.push_back(e);
}

config::Config Side(SiteSpec s, bool second, bool second_keep_up,
                    std::optional<config::KeepaliveConfig> dpd = {}) {
  const bool a_side = s.self == Ip("192.0.2.1");
  config::Config c = MakeConfig(s);
  AddFlex(c, s.peers, s.psk, dpd);
  if (second)
    AddSecondEntry(c, a_side ? "198.51.101.0" : "203.0.114.0",
                   a_side ? "203.0.114.0" : "198.51.101.0", second_keep_up);
  return c;
}

// The instants `from` sent requests of exchange type `exchange` (responses not counted).
std::vector<TimePoint> Sent(const sim::Simulator& sim, const IpAddress& from, int exchange,
                            TimePoint after = TimePoint{}) {
  std::vector<TimePoint> out;
  for (const auto& r : sim.packets())
    if (r.at >= after && r.fate == sim::PacketFate::kSent && r.datagram.local.ip == from &&
        sim::IsakmpExchangeType(r.datagram) == exchange &&
        sim::Ikev2IsResponse(r.datagram) == false)
      out.push_back(r.at);
  return out;
}

bool Matching(const std::vector<ike::ChildSaSnapshot>& x, const std::vector<ike::ChildSaSnapshot>& y,
              uint32_t seq) {
  for (const auto& a : x) {
    if (a.map_seq != seq) continue;
    for (const auto& b : y)
      if (a.spi_in == b.spi_out && a.spi_out == b.spi_in && !a.enc_key_in.empty() &&
          a.enc_key_in == b.enc_key_out && a.enc_key_out == b.enc_key_in &&
          a.local_net == b.remote_net && a.remote_net == b.local_net)
        return true;
  }
  return false;
}

struct Two {
  sim::Simulator sim{13};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  explicit Two(bool a_keep_up = true, bool b_second = true) {
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
    SiteSpec sa = SiteA();
    sa.keep_up = a_keep_up;
    a.SetConfig(Side(sa, true, a_keep_up, Keepalive(10, 2, true)));
    b.SetConfig(Side(SiteB(), b_second, false));
  }
};

TEST(Ikev2Children, ASecondEntryToTheSamePeerGetsItsChildSaOverTheSameIkeSa) {
  Two t;
  ASSERT_TRUE(t.sim.RunUntil(
      [&] { return t.a.ChildSas().size() == 2 && t.b.ChildSas().size() == 2; },
      t.sim.now() + Seconds(5)));
  EXPECT_EQ(t.a.ike_sa_count(), 1u);
  EXPECT_EQ(t.b.ike_sa_count(), 1u);
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kIkeSaInit), SizeIs(1));
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa), SizeIs(1));
  const auto ca = t.a.ChildSasWithKeys();
  const auto cb = t.b.ChildSasWithKeys();
  EXPECT_TRUE(Matching(ca, cb, 1));
  EXPECT_TRUE(Matching(ca, cb, 2));
  // B's responder matched each Child SA to its own entry by the selectors.
  EXPECT_TRUE(Matching(cb, ca, 1));
  EXPECT_TRUE(Matching(cb, ca, 2));
  auto v2 = t.a.node().Ikev2Sas(t.sim.now());
  ASSERT_THAT(v2, SizeIs(1));
  EXPECT_THAT(v2[0].children, SizeIs(2));
  // Steady: nothing more is started over the next minute.
  t.sim.RunFor(Seconds(60));
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kIkeSaInit), SizeIs(1));
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa), SizeIs(1));
  EXPECT_THAT(OfKind(t.a.events(), EventKind::kPeerDead), IsEmpty());
}

TEST(Ikev2Children, TrafficForTheSecondEntryBringsItsChildSaOverTheIkeSa) {
  Two t(/*a_keep_up=*/false);
  t.a.OnOutboundTraffic("green", 1);
  ASSERT_TRUE(t.sim.RunUntil([&] { return t.a.ChildSas().size() == 1; },
                             t.sim.now() + Seconds(5)));
  t.sim.RunFor(Seconds(2));
  EXPECT_THAT(t.a.ChildSas(), SizeIs(1));  // entry 2 is not kept up: nothing yet
  const TimePoint t_traffic = t.sim.now();
  t.a.OnOutboundTraffic("green", 2);
  ASSERT_TRUE(t.sim.RunUntil([&] { return t.a.ChildSas().size() == 2; },
                             t.sim.now() + Seconds(5)));
  const auto cc = Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa);
  ASSERT_THAT(cc, SizeIs(1));
  EXPECT_EQ(cc[0], t_traffic);  // at once: the IKE SA was idle
  EXPECT_EQ(t.a.ike_sa_count(), 1u);
  EXPECT_TRUE(Matching(t.a.ChildSasWithKeys(), t.b.ChildSasWithKeys(), 2));
}

// The IKE SA the peer initiated carries our second entry's Child SA too (our CREATE_CHILD_SA
// as its responder): no IKE SA of ours.
TEST(Ikev2Children, TheSecondEntryUsesTheIkeSaThePeerInitiated) {
  Two t(/*a_keep_up=*/false);
  t.b.Initiate("green", 1);
  ASSERT_TRUE(t.sim.RunUntil([&] { return t.a.ChildSas().size() == 1; },
                             t.sim.now() + Seconds(5)));
  t.a.OnOutboundTraffic("green", 2);
  ASSERT_TRUE(t.sim.RunUntil([&] { return t.a.ChildSas().size() == 2 && t.b.ChildSas().size() == 2; },
                             t.sim.now() + Seconds(5)));
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kIkeSaInit), IsEmpty());
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa), SizeIs(1));
  EXPECT_EQ(t.a.ike_sa_count(), 1u);
  EXPECT_EQ(t.b.ike_sa_count(), 1u);
  EXPECT_TRUE(Matching(t.a.ChildSasWithKeys(), t.b.ChildSasWithKeys(), 2));
}

TEST(Ikev2Children, BothEntriesFailOverTogetherAtTheVerdictAndShareTheNewIkeSa) {
  sim::Simulator sim{5};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 1};
  sim::SimNode b1{sim, "B1", {Ip("192.0.2.2")}, 10};
  sim::SimNode b2{sim, "B2", {Ip("192.0.2.3")}, 11};
  sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
  sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.3"), Millis(5));
  SiteSpec sa = SiteA();
  sa.peers = {Ip("192.0.2.2"), Ip("192.0.2.3")};
  sa.keep_up = true;
  a.SetConfig(Side(sa, true, true, Keepalive(10, 2, true)));
  for (sim::SimNode* b : {&b1, &b2}) {
    SiteSpec sb = SiteB();
    sb.self = b->address();
    b->SetConfig(Side(sb, true, false));
  }
  auto up_with = [&](const IpAddress& ip) {
    auto ch = a.ChildSas();
    return ch.size() == 2 && ch[0].remote.ip == ip && ch[1].remote.ip == ip;
  };
  ASSERT_TRUE(sim.RunUntil([&] { return up_with(Ip("192.0.2.2")); }, sim.now() + Seconds(5)));
  // T0: the last message from B1 (the CREATE_CHILD_SA response: the second Child SA up).
  const TimePoint t0 = OfKind(a.events(), EventKind::kChildSaUp).at(1).at;
  b1.Kill();
  ASSERT_TRUE(sim.RunUntil([&] { return up_with(Ip("192.0.2.3")); }, t0 + Seconds(30)));

  std::vector<TimePoint> probes;
  for (const auto& r : sim.packets())
    if (r.at > t0 && r.fate == sim::PacketFate::kSent && r.datagram.remote.ip == Ip("192.0.2.2"))
      probes.push_back(r.at);
  ASSERT_THAT(probes, SizeIs(5));
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(probes[i], t0 + Seconds(10 + 2 * i)) << i;
  auto dead = OfKind(a.events(), EventKind::kPeerDead);
  ASSERT_THAT(dead, SizeIs(1));
  EXPECT_EQ(dead[0].at, t0 + Seconds(20));
  auto failover = OfKind(a.events(), EventKind::kFailover);
  ASSERT_THAT(failover, SizeIs(2));  // one per entry, both at the verdict
  for (const auto& f : failover) {
    EXPECT_EQ(f.at, t0 + Seconds(20));
    EXPECT_EQ(f.peer, Ip("192.0.2.3"));
  }
  // One IKE SA to B2 (its IKE_SA_INIT at the verdict), the second entry's Child SA over it.
  const auto inits = Sent(sim, Ip("192.0.2.1"), kIkeSaInit, t0);
  ASSERT_THAT(inits, SizeIs(1));
  EXPECT_EQ(inits[0], t0 + Seconds(20));
  EXPECT_EQ(a.ike_sa_count(), 1u);
  EXPECT_EQ(b2.ike_sa_count(), 1u);
  const auto ca = a.ChildSasWithKeys();
  const auto cb = b2.ChildSasWithKeys();
  EXPECT_TRUE(Matching(ca, cb, 1));
  EXPECT_TRUE(Matching(ca, cb, 2));
}

// B has no entry for the second pair of networks: its answer refuses the Child SA. A keeps
// the IKE SA and its first Child SA, and asks again 10 s after each refusal: no new IKE SA,
// no loop, no death.
TEST(Ikev2Children, ARefusedSecondChildSaIsAskedAgainEveryTenSeconds) {
  Two t(/*a_keep_up=*/true, /*b_second=*/false);
  t.sim.RunFor(Seconds(35));
  EXPECT_EQ(t.a.ike_sa_count(), 1u);
  EXPECT_THAT(t.a.ChildSas(), SizeIs(1));
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kIkeSaInit), SizeIs(1));
  const auto cc = Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa);
  ASSERT_THAT(cc, SizeIs(4));
  for (size_t i = 1; i < cc.size(); ++i)
    EXPECT_EQ(cc[i] - cc[i - 1], Seconds(10) + Millis(10)) << i;  // refusal after one RTT
  EXPECT_THAT(OfKind(t.a.events(), EventKind::kPeerDead), IsEmpty());
  EXPECT_THAT(OfKind(t.a.events(), EventKind::kIkeSaDown), IsEmpty());
  // B told it: the configuration changes and the next attempt succeeds.
  t.b.SetConfig(Side(SiteB(), true, false));
  ASSERT_TRUE(t.sim.RunUntil([&] { return t.a.ChildSas().size() == 2; },
                             t.sim.now() + Seconds(11)));
  EXPECT_EQ(t.a.ike_sa_count(), 1u);
}

uint32_t SpiOf(const sim::SimNode& n, uint32_t seq) {
  for (const auto& ch : n.ChildSas())
    if (ch.map_seq == seq) return ch.spi_in;
  return 0;
}

TEST(Ikev2Children, TheSoftKilobyteLifetimeRekeysTheChildSaOnEitherSide) {
  Two t;
  ASSERT_TRUE(t.sim.RunUntil(
      [&] { return t.a.ChildSas().size() == 2 && t.b.ChildSas().size() == 2; },
      t.sim.now() + Seconds(5)));
  t.sim.RunFor(Seconds(1));
  // A (the IKE SA's initiator) reaches 90 % of the volume on green 1.
  const uint32_t a1 = SpiOf(t.a, 1), a2 = SpiOf(t.a, 2);
  const TimePoint t_soft = t.sim.now();
  t.a.OnChildLifetime(a1, /*hard=*/false);
  ASSERT_TRUE(t.sim.RunUntil([&] { return SpiOf(t.a, 1) != a1 && t.a.ChildSas().size() == 2; },
                             t.sim.now() + Seconds(5)));
  const auto cc = Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa, t_soft);
  ASSERT_THAT(cc, SizeIs(1));
  EXPECT_EQ(cc[0], t_soft);
  EXPECT_EQ(SpiOf(t.a, 2), a2);  // the other pair is untouched
  t.sim.RunFor(Seconds(1));
  EXPECT_TRUE(Matching(t.a.ChildSasWithKeys(), t.b.ChildSasWithKeys(), 1));
  // B (the responder, which does not rekey on time) reaches it on green 2.
  const uint32_t b2 = SpiOf(t.b, 2);
  const TimePoint t_soft_b = t.sim.now();
  t.b.OnChildLifetime(b2, false);
  ASSERT_TRUE(t.sim.RunUntil([&] { return SpiOf(t.b, 2) != b2 && t.b.ChildSas().size() == 2; },
                             t.sim.now() + Seconds(5)));
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.2"), kCreateChildSa, t_soft_b), SizeIs(1));
  t.sim.RunFor(Seconds(1));
  EXPECT_TRUE(Matching(t.a.ChildSasWithKeys(), t.b.ChildSasWithKeys(), 2));
  EXPECT_EQ(t.a.ike_sa_count(), 1u);
  // A second soft signal for a pair already replaced changes nothing.
  t.a.OnChildLifetime(a1, false);
  t.sim.RunFor(Seconds(1));
  EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa, t_soft), SizeIs(1));
}

TEST(Ikev2Children, TheHardKilobyteLifetimeEndsThePairAndAKeptUpEntryGetsANewOne) {
  Two t;
  ASSERT_TRUE(t.sim.RunUntil(
      [&] { return t.a.ChildSas().size() == 2 && t.b.ChildSas().size() == 2; },
      t.sim.now() + Seconds(5)));
  const uint32_t a1 = SpiOf(t.a, 1);
  const TimePoint t_hard = t.sim.now();
  t.a.OnChildLifetime(a1, /*hard=*/true);
  ASSERT_TRUE(t.sim.RunUntil(
      [&] { return SpiOf(t.a, 1) != 0 && SpiOf(t.a, 1) != a1 && t.b.ChildSas().size() == 2; },
      t.sim.now() + Seconds(5)));
  // The Delete first (INFORMATIONAL at the signal), then the new pair (CREATE_CHILD_SA one
  // round trip later), over the same IKE SA.
  const auto info = Sent(t.sim, Ip("192.0.2.1"), 37, t_hard);
  ASSERT_FALSE(info.empty());
  EXPECT_EQ(info[0], t_hard);
  const auto cc = Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa, t_hard);
  ASSERT_THAT(cc, SizeIs(1));
  EXPECT_EQ(cc[0], t_hard + Millis(10));
  EXPECT_EQ(t.a.ike_sa_count(), 1u);
  EXPECT_THAT(t.a.ChildSas(), SizeIs(2));
  t.sim.RunFor(Seconds(1));
  EXPECT_TRUE(Matching(t.a.ChildSasWithKeys(), t.b.ChildSasWithKeys(), 1));
}

// `clear crypto sa` (ipsec_only) and `clear crypto sa map NAME`: the Child SAs go with
// Deletes, the IKE SA stays, and the kept-up entries get new pairs over it.
TEST(Ikev2Children, ClearCryptoSaEndsTheChildSasAndKeepsTheIkeSa) {
  for (bool by_map : {false, true}) {
    SCOPED_TRACE(by_map ? "clear crypto sa map green" : "clear crypto sa");
    Two t;
    ASSERT_TRUE(t.sim.RunUntil(
        [&] { return t.a.ChildSas().size() == 2 && t.b.ChildSas().size() == 2; },
        t.sim.now() + Seconds(5)));
    const auto ike0 = t.a.node().Ikev2Sas(t.sim.now());
    ASSERT_THAT(ike0, SizeIs(1));
    const uint32_t a1 = SpiOf(t.a, 1), a2 = SpiOf(t.a, 2);
    const TimePoint t_clear = t.sim.now();
    ike::ClearFilter f;
    if (by_map) {
      f.map_name = "green";
    } else {
      f.ipsec_only = true;
    }
    t.a.Clear(f);
    ASSERT_TRUE(t.sim.RunUntil(
        [&] {
          const uint32_t n1 = SpiOf(t.a, 1), n2 = SpiOf(t.a, 2);
          return n1 && n2 && n1 != a1 && n2 != a2 && t.a.ChildSas().size() == 2 &&
                 t.b.ChildSas().size() == 2;
        },
        t.sim.now() + Seconds(5)));
    EXPECT_EQ(Sent(t.sim, Ip("192.0.2.1"), 37, t_clear).size(), 2u);  // two Deletes
    EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kIkeSaInit, t_clear), IsEmpty());
    EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), kCreateChildSa, t_clear), SizeIs(2));
    const auto ike1 = t.a.node().Ikev2Sas(t.sim.now());
    ASSERT_THAT(ike1, SizeIs(1));
    EXPECT_EQ(ike1[0].spi_local, ike0[0].spi_local);
    t.sim.RunFor(Seconds(1));
    EXPECT_TRUE(Matching(t.a.ChildSasWithKeys(), t.b.ChildSasWithKeys(), 1));
    EXPECT_TRUE(Matching(t.a.ChildSasWithKeys(), t.b.ChildSasWithKeys(), 2));
    // Another map's name clears nothing.
    ike::ClearFilter other;
    other.map_name = "blue";
    const TimePoint t2 = t.sim.now();
    t.a.Clear(other);
    t.sim.RunFor(Seconds(1));
    EXPECT_THAT(Sent(t.sim, Ip("192.0.2.1"), 37, t2), IsEmpty());
    EXPECT_THAT(t.a.ChildSas(), SizeIs(2));
  }
}

}  // namespace
}  // namespace ikepulse::scenario
