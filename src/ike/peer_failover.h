// PeerFailover: the peer cursor of one crypto map entry, for stateless failover across its
// `set peer` lines (DESIGN.md §4; Cisco "IPsec Preferred Peer"). It only says which peer the next Main Mode goes to; it holds no SA state and no time.
// Owned by the engine, one per crypto map entry; the engine reports outcomes to it.
//
// Rules (each pinned by a test in peer_failover_test.cc):
// - P1 Start: the cursor starts at index 0, the first configured peer. An empty list (an
//   entry with no `set peer` yet, which IOS calls incomplete) has no current peer.
// - P2 Setup failure (kSetupFailed: the peer could not be reached or negotiation failed when
//   bringing the SA up): move to the next peer in configured order, wrapping after the last
//   (A -> B -> C -> A). This is the plain "next listed peer" rule, with or without a default.
// - P3 Dead peer (kPeerDead: DPD declared an established peer dead):
//     * no default peer: same as P2, the next peer in order, wrapping;
//     * a default peer exists and the dead peer is not it: back to the default peer ("DPD
//       ... resets the peer list so that the default peer is tried for the next attempted
//       connection");
//     * the dead peer is the default itself: the next peer in order after it.
//   Setup failures keep using P2, so with {D(default), B, C} and D and B both down the cursor
//   still reaches C (D dead -> B, B fails -> C) instead of bouncing between D and B.
// - P4 Default peer: IOS allows one `default` peer and requires it to be first; this class
//   does not rely on that: the first peer with is_default is the default wherever it is, and
//   any later is_default flags are ignored (the CLI rejects such configurations).
// - P5 OnSuccess() keeps the cursor where it is (no preemption back to the first or default
//   peer while the SA is up) and resets the consecutive-failure count.
// - P6 SetPeers(): a list that differs in any way (order, address, flags) resets the cursor to
//   index 0 ("any change to the crypto map resets the peer index to zero"); an identical list
//   changes nothing.
// - P7 A single peer stays the current peer whatever happens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "config/config.h"

namespace ikepulse::ike {

class PeerFailover {
 public:
  enum class FailureKind : uint8_t {
    kPeerDead = 0,     // DPD declared the established peer dead (P3)
    kSetupFailed = 1,  // could not bring the SA up with this peer (P2)
  };

  struct Choice {
    size_t index;                       // position in the configured list
    const config::CryptoMapPeer* peer;  // valid until the next SetPeers()
  };

  explicit PeerFailover(std::vector<config::CryptoMapPeer> peers = {});

  // The peer the next negotiation should go to; std::nullopt when the list is empty.
  std::optional<Choice> Current() const;
  size_t current_index() const { return index_; }

  // The current peer failed; move the cursor by rule P2/P3.
  void OnFailure(FailureKind kind = FailureKind::kPeerDead);
  // The SA with the current peer came up (P5).
  void OnSuccess() { consecutive_failures_ = 0; }

  // Replaces the list; resets the cursor to 0 if it changed (P6). Returns true on a reset.
  bool SetPeers(std::vector<config::CryptoMapPeer> peers);

  const std::vector<config::CryptoMapPeer>& peers() const { return peers_; }
  // Index of the default peer (P4), if any.
  std::optional<size_t> default_index() const { return default_index_; }
  // Failures since the last OnSuccess() or list change; >= peers().size() means every peer
  // has failed at least once in a row (the engine may back off).
  uint32_t consecutive_failures() const { return consecutive_failures_; }

 private:
  void FindDefault();

  std::vector<config::CryptoMapPeer> peers_;
  std::optional<size_t> default_index_;
  size_t index_ = 0;
  uint32_t consecutive_failures_ = 0;
};

}  // namespace ikepulse::ike
