#include "sim/sim_node.h"

#include <utility>

namespace ikepulse::sim {

SimNode::SimNode(Simulator& sim, std::string name, std::vector<IpAddress> addresses,
                 uint64_t seed, ike::NodeOptions opts)
    : sim_(sim), rng_(seed), node_(rng_, opts) {
  id_ = sim_.AddHost(*this, std::move(name), std::move(addresses));
}

void SimNode::OnDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote,
                         ByteSpan data, ike::Outbox& out) {
  node_.OnDatagram(now, local, remote, data, out);
}

void SimNode::OnTimeout(TimePoint now, ike::Outbox& out) { node_.OnTimeout(now, out); }

TimePoint SimNode::NextDeadline() const { return node_.NextDeadline(); }

void SimNode::SetConfig(const config::Config& cfg) {
  sim_.Call(id_, [&](TimePoint now, ike::Outbox& out) { node_.SetConfig(cfg, now, out); });
}

void SimNode::Initiate(const std::string& map_name, uint32_t seq) {
  sim_.Call(id_,
            [&](TimePoint now, ike::Outbox& out) { node_.Initiate(now, map_name, seq, out); });
}

void SimNode::OnOutboundTraffic(const std::string& map_name, uint32_t seq) {
  sim_.Call(id_, [&](TimePoint now, ike::Outbox& out) {
    node_.OnOutboundTraffic(now, map_name, seq, out);
  });
}

void SimNode::OnChildTraffic(uint32_t spi, bool inbound, uint64_t bytes) {
  sim_.Call(id_, [&](TimePoint now, ike::Outbox& out) {
    node_.OnChildTraffic(now, spi, inbound, bytes, out);
  });
}

void SimNode::OnChildLifetime(uint32_t spi, bool hard) {
  sim_.Call(id_, [&](TimePoint now, ike::Outbox& out) {
    node_.OnChildLifetime(now, spi, hard, out);
  });
}

void SimNode::Clear(const ike::ClearFilter& filter) {
  sim_.Call(id_, [&](TimePoint now, ike::Outbox& out) { node_.Clear(now, filter, out); });
}

}  // namespace ikepulse::sim
