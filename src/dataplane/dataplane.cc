#include "dataplane/dataplane.h"

#include "dataplane/ip_packet.h"

namespace ikepulse::dataplane {

size_t DataPlane::queued_packets() const {
  size_t n = 0;
  for (const auto& [k, q] : queues_) n += q.packets.size();
  return n;
}

void DataPlane::Lifetime(const ChildSa& sa, LifetimeEvent ev, Out& out) {
  if (ev == LifetimeEvent::kNone) return;
  Signal s{ev == LifetimeEvent::kSoft ? Signal::Kind::kLifetimeSoft : Signal::Kind::kLifetimeHard,
           sa.entry, sa.spi_in(), false, 0};
  out.signals.push_back(std::move(s));
}

bool DataPlane::SendOn(ChildSa& sa, TimePoint now, ByteSpan packet, Out& out) {
  const auto seq = db_.NextSeqOut(sa);
  if (!seq) {
    ++counters_.drop_sa_expired;
    Lifetime(sa, LifetimeEvent::kHard, out);
    return false;
  }
  auto esp = Encapsulate(sa.out, *seq, packet, rng_);
  if (!esp) {
    ++counters_.drop_bad_ip;
    return false;
  }
  ++counters_.encrypted;
  if (sa.udp_encap) {
    out.esp_datagrams.push_back(ike::Datagram{sa.local, sa.remote, std::move(*esp)});
  } else {
    out.raw_esp.push_back(ike::Datagram{Endpoint{sa.local.ip, 0}, Endpoint{sa.remote.ip, 0},
                                        std::move(*esp)});
  }
  out.signals.push_back(
      Signal{Signal::Kind::kChildTraffic, sa.entry, sa.spi_in(), false, packet.size()});
  Lifetime(sa, db_.RecordOut(sa, now, packet.size()), out);
  return true;
}

SaDb::SyncReport DataPlane::Sync(TimePoint now, const config::Config& cfg,
                                 const std::vector<ike::ChildSaSnapshot>& sas, Out& out) {
  policy_.Sync(cfg);
  const SaDb::SyncReport report = db_.Sync(sas);
  FlushQueues(now, cfg, out);
  return report;
}

SaDb::SyncReport DataPlane::Update(TimePoint now, const config::Config& cfg,
                                   const std::vector<ike::ChildSaSnapshot>& changed,
                                   std::span<const uint32_t> removed, Out& out) {
  const SaDb::SyncReport report = db_.Update(changed, removed);
  FlushQueues(now, cfg, out);
  return report;
}

void DataPlane::SetConfig(TimePoint now, const config::Config& cfg, Out& out) {
  policy_.Sync(cfg);
  FlushQueues(now, cfg, out);
}

void DataPlane::FlushQueues(TimePoint now, const config::Config& cfg, Out& out) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    const EntryKey& key = it->first;
    EntryQueue& q = it->second;
    const bool entry_exists = cfg.FindCryptoMap(key.map_name, key.seq) != nullptr;
    ChildSa* sa = entry_exists ? db_.CurrentOutbound(key) : nullptr;
    if (!entry_exists || sa) {
      for (auto& p : q.packets) {
        if (!sa || now - p.at > kQueueMaxAge) {
          ++counters_.drop_queue_stale;
        } else if (SendOn(*sa, now, p.packet, out)) {
          ++counters_.flushed;
        }
      }
      it = queues_.erase(it);
    } else {
      ++it;
    }
  }
}

void DataPlane::OnTunPacket(TimePoint now, ByteSpan ip_packet, Out& out) {
  ++counters_.tun_packets;
  auto flow = ParseIpPacket(ip_packet);
  if (!flow) {
    ++counters_.drop_bad_ip;
    return;
  }
  const auto entry = policy_.Lookup(flow->src, flow->dst, flow->protocol);
  if (!entry) {
    ++counters_.drop_no_policy;
    return;
  }
  if (ChildSa* sa = db_.CurrentOutbound(*entry)) {
    SendOn(*sa, now, ip_packet, out);
    return;
  }
  // No SA yet: queue (bounded) and ask the engine for a tunnel (rate-limited).
  EntryQueue& q = queues_[*entry];
  while (!q.packets.empty() && now - q.packets.front().at > kQueueMaxAge) {
    q.packets.pop_front();
    ++counters_.drop_queue_stale;
  }
  if (q.packets.size() < kQueueLimit) {
    q.packets.push_back(Queued{now, Bytes(ip_packet.begin(), ip_packet.end())});
    ++counters_.queued;
  } else {
    ++counters_.drop_queue_full;
  }
  if (q.last_signal == kNever || now - q.last_signal >= kSignalInterval) {
    q.last_signal = now;
    out.signals.push_back(Signal{Signal::Kind::kOutboundTraffic, *entry, 0, false, 0});
  }
}

void DataPlane::OnEspDatagram(TimePoint now, const Endpoint& /*local*/,
                              const Endpoint& /*remote*/, ByteSpan esp, Out& out) {
  ++counters_.esp_packets;
  uint32_t spi = 0, seq = 0;
  if (!PeekEspHeader(esp, spi, seq)) {
    ++counters_.drop_malformed;
    return;
  }
  ChildSa* sa = db_.FindInbound(spi);
  if (!sa || sa->expired) {
    ++counters_.drop_unknown_spi;
    return;
  }
  auto d = Decapsulate(sa->in, esp);
  if (!d) {
    ++sa->stats.drops_in;
    switch (d.error().code) {
      case EspErrorCode::kReplay: ++counters_.drop_replay; break;
      case EspErrorCode::kIcvMismatch: ++counters_.drop_auth; break;
      case EspErrorCode::kDummyPacket: ++counters_.drop_dummy; break;
      default: ++counters_.drop_malformed; break;
    }
    return;
  }
  auto flow = ParseIpPacket(d->inner);
  if (!flow || !InSubnet(flow->src, sa->remote_net, sa->remote_mask) ||
      !InSubnet(flow->dst, sa->local_net, sa->local_mask) ||
      (sa->protocol != 0 && flow->protocol != sa->protocol)) {
    ++sa->stats.drops_in;
    ++counters_.drop_inner_policy;
    return;
  }
  ++counters_.decrypted;
  const size_t bytes = d->inner.size();
  out.to_tun.push_back(std::move(d->inner));
  out.signals.push_back(Signal{Signal::Kind::kChildTraffic, sa->entry, spi, true, bytes});
  Lifetime(*sa, db_.RecordIn(*sa, now, bytes), out);
}

}  // namespace ikepulse::dataplane
