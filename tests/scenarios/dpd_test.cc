// Dead Peer Detection end to end in virtual time: the seed's timeline to the microsecond, the
// other keepalive settings, on-demand, suppression, loss, late ACKs. Two ikepulse nodes over a
// 5 ms link; A is the gateway under test (keep-up toward B).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr Duration kLink = Millis(5);

struct Dpd {
  sim::Simulator sim{3};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 101};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 202};
  sim::Link& link;
  TimePoint t0;  // A's last authenticated message from B (QM2) = when A's child SA came up

  Dpd(config::KeepaliveConfig ka_a, config::KeepaliveConfig ka_b = {}, Duration delay = kLink)
      : link(sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), delay)) {
    SiteSpec sa;
    sa.self = Ip("192.0.2.1");
    sa.peers = {Ip("192.0.2.2")};
    sa.keepalive = ka_a;
    sa.keep_up = true;
    SiteSpec sb;
    sb.self = Ip("192.0.2.2");
    sb.peers = {Ip("192.0.2.1")};
    sb.local_lan = "203.0.113.0";
    sb.remote_lan = "198.51.100.0";
    sb.keepalive = ka_b;
    b.SetConfig(MakeConfig(sb));
    a.SetConfig(MakeConfig(sa));
    EXPECT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, sim.now() + Seconds(60)));
    t0 = OfKind(a.events(), EventKind::kChildSaUp).front().at;
  }
  std::vector<ike::Event> A(EventKind k) const { return OfKind(a.events(), k); }
  std::vector<Duration> ATimes(EventKind k) const {
    std::vector<Duration> out;
    for (const auto& e : A(k)) out.push_back(e.at - t0);
    return out;
  }
};

// The seed's trace: keepalive 10 2 periodic, the peer silent from T0.
TEST(DpdTimeline, Periodic10Retry2DeadAtTwentySeconds) {
  Dpd d(Keepalive(10, 2, true));
  d.b.Kill();
  d.sim.RunFor(Seconds(30));
  EXPECT_THAT(d.ATimes(EventKind::kDpdSent),
              ElementsAre(Seconds(10), Seconds(12), Seconds(14), Seconds(16), Seconds(18)));
  EXPECT_THAT(d.ATimes(EventKind::kPeerDead), ElementsAre(Seconds(20)));
  // Error counts 0..4 with the sends; seq +1 per packet.
  auto sent = d.A(EventKind::kDpdSent);
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].value2, i);
    EXPECT_EQ(sent[i].value, sent[0].value + i);
  }
  EXPECT_EQ(sent[0].value & 0x80000000u, 0u);  // top bit clear (RFC 3706 §6.1)
  // The tunnel went down at the verdict, with Delete notifications sent to the dead peer.
  auto down = d.A(EventKind::kIkeSaDown);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].at, d.t0 + Seconds(20));
  EXPECT_EQ(down[0].text, "peers alive");
  EXPECT_TRUE(d.a.ChildSas().empty());
  bool logged = false;
  for (const auto& e : d.A(EventKind::kLog))
    if (e.text == "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is DOWN. Peer 192.0.2.2:500 Id: "
                  "192.0.2.2" && e.at == d.t0 + Seconds(20))
      logged = true;
  EXPECT_TRUE(logged);
}

TEST(DpdTimeline, Periodic3600Retry60) {
  Dpd d(Keepalive(3600, 60, true));
  d.b.Kill();
  d.sim.RunFor(Seconds(4000));
  EXPECT_THAT(d.ATimes(EventKind::kDpdSent),
              ElementsAre(Seconds(3600), Seconds(3660), Seconds(3720), Seconds(3780), Seconds(3840)));
  EXPECT_THAT(d.ATimes(EventKind::kPeerDead), ElementsAre(Seconds(3900)));
}

// The seed's HA advice: keepalive 10, retry 5.
TEST(DpdTimeline, Periodic10Retry5) {
  Dpd d(Keepalive(10, 5, true));
  d.b.Kill();
  d.sim.RunFor(Seconds(60));
  EXPECT_THAT(d.ATimes(EventKind::kDpdSent),
              ElementsAre(Seconds(10), Seconds(15), Seconds(20), Seconds(25), Seconds(30)));
  EXPECT_THAT(d.ATimes(EventKind::kPeerDead), ElementsAre(Seconds(35)));
}

TEST(DpdTimeline, LivePeerAnswersEveryTenSeconds) {
  Dpd d(Keepalive(10, 2, true));
  d.sim.RunFor(Seconds(60));
  // Each R-U-THERE is answered after one round trip (10 ms); the next goes 10 s after that.
  EXPECT_THAT(d.ATimes(EventKind::kDpdSent),
              ElementsAre(Seconds(10), Seconds(20) + Millis(10), Seconds(30) + Millis(20),
                          Seconds(40) + Millis(30), Seconds(50) + Millis(40)));
  EXPECT_EQ(d.A(EventKind::kDpdAckReceived).size(), 5u);
  EXPECT_THAT(d.A(EventKind::kPeerDead), IsEmpty());
  // B answered every one (it has no keepalive of its own: answering does not depend on it).
  EXPECT_EQ(OfKind(d.b.events(), EventKind::kDpdAckSent).size(), 5u);
  EXPECT_THAT(OfKind(d.b.events(), EventKind::kDpdSent), IsEmpty());
  // ACKs echo the sequence numbers.
  auto sent = d.A(EventKind::kDpdSent);
  auto acked = d.A(EventKind::kDpdAckReceived);
  for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(acked[i].value, sent[i].value);
}

