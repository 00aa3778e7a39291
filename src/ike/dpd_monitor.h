// DpdMonitor: the whole initiator side of RFC 3706 Dead Peer Detection for one ISAKMP SA, with
// Cisco IOS `crypto isakmp keepalive <I> [<r>] [periodic|on-demand]` semantics (DESIGN.md
// §3.3-3.5).
//
// It is pure: no I/O, no timer object, no clock. Every entry point takes `now`; the owner (the
// IKE SA) arms its timer at NextDeadline(), calls OnTimeout(now) when it is due, and turns the
// returned DpdAction into packets (kSendRUThere: a new Informational exchange with a fresh
// M-ID carrying R-U-THERE with `seq`) or into the teardown (kPeerDead). Answering the peer's own
// R-U-THERE is not this class's job: the SA always ACKs, whatever the mode (DESIGN.md §3.1).
// Owned by its IKE SA, by value. Not thread-safe.
//
// Timeline: `crypto isakmp keepalive 10 2 periodic`, SA up (or last authenticated message
// from the peer) at T0, the peer dead from then on. r = retry, 5 = kMaxRetryExpiries:
//
//   T0        OnEstablished / last_rx
//   T0+10     R-U-THERE seq s             (error_count 0, retransmission false)
//   T0+12     R-U-THERE seq s+1           (retry timer expiry 1: error_count 1, retransmission)
//   T0+14     R-U-THERE seq s+2           (expiry 2: error_count 2)
//   T0+16     R-U-THERE seq s+3           (expiry 3: error_count 3)
//   T0+18     R-U-THERE seq s+4           (expiry 4: error_count 4)
//   T0+20     kPeerDead                   (expiry 5: error_count 5, "peer not responding!")
//
// i.e. one R-U-THERE plus four retransmissions, dead at T0 + I + 5r: the seed's own trace.
// In general, with a round starting at T: packets at T, T+r, T+2r, T+3r, T+4r; dead at T+5r.
//
// Rules (dpd_monitor_test.cc has one test per rule, named after it):
// - R1 Negotiation: OnEstablished(now, peer_supports_dpd). Nothing is ever initiated if the
//   peer did not send the RFC 3706 vendor ID or keepalive is disabled (Active() is false,
//   NextDeadline() is kNever). The SA still answers the peer's R-U-THERE (not our concern).
// - R2 Periodic: a round starts when I seconds have passed since the start of the current
//   interval, i.e. deadline = last_rx + I, with or without user traffic. Any authenticated
//   AND new IKE message from the peer (OnInboundAuthenticated: its own R-U-THERE, a Quick
//   Mode, ...) restarts the interval and so suppresses the hello. The engine calls it from one
//   place only (NodeImpl::HeardFromPeer), after its replay checks: a replayed message, even
//   though it authenticates, never reaches this monitor.
// - R3 ESP policy (DpdOptions::esp_counts_as_liveness): whether inbound ESP on a child SA
//   (OnInboundTraffic) counts as liveness. Unset = the mode's default: periodic NO (current
//   IOS, after CSCsh12853 reverted CSCin76641: traffic from the peer does not suppress a
//   periodic R-U-THERE; DESIGN.md §3.3), on-demand YES ("no traffic from the peer for I
//   seconds", RFC 3706 §5.4 worry metric). Set it to force either way (e.g. false behind NAT,
//   where ESP need not keep the IKE path alive).
// - R4 On-demand: nothing is sent without outbound traffic. OnOutboundTraffic(now) with
//   now - last_rx >= I and no round running makes a round due at `now` (NextDeadline() ==
//   now); the next OnTimeout starts it. Outbound traffic before I has passed does nothing. No
//   traffic: NextDeadline() stays kNever forever (a dead peer goes unnoticed until a rekey).
//   Outbound traffic is ignored in periodic mode.
// - R5 Round: R-U-THERE at T; the retry timer (period r, re-armed from each expiry) fires at
//   T+r .. T+4r, each expiry increments error_count and sends a new R-U-THERE with the next
//   seq (retransmission = true; each is its own Informational exchange); the 5th expiry, at
//   T+5r, returns kPeerDead with error_count 5. kMaxRetryExpiries = 5 is a compile-time
//   constant (IOS does not let it be configured).
// - R6 Round end: OnAck(seq) for any seq sent in the current round, i.e. in
//   [first_seq_of_round, next_seq) modulo 2^32, returns true and counts as liveness: the round
//   ends, last_rx = now, and a normal interval starts at now (periodic: next hello at now+I).
//   Any authenticated inbound IKE message (or counted ESP, R3) ends the round the same way.
// - R7 Wrong seq: an ACK for any other seq (a previous round, a future one, or no round
//   running) returns false and changes nothing; the caller logs it. The caller must route
//   R-U-THERE-ACKs only to OnAck, not also to OnInboundAuthenticated, or a bad ACK would
//   count as liveness through the back door.
// - R8 Late ACK: because the whole round is the window, a slow peer is not declared dead.
//   With retry 2, the peer answering every R-U-THERE after 3 s: R-U-THERE s at T, s+1 at T+2,
//   ACK(s) at T+3 is accepted -> alive, round over, no false death; ACK(s+1) at T+5 arrives
//   after the round: OnAck returns false and OnLateAck (R13) decides.
// - R9 Sequence numbers (RFC 3706 §6.1): the first is Random::U32() & 0x7FFFFFFF (top bit
//   clear), drawn in the constructor; +1 per R-U-THERE sent, retransmissions included, and
//   across rounds; wraps at 2^32. They do not restart on OnEstablished (a new IKE SA gets a
//   new DpdMonitor).
// - R10 Death is final: after kPeerDead, NextDeadline() is kNever and every input is ignored
//   until OnEstablished is called again.
// - R11 UpdateConfig(cfg, now) (a live `crypto isakmp keepalive` change) applies from the next
//   interval and never disturbs what is already scheduled: a round in progress finishes with
//   the retry it started with, and an interval already running keeps its length (I is latched
//   when an interval starts: OnEstablished, liveness, end of a round). The new retry applies
//   from the next round, the new I from the next interval. Exceptions, taking effect at
//   `now`: disabling stops everything at once (a running round is abandoned); enabling, or
//   changing the mode while no round runs, starts a fresh interval at `now` with the new
//   values (so switching to periodic does not fire at once because last_rx is old). A mode
//   change during a round takes effect when the round ends. The R3 default follows the
//   configured mode at once.
// - R12 Spurious wake-ups are harmless: OnTimeout(now) with now < NextDeadline() returns kNone
//   and changes nothing. A late call (now > deadline) acts as if on time. The next retry is
//   armed from the deadline that expired when the call is at most kLateTolerance (50 ms)
//   late, so a daemon whose timer fires a few milliseconds late (its timer grid, the
//   scheduler) still declares the peer dead at T0 + I + 5r plus one such delay, not five;
//   from `now` when later (a suspended process: the peer still gets its whole retry time).
//
// Times are microseconds (common/time.h); deadlines are exact.
#pragma once

