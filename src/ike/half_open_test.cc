#include "ike/half_open.h"

#include <gtest/gtest.h>

namespace ikepulse::ike {
namespace {

const TimePoint kT0 = TimePoint{} + Seconds(1000);

isakmp::Cookie Ck(uint32_t n, uint8_t tag) {
  isakmp::Cookie c{};
  c[0] = tag;
  for (int i = 0; i < 4; ++i) c[4 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
  return c;
}

HalfOpen Entry(uint32_t n, const IpAddress& src) {
  HalfOpen e;
  e.icookie = Ck(n, 1);
  e.rcookie = Ck(n, 2);
  e.remote = Endpoint{src, 500};
  e.local = Endpoint{IpAddress::V4(192, 0, 2, 2), 500};
  e.sai_b.assign(100, 0xaa);
  e.mm2.assign(150, 0xbb);
  return e;
}

IpAddress Src(uint32_t n) {
  return IpAddress::V4(10, 66, static_cast<uint8_t>(n / 250), static_cast<uint8_t>(n % 250 + 1));
}

TEST(HalfOpenTable, InsertFindTake) {
  HalfOpenTable t;
  t.Insert(Entry(1, Src(1)), kT0);
  ASSERT_NE(t.FindByMm1(Ck(1, 1), Src(1)), nullptr);
  EXPECT_EQ(t.FindByMm1(Ck(1, 1), Src(2)), nullptr) << "another source is not a duplicate";
  EXPECT_EQ(t.FindByMm1(Ck(9, 1), Src(1)), nullptr);
  // MM3 must come from the same address with both cookies.
  EXPECT_FALSE(t.Take(Ck(1, 1), Ck(1, 2), Src(2)));
  EXPECT_FALSE(t.Take(Ck(1, 1), Ck(7, 2), Src(1)));
  EXPECT_FALSE(t.Take(Ck(3, 1), Ck(1, 2), Src(1)));
  auto e = t.Take(Ck(1, 1), Ck(1, 2), Src(1));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->sai_b.size(), 100u);
  EXPECT_EQ(e->created, kT0);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.SourcesTracked(), 0u);
  EXPECT_EQ(t.stats().promoted, 1u);
  EXPECT_EQ(t.NextDeadline(), kNever);
}

TEST(HalfOpenTable, TotalLimitEvictsTheOldest) {
  HalfOpenTable t;
  t.SetLimit(10);
  for (uint32_t i = 0; i < 25; ++i) t.Insert(Entry(i, Src(i)), kT0 + Millis(i));
  EXPECT_EQ(t.size(), 10u);
  EXPECT_EQ(t.peak(), 10u);
  EXPECT_EQ(t.stats().evicted_total, 15u);
  EXPECT_EQ(t.FindByMm1(Ck(14, 1), Src(14)), nullptr);
  EXPECT_NE(t.FindByMm1(Ck(15, 1), Src(15)), nullptr);
  // The oldest live entry's first MM2 retransmission comes before its expiry.
  EXPECT_EQ(t.NextDeadline(), kT0 + Millis(15) + HalfOpenTable::kRetransmitGap);
  // Lowering the limit evicts at once; 0 restores the default.
  t.SetLimit(4);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_NE(t.FindByMm1(Ck(24, 1), Src(24)), nullptr);
  t.SetLimit(0);
  EXPECT_EQ(t.limit(), HalfOpenTable::kDefaultLimit);
}

TEST(HalfOpenTable, PerSourceLimitEvictsThatSourcesOldest) {
  HalfOpenTable t;
  for (uint32_t i = 0; i < 20; ++i) t.Insert(Entry(i, Src(0)), kT0);
  t.Insert(Entry(100, Src(1)), kT0);
  EXPECT_EQ(t.size(), HalfOpenTable::kPerSourceLimit + 1);
  EXPECT_EQ(t.stats().evicted_source, 20u - HalfOpenTable::kPerSourceLimit);
  EXPECT_NE(t.FindByMm1(Ck(19, 1), Src(0)), nullptr);
  EXPECT_EQ(t.FindByMm1(Ck(0, 1), Src(0)), nullptr);
  EXPECT_NE(t.FindByMm1(Ck(100, 1), Src(1)), nullptr);
}

TEST(HalfOpenTable, EntriesExpireAtTheirDeadline) {
  HalfOpenTable t;
  t.Insert(Entry(1, Src(1)), kT0);
  t.Insert(Entry(2, Src(2)), kT0 + Seconds(5));
  EXPECT_EQ(t.NextDeadline(), kT0 + HalfOpenTable::kRetransmitGap);
  std::vector<Datagram> out;
  for (int k = 1; k <= 11; ++k) t.Retransmit(kT0 + Seconds(5 * k), out);  // all resends done
  EXPECT_EQ(out.size(), 2u * HalfOpenTable::kRetransmits);
  EXPECT_EQ(t.NextDeadline(), kT0 + HalfOpenTable::kLifetime);
  t.Expire(kT0 + HalfOpenTable::kLifetime - Millis(1));
  EXPECT_EQ(t.size(), 2u);
  t.Expire(kT0 + HalfOpenTable::kLifetime);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.stats().expired, 1u);
  EXPECT_EQ(t.NextDeadline(), kT0 + Seconds(5) + HalfOpenTable::kLifetime);
  t.Expire(kT0 + Seconds(65));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.SourcesTracked(), 0u);
  EXPECT_EQ(t.NextDeadline(), kNever);
}

