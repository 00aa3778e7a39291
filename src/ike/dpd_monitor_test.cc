#include "ike/dpd_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include "common/random.h"
#include "common/time.h"
#include "config/config.h"

namespace ikepulse::ike {

void PrintTo(const DpdAction& a, std::ostream* os) {
  switch (a.kind) {
    case DpdAction::Kind::kNone:
      *os << "None";
      return;
    case DpdAction::Kind::kSendRUThere:
      *os << "RUThere(seq=" << a.seq << ", err=" << a.error_count
          << (a.retransmission ? ", retx)" : ")");
      return;
    case DpdAction::Kind::kPeerDead:
      *os << "PeerDead(err=" << a.error_count << ")";
      return;
  }
}

namespace {

using Kind = DpdAction::Kind;
using config::DpdMode;

// A start instant with a microsecond part, so that every expectation is checked exactly.
const TimePoint t0 = FromMicros(5'000'123);

config::KeepaliveConfig Keepalive(uint32_t interval, uint32_t retry, DpdMode mode) {
  config::KeepaliveConfig k;
  k.enabled = true;
  k.interval_s = interval;
  k.retry_s = retry;
  k.mode = mode;
  return k;
}

// Returns the same byte forever: U32() == 0xbbbbbbbb.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(uint8_t b) : b_(b) {}
  void Fill(std::span<uint8_t> out) override { std::memset(out.data(), b_, out.size()); }

 private:
  uint8_t b_;
};

struct Ev {
  TimePoint at;
  DpdAction action;
  bool operator==(const Ev&) const = default;
};
void PrintTo(const Ev& e, std::ostream* os) {
  *os << "At(" << FormatTime(e.at) << ", ";
  PrintTo(e.action, os);
  *os << ")";
}

DpdAction Probe(uint32_t seq, uint32_t error_count) {
  return DpdAction{Kind::kSendRUThere, seq, error_count, error_count > 0};
}
DpdAction Dead() { return DpdAction{Kind::kPeerDead, 0, DpdMonitor::kMaxRetryExpiries, false}; }

// ngtcp2-style driver: fire every deadline up to and including `end`.
std::vector<Ev> RunUntil(DpdMonitor& m, TimePoint end) {
  std::vector<Ev> out;
  while (m.NextDeadline() <= end) {
    const TimePoint t = m.NextDeadline();
    out.push_back({t, m.OnTimeout(t)});
    if (out.back().action.kind == Kind::kNone) {
      ADD_FAILURE() << "OnTimeout at its own deadline did nothing";
      break;
    }
  }
  return out;
}

// A peer that answers R-U-THERE number n (0-based, every packet counted) after reply(n), or
// never (std::nullopt). ACKs and timeouts are processed in time order; an ACK wins a tie.
struct SimResult {
  std::vector<Ev> events;
  std::vector<std::pair<TimePoint, uint32_t>> accepted;
  std::vector<std::pair<TimePoint, uint32_t>> rejected;
  size_t Count(Kind k) const {
    return std::count_if(events.begin(), events.end(),
                         [k](const Ev& e) { return e.action.kind == k; });
  }
};
SimResult Simulate(DpdMonitor& m, TimePoint end,
                   const std::function<std::optional<Duration>(int)>& reply) {
  SimResult r;
  std::multimap<TimePoint, uint32_t> acks;
  int n = 0;
  while (true) {
    const TimePoint td = m.NextDeadline();
    const TimePoint ta = acks.empty() ? kNever : acks.begin()->first;
    if (std::min(td, ta) > end) break;
    if (ta <= td) {
      const uint32_t seq = acks.begin()->second;
      acks.erase(acks.begin());
      (m.OnAck(seq, ta) ? r.accepted : r.rejected).push_back({ta, seq});
      continue;
    }
    const DpdAction a = m.OnTimeout(td);
    r.events.push_back({td, a});
    if (a.kind == Kind::kSendRUThere) {
      if (std::optional<Duration> d = reply(n)) acks.emplace(td + *d, a.seq);
      ++n;
    }
  }
  return r;
}

class DpdMonitorTest : public ::testing::Test {
 protected:
  SeededRandom rng_{7};
};

// --- R1 ----------------------------------------------------------------------------------

TEST_F(DpdMonitorTest, R1_PeerWithoutDpdVendorIdNeverInitiates) {
  for (DpdMode mode : {DpdMode::kPeriodic, DpdMode::kOnDemand}) {
    DpdMonitor m(Keepalive(10, 2, mode), rng_);
    m.OnEstablished(t0, /*peer_supports_dpd=*/false);
    EXPECT_FALSE(m.Active());
    EXPECT_EQ(m.state(), DpdMonitor::State::kInactive);
    EXPECT_EQ(m.NextDeadline(), kNever);
    for (TimePoint t = t0; t < t0 + Seconds(60); t += Millis(100)) m.OnOutboundTraffic(t);
    EXPECT_EQ(m.NextDeadline(), kNever);
    EXPECT_EQ(RunUntil(m, t0 + Seconds(3600)), std::vector<Ev>{});
  }
}

TEST_F(DpdMonitorTest, R1_KeepaliveDisabledNeverInitiates) {
  config::KeepaliveConfig off;  // `no crypto isakmp keepalive`
  DpdMonitor m(off, rng_);
  m.OnEstablished(t0, /*peer_supports_dpd=*/true);
  EXPECT_FALSE(m.Active());
  for (TimePoint t = t0; t < t0 + Seconds(60); t += Millis(100)) m.OnOutboundTraffic(t);
  EXPECT_EQ(m.NextDeadline(), kNever);
  EXPECT_EQ(RunUntil(m, t0 + Seconds(3600)), std::vector<Ev>{});
}

TEST_F(DpdMonitorTest, R1_NothingBeforeEstablished) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  EXPECT_EQ(m.state(), DpdMonitor::State::kNotEstablished);
  EXPECT_FALSE(m.Active());
  EXPECT_EQ(m.NextDeadline(), kNever);
  EXPECT_EQ(m.last_rx(), kNever);
  m.OnInboundAuthenticated(t0);
  EXPECT_EQ(m.NextDeadline(), kNever);
}

