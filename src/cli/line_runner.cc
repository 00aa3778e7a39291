#include "cli/line_runner.h"

namespace ikepulse::cli {

WalkResult Resolve(const Grammar& g, Mode mode, std::string_view line,
                   const std::vector<Token>& tokens) {
  WalkResult r = Walk(g, mode, line, tokens);
  if (mode == Mode::kConfig || !IsConfigMode(mode)) return r;
  if (r.status != WalkResult::Status::kInvalid) return r;
  WalkResult global = Walk(g, Mode::kConfig, line, tokens);
  if (global.status == WalkResult::Status::kOk) return global;
  // Both failed: report the one that got further (the sub-mode's on a tie).
  const int global_reach = global.status == WalkResult::Status::kInvalid
                               ? global.bad_token
                               : static_cast<int>(tokens.size());
  return global_reach > r.bad_token ? global : r;
}

LineError ErrorFor(const WalkResult& r, std::string_view line, const std::vector<Token>& tokens) {
  switch (r.status) {
    case WalkResult::Status::kInvalid:
      return {kInvalidInput, tokens[static_cast<size_t>(r.bad_token)].offset};
    case WalkResult::Status::kAmbiguous: {
      std::string m = AmbiguousError(line);
      m.pop_back();  // no trailing newline in the message
      return {m, tokens[static_cast<size_t>(r.bad_token)].offset};
    }
    case WalkResult::Status::kIncomplete:
      return {kIncomplete, -1};
    case WalkResult::Status::kOk:
    case WalkResult::Status::kEmpty:
      break;
  }
  return {};
}

}  // namespace ikepulse::cli
