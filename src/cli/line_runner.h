// Resolving one line against the grammar with IOS sub-mode fallback, and the IOS error texts
// for a line that does not resolve. Internal to src/cli; used by ParseConfigText and Session.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli/cli_error.h"
#include "cli/command_tree.h"

namespace ikepulse::cli {

// Walks `line` in `mode`. In a configuration sub-mode, a line that is not a sub-mode command
// is tried in global configuration mode (IOS leaves the sub-mode then); when both fail, the
// error that got further along the line is reported.
WalkResult Resolve(const Grammar& g, Mode mode, std::string_view line,
                   const std::vector<Token>& tokens);

// The error for an unresolved line (status not kOk): message and the 0-based column of the
// offending token (-1 when the message is not about one token).
struct LineError {
  std::string message;
  int column = -1;
};
LineError ErrorFor(const WalkResult& r, std::string_view line, const std::vector<Token>& tokens);

}  // namespace ikepulse::cli