// --- R5: the timelines -------------------------------------------------------------------

TEST_F(DpdMonitorTest, R5_Periodic10Retry2MatchesTheSeedTrace) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  EXPECT_TRUE(m.Active());
  const uint32_t s = m.next_seq();
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(10));

  // Step by step, with the deadline after each step.
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(10)), Probe(s, 0));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(12));
  EXPECT_TRUE(m.probing());
  EXPECT_EQ(m.first_seq_of_round(), s);
  EXPECT_EQ(m.outstanding(), 1u);
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(12)), Probe(s + 1, 1));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(14));
  EXPECT_EQ(RunUntil(m, t0 + Seconds(19)), (std::vector<Ev>{{t0 + Seconds(14), Probe(s + 2, 2)},
                                                            {t0 + Seconds(16), Probe(s + 3, 3)},
                                                            {t0 + Seconds(18), Probe(s + 4, 4)}}));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(20));
  EXPECT_EQ(m.outstanding(), 5u);
  EXPECT_EQ(m.error_count(), 4u);
  EXPECT_EQ(RunUntil(m, t0 + Seconds(20)), (std::vector<Ev>{{t0 + Seconds(20), Dead()}}));
  EXPECT_EQ(m.state(), DpdMonitor::State::kDead);
}

TEST_F(DpdMonitorTest, R5_LongestTimers3600Retry60DieAt3900) {
  DpdMonitor m(Keepalive(3600, 60, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  EXPECT_EQ(RunUntil(m, t0 + Seconds(4000)), (std::vector<Ev>{{t0 + Seconds(3600), Probe(s, 0)},
                                                              {t0 + Seconds(3660), Probe(s + 1, 1)},
                                                              {t0 + Seconds(3720), Probe(s + 2, 2)},
                                                              {t0 + Seconds(3780), Probe(s + 3, 3)},
                                                              {t0 + Seconds(3840), Probe(s + 4, 4)},
                                                              {t0 + Seconds(3600 + 300), Dead()}}));
}

TEST_F(DpdMonitorTest, R5_HaAdvice10Retry5DiesAt35) {
  DpdMonitor m(Keepalive(10, 5, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  EXPECT_EQ(RunUntil(m, t0 + Seconds(100)), (std::vector<Ev>{{t0 + Seconds(10), Probe(s, 0)},
                                                             {t0 + Seconds(15), Probe(s + 1, 1)},
                                                             {t0 + Seconds(20), Probe(s + 2, 2)},
                                                             {t0 + Seconds(25), Probe(s + 3, 3)},
                                                             {t0 + Seconds(30), Probe(s + 4, 4)},
                                                             {t0 + Seconds(10 + 25), Dead()}}));
}

// --- R10 ---------------------------------------------------------------------------------

TEST_F(DpdMonitorTest, R10_DeathIsFinalUntilEstablishedAgain) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  ASSERT_EQ(RunUntil(m, t0 + Seconds(20)).back(), (Ev{t0 + Seconds(20), Dead()}));
  EXPECT_FALSE(m.Active());
  EXPECT_EQ(m.NextDeadline(), kNever);
  EXPECT_FALSE(m.OnAck(s + 4, t0 + Seconds(21)));  // too late: ignored
  m.OnInboundAuthenticated(t0 + Seconds(21));
  m.OnOutboundTraffic(t0 + Seconds(21));
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(22)), DpdAction{});
  EXPECT_EQ(m.NextDeadline(), kNever);
  EXPECT_EQ(m.last_rx(), t0);
  EXPECT_EQ(RunUntil(m, t0 + Seconds(3600)), std::vector<Ev>{});

  // A new Main Mode on the same SA object: a fresh interval, sequence numbers continue.
  m.OnEstablished(t0 + Seconds(30), true);
  EXPECT_TRUE(m.Active());
  EXPECT_FALSE(m.probing());
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(40));
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(40)), Probe(s + 5, 0));
}

