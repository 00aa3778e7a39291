#include "ike/half_open.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace ikepulse::ike {

size_t HalfOpenTable::CookieKey::operator()(const isakmp::Cookie& c) const {
  uint64_t v;
  std::memcpy(&v, c.data(), sizeof v);
  return std::hash<uint64_t>()(v);
}

size_t HalfOpenTable::IpKey::operator()(const IpAddress& a) const {
  uint64_t x, y;
  std::memcpy(&x, a.bytes.data(), 8);
  std::memcpy(&y, a.bytes.data() + 8, 8);
  return std::hash<uint64_t>()(x * 0x9e3779b97f4a7c15ULL ^ y ^ a.v6);
}

void HalfOpenTable::SetLimit(size_t limit) {
  limit_ = limit ? limit : kDefaultLimit;
  while (by_rcookie_.size() > limit_ && !order_.empty()) {
    auto [seq, rc] = order_.front();
    order_.pop_front();
    auto it = by_rcookie_.find(rc);
    if (it == by_rcookie_.end() || it->second.seq != seq) continue;
    Erase(rc);
    ++stats_.evicted_total;
  }
  DropStaleFront();
}

void HalfOpenTable::Erase(const isakmp::Cookie& rcookie) {
  auto it = by_rcookie_.find(rcookie);
  if (it == by_rcookie_.end()) return;
  auto s = by_source_.find(it->second.remote.ip);
  if (s != by_source_.end()) {
    auto& v = s->second;
    v.erase(std::remove(v.begin(), v.end(), rcookie), v.end());
    if (v.empty()) by_source_.erase(s);
  }
  by_rcookie_.erase(it);
}

bool HalfOpenTable::Live(uint64_t seq, const isakmp::Cookie& rc) const {
  auto it = by_rcookie_.find(rc);
  return it != by_rcookie_.end() && it->second.seq == seq;
}

void HalfOpenTable::DropStaleFront() {
  while (!order_.empty() && !Live(order_.front().first, order_.front().second)) order_.pop_front();
  while (!rtx_.empty() && !Live(rtx_.front().seq, rtx_.front().rcookie)) rtx_.pop_front();
}

void HalfOpenTable::CompactOrder() {
  if (order_.size() > 2 * by_rcookie_.size() + 64) {
    std::deque<std::pair<uint64_t, isakmp::Cookie>> live;
    for (const auto& o : order_)
      if (Live(o.first, o.second)) live.push_back(o);
    order_.swap(live);
  }
  if (rtx_.size() > 2 * by_rcookie_.size() + 64) {
    std::deque<Due> live;
    for (const auto& d : rtx_)
      if (Live(d.seq, d.rcookie)) live.push_back(d);
    rtx_.swap(live);
  }
}

HalfOpen& HalfOpenTable::Insert(HalfOpen e, TimePoint now) {
  Expire(now);
  // Per source: the oldest entry of this source makes room.
  if (auto s = by_source_.find(e.remote.ip);
      s != by_source_.end() && s->second.size() >= kPerSourceLimit) {
    Erase(s->second.front());
    ++stats_.evicted_source;
  }
  // In total: the oldest entry of the table makes room.
  while (by_rcookie_.size() >= limit_ && !order_.empty()) {
    auto [seq, rc] = order_.front();
    order_.pop_front();
    auto it = by_rcookie_.find(rc);
    if (it == by_rcookie_.end() || it->second.seq != seq) continue;
    Erase(rc);
    ++stats_.evicted_total;
  }
  e.created = now;
  e.deadline = now + kLifetime;
  e.seq = next_seq_++;
  const isakmp::Cookie rc = e.rcookie;
  const IpAddress ip = e.remote.ip;
  order_.emplace_back(e.seq, rc);
  rtx_.push_back(Due{now + kRetransmitGap, e.seq, rc});
  by_source_[ip].push_back(rc);
  auto [it, fresh] = by_rcookie_.insert_or_assign(rc, std::move(e));
  ++stats_.accepted;
  peak_ = std::max(peak_, by_rcookie_.size());
  DropStaleFront();
  CompactOrder();
  return it->second;
}

const HalfOpen* HalfOpenTable::FindByMm1(const isakmp::Cookie& icookie,
                                         const IpAddress& remote_ip) const {
  auto s = by_source_.find(remote_ip);
  if (s == by_source_.end()) return nullptr;
  for (const auto& rc : s->second) {
    auto it = by_rcookie_.find(rc);
    if (it != by_rcookie_.end() && it->second.icookie == icookie) return &it->second;
  }
  return nullptr;
}

std::optional<HalfOpen> HalfOpenTable::Take(const isakmp::Cookie& icookie,
                                            const isakmp::Cookie& rcookie,
                                            const IpAddress& remote_ip) {
  auto it = by_rcookie_.find(rcookie);
  if (it == by_rcookie_.end() || it->second.icookie != icookie || it->second.remote.ip != remote_ip)
    return std::nullopt;
  HalfOpen e = std::move(it->second);
  Erase(rcookie);
  ++stats_.promoted;
  DropStaleFront();
  CompactOrder();
  return e;
}

void HalfOpenTable::Expire(TimePoint now) {
  while (!order_.empty()) {
    auto [seq, rc] = order_.front();
    auto it = by_rcookie_.find(rc);
    if (it == by_rcookie_.end() || it->second.seq != seq) {
      order_.pop_front();
      continue;
    }
    if (it->second.deadline > now) break;
    order_.pop_front();
    Erase(rc);
    ++stats_.expired;
  }
  DropStaleFront();
}

size_t HalfOpenTable::Retransmit(TimePoint now, std::vector<Datagram>& out) {
  size_t sent = 0;
  if (resend_refill_ && now > *resend_refill_) {
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - *resend_refill_).count();
    resend_tokens_ = std::min(kResendBurst * 1000, resend_tokens_ + ms * kResendRate);
  }
  if (!resend_refill_ || now > *resend_refill_) resend_refill_ = now;
  while (!rtx_.empty() && rtx_.front().at <= now) {
    const Due d = rtx_.front();
    rtx_.pop_front();
    auto it = by_rcookie_.find(d.rcookie);
    if (it == by_rcookie_.end() || it->second.seq != d.seq) continue;  // gone meanwhile
    HalfOpen& e = it->second;
    if (resend_tokens_ >= 1000) {
      resend_tokens_ -= 1000;
      out.push_back(Datagram{e.local, e.remote, e.mm2});
      ++sent;
      ++stats_.retransmits;
    } else {
      ++stats_.retransmits_suppressed;
    }
    if (++e.resends < kRetransmits) {
      // `gap` after this due instant; never before the last one queued (a late call), so the
      // FIFO stays in due order.
      TimePoint next = d.at + kRetransmitGap;
      if (!rtx_.empty() && next < rtx_.back().at) next = rtx_.back().at;
      rtx_.push_back(Due{next, d.seq, d.rcookie});
    }
  }
  DropStaleFront();
  return sent;
}

TimePoint HalfOpenTable::NextDeadline() const {
  TimePoint t = kNever;
  // Every mutation leaves a live entry at the front of both queues (DropStaleFront).
  if (!order_.empty()) t = by_rcookie_.find(order_.front().second)->second.deadline;
  if (!rtx_.empty()) t = std::min(t, rtx_.front().at);
  return t;
}

}  // namespace ikepulse::ike
