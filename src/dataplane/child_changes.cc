#include "dataplane/child_changes.h"

#include <algorithm>

namespace ikepulse::dataplane {

bool ChildSaChanges::Note(const ike::Event& e, const ike::Node& node, const SaDb& db) {
  switch (e.kind) {
    case ike::EventKind::kChildSaUp:
    case ike::EventKind::kChildSaDown:
      spis_.push_back(static_cast<uint32_t>(e.value));
      return true;
    case ike::EventKind::kIkeSaUp: {
      const std::vector<uint32_t> spis = node.ChildSpis(e.sa);
      spis_.insert(spis_.end(), spis.begin(), spis.end());
      return true;
    }
    case ike::EventKind::kIkeSaDown: {
      const std::vector<uint32_t> spis = db.InboundSpisOf(e.sa);
      spis_.insert(spis_.end(), spis.begin(), spis.end());
      return !spis.empty();
    }
    default:
      return false;
  }
}

void ChildSaChanges::Resolve(const ike::Node& node, TimePoint now,
                             std::vector<ike::ChildSaSnapshot>& changed,
                             std::vector<uint32_t>& removed) {
  std::sort(spis_.begin(), spis_.end());
  spis_.erase(std::unique(spis_.begin(), spis_.end()), spis_.end());
  changed = node.ChildSas(now, spis_, ike::SnapshotKeys::kInclude);
  std::vector<uint32_t> present;
  present.reserve(changed.size());
  for (const ike::ChildSaSnapshot& s : changed) present.push_back(s.spi_in);
  std::sort(present.begin(), present.end());
  removed.clear();
  std::set_difference(spis_.begin(), spis_.end(), present.begin(), present.end(),
                      std::back_inserter(removed));
  spis_.clear();
}

}  // namespace ikepulse::dataplane
