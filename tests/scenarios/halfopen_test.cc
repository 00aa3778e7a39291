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
  // The flood ends; its entries expire 60 s after their MM1 (IOS's responder schedule resends
  // MM2 five times, 10 s apart, first) and the table is empty again.
  sim.RunFor(Seconds(61));
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

// Without a configured limit the bound is 1000, or the number of crypto map entries when a
// hub has more: every configured branch can be in Main Mode at once (all of them come back
// together after an outage) without evicting one another before their MM3.
TEST_F(HalfOpenFlood, DefaultLimitCoversEveryConfiguredEntry) {
  SiteSpec sb = SiteB();
  config::Config cfg = MakeConfig(sb);
  EXPECT_EQ(b.node().CallAdmission().limit, 1000u);
  // 2,500 entries; the first still toward A.
  const uint32_t s0 = cfg.crypto_maps.front().seq;
  ReplicateFirstEntry(cfg, s0, s0 + 2499, [&](uint32_t seq) {
    const uint32_t i = seq - s0;
    return i == 0 ? a.address()
                  : IpAddress::V4(198, 18, static_cast<uint8_t>(i >> 8),
                                  static_cast<uint8_t>(i & 0xff));
  });
  b.SetConfig(cfg);
  auto s = b.node().CallAdmission();
  EXPECT_EQ(s.limit, 2500u);
  EXPECT_FALSE(s.limit_configured);
  // 2,500 Main Modes at once from 2,500 sources: none is evicted.
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, t0 + Seconds(5)));
  const Bytes mm1 = FirstMm1(a).data;
  for (uint32_t i = 0; i < 2500; ++i)
    Forge(mm1, i, IpAddress::V4(10, 66, static_cast<uint8_t>(i >> 8),
                                static_cast<uint8_t>(i & 0xff)));
  sim.RunFor(Millis(10));
  s = b.node().CallAdmission();
  EXPECT_EQ(s.half_open, 2500u);
  EXPECT_EQ(s.evicted_total, 0u);
  // A configured limit wins, even below the number of entries.
  cfg.cac_in_negotiation_sa = 100;
  b.SetConfig(cfg);
  EXPECT_EQ(b.node().CallAdmission().limit, 100u);
  EXPECT_EQ(b.node().CallAdmission().half_open, 100u);
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

// IOS's responder schedule, end to end: an initiator that goes silent after MM1 gets MM2
// again at +10, +20, +30, +40 and +50 s (byte for byte, the times a third-party scanner's
// backoff fingerprint of IOS shows), then nothing; the half-open entry is gone at +60 s.
TEST_F(HalfOpenFlood, Mm2IsResentOnIosScheduleWhenMm3DoesNotCome) {
  a.Initiate("green", 1);
  sim.RunFor(Millis(1));  // MM1 is on the wire
  a.Kill();               // and A sends nothing more (no MM3, no MM1 retransmission)
  const TimePoint mm1_at = t0 + Millis(5);  // MM1 reaches B
  sim.RunFor(Seconds(70));
  auto mm2s = sim::FindPackets(sim, PacketFate::kSent, [&](const sim::PacketRecord& r) {
    return r.datagram.local.ip == b.address() && sim::IsakmpExchangeType(r.datagram) == kMainMode;
  });
  ASSERT_EQ(mm2s.size(), 6u);
  for (size_t k = 0; k < mm2s.size(); ++k) {
    EXPECT_EQ(mm2s[k]->at, mm1_at + Seconds(10) * static_cast<int>(k)) << "MM2 #" << k;
    EXPECT_EQ(mm2s[k]->datagram.data, mm2s[0]->datagram.data);
  }
  EXPECT_EQ(b.counters().retransmits, 5u);
  EXPECT_EQ(b.node().CallAdmission().half_open, 0u);
  EXPECT_EQ(b.node().CallAdmission().expired, 1u);
  EXPECT_EQ(b.ike_sa_count(), 0u);
}

// The same for MM4: MM5 never comes (A's MM5s are lost), B resends MM4 at +10 ... +50 s and
// gives the negotiation up at +60 s. The resends stop as soon as MM5 arrives.
TEST_F(HalfOpenFlood, Mm4IsResentOnIosScheduleAndStopsWhenMm5Comes) {
  for (const bool mm5_arrives : {false, true}) {
    sim::Simulator s2{9};
    sim::SimNode x{s2, "X", {Ip("192.0.2.1")}, 11};
    sim::SimNode y{s2, "Y", {Ip("192.0.2.2")}, 22};
    sim::Link& link = s2.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
    x.SetConfig(MakeConfig(SiteA()));
    y.SetConfig(MakeConfig(SiteB()));
    auto mm_from_x = std::make_shared<int>(0);
    // MM5 lost forever, or only X's first four copies (sent at 20 ms, 1.02, 3.02, 7.02 s).
    const int keep = mm5_arrives ? 4 : 1000;
    link.DropIf([&, mm_from_x, keep](const ike::Datagram& d) {
      if (d.local.ip != x.address() || sim::IsakmpExchangeType(d) != kMainMode) return false;
      return ++*mm_from_x > 2 && *mm_from_x <= 2 + keep;
    });
    const TimePoint s0 = s2.now();
    x.Initiate("green", 1);
    s2.RunFor(Seconds(70));
    auto mm = sim::FindPackets(s2, PacketFate::kSent, [&](const sim::PacketRecord& r) {
      return r.datagram.local.ip == y.address() && sim::IsakmpExchangeType(r.datagram) == kMainMode;
    });
    // MM2, then MM4 at s0 + 15 ms (MM1 5, MM2 10, MM3 15).
    ASSERT_GE(mm.size(), 2u);
    const TimePoint mm4_at = s0 + Millis(15);
    EXPECT_EQ(mm[1]->at, mm4_at);
    if (!mm5_arrives) {
      // X retransmits MM5 at +1, +3, +7, +15 s and gives up at +23 s; all lost. Y: MM4 again
      // at +10 ... +50 s (plus none for the lost MM5s: Y never saw them), then gives up.
      ASSERT_EQ(mm.size(), 2u + 5u);
      for (int k = 1; k <= 5; ++k) {
        EXPECT_EQ(mm[1 + k]->at, mm4_at + Seconds(10) * k) << "MM4 resend " << k;
        EXPECT_EQ(mm[1 + k]->datagram.data, mm[1]->datagram.data);
      }
      auto gave_up = OfKind(y.events(), EventKind::kGiveUp);
      ASSERT_EQ(gave_up.size(), 1u);
      EXPECT_EQ(gave_up[0].at, mm4_at + Seconds(60));
      EXPECT_EQ(y.ike_sa_count(), 0u);
    } else {
      // Y resends MM4 at +10 s; X answers that duplicate with MM5 again, which gets through:
      // Y completes (MM6) and resends nothing more.
      ASSERT_EQ(mm.size(), 4u);  // MM2, MM4, MM4 again, MM6
      EXPECT_EQ(mm[2]->at, mm4_at + Seconds(10));
      EXPECT_EQ(mm[2]->datagram.data, mm[1]->datagram.data);
      EXPECT_EQ(mm[3]->at, mm4_at + Seconds(10) + Millis(10));
      EXPECT_EQ(y.counters().retransmits, 1u);
      EXPECT_TRUE(OfKind(y.events(), EventKind::kGiveUp).empty());
      EXPECT_EQ(y.ike_sa_count(), 1u);
    }
  }
}

}  // namespace
}  // namespace ikepulse::scenario
