// ChildSaChanges: which IPsec SA pairs the engine's events may have changed, for the
// data plane's incremental sync (DataPlane::Update, TunRouteSet) instead of a full Sync of
// every SA after each change (O(N) per change, O(N^2) for a mass setup).
//
// The host passes every ike::Event to Note, then calls Resolve, which re-reads just the noted
// inbound SPIs from the engine (ike::Node::ChildSas(now, spis)): those still there are
// `changed` (new, or changed), the others `removed`. What changes a pair and its event:
//   kChildSaUp      a pair installed (value = inbound SPI)
//   kChildSaDown    a pair removed (value = inbound SPI)
//   kIkeSaUp        an ISAKMP re-establishment re-homes the old ISAKMP SA's pairs onto the
//                   new one (their ike_sa, endpoints): the new SA's pairs (Node::ChildSpis)
//   kIkeSaDown      a peer's ISAKMP Delete re-homes the pairs onto a newer ISAKMP SA with no
//                   child event: the pairs the SaDb holds under that ISAKMP SA
// Resolving by re-reading makes the result independent of event order and of events that
// cancel out (a pair up and down in the same batch is just removed).
#pragma once

#include <cstdint>
#include <vector>

#include "common/time.h"
#include "dataplane/sa_db.h"
#include "ike/node.h"
#include "ike/outbox.h"

namespace ikepulse::dataplane {

class ChildSaChanges {
 public:
  // True if `e` may have changed a pair (the host then syncs).
  bool Note(const ike::Event& e, const ike::Node& node, const SaDb& db);
  bool empty() const { return spis_.empty(); }
  void Clear() { spis_.clear(); }
  // Re-reads the noted SPIs from `node` into `changed` (current snapshots) and `removed`
  // (inbound SPIs the node no longer has), then forgets them.
  void Resolve(const ike::Node& node, TimePoint now, std::vector<ike::ChildSaSnapshot>& changed,
               std::vector<uint32_t>& removed);

 private:
  std::vector<uint32_t> spis_;
};

}  // namespace ikepulse::dataplane
