#include "sim/simulator.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/check.h"

namespace ikepulse::sim {

const char* PacketFateName(PacketFate f) {
  switch (f) {
    case PacketFate::kSent:
      return "sent";
    case PacketFate::kDelivered:
      return "delivered";
    case PacketFate::kDropped:
      return "dropped";
  }
  return "?";
}

const char* DropReasonName(DropReason r) {
  switch (r) {
    case DropReason::kNone:
      return "none";
    case DropReason::kLinkDown:
      return "link-down";
    case DropReason::kScripted:
      return "scripted";
    case DropReason::kPredicate:
      return "predicate";
    case DropReason::kRandomLoss:
      return "random-loss";
    case DropReason::kNoRoute:
      return "no-route";
    case DropReason::kNoHost:
      return "no-host";
    case DropReason::kHostDead:
      return "host-dead";
  }
  return "?";
}

const char* KindName(ike::EventKind k) {
  using K = ike::EventKind;
  switch (k) {
    case K::kDebug:
      return "Debug";
    case K::kLog:
      return "Log";
    case K::kIkeSaUp:
      return "IkeSaUp";
    case K::kIkeSaDown:
      return "IkeSaDown";
    case K::kChildSaUp:
      return "ChildSaUp";
    case K::kChildSaDown:
      return "ChildSaDown";
    case K::kDpdSent:
      return "DpdSent";
    case K::kDpdAckSent:
      return "DpdAckSent";
    case K::kDpdAckReceived:
      return "DpdAckReceived";
    case K::kPeerDead:
      return "PeerDead";
    case K::kFailover:
      return "Failover";
    case K::kRetransmit:
      return "Retransmit";
    case K::kGiveUp:
      return "GiveUp";
    case K::kDrop:
      return "Drop";
    case K::kInitiate:
      return "Initiate";
  }
  return "?";
}

// --- Link ------------------------------------------------------------------------------------

void Link::Restore() {
  down_ = false;
  drop_next_ = 0;
  drop_if_ = nullptr;
}

DropReason Link::Judge(const ike::Datagram& d) {
  ++sent_;
  DropReason r = DropReason::kNone;
  if (down_) {
    r = DropReason::kLinkDown;
  } else if (drop_next_ > 0) {
    --drop_next_;
    r = DropReason::kScripted;
  } else if (drop_if_ && drop_if_(d)) {
    r = DropReason::kPredicate;
  } else if (loss_ > 0) {
    // 53 random bits -> [0, 1). Drawn only when loss is on, so a lossless link never
    // consumes randomness.
    const double u = static_cast<double>(rng_.U64() >> 11) * (1.0 / 9007199254740992.0);
    if (u < loss_) r = DropReason::kRandomLoss;
  }
  if (r != DropReason::kNone) ++dropped_;
  return r;
}

// --- Simulator ---------------------------------------------------------------------------------

struct Simulator::Host {
  SimHost* host = nullptr;
  std::string name;
  bool alive = true;
  TimePoint armed = kNever;  // the deadline of the live queue entry, kNever if none
  uint64_t timer_gen = 0;    // bumped whenever `armed` changes; older entries are stale
  std::vector<IpAddress> addresses;
  std::vector<ike::Event> events;
};

namespace {
// Min-heap order for std::push_heap (which builds a max-heap): "a after b".
struct Later {
  template <typename E>
  bool operator()(const E& a, const E& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};
}  // namespace

Simulator::Simulator(uint64_t seed, TimePoint start) : start_(start), now_(start), seed_(seed) {}

Simulator::~Simulator() = default;

Simulator::LinkKey Simulator::KeyFor(const IpAddress& a, const IpAddress& b) {
  return a < b ? LinkKey{a, b} : LinkKey{b, a};
}

HostId Simulator::AddHost(SimHost& host, std::string name, std::vector<IpAddress> addresses) {
  const HostId id = static_cast<HostId>(hosts_.size());
  auto h = std::make_unique<Host>();
  h->host = &host;
  h->name = std::move(name);
  hosts_.push_back(std::move(h));
  for (const IpAddress& ip : addresses) AddAddress(id, ip);
  Rearm(id);
  return id;
}

void Simulator::AddAddress(HostId id, const IpAddress& ip) {
  IKEPULSE_CHECK(id < hosts_.size());
  auto [it, inserted] = owners_.emplace(ip, id);
  IKEPULSE_CHECK(inserted || it->second == id);
  if (inserted) hosts_[id]->addresses.push_back(ip);
}

Link& Simulator::Connect(HostId a, HostId b, Duration delay) {
  IKEPULSE_CHECK(a < hosts_.size() && b < hosts_.size());
  IKEPULSE_CHECK(!hosts_[a]->addresses.empty() && !hosts_[b]->addresses.empty());
  return Connect(hosts_[a]->addresses.front(), hosts_[b]->addresses.front(), delay);
}

Link& Simulator::Connect(const IpAddress& a, const IpAddress& b, Duration delay) {
  const LinkKey key = KeyFor(a, b);
  auto it = links_.find(key);
  if (it != links_.end()) return *it->second;
  // Each link gets its own stream, derived from the seed and the link's creation index.
  const uint64_t link_seed = seed_ * 0x9E3779B97F4A7C15ull + links_.size() + 1;
  auto link = std::unique_ptr<Link>(new Link(key.lo, key.hi, delay, link_seed));
  Link& ref = *link;
  links_.emplace(key, std::move(link));
  return ref;
}

Link* Simulator::FindLink(const IpAddress& a, const IpAddress& b) {
  auto it = links_.find(KeyFor(a, b));
  return it == links_.end() ? nullptr : it->second.get();
}

Link& Simulator::EnableDefaultLink(Duration delay) {
  if (!default_link_) {
    default_link_ = std::unique_ptr<Link>(
        new Link(IpAddress{}, IpAddress{}, delay, seed_ * 0xD1B54A32D192ED03ull + 7));
  }
  default_link_->SetDelay(delay);
  return *default_link_;
}

Link* Simulator::RouteFor(const IpAddress& a, const IpAddress& b) {
  if (Link* l = FindLink(a, b)) return l;
  return default_link_.get();
}

HostId Simulator::OwnerOf(const IpAddress& ip) const {
  auto it = owners_.find(ip);
  return it == owners_.end() ? kNoHost : it->second;
}

const std::string& Simulator::name(HostId id) const {
  IKEPULSE_CHECK(id < hosts_.size());
  return hosts_[id]->name;
}

void Simulator::Kill(HostId id) {
  IKEPULSE_CHECK(id < hosts_.size());
  Host& h = *hosts_[id];
  h.alive = false;
  h.armed = kNever;
  ++h.timer_gen;
}

void Simulator::Revive(HostId id) {
  IKEPULSE_CHECK(id < hosts_.size());
  hosts_[id]->alive = true;
  Rearm(id);
}

bool Simulator::alive(HostId id) const {
  IKEPULSE_CHECK(id < hosts_.size());
  return hosts_[id]->alive;
}

const std::vector<IpAddress>& Simulator::addresses(HostId id) const {
  IKEPULSE_CHECK(id < hosts_.size());
  return hosts_[id]->addresses;
}

const std::vector<ike::Event>& Simulator::events(HostId id) const {
  IKEPULSE_CHECK(id < hosts_.size());
  return hosts_[id]->events;
}

void Simulator::ClearRecords() {
  packets_.clear();
  for (auto& h : hosts_) h->events.clear();
}

void Simulator::Push(QueueEntry e) {
  e.seq = next_seq_++;
  queue_.push_back(std::move(e));
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

void Simulator::Rearm(HostId id) {
  Host& h = *hosts_[id];
  if (!h.alive) return;
  TimePoint d = h.host->NextDeadline();
  if (d != kNever && d < now_) d = now_;
  if (d == h.armed) return;  // the live entry stays valid
  h.armed = d;
  ++h.timer_gen;
  if (d == kNever) return;
  QueueEntry e;
  e.at = d;
  e.type = QueueEntry::Type::kTimeout;
  e.host = id;
  e.gen = h.timer_gen;
  Push(std::move(e));
}

void Simulator::Record(PacketRecord r) {
  if (packet_observer_) packet_observer_(r);
  if (record_packets_) packets_.push_back(std::move(r));
}

void Simulator::Send(HostId from, ike::Datagram d) {
  const uint64_t id = next_packet_id_++;
  ++counters_.sent;
  Link* link = RouteFor(d.local.ip, d.remote.ip);
  const DropReason verdict = link ? link->Judge(d) : DropReason::kNoRoute;
  if (record_packets_ || packet_observer_) {
    PacketRecord r;
    r.at = now_;
    r.fate = PacketFate::kSent;
    r.id = id;
    r.from = from;
    r.datagram.local = d.local;
    r.datagram.remote = d.remote;
    if (record_payloads_) r.datagram.data = d.data;
    Record(r);
    if (verdict != DropReason::kNone) {
      r.fate = PacketFate::kDropped;
      r.reason = verdict;
      Record(std::move(r));
    }
  }
  if (verdict != DropReason::kNone) {
    ++counters_.dropped;
    return;
  }
  QueueEntry e;
  e.at = now_ + link->delay();
  e.type = QueueEntry::Type::kDeliver;
  e.host = from;
  e.gen = id;
  e.datagram = std::move(d);
  Push(std::move(e));
}

void Simulator::Inject(ike::Datagram d, HostId from) { Send(from, std::move(d)); }

void Simulator::AfterCall(HostId id, ike::Outbox& out) {
  Host& h = *hosts_[id];
  for (ike::Event& ev : out.events) {
    if (ev.at == TimePoint{}) ev.at = now_;
    if (trace_ && (ev.kind == ike::EventKind::kLog || ev.kind == ike::EventKind::kDebug)) {
      std::fprintf(stderr, "[%12s] %s: %s\n", FormatTime(TimePoint(now_ - start_)).c_str(),
                   h.name.c_str(), ev.text.c_str());
    }
    if (event_observer_) event_observer_(id, ev);
    if (record_events_) h.events.push_back(std::move(ev));
  }
  out.events.clear();
  for (ike::Datagram& d : out.datagrams) Send(id, std::move(d));
  out.datagrams.clear();
  Rearm(id);
}

void Simulator::Call(HostId id, const std::function<void(TimePoint, ike::Outbox&)>& fn) {
  IKEPULSE_CHECK(id < hosts_.size());
  IKEPULSE_CHECK(!in_call_);  // hosts must not call back into the simulator
  if (!hosts_[id]->alive) return;
  ++host_calls_;
  in_call_ = true;
  scratch_.Clear();
  fn(now_, scratch_);
  AfterCall(id, scratch_);  // observers run here and must not call back either
  in_call_ = false;
}

void Simulator::ProcessOne() {
  std::pop_heap(queue_.begin(), queue_.end(), Later{});
  QueueEntry e = std::move(queue_.back());
  queue_.pop_back();
  IKEPULSE_CHECK(e.at >= now_);
  if (e.at != instant_) {
    instant_ = e.at;
    events_this_instant_ = 0;
  }
  if (++events_this_instant_ > max_events_per_instant_) {
    std::fprintf(stderr, "simulator: more than %llu events at %s; a host keeps re-arming now\n",
                 static_cast<unsigned long long>(max_events_per_instant_),
                 FormatTime(e.at).c_str());
    std::abort();
  }
  now_ = e.at;
  ++events_processed_;

  if (e.type == QueueEntry::Type::kTimeout) {
    Host& h = *hosts_[e.host];
    if (!h.alive || e.gen != h.timer_gen) return;  // stale
    h.armed = kNever;
    ++h.timer_gen;
    if (h.host->NextDeadline() > now_) {  // nothing due after all (defensive)
      Rearm(e.host);
      return;
    }
    Call(e.host, [&](TimePoint now, ike::Outbox& out) { h.host->OnTimeout(now, out); });
    return;
  }

  // Delivery.
  const HostId to = OwnerOf(e.datagram.remote.ip);
  DropReason reason = DropReason::kNone;
  if (to == kNoHost) {
    reason = DropReason::kNoHost;
  } else if (!hosts_[to]->alive) {
    reason = DropReason::kHostDead;
  }
  if (record_packets_ || packet_observer_) {
    PacketRecord r;
    r.at = now_;
    r.fate = reason == DropReason::kNone ? PacketFate::kDelivered : PacketFate::kDropped;
    r.reason = reason;
    r.id = e.gen;
    r.from = e.host;
    r.to = to;
    r.datagram.local = e.datagram.local;
    r.datagram.remote = e.datagram.remote;
    if (record_payloads_) r.datagram.data = e.datagram.data;
    Record(std::move(r));
  }
  if (reason != DropReason::kNone) {
    ++counters_.dropped;
    return;
  }
  ++counters_.delivered;
  SimHost* host = hosts_[to]->host;
  // The receiver sees the datagram from its own side: local = its address, remote = sender.
  const Endpoint local = e.datagram.remote;
  const Endpoint remote = e.datagram.local;
  Call(to, [&](TimePoint now, ike::Outbox& out) {
    host->OnDatagram(now, local, remote, e.datagram.data, out);
  });
}

bool Simulator::Step() {
  if (queue_.empty()) return false;
  ProcessOne();
  return true;
}

TimePoint Simulator::NextEventTime() const { return queue_.empty() ? kNever : queue_.front().at; }

void Simulator::RunUntil(TimePoint t) {
  while (!queue_.empty() && queue_.front().at <= t) ProcessOne();
  if (t > now_) now_ = t;
}

bool Simulator::RunUntil(const std::function<bool()>& pred, TimePoint deadline) {
  if (pred()) return true;
  while (!queue_.empty() && queue_.front().at <= deadline) {
    ProcessOne();
    if (pred()) return true;
  }
  if (deadline > now_) now_ = deadline;
  return pred();
}

// --- Packet helpers ------------------------------------------------------------------------------

namespace {
// Offset of the ISAKMP header in the payload, or -1 for ESP / too short.
int IsakmpOffset(const ike::Datagram& d) {
  const bool natt = d.local.port == 4500 || d.remote.port == 4500;
  size_t off = 0;
  if (natt) {
    if (d.data.size() < 4 || d.data[0] | d.data[1] | d.data[2] | d.data[3]) return -1;
    off = 4;
  }
  if (d.data.size() < off + 28) return -1;
  return static_cast<int>(off);
}
}  // namespace

std::optional<uint8_t> IsakmpExchangeType(const ike::Datagram& d) {
  const int off = IsakmpOffset(d);
  if (off < 0) return std::nullopt;
  return d.data[off + 18];
}

std::optional<bool> Ikev2IsResponse(const ike::Datagram& d) {
  const int off = IsakmpOffset(d);
  if (off < 0) return std::nullopt;
  return (d.data[off + 19] & 0x20) != 0;
}

std::optional<uint32_t> IsakmpMessageId(const ike::Datagram& d) {
  const int off = IsakmpOffset(d);
  if (off < 0) return std::nullopt;
  const uint8_t* p = d.data.data() + off + 20;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::vector<const PacketRecord*> FindPackets(
    const Simulator& sim, PacketFate fate,
    const std::function<bool(const PacketRecord&)>& pred) {
  std::vector<const PacketRecord*> out;
  for (const PacketRecord& r : sim.packets()) {
    if (r.fate == fate && (!pred || pred(r))) out.push_back(&r);
  }
  return out;
}

}  // namespace ikepulse::sim
