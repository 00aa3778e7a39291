// The entry back-off (DESIGN.md §6.6) in virtual time: a kept-up IKEv2 entry whose peer
// refuses at once (NO_PROPOSAL_CHOSEN to IKE_SA_INIT, AUTHENTICATION_FAILED to IKE_AUTH) does
// not loop: once every peer of its list has failed in a row, the next attempt waits 1 s after
// the start of that cycle, then 2 s, 4 s ... capped at the initiator's give-up time (23 s);
// failover to the next `set peer` stays immediate, and an SA that comes up resets it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint8_t kIkeSaInit = 34;

config::Config Flex(const SiteSpec& s, const std::string& psk) {
  config::Config c = MakeConfig(s);
  AddFlex(c, s.peers, psk);
  return c;
}

// A responder whose only proposal is AES-CBC-256: A's AES-CBC-128 gets NO_PROPOSAL_CHOSEN.
config::Config Refusing(const SiteSpec& s) {
  config::Config c = Flex(s, s.psk);
  c.ikev2_proposals["P1"].encryption = {config::Ikev2Encryption::kAesCbc256};
  return c;
}

// The instants of A's IKE_SA_INIT requests to `to`, from `from` on.
std::vector<TimePoint> InitsTo(const sim::Simulator& sim, const IpAddress& to, TimePoint from) {
  std::vector<TimePoint> out;
  for (const auto& r : sim.packets())
    if (r.at >= from && r.fate == sim::PacketFate::kSent &&
        r.datagram.local.ip == Ip("192.0.2.1") && r.datagram.remote.ip == to &&
        sim::IsakmpExchangeType(r.datagram) == kIkeSaInit)
      out.push_back(r.at);
  return out;
}

std::vector<TimePoint> At(TimePoint t0, std::initializer_list<int64_t> ms) {
  std::vector<TimePoint> out;
  for (int64_t m : ms) out.push_back(t0 + Millis(m));
  return out;
}

// One refusing peer: 0, 1, 3, 7, 15, 31 s, then every 23 s (54, 77 ... 284 s): 17 attempts in
// five minutes instead of one every round trip (10 ms here: 30,000).
const std::initializer_list<int64_t> kOnePeerMs = {0,      1000,   3000,   7000,   15000,  31000,
                                                   54000,  77000,  100000, 123000, 146000, 169000,
                                                   192000, 215000, 238000, 261000, 284000};

struct OnePeer {
  sim::Simulator sim{5};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  OnePeer() { sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5)); }
  static SiteSpec KeptUpA() {
    SiteSpec s = SiteA();
    s.keep_up = true;
    return s;
  }
};

TEST(Backoff, NoProposalChosenFromTheOnlyPeerBacksOffOneTwoFourUpToTheGiveUpTime) {
  OnePeer p;
  p.b.SetConfig(Refusing(SiteB()));
  const TimePoint t0 = p.sim.now();
  p.a.SetConfig(Flex(OnePeer::KeptUpA(), "kd94j1ksldz"));
  p.sim.RunFor(Seconds(300) - Millis(1));
  const auto inits = InitsTo(p.sim, Ip("192.0.2.2"), t0);
  EXPECT_THAT(inits, ElementsAreArray(At(t0, kOnePeerMs)));
  // Every attempt failed at once (one round trip), each a setup failure.
  auto gave_up = OfKind(p.a.events(), EventKind::kGiveUp);
  ASSERT_THAT(gave_up, SizeIs(17));
  for (size_t i = 0; i < gave_up.size(); ++i) EXPECT_EQ(gave_up[i].at, inits[i] + Millis(10)) << i;
  EXPECT_THAT(OfKind(p.a.events(), EventKind::kIkeSaUp), IsEmpty());
  // Nothing is left behind between attempts: no session, only the entry's retry deadline.
  EXPECT_EQ(p.a.node().Ikev2Sas(p.sim.now()).size(), 0u);
}

