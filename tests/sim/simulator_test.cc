// Tests of the simulator itself, with a toy ping/pong SimHost (no IKE engine needed).
#include "sim/simulator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sim/matchers.h"

namespace ikepulse::sim {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const IpAddress kA = IpAddress::V4(10, 0, 0, 1);
const IpAddress kB = IpAddress::V4(10, 0, 0, 2);
const IpAddress kC = IpAddress::V4(10, 0, 0, 3);
const IpAddress kNobody = IpAddress::V4(10, 0, 0, 99);

std::string Text(ByteSpan b) { return std::string(b.begin(), b.end()); }
Bytes ToBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Sends "ping N" to `peer` every `interval` (if pinging), answers every "ping N" with
// "pong N", and logs every pong it receives as a kLog event (with `at` left unset so that the
// simulator stamps it).
class PingHost : public SimHost {
 public:
  PingHost(IpAddress self, IpAddress peer, Duration interval, TimePoint first)
      : self_(self), peer_(peer), interval_(interval), next_(first) {}
  // A host that only answers.
  explicit PingHost(IpAddress self) : self_(self), peer_(self) {}

  void OnDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote, ByteSpan data,
                  ike::Outbox& out) override {
    received.push_back({now, Text(data)});
    EXPECT_EQ(local.ip, self_);
    const std::string s = Text(data);
    if (s.rfind("ping ", 0) == 0) {
      out.datagrams.push_back({local, remote, ToBytes("pong " + s.substr(5))});
    } else if (s.rfind("pong ", 0) == 0) {
      ike::Event e;
      e.kind = ike::EventKind::kLog;
      e.peer = remote.ip;
      e.text = s;
      out.events.push_back(e);
    }
  }
  void OnTimeout(TimePoint now, ike::Outbox& out) override {
    ++timeouts;
    EXPECT_GE(now, next_);
    out.datagrams.push_back(
        {Endpoint{self_, 500}, Endpoint{peer_, 500}, ToBytes("ping " + std::to_string(seq_++))});
    next_ = seq_ < limit ? now + interval_ : kNever;
  }
  TimePoint NextDeadline() const override { return next_; }

  struct Rx {
    TimePoint at;
    std::string text;
  };
  std::vector<Rx> received;
  int timeouts = 0;
  int limit = 1'000'000;

 private:
  IpAddress self_, peer_;
  Duration interval_{};
  TimePoint next_ = kNever;
  int seq_ = 0;
};

