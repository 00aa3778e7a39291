// CliError: a rejected configuration or command line, as a value (never an exception).
#pragma once

#include <string>

namespace ikepulse::cli {

struct CliError {
  int line = 0;    // 1-based line in the text (ParseConfigText); 0 for a single command line
  int column = 0;  // 1-based column of the offending token in that line; 0 when not about a token
  std::string message;  // the IOS text, e.g. "% Invalid input detected at '^' marker."
  bool operator==(const CliError&) const = default;
};

}  // namespace ikepulse::cli
