// printf-style formatting into a std::string, shared by the show renderers (show_isakmp.cc,
// show_ipsec.cc). Internal to src/cli.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace ikepulse::cli {

std::string Fmt(const char* f, auto... args) {
  const int n = std::snprintf(nullptr, 0, f, args...);
  std::string s(static_cast<size_t>(n > 0 ? n : 0) + 1, '\0');
  std::snprintf(s.data(), s.size(), f, args...);
  s.pop_back();
  return s;
}

}  // namespace ikepulse::cli
