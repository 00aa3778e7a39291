#include "daemon/event_loop.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "daemon/real_clock.h"

namespace ikepulse::daemon {

namespace {
// Distinguishes the loop's own fds in epoll_event.data (fds are >= 0).
constexpr uint64_t kTimerTag = 1ull << 40;
constexpr uint64_t kSignalTag = 1ull << 41;
}  // namespace

Result<std::unique_ptr<EventLoop>, std::string> EventLoop::Create() {
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return Unexpected(std::string("epoll_create1: ") + std::strerror(errno));
  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) {
    const std::string err = std::string("timerfd_create: ") + std::strerror(errno);
    close(epfd);
    return Unexpected(err);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimerTag;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev) != 0) {
    const std::string err = std::string("epoll_ctl(timerfd): ") + std::strerror(errno);
    close(tfd);
    close(epfd);
    return Unexpected(err);
  }
  return std::unique_ptr<EventLoop>(new EventLoop(epfd, tfd));
}

EventLoop::~EventLoop() {
  if (sigfd_ >= 0) close(sigfd_);
  close(timerfd_);
  close(epfd_);
}

bool EventLoop::Watch(int fd, uint32_t events, FdHandler fn) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<uint64_t>(fd);
  const bool known = handlers_.count(fd) != 0;
  if (epoll_ctl(epfd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  handlers_[fd] = std::make_shared<FdHandler>(std::move(fn));
  return true;
}

bool EventLoop::Modify(int fd, uint32_t events) {
  if (handlers_.count(fd) == 0) return false;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<uint64_t>(fd);
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::Unwatch(int fd) {
  if (handlers_.erase(fd) != 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::SetTimer(TimePoint deadline) {
  if (deadline != kNever && timer_grid_.count() > 0) {
    const auto g = timer_grid_.count();
    const auto t = deadline.time_since_epoch().count();
    if (t >= 0 && t <= std::numeric_limits<decltype(t)>::max() - g) {
      deadline = TimePoint(Duration((t + g - 1) / g * g));
    }
  }
  if (deadline == timer_deadline_) return;
  timer_deadline_ = deadline;
  itimerspec its{};
  if (deadline != kNever) {
    its.it_value = ToMonotonicTimespec(deadline);
    // A zero it_value would disarm: the earliest representable instant instead.
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  }
  timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

bool EventLoop::WatchSignals(std::initializer_list<int> signals, std::function<void(int)> fn) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return false;
  if (sigfd_ >= 0) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, sigfd_, nullptr);
    close(sigfd_);
  }
  sigfd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd_ < 0) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kSignalTag;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, sigfd_, &ev) != 0) return false;
  on_signal_ = std::move(fn);
  return true;
}

void EventLoop::Run() {
  stop_ = false;
  while (!stop_) RunOnce(Duration(-1));
}

int EventLoop::RunOnce(Duration max_wait) {
  constexpr int kMaxEvents = 64;
  epoll_event evs[kMaxEvents];
  int timeout_ms = -1;
  if (max_wait.count() >= 0) {
    timeout_ms = static_cast<int>((max_wait.count() + 999) / 1000);
  }
  if (idle_pending_) timeout_ms = 0;
  if (on_flush_) on_flush_();
  const int n = epoll_wait(epfd_, evs, kMaxEvents, timeout_ms);
  if (n < 0) return 0;  // EINTR: the caller loops
  int handled = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t tag = evs[i].data.u64;
    if (tag == kTimerTag) {
      uint64_t expirations;
      // One read returns (and clears) the count of every expiration so far.
      (void)!read(timerfd_, &expirations, sizeof expirations);
      // The timer is one-shot; the deadline is consumed before the handler re-arms it.
      timer_deadline_ = kNever;
      ++handled;
      if (on_timer_) on_timer_();
    } else if (tag == kSignalTag) {
      signalfd_siginfo si;
      while (read(sigfd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        ++handled;
        if (on_signal_) on_signal_(static_cast<int>(si.ssi_signo));
      }
    } else {
      auto it = handlers_.find(static_cast<int>(tag));
      if (it == handlers_.end()) continue;  // unwatched during this wakeup
      std::shared_ptr<FdHandler> h = it->second;
      ++handled;
      (*h)(evs[i].events);
    }
  }
  idle_pending_ = on_idle_ && on_idle_();
  if (on_flush_) on_flush_();
  return handled;
}

}  // namespace ikepulse::daemon