// --- R4: on-demand -----------------------------------------------------------------------

TEST_F(DpdMonitorTest, R4_OnDemandWithoutTrafficSendsNothingForAnHour) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kOnDemand), rng_);
  m.OnEstablished(t0, true);
  EXPECT_TRUE(m.Active());
  EXPECT_EQ(m.NextDeadline(), kNever);
  EXPECT_EQ(RunUntil(m, t0 + Seconds(3600)), std::vector<Ev>{});
  EXPECT_FALSE(m.probing());
}

TEST_F(DpdMonitorTest, R4_OnDemandSteadyOutboundTrafficToADeadPeer) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kOnDemand), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  std::vector<Ev> events;
  // An outbound packet every 100 ms, at t0+50ms, t0+150ms, ...: the first one at or after
  // t0+10s is at t0+10.05s.
  for (TimePoint t = t0 + Millis(50); t <= t0 + Seconds(60); t += Millis(100)) {
    for (Ev& e : RunUntil(m, t)) events.push_back(e);
    m.OnOutboundTraffic(t);
    if (t < t0 + Seconds(10)) {
      ASSERT_EQ(m.NextDeadline(), kNever) << FormatTime(t);
    }
    for (Ev& e : RunUntil(m, t)) events.push_back(e);
  }
  const TimePoint p = t0 + Millis(10'050);
  EXPECT_EQ(events, (std::vector<Ev>{{p, Probe(s, 0)},
                                     {p + Seconds(2), Probe(s + 1, 1)},
                                     {p + Seconds(4), Probe(s + 2, 2)},
                                     {p + Seconds(6), Probe(s + 3, 3)},
                                     {p + Seconds(8), Probe(s + 4, 4)},
                                     {p + Seconds(10), Dead()}}));
}

TEST_F(DpdMonitorTest, R4_OnDemandOutboundTrafficIsIgnoredInPeriodicMode) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  m.OnOutboundTraffic(t0 + Seconds(5));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(10));
}