TEST(DpdTimeline, AckAtTheThirdRetryEndsTheRound) {
  Dpd d(Keepalive(10, 2, true));
  // Drop A's first three R-U-THEREs (T0+10, +12, +14); the one at +16 is answered.
  int informational_from_a = 0;
  d.link.DropIf([&](const ike::Datagram& dg) {
    if (dg.local.ip != Ip("192.0.2.1")) return false;
    const size_t off = dg.data.size() > 4 && dg.data[0] == 0 && dg.data[1] == 0 &&
                               dg.data[2] == 0 && dg.data[3] == 0 ? 4 : 0;
    if (dg.data.size() < off + 28 || dg.data[off + 18] != 5) return false;
    return ++informational_from_a <= 3;
  });
  d.sim.RunFor(Seconds(30));
  EXPECT_THAT(d.ATimes(EventKind::kDpdSent),
              ElementsAre(Seconds(10), Seconds(12), Seconds(14), Seconds(16),
                          Seconds(26) + Millis(10)));
  EXPECT_THAT(d.ATimes(EventKind::kDpdAckReceived),
              ElementsAre(Seconds(16) + Millis(10), Seconds(26) + Millis(20)));
  EXPECT_THAT(d.A(EventKind::kPeerDead), IsEmpty());
}

TEST(DpdTimeline, OneLostRUThereOutOfFiveIsNoDeath) {
  Dpd d(Keepalive(10, 2, true));
  int n = 0;
  d.link.DropIf([&](const ike::Datagram& dg) {
    if (dg.local.ip != Ip("192.0.2.1")) return false;
    const size_t off = dg.data.size() > 4 && dg.data[0] == 0 && dg.data[1] == 0 &&
                               dg.data[2] == 0 && dg.data[3] == 0 ? 4 : 0;
    if (dg.data.size() < off + 28 || dg.data[off + 18] != 5) return false;
    return ++n == 1;  // only the very first R-U-THERE is lost
  });
  d.sim.RunFor(Seconds(60));
  EXPECT_THAT(d.A(EventKind::kPeerDead), IsEmpty());
  EXPECT_EQ(d.ATimes(EventKind::kDpdSent)[1], Seconds(12));  // one retry
  EXPECT_EQ(d.ATimes(EventKind::kDpdAckReceived)[0], Seconds(12) + Millis(10));
}

// An inbound IKE message suppresses the periodic hello: B probes every 7 s, so A, whose
// interval is 10 s, never needs to send one — and still answers every probe.
TEST(DpdTimeline, InboundIkeSuppressesPeriodicHello) {
  Dpd d(Keepalive(10, 2, true), Keepalive(7, 2, true));
  d.sim.RunFor(Seconds(60));
  EXPECT_THAT(d.A(EventKind::kDpdSent), IsEmpty());
  EXPECT_GE(OfKind(d.b.events(), EventKind::kDpdSent).size(), 8u);
  EXPECT_EQ(OfKind(d.b.events(), EventKind::kDpdSent).size(), d.A(EventKind::kDpdAckSent).size());
}

// A peer that answers 3 s late (1.5 s each way) with retry 2: the ACK for the first probe
// arrives after the first retry went out; it is still in the round's window, so no false
// death. The late ACK for the retry is then ignored.
TEST(DpdTimeline, SlowPeerAnsweringAfterThreeSecondsIsNotDeclaredDead) {
  Dpd d(Keepalive(10, 2, true), {}, Millis(1500));
  d.sim.RunFor(Seconds(120));
  EXPECT_THAT(d.A(EventKind::kPeerDead), IsEmpty());
  auto times = d.ATimes(EventKind::kDpdSent);
  ASSERT_GE(times.size(), 2u);
  EXPECT_EQ(times[0], Seconds(10));
  EXPECT_EQ(times[1], Seconds(12));  // retry before the ACK arrives at +13
  EXPECT_EQ(d.ATimes(EventKind::kDpdAckReceived)[0], Seconds(13));
}

TEST(DpdOnDemand, NoTrafficNothingSentForAnHour) {
  Dpd d(Keepalive(10, 2, false));
  d.b.Kill();
  d.sim.RunFor(Seconds(3500));
  EXPECT_THAT(d.A(EventKind::kDpdSent), IsEmpty());
  EXPECT_FALSE(d.a.ChildSas().empty());
  // "With no traffic, a dead peer is noticed only at the next rekey" (DESIGN.md §3.3): the
  // IPsec SA (lifetime 3600 s) is rekeyed 30 s early; that Quick Mode goes unanswered.
  d.sim.RunFor(Seconds(100));
  EXPECT_THAT(d.A(EventKind::kDpdSent), IsEmpty());
  EXPECT_THAT(d.A(EventKind::kPeerDead), IsEmpty());
  auto giveup = d.A(EventKind::kGiveUp);
  ASSERT_EQ(giveup.size(), 1u);
  EXPECT_EQ(giveup[0].at, d.t0 + Seconds(3570 + 23));
  EXPECT_TRUE(d.a.ChildSas().empty());  // expired at T0+3600
}

