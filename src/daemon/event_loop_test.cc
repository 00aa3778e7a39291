#include "daemon/event_loop.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <csignal>

#include "daemon/real_clock.h"

namespace ikepulse::daemon {
namespace {

// Runs the loop until `done` or the deadline passes (never a bare sleep).
template <typename Pred>
bool RunUntil(EventLoop& loop, Pred done, Duration limit = Seconds(5)) {
  const TimePoint deadline = MonoNow() + limit;
  while (!done()) {
    const TimePoint now = MonoNow();
    if (now >= deadline) return false;
    loop.RunOnce(deadline - now);
  }
  return true;
}

TEST(EventLoop, FdReadinessRunsHandler) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.has_value()) << loop.error();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int got = 0;
  ASSERT_TRUE(loop.value()->Watch(p[0], EPOLLIN, [&](uint32_t ev) {
    EXPECT_TRUE(ev & EPOLLIN);
    char c;
    ASSERT_EQ(read(p[0], &c, 1), 1);
    got = c;
  }));
  ASSERT_EQ(write(p[1], "x", 1), 1);
  EXPECT_TRUE(RunUntil(*loop.value(), [&] { return got == 'x'; }));
  // Unwatched: no more calls, even if readable.
  loop.value()->Unwatch(p[0]);
  got = 0;
  ASSERT_EQ(write(p[1], "y", 1), 1);
  EXPECT_EQ(loop.value()->RunOnce(Millis(20)), 0);
  EXPECT_EQ(got, 0);
  close(p[0]);
  close(p[1]);
}

TEST(EventLoop, HandlerMayUnwatchItself) {
  auto loop = std::move(EventLoop::Create()).value();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int calls = 0;
  loop->Watch(p[0], EPOLLIN, [&](uint32_t) {
    ++calls;
    loop->Unwatch(p[0]);
  });
  ASSERT_EQ(write(p[1], "x", 1), 1);
  EXPECT_TRUE(RunUntil(*loop, [&] { return calls == 1; }));
  EXPECT_EQ(loop->RunOnce(Millis(10)), 0);
  EXPECT_EQ(calls, 1);
  close(p[0]);
  close(p[1]);
}

TEST(EventLoop, TimerFiresAtDeadlineNotBefore) {
  auto loop = std::move(EventLoop::Create()).value();
  TimePoint fired = kNever;
  loop->SetTimerHandler([&] { fired = MonoNow(); });
  const TimePoint deadline = MonoNow() + Millis(30);
  loop->SetTimer(deadline);
  EXPECT_EQ(loop->timer(), deadline);
  EXPECT_TRUE(RunUntil(*loop, [&] { return fired != kNever; }));
  EXPECT_GE(fired, deadline);
  EXPECT_LT(fired - deadline, Seconds(1));
  EXPECT_EQ(loop->timer(), kNever);  // one-shot
}

TEST(EventLoop, PastDeadlineFiresAtOnceAndNeverDisarms) {
  auto loop = std::move(EventLoop::Create()).value();
  int fired = 0;
  loop->SetTimerHandler([&] { ++fired; });
  loop->SetTimer(MonoNow() - Seconds(1));
  EXPECT_TRUE(RunUntil(*loop, [&] { return fired == 1; }));
  loop->SetTimer(MonoNow() + Millis(10));
  loop->SetTimer(kNever);
  EXPECT_EQ(loop->RunOnce(Millis(40)), 0);
  EXPECT_EQ(fired, 1);
}

TEST(EventLoop, SignalsArriveThroughTheLoop) {
  auto loop = std::move(EventLoop::Create()).value();
  int got = 0;
  ASSERT_TRUE(loop->WatchSignals({SIGUSR1}, [&](int s) { got = s; }));
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  EXPECT_TRUE(RunUntil(*loop, [&] { return got == SIGUSR1; }));
}

TEST(EventLoop, StopEndsRun) {
  auto loop = std::move(EventLoop::Create()).value();
  loop->SetTimerHandler([&] { loop->Stop(); });
  loop->SetTimer(MonoNow() + Millis(5));
  loop->Run();  // returns because the timer stops it
  EXPECT_TRUE(loop->stopped());
}

TEST(EventLoop, AGridRoundsDeadlinesUpSoNearbyOnesShareAWakeup) {
  auto made = EventLoop::Create();
  ASSERT_TRUE(made.has_value()) << made.error();
  EventLoop& loop = *made.value();
  loop.SetTimerGrid(Millis(20));
  int fired = 0;
  TimePoint at = kNever;
  loop.SetTimerHandler([&] {
    ++fired;
    at = MonoNow();
  });
  const TimePoint deadline = MonoNow() + Millis(3);
  loop.SetTimer(deadline);
  const TimePoint armed = loop.timer();
  EXPECT_EQ(armed.time_since_epoch().count() % Millis(20).count(), 0);
  EXPECT_GE(armed, deadline);
  EXPECT_LT(armed - deadline, Millis(20));
  // A later deadline in the same slot keeps the same instant.
  loop.SetTimer(std::min(armed, deadline + Millis(1)));
  EXPECT_EQ(loop.timer(), armed);
  for (int i = 0; i < 50 && fired == 0; ++i) loop.RunOnce(Millis(100));
  EXPECT_EQ(fired, 1);
  EXPECT_GE(at, armed);  // never early
  loop.SetTimer(kNever);
  EXPECT_EQ(loop.timer(), kNever);
}

TEST(EventLoop, IdleWorkRunsEachTurnWithoutBlockingWhileItHasMore) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.has_value()) << loop.error();
  int slices = 0;
  loop.value()->SetIdleWork([&] { return ++slices < 5; });
  // A turn with nothing ready still runs one slice; while more remains, the next wait (of
  // one hour here) returns at once.
  const TimePoint t0 = MonoNow();
  loop.value()->RunOnce(Millis(0));
  for (int i = 0; i < 4; ++i) loop.value()->RunOnce(Seconds(3600));
  EXPECT_EQ(slices, 5);
  EXPECT_LT(MonoNow() - t0, Seconds(1));
  // Done: the next wait blocks again (for its 30 ms here).
  const TimePoint t1 = MonoNow();
  loop.value()->RunOnce(Millis(30));
  EXPECT_GE(MonoNow() - t1, Millis(25));
  EXPECT_EQ(slices, 6);
}

}  // namespace
}  // namespace ikepulse::daemon
