#include "cli/output_filter.h"

#include <regex.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace ikepulse::cli {

namespace {

struct Modifier {
  const char* name;
  const char* help;
  FilterKind kind;
};

// IOS's help texts, in `?` order.
constexpr Modifier kModifiers[] = {
    {"begin", "Begin with the line that matches", FilterKind::kBegin},
    {"count", "Count number of lines which match regexp", FilterKind::kCount},
    {"exclude", "Exclude lines that match", FilterKind::kExclude},
    {"include", "Include lines that match", FilterKind::kInclude},
    {"section", "Filter a section of output", FilterKind::kSection},
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<const Modifier*> Matching(std::string_view word) {
  std::vector<const Modifier*> out;
  for (const Modifier& m : kModifiers) {
    if (EqualsIgnoreCase(word, m.name)) return {&m};
    if (IsPrefixOf(word, m.name)) out.push_back(&m);
  }
  return out;
}

class Regex {
 public:
  explicit Regex(const std::string& pattern)
      : ok_(regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB) == 0) {}
  ~Regex() {
    if (ok_) regfree(&re_);
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  bool ok() const { return ok_; }
  bool Matches(std::string_view line) const {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    const std::string s(line);
    return regexec(&re_, s.c_str(), 0, nullptr, 0) == 0;
  }

 private:
  regex_t re_{};
  bool ok_;
};

bool Indented(std::string_view line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '\t');
}

}  // namespace

bool IsShowCommand(const WalkResult& r) {
  return r.status == WalkResult::Status::kOk && r.exec && !r.args.all().empty() &&
         r.args.all().front().key == "show";
}

std::optional<size_t> PipeOffset(std::string_view line) {
  for (const Token& t : Tokenize(line))
    if (t.text[0] == '|') return static_cast<size_t>(t.offset);
  return std::nullopt;
}

ParsedFilter ParseOutputFilter(std::string_view rest, int rest_offset) {
  ParsedFilter p;
  const std::vector<Token> tokens = Tokenize(rest);
  if (tokens.empty()) {
    p.error = {kIncomplete, -1};
    return p;
  }
  const Token& word = tokens[0];
  const std::vector<const Modifier*> m = Matching(word.text);
  if (m.size() != 1) {
    if (m.empty()) {
      p.error = {kInvalidInput, rest_offset + word.offset};
    } else {
      std::string msg = AmbiguousError("| " + word.text);
      msg.pop_back();
      p.error = {msg, rest_offset + word.offset};
    }
    return p;
  }
  const std::string_view regex =
      Trim(rest.substr(static_cast<size_t>(word.offset) + word.text.size()));
  if (regex.empty()) {
    p.error = {kIncomplete, -1};
    return p;
  }
  if (regex.size() > kMaxRegexLength) {
    p.error = {kBadRegex, -1};
    return p;
  }
  p.filter = OutputFilter{m[0]->kind, std::string(regex)};
  return p;
}

struct StreamFilter::Impl {
  explicit Impl(const OutputFilter& f) : filter(f), re(f.pattern) {}
  OutputFilter filter;
  Regex re;
  std::string partial;  // an incomplete last line, kept for the next chunk
  bool begun = false;   // kBegin: a line has matched
  uint64_t count = 0;   // kCount
  // kSection: the current top-level line, whether it matched, and (not matched) its
  // matching indented lines so far.
  std::string top;
  bool in_section = false;
  bool top_matched = false;
  std::string children;

  void FlushSection(std::string& out) {
    if (in_section && !top_matched && !children.empty()) out += top + children;
    in_section = false;
    top.clear();
    children.clear();
  }
  void Line(std::string_view l, std::string& out) {
    switch (filter.kind) {
      case FilterKind::kInclude:
      case FilterKind::kExclude:
        if (re.Matches(l) == (filter.kind == FilterKind::kInclude)) out += l;
        break;
      case FilterKind::kBegin:
        if (!begun) begun = re.Matches(l);
        if (begun) out += l;
        break;
      case FilterKind::kSection:
        if (in_section && Indented(l)) {
          if (top_matched) {
            out += l;
          } else if (re.Matches(l)) {
            children += l;
          }
          break;
        }
        FlushSection(out);
        in_section = true;
        top = std::string(l);
        top_matched = re.Matches(l);
        if (top_matched) out += l;
        break;
      case FilterKind::kCount:
        if (re.Matches(l)) ++count;
        break;
    }
  }
};

StreamFilter::StreamFilter(const OutputFilter& f) : impl_(std::make_unique<Impl>(f)) {}
StreamFilter::~StreamFilter() = default;
StreamFilter::StreamFilter(StreamFilter&&) noexcept = default;
StreamFilter& StreamFilter::operator=(StreamFilter&&) noexcept = default;
bool StreamFilter::ok() const { return impl_->re.ok(); }

std::string StreamFilter::Feed(std::string_view chunk) {
  std::string out;
  Impl& m = *impl_;
  if (!m.partial.empty()) {
    const size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      m.partial += chunk;
      return out;
    }
    m.partial += chunk.substr(0, nl + 1);
    chunk.remove_prefix(nl + 1);
    m.Line(m.partial, out);
    m.partial.clear();
  }
  while (!chunk.empty()) {
    const size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      m.partial = std::string(chunk);
      break;
    }
    m.Line(chunk.substr(0, nl + 1), out);
    chunk.remove_prefix(nl + 1);
  }
  return out;
}

std::string StreamFilter::Finish() {
  std::string out;
  Impl& m = *impl_;
  if (!m.partial.empty()) m.Line(m.partial, out);
  m.partial.clear();
  if (m.filter.kind == FilterKind::kSection) m.FlushSection(out);
  if (m.filter.kind == FilterKind::kCount)
    out = "Number of lines which match regexp = " + std::to_string(m.count) + "\n";
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

std::optional<std::string> ApplyOutputFilter(const OutputFilter& f, std::string_view text) {
  StreamFilter s(f);
  if (!s.ok()) return std::nullopt;
  std::string out = s.Feed(text);
  std::string tail = s.Finish();
  // A last line without '\n' is completed in Finish; output always ends with one.
  out += tail;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

std::string OutputFilterHelp(std::string_view rest) {
  const bool at_space = rest.empty() || IsSpace(rest.back());
  const std::vector<Token> tokens = Tokenize(rest);
  if (tokens.empty() || (tokens.size() == 1 && !at_space)) {
    const std::string_view word = tokens.empty() ? std::string_view() : tokens[0].text;
    if (word.empty()) {
      std::string out;
      for (const Modifier& m : kModifiers)
        out +=
            "  " + std::string(m.name) + std::string(9 - std::strlen(m.name), ' ') + m.help + "\n";
      return out;
    }
    std::string out;
    for (const Modifier& m : kModifiers)
      if (IsPrefixOf(word, m.name)) out += (out.empty() ? "" : "  ") + std::string(m.name);
    return out.empty() ? "% Unrecognized command\n" : out + "\n";
  }
  if (Matching(tokens[0].text).size() != 1) return "% Unrecognized command\n";
  if (tokens.size() == 1) return "  LINE  Regular Expression\n";
  return "  <cr>\n";
}

std::vector<std::string> OutputFilterCompletions(std::string_view rest) {
  const std::vector<Token> tokens = Tokenize(rest);
  if (tokens.size() != 1 || rest.empty() || IsSpace(rest.back())) return {};
  std::vector<std::string> out;
  for (const Modifier* m : Matching(tokens[0].text)) out.emplace_back(m->name);
  return out;
}

}  // namespace ikepulse::cli
