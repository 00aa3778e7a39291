#include "common/time.h"

#include <cstdio>

namespace ikepulse {

std::string FormatTime(TimePoint t) {
  if (t == kNever) return "never";
  const int64_t us = ToMicros(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%06llds", static_cast<long long>(us / 1000000),
                static_cast<long long>((us < 0 ? -us : us) % 1000000));
  return buf;
}

}  // namespace ikepulse
