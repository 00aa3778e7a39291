#include "config/key_index.h"

#include <algorithm>

namespace ikepulse::config {
namespace {

// The prefix length of `mask`, or -1 if its one bits are not contiguous from the left.
int PrefixLength(const IpAddress& mask) {
  const size_t n = mask.v6 ? 16 : 4;
  int bits = 0;
  bool ended = false;
  for (size_t i = 0; i < n; ++i) {
    for (int b = 7; b >= 0; --b) {
      const bool one = (mask.bytes[i] >> b) & 1;
      if (one && ended) return -1;
      if (one) ++bits;
      if (!one) ended = true;
    }
  }
  return bits;
}

int MaskBits(const IpAddress& m) {
  int bits = 0;
  for (size_t i = 0; i < (m.v6 ? 16u : 4u); ++i) bits += __builtin_popcount(m.bytes[i]);
  return bits;
}

std::array<uint8_t, 16> Masked(const IpAddress& a, int length) {
  std::array<uint8_t, 16> out{};
  const size_t n = a.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) {
    const int keep = std::clamp(length - static_cast<int>(i) * 8, 0, 8);
    const uint8_t m = keep == 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
    out[i] = a.bytes[i] & m;
  }
  return out;
}

}  // namespace

size_t KeyIndex::PrefixHash::operator()(const Prefix& p) const {
  uint64_t h = 1469598103934665603ull ^ (p.v6 ? 0x9E37 : 0) ^ (uint64_t{p.length} << 8);
  for (uint8_t b : p.bytes) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

void KeyIndex::Build(const CowList<PresharedKey>& keys) {
  by_prefix_.clear();
  lengths_v4_.clear();
  lengths_v6_.clear();
  irregular_.clear();
  by_prefix_.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const PresharedKey& k = keys[i];
    const int len = PrefixLength(k.mask);
    if (len < 0 || k.mask.v6 != k.address.v6) {
      irregular_.push_back(i);
      continue;
    }
    Prefix p{k.address.v6, static_cast<uint8_t>(len), Masked(k.address, len)};
    by_prefix_.emplace(p, i);  // the first configured wins among equals
    auto& lengths = k.address.v6 ? lengths_v6_ : lengths_v4_;
    if (std::find(lengths.begin(), lengths.end(), len) == lengths.end()) lengths.push_back(len);
  }
  std::sort(lengths_v4_.rbegin(), lengths_v4_.rend());
  std::sort(lengths_v6_.rbegin(), lengths_v6_.rend());
}

const PresharedKey* KeyIndex::Find(const CowList<PresharedKey>& keys,
                                   const IpAddress& peer) const {
  std::optional<size_t> best;
  for (uint8_t len : peer.v6 ? lengths_v6_ : lengths_v4_) {
    auto it = by_prefix_.find(Prefix{peer.v6, len, Masked(peer, len)});
    if (it != by_prefix_.end()) {
      best = it->second;
      break;
    }
  }
  // Keys with a non-prefix mask compete on mask bits; the first configured wins a tie.
  for (size_t i : irregular_) {
    if (i >= keys.size() || !keys[i].Matches(peer)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const int a = MaskBits(keys[i].mask), b = MaskBits(keys[*best].mask);
    if (a > b || (a == b && i < *best)) best = i;
  }
  return best && *best < keys.size() ? &keys[*best] : nullptr;
}

}  // namespace ikepulse::config
