// Monotonic time for the sans-IO core.
//
// MonoClock is a tag clock with NO now(): code under src/ike can only be *given* the time.
// Only src/daemon/real_clock.cc reads std::chrono::steady_clock. Virtual time in tests is a
// plain TimePoint that the simulator advances.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ikepulse {

struct MonoClock {
  using rep = int64_t;
  using period = std::micro;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<MonoClock>;
  static constexpr bool is_steady = true;
  // Deliberately no now().
};

using Duration = MonoClock::duration;  // microseconds
using TimePoint = MonoClock::time_point;

// "No deadline". Never use zero as "unset".
inline constexpr TimePoint kNever = TimePoint::max();

inline constexpr Duration Seconds(int64_t s) { return std::chrono::seconds(s); }
inline constexpr Duration Millis(int64_t ms) { return std::chrono::milliseconds(ms); }
inline constexpr Duration Micros(int64_t us) { return Duration(us); }

// Microseconds since the clock's epoch (for logs and test output).
inline constexpr int64_t ToMicros(TimePoint t) { return t.time_since_epoch().count(); }
inline constexpr TimePoint FromMicros(int64_t us) { return TimePoint(Duration(us)); }

// "12.345678s" style rendering for test failure messages.
std::string FormatTime(TimePoint t);

}  // namespace ikepulse
