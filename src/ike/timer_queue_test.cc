#include "ike/timer_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/random.h"
#include "common/time.h"

namespace ikepulse::ike {
namespace {

const TimePoint t0 = FromMicros(1'000'000);

std::vector<uint64_t> PopAll(TimerQueue<uint64_t>& q, TimePoint now) {
  std::vector<uint64_t> out;
  q.PopExpired(now, out);
  return out;
}

TEST(TimerQueue, EmptyHasNoDeadline) {
  TimerQueue<uint64_t> q;
  EXPECT_EQ(q.NextDeadline(), kNever);
  EXPECT_EQ(q.PopNext(kNever), std::nullopt);
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueue, FiresInDeadlineOrderAndOnlyWhenDue) {
  TimerQueue<uint64_t> q;
  q.Arm(3, t0 + Seconds(3));
  q.Arm(1, t0 + Seconds(1));
  q.Arm(2, t0 + Seconds(2));
  EXPECT_EQ(q.NextDeadline(), t0 + Seconds(1));
  EXPECT_EQ(q.PopNext(t0 + Seconds(1) - Micros(1)), std::nullopt);
  EXPECT_EQ(q.PopNext(t0 + Seconds(1)), 1u);  // deadline <= now
  EXPECT_EQ(q.NextDeadline(), t0 + Seconds(2));
  EXPECT_EQ(PopAll(q, t0 + Seconds(10)), (std::vector<uint64_t>{2, 3}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.NextDeadline(), kNever);
}

TEST(TimerQueue, EqualDeadlinesFireInArmingOrder) {
  TimerQueue<uint64_t> q;
  for (uint64_t id : {7, 3, 9, 1, 5}) q.Arm(id, t0);
  EXPECT_EQ(PopAll(q, t0), (std::vector<uint64_t>{7, 3, 9, 1, 5}));
}

TEST(TimerQueue, RearmReplacesTheDeadline) {
  TimerQueue<uint64_t> q;
  q.Arm(1, t0 + Seconds(5));
  q.Arm(2, t0 + Seconds(3));
  q.Arm(1, t0 + Seconds(1));  // earlier
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.DeadlineOf(1), t0 + Seconds(1));
  q.Arm(2, t0 + Seconds(9));  // later
  EXPECT_EQ(PopAll(q, t0 + Seconds(5)), (std::vector<uint64_t>{1}));
  EXPECT_EQ(q.NextDeadline(), t0 + Seconds(9));
  EXPECT_EQ(PopAll(q, t0 + Seconds(9)), (std::vector<uint64_t>{2}));
}

TEST(TimerQueue, RearmToADifferentDeadlineGoesBehindExistingTies) {
  TimerQueue<uint64_t> q;
  q.Arm(1, t0 + Seconds(5));
  q.Arm(2, t0);
  q.Arm(3, t0);
  q.Arm(1, t0);  // moved to t0: armed after 2 and 3 for that instant
  EXPECT_EQ(PopAll(q, t0), (std::vector<uint64_t>{2, 3, 1}));
}

TEST(TimerQueue, RearmToTheSameDeadlineKeepsItsPlace) {
  TimerQueue<uint64_t> q;
  q.Arm(1, t0);
  q.Arm(2, t0);
  q.Arm(1, t0);  // the engine re-arms after every call; order must not change
  EXPECT_EQ(PopAll(q, t0), (std::vector<uint64_t>{1, 2}));
}

TEST(TimerQueue, ArmNeverAndDisarmRemove) {
  TimerQueue<uint64_t> q;
  q.Arm(1, t0);
  q.Arm(2, t0 + Seconds(1));
  q.Arm(3, t0 + Seconds(2));
  EXPECT_TRUE(q.Disarm(1));
  EXPECT_FALSE(q.Disarm(1));   // already gone
  EXPECT_FALSE(q.Disarm(42));  // never armed
  q.Arm(3, kNever);
  EXPECT_FALSE(q.IsArmed(3));
  EXPECT_EQ(q.DeadlineOf(3), kNever);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(PopAll(q, kNever - Micros(1)), (std::vector<uint64_t>{2}));
}

TEST(TimerQueue, PoppedOrDisarmedKeysNeverFireAgain) {
  TimerQueue<uint64_t> q;
  q.Arm(1, t0);
  q.Arm(2, t0 + Seconds(1));
  q.Arm(1, t0 + Seconds(2));  // re-arm: the t0 entry must not linger
  q.Disarm(2);
  EXPECT_EQ(PopAll(q, t0 + Seconds(1)), std::vector<uint64_t>{});
  EXPECT_EQ(PopAll(q, t0 + Seconds(2)), (std::vector<uint64_t>{1}));
  EXPECT_EQ(PopAll(q, kNever - Micros(1)), std::vector<uint64_t>{});
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueue, APoppedKeyIsDisarmedUntilArmedAgain) {
  // A popped key keeps its index node (so its re-arm allocates nothing), but it is not armed:
  // no deadline, not counted, Disarm reports it was not armed, and re-arming it puts it back
  // in order behind the keys already armed for that instant.
  TimerQueue<uint64_t> q;
  q.Arm(1, t0);
  q.Arm(2, t0 + Seconds(1));
  ASSERT_EQ(q.PopNext(t0), std::optional<uint64_t>(1));
  EXPECT_FALSE(q.IsArmed(1));
  EXPECT_EQ(q.DeadlineOf(1), kNever);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_FALSE(q.Disarm(1));
  ASSERT_EQ(q.PopNext(t0 + Seconds(1)), std::optional<uint64_t>(2));
  q.Arm(2, t0 + Seconds(5));  // re-armed after a pop
  q.Arm(3, t0 + Seconds(5));
  q.Arm(1, t0 + Seconds(5));  // after a pop and a Disarm
  EXPECT_TRUE(q.IsArmed(2));
  EXPECT_EQ(q.DeadlineOf(2), t0 + Seconds(5));
  EXPECT_EQ(PopAll(q, t0 + Seconds(5)), (std::vector<uint64_t>{2, 3, 1}));
  EXPECT_TRUE(q.empty());
}

TEST(TimerQueue, WorksWithAnArbitraryKeyType) {
  TimerQueue<std::string> q;
  q.Arm("b", t0);
  q.Arm("a", t0);
  EXPECT_EQ(q.PopNext(t0), "b");
  EXPECT_EQ(q.PopNext(t0), "a");
}

TEST(TimerQueue, ACopyAndAMovedQueueEachKeepTheirOwnOrder) {
  // Entries point at their positions in the queue's own index: a copy must point into its
  // copy, so that editing one queue never moves the other's entries.
  TimerQueue<uint64_t> q;
  for (uint64_t k = 1; k <= 50; ++k) q.Arm(k, t0 + Seconds(static_cast<int64_t>(k % 7)));
  TimerQueue<uint64_t> copy(q);
  TimerQueue<uint64_t> assigned;
  assigned.Arm(99, t0);
  assigned = q;
  for (uint64_t k = 1; k <= 50; k += 2) copy.Arm(k, t0 + Seconds(100 + static_cast<int64_t>(k)));
  copy.Disarm(2);
  const std::vector<uint64_t> from_q = PopAll(q, kNever - Micros(1));
  const std::vector<uint64_t> from_assigned = PopAll(assigned, kNever - Micros(1));
  EXPECT_EQ(from_q.size(), 50u);
  EXPECT_EQ(from_assigned, from_q);
  TimerQueue<uint64_t> moved(std::move(copy));
  moved.Arm(2, t0 + Seconds(200));
  const std::vector<uint64_t> from_moved = PopAll(moved, kNever - Micros(1));
  ASSERT_EQ(from_moved.size(), 50u);
  // The even keys (untouched, but 2) first in their old order, then the re-armed odd ones by
  // their new deadlines, then 2.
  std::vector<uint64_t> want;
  for (uint64_t k : from_q)
    if (k % 2 == 0 && k != 2) want.push_back(k);
  for (uint64_t k = 1; k <= 50; k += 2) want.push_back(k);
  want.push_back(2);
  EXPECT_EQ(from_moved, want);
}

// 100,000 SAs: random arm / re-arm / disarm / pop, checked against a std::multimap model that
// orders by (deadline, arming sequence) with the same same-deadline rule.
TEST(TimerQueue, MatchesAReferenceModelWith100kKeys) {
  constexpr uint64_t kKeys = 100'000;
  SeededRandom rng(12345);
  TimerQueue<uint64_t> q;
  using Order = std::pair<TimePoint, uint64_t>;
  std::multimap<Order, uint64_t> model;
  std::map<uint64_t, std::multimap<Order, uint64_t>::iterator> where;
  uint64_t seq = 0;
  TimePoint now = t0;

  auto model_arm = [&](uint64_t k, TimePoint d) {
    auto w = where.find(k);
    if (w != where.end()) {
      if (w->second->first.first == d) return;
      model.erase(w->second);
      where.erase(w);
    }
    where[k] = model.emplace(Order{d, seq++}, k);
  };
  auto model_disarm = [&](uint64_t k) {
    auto w = where.find(k);
    if (w == where.end()) return;
    model.erase(w->second);
    where.erase(w);
  };

  // Arm every key; deadlines drawn from a small range so that ties are frequent.
  for (uint64_t k = 0; k < kKeys; ++k) {
    TimePoint d = now + Millis(rng.Uniform(5000));
    q.Arm(k, d);
    model_arm(k, d);
  }
  ASSERT_EQ(q.size(), model.size());

  size_t popped = 0;
  for (int step = 0; step < 400'000; ++step) {
    const uint32_t op = rng.Uniform(100);
    const uint64_t k = rng.Uniform(kKeys);
    if (op < 45) {
      TimePoint d = now + Millis(rng.Uniform(5000));
      q.Arm(k, d);
      model_arm(k, d);
    } else if (op < 55) {
      q.Disarm(k);
      model_disarm(k);
    } else if (op < 60) {
      q.Arm(k, kNever);
      model_disarm(k);
    } else {
      now += Micros(rng.Uniform(2000));
      std::optional<uint64_t> got = q.PopNext(now);
      if (model.empty() || model.begin()->first.first > now) {
        ASSERT_EQ(got, std::nullopt) << "step " << step;
      } else {
        ASSERT_TRUE(got.has_value()) << "step " << step;
        ASSERT_EQ(*got, model.begin()->second) << "step " << step;
        where.erase(model.begin()->second);
        model.erase(model.begin());
        ++popped;
      }
    }
    if (step % 1000 == 0) {
      ASSERT_EQ(q.size(), model.size());
      ASSERT_EQ(q.NextDeadline(), model.empty() ? kNever : model.begin()->first.first);
    }
  }
  EXPECT_GT(popped, 1000u);
  // Drain: the whole remaining order matches.
  std::vector<uint64_t> rest;
  q.PopExpired(kNever - Micros(1), rest);
  ASSERT_EQ(rest.size(), model.size());
  size_t i = 0;
  for (const auto& [order, key] : model) {
    ASSERT_EQ(rest[i++], key);
  }
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace ikepulse::ike
