// Half-open responder state under a flood of forged Main Mode 1 packets (issue #10): the
// responder's negotiations before MM3 stay within the call admission limit and cost no
// ISAKMP SA; an established SA keeps its DPD; a real peer that starts Main Mode in the middle
// of the flood gets its ISAKMP SA in the same time as without the flood. An MM1 that matches
// no policy is answered with NO_PROPOSAL_CHOSEN, rate-limited.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/check.h"
#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using sim::PacketFate;

constexpr uint8_t kMainMode = 2;
constexpr uint8_t kInformational = 5;

class HalfOpenFlood : public ::testing::Test {
 protected:
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  sim::SimNode c{sim, "C", {Ip("192.0.2.3")}, 33};
  TimePoint t0;

  void SetUp() override {
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
    sim.Connect(Ip("192.0.2.3"), Ip("192.0.2.2"), Millis(5));
    sim.EnableDefaultLink(Millis(5));  // forged sources reach B; MM2s to them go nowhere
    sim.set_record_payloads(true);
    SiteSpec sa = SiteA(), sb = SiteB(), sc = SiteA();
    sa.keepalive = Keepalive(10, 2, true);
    sb.keepalive = Keepalive(10, 2, true);
    sc.self = Ip("192.0.2.3");
    a.SetConfig(MakeConfig(sa));
    b.SetConfig(MakeConfig(sb));  // PSK for 0.0.0.0/0: any source passes the key lookup
    c.SetConfig(MakeConfig(sc));
    t0 = sim.now();
  }

  ike::Datagram FirstMm1(const sim::SimNode& from) {
    auto v = sim::FindPackets(sim, PacketFate::kSent, [&](const sim::PacketRecord& r) {
      return r.datagram.local.ip == from.address() &&
             sim::IsakmpExchangeType(r.datagram) == kMainMode;
    });
    IKEPULSE_CHECK(!v.empty());
    return v.front()->datagram;
  }

  // A forged MM1: `mm1` with initiator cookie number `n`, from forged source `src`.
  void Forge(const Bytes& mm1, uint32_t n, const IpAddress& src) {
    Bytes d = mm1;
    d[0] = 0xf0;
    for (int i = 0; i < 4; ++i) d[4 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
    sim.Inject(ike::Datagram{Endpoint{src, 500}, Endpoint{b.address(), 500}, std::move(d)});
  }
};

TEST_F(HalfOpenFlood, ForgedMm1FloodIsBoundedAndRealPeersAreServed) {
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, t0 + Seconds(5)));
  const Bytes mm1 = FirstMm1(a).data;
  const size_t limit = b.node().CallAdmission().limit;
  ASSERT_EQ(limit, 1000u);  // the built-in default
  // 30,000 forged MM1s in 15 s (2,000 a second) from 500 forged sources in 10.66.0.0/16.
  // C starts Main Mode 5 s into the flood.
  size_t peak = 0;
  TimePoint c_start{};
  uint32_t n = 0;
  for (int ms = 0; ms < 15000; ++ms) {
    for (int k = 0; k < 2; ++k, ++n)
      Forge(mm1, n,
            IpAddress::V4(10, 66, static_cast<uint8_t>(n % 500 / 250),
                          static_cast<uint8_t>(n % 250 + 1)));
    if (ms == 5000) {
      c_start = sim.now();
      c.Initiate("green", 1);
    }
    sim.RunFor(Millis(1));
    peak = std::max<size_t>(peak, b.node().CallAdmission().half_open);
    ASSERT_LE(b.ike_sa_count(), 2u) << "a forged MM1 created an ISAKMP SA";
  }
  sim.RunFor(Millis(10));  // the last forged MM1s arrive
  const ike::CallAdmissionSnapshot s = b.node().CallAdmission();
  EXPECT_LE(peak, limit);
  EXPECT_EQ(s.half_open_peak, limit);
  EXPECT_EQ(s.accepted, 30000u + 2u);  // the forged ones, A's and C's
  EXPECT_EQ(s.promoted, 2u);           // A's and C's only
  EXPECT_GT(s.evicted_total, 25000u);
  // C's ISAKMP SA came up exactly as without a flood: six messages, 5 ms each.
  auto up = OfKind(c.events(), EventKind::kIkeSaUp);
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].at, c_start + Millis(30));
  // The established SA A-B kept its DPD all along: no death, acks both ways.
  EXPECT_EQ(a.counters().peers_dead + b.counters().peers_dead, 0u);
  EXPECT_GE(a.counters().dpd_acks_received, 1u);
  EXPECT_TRUE(OfKind(a.events(), EventKind::kIkeSaDown).empty());
  EXPECT_TRUE(OfKind(b.events(), EventKind::kIkeSaDown).empty());
  EXPECT_EQ(a.ike_sa_count(), 1u);
  // The flood ends; its entries expire after 20 s and the table is empty again.
  sim.RunFor(Seconds(21));
  EXPECT_EQ(b.node().CallAdmission().half_open, 0u);
  EXPECT_EQ(b.ike_sa_count(), 2u);
}

