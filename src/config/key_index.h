// KeyIndex: the pre-shared keys (`crypto isakmp key K address A [M]`) by longest prefix, so
// that the key lookup of every Main Mode costs a handful of hash lookups instead of a scan of
// every key (a hub may hold one key per branch: 100,000 of them).
//
// Same answer as Config::FindKey: among the keys whose address/mask matches the peer, the
// one with the most mask bits; among equals, the first configured. A mask that is not a
// prefix (not contiguous ones from the left) is legal but rare; such keys are kept aside and
// scanned. IPv4 and IPv6 keys are separate. Rebuilt from scratch by Build (O(keys)).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace ikepulse::config {

class KeyIndex {
 public:
  void Build(const CowList<PresharedKey>& keys);
  // `keys` must be the vector Build was given (the index holds positions into it).
  const PresharedKey* Find(const CowList<PresharedKey>& keys, const IpAddress& peer) const;

 private:
  struct Prefix {
    bool v6 = false;
    uint8_t length = 0;
    std::array<uint8_t, 16> bytes{};  // the address, masked to `length` bits
    bool operator==(const Prefix&) const = default;
  };
  struct PrefixHash {
    size_t operator()(const Prefix& p) const;
  };

  std::unordered_map<Prefix, size_t, PrefixHash> by_prefix_;  // -> first key with it
  std::vector<uint8_t> lengths_v4_, lengths_v6_;              // present, longest first
  std::vector<size_t> irregular_;                             // keys with a non-prefix mask
};

}  // namespace ikepulse::config
