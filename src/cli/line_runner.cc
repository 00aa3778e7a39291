#include "cli/line_runner.h"

namespace ikepulse::cli {

WalkResult Resolve(const Grammar& g, Mode mode, std::string_view line,
                   const std::vector<Token>& tokens) {
  WalkResult r = Walk(g, mode, line, tokens);
  if (mode == Mode::kConfig || !IsConfigMode(mode)) return r;
  if (r.status != WalkResult::Status::kInvalid) return r;
  // A keyring peer's line may be a keyring command (another `peer`), then a global one.
  WalkResult best = r;
  for (Mode m = ParentMode(mode); IsConfigMode(m); m = ParentMode(m)) {
    WalkResult up = Walk(g, m, line, tokens);
    if (up.status == WalkResult::Status::kOk) return up;
    // All failed: report the one that got further (the innermost mode's on a tie).
    const int reach =
        up.status == WalkResult::Status::kInvalid ? up.bad_token : static_cast<int>(tokens.size());
    if (reach > best.bad_token) best = up;
    if (m == Mode::kConfig) break;
  }
  return best;
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