TEST_F(DpdMonitorTest, R6_OnDemandAckEndsRoundNextProbeAtFirstTrafficIntervalLater) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kOnDemand), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  m.OnOutboundTraffic(t0 + Seconds(10));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(10));
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(10)), Probe(s, 0));
  m.OnOutboundTraffic(t0 + Seconds(11));  // during the round: nothing more
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(12));
  EXPECT_TRUE(m.OnAck(s, t0 + Millis(10'020)));
  EXPECT_EQ(m.NextDeadline(), kNever);
  m.OnOutboundTraffic(t0 + Millis(20'019));  // 1 us short of I since the ACK
  EXPECT_EQ(m.NextDeadline(), kNever);
  m.OnOutboundTraffic(t0 + Millis(20'020));
  EXPECT_EQ(m.NextDeadline(), t0 + Millis(20'020));
  EXPECT_EQ(m.OnTimeout(t0 + Millis(20'020)), Probe(s + 1, 0));
}

// --- R3: which inbound traffic counts ----------------------------------------------------

TEST_F(DpdMonitorTest, R3_OnDemandInboundEspCountsAsLivenessByDefault) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kOnDemand), rng_);
  m.OnEstablished(t0, true);
  EXPECT_TRUE(m.esp_counts_as_liveness());
  std::vector<Ev> events;
  // Bidirectional traffic for an hour: never a probe.
  for (TimePoint t = t0 + Millis(50); t <= t0 + Seconds(3600); t += Millis(100)) {
    m.OnInboundTraffic(t);
    m.OnOutboundTraffic(t);
    for (Ev& e : RunUntil(m, t)) events.push_back(e);
  }
  EXPECT_EQ(events, std::vector<Ev>{});
  EXPECT_EQ(m.last_rx(), t0 + Millis(3'599'950));
  // The peer falls silent after its last packet at L; outbound goes on.
  const TimePoint last = m.last_rx();
  const uint32_t s = m.next_seq();
  for (TimePoint t = last + Millis(100); t <= last + Seconds(11); t += Millis(100)) {
    m.OnOutboundTraffic(t);
    for (Ev& e : RunUntil(m, t)) events.push_back(e);
  }
  EXPECT_EQ(events, (std::vector<Ev>{{last + Seconds(10), Probe(s, 0)}}));
}

TEST_F(DpdMonitorTest, R3_OnDemandEspCanBeExcludedByOption) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kOnDemand), rng_,
               DpdOptions{.esp_counts_as_liveness = false});
  m.OnEstablished(t0, true);
  EXPECT_FALSE(m.esp_counts_as_liveness());
  const uint32_t s = m.next_seq();
  std::vector<Ev> events;
  for (TimePoint t = t0 + Millis(50); t <= t0 + Seconds(11); t += Millis(100)) {
    m.OnInboundTraffic(t);
    m.OnOutboundTraffic(t);
    for (Ev& e : RunUntil(m, t)) events.push_back(e);
  }
  EXPECT_EQ(events, (std::vector<Ev>{{t0 + Millis(10'050), Probe(s, 0)}}));
  EXPECT_EQ(m.last_rx(), t0);
}

TEST_F(DpdMonitorTest, R3_PeriodicInboundEspDoesNotSuppressHelloByDefault) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  EXPECT_FALSE(m.esp_counts_as_liveness());
  const uint32_t s = m.next_seq();
  std::vector<Ev> events;
  for (TimePoint t = t0 + Millis(50); t <= t0 + Seconds(11); t += Millis(100)) {
    m.OnInboundTraffic(t);
    for (Ev& e : RunUntil(m, t)) events.push_back(e);
  }
  EXPECT_EQ(events, (std::vector<Ev>{{t0 + Seconds(10), Probe(s, 0)}}));
  // ESP does not end the round either.
  EXPECT_TRUE(m.probing());
}

TEST_F(DpdMonitorTest, R3_PeriodicInboundEspSuppressesHelloWhenOptedIn) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_,
               DpdOptions{.esp_counts_as_liveness = true});
  m.OnEstablished(t0, true);
  EXPECT_TRUE(m.esp_counts_as_liveness());
  std::vector<Ev> events;
  for (TimePoint t = t0 + Millis(50); t <= t0 + Seconds(3600); t += Millis(100)) {
    m.OnInboundTraffic(t);
    for (Ev& e : RunUntil(m, t)) events.push_back(e);
  }
  EXPECT_EQ(events, std::vector<Ev>{});
  EXPECT_EQ(m.NextDeadline(), t0 + Millis(3'599'950) + Seconds(10));
}

// --- R2 ----------------------------------------------------------------------------------

TEST_F(DpdMonitorTest, R2_InboundIkeMessageSuppressesPeriodicHello) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  m.OnInboundAuthenticated(t0 + Seconds(7));  // e.g. the peer's own R-U-THERE
  EXPECT_EQ(m.last_rx(), t0 + Seconds(7));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(17));
  EXPECT_EQ(RunUntil(m, t0 + Seconds(17) - Micros(1)), std::vector<Ev>{});
  EXPECT_EQ(RunUntil(m, t0 + Seconds(17)), (std::vector<Ev>{{t0 + Seconds(17), Probe(s, 0)}}));
}

TEST_F(DpdMonitorTest, R6_InboundIkeMessageEndsARound) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  RunUntil(m, t0 + Seconds(12));  // R-U-THERE + one retry
  ASSERT_TRUE(m.probing());
  m.OnInboundAuthenticated(t0 + Seconds(13));
  EXPECT_FALSE(m.probing());
  EXPECT_EQ(m.error_count(), 0u);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(23));
}

// --- R6/R7/R8: ACKs ----------------------------------------------------------------------

TEST_F(DpdMonitorTest, R6_AckAtTheThirdRetryEndsTheRound) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  ASSERT_EQ(RunUntil(m, t0 + Seconds(16)).back(), (Ev{t0 + Seconds(16), Probe(s + 3, 3)}));
  EXPECT_TRUE(m.OnAck(s + 3, t0 + Millis(16'500)));
  EXPECT_FALSE(m.probing());
  EXPECT_EQ(m.outstanding(), 0u);
  EXPECT_EQ(m.error_count(), 0u);
  EXPECT_EQ(m.last_rx(), t0 + Millis(16'500));
  EXPECT_EQ(m.NextDeadline(), t0 + Millis(26'500));
  // The next round starts from scratch: error count 0, not a retransmission.
  EXPECT_EQ(RunUntil(m, t0 + Millis(26'500)),
            (std::vector<Ev>{{t0 + Millis(26'500), Probe(s + 4, 0)}}));
  EXPECT_EQ(m.first_seq_of_round(), s + 4);
  EXPECT_EQ(m.NextDeadline(), t0 + Millis(28'500));
}

TEST_F(DpdMonitorTest, R7_AckWithAWrongSeqIsIgnored) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  EXPECT_FALSE(m.OnAck(s, t0 + Seconds(5)));  // no round running
  EXPECT_EQ(m.last_rx(), t0);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(10));
  RunUntil(m, t0 + Seconds(12));  // s and s+1 sent
  for (uint32_t bad : {s - 1, s + 2, s + 1000, s ^ 0x80000000u}) {
    EXPECT_FALSE(m.OnAck(bad, t0 + Seconds(13))) << bad;
  }
  EXPECT_TRUE(m.probing());
  EXPECT_EQ(m.outstanding(), 2u);
  EXPECT_EQ(m.error_count(), 1u);
  EXPECT_EQ(m.last_rx(), t0);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(14));
  EXPECT_EQ(RunUntil(m, t0 + Seconds(20)).back(), (Ev{t0 + Seconds(20), Dead()}));
}

TEST_F(DpdMonitorTest, R8_LateAckAfterThreeSecondsIsNotAFalseDeath) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  SimResult r = Simulate(m, t0 + Seconds(3600), [](int) { return Seconds(3); });
  EXPECT_EQ(r.Count(Kind::kPeerDead), 0u);
  // Round 1: s at 10, s+1 at 12, ACK(s) at 13 accepted, ACK(s+1) at 15 ignored.
  // Round 2 starts I after the accepted ACK: 23.
  ASSERT_GE(r.events.size(), 4u);
  EXPECT_EQ(std::vector<Ev>(r.events.begin(), r.events.begin() + 4),
            (std::vector<Ev>{{t0 + Seconds(10), Probe(s, 0)},
                             {t0 + Seconds(12), Probe(s + 1, 1)},
                             {t0 + Seconds(23), Probe(s + 2, 0)},
                             {t0 + Seconds(25), Probe(s + 3, 1)}}));
  ASSERT_GE(r.accepted.size(), 2u);
  EXPECT_EQ(r.accepted[0], std::make_pair(t0 + Seconds(13), s));
  EXPECT_EQ(r.accepted[1], std::make_pair(t0 + Seconds(26), s + 2));
  EXPECT_EQ(r.rejected[0], std::make_pair(t0 + Seconds(15), s + 1));
  // Steady state: every round is 2 packets, rounds start at 10 + 13k s. In the hour: 276
  // rounds answered (k = 0..275, ACK at 13 + 13k <= 3600), and round 276 (packets at 3598 and
  // 3600) still in flight: 554 packets, 276 accepted ACKs, and the 276 late ACKs for the
  // second packets (at 15 + 13k <= 3600) ignored.
  EXPECT_EQ(r.accepted.size(), 276u);
  EXPECT_EQ(r.events.size(), 554u);
  EXPECT_EQ(r.rejected.size(), 276u);
  for (const Ev& e : r.events) {
    EXPECT_LE(e.action.error_count, 1u);
  }
}

TEST_F(DpdMonitorTest, R8_OneLostRUThereOutOfFiveIsNoDeath) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  // Answers in 5 ms, except packet #2 (0-based), which is lost; likewise #7, #12, ...
  SimResult r = Simulate(m, t0 + Seconds(600), [](int n) -> std::optional<Duration> {
    if (n % 5 == 2) return std::nullopt;
    return Millis(5);
  });
  EXPECT_EQ(r.Count(Kind::kPeerDead), 0u);
  EXPECT_TRUE(r.rejected.empty());
  ASSERT_GE(r.events.size(), 5u);
  const TimePoint third = t0 + Seconds(30) + Millis(10);  // after two 5 ms ACKs
  EXPECT_EQ(std::vector<Ev>(r.events.begin(), r.events.begin() + 5),
            (std::vector<Ev>{{t0 + Seconds(10), Probe(s, 0)},
                             {t0 + Seconds(20) + Millis(5), Probe(s + 1, 0)},
                             {third, Probe(s + 2, 0)},               // lost
                             {third + Seconds(2), Probe(s + 3, 1)},  // answered
                             {third + Seconds(2) + Millis(5) + Seconds(10), Probe(s + 4, 0)}}));
  for (const Ev& e : r.events) {
    EXPECT_LE(e.action.error_count, 1u);
  }
}

// --- R9 ----------------------------------------------------------------------------------

TEST_F(DpdMonitorTest, R9_SeqStartsWithTopBitClearAndIncrementsByOnePerPacket) {
  for (uint64_t seed = 0; seed < 64; ++seed) {
    SeededRandom rng(seed);
    DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng);
    EXPECT_EQ(m.next_seq() & 0x80000000u, 0u) << seed;
  }
  FixedRandom ones(0xff);  // U32() == 0xffffffff
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), ones);
  EXPECT_EQ(m.next_seq(), 0x7fffffffu);
  m.OnEstablished(t0, true);
  std::vector<uint32_t> seqs;
  // Round 1 is answered at its second packet; round 2 dies. Numbers run on across rounds.
  for (const Ev& e : RunUntil(m, t0 + Seconds(12))) seqs.push_back(e.action.seq);
  ASSERT_TRUE(m.OnAck(0x80000000u, t0 + Seconds(13)));
  for (const Ev& e : RunUntil(m, t0 + Seconds(60))) {
    if (e.action.kind == Kind::kSendRUThere) seqs.push_back(e.action.seq);
  }
  EXPECT_EQ(seqs, (std::vector<uint32_t>{0x7fffffff, 0x80000000, 0x80000001, 0x80000002, 0x80000003,
                                         0x80000004, 0x80000005}));
}

// --- R11 ---------------------------------------------------------------------------------

TEST_F(DpdMonitorTest, R11_UpdateConfigAppliesFromTheNextInterval) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  m.UpdateConfig(Keepalive(30, 5, DpdMode::kPeriodic), t0 + Seconds(5));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(10));  // the running interval keeps I = 10
  EXPECT_EQ(m.interval_s(), 10u);
  // The round starting after the change uses r = 5.
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(10)), Probe(s, 0));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(15));
  // A change of r during a round does not touch it.
  m.UpdateConfig(Keepalive(30, 2, DpdMode::kPeriodic), t0 + Seconds(11));
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(15)), Probe(s + 1, 1));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(20));
  EXPECT_EQ(m.retry_s(), 5u);
  // After the ACK, the next interval uses I = 30 and the next round r = 2.
  ASSERT_TRUE(m.OnAck(s, t0 + Seconds(16)));
  EXPECT_EQ(m.interval_s(), 30u);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(46));
  EXPECT_EQ(RunUntil(m, t0 + Seconds(100)), (std::vector<Ev>{{t0 + Seconds(46), Probe(s + 2, 0)},
                                                             {t0 + Seconds(48), Probe(s + 3, 1)},
                                                             {t0 + Seconds(50), Probe(s + 4, 2)},
                                                             {t0 + Seconds(52), Probe(s + 5, 3)},
                                                             {t0 + Seconds(54), Probe(s + 6, 4)},
                                                             {t0 + Seconds(56), Dead()}}));
}

TEST_F(DpdMonitorTest, R11_DisablingStopsAtOnceEnablingStartsAFreshInterval) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  RunUntil(m, t0 + Seconds(12));
  ASSERT_TRUE(m.probing());
  m.UpdateConfig(config::KeepaliveConfig{}, t0 + Seconds(13));  // `no crypto isakmp keepalive`
  EXPECT_FALSE(m.Active());
  EXPECT_EQ(m.NextDeadline(), kNever);
  EXPECT_FALSE(m.OnAck(s, t0 + Seconds(13)));  // the abandoned round is gone
  EXPECT_EQ(RunUntil(m, t0 + Seconds(3600)), std::vector<Ev>{});
  m.UpdateConfig(Keepalive(10, 2, DpdMode::kPeriodic), t0 + Seconds(4000));
  EXPECT_TRUE(m.Active());
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(4010));  // not at once, though last_rx is old
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(4010)), Probe(s + 2, 0));
}