TEST(DpdOnDemand, SteadyOutboundTrafficToADeadPeer) {
  Dpd d(Keepalive(10, 2, false));
  d.b.Kill();
  const uint32_t spi_in = d.a.ChildSas().front().spi_in;
  // Outbound ESP every 100 ms, starting 50 ms after T0; nothing comes back.
  const TimePoint start = d.t0 + Millis(50);
  d.sim.RunUntil(start);
  for (int i = 0; i < 300 && d.a.ChildSas().size(); ++i) {
    d.a.OnChildTraffic(spi_in, /*inbound=*/false, 100);
    d.sim.RunFor(Millis(100));
  }
  // First outbound packet at or after T0+10: T0+10.05 s. Dead 5 x 2 s later.
  EXPECT_THAT(d.ATimes(EventKind::kDpdSent),
              ElementsAre(Millis(10050), Millis(12050), Millis(14050), Millis(16050), Millis(18050)));
  EXPECT_THAT(d.ATimes(EventKind::kPeerDead), ElementsAre(Millis(20050)));
}

TEST(DpdOnDemand, TwoWayTrafficNeedsNoProbe) {
  Dpd d(Keepalive(10, 2, false));
  auto ch = d.a.ChildSas().front();
  const TimePoint first = d.sim.now();
  for (int i = 0; i < 600; ++i) {
    d.a.OnChildTraffic(ch.spi_in, false, 100);
    d.a.OnChildTraffic(ch.spi_in, true, 100);
    d.sim.RunFor(Millis(100));
  }
  EXPECT_THAT(d.A(EventKind::kDpdSent), IsEmpty());
  EXPECT_EQ(d.a.ChildSas().front().pkts_in, 600u);
  // The counters and last-packet times `show crypto ipsec sa` prints.
  const auto after = d.a.ChildSas().front();
  EXPECT_EQ(after.pkts_out, 600u);
  EXPECT_EQ(after.bytes_in, 60000u);
  EXPECT_EQ(after.bytes_out, 60000u);
  ASSERT_TRUE(after.last_in.has_value() && after.last_out.has_value());
  EXPECT_EQ(*after.last_in, first + Millis(59900));  // the 600th, 100 ms before the end
  EXPECT_EQ(*after.last_out, *after.last_in);
  EXPECT_FALSE(ch.last_in.has_value());  // before any traffic
}

TEST(DpdDebugTrace, MatchesTheSeedEventForEvent) {
  Dpd d(Keepalive(10, 2, true));
  d.a.SetDebug(true);
  d.b.Kill();
  const size_t first = d.a.events().size();
  d.sim.RunFor(Seconds(21));
  std::vector<std::string> lines;
  for (size_t i = first; i < d.a.events().size(); ++i) {
    const auto& e = d.a.events()[i];
    if (e.kind != EventKind::kDebug && e.kind != EventKind::kLog) continue;
    const std::string& t = e.text;
    if (t.rfind("ISAKMP:(1002)", 0) == 0) continue;  // keep-up: the next attempt (failover_test)
    for (const char* key : {"sending packet", "incrementing error counter", "not responding",
                            "paranoid", "deleting SA reason", "SESSION_STATUS", "IM_ALIVE",
                            "PEERS_ALIVE"})
      if (t.find(key) != std::string::npos) {
        lines.push_back(t);
        break;
      }
  }
  const std::string tag = "ISAKMP:(1001):";
  const std::string send = tag + " sending packet to 192.0.2.2 my_port 500 peer_port 500 (I) QM_IDLE";
  const std::string inc = tag + "incrementing error counter on sa: PEERS_ALIVE_TIMER";
  const std::string retry_in = tag + "Input = IKE_MSG_FROM_TIMER, IKE_TIMER_PEERS_ALIVE";
  std::vector<std::string> expect = {send, tag + "Input = IKE_MSG_FROM_TIMER, IKE_TIMER_IM_ALIVE"};
  for (int i = 0; i < 4; ++i) expect.insert(expect.end(), {inc, send, retry_in});
  expect.insert(expect.end(),
                {inc, tag + "peer 192.0.2.2 not responding!",
                 tag + "peer does not do paranoid keepalives.",
                 tag + "deleting SA reason \"peers alive\" state (I) QM_IDLE (peer 192.0.2.2) input queue 0",
                 "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is DOWN. Peer 192.0.2.2:500 Id: 192.0.2.2",
                 send, send});  // Delete notifications: IPsec SAs, then the ISAKMP SA
  EXPECT_EQ(lines, expect);
}

}  // namespace
}  // namespace ikepulse::scenario
