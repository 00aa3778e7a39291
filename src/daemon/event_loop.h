// EventLoop: the daemon's single thread. epoll (level-triggered) over file descriptors, one
// timerfd (CLOCK_MONOTONIC, absolute) for the Node's next deadline, and a signalfd for
// SIGTERM/SIGINT/SIGHUP. No threads, no other timers: the Node keeps every deadline itself and
// the daemon only re-arms the one timer with Node::NextDeadline() after each call.
//
// Contract
// - Watch(fd, events, fn): fn(revents) runs when fd is ready (EPOLLIN/EPOLLOUT/...). A callback
//   may Watch/Modify/Unwatch any fd, itself included; events for an fd unwatched during the
//   same wakeup are not delivered. The loop does not own watched fds.
// - SetTimer(deadline): the timer callback runs once when MonoNow() >= deadline; kNever
//   disarms. A deadline in the past fires at the next wakeup.
// - SetTimerGrid(g): deadlines are rounded up to the next multiple of g on the monotonic
//   clock, so the deadlines of many SAs that fall in one slot share one wakeup (and one
//   timerfd_settime): a timer fires at most g late, never early. Zero (the default) = exact.
// - WatchSignals(signals, fn): blocks the signals for the process (call before starting any
//   thread) and delivers them as fn(signo) from the loop.
// - SetFlushHandler(fn): fn runs before each wait and after each batch of handlers (so what a
//   handler queued leaves before the loop sleeps or stops).
// - SetIdleWork(fn): fn runs once per turn after the handlers; while it returns true the loop
//   polls without blocking, so the work goes on between events and never delays them by more
//   than one slice.
// - Run() loops until Stop(); RunOnce(max_wait) waits at most max_wait for one batch of events
//   (for tests: never a bare sleep).
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "common/time.h"

namespace ikepulse::daemon {

class EventLoop {
 public:
  using FdHandler = std::function<void(uint32_t revents)>;

  static Result<std::unique_ptr<EventLoop>, std::string> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool Watch(int fd, uint32_t events, FdHandler fn);
  bool Modify(int fd, uint32_t events);
  void Unwatch(int fd);
  bool watching(int fd) const { return handlers_.count(fd) != 0; }

  void SetTimerHandler(std::function<void()> fn) { on_timer_ = std::move(fn); }
  void SetTimer(TimePoint deadline);
  TimePoint timer() const { return timer_deadline_; }
  void SetTimerGrid(Duration grid) { timer_grid_ = grid; }

  bool WatchSignals(std::initializer_list<int> signals, std::function<void(int)> fn);
  // Runs before each wait and after each batch of handlers: the daemon sends the datagrams
  // its handlers queued there, one sendmmsg per socket per batch.
  void SetFlushHandler(std::function<void()> fn) { on_flush_ = std::move(fn); }
  // Work done a slice at a time between events (a streamed `show`): fn runs once per turn,
  // after the batch of handlers and before the flush, and returns whether more remains; while
  // it does, the next wait does not block (it only collects what is ready).
  void SetIdleWork(std::function<bool()> fn) { on_idle_ = std::move(fn); }

  void Run();
  // Waits up to `max_wait` (negative = forever) and handles what is ready. Returns the number
  // of handlers run (fds, timer, signals).
  int RunOnce(Duration max_wait);
  void Stop() { stop_ = true; }
  bool stopped() const { return stop_; }

 private:
  EventLoop(int epfd, int timerfd) : epfd_(epfd), timerfd_(timerfd) {}

  int epfd_;
  int timerfd_;
  int sigfd_ = -1;
  bool stop_ = false;
  TimePoint timer_deadline_ = kNever;
  Duration timer_grid_{0};
  std::function<void()> on_timer_;
  std::function<void(int)> on_signal_;
  std::function<void()> on_flush_;
  std::function<bool()> on_idle_;
  bool idle_pending_ = false;  // on_idle_ has more to do: do not block in the next wait
  // Handlers are shared so a callback that unwatches its own fd does not destroy itself.
  std::unordered_map<int, std::shared_ptr<FdHandler>> handlers_;
};

}  // namespace ikepulse::daemon