TEST(Backoff, AuthenticationFailedForAWrongPskBacksOffTheSameWay) {
  OnePeer p;
  p.b.SetConfig(Flex(SiteB(), "not-the-same-key"));
  const TimePoint t0 = p.sim.now();
  p.a.SetConfig(Flex(OnePeer::KeptUpA(), "kd94j1ksldz"));
  p.sim.RunFor(Seconds(300) - Millis(1));
  EXPECT_THAT(InitsTo(p.sim, Ip("192.0.2.2"), t0), ElementsAreArray(At(t0, kOnePeerMs)));
  // IKE_AUTH is refused one more round trip later: 20 ms after each IKE_SA_INIT.
  auto gave_up = OfKind(p.a.events(), EventKind::kGiveUp);
  ASSERT_THAT(gave_up, SizeIs(17));
  EXPECT_EQ(gave_up[0].at, t0 + Millis(20));
  EXPECT_EQ(gave_up[16].at, t0 + Millis(284020));
  EXPECT_THAT(OfKind(p.a.events(), EventKind::kIkeSaUp), IsEmpty());
}

TEST(Backoff, TwoRefusingPeersFailOverAtOnceAndBackOffPerFullCycle) {
  sim::Simulator sim{6};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 1};
  sim::SimNode b1{sim, "B1", {Ip("192.0.2.2")}, 10};
  sim::SimNode b2{sim, "B2", {Ip("192.0.2.3")}, 11};
  sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
  sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.3"), Millis(5));
  for (sim::SimNode* b : {&b1, &b2}) {
    SiteSpec sb = SiteB();
    sb.self = b->address();
    b->SetConfig(Refusing(sb));
  }
  SiteSpec sa = SiteA();
  sa.peers = {Ip("192.0.2.2"), Ip("192.0.2.3")};
  sa.keep_up = true;
  const TimePoint t0 = sim.now();
  a.SetConfig(Flex(sa, sa.psk));
  sim.RunFor(Seconds(120));
  // A cycle is B1 then B2 at once (10 ms later); the next cycle starts 1, 2, 4, 8, 16, 23, 23 s
  // after the one before.
  EXPECT_THAT(InitsTo(sim, Ip("192.0.2.2"), t0),
              ElementsAreArray(At(t0, {0, 1000, 3000, 7000, 15000, 31000, 54000, 77000, 100000})));
  EXPECT_THAT(InitsTo(sim, Ip("192.0.2.3"), t0),
              ElementsAreArray(At(t0, {10, 1010, 3010, 7010, 15010, 31010, 54010, 77010, 100010})));
  // The first failure moves to B2 at the instant it is known, as before.
  auto failover = OfKind(a.events(), EventKind::kFailover);
  ASSERT_THAT(failover, SizeIs(18));
  EXPECT_EQ(failover[0].at, t0 + Millis(10));
  EXPECT_EQ(failover[0].peer, Ip("192.0.2.3"));
  EXPECT_EQ(failover[1].at, t0 + Millis(20));
  EXPECT_EQ(failover[1].peer, Ip("192.0.2.2"));
}

TEST(Backoff, AFirstFailureOfTwoPeersGoesToTheSecondAtOnceAndItComesUp) {
  sim::Simulator sim{6};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 1};
  sim::SimNode b1{sim, "B1", {Ip("192.0.2.2")}, 10};
  sim::SimNode b2{sim, "B2", {Ip("192.0.2.3")}, 11};
  sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
  sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.3"), Millis(5));
  SiteSpec s1 = SiteB();
  s1.self = b1.address();
  b1.SetConfig(Refusing(s1));
  SiteSpec s2 = SiteB();
  s2.self = b2.address();
  b2.SetConfig(Flex(s2, s2.psk));
  SiteSpec sa = SiteA();
  sa.peers = {Ip("192.0.2.2"), Ip("192.0.2.3")};
  sa.keep_up = true;
  const TimePoint t0 = sim.now();
  a.SetConfig(Flex(sa, sa.psk));
  sim.RunFor(Seconds(60));
  EXPECT_THAT(InitsTo(sim, Ip("192.0.2.2"), t0), ElementsAreArray(At(t0, {0})));
  EXPECT_THAT(InitsTo(sim, Ip("192.0.2.3"), t0), ElementsAreArray(At(t0, {10})));
  auto up = OfKind(a.events(), EventKind::kIkeSaUp);
  ASSERT_THAT(up, SizeIs(1));
  EXPECT_EQ(up[0].at, t0 + Millis(30));
  EXPECT_EQ(a.ike_sa_count(), 1u);
}

