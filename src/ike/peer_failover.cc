#include "ike/peer_failover.h"

#include <utility>

namespace ikepulse::ike {

PeerFailover::PeerFailover(std::vector<config::CryptoMapPeer> peers) : peers_(std::move(peers)) {
  FindDefault();
}

void PeerFailover::FindDefault() {
  default_index_.reset();
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (peers_[i].is_default) {
      default_index_ = i;
      return;
    }
  }
}

std::optional<PeerFailover::Choice> PeerFailover::Current() const {
  if (peers_.empty()) return std::nullopt;
  return Choice{index_, &peers_[index_]};
}

void PeerFailover::OnFailure(FailureKind kind) {
  if (peers_.empty()) return;
  ++consecutive_failures_;
  if (kind == FailureKind::kPeerDead && default_index_ && index_ != *default_index_) {
    index_ = *default_index_;  // P3: back to the preferred peer
    return;
  }
  index_ = (index_ + 1) % peers_.size();  // P2, and P3 when the default itself died
}

bool PeerFailover::SetPeers(std::vector<config::CryptoMapPeer> peers) {
  if (peers == peers_) return false;
  peers_ = std::move(peers);
  FindDefault();
  index_ = 0;
  consecutive_failures_ = 0;
  return true;
}

}  // namespace ikepulse::ike
