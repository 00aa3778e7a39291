// Test helpers for the ikev2 codec tests (not part of the library).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "ikev2/parse_error.h"
#include "ikev2/payloads.h"

namespace ikepulse::ikev2::testing {

inline Bytes H(std::string_view hex) { return HexOrDie(hex); }

inline Bytes Cat(std::initializer_list<std::string_view> hex) {
  Bytes out;
  for (std::string_view h : hex) {
    Bytes b = H(h);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

// One field (or group of fields) of a golden input, with the error expected when the input
// ends inside it.
struct Fragment {
  std::string hex;
  NotifyType code;
  std::string detail;
};

// Parses every proper prefix of the joined fragments and expects the error of the fragment
// holding the first missing byte; the full input must parse. `parse` returns the error, or
// nullopt on success.
inline void CheckEveryPrefix(const std::vector<Fragment>& frags,
                             const std::function<std::optional<ParseError>(ByteSpan)>& parse) {
  Bytes all;
  for (const Fragment& f : frags) {
    Bytes b = H(f.hex);
    all.insert(all.end(), b.begin(), b.end());
  }
  size_t frag = 0, frag_end = H(frags[0].hex).size();
  for (size_t len = 0; len < all.size(); ++len) {
    while (len >= frag_end) frag_end += H(frags[++frag].hex).size();
    std::optional<ParseError> err = parse(ByteSpan(all).first(len));
    ASSERT_TRUE(err.has_value()) << "prefix " << len << " parsed";
    EXPECT_EQ(err->code, frags[frag].code) << "prefix " << len;
    EXPECT_EQ(std::string(err->detail), frags[frag].detail) << "prefix " << len;
  }
  std::optional<ParseError> err = parse(all);
  EXPECT_FALSE(err.has_value()) << "full input: " << (err ? err->detail : "");
}

// Wraps a body in a generic payload header whose length matches it and parses it as a
// one-payload chain of `type`; returns the error or nullopt.
inline std::function<std::optional<ParseError>(ByteSpan)> BodyParser(PayloadType type) {
  return [type](ByteSpan body) -> std::optional<ParseError> {
    Bytes b;
    ByteWriter w(b);
    w.U16(0);
    w.U16(static_cast<uint16_t>(body.size() + 4));
    w.Append(body);
    auto r = ParsePayloads(type, b);
    if (r) return std::nullopt;
    return r.error();
  };
}

}  // namespace ikepulse::ikev2::testing