TEST(Simulator, StartsAtFixedNonZeroTime) {
  Simulator sim;
  EXPECT_EQ(sim.now(), kSimStart);
  EXPECT_EQ(ToMicros(sim.now()), 1'000'000'000);
  sim.RunFor(Seconds(5));
  EXPECT_EQ(sim.now(), kSimStart + Seconds(5));
  EXPECT_EQ(sim.NextEventTime(), kNever);
}

TEST(Simulator, DeliversAfterLinkDelayBothWays) {
  Simulator sim;
  const TimePoint t0 = sim.now();
  PingHost a(kA, kB, Seconds(1), t0 + Seconds(1));
  PingHost b(kB);
  const HostId ia = sim.AddHost(a, "A", {kA});
  const HostId ib = sim.AddHost(b, "B", {kB});
  sim.Connect(ia, ib, Millis(5));
  sim.RunFor(Seconds(2) + Millis(500));

  ASSERT_THAT(b.received, SizeIs(2));
  EXPECT_EQ(b.received[0].at, t0 + Seconds(1) + Millis(5));
  EXPECT_EQ(b.received[0].text, "ping 0");
  EXPECT_EQ(b.received[1].at, t0 + Seconds(2) + Millis(5));
  ASSERT_THAT(a.received, SizeIs(2));
  EXPECT_EQ(a.received[0].at, t0 + Seconds(1) + Millis(10));
  EXPECT_EQ(a.received[0].text, "pong 0");

  // Events are stamped with the virtual time of the call and kept per host.
  EXPECT_THAT(sim.events(ia), ElementsAre(At(t0 + Seconds(1) + Millis(10), ike::EventKind::kLog),
                                          At(t0 + Seconds(2) + Millis(10), ike::EventKind::kLog)));
  EXPECT_THAT(sim.events(ia)[0], AllOf(WithPeer(kB), WithText(HasSubstr("pong 0"))));
  EXPECT_THAT(sim.events(ib), SizeIs(0));

  // Packet log: sent + delivered for each of the 4 datagrams.
  auto sent_to_b = FindPackets(sim, PacketFate::kSent,
                               [](const PacketRecord& r) { return r.datagram.remote.ip == kB; });
  ASSERT_THAT(sent_to_b, SizeIs(2));
  EXPECT_THAT(*sent_to_b[0], AllOf(PacketAt(t0 + Seconds(1)), SentFrom(kA), SentTo(kB)));
  EXPECT_EQ(sent_to_b[0]->from, ia);
  auto delivered = FindPackets(sim, PacketFate::kDelivered);
  ASSERT_THAT(delivered, SizeIs(4));
  EXPECT_EQ(delivered[0]->id, sent_to_b[0]->id);
  EXPECT_EQ(delivered[0]->to, ib);
  EXPECT_EQ(sim.counters().sent, 4u);
  EXPECT_EQ(sim.counters().delivered, 4u);
  EXPECT_EQ(sim.counters().dropped, 0u);
  EXPECT_EQ(sim.now(), t0 + Seconds(2) + Millis(500));
}

TEST(Simulator, SameInstantRunsInInsertionOrder) {
  for (bool a_first : {true, false}) {
    Simulator sim;
    const TimePoint t1 = sim.now() + Seconds(1);
    PingHost a(kA, kC, Seconds(1), t1);
    PingHost b(kB, kC, Seconds(1), t1);
    PingHost c(kC);
    a.limit = b.limit = 1;
    if (a_first) {
      sim.AddHost(a, "A", {kA});
      sim.AddHost(b, "B", {kB});
    } else {
      sim.AddHost(b, "B", {kB});
      sim.AddHost(a, "A", {kA});
    }
    sim.AddHost(c, "C", {kC});
    sim.Connect(kA, kC, Millis(1));
    sim.Connect(kB, kC, Millis(1));
    sim.RunFor(Seconds(3));
    auto rx = FindPackets(sim, PacketFate::kDelivered,
                          [](const PacketRecord& r) { return r.datagram.remote.ip == kC; });
    ASSERT_THAT(rx, SizeIs(2));
    EXPECT_EQ(rx[0]->at, rx[1]->at);
    EXPECT_EQ(rx[0]->datagram.local.ip, a_first ? kA : kB);
    EXPECT_EQ(rx[1]->datagram.local.ip, a_first ? kB : kA);
  }
}

TEST(Simulator, ZeroDelayDeliversAtSameInstantAfterSender) {
  Simulator sim;
  PingHost a(kA, kB, Seconds(1), sim.now() + Seconds(1));
  PingHost b(kB);
  a.limit = 1;
  sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  sim.Connect(kA, kB, Duration::zero());
  sim.RunFor(Seconds(1));
  ASSERT_THAT(a.received, SizeIs(1));
  EXPECT_EQ(a.received[0].at, sim.start() + Seconds(1));
}

std::vector<uint64_t> LostIds(uint64_t seed, double loss) {
  Simulator sim(seed);
  PingHost a(kA, kB, Millis(100), sim.now() + Millis(100));
  PingHost b(kB);
  a.limit = 1000;
  sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  sim.Connect(kA, kB, Millis(5)).SetLoss(loss);
  sim.RunFor(Seconds(200));
  std::vector<uint64_t> ids;
  for (const PacketRecord* r : FindPackets(sim, PacketFate::kDropped)) {
    EXPECT_EQ(r->reason, DropReason::kRandomLoss);
    ids.push_back(r->id);
  }
  return ids;
}

TEST(Simulator, RandomLossIsDeterministicPerSeed) {
  const auto run1 = LostIds(42, 0.3);
  const auto run2 = LostIds(42, 0.3);
  const auto other = LostIds(43, 0.3);
  EXPECT_EQ(run1, run2);
  EXPECT_NE(run1, other);
  // ~1000 pings + ~700 pongs sent, 30% lost: loose bounds, the point is "some, not all".
  EXPECT_GT(run1.size(), 350u);
  EXPECT_LT(run1.size(), 650u);
  EXPECT_THAT(LostIds(42, 0.0), SizeIs(0));
}

TEST(Simulator, DropNextDropsExactlyN) {
  Simulator sim;
  const TimePoint t0 = sim.now();
  PingHost a(kA, kB, Seconds(1), t0 + Seconds(1));
  PingHost b(kB);
  a.limit = 4;
  sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  sim.Connect(kA, kB, Millis(5)).DropNext(2);
  sim.RunFor(Seconds(10));
  ASSERT_THAT(b.received, SizeIs(2));
  EXPECT_EQ(b.received[0].text, "ping 2");
  EXPECT_EQ(b.received[0].at, t0 + Seconds(3) + Millis(5));
  auto dropped = FindPackets(sim, PacketFate::kDropped);
  ASSERT_THAT(dropped, SizeIs(2));
  EXPECT_THAT(*dropped[0], AllOf(DroppedBecause(DropReason::kScripted), PacketAt(t0 + Seconds(1))));
  EXPECT_THAT(*dropped[1], PacketAt(t0 + Seconds(2)));
}

TEST(Simulator, DropAllThenRestore) {
  Simulator sim;
  const TimePoint t0 = sim.now();
  PingHost a(kA, kB, Seconds(1), t0 + Seconds(1));
  PingHost b(kB);
  sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  Link& ab = sim.Connect(kA, kB, Millis(5));
  ab.DropAll();
  sim.RunFor(Seconds(3) + Millis(500));  // pings 0,1,2 lost
  EXPECT_THAT(b.received, SizeIs(0));
  EXPECT_TRUE(ab.down());
  ab.Restore();
  sim.RunFor(Seconds(1));  // ping 3 arrives
  ASSERT_THAT(b.received, SizeIs(1));
  EXPECT_EQ(b.received[0].text, "ping 3");
  EXPECT_EQ(ab.dropped(), 3u);
  EXPECT_THAT(FindPackets(sim, PacketFate::kDropped),
              ElementsAre(testing::Pointee(DroppedBecause(DropReason::kLinkDown)),
                          testing::Pointee(DroppedBecause(DropReason::kLinkDown)),
                          testing::Pointee(DroppedBecause(DropReason::kLinkDown))));
}

TEST(Simulator, InFlightDatagramSurvivesLaterDropAll) {
  Simulator sim;
  PingHost a(kA, kB, Seconds(1), sim.now() + Seconds(1));
  PingHost b(kB);
  a.limit = 1;
  sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  Link& ab = sim.Connect(kA, kB, Millis(50));
  sim.RunFor(Seconds(1) + Millis(10));  // ping in flight
  ab.DropAll();
  sim.RunFor(Seconds(1));
  EXPECT_THAT(b.received, SizeIs(1));  // judged at send time
  EXPECT_THAT(a.received, SizeIs(0));  // the pong was sent after DropAll
}

TEST(Simulator, DropIfPredicate) {
  Simulator sim;
  PingHost a(kA, kB, Seconds(1), sim.now() + Seconds(1));
  PingHost b(kB);
  a.limit = 3;
  sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  Link& ab = sim.Connect(kA, kB, Millis(5));
  ab.DropIf([](const ike::Datagram& d) { return Text(d.data).rfind("pong", 0) == 0; });
  sim.RunFor(Seconds(5));
  EXPECT_THAT(b.received, SizeIs(3));
  EXPECT_THAT(a.received, SizeIs(0));
  EXPECT_THAT(FindPackets(sim, PacketFate::kDropped), SizeIs(3));
  EXPECT_EQ(FindPackets(sim, PacketFate::kDropped)[0]->reason, DropReason::kPredicate);
}

TEST(Simulator, KilledHostNeitherReceivesNorSendsNorTimesOut) {
  Simulator sim;
  const TimePoint t0 = sim.now();
  PingHost a(kA, kB, Seconds(1), t0 + Seconds(1));
  PingHost b(kB, kA, Seconds(1), t0 + Seconds(1));  // both ping
  const HostId ia = sim.AddHost(a, "A", {kA});
  const HostId ib = sim.AddHost(b, "B", {kB});
  sim.Connect(kA, kB, Millis(5));
  sim.RunFor(Seconds(1) + Millis(500));
  EXPECT_EQ(b.timeouts, 1);
  sim.Kill(ib);
  EXPECT_FALSE(sim.alive(ib));
  sim.RunFor(Seconds(3));  // A pings at 2,3,4: dropped at B; B sends nothing
  EXPECT_EQ(b.timeouts, 1);
  EXPECT_THAT(b.received, SizeIs(2));  // ping 0 and pong 0 before the kill
  auto dead = FindPackets(sim, PacketFate::kDropped);
  ASSERT_THAT(dead, SizeIs(3));
  EXPECT_THAT(*dead[0], AllOf(DroppedBecause(DropReason::kHostDead),
                              PacketAt(t0 + Seconds(2) + Millis(5))));
  // Revive: B's deadline (t0+2s) is long past, so it fires at once, then every second.
  sim.Revive(ib);
  sim.RunFor(Millis(100));
  EXPECT_EQ(b.timeouts, 2);
  EXPECT_THAT(a.received.back().text, "ping 1");
  EXPECT_EQ(a.received.back().at, t0 + Seconds(4) + Millis(500) + Millis(5));
  (void)ia;
}

TEST(Simulator, NoRouteAndNoHostAreDrops) {
  Simulator sim;
  PingHost a(kA, kNobody, Seconds(1), sim.now() + Seconds(1));
  PingHost c(kC, kB, Seconds(1), sim.now() + Seconds(1));
  a.limit = c.limit = 1;
  sim.AddHost(a, "A", {kA});
  sim.AddHost(c, "C", {kC});
  sim.Connect(kA, kNobody, Millis(1));
  sim.RunFor(Seconds(2));
  auto dropped = FindPackets(sim, PacketFate::kDropped);
  ASSERT_THAT(dropped, SizeIs(2));
  // C's ping has no link (judged at send time), A's has a link but no owner (on arrival).
  EXPECT_THAT(*dropped[0], DroppedBecause(DropReason::kNoRoute));
  EXPECT_THAT(*dropped[1], DroppedBecause(DropReason::kNoHost));

  // The default link routes between any two addresses.
  Simulator sim2;
  PingHost x(kC, kB, Seconds(1), sim2.now() + Seconds(1));
  PingHost y(kB);
  x.limit = 1;
  sim2.AddHost(x, "X", {kC});
  sim2.AddHost(y, "Y", {kB});
  sim2.EnableDefaultLink(Millis(7));
  sim2.RunFor(Seconds(2));
  ASSERT_THAT(y.received, SizeIs(1));
  EXPECT_EQ(y.received[0].at, sim2.start() + Seconds(1) + Millis(7));
}

TEST(Simulator, RunUntilPredicateStopsAtTheEvent) {
  Simulator sim;
  const TimePoint t0 = sim.now();
  PingHost a(kA, kB, Seconds(1), t0 + Seconds(1));
  PingHost b(kB);
  sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  sim.Connect(kA, kB, Millis(5));
  EXPECT_TRUE(sim.RunUntil([&] { return a.received.size() == 3; }, t0 + Seconds(60)));
  EXPECT_EQ(sim.now(), t0 + Seconds(3) + Millis(10));

  // Never true: stops at the deadline, with the events before it processed.
  EXPECT_FALSE(sim.RunUntil([&] { return a.received.size() == 100; }, t0 + Seconds(10)));
  EXPECT_EQ(sim.now(), t0 + Seconds(10));
  EXPECT_THAT(a.received, SizeIs(9));

  // Already true: returns at once without advancing.
  EXPECT_TRUE(sim.RunUntil([] { return true; }, t0 + Seconds(20)));
  EXPECT_EQ(sim.now(), t0 + Seconds(10));
}

// A host whose deadline moves later on every datagram: stale queue entries must not fire it.
class MovingDeadline : public SimHost {
 public:
  void OnDatagram(TimePoint now, const Endpoint&, const Endpoint&, ByteSpan,
                  ike::Outbox&) override {
    deadline = now + Seconds(10);
  }
  void OnTimeout(TimePoint now, ike::Outbox&) override {
    fired.push_back(now);
    deadline = kNever;
  }
  TimePoint NextDeadline() const override { return deadline; }
  TimePoint deadline = kNever;
  std::vector<TimePoint> fired;
};

TEST(Simulator, RearmsAfterEveryCallAndIgnoresStaleEntries) {
  Simulator sim;
  const TimePoint t0 = sim.now();
  PingHost a(kA, kB, Seconds(1), t0 + Seconds(1));
  a.limit = 5;  // pings at 1..5 s
  MovingDeadline m;
  sim.AddHost(a, "A", {kA});
  sim.AddHost(m, "M", {kB});
  sim.Connect(kA, kB, Duration::zero());
  sim.RunFor(Seconds(30));
  // Only the last re-arm (5 s + 10 s) fires.
  EXPECT_THAT(m.fired, ElementsAre(t0 + Seconds(15)));
}

TEST(Simulator, PastDeadlineFiresNowAndCallRoutesOutbox) {
  Simulator sim;
  sim.RunFor(Seconds(100));
  PingHost a(kA, kB, Seconds(1), sim.start());  // deadline already 100 s in the past
  PingHost b(kB);
  a.limit = 1;
  const HostId ia = sim.AddHost(a, "A", {kA});
  sim.AddHost(b, "B", {kB});
  sim.Connect(kA, kB, Millis(1));
  sim.RunFor(Duration::zero());
  EXPECT_EQ(a.timeouts, 1);
  ASSERT_THAT(FindPackets(sim, PacketFate::kSent), SizeIs(1));
  EXPECT_EQ(FindPackets(sim, PacketFate::kSent)[0]->at, sim.start() + Seconds(100));

  // Call: an operation run as host A at now; its outbox is routed like any other.
  sim.Call(ia, [&](TimePoint now, ike::Outbox& out) {
    out.datagrams.push_back({Endpoint{kA, 500}, Endpoint{kB, 500}, ToBytes("ping 77")});
    ike::Event e;
    e.at = now;
    e.kind = ike::EventKind::kInitiate;
    out.events.push_back(e);
  });
  sim.RunFor(Millis(2));
  EXPECT_EQ(b.received.back().text, "ping 77");
  EXPECT_THAT(sim.events(ia), ElementsAre(At(sim.start() + Seconds(100), ike::EventKind::kInitiate),
                                          IsKind(ike::EventKind::kLog),
                                          IsKind(ike::EventKind::kLog)));
}

TEST(Simulator, IsakmpHeaderHelpers) {
  ike::Datagram d;
  d.local = Endpoint{kA, 500};
  d.remote = Endpoint{kB, 500};
  d.data.assign(28, 0);
  d.data[18] = 2;  // Identity Protection (Main Mode)
  d.data[20] = 0x12;
  d.data[23] = 0x34;
  EXPECT_EQ(IsakmpExchangeType(d), 2);
  EXPECT_EQ(IsakmpMessageId(d), 0x12000034u);
  d.data.resize(27);
  EXPECT_EQ(IsakmpExchangeType(d), std::nullopt);
  // Port 4500: a non-ESP marker first; an ESP packet (non-zero SPI) is not ISAKMP.
  ike::Datagram n;
  n.local = Endpoint{kA, 4500};
  n.remote = Endpoint{kB, 4500};
  n.data.assign(32, 0);
  n.data[4 + 18] = 5;
  EXPECT_EQ(IsakmpExchangeType(n), 5);
  n.data[0] = 1;
  EXPECT_EQ(IsakmpExchangeType(n), std::nullopt);
}

// Many hosts, many events: checks that the per-event cost does not grow with the number of
// hosts (this would take minutes if any step were O(hosts)).
TEST(Simulator, ScalesToManyHosts) {
  constexpr int kHosts = 20000;
  Simulator sim;
  sim.set_record_packets(false);
  sim.set_record_events(false);
  sim.EnableDefaultLink(Millis(3));
  PingHost server(IpAddress::V4(192, 0, 2, 1));
  sim.AddHost(server, "server", {IpAddress::V4(192, 0, 2, 1)});
  std::vector<std::unique_ptr<PingHost>> clients;
  uint64_t pongs = 0;
  sim.SetEventObserver([&](HostId, const ike::Event& e) {
    if (e.kind == ike::EventKind::kLog) ++pongs;
  });
  for (int i = 0; i < kHosts; ++i) {
    const IpAddress ip = IpAddress::V4FromU32(0x0A000000u + static_cast<uint32_t>(i) + 1);
    clients.push_back(std::make_unique<PingHost>(ip, IpAddress::V4(192, 0, 2, 1), Seconds(10),
                                                 sim.now() + Millis(i % 1000)));
    sim.AddHost(*clients.back(), "c", {ip});
  }
  sim.RunFor(Seconds(60));
  EXPECT_EQ(pongs, static_cast<uint64_t>(kHosts) * 6);
  EXPECT_EQ(sim.counters().delivered, static_cast<uint64_t>(kHosts) * 12);
  EXPECT_TRUE(sim.packets().empty());
  EXPECT_TRUE(sim.events(1).empty());
}

}  // namespace
}  // namespace ikepulse::sim
