// The `ping` EXEC command's output, IOS style:
//
//   Type escape sequence to abort.
//   Sending 5, 100-byte ICMP Echos to 203.0.113.10, timeout is 2 seconds:
//   Packet sent with a source address of 198.51.100.1
//   !!!!!
//   Success rate is 100 percent (5/5), round-trip min/avg/max = 1/2/4 ms
//
// (the source line only when `source` was given; it ends with a space, as on IOS). Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cli/backend.h"

namespace ikepulse::cli {

inline constexpr size_t kPingMarksPerLine = 70;
inline constexpr int kPingTimeoutSeconds = 2;

// The lines printed before the first echo.
std::string PingHeader(const IpAddress& target, const PingStatus& status, bool source_given);
// The marks from index `shown` on, with a line break before every kPingMarksPerLine-th.
std::string PingMarks(std::string_view marks, size_t shown);
// The line break after the marks and the success rate line.
std::string PingSummary(const PingStatus& status);

}  // namespace ikepulse::cli
