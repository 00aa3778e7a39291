#include "daemon/real_clock.h"

namespace ikepulse::daemon {

TimePoint MonoNow() {
  const auto since = std::chrono::steady_clock::now().time_since_epoch();
  return TimePoint(std::chrono::duration_cast<Duration>(since));
}

std::chrono::system_clock::time_point WallNow() { return std::chrono::system_clock::now(); }

timespec ToMonotonicTimespec(TimePoint t) {
  // libstdc++'s steady_clock is clock_gettime(CLOCK_MONOTONIC): same epoch, no offset.
  const int64_t us = ToMicros(t);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(us / 1000000);
  ts.tv_nsec = static_cast<long>((us % 1000000) * 1000);
  return ts;
}

}  // namespace ikepulse::daemon
