#include "ike/dpd_monitor.h"

#include "common/check.h"

namespace ikepulse::ike {
namespace {

void CheckConfig(const config::KeepaliveConfig& cfg) {
  // The CLI enforces 10-3600 / 2-60; zero here would be a programmer error (a busy loop).
  IKEPULSE_CHECK(!cfg.enabled || (cfg.interval_s > 0 && cfg.retry_s > 0));
}

}  // namespace

DpdMonitor::DpdMonitor(const config::KeepaliveConfig& cfg, Random& rng, DpdOptions options)
    : cfg_(cfg), options_(options) {
  CheckConfig(cfg_);
  // RFC 3706 §6.1: the first sequence number is random, with the high bit initially zero.
  next_seq_ = rng.U32() & 0x7FFFFFFFu;
  first_seq_of_round_ = next_seq_;
}

bool DpdMonitor::esp_counts_as_liveness() const {
  return options_.esp_counts_as_liveness.value_or(cfg_.mode == config::DpdMode::kOnDemand);
}

void DpdMonitor::OnEstablished(TimePoint now, bool peer_supports_dpd) {
  peer_supports_dpd_ = peer_supports_dpd;
  last_rx_ = now;
  retry_deadline_ = kNever;
  error_count_ = 0;
  first_seq_of_round_ = next_seq_;
  StartInterval(now);
  state_ = Enabled() ? State::kWatching : State::kInactive;
}

void DpdMonitor::StartInterval(TimePoint now) {
  interval_start_ = now;
  interval_s_ = cfg_.interval_s;
  on_demand_due_ = kNever;
}

void DpdMonitor::Alive(TimePoint now) {
  if (state_ == State::kNotEstablished || state_ == State::kDead) return;  // R10
  last_rx_ = now;
  StartInterval(now);
  if (state_ == State::kProbing) {  // R6: the round ends, the peer is alive
    // R13: remember the finished round's seqs, so a late or crossing ACK is recognised.
    closed_round_first_ = first_seq_of_round_;
    closed_round_sent_ = next_seq_ - first_seq_of_round_;
    closed_round_acked_ = 0;
    state_ = State::kWatching;
    retry_deadline_ = kNever;
    error_count_ = 0;
  }
}

void DpdMonitor::OnInboundAuthenticated(TimePoint now) { Alive(now); }

void DpdMonitor::OnInboundTraffic(TimePoint now) {
  if (esp_counts_as_liveness()) Alive(now);  // R3
}

void DpdMonitor::OnOutboundTraffic(TimePoint now) {
  // R4: only on-demand, only between rounds, only once the peer has been quiet for I.
  if (state_ != State::kWatching || cfg_.mode != config::DpdMode::kOnDemand) return;
  if (on_demand_due_ != kNever) return;  // already due
  if (now - interval_start_ >= Seconds(interval_s_)) on_demand_due_ = now;
}

bool DpdMonitor::OnAck(uint32_t seq, TimePoint now) {
  if (state_ != State::kProbing) return false;  // R7: no round running
  // R6/R8: the window is every seq sent in this round, [first, next) modulo 2^32.
  const uint32_t offset = seq - first_seq_of_round_;
  const uint32_t sent = next_seq_ - first_seq_of_round_;
  if (offset >= sent) return false;  // R7
  Alive(now);
  if (offset < 32) closed_round_acked_ = 1u << offset;  // the round just closed (R13)
  return true;
}

DpdMonitor::LateAck DpdMonitor::OnLateAck(uint32_t seq, TimePoint now) {
  const uint32_t offset = seq - closed_round_first_;
  // A round holds 1 + (kMaxRetryExpiries - 1) seqs, far below the 32 bits of the mask.
  static_assert(kMaxRetryExpiries < 32);
  // Only between rounds: once a new round runs, only its own seqs end it (R6/R7).
  if (state_ != State::kWatching || closed_round_sent_ == 0 || offset >= closed_round_sent_ ||
      offset >= 32) {
    return LateAck::kNotOurs;
  }
  if (closed_round_acked_ & (1u << offset)) return LateAck::kDuplicate;
  closed_round_acked_ |= 1u << offset;
  Alive(now);
  return LateAck::kCounted;
}

TimePoint DpdMonitor::NextDeadline() const {
  switch (state_) {
    case State::kWatching:
      if (cfg_.mode == config::DpdMode::kPeriodic) {
        return interval_start_ + Seconds(interval_s_);  // R2
      }
      return on_demand_due_;  // R4
    case State::kProbing:
      return retry_deadline_;  // R5
    case State::kNotEstablished:
    case State::kInactive:
    case State::kDead:
      break;
  }
  return kNever;
}

DpdAction DpdMonitor::SendRUThere(TimePoint now, bool retransmission) {
  DpdAction a;
  a.kind = DpdAction::Kind::kSendRUThere;
  a.seq = next_seq_++;  // R9: +1 per packet, wrapping
  a.error_count = error_count_;
  a.retransmission = retransmission;
  retry_deadline_ = now + Seconds(round_retry_s_);  // R12: armed from this expiry
  return a;
}

DpdAction DpdMonitor::OnTimeout(TimePoint now) {
  const TimePoint due = NextDeadline();
  if (now < due) return {};  // R12: early or nothing due
  // R12: the instant the next retry is armed from: the deadline itself when the call is only
  // a little late (a coarse timer, the scheduler), so such delays do not add up over a round.
  const TimePoint expiry = now - due <= kLateTolerance ? due : now;
  if (state_ == State::kWatching) {
    // R2/R4: a new round.
    state_ = State::kProbing;
    round_retry_s_ = cfg_.retry_s;  // R11: latched for the whole round
    error_count_ = 0;
    first_seq_of_round_ = next_seq_;
    on_demand_due_ = kNever;
    return SendRUThere(expiry, /*retransmission=*/false);
  }
  // kProbing (NextDeadline() is kNever in every other state): the retry timer expired.
  ++error_count_;  // "incrementing error counter on sa: PEERS_ALIVE_TIMER"
  if (error_count_ >= kMaxRetryExpiries) {
    state_ = State::kDead;  // R5, R10
    retry_deadline_ = kNever;
    DpdAction a;
    a.kind = DpdAction::Kind::kPeerDead;
    a.error_count = error_count_;
    return a;
  }
  return SendRUThere(expiry, /*retransmission=*/true);
}

void DpdMonitor::UpdateConfig(const config::KeepaliveConfig& cfg, TimePoint now) {
  CheckConfig(cfg);
  const config::KeepaliveConfig old = cfg_;
  cfg_ = cfg;
  if (state_ == State::kNotEstablished || state_ == State::kDead) return;
  if (!Enabled()) {  // disabled (or the peer never supported DPD): stop at once
    state_ = State::kInactive;
    retry_deadline_ = kNever;
    on_demand_due_ = kNever;
    error_count_ = 0;
    return;
  }
  if (state_ == State::kInactive) {  // just enabled
    state_ = State::kWatching;
    StartInterval(now);
    return;
  }
  if (state_ == State::kWatching && old.mode != cfg_.mode) StartInterval(now);
  // Otherwise: I applies from the next interval, r from the next round (R11).
}

}  // namespace ikepulse::ike
