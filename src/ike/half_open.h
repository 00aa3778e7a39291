// HalfOpenTable: Main Mode responder state between MM1 and MM3 (issue #10). An MM1 costs
// nothing but a compact entry here, never a full IkeSa: the source address of an MM1 is not
// proven (it can be forged), so no DH, no DPD monitor and no timer object is spent on it. The
// full IkeSa is created only when MM3 arrives from the same address carrying the responder
// cookie we sent in MM2 (the peer has proved it receives our packets).
//
// Bounds (every one driven by `now`; sans-IO):
//  - in total: `crypto call admission limit ike in-negotiation-sa N` (kDefaultLimit when not
//    configured);
//  - per source address: kPerSourceLimit entries;
//  - in time: an entry lives kLifetime.
// Retransmission (IOS's responder schedule, as third-party scanners fingerprint it: the
// reply again 10 s, 20 s, ... 50 s after the first): while MM3 does not come, MM2 is resent
// kRetransmits times kRetransmitGap apart, then the entry lives one more gap and expires. The
// schedule costs no timer object per entry: one FIFO of (due, entry), kept in due order
// because every push is `gap` after a due instant already passed. Reflection is bounded: at
// most kRetransmits extra MM2s per admitted MM1, and under a flood entries are evicted long
// before their first resend, so the resends never exceed limit * kRetransmits per
// kLifetime (1000 * 5 per 60 s by default: 84 datagrams/s). Whatever the limit (a hub's may
// be its 100,000 crypto map entries), all resends together also stay within a budget of
// kResendRate a second (a bucket of kResendBurst): a resend over budget is skipped (counted,
// the entry's schedule goes on), so forged MM1s can never turn the table into more than
// that many datagrams a second toward their forged sources.
// At a bound the OLDEST entry (of the table, or of that source) is evicted to make room; the
// new MM1 is always admitted. IOS rejects new requests at its limit instead; under a flood of
// forged MM1s that would lock every real peer out until the flood stops, whereas evicting
// the oldest (as TCP SYN caches do) keeps each entry for the time the flood needs to push
// `limit` newer ones in, which is far longer than a real peer's round trip at any
// realistic rate. A forged source cannot evict a real peer's entry except by this churn.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/time.h"
#include "ike/algorithms.h"
#include "ike/outbox.h"
#include "isakmp/header.h"

namespace ikepulse::ike {

struct HalfOpen {
  isakmp::Cookie icookie{}, rcookie{};
  Endpoint local, remote;
  Phase1Algs algs;
  Bytes sai_b;                           // the initiator's SA payload body (HASH_I / HASH_R)
  std::array<uint8_t, 20> mm1_digest{};  // SHA-1 of the MM1 (duplicates get MM2 again)
  Bytes mm2;                             // the MM2 we sent
  bool peer_dpd = false, peer_natt_rfc = false, peer_natt_draft = false;
  TimePoint created;
  TimePoint deadline;
  uint64_t seq = 0;      // admission order
  uint8_t resends = 0;   // MM2 retransmissions so far
};

struct HalfOpenStats {
  uint64_t accepted = 0;        // MM1s admitted (an entry created)
  uint64_t evicted_total = 0;   // oldest entries evicted at the total limit
  uint64_t evicted_source = 0;  // oldest entries of a source evicted at the per-source limit
  uint64_t expired = 0;         // entries that reached their lifetime without MM3
  uint64_t promoted = 0;        // MM3 arrived: became a full ISAKMP SA
  uint64_t rejected = 0;        // MM1s refused (oversized SA payload)
  uint64_t retransmits = 0;     // MM2s resent because MM3 did not come
  uint64_t retransmits_suppressed = 0;  // resends skipped: over the global budget
};

class HalfOpenTable {
 public:
  static constexpr size_t kDefaultLimit = 1000;
  static constexpr size_t kPerSourceLimit = 8;
  static constexpr Duration kRetransmitGap = Seconds(10);
  static constexpr uint8_t kRetransmits = 5;
  static constexpr Duration kLifetime = kRetransmitGap * (kRetransmits + 1);  // 60 s
  static constexpr size_t kMaxSaBody = 2048;  // larger MM1 SA payloads are refused
  static constexpr int64_t kResendRate = 100;    // MM2 resends a second, all entries together
  static constexpr int64_t kResendBurst = 1000;  // the bucket (a mass reconnect's losses)

  // The total limit (0 = the default). Lowering it evicts the oldest entries at once.
  void SetLimit(size_t limit);
  size_t limit() const { return limit_; }

  // Admits `e` (its deadline and seq are set here), evicting as needed. Returns the stored
  // entry (valid until the next non-const call).
  HalfOpen& Insert(HalfOpen e, TimePoint now);
  // The entry an MM1 with this initiator cookie from `remote_ip` created, if any.
  const HalfOpen* FindByMm1(const isakmp::Cookie& icookie, const IpAddress& remote_ip) const;
  // Removes and returns the entry an MM3 addresses (both cookies, same source address).
  std::optional<HalfOpen> Take(const isakmp::Cookie& icookie, const isakmp::Cookie& rcookie,
                               const IpAddress& remote_ip);
  void Expire(TimePoint now);
  // The MM2s due for retransmission at `now`, appended to `out`; returns how many.
  size_t Retransmit(TimePoint now, std::vector<Datagram>& out);
  void CountRejected() { ++stats_.rejected; }
  TimePoint NextDeadline() const;
  size_t size() const { return by_rcookie_.size(); }
  size_t peak() const { return peak_; }
  const HalfOpenStats& stats() const { return stats_; }
  size_t SourcesTracked() const { return by_source_.size(); }

 private:
  struct CookieKey {
    size_t operator()(const isakmp::Cookie& c) const;
  };
  struct IpKey {
    size_t operator()(const IpAddress& a) const;
  };
  void Erase(const isakmp::Cookie& rcookie);
  void CompactOrder();
  bool Live(uint64_t seq, const isakmp::Cookie& rc) const;
  void DropStaleFront();

  size_t limit_ = kDefaultLimit;
  std::unordered_map<isakmp::Cookie, HalfOpen, CookieKey> by_rcookie_;
  // Per source: its entries' responder cookies, oldest first (at most kPerSourceLimit).
  std::unordered_map<IpAddress, std::vector<isakmp::Cookie>, IpKey> by_source_;
  // Admission order (= deadline order, the lifetime being constant): (seq, rcookie); entries
  // already gone are skipped lazily and compacted when they outnumber the live ones.
  std::deque<std::pair<uint64_t, isakmp::Cookie>> order_;
  // Retransmissions due, in due order: (due, seq, rcookie); stale ones skipped lazily.
  struct Due {
    TimePoint at;
    uint64_t seq;
    isakmp::Cookie rcookie;
  };
  std::deque<Due> rtx_;
  // The resend budget: tokens in thousandths, refilled from `now`.
  int64_t resend_tokens_ = kResendBurst * 1000;
  std::optional<TimePoint> resend_refill_;
  uint64_t next_seq_ = 1;
  size_t peak_ = 0;
  HalfOpenStats stats_;
};

}  // namespace ikepulse::ike
