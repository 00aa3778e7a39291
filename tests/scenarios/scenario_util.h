// Shared helpers for the scenario tests: the site config builders (site_config.h: SiteSpec,
// MakeConfig, SiteA/SiteB, Keepalive) plus simulator matchers and event/SA helpers.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "scenarios/site_config.h"
#include "sim/matchers.h"
#include "sim/sim_node.h"
#include "sim/simulator.h"

namespace ikepulse::scenario {

// Events of one kind.
inline std::vector<ike::Event> OfKind(const std::vector<ike::Event>& ev, ike::EventKind k) {
  std::vector<ike::Event> out;
  for (const auto& e : ev)
    if (e.kind == k) out.push_back(e);
  return out;
}

inline bool HasChild(const sim::SimNode& n) { return !n.ChildSas().empty(); }

}  // namespace ikepulse::scenario
