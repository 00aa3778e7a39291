// ike::Node::Clone: a deep copy of an engine in any state. The copy and the original then
// behave as two independent engines: the same inputs give byte-identical outputs (so a
// snapshot can stand for the exchange that built it), and what one does never reaches the
// other (so one snapshot can start many futures).
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/random.h"
#include "ike/node.h"
#include "scenarios/site_config.h"

namespace ikepulse::scenario {
namespace {

const IpAddress kA = Ip("192.0.2.1");
const IpAddress kB = Ip("192.0.2.2");

int Established(const ike::Node& n, TimePoint now) {
  int count = 0;
  for (const auto& s : n.IsakmpSas(now)) count += s.established;
  return count;
}

// Two engines wired back to back, datagrams delivered one at a time, 5 ms apart.
struct Pair {
  SeededRandom rng_a{11}, rng_b{22};
  std::unique_ptr<ike::Node> a = std::make_unique<ike::Node>(rng_a);
  std::unique_ptr<ike::Node> b = std::make_unique<ike::Node>(rng_b);
  TimePoint now = TimePoint(Seconds(1000));
  std::deque<ike::Datagram> in_flight;
  std::vector<std::string> log;  // every datagram sent, as "A>" / "B>" + hex
  TimePoint last_rx_a{};          // when A last received a datagram

  Pair() = default;
  // A copy of `o` in its current state: both engines cloned, the RNGs copied at their state.
  explicit Pair(const Pair& o)
      : rng_a(o.rng_a), rng_b(o.rng_b), a(o.a->Clone(rng_a)), b(o.b->Clone(rng_b)),
        now(o.now), in_flight(o.in_flight), last_rx_a(o.last_rx_a) {}

  void Route(ike::Outbox& out, bool from_a) {
    for (auto& d : out.datagrams) {
      log.push_back(std::string(from_a ? "A>" : "B>") + ToHex(d.data));
      in_flight.push_back(std::move(d));
    }
    out.Clear();
  }
  void Setup(bool dpd) {
    SiteSpec sa = SiteA(), sb = SiteB();
    if (dpd) sa.keepalive = sb.keepalive = Keepalive(10, 2, true);
    ike::Outbox out;
    a->SetConfig(MakeConfig(sa), now, out);
    Route(out, true);
    b->SetConfig(MakeConfig(sb), now, out);
    Route(out, false);
    a->Initiate(now, "green", 1, out);
    Route(out, true);
  }
  bool DeliverNext() {
    if (in_flight.empty()) return false;
    ike::Datagram d = std::move(in_flight.front());
    in_flight.pop_front();
    now += Millis(5);
    RunTimers();
    const bool to_a = d.remote.ip == kA;
    if (to_a) last_rx_a = now;
    ike::Outbox out;
    (to_a ? *a : *b).OnDatagram(now, d.remote, d.local, d.data, out);
    Route(out, to_a);
    return true;
  }
  void RunTimers() {
    for (bool is_a : {true, false}) {
      ike::Node& n = is_a ? *a : *b;
      for (int guard = 0; guard < 100 && n.NextDeadline() <= now; ++guard) {
        ike::Outbox out;
        n.OnTimeout(now, out);
        Route(out, is_a);
      }
    }
  }
  // Runs the virtual clock to `end`, serving every deadline on the way and dropping
  // whatever is in flight (the link is cut).
  void AdvanceDropping(TimePoint end) {
    for (int guard = 0; guard < 10000; ++guard) {
      const TimePoint next = std::min(a->NextDeadline(), b->NextDeadline());
      if (next > end) break;
      now = std::max(now, next);
      RunTimers();
      in_flight.clear();
    }
    now = end;
  }
  void DeliverAll() {
    for (int i = 0; i < 100 && DeliverNext(); ++i) {
    }
  }
};

TEST(NodeClone, ACloneMidMainModeFinishesTheExchangeByteForByteAsTheOriginal) {
  Pair p;
  p.Setup(/*dpd=*/true);
  // MM1, MM2 and MM3 delivered: B has derived the keys, A holds its DH key pair and waits
  // for MM4 (the clone must copy the key pair to finish).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.DeliverNext());
  Pair q(p);
  const size_t before = p.log.size();
  p.DeliverAll();
  q.DeliverAll();
  ASSERT_GT(p.log.size(), before + 4);  // MM4, MM5, MM6, QM1, QM2, QM3
  EXPECT_EQ(std::vector<std::string>(p.log.begin() + before, p.log.end()),
            std::vector<std::string>(q.log.begin(), q.log.end()));
  EXPECT_EQ(p.a->ChildSas(p.now).size(), 1u);
  EXPECT_EQ(q.a->ChildSas(q.now).size(), 1u);
  EXPECT_EQ(q.b->ChildSas(q.now)[0].spi_in, p.b->ChildSas(p.now)[0].spi_in);
}

TEST(NodeClone, WhatTheCloneDoesNeverReachesTheOriginal) {
  Pair p;
  p.Setup(/*dpd=*/true);
  p.DeliverAll();
  ASSERT_EQ(p.a->ike_sa_count(), 1u);
  ASSERT_EQ(p.a->ChildSas(p.now).size(), 1u);
  const uint64_t tx = p.a->counters().tx_datagrams;

  Pair q(p);
  ike::Outbox out;
  q.a->Clear(q.now, ike::ClearFilter{}, out);  // the clone tears everything down
  EXPECT_FALSE(out.datagrams.empty());           // its Deletes
  EXPECT_EQ(q.a->ChildSas(q.now).size(), 0u);
  EXPECT_EQ(p.a->ChildSas(p.now).size(), 1u);
  EXPECT_EQ(p.a->counters().tx_datagrams, tx);
  q.a->SetDebug(true);
  EXPECT_FALSE(p.a->debug());

  // The original's DPD runs on its own timeline: the link cut after the handshake, dead at
  // T0 + 10 + 5 x 2 s (T0: A last heard from B), as if the clone had never existed.
  const TimePoint t0 = p.last_rx_a;
  p.AdvanceDropping(t0 + Seconds(20) - Millis(1));
  EXPECT_EQ(Established(*p.a, p.now), 1);
  p.AdvanceDropping(t0 + Seconds(20));
  EXPECT_EQ(Established(*p.a, p.now), 0);
}

}  // namespace
}  // namespace ikepulse::scenario
