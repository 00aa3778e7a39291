#include "cli/lexer.h"

#include <cctype>

namespace ikepulse::cli {

namespace {
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
}  // namespace

std::vector<Token> Tokenize(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size()) break;
    const size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    out.push_back(Token{std::string(line.substr(start, i - start)), static_cast<int>(start)});
  }
  return out;
}

bool IsPrefixOf(std::string_view prefix, std::string_view word) {
  if (prefix.empty() || prefix.size() > word.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (Lower(prefix[i]) != Lower(word[i])) return false;
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || IsPrefixOf(a, b));
}

}  // namespace ikepulse::cli
