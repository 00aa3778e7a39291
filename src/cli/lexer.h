// Lexer: splits one CLI line into whitespace-separated tokens, remembering where each starts,
// so that error carets can point at the start of the offending token. IOS has no quoting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ikepulse::cli {

struct Token {
  std::string text;
  int offset = 0;  // 0-based byte offset of the token's first character in the line
};

std::vector<Token> Tokenize(std::string_view line);

// Case-insensitive: is `prefix` a (non-empty) prefix of `word`?
bool IsPrefixOf(std::string_view prefix, std::string_view word);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace ikepulse::cli
