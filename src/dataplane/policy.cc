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

}  // namespace ikepulse::dataplane
