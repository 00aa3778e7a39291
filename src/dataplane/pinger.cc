#include "dataplane/pinger.h"

#include <algorithm>

#include "dataplane/icmp_echo.h"

namespace ikepulse::dataplane {

Pinger::Pinger(Random& rng) : rng_(rng) { ip_id_ = static_cast<uint16_t>(rng_.U32()); }

bool Pinger::IdentInUse(uint16_t ident) const {
  for (const auto& [h, p] : pings_)
    if (p.ident == ident) return true;
  return false;
}

std::optional<uint64_t> Pinger::Start(TimePoint now, const Params& params,
                                      std::vector<Bytes>& send) {
  if (params.src.v6 || params.dst.v6) return std::nullopt;
  if (pings_.size() >= kMaxPings) {
    // Make room by forgetting the finished ping that ended first, if any.
    auto oldest = pings_.end();
    for (auto it = pings_.begin(); it != pings_.end(); ++it) {
      if (it->second.status.done &&
          (oldest == pings_.end() || it->second.finished_at < oldest->second.finished_at))
        oldest = it;
    }
    if (oldest == pings_.end()) return std::nullopt;
    pings_.erase(oldest);
  }
  Ping p;
  // Kept distinct among active pings, so each reply belongs to exactly one of them.
  do {
    p.ident = static_cast<uint16_t>(rng_.U32());
  } while (IdentInUse(p.ident));
  p.status.params = params;
  p.status.params.repeat = std::clamp<uint32_t>(params.repeat, 1, kMaxRepeat);
  p.status.params.size = std::clamp<uint32_t>(params.size, kMinSize, kMaxSize);
  const uint64_t handle = next_handle_++;
  auto [it, ok] = pings_.emplace(handle, std::move(p));
  SendNext(it->second, now, send);
  return handle;
}

void Pinger::SendNext(Ping& p, TimePoint now, std::vector<Bytes>& send) {
  EchoRequestSpec spec;
  spec.src = p.status.params.src;
  spec.dst = p.status.params.dst;
  spec.ident = p.ident;
  spec.seq = static_cast<uint16_t>(p.sent);
  spec.ip_id = ip_id_++;
  spec.size = p.status.params.size;
  send.push_back(BuildEchoRequest(spec));
  ++p.sent;
  p.sent_at = now;
}

void Pinger::Resolve(Ping& p, TimePoint now, char mark, std::vector<Bytes>& send) {
  p.status.marks += mark;
  if (mark == '!') p.status.rtts.push_back(now - p.sent_at);
  ++changes_;
  if (p.sent < p.status.params.repeat) {
    SendNext(p, now, send);
    return;
  }
  p.status.done = true;
  p.sent_at = kNever;
  p.finished_at = now;
}

bool Pinger::OnPacket(TimePoint now, ByteSpan packet, std::vector<Bytes>& send) {
  if (pings_.empty()) return false;
  const auto reply = ParseEchoReply(packet);
  if (!reply) return false;
  for (auto& [h, p] : pings_) {
    if (p.ident != reply->ident || reply->src != p.status.params.dst) continue;
    if (!p.status.done && reply->seq == static_cast<uint16_t>(p.sent - 1))
      Resolve(p, now, '!', send);
    return true;  // a late reply to an earlier echo is ours too
  }
  return false;
}

void Pinger::OnTimer(TimePoint now, std::vector<Bytes>& send) {
  for (auto it = pings_.begin(); it != pings_.end();) {
    Ping& p = it->second;
    if (p.status.done) {
      if (now - p.finished_at >= kKeepFinished) {
        it = pings_.erase(it);
        continue;
      }
    } else if (now - p.sent_at >= kEchoTimeout) {
      Resolve(p, now, '.', send);
    }
    ++it;
  }
}

TimePoint Pinger::NextDeadline() const {
  TimePoint next = kNever;
  for (const auto& [h, p] : pings_)
    next = std::min(next, p.status.done ? p.finished_at + kKeepFinished : p.sent_at + kEchoTimeout);
  return next;
}

const Pinger::Status* Pinger::Find(uint64_t handle) const {
  auto it = pings_.find(handle);
  return it == pings_.end() ? nullptr : &it->second.status;
}

void Pinger::Stop(uint64_t handle) { pings_.erase(handle); }

}  // namespace ikepulse::dataplane
