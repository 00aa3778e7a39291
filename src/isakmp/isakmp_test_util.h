// Test helpers for the isakmp codec tests (not part of the library).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "isakmp/parse_error.h"

namespace ikepulse::isakmp::testing {

inline Bytes H(std::string_view hex) { return HexOrDie(hex); }

// A Main Mode 1 message, written by hand from RFC 2408 §3.1-3.6 / RFC 2409 App. A: one SA
// (one proposal, one KEY_IKE transform: AES-128, SHA1, PSK, group 14, life 86400 s as a TLV),
// then the RFC 3706 DPD vendor ID and the RFC 3947 NAT-T vendor ID. 128 bytes.
inline constexpr char kMm1Header[] =
    "0102030405060708 0000000000000000 01 10 02 00 00000000 00000080";
inline constexpr char kMm1Body[] =
    // SA: next VID, length 60, DOI IPsec, situation identity-only
    "0d00003c 00000001 00000001"
    // Proposal #1: last, length 48, protocol ISAKMP, SPI size 0, 1 transform
    "00000030 01 01 00 01"
    // Transform #1: last, length 40, KEY_IKE, reserved
    "00000028 01 01 0000"
    "80010007"           // encryption: AES-CBC
    "800e0080"           // key length: 128
    "80020002"           // hash: SHA1
    "80030001"           // auth: pre-shared key
    "8004000e"           // group: 14
    "800b0001"           // life type: seconds
    "000c0004 00015180"  // life duration: 86400 (TLV, 4 bytes)
    // VID: next VID, length 20, RFC 3706 DPD
    "0d000014 afcad71368a1f1c96b8696fc77570100"
    // VID: last, length 20, RFC 3947 NAT-T
    "00000014 4a131c81070358455c5728f20e95452f";

// One field (or group of fields) of a golden message, with the error expected when the input
// ends inside it (quiche's PacketFragments idea).
struct Fragment {
  std::string hex;
  NotifyType code;
  std::string detail;
};

inline Bytes Join(const std::vector<Fragment>& frags) {
  Bytes out;
  for (const Fragment& f : frags) {
    Bytes b = H(f.hex);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

// Parses every proper prefix of the joined fragments and expects the error of the fragment
// holding the first missing byte; the full input must parse. `parse` returns the error, or
// nullopt on success.
inline void CheckEveryPrefix(const std::vector<Fragment>& frags,
                             const std::function<std::optional<ParseError>(ByteSpan)>& parse) {
  const Bytes all = Join(frags);
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

}  // namespace ikepulse::isakmp::testing
