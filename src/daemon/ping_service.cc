#include "daemon/ping_service.h"

#include <algorithm>

namespace ikepulse::daemon {

std::optional<IpAddress> PingService::DefaultSource(const config::Config& cfg,
                                                    const IpAddress& target,
                                                    const Classify& classify) {
  const config::Interface* with_map = nullptr;
  const config::Interface* any = nullptr;
  for (const config::Interface& i : cfg.interfaces) {
    if (!i.address || i.address->v6 || i.shutdown) continue;
    if (any == nullptr) any = &i;
    if (i.crypto_map.empty()) continue;
    if (with_map == nullptr) with_map = &i;
    const auto entry = classify(*i.address, target);
    if (entry && entry->map_name == i.crypto_map) return *i.address;
  }
  if (with_map != nullptr) return *with_map->address;
  if (any != nullptr) return *any->address;
  return std::nullopt;
}

Result<uint64_t, std::string> PingService::Start(TimePoint now, const cli::PingRequest& request,
                                                 const config::Config& cfg,
                                                 const Classify& classify,
                                                 std::vector<Bytes>& send) {
  if (request.target.v6) return MakeUnexpected(std::string("% IPv6 ping is not supported"));
  dataplane::Pinger::Params p;
  p.dst = request.target;
  if (request.source) {
    p.src = *request.source;
  } else if (auto src = DefaultSource(cfg, request.target, classify)) {
    p.src = *src;
  } else {
    return MakeUnexpected(
        std::string("% No interface has an IP address to send from; give one with `source`"));
  }
  p.repeat = request.repeat;
  p.size = request.size;
  auto h = pinger_.Start(now, p, send);
  if (!h) {
    return MakeUnexpected("% Too many pings in progress (at most " +
                          std::to_string(dataplane::Pinger::kMaxPings) + ")");
  }
  return *h;
}

std::optional<cli::PingStatus> PingService::Progress(uint64_t handle) const {
  const dataplane::Pinger::Status* st = pinger_.Find(handle);
  if (st == nullptr) return std::nullopt;
  cli::PingStatus s;
  s.source = st->params.src;
  s.repeat = st->params.repeat;
  s.size = st->params.size;
  s.marks = st->marks;
  s.done = st->done;
  for (Duration d : st->rtts) {
    // Whole milliseconds, rounded up: an answer is never reported as taking 0 ms.
    const int64_t us = d.count();
    s.rtt_ms.push_back(static_cast<uint32_t>(std::max<int64_t>(1, (us + 999) / 1000)));
  }
  return s;
}

}  // namespace ikepulse::daemon
