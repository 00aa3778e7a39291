#include "dataplane/policy.h"

#include <algorithm>

namespace ikepulse::dataplane {

void Policy::Sync(const config::Config& cfg) {
  entries_.clear();
  for (const auto& e : cfg.crypto_maps) {
    const config::AccessList* acl = cfg.FindAcl(e.match_address);
    if (!acl) continue;
    entries_.push_back(Entry{EntryKey{e.map_name, e.seq}, acl->entries});
  }
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
}

std::optional<EntryKey> Policy::Lookup(const IpAddress& src, const IpAddress& dst,
                                       uint8_t protocol) const {
  for (const auto& e : entries_) {
    for (const auto& line : e.acl) {
      if (!line.Matches(src, dst, protocol)) continue;
      if (line.permit) return e.key;
      break;  // deny: not this entry, try the next one
    }
  }
  return std::nullopt;
}

int PrefixLength(const IpAddress& mask) {
  const size_t n = mask.v6 ? 16 : 4;
  int bits = 0;
  bool zero_seen = false;
  for (size_t i = 0; i < n; ++i) {
    for (int b = 7; b >= 0; --b) {
      const bool one = (mask.bytes[i] >> b) & 1;
      if (one && zero_seen) return -1;
      if (one) ++bits; else zero_seen = true;
    }
  }
  return bits;
}

std::set<TunRoute> TunRoutes(const config::Config& cfg,
                             std::span<const ike::ChildSaSnapshot> sas) {
  std::set<TunRoute> routes;
  auto add = [&routes](IpAddress net, const IpAddress& mask) {
    const int len = PrefixLength(mask);
    if (len <= 0) return;
    // The network address itself (host bits cleared): the kernel rejects a route whose
    // destination has host bits set.
    for (size_t i = 0; i < net.bytes.size(); ++i) net.bytes[i] &= mask.bytes[i];
    routes.insert(TunRoute{net, len});
  };
  for (const config::CryptoMapEntry& e : cfg.crypto_maps) {
    const config::AccessList* acl = cfg.FindAcl(e.match_address);
    if (!acl) continue;
    for (const config::AclEntry& a : acl->entries) {
      if (!a.permit) continue;
      IpAddress mask = a.dst_wildcard;
      for (auto& b : mask.bytes) b = static_cast<uint8_t>(~b);
      if (!mask.v6)
        for (size_t i = 4; i < mask.bytes.size(); ++i) mask.bytes[i] = 0;
      add(a.dst, mask);
    }
  }
  for (const ike::ChildSaSnapshot& sa : sas) add(sa.remote_net, sa.remote_mask);
  return routes;
}

}  // namespace ikepulse::dataplane