TEST_F(HalfOpenFlood, DuplicateMm1GetsTheSameMm2AndNoSecondEntry) {
  a.Initiate("green", 1);
  sim.RunFor(Millis(5));  // MM1 reached B
  ASSERT_EQ(b.node().CallAdmission().half_open, 1u);
  EXPECT_EQ(b.ike_sa_count(), 0u) << "MM1 must not create an ISAKMP SA";
  const ike::Datagram mm1 = FirstMm1(a);
  sim.Inject(mm1);
  sim.Inject(mm1);
  sim.RunFor(Millis(5));
  EXPECT_EQ(b.counters().duplicates_answered, 2u);
  EXPECT_EQ(b.node().CallAdmission().half_open, 1u);
  auto mm2s = sim::FindPackets(sim, PacketFate::kSent, [&](const sim::PacketRecord& r) {
    return r.datagram.local.ip == b.address() && sim::IsakmpExchangeType(r.datagram) == kMainMode;
  });
  ASSERT_EQ(mm2s.size(), 3u);
  EXPECT_EQ(mm2s[1]->datagram.data, mm2s[0]->datagram.data);
  EXPECT_EQ(mm2s[2]->datagram.data, mm2s[0]->datagram.data);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, t0 + Seconds(5)));
  EXPECT_EQ(b.ike_sa_count(), 1u);
  EXPECT_EQ(b.node().CallAdmission().half_open, 0u);
}

TEST_F(HalfOpenFlood, OneForgedSourceCannotHoldMoreThanItsShare) {
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, t0 + Seconds(5)));
  const Bytes mm1 = FirstMm1(a).data;
  for (uint32_t i = 0; i < 100; ++i) Forge(mm1, i, Ip("10.66.0.1"));
  sim.RunFor(Millis(10));
  const auto s = b.node().CallAdmission();
  EXPECT_EQ(s.half_open, 8u);
  EXPECT_EQ(s.evicted_source, 92u);
}

TEST_F(HalfOpenFlood, ConfiguredLimitIsEnforcedAndAppliedLive) {
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, t0 + Seconds(5)));
  const Bytes mm1 = FirstMm1(a).data;
  for (uint32_t i = 0; i < 300; ++i)
    Forge(mm1, i, IpAddress::V4(10, 66, 1, static_cast<uint8_t>(i % 200 + 1)));
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.node().CallAdmission().half_open, 300u);
  SiteSpec sb = SiteB();
  sb.keepalive = Keepalive(10, 2, true);
  config::Config cfg = MakeConfig(sb);
  cfg.cac_in_negotiation_sa = 50;
  b.SetConfig(cfg);
  auto s = b.node().CallAdmission();
  EXPECT_EQ(s.half_open, 50u);
  EXPECT_EQ(s.limit, 50u);
  EXPECT_TRUE(s.limit_configured);
  for (uint32_t i = 300; i < 400; ++i)
    Forge(mm1, i, IpAddress::V4(10, 66, 2, static_cast<uint8_t>(i % 200 + 1)));
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.node().CallAdmission().half_open, 50u);
  EXPECT_EQ(b.ike_sa_count(), 1u);
}

TEST_F(HalfOpenFlood, Mm1WithoutAcceptablePolicyGetsRateLimitedNoProposalChosen) {
  SiteSpec sa = SiteA();
  sa.enc = config::Encryption::kAes256;  // B has only aes 128
  a.SetConfig(MakeConfig(sa));
  a.Initiate("green", 1);
  sim.RunFor(Millis(11));
  a.Kill();  // no MM1 retransmissions from here on
  // A's log: the error notify, answered with R = 0, reaches A's negotiation.
  EXPECT_EQ(b.counters().no_proposal_sent, 1u);
  EXPECT_EQ(b.ike_sa_count(), 0u);
  EXPECT_EQ(b.node().CallAdmission().half_open, 0u);
  auto notes = sim::FindPackets(sim, PacketFate::kSent, [&](const sim::PacketRecord& r) {
    return r.datagram.local.ip == b.address() &&
           sim::IsakmpExchangeType(r.datagram) == kInformational;
  });
  ASSERT_EQ(notes.size(), 1u);
  const Bytes& d = notes[0]->datagram.data;
  const Bytes mm1 = FirstMm1(a).data;
  EXPECT_TRUE(std::equal(d.begin(), d.begin() + 8, mm1.begin()));  // CKY-I
  EXPECT_TRUE(std::all_of(d.begin() + 8, d.begin() + 16, [](uint8_t x) { return x == 0; }));
  EXPECT_EQ(d[16], 11);  // Notification
  EXPECT_EQ(d[19], 0);   // not encrypted
  // NO_PROPOSAL_CHOSEN (14) in the notify's type field.
  ASSERT_GE(d.size(), 28u + 12u);
  EXPECT_EQ(d[28 + 10], 0);
  EXPECT_EQ(d[28 + 11], 14);
  // A flood of such MM1s: 5 answers at once, then 5 a second.
  const uint64_t sent0 = b.counters().no_proposal_sent;
  for (uint32_t i = 0; i < 1000; ++i)
    Forge(mm1, i, IpAddress::V4(10, 66, 3, static_cast<uint8_t>(i % 200 + 1)));
  sim.RunFor(Millis(5));
  EXPECT_EQ(b.counters().no_proposal_sent - sent0, 4u);  // the bucket had 4 tokens left
  EXPECT_EQ(b.counters().no_proposal_suppressed, 996u);
  sim.RunFor(Seconds(1));
  for (uint32_t i = 1000; i < 2000; ++i)
    Forge(mm1, i, IpAddress::V4(10, 66, 3, static_cast<uint8_t>(i % 200 + 1)));
  sim.RunFor(Millis(5));
  EXPECT_EQ(b.counters().no_proposal_sent - sent0, 9u);
  EXPECT_EQ(b.ike_sa_count(), 0u);
}

}  // namespace
}  // namespace ikepulse::scenario