// An entry brought up by traffic (no keep-up) waits the same way: packets every 10 ms for 30 s
// start attempts at 0, 1, 3, 7, 15 s only.
TEST(Backoff, TrafficEveryTenMillisecondsStartsNoFasterThanKeepUp) {
  OnePeer p;
  p.b.SetConfig(Refusing(SiteB()));
  p.a.SetConfig(Flex(SiteA(), "kd94j1ksldz"));
  const TimePoint t0 = p.sim.now();
  for (int i = 0; i < 3000; ++i) {
    p.a.OnOutboundTraffic("green", 1);
    p.sim.RunFor(Millis(10));
  }
  EXPECT_THAT(InitsTo(p.sim, Ip("192.0.2.2"), t0),
              ElementsAreArray(At(t0, {0, 1000, 3000, 7000, 15000})));
}

// An SA that comes up resets the back-off: after four refusals (0, 1, 3, 7 s) B gets the right
// key, A's fifth attempt (15 s) comes up; when B later refuses again and deletes the SA, A
// starts over at once and then waits 1 s, not 16 s.
TEST(Backoff, AnSaThatComesUpResetsTheBackoff) {
  OnePeer p;
  p.b.SetConfig(Flex(SiteB(), "not-the-same-key"));
  const TimePoint t0 = p.sim.now();
  p.a.SetConfig(Flex(OnePeer::KeptUpA(), "kd94j1ksldz"));
  p.sim.RunFor(Seconds(10));
  EXPECT_THAT(InitsTo(p.sim, Ip("192.0.2.2"), t0), ElementsAreArray(At(t0, {0, 1000, 3000, 7000})));
  p.b.SetConfig(Flex(SiteB(), "kd94j1ksldz"));
  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); }, t0 + Seconds(20)));
  auto up = OfKind(p.a.events(), EventKind::kIkeSaUp);
  ASSERT_THAT(up, SizeIs(1));
  EXPECT_EQ(up[0].at, t0 + Millis(15020));
  p.sim.RunUntil(t0 + Seconds(100));
  p.b.SetConfig(Flex(SiteB(), "not-the-same-key"));
  const TimePoint t1 = p.sim.now();
  p.b.Clear(ike::ClearFilter{});  // B deletes the IKE SA; A brings the entry up again at once
  p.sim.RunFor(Seconds(10));
  // The Delete reaches A 5 ms later; that attempt is refused, then 1 s, 2 s, 4 s.
  EXPECT_THAT(InitsTo(p.sim, Ip("192.0.2.2"), t1),
              ElementsAreArray(At(t1, {5, 1005, 3005, 7005})));
}

// IKEv1 is unchanged: a Main Mode to a silent peer gives up after its retransmissions (23 s),
// longer than any back-off, so a kept-up entry still starts again at the give-up instant.
TEST(Backoff, AnIkev1GiveUpIsNeverDelayed) {
  OnePeer p;
  p.b.Kill();
  SiteSpec sa = OnePeer::KeptUpA();
  const TimePoint t0 = p.sim.now();
  p.a.SetConfig(MakeConfig(sa));
  p.sim.RunFor(Seconds(300) - Millis(1));
  auto gave_up = OfKind(p.a.events(), EventKind::kGiveUp);
  ASSERT_THAT(gave_up, SizeIs(13));  // 23, 46 ... 299 s
  for (size_t i = 0; i < gave_up.size(); ++i)
    EXPECT_EQ(gave_up[i].at, t0 + Seconds(23 * static_cast<int64_t>(i + 1))) << i;
}

}  // namespace
}  // namespace ikepulse::scenario
