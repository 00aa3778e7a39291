// EntryRef: a crypto map entry as an SA refers to it, for every protocol (ike_sa.h's records,
// SessionHost's entry references).
#pragma once

#include <cstdint>

namespace ikepulse::ike {

// A crypto map entry as an SA refers to it: the map's name by number (NodeImpl::MapName; a
// number is never reused nor taken back, so it names the same map whatever SetConfig does
// later) and the entry's sequence number. 8 bytes instead of a copy of the name. Two refs are
// equal iff they name the same (map, seq); the default one names ("", 0).
struct EntryRef {
  uint32_t map = 0;
  uint32_t seq = 0;
  bool operator==(const EntryRef&) const = default;
};

}  // namespace ikepulse::ike
