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

// The lines of `text`, each with its '\n' (a last line without one gets none).
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    out.push_back(text.substr(0, end));
    text.remove_prefix(end);
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

std::optional<std::string> ApplyOutputFilter(const OutputFilter& f, std::string_view text) {
  const Regex re(f.pattern);
  if (!re.ok()) return std::nullopt;
  const std::vector<std::string_view> lines = Lines(text);
  std::string out;
  switch (f.kind) {
    case FilterKind::kInclude:
    case FilterKind::kExclude:
      for (std::string_view l : lines)
        if (re.Matches(l) == (f.kind == FilterKind::kInclude)) out += l;
      break;
    case FilterKind::kBegin: {
      auto it = std::find_if(lines.begin(), lines.end(),
                             [&re](std::string_view l) { return re.Matches(l); });
      for (; it != lines.end(); ++it) out += *it;
      break;
    }
    case FilterKind::kSection:
      for (size_t i = 0; i < lines.size();) {
        size_t end = i + 1;
        while (end < lines.size() && Indented(lines[end])) ++end;
        if (re.Matches(lines[i])) {
          for (size_t k = i; k < end; ++k) out += lines[k];
        } else {
          std::string children;
          for (size_t k = i + 1; k < end; ++k)
            if (re.Matches(lines[k])) children += lines[k];
          if (!children.empty()) out += std::string(lines[i]) + children;
        }
        i = end;
      }
      break;
    case FilterKind::kCount: {
      const auto n = std::count_if(lines.begin(), lines.end(),
                                   [&re](std::string_view l) { return re.Matches(l); });
      out = "Number of lines which match regexp = " + std::to_string(n) + "\n";
      break;
    }
  }
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