#include <cstdint>
#include <optional>

#include "common/random.h"
#include "common/time.h"
#include "config/config.h"

namespace ikepulse::ike {

// What the owner must do after OnTimeout.
struct DpdAction {
  enum class Kind : uint8_t {
    kNone = 0,         // nothing (not due, or on-demand had nothing to do)
    kSendRUThere = 1,  // send NOTIFY R-U-THERE (36136) carrying `seq`
    kPeerDead = 2,     // "peer not responding!": delete IPsec and IKE SAs, fail over
  };
  Kind kind = Kind::kNone;
  uint32_t seq = 0;  // for kSendRUThere
  // Retry-timer expiries so far in this round ("incrementing error counter on sa:
  // PEERS_ALIVE_TIMER"): 0 for the first R-U-THERE of a round, 1..4 for the retransmissions,
  // 5 with kPeerDead.
  uint32_t error_count = 0;
  bool retransmission = false;  // kSendRUThere sent by the retry timer
  bool operator==(const DpdAction&) const = default;
};

struct DpdOptions {
  // R3. std::nullopt = the mode's default (periodic: false, on-demand: true).
  std::optional<bool> esp_counts_as_liveness;
};

class DpdMonitor {
 public:
  // R5: retry-timer expiries in a round before the peer is declared dead (1 + 4 packets).
  static constexpr uint32_t kMaxRetryExpiries = 5;

  enum class State : uint8_t {
    kNotEstablished = 0,  // before OnEstablished
    kInactive = 1,        // established, but DPD is off (disabled or peer without DPD VID)
    kWatching = 2,        // counting an interval
    kProbing = 3,         // a round is running (R-U-THERE outstanding)
    kDead = 4,            // kPeerDead returned (R10)
  };

  // `rng` is used only inside the constructor, to draw the first sequence number (R9).
  DpdMonitor(const config::KeepaliveConfig& cfg, Random& rng, DpdOptions options = {});

  // Copyable (a plain value: an engine snapshot copies it with its SA); not assignable, so
  // that a monitor is never silently replaced in the middle of a round.
  DpdMonitor(const DpdMonitor&) = default;
  DpdMonitor& operator=(const DpdMonitor&) = delete;

