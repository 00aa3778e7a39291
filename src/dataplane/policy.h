// Outbound policy: which crypto map entry protects a packet (the IOS crypto-map lookup).
//
// Entries are tried in (map name, sequence) order. Within an entry, the lines of its
// `match address` ACL are tried in order and the first line that matches decides: `permit`
// selects this entry; `deny` means "not protected by this entry" and the lookup moves on to
// the next entry (IOS semantics for crypto ACLs); no matching line (the implicit deny) also
// moves on. No entry: the packet is not for any tunnel. Entries whose ACL does not exist
// never match. A value type rebuilt by Sync from a Config copy; holds no pointers into it.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace ikepulse::dataplane {

struct EntryKey {
  std::string map_name;
  uint32_t seq = 0;
  auto operator<=>(const EntryKey&) const = default;
};

class Policy {
 public:
  void Sync(const config::Config& cfg);
  std::optional<EntryKey> Lookup(const IpAddress& src, const IpAddress& dst,
                                 uint8_t protocol) const;
  size_t entry_count() const { return entries_.size(); }

 private:
  struct Entry {
    EntryKey key;
    std::vector<config::AclEntry> acl;
  };
  std::vector<Entry> entries_;  // sorted by key
};

}  // namespace ikepulse::dataplane
