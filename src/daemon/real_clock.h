// The daemon's real clocks. real_clock.cc is the only file in the project that reads
// std::chrono::steady_clock (DESIGN.md §1.2); everything below src/daemon is *given* the time.
//
// MonoNow() is steady_clock (CLOCK_MONOTONIC on Linux) in MonoClock units, so a TimePoint from
// it can be handed to timerfd_settime(TFD_TIMER_ABSTIME) on CLOCK_MONOTONIC via
// ToMonotonicTimespec(). WallNow() is the wall clock, for log timestamps only.
#pragma once

#include <time.h>

#include <chrono>

#include "common/time.h"

namespace ikepulse::daemon {

TimePoint MonoNow();
std::chrono::system_clock::time_point WallNow();
// The CLOCK_MONOTONIC instant of `t` (t must come from MonoNow()'s domain, t != kNever).
timespec ToMonotonicTimespec(TimePoint t);

}  // namespace ikepulse::daemon