  // The ISAKMP SA is up (Main Mode done); last_rx = now, a first interval starts (R1).
  // Calling it again (re-established) restarts from a clean, non-probing state.
  void OnEstablished(TimePoint now, bool peer_supports_dpd);
  // Will this monitor initiate DPD (established, enabled, peer supports DPD, not dead)?
  bool Active() const { return state_ == State::kWatching || state_ == State::kProbing; }

  // Any authenticated IKE message from the peer except R-U-THERE-ACK (R2, R6, R7).
  void OnInboundAuthenticated(TimePoint now);
  // Inbound ESP on one of this SA's child SAs (R3).
  void OnInboundTraffic(TimePoint now);
  // Outbound ESP towards this peer (R4).
  void OnOutboundTraffic(TimePoint now);
  // An authenticated R-U-THERE-ACK carrying `seq` (R6, R7, R8). True if accepted.
  bool OnAck(uint32_t seq, TimePoint now);

  // When OnTimeout must next be called; kNever when nothing is due.
  TimePoint NextDeadline() const;
  // Call when now >= NextDeadline() (R12 for early calls).
  DpdAction OnTimeout(TimePoint now);
  static constexpr Duration kLateTolerance = Millis(50);  // R12

  // R13: after OnAck returned false, an ACK for one of the R-U-THEREs of the round that
  // ended last (ended by other liveness, e.g. the peer's own R-U-THERE crossing our probe, or
  // a first ACK before this late one) is genuine and fresh the first time each seq is
  // acknowledged: kCounted, and it is liveness like any other message from the peer
  // ("a message received within the interval"), so the interval restarts at `now`. A second
  // ACK for the same seq proves nothing new (a replay, or the peer repeating itself):
  // kDuplicate, nothing changes. Any other seq, or a new round already running: kNotOurs.
  enum class LateAck : uint8_t { kNotOurs, kCounted, kDuplicate };
  LateAck OnLateAck(uint32_t seq, TimePoint now);

  // R11.
  void UpdateConfig(const config::KeepaliveConfig& cfg, TimePoint now);

  // Read-only state, for `show crypto isakmp sa detail` and the tests.
  State state() const { return state_; }
  bool probing() const { return state_ == State::kProbing; }
  const config::KeepaliveConfig& config() const { return cfg_; }  // the latest configured
  config::DpdMode mode() const { return cfg_.mode; }
  uint32_t interval_s() const { return interval_s_; }  // of the interval in progress
  uint32_t retry_s() const { return state_ == State::kProbing ? round_retry_s_ : cfg_.retry_s; }
  bool peer_supports_dpd() const { return peer_supports_dpd_; }
  bool esp_counts_as_liveness() const;
  TimePoint last_rx() const { return last_rx_; }  // kNever before OnEstablished
  TimePoint interval_start() const { return interval_start_; }
  uint32_t next_seq() const { return next_seq_; }  // the seq the next R-U-THERE gets
  uint32_t first_seq_of_round() const { return first_seq_of_round_; }
  // R-U-THEREs sent in the current round and not yet answered (0 when not probing).
  uint32_t outstanding() const {
    return state_ == State::kProbing ? next_seq_ - first_seq_of_round_ : 0;
  }
  uint32_t error_count() const { return error_count_; }  // of the current round

 private:
  bool Enabled() const { return cfg_.enabled && peer_supports_dpd_; }
  // Starts a fresh interval at `now` with the configured I (liveness, end of round, R11).
  void StartInterval(TimePoint now);
  // Liveness from the peer: last_rx = now, ends a round, new interval.
  void Alive(TimePoint now);
  DpdAction SendRUThere(TimePoint now, bool retransmission);

  // Members are ordered so that there is no padding (88 bytes; one monitor per ISAKMP SA).
  config::KeepaliveConfig cfg_;
  DpdOptions options_;
  State state_ = State::kNotEstablished;
  bool peer_supports_dpd_ = false;
  uint32_t interval_s_ = 0;  // I latched for the interval in progress (R11)

  TimePoint last_rx_ = kNever;
  TimePoint interval_start_ = kNever;
  TimePoint on_demand_due_ = kNever;  // R4: round due at this instant

  // The round (valid in kProbing).
  TimePoint retry_deadline_ = kNever;
  uint32_t round_retry_s_ = 0;  // r latched when the round started (R11)
  uint32_t error_count_ = 0;
  uint32_t first_seq_of_round_ = 0;
  uint32_t next_seq_ = 0;
  // The last finished round (R13): [closed_round_first_, +closed_round_sent_).
  uint32_t closed_round_first_ = 0;
  uint32_t closed_round_sent_ = 0;
  uint32_t closed_round_acked_ = 0;  // bit i: seq closed_round_first_ + i already ACKed
};

}  // namespace ikepulse::ike
