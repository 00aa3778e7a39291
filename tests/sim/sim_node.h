// SimNode: an ike::Node attached to a Simulator as a SimHost. It owns the Node and the Node's
// SeededRandom, so a scenario is deterministic for a given seed. The test drives the Node
// through SimNode's helpers (which run at the simulator's current virtual time and route the
// Outbox), or through node() for read-only snapshots.
//
//   Simulator sim;
//   SimNode a(sim, "A", {IpAddress::V4(10, 0, 0, 1)}), b(sim, "B", {IpAddress::V4(10, 0, 0, 2)});
//   Link& ab = sim.Connect(a.id(), b.id(), Millis(5));
//   a.SetConfig(cfg_a); b.SetConfig(cfg_b);
//   a.Initiate("green", 1);
//   ASSERT_TRUE(sim.RunUntil([&] { return a.ike_sa_count() == 1; }, sim.now() + Seconds(5)));
//
// Not copyable or movable (its address is registered with the Simulator). Must outlive the
// Simulator's use of it; the Simulator must outlive it too (it calls back into sim).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/random.h"
#include "config/config.h"
#include "ike/node.h"
#include "sim/simulator.h"

namespace ikepulse::sim {

class SimNode final : public SimHost {
 public:
  SimNode(Simulator& sim, std::string name, std::vector<IpAddress> addresses, uint64_t seed = 0,
          ike::NodeOptions opts = {});
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;

  // SimHost.
  void OnDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote, ByteSpan data,
                  ike::Outbox& out) override;
  void OnTimeout(TimePoint now, ike::Outbox& out) override;
  TimePoint NextDeadline() const override;

  HostId id() const { return id_; }
  const IpAddress& address() const { return sim_.addresses(id_).front(); }
  ike::Node& node() { return node_; }
  const ike::Node& node() const { return node_; }
  const std::vector<ike::Event>& events() const { return sim_.events(id_); }

  // Operations, run as this host at sim.now().
  void SetConfig(const config::Config& cfg);
  void Initiate(const std::string& map_name, uint32_t seq);
  void OnOutboundTraffic(const std::string& map_name, uint32_t seq);
  void OnChildTraffic(uint32_t spi, bool inbound, uint64_t bytes);
  void OnChildLifetime(uint32_t spi, bool hard);
  void Clear(const ike::ClearFilter& filter);

  // `debug crypto isakmp` on/off; with trace, the simulator also echoes log/debug lines.
  void SetDebug(bool on) { node_.SetDebug(on); }
  void EnableDebug(bool trace_to_stderr = false) {
    node_.SetDebug(true);
    if (trace_to_stderr) sim_.set_trace(true);
  }

  void Kill() { sim_.Kill(id_); }
  void Revive() { sim_.Revive(id_); }

  // Snapshots at sim.now().
  std::vector<ike::IsakmpSaSnapshot> IsakmpSas() const { return node_.IsakmpSas(sim_.now()); }
  std::vector<ike::ChildSaSnapshot> ChildSas() const { return node_.ChildSas(sim_.now()); }
  // With the keys, as the data plane gets them (to compare both sides' keys).
  std::vector<ike::ChildSaSnapshot> ChildSasWithKeys() const {
    return node_.ChildSas(sim_.now(), ike::SnapshotKeys::kInclude);
  }
  std::vector<ike::Node::EntryState> Entries() const { return node_.Entries(); }
  const ike::NodeCounters& counters() const { return node_.counters(); }
  size_t ike_sa_count() const { return node_.ike_sa_count(); }

 private:
  Simulator& sim_;
  SeededRandom rng_;
  ike::Node node_;
  HostId id_ = kNoHost;
};

}  // namespace ikepulse::sim