TEST_F(DpdMonitorTest, R11_ModeChangeStartsAFreshInterval) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kOnDemand), rng_);
  m.OnEstablished(t0, true);
  m.UpdateConfig(Keepalive(10, 2, DpdMode::kPeriodic), t0 + Seconds(100));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(110));
  m.UpdateConfig(Keepalive(10, 2, DpdMode::kOnDemand), t0 + Seconds(105));
  EXPECT_EQ(m.NextDeadline(), kNever);
  m.OnOutboundTraffic(t0 + Seconds(114));  // 9 s into the fresh interval
  EXPECT_EQ(m.NextDeadline(), kNever);
  m.OnOutboundTraffic(t0 + Seconds(115));
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(115));
}

TEST_F(DpdMonitorTest, R11_PeerWithoutDpdStaysInactiveWhenEnabled) {
  DpdMonitor m(config::KeepaliveConfig{}, rng_);
  m.OnEstablished(t0, false);
  m.UpdateConfig(Keepalive(10, 2, DpdMode::kPeriodic), t0 + Seconds(1));
  EXPECT_FALSE(m.Active());
  EXPECT_EQ(m.NextDeadline(), kNever);
}

// --- R12 ---------------------------------------------------------------------------------

TEST_F(DpdMonitorTest, R12_EarlyWakeUpIsHarmlessLateOneActsAsIfOnTime) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  EXPECT_EQ(m.OnTimeout(t0 + Seconds(10) - Micros(1)), DpdAction{});
  EXPECT_FALSE(m.probing());
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(10));
  EXPECT_EQ(m.next_seq(), s);
  // 300 ms late: sends, and the retry is armed from the actual expiry.
  EXPECT_EQ(m.OnTimeout(t0 + Millis(10'300)), Probe(s, 0));
  EXPECT_EQ(m.NextDeadline(), t0 + Millis(12'300));
}

TEST_F(DpdMonitorTest, R12_CallsAFewMillisecondsLateDoNotAddUpOverARound) {
  DpdMonitor m(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m.OnEstablished(t0, true);
  const uint32_t s = m.next_seq();
  // Every expiry handled 4 ms late (the daemon's timer grid): each retry is still armed from
  // the deadline, and the verdict comes at T0 + 20 s + 4 ms, not + 20 ms.
  EXPECT_EQ(m.OnTimeout(t0 + Millis(10'004)), Probe(s, 0));
  for (uint32_t k = 1; k <= 4; ++k) {
    EXPECT_EQ(m.NextDeadline(), t0 + Seconds(10 + 2 * k));
    EXPECT_EQ(m.OnTimeout(m.NextDeadline() + Millis(4)).kind, DpdAction::Kind::kSendRUThere);
  }
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(20));
  EXPECT_EQ(m.OnTimeout(t0 + Millis(20'004)).kind, DpdAction::Kind::kPeerDead);
  // The tolerance is inclusive; one microsecond more arms from the call.
  DpdMonitor m2(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m2.OnEstablished(t0, true);
  m2.OnTimeout(t0 + Seconds(10) + DpdMonitor::kLateTolerance);
  EXPECT_EQ(m2.NextDeadline(), t0 + Seconds(12));
  DpdMonitor m3(Keepalive(10, 2, DpdMode::kPeriodic), rng_);
  m3.OnEstablished(t0, true);
  m3.OnTimeout(t0 + Seconds(10) + DpdMonitor::kLateTolerance + Micros(1));
  EXPECT_EQ(m3.NextDeadline(), t0 + Seconds(12) + DpdMonitor::kLateTolerance + Micros(1));
}

}  // namespace
}  // namespace ikepulse::ike

namespace ikepulse::ike {
namespace {

// R13: the peer's own R-U-THERE crossed ours and ended the round; the ACK for our seq that
// arrives afterwards is genuine and fresh: it is liveness once (the interval restarts at its
// arrival), a second ACK for the same seq is not, and a seq never sent is not ours.
TEST(DpdMonitorR13, FirstAckOfAClosedRoundIsLivenessOnce) {
  SeededRandom rng(7);
  config::KeepaliveConfig k;
  k.enabled = true;
  k.interval_s = 10;
  k.retry_s = 2;
  k.mode = config::DpdMode::kPeriodic;
  DpdMonitor m(k, rng);
  const TimePoint t0 = FromMicros(5'000'123);
  m.OnEstablished(t0, true);
  EXPECT_EQ(m.OnLateAck(m.next_seq(), t0), DpdMonitor::LateAck::kNotOurs);  // no round yet
  const DpdAction a = m.OnTimeout(t0 + Seconds(10));
  ASSERT_EQ(a.kind, DpdAction::Kind::kSendRUThere);
  m.OnInboundAuthenticated(t0 + Seconds(10) + Millis(3));  // the peer's R-U-THERE crosses
  const TimePoint t6 = t0 + Seconds(10) + Millis(6);
  EXPECT_FALSE(m.OnAck(a.seq, t6));
  EXPECT_EQ(m.OnLateAck(a.seq + 1, t6), DpdMonitor::LateAck::kNotOurs);
  EXPECT_EQ(m.OnLateAck(a.seq - 1, t6), DpdMonitor::LateAck::kNotOurs);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(20) + Millis(3));
  EXPECT_EQ(m.OnLateAck(a.seq, t6), DpdMonitor::LateAck::kCounted);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(20) + Millis(6));  // heard at +6 ms
  // The same ACK again (a replay beyond the M-ID window, or a repeat) changes nothing.
  EXPECT_EQ(m.OnLateAck(a.seq, t0 + Seconds(15)), DpdMonitor::LateAck::kDuplicate);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(20) + Millis(6));
}

// R8/R13: ACK(s) ends the round; the late ACK(s+1) of the retry counts once, ACK(s) again
// not; once a new round runs, the old round's seqs end nothing.
TEST(DpdMonitorR13, OtherSeqOfTheClosedRoundCountsOnce) {
  SeededRandom rng(9);
  config::KeepaliveConfig k;
  k.enabled = true;
  k.interval_s = 10;
  k.retry_s = 2;
  k.mode = config::DpdMode::kPeriodic;
  DpdMonitor m(k, rng);
  const TimePoint t0 = FromMicros(1'000'000);
  m.OnEstablished(t0, true);
  const DpdAction s0 = m.OnTimeout(t0 + Seconds(10));
  const DpdAction s1 = m.OnTimeout(t0 + Seconds(12));
  ASSERT_EQ(s1.seq, s0.seq + 1);
  EXPECT_TRUE(m.OnAck(s0.seq, t0 + Seconds(13)));
  EXPECT_EQ(m.OnLateAck(s0.seq, t0 + Seconds(14)), DpdMonitor::LateAck::kDuplicate);
  EXPECT_EQ(m.OnLateAck(s1.seq, t0 + Seconds(15)), DpdMonitor::LateAck::kCounted);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(25));
  EXPECT_EQ(m.OnLateAck(s1.seq, t0 + Seconds(16)), DpdMonitor::LateAck::kDuplicate);
  const DpdAction s2 = m.OnTimeout(t0 + Seconds(25));
  ASSERT_EQ(s2.kind, DpdAction::Kind::kSendRUThere);
  EXPECT_FALSE(m.OnAck(s1.seq, t0 + Seconds(26)));
  EXPECT_EQ(m.OnLateAck(s1.seq, t0 + Seconds(26)), DpdMonitor::LateAck::kNotOurs);
  EXPECT_EQ(m.NextDeadline(), t0 + Seconds(27));
}

}  // namespace
}  // namespace ikepulse::ike
