// Prometheus text exposition (format 0.0.4) of ikepulsed's state, for `ikepulse metrics
// listen A P` (daemon/metrics_server.h). Pure: MetricsSnapshot in, text out; the daemon fills
// the snapshot from the engine, the data plane and the control server on the event loop
// thread at each scrape, so a scrape costs O(SAs) once and never races the engine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "ike/node.h"

namespace ikepulse::daemon {

struct MetricsSnapshot {
  ike::NodeCounters counters;
  ike::CallAdmissionSnapshot admission;
  // IKE SAs by (version, IOS state name), e.g. {1, "QM_IDLE"}.
  std::map<std::pair<int, std::string>, uint64_t> ike_sas;
  uint64_t ipsec_sa_pairs = 0;
  // Per crypto map entry (map name, seq): packets and bytes through its current IPsec SAs.
  struct Traffic {
    uint64_t pkts_in = 0, pkts_out = 0, bytes_in = 0, bytes_out = 0, sas = 0;
  };
  std::map<std::pair<std::string, uint32_t>, Traffic> entries;
  // UDP sockets read on the timer grid instead of woken by epoll (daemon.cc, "Receiving
  // under load"), now and how many times one switched to it.
  uint64_t sockets_polled = 0;
  uint64_t socket_poll_switches = 0;
  uint64_t control_clients = 0;
  uint64_t scrapes = 0;  // including this one
};

// The snapshot of `node` (and what the caller adds: control clients, scrapes).
MetricsSnapshot SnapshotOf(const ike::Node& node, TimePoint now);

std::string RenderPrometheus(const MetricsSnapshot& s);

}  // namespace ikepulse::daemon
