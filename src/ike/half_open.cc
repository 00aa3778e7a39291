#include "ike/half_open.h"

#include <algorithm>
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

void HalfOpenTable::DropStaleFront() {
  while (!order_.empty()) {
    auto it = by_rcookie_.find(order_.front().second);
    if (it != by_rcookie_.end() && it->second.seq == order_.front().first) return;
    order_.pop_front();
  }
}

void HalfOpenTable::CompactOrder() {
  if (order_.size() <= 2 * by_rcookie_.size() + 64) return;
  std::deque<std::pair<uint64_t, isakmp::Cookie>> live;
  for (const auto& o : order_) {
    auto it = by_rcookie_.find(o.second);
    if (it != by_rcookie_.end() && it->second.seq == o.first) live.push_back(o);
  }
  order_.swap(live);
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
}

TimePoint HalfOpenTable::NextDeadline() const {
  for (const auto& [seq, rc] : order_) {
    auto it = by_rcookie_.find(rc);
    if (it != by_rcookie_.end() && it->second.seq == seq) return it->second.deadline;
  }
  return kNever;
}

}  // namespace ikepulse::ike
