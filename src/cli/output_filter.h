// IOS output modifiers on show commands: `show ... | include|exclude|begin|section|count REGEX`
// (each keyword may be abbreviated to a unique prefix: `| i`, `| e`, `| b`, `| s`, `| c`).
// Pure text processing; internal to src/cli (Session and ShowJson use it).
//
// Semantics, per output line, the regular expression being POSIX extended (as IOS's, without
// IOS's `_` delimiter class), unanchored, case-sensitive:
//   include  the lines that match;          exclude  the lines that do not;
//   begin    from the first matching line to the end;
//   section  a top-level line (no leading space) that matches, with all its indented lines;
//            for a top-level line that does not match, the line itself and those of its
//            indented lines that match, when any does;
//   count    only "Number of lines which match regexp = N".
// The regex is the rest of the line after the keyword (spaces included, trailing ones
// trimmed), at most kMaxRegexLength characters.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_tree.h"
#include "cli/lexer.h"

namespace ikepulse::cli {

inline constexpr size_t kMaxRegexLength = 256;

enum class FilterKind : uint8_t { kInclude = 0, kExclude, kBegin, kSection, kCount };

struct OutputFilter {
  FilterKind kind = FilterKind::kInclude;
  std::string pattern;
};

// Where a line's output modifier starts: the offset of the first token that begins with '|'
// (IOS lets `|` touch the modifier, as in `sh run |i key`); nullopt when there is none.
std::optional<size_t> PipeOffset(std::string_view line);

// Parses the text after the '|' (`rest` starts right after it; `rest_offset` is its offset in
// the line, for the caret). On error, the IOS message and the 0-based column of the offending
// token (-1: not about one token).
struct FilterError {
  std::string message;
  int column = -1;
};
struct ParsedFilter {
  std::optional<OutputFilter> filter;
  FilterError error;  // meaningful when !filter
};
ParsedFilter ParseOutputFilter(std::string_view rest, int rest_offset);

// Applies `f` to `text` (lines ending with '\n'). Returns nullopt when the regex does not
// compile (the caller reports kBadRegex).
std::optional<std::string> ApplyOutputFilter(const OutputFilter& f, std::string_view text);
inline constexpr char kBadRegex[] = "% Invalid regular expression";

// The same filter over output that comes in chunks (a streamed show): Feed each chunk as it
// comes (lines may be split across chunks), then Finish once; the concatenation of what they
// return equals ApplyOutputFilter over the whole text. Check ok() first (the regex compiled).
class StreamFilter {
 public:
  explicit StreamFilter(const OutputFilter& f);
  ~StreamFilter();
  StreamFilter(StreamFilter&&) noexcept;
  StreamFilter& operator=(StreamFilter&&) noexcept;
  bool ok() const;
  std::string Feed(std::string_view chunk);
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `?` listing for the text after '|' (`rest`), and Tab's candidates for it.
std::string OutputFilterHelp(std::string_view rest);
std::vector<std::string> OutputFilterCompletions(std::string_view rest);

// True for a resolved `show ...` (also `do show ...`): the commands that take modifiers.
bool IsShowCommand(const WalkResult& r);

// The row `?` lists after a complete show command.
inline constexpr char kPipeKeyword[] = "|";
inline constexpr char kPipeHelp[] = "Output modifiers";

}  // namespace ikepulse::cli