// IOS's responder schedule: MM2 again at +10, +20, +30, +40 and +50 s after MM1 (5 resends,
// byte for byte, to where MM1 came from), nothing more, expiry at +60 s. An entry taken by
// its MM3, or evicted, is resent no more; a late call does not reorder the schedule.
TEST(HalfOpenTable, Mm2IsResentOnIosScheduleUntilMm3) {
  HalfOpenTable t;
  t.Insert(Entry(1, Src(1)), kT0);
  t.Insert(Entry(2, Src(2)), kT0 + Seconds(3));
  std::vector<std::pair<Duration, uint32_t>> sent;  // (since kT0, entry)
  for (TimePoint now = kT0; now <= kT0 + Seconds(70); now = t.NextDeadline()) {
    if (now == kNever) break;
    std::vector<Datagram> out;
    t.Expire(now);
    t.Retransmit(now, out);
    for (const Datagram& d : out) {
      EXPECT_EQ(d.data, Bytes(150, 0xbb));
      EXPECT_EQ(d.local.ip, IpAddress::V4(192, 0, 2, 2));
      sent.emplace_back(now - kT0, d.remote.ip == Src(1) ? 1 : 2);
    }
    if (now == kT0 + Seconds(23)) {
      ASSERT_TRUE(t.Take(Ck(2, 1), Ck(2, 2), Src(2)));  // MM3
    }
  }
  const std::vector<std::pair<Duration, uint32_t>> want = {
      {Seconds(10), 1}, {Seconds(13), 2}, {Seconds(20), 1}, {Seconds(23), 2},
      {Seconds(30), 1}, {Seconds(40), 1}, {Seconds(50), 1}};
  EXPECT_EQ(sent, want);
  EXPECT_EQ(t.stats().retransmits, 7u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.stats().expired, 1u);
  // A late call (the loop ran 4 s behind): both due resends go out; the next ones keep order.
  HalfOpenTable u;
  u.Insert(Entry(1, Src(1)), kT0);
  u.Insert(Entry(2, Src(2)), kT0 + Seconds(1));
  std::vector<Datagram> out;
  EXPECT_EQ(u.Retransmit(kT0 + Seconds(15), out), 2u);
  EXPECT_EQ(u.NextDeadline(), kT0 + Seconds(20));
  EXPECT_EQ(u.Retransmit(kT0 + Seconds(20), out), 1u);
  EXPECT_EQ(u.Retransmit(kT0 + Seconds(21), out), 1u);
}

// A table as large as a hub's (5,000 entries admitted at once, all unanswered): the resends
// of every entry together stay within the global budget, a burst of kResendBurst and then
// kResendRate a second, whatever the table's size; the entries' schedules go on.
TEST(HalfOpenTable, ResendsOfAllEntriesTogetherStayWithinTheGlobalBudget) {
  HalfOpenTable t;
  t.SetLimit(5000);
  for (uint32_t n = 0; n < 5000; ++n) t.Insert(Entry(n, Src(n % 20000)), kT0);
  std::vector<Datagram> out;
  t.Expire(kT0 + Seconds(10));
  EXPECT_EQ(t.Retransmit(kT0 + Seconds(10), out), size_t(HalfOpenTable::kResendBurst));
  EXPECT_EQ(t.stats().retransmits_suppressed, 5000u - HalfOpenTable::kResendBurst);
  size_t total = out.size();
  for (TimePoint now = t.NextDeadline(); now != kNever && now <= kT0 + Seconds(70);
       now = t.NextDeadline()) {
    t.Expire(now);
    total += t.Retransmit(now, out);
  }
  // 60 s of life: the burst, then 100 a second for the 40 s between the first resend (+10 s)
  // and the last (+50 s).
  EXPECT_EQ(total, size_t(HalfOpenTable::kResendBurst + 40 * HalfOpenTable::kResendRate));
  EXPECT_EQ(t.stats().retransmits + t.stats().retransmits_suppressed, 5000u * 5);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.stats().expired, 5000u);
}

// A million inserts through a full table with promotions in between: size, sources and the
// internal order queue stay bounded.
TEST(HalfOpenTable, ChurnStaysBounded) {
  HalfOpenTable t;
  t.SetLimit(1000);
  for (uint32_t i = 0; i < 1000000; ++i) {
    t.Insert(Entry(i, Src(i % 600)), kT0 + Micros(i * 100));
    if (i % 7 == 0) t.Take(Ck(i, 1), Ck(i, 2), Src(i % 600));
    ASSERT_LE(t.size(), 1000u);
  }
  EXPECT_LE(t.SourcesTracked(), 600u);
  const auto& s = t.stats();
  EXPECT_EQ(s.accepted, 1000000u);
  EXPECT_EQ(s.accepted, s.promoted + s.evicted_total + s.evicted_source + s.expired + t.size());
}

}  // namespace
}  // namespace ikepulse::ike
