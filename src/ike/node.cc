// Node / NodeImpl: dispatch of datagrams, timers, crypto map entries and failover, teardown,
// snapshots. The exchanges live in main_mode.cc, quick_mode.cc and informational.cc.
#include "ike/node.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "ike/node_impl.h"
#include "ikev2/message.h"
#include "isakmp/header.h"

namespace ikepulse::ike {

// ---------------------------------------------------------------------------------------
// IkeSa

const char* IosStateName(P1State s) {
  switch (s) {
    case P1State::kInitSentMm1: return "MM_NO_STATE";
    case P1State::kRespSentMm2: return "MM_SA_SETUP";
    case P1State::kInitSentMm3: return "MM_SA_SETUP";
    case P1State::kRespSentMm4: return "MM_KEY_EXCH";
    case P1State::kInitSentMm5: return "MM_KEY_EXCH";
    case P1State::kEstablished: return "QM_IDLE";
    case P1State::kDead: return "MM_NO_STATE";
  }
  return "?";
}

std::string IkeSa::Tag() const { return "ISAKMP:(" + std::to_string(id) + "):"; }

TimePoint IkeSa::NextDeadline() const {
  if (dead()) return kNever;
  TimePoint t =
      std::min({mm ? mm->rtx.next : kNever, p1_forget_at, expires, reestablish_at, nat_keepalive_at,
                qm_retry_at});
  if (dpd && !replaced) t = std::min(t, dpd->NextDeadline());
  for (const auto& [mid, qm] : quick_modes) t = std::min({t, qm.rtx.next, qm.forget_at});
  for (const auto& ch : children) {
    t = std::min(t, ch.expires);
    if (!ch.rekeyed) t = std::min(t, ch.rekey_at);
  }
  return t;
}

// ---------------------------------------------------------------------------------------
// Node facade

Node::Node(Random& rng, NodeOptions opts)
    : impl_(std::make_unique<NodeImpl>(rng, opts, debug_)) {}
Node::~Node() = default;

std::unique_ptr<Node> Node::Clone(Random& rng) const {
  std::unique_ptr<Node> copy(new Node());
  copy->debug_ = debug_;
  copy->impl_ = impl_->Clone(rng, copy->debug_);
  return copy;
}

void Node::SetConfig(const config::Config& cfg, TimePoint now, Outbox& out) {
  Ctx c{now, out};
  impl_->SetConfig(cfg, c);
}
void Node::OnDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote,
                      ByteSpan data, Outbox& out) {
  Ctx c{now, out};
  impl_->OnDatagram(c, local, remote, data);
}
void Node::OnTimeout(TimePoint now, Outbox& out) {
  Ctx c{now, out};
  impl_->OnTimeout(c);
}
TimePoint Node::NextDeadline() const { return impl_->NextDeadline(); }
void Node::OnOutboundTraffic(TimePoint now, const std::string& map, uint32_t seq, Outbox& out) {
  Ctx c{now, out};
  impl_->OnOutboundTraffic(c, map, seq);
}
void Node::OnChildTraffic(TimePoint now, uint32_t spi_in, bool inbound, uint64_t bytes,
                          Outbox& out) {
  Ctx c{now, out};
  impl_->OnChildTraffic(c, spi_in, inbound, bytes);
}
void Node::OnChildLifetime(TimePoint now, uint32_t spi_in, bool hard, Outbox& out) {
  Ctx c{now, out};
  impl_->OnChildLifetime(c, spi_in, hard);
}
void Node::Initiate(TimePoint now, const std::string& map, uint32_t seq, Outbox& out) {
  Ctx c{now, out};
  impl_->Initiate(c, map, seq);
}
void Node::Clear(TimePoint now, const ClearFilter& f, Outbox& out) {
  Ctx c{now, out};
  impl_->Clear(c, f);
}
std::vector<IsakmpSaSnapshot> Node::IsakmpSas(TimePoint now) const { return impl_->IsakmpSas(now); }
std::vector<Ikev2SaSnapshot> Node::Ikev2Sas(TimePoint now) const { return impl_->Ikev2Sas(now); }
std::vector<SaId> Node::SaIds() const { return impl_->SaIds(); }
std::vector<SaId> Node::SaIdsTo(const IpAddress& peer) const { return impl_->SaIdsTo(peer); }
std::vector<SaId> Node::Ikev2SaIdsTo(const IpAddress& peer) const {
  return impl_->Ikev2SaIdsTo(peer);
}
std::vector<IpAddress> Node::Peers() const { return impl_->Peers(); }
std::vector<IsakmpSaSnapshot> Node::IsakmpSas(TimePoint now, std::span<const SaId> ids) const {
  return impl_->IsakmpSas(now, ids);
}
std::vector<ChildSaSnapshot> Node::ChildSasOf(TimePoint now, std::span<const SaId> ids,
                                              SnapshotKeys keys) const {
  return impl_->ChildSasOf(now, ids, keys);
}
std::vector<ChildSaSnapshot> Node::ChildSas(TimePoint now, SnapshotKeys keys) const {
  return impl_->ChildSas(now, keys);
}
void Node::HandOverChildKeys(std::span<const uint32_t> spis_in) {
  impl_->HandOverChildKeys(spis_in);
}
std::vector<ChildSaSnapshot> Node::ChildSas(TimePoint now, std::span<const uint32_t> spis_in,
                                            SnapshotKeys keys) const {
  return impl_->ChildSas(now, spis_in, keys);
}
std::optional<SecretsHeld> Node::SecretsHeldBy(SaId ike_sa) const {
  return impl_->SecretsHeldBy(ike_sa);
}
std::vector<uint32_t> Node::ChildSpis(SaId ike_sa) const { return impl_->ChildSpis(ike_sa); }
std::vector<Node::EntryState> Node::Entries() const { return impl_->Entries(); }
std::optional<Node::EntryState> Node::EntryStateOf(const std::string& map, uint32_t seq) const {
  return impl_->EntryStateOf(map, seq);
}

std::vector<std::pair<std::string, uint32_t>> Node::EntriesOfPeer(const IpAddress& peer) const {
  return impl_->EntriesOfPeer(peer);
}
const NodeCounters& Node::counters() const { return impl_->counters(); }
size_t Node::ike_sa_count() const { return impl_->sa_count(); }
CallAdmissionSnapshot Node::CallAdmission() const { return impl_->CallAdmission(); }

// ---------------------------------------------------------------------------------------
// Helpers

IkeSa* NodeImpl::Find(SaId id) {
  auto it = sas_.find(id);
  return it == sas_.end() || it->second->dead() ? nullptr : it->second.get();
}

IkeSa& NodeImpl::NewSa(Ctx& c, bool initiator, const Endpoint& local, const Endpoint& remote) {
  auto session = std::make_unique<Ikev1Session>();
  IkeSa* sa = &session->sa();
  sa->id = next_id_++;
  sa->initiator = initiator;
  sa->local = local;
  sa->remote = remote;
  sa->created = c.now;
  sa->dpd.emplace(cfg_.keepalive, *rng_);
  sa->mm = std::make_unique<MainModeState>();
  IkeSa& ref = *sa;
  by_peer_[remote.ip].push_back(ref.id);
  sas_.emplace(ref.id, SaSlot(std::move(session)));
  return ref;
}

void NodeImpl::IndexCookies() {
  by_icookie_.Clear();
  std::vector<Ikev1Session*> all;
  all.reserve(sas_.size());
  for (auto& [id, sa] : sas_)
    all.push_back(&sa.session());  // every SA is indexed once it exists (NewSa callers)
  // In creation order, as the rows were added (rows with one cookie are visited in order).
  std::sort(all.begin(), all.end(),
            [](const Ikev1Session* a, const Ikev1Session* b) { return a->sa().id < b->sa().id; });
  for (Ikev1Session* session : all) by_icookie_.Insert(CookieKey(session->sa().icookie), session);
}

void NodeImpl::IndexV2Spis() {
  by_spi_v2_.Clear();
  std::vector<V2Slot*> all;
  all.reserve(v2_.size());
  for (auto& [id, row] : v2_)
    if (row.indexed || !row.indexed_old.empty()) all.push_back(&row);
  std::sort(all.begin(), all.end(),
            [](const V2Slot* a, const V2Slot* b) { return a->s->id() < b->s->id(); });
  for (V2Slot* row : all) {
    if (row->indexed) by_spi_v2_.Insert(*row->indexed, row->s.get());
    for (uint64_t k : row->indexed_old) by_spi_v2_.Insert(k, row->s.get());
  }
}

void NodeImpl::SyncV2Index(V2Slot& row) {
  Ikev2Session* s = row.s.get();
  const std::optional<uint64_t> want =
      s->state() == Ikev2Session::State::kIdle ? std::nullopt
                                                : std::optional<uint64_t>(SpiKey(s->spi_i()));
  std::vector<uint64_t> want_old;
  for (const ikev2::Spi& spi : s->old_spis_i()) want_old.push_back(SpiKey(spi));
  if (row.indexed != want) {
    if (row.indexed) by_spi_v2_.Erase(*row.indexed, s);
    if (want) by_spi_v2_.Insert(*want, s);
    row.indexed = want;
  }
  if (!std::equal(row.indexed_old.begin(), row.indexed_old.end(), want_old.begin(),
                  want_old.end())) {
    for (uint64_t k : row.indexed_old) by_spi_v2_.Erase(k, s);
    for (uint64_t k : want_old) by_spi_v2_.Insert(k, s);
    row.indexed_old.clear();
    for (uint64_t k : want_old) row.indexed_old.push_back(k);
  }
}

std::vector<IkeSa*> NodeImpl::SasTo(const IpAddress& peer) {
  std::vector<IkeSa*> out;
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return out;
  for (SaId id : it->second)
    if (IkeSa* sa = Find(id)) out.push_back(sa);
  return out;
}

void NodeImpl::SetRemote(IkeSa& sa, const Endpoint& remote) {
  if (remote.ip != sa.remote.ip) {
    auto& v = by_peer_[sa.remote.ip];
    v.Remove(sa.id);
    if (v.empty()) by_peer_.erase(sa.remote.ip);
    by_peer_[remote.ip].push_back(sa.id);
  }
  sa.remote = remote;
}

const std::vector<size_t>& NodeImpl::EntriesListing(const IpAddress& peer) const {
  static const std::vector<size_t> kNone;
  auto it = entries_by_peer_.find(peer);
  return it == entries_by_peer_.end() ? kNone : it->second;
}

const config::CryptoMapEntry* NodeImpl::CryptoMap(const std::string& map, uint32_t seq) const {
  auto it = entry_index_.find({map, seq});
  return it == entry_index_.end() ? nullptr : entries_[it->second].cfg.get();
}

void NodeImpl::Debug(Ctx& c, const IkeSa* sa, std::string_view line) {
  if (!*debug_) return;
  std::string text = sa ? sa->Tag() : std::string("ISAKMP: ");
  text += line;
  c.out.events.push_back(Event{c.now, EventKind::kDebug, sa ? sa->id : kNoSa,
                               sa ? sa->remote.ip : IpAddress{}, 0, 0, std::move(text)});
}

void NodeImpl::Log(Ctx& c, const std::string& line) {
  c.out.events.push_back(Event{c.now, EventKind::kLog, kNoSa, {}, 0, 0, line});
}

void NodeImpl::Emit(Ctx& c, EventKind k, const SaBase* sa, uint64_t v, uint64_t v2,
                    std::string text) {
  c.out.events.push_back(Event{c.now, k, sa ? sa->id : kNoSa, sa ? sa->remote.ip : IpAddress{},
                               v, v2, std::move(text)});
}

void NodeImpl::HeardFromPeer(Ctx& c, SaBase& sa) {
  sa.last_rx = c.now;
  if (sa.dpd) sa.dpd->OnInboundAuthenticated(c.now);
}

void NodeImpl::Drop(Ctx& c, uint64_t& counter, const char* reason, const Endpoint& from) {
  ++counter;
  ++counters_.dropped;
  c.out.events.push_back(Event{c.now, EventKind::kDrop, kNoSa, from.ip, 0, 0, reason});
  if (*debug_)
    c.out.events.push_back(Event{c.now, EventKind::kDebug, kNoSa, from.ip, 0, 0,
                                 std::string("ISAKMP: dropping packet from ") + from.ToString() +
                                     ": " + reason});
}

Duration RetransmitGap(const RetransmitPolicy& p, int k) {
  const Duration d = p.initial * (int64_t{1} << std::clamp(k - 1, 0, 20));
  return std::min(d, p.max_interval);
}

Duration RetransmitJitter(const RetransmitPolicy& p, int k, Random& rng) {
  if (k > p.tries || p.jitter_percent <= 0) return Duration::zero();
  const int64_t max_us = RetransmitGap(p, k).count() * std::min(p.jitter_percent, 50) / 100;
  if (max_us <= 0) return Duration::zero();
  const uint32_t bound = static_cast<uint32_t>(std::min<int64_t>(max_us, UINT32_MAX - 1));
  return Micros(rng.Uniform(bound + 1));
}

// ---------------------------------------------------------------------------------------
// NodeImpl's SessionHost (node_impl.h): what it does not forward inline.

void NodeImpl::Ikev1Host::Send(const Endpoint& local, const Endpoint& remote, Bytes datagram) {
  c_.out.datagrams.push_back(Datagram{local, remote, std::move(datagram)});
  ++n_.counters_.tx_datagrams;
}

void NodeImpl::Ikev1Host::Emit(EventKind kind, uint64_t value, uint64_t value2, std::string text) {
  n_.Emit(c_, kind, sa_, value, value2, std::move(text));
}

namespace {
// The drop counters by their NodeCounters field names (SessionHost::Drop).
uint64_t NodeCounters::*DropCounterNamed(std::string_view name) {
  static constexpr std::pair<std::string_view, uint64_t NodeCounters::*> kDrops[] = {
      {"dropped_malformed", &NodeCounters::dropped_malformed},
      {"dropped_unknown_sa", &NodeCounters::dropped_unknown_sa},
      {"dropped_auth", &NodeCounters::dropped_auth},
      {"dropped_state", &NodeCounters::dropped_state},
      {"dropped_rate_limited", &NodeCounters::dropped_rate_limited},
      {"dropped_replay", &NodeCounters::dropped_replay},
  };
  for (const auto& [n, field] : kDrops)
    if (n == name) return field;
  return nullptr;  // only the total counts it
}
}  // namespace

void NodeImpl::Ikev1Host::Drop(std::string_view counter, std::string_view reason) {
  DropFrom(sa_ ? sa_->remote : Endpoint{}, DropCounterNamed(counter), reason);
}

void NodeImpl::Ikev1Host::DropFrom(const Endpoint& from, uint64_t NodeCounters::*counter,
                                   std::string_view reason) {
  uint64_t none = 0;
  n_.Drop(c_, counter ? n_.counters_.*counter : none, std::string(reason).c_str(), from);
}

void NodeImpl::Ikev1Host::ChildUp(const ChildSaUp& child) {
  n_.by_spi_in_[child.spi_in] = sa_->id;  // reserved at allocation; outbound SPIs are per SA
  n_.Emit(c_, EventKind::kChildSaUp, sa_, child.spi_in, child.spi_out, child.map_name);
}

void NodeImpl::Ikev1Host::ChildDown(uint32_t spi_in, uint32_t spi_out) {
  n_.Emit(c_, EventKind::kChildSaDown, sa_, spi_in, spi_out);
  if (auto b = n_.by_spi_in_.find(spi_in); b != n_.by_spi_in_.end() && b->second == sa_->id)
    n_.by_spi_in_.erase(b);
}

IkeSa* NodeImpl::NewestEstablished(const IpAddress& peer) {
  IkeSa* best = nullptr;
  for (IkeSa* sa : SasTo(peer))
    if (sa->established() &&
        (!best || sa->established_at > best->established_at ||
         (sa->established_at == best->established_at && sa->id > best->id)))
      best = sa;
  return best;
}

IkeSa* NodeImpl::Negotiating(const IpAddress& peer) {
  for (IkeSa* sa : SasTo(peer))
    if (sa->initiator && sa->status == SaStatus::kNegotiating)
      return sa;
  return nullptr;
}

EntryRuntime* NodeImpl::FindEntry(const std::string& map, uint32_t seq) {
  auto it = entry_index_.find({map, seq});
  return it == entry_index_.end() ? nullptr : &entries_[it->second];
}

std::optional<IpAddress> NodeImpl::LocalFor(const EntryRuntime& e) const {
  return cfg_.LocalAddressFor(e.map_name);
}

// ---------------------------------------------------------------------------------------
// Configuration

// O(the change), not O(the configuration) (DESIGN.md §6.4): the crypto map entries and keys
// are shared with the Config given (config/cow_list.h), so an entry the change did not touch
// is the same object as before and costs one pointer comparison; the entries that differ are
// added, changed or removed one by one, with their index rows and the SAs to their peers.
void NodeImpl::SetConfig(const config::Config& cfg, Ctx& c) {
  config::Config old = std::move(cfg_);
  cfg_ = cfg;
  // Without `crypto call admission limit ike in-negotiation-sa`, the bound is 1000 or the
  // number of crypto map entries if larger: a hub can take every branch it is configured for
  // negotiating at once (after an outage they all come back together), where a fixed 1000
  // would evict most of them before their MM3 (DESIGN.md §1.8).
  half_open_.SetLimit(cfg_.cac_in_negotiation_sa
                          ? cfg_.cac_in_negotiation_sa
                          : std::max<size_t>(HalfOpenTable::kDefaultLimit, cfg_.crypto_maps.size()));
  // Settings every entry or SA depends on: when one changed, every kept-up entry is brought
  // up again (as for any change before) and the keepalive reaches every SA.
  const bool keepalive_changed = !(old.keepalive == cfg_.keepalive);
  const bool globals_changed =
      keepalive_changed || !(old.policies == cfg_.policies) ||
      !(old.transform_sets == cfg_.transform_sets) || !(old.acls == cfg_.acls) ||
      !(old.interfaces == cfg_.interfaces) ||
      old.force_encapsulation != cfg_.force_encapsulation ||
      old.nat_keepalive_s != cfg_.nat_keepalive_s;
  // Keys: rebuilt when any differs; the kept-up entries of a peer whose host key is new or
  // changed are brought up (a wider key may concern any entry: all of them).
  bool bring_up_all = globals_changed;
  std::vector<IpAddress> keyed_peers;
  if (!(old.keys == cfg_.keys)) {
    key_index_.Build(cfg_.keys);
    for (size_t j = 0; j < cfg_.keys.size() && !bring_up_all; ++j) {
      if (j < old.keys.size() && old.keys.Identity(j) == cfg_.keys.Identity(j)) continue;
      const config::PresharedKey& k = cfg_.keys[j];
      if (j < old.keys.size() && old.keys[j] == k) continue;
      if (k.mask == IpAddress::V4(255, 255, 255, 255) && !k.address.v6)
        keyed_peers.push_back(k.address);
      else
        bring_up_all = true;
      if (keyed_peers.size() > 1024) bring_up_all = true;
    }
  }
  // Crypto map entries, matched to the previous configuration's in one pass: the same object
  // at the next old position is unchanged; anything else is looked up by (map, seq).
  const uint32_t pass = ++config_pass_;
  std::vector<size_t> order;
  order.reserve(cfg_.crypto_maps.size());
  std::vector<size_t> touched;  // added or changed: their peer rows, then BringUp
  size_t i = 0;
  for (size_t j = 0; j < cfg_.crypto_maps.size(); ++j) {
    const config::CryptoMapEntry& e = cfg_.crypto_maps[j];
    size_t slot;
    if (i < old.crypto_maps.size() && old.crypto_maps.Identity(i) == cfg_.crypto_maps.Identity(j)) {
      slot = order_[i++];
    } else if (auto it = entry_index_.find({e.map_name, e.seq}); it != entry_index_.end()) {
      slot = it->second;
      if (entries_[slot].seen == pass) continue;  // (map, seq) twice in one list: the first
      i = entries_[slot].pos + 1;
      EntryRuntime& rt = entries_[slot];
      if (rt.cfg.get() != &e) {
        if (*rt.cfg == e) {
          rt.cfg = cfg_.crypto_maps.Shared(j);  // equal: only the object changed
        } else {
          ChangeEntry(c, slot, cfg_.crypto_maps.Shared(j));
          touched.push_back(slot);
        }
      }
    } else {
      slot = AddEntry(c, cfg_.crypto_maps.Shared(j));
      touched.push_back(slot);
    }
    entries_[slot].seen = pass;
    order.push_back(slot);
  }
  for (size_t slot : order_)
    if (entries_[slot].cfg && entries_[slot].seen != pass) RemoveEntry(c, slot);
  order_ = std::move(order);
  for (size_t k = 0; k < order_.size(); ++k) entries_[order_[k]].pos = static_cast<uint32_t>(k);
  for (size_t slot : touched) IndexEntryPeers(slot);
  // Keepalive changes apply to every SA from its next interval.
  if (keepalive_changed)
    for (auto& [id, sa] : sas_)
      if (sa->dpd) {
        sa->dpd->UpdateConfig(cfg_.keepalive, c.now);
        Rearm(*sa);
      }
  if (bring_up_all) {
    BringUpKeptUp(c);
  } else {
    std::sort(touched.begin(), touched.end(),
              [&](size_t a, size_t b) { return entries_[a].pos < entries_[b].pos; });
    for (const IpAddress& peer : keyed_peers)
      for (size_t slot : EntriesListing(peer)) touched.push_back(slot);
    for (size_t slot : touched)
      if (EntryRuntime& e = entries_[slot]; e.cfg && e.keep_up) BringUp(c, e);
  }
  ReapDead();
}

void NodeImpl::BringUpKeptUp(Ctx& c) {
  for (size_t slot : order_)
    if (entries_[slot].keep_up) BringUp(c, entries_[slot]);
}

std::vector<IkeSa*> NodeImpl::SasOfEntryPeers(const config::CryptoMapEntry& e) {
  std::vector<IkeSa*> out;
  const bool all_addressed =
      std::all_of(e.peers.begin(), e.peers.end(), [](const auto& p) { return p.address.has_value(); });
  if (!all_addressed) {
    for (auto& [id, sa] : sas_)
      if (!sa->dead()) out.push_back(sa.get());
    return out;
  }
  for (const auto& p : e.peers)
    for (IkeSa* sa : SasTo(*p.address))
      if (std::find(out.begin(), out.end(), sa) == out.end()) out.push_back(sa);
  return out;
}

size_t NodeImpl::AddEntry(Ctx& c, std::shared_ptr<const config::CryptoMapEntry> e) {
  (void)c;
  size_t slot;
  if (!free_entries_.empty()) {
    slot = free_entries_.back();
    free_entries_.pop_back();
  } else {
    slot = entries_.size();
    entries_.emplace_back();
  }
  EntryRuntime& rt = entries_[slot];
  rt.map_name = e->map_name;
  rt.seq = e->seq;
  rt.failover.SetPeers(e->peers);
  rt.keep_up = e->keep_up;
  rt.want_up = e->keep_up;
  rt.cycle_start.reset();
  rt.retry_at = kNever;
  rt.cfg = std::move(e);
  entry_index_[{rt.map_name, rt.seq}] = slot;
  return slot;
}

void NodeImpl::ChangeEntry(Ctx& c, size_t slot, std::shared_ptr<const config::CryptoMapEntry> e) {
  EntryRuntime& rt = entries_[slot];
  const std::shared_ptr<const config::CryptoMapEntry> before = rt.cfg;
  UnindexEntryPeers(slot);
  rt.cfg = std::move(e);
  const config::CryptoMapEntry& now = *rt.cfg;
  const bool reset = rt.failover.SetPeers(now.peers);
  rt.keep_up = now.keep_up;
  if (now.keep_up) rt.want_up = true;
  if (!reset) return;
  ClearBackoff(rt);  // a new list starts without a back-off, as its failure count does
  // The entry now points elsewhere: its SAs to a peer no longer listed go.
  for (IkeSa* sa : SasOfEntryPeers(*before)) {
    if (sa->dead()) continue;
    const bool in_list = std::any_of(now.peers.begin(), now.peers.end(), [&](const auto& p) {
      return p.address && *p.address == sa->remote.ip;
    });
    if (!in_list && std::any_of(sa->entries.begin(), sa->entries.end(), [&](const auto& x) {
          return Is(x, now.map_name, now.seq);
        }))
      DeleteSa(c, *sa, "peer removed from crypto map", true, false);
  }
}

void NodeImpl::RemoveEntry(Ctx& c, size_t slot) {
  EntryRuntime& rt = entries_[slot];
  const std::shared_ptr<const config::CryptoMapEntry> gone = rt.cfg;
  for (IkeSa* sa : SasOfEntryPeers(*gone)) {
    if (sa->dead()) continue;
    std::vector<uint32_t> spis;
    for (const auto& ch : sa->children)
      if (Is(ch.entry, gone->map_name, gone->seq)) spis.push_back(ch.spi_in);
    for (uint32_t spi : spis) DeleteChild(c, *sa, spi, true);
  }
  UnindexEntryPeers(slot);
  entry_index_.erase({rt.map_name, rt.seq});
  rt.cfg.reset();
  rt.map_name.clear();
  rt.failover.SetPeers({});
  rt.want_up = rt.keep_up = false;
  ClearBackoff(rt);
  free_entries_.push_back(slot);
}

void NodeImpl::IndexEntryPeers(size_t slot) {
  const EntryRuntime& rt = entries_[slot];
  for (const auto& p : rt.cfg->peers) {
    if (!p.address) continue;
    std::vector<size_t>& v = entries_by_peer_[*p.address];
    auto at = std::lower_bound(v.begin(), v.end(), rt.pos,
                               [&](size_t s, uint32_t pos) { return entries_[s].pos < pos; });
    if (at == v.end() || *at != slot) v.insert(at, slot);
  }
}

void NodeImpl::UnindexEntryPeers(size_t slot) {
  for (const auto& p : entries_[slot].cfg->peers) {
    if (!p.address) continue;
    auto it = entries_by_peer_.find(*p.address);
    if (it == entries_by_peer_.end()) continue;
    std::erase(it->second, slot);
    if (it->second.empty()) entries_by_peer_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------
// Datagrams

void NodeImpl::OnDatagram(Ctx& c, const Endpoint& local, const Endpoint& remote,
                          ByteSpan data) {
  ++counters_.rx_datagrams;
  ByteSpan msg = data;
  const bool on_natt = local.port == opts_.natt_port;
  if (on_natt) {
    if (data.size() == 1 && data[0] == 0xff) return;  // NAT-T keepalive (RFC 3948)
    if (data.size() < 4 || data[0] || data[1] || data[2] || data[3]) {
      Drop(c, counters_.dropped_state, "ESP on 4500 (no data plane)", remote);
      return;
    }
    msg = data.subspan(4);
  }
  // The version of the ISAKMP/IKE header (the same 28 bytes for both: byte 17, major version
  // in the high nibble) chooses the protocol (DESIGN.md §6.2). Shorter datagrams and other
  // versions take the IKEv1 path, whose header parser refuses them.
  constexpr size_t kVersionOffset = 17;
  if (msg.size() >= isakmp::kHeaderSize && (msg[kVersionOffset] >> 4) == 2) {
    OnIkev2Datagram(c, local, remote, msg);
    return;
  }
  OnIkev1Datagram(c, local, remote, msg);
}

void NodeImpl::OnIkev2Datagram(Ctx& c, const Endpoint& local, const Endpoint& remote,
                               ByteSpan msg) {
  // Only the IKEv2 exchanges (34-37) are IKEv2's: anything else with major version 2 is
  // dropped as malformed, as the IKEv1 header parser refuses a major version it does not
  // speak.
  constexpr size_t kExchangeOffset = 18;
  const uint8_t x = msg[kExchangeOffset];
  if (x < uint8_t(ikev2::ExchangeType::kIkeSaInit) ||
      x > uint8_t(ikev2::ExchangeType::kInformational)) {
    Drop(c, counters_.dropped_malformed, "Unsupported major version.", remote);
    return;
  }
  auto h = ikev2::ParseHeader(msg);
  if (!h) {
    Drop(c, counters_.dropped_malformed, h.error().detail, remote);
    return;
  }
  // Find the session by initiator SPI, then the responder SPI: our initiator learns the
  // responder's SPI from the IKE_SA_INIT response; a retransmitted IKE_SA_INIT request
  // (responder SPI 0) belongs to the responder session it created, from that peer.
  static const ikev2::Spi kZero{};
  Ikev2Session* found = nullptr;
  by_spi_v2_.Find(SpiKey(h->spi_i), [&](Ikev2Session* s) {
    if (s->state() == Ikev2Session::State::kEnded) return false;
    if (s->Owns(h->spi_i, h->spi_r)) {  // the current IKE SA or the one a rekey replaced
      found = s;
      return true;
    }
    if (s->spi_i() != h->spi_i) return false;
    if ((s->initiator() && s->state() == Ikev2Session::State::kInitSent && h->response() &&
         h->exchange == ikev2::ExchangeType::kIkeSaInit) ||
        (!s->initiator() && h->spi_r == kZero && !h->response() &&
         h->exchange == ikev2::ExchangeType::kIkeSaInit && s->remote().ip == remote.ip)) {
      found = s;
      return true;
    }
    return false;
  });
  if (found) {
    const SaId id = found->id();
    Ikev2Host host(*this, c, id, found->remote());
    found->OnMessage(host, local, remote, msg.first(h->length));
    AfterV2Call(c, id);
  } else {
    OnIkev2WithoutSa(c, *h, local, remote, msg.first(h->length));
  }
  ReapDead();
}

// The bound on IKEv2 half-open responders: `crypto ikev2 limit max-in-negotation-sa`, else
// 1000 (IOS has no default bound; DESIGN.md §6.6).
size_t NodeImpl::V2HalfOpenLimit() const {
  constexpr size_t kDefault = 1000;
  return cfg_.ikev2_max_in_negotiation_sa ? cfg_.ikev2_max_in_negotiation_sa : kDefault;
}

// Cookies are demanded from this many half-open responders on: `crypto ikev2
// cookie-challenge N`, and in any case once the half-open bound is reached.
size_t NodeImpl::V2CookieThreshold() const {
  const size_t limit = V2HalfOpenLimit();
  return cfg_.ikev2_cookie_challenge ? std::min<size_t>(cfg_.ikev2_cookie_challenge, limit) : limit;
}

// RFC 7296 §2.6: while cookies are demanded, an IKE_SA_INIT request whose first payload is not
// a N(COOKIE) that verifies for its Ni, source address and SPIi gets a response with only a
// N(COOKIE) (SPIr zero) and creates nothing: no session, no DH, no nonce. A cookie that does
// not verify is counted and treated as absent (a fresh one is sent).
bool NodeImpl::V2CookieAdmits(Ctx& c, const Endpoint& local, const Endpoint& remote, ByteSpan msg) {
  if (v2_half_open_.size() < V2CookieThreshold()) return true;
  auto m = ikev2::ParseMessage(msg);
  if (!m) {
    Drop(c, counters_.dropped_malformed, m.error().detail, remote);
    return false;
  }
  static const ikev2::Spi kZero{};
  const ikev2::Header& h = m->header;
  if (!h.initiator() || h.message_id != 0 || h.spi_i == kZero) {
    Drop(c, counters_.dropped_state, "not an IKE_SA_INIT request", remote);
    return false;
  }
  const auto* ni = ikev2::Find<ikev2::NoncePayload>(m->payloads);
  if (!ni) {
    Drop(c, counters_.dropped_malformed, "IKE_SA_INIT request without SA, KE or Ni", remote);
    return false;
  }
  const auto* first =
      m->payloads.empty() ? nullptr : std::get_if<ikev2::NotifyPayload>(&m->payloads.front().body);
  if (first && first->type == uint16_t(ikev2::NotifyType::kCookie)) {
    if (v2_cookie_.Valid(c.now, *rng_, first->data, ni->data, remote.ip, h.spi_i)) {
      ++counters_.ikev2_cookies_valid;
      if (*debug_)
        Ikev2Host(*this, c, kNoSa, remote)
            .Debug("IKEv2:Received IKE_SA_INIT with a valid COOKIE from " + remote.ToString());
      return true;
    }
    ++counters_.ikev2_cookies_invalid;
    if (*debug_)
      Ikev2Host(*this, c, kNoSa, remote)
          .Debug("IKEv2:Received IKE_SA_INIT with an invalid COOKIE from " + remote.ToString() +
                 ", sending a new one");
  }
  ikev2::Header rh;
  rh.spi_i = h.spi_i;
  rh.exchange = ikev2::ExchangeType::kIkeSaInit;
  rh.flags = ikev2::kFlagResponse;
  rh.message_id = 0;
  Bytes wire = ikev2::BuildMessage(
      rh, {ikev2::MakeNotify(ikev2::NotifyType::kCookie,
                             v2_cookie_.Make(c.now, *rng_, ni->data, remote.ip, h.spi_i))});
  if (local.port == opts_.natt_port) wire.insert(wire.begin(), 4, 0);  // the non-ESP marker
  if (*debug_)  // the flood's path: no string built without debug
    Ikev2Host(*this, c, kNoSa, remote)
        .Debug("IKEv2:Sending COOKIE to " + remote.ToString() + " (" +
               std::to_string(v2_half_open_.size()) + " half-open)");
  c.out.datagrams.push_back(Datagram{local, remote, std::move(wire)});
  ++counters_.tx_datagrams;
  ++counters_.ikev2_cookies_sent;
  return false;
}

// The IKEv2 responder factory: an IKE_SA_INIT request with responder SPI 0 and no session.
// Bounded in count by V2HalfOpenLimit (IKEv2's own, not IKEv1's half-open table): at the bound
// cookies are demanded (V2CookieAdmits), and a request with a valid cookie ends the oldest
// half-open responder to take its place; in time by the session's own half-open lifetime
// (Ikev2Options::half_open_lifetime).
void NodeImpl::OnIkev2WithoutSa(Ctx& c, const ikev2::Header& h, const Endpoint& local,
                                const Endpoint& remote, ByteSpan msg) {
  static const ikev2::Spi kZero{};
  if (h.exchange != ikev2::ExchangeType::kIkeSaInit || h.response() || h.spi_r != kZero) {
    Drop(c, counters_.dropped_unknown_sa, "IKEv2 message for an unknown SA", remote);
    return;
  }
  if (!V2CookieAdmits(c, local, remote, msg)) return;
  // Only a request that proved its address gets here at the bound (the cookie threshold is
  // at most the bound). A bound lowered by configuration is reached again one eviction at a
  // time, as requests come.
  while (v2_half_open_.size() >= V2HalfOpenLimit()) {
    const SaId oldest = *v2_half_open_.begin();
    ++counters_.ikev2_half_open_evicted;
    if (*debug_)
      Ikev2Host(*this, c, kNoSa, remote)
          .Debug("IKEv2:half-open limit reached: ending the oldest half-open SA " +
                 std::to_string(oldest));
    DeleteV2(c, oldest, "evicted: IKEv2 half-open limit", false);
    if (v2_half_open_.count(oldest)) break;  // cannot happen: Deleted removed it
  }
  const SaId id = next_id_;
  Ikev2Host host(*this, c, id, remote);
  std::unique_ptr<Ikev2Session> s =
      Ikev2Session::Respond(host, local, remote, msg, id, V2Options());
  if (!s) return;
  ++next_id_;
  Ikev2Session* raw = s.get();
  V2Slot row;
  row.s = std::move(s);
  row.half_open = !raw->established();
  if (row.half_open) v2_half_open_.insert(id);
  v2_.emplace(id, std::move(row));
  by_peer_[remote.ip].push_back(id);
  AfterV2Call(c, id);
}

void NodeImpl::AfterV2Call(Ctx& c, SaId id) {
  auto it = v2_.find(id);
  if (it == v2_.end()) return;
  if (it->second.dead) return;  // reaped by ReapDead
  SyncV2Index(it->second);
  if (!v2_want_child_.empty()) StartWantedChild(c, id);
  timers_.Arm(id, it->second.s->NextDeadline());
}

// A second crypto map entry to a peer, with the profile of an IKEv2 SA to it, gets its Child
// SA over that SA by CREATE_CHILD_SA (DESIGN.md §6.6): now if the SA can start one, or when
// the exchange in flight is done (v2_want_child_, drained by StartWantedChild).
void NodeImpl::WantChild(Ctx& c, SaId id, EntryRuntime& e) {
  if (e.retry_at != kNever && c.now < e.retry_at) return;  // refused lately: its timer asks again
  V2Slot* row = FindV2(id);
  if (!row) return;
  const EntryRef ref = Ref(e.map_name, e.seq);
  std::vector<EntryRef>& q = v2_want_child_[id];
  if (std::find(q.begin(), q.end(), ref) == q.end()) q.push_back(ref);
  if (row->s->CanStartChild()) AfterV2Call(c, id);
}

void NodeImpl::StartWantedChild(Ctx& c, SaId id) {
  auto w = v2_want_child_.find(id);
  if (w == v2_want_child_.end()) return;
  V2Slot* row = FindV2(id);
  if (!row || row->dead || row->s->state() == Ikev2Session::State::kEnded) {
    v2_want_child_.erase(w);
    return;
  }
  std::vector<EntryRef>& q = w->second;
  while (!q.empty() && row->s->CanStartChild()) {
    const EntryRef ref = q.front();
    q.erase(q.begin());
    // The entry may have changed since it was queued: still wanted, still at this peer, still
    // this SA's profile, still without an IPsec SA here.
    EntryRuntime* e = FindEntry(MapName(ref), ref.seq);
    if (!e || !e->cfg || !(e->want_up || e->keep_up) || e->cfg->ikev2_profile != row->s->profile_name())
      continue;
    auto cur = e->failover.Current();
    if (!cur || !cur->peer->address || *cur->peer->address != row->s->remote().ip) continue;
    if (row->s->CarriesEntry(e->map_name, e->seq)) continue;
    Ikev2Host host(*this, c, id, row->s->remote());
    row->s->AddChild(host, *e->cfg);
  }
  if (q.empty()) v2_want_child_.erase(w);
}

void NodeImpl::InitiateV2(Ctx& c, const IpAddress& peer, EntryRuntime& e) {
  std::optional<IpAddress> local = LocalFor(e);
  if (!local) {
    Log(c, "%CRYPTO-4-IKMP_NO_LOCAL_ADDRESS: crypto map " + e.map_name + " " +
               std::to_string(e.seq) + " is not applied to an interface with an address");
    return;
  }
  const SaId id = next_id_++;
  const Endpoint remote{peer, opts_.ike_port};
  V2Slot row;
  row.s = std::make_unique<Ikev2Session>(id, V2Options());
  row.entry = Ref(e.map_name, e.seq);
  row.no_failover = true;  // a failure inside Initiate is logged, not failed over
  Ikev2Session* raw = row.s.get();
  v2_.emplace(id, std::move(row));
  by_peer_[peer].push_back(id);
  {
    Ikev2Host host(*this, c, id, remote);
    raw->Initiate(host, *e.cfg, Endpoint{*local, opts_.ike_port}, remote);
  }
  V2Slot& slot = v2_.at(id);
  slot.no_failover = false;
  AfterV2Call(c, id);
}

void NodeImpl::DeleteV2(Ctx& c, SaId id, std::string_view reason, bool send) {
  V2Slot* row = FindV2(id);
  if (!row) return;
  Ikev2Host host(*this, c, id, row->s->remote());
  row->s->Delete(host, reason, send);
}

// ---- NodeImpl's SessionHost for IKEv2 ---------------------------------------------------

V2Slot* NodeImpl::Ikev2Host::Slot() const {
  auto it = n_.v2_.find(id_);
  return it == n_.v2_.end() ? nullptr : &it->second;
}

void NodeImpl::Ikev2Host::Send(const Endpoint& local, const Endpoint& remote, Bytes datagram) {
  c_.out.datagrams.push_back(Datagram{local, remote, std::move(datagram)});
  ++n_.counters_.tx_datagrams;
}

void NodeImpl::Ikev2Host::Emit(EventKind kind, uint64_t value, uint64_t value2,
                               std::string text) {
  c_.out.events.push_back(Event{c_.now, kind, id_, remote_.ip, value, value2, std::move(text)});
}

void NodeImpl::Ikev2Host::Debug(std::string_view line) {
  if (!*n_.debug_) return;
  c_.out.events.push_back(
      Event{c_.now, EventKind::kDebug, id_, remote_.ip, 0, 0, std::string(line)});
}

void NodeImpl::Ikev2Host::ReleaseSpiIn(uint32_t spi_in) {
  auto it = n_.by_spi_in_.find(spi_in);
  if (it == n_.by_spi_in_.end() || it->second != id_) return;
  n_.by_spi_in_.erase(it);
}

void NodeImpl::Ikev2Host::Established() {
  V2Slot* row = Slot();
  if (row && row->half_open) {
    row->half_open = false;
    n_.v2_half_open_.erase(id_);
  }
  if (row) row->was_up = true;
  Emit(EventKind::kIkeSaUp, 0, 0, {});
  // The session's endpoint, not the one this host was made with: a responder floats to the
  // NAT-T port while it handles the IKE_AUTH request that establishes it.
  const Endpoint remote = row ? row->s->remote() : remote_;
  const IpAddress peer = remote.ip;
  bool other_up = n_.NewestEstablished(peer) != nullptr;
  if (auto p = n_.by_peer_.find(peer); p != n_.by_peer_.end())
    for (SaId o : p->second)
      if (V2Slot* r = n_.FindV2(o); r && o != id_ && r->s->established()) other_up = true;
  if (!other_up)
    n_.Log(c_, "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP. Peer " + peer.ToString() + ":" +
                   std::to_string(remote.port) + " Id: " + peer.ToString());
  for (size_t idx : n_.EntriesListing(peer)) {
    auto cur = n_.entries_[idx].failover.Current();
    if (cur && cur->peer->address && *cur->peer->address == peer) {
      n_.entries_[idx].failover.OnSuccess();
      n_.ClearBackoff(n_.entries_[idx]);
    }
  }
}

void NodeImpl::Ikev2Host::ChildUp(const ChildSaUp& child) {
  n_.by_spi_in_[child.spi_in] = id_;
  Emit(EventKind::kChildSaUp, child.spi_in, child.spi_out, child.map_name);
}

void NodeImpl::Ikev2Host::ChildDown(uint32_t spi_in, uint32_t spi_out) {
  Emit(EventKind::kChildSaDown, spi_in, spi_out, {});
  if (auto b = n_.by_spi_in_.find(spi_in); b != n_.by_spi_in_.end() && b->second == id_)
    n_.by_spi_in_.erase(b);
}

void NodeImpl::Ikev2Host::Drop(std::string_view counter, std::string_view reason) {
  uint64_t none = 0;
  uint64_t NodeCounters::*field = DropCounterNamed(counter);
  n_.Drop(c_, field ? n_.counters_.*field : none, std::string(reason).c_str(), remote_);
}

void NodeImpl::Ikev2Host::PeerDead() {
  ++n_.counters_.peers_dead;
  Emit(EventKind::kPeerDead, 0, 0, {});
  if (V2Slot* row = Slot()) row->peer_dead = true;
}

void NodeImpl::Ikev2Host::GaveUp() {
  Emit(EventKind::kGiveUp, 0, 0, {});
  if (V2Slot* row = Slot()) row->gave_up = true;
}

void NodeImpl::Ikev2Host::InitialContact() {
  V2Slot* row = Slot();
  if (!row) return;
  const IpAddress peer = row->s->remote().ip;
  std::vector<SaId> others;
  if (auto p = n_.by_peer_.find(peer); p != n_.by_peer_.end())
    for (SaId o : p->second)
      if (V2Slot* r = n_.FindV2(o); o != id_ && r && !r->dead) others.push_back(o);
  for (SaId o : others) n_.DeleteV2(c_, o, "initial contact", /*send=*/false);
}

void NodeImpl::Ikev2Host::ChildRefused(std::string_view map, uint32_t seq) {
  EntryRuntime* e = n_.FindEntry(std::string(map), seq);
  if (!e || !e->cfg || !(e->keep_up || e->want_up) || e->retry_at != kNever) return;
  e->retry_at = c_.now + kChildRetry;
  e->child_retry = true;
  n_.timers_.Arm(EntryTimerKey(n_.SlotOf(*e)), e->retry_at);
}

void NodeImpl::Ikev2Host::BringUpKeptUpAt(const IpAddress& peer) {
  (void)peer;  // always this SA's peer: deferred to Deleted, when this SA no longer counts
  if (V2Slot* row = Slot()) row->bring_up_again = true;
}

void NodeImpl::Ikev2Host::Deleted(std::string_view reason) {
  V2Slot* row = Slot();
  if (!row || row->dead) return;
  row->dead = true;
  if (row->half_open) {
    row->half_open = false;
    n_.v2_half_open_.erase(id_);
  }
  n_.timers_.Disarm(id_);
  n_.dead_.push_back(id_);
  const IpAddress peer = remote_.ip;
  if (row->was_up) {
    Emit(EventKind::kIkeSaDown, 0, 0, std::string(reason));
    bool other_up = n_.NewestEstablished(peer) != nullptr;
    if (auto p = n_.by_peer_.find(peer); p != n_.by_peer_.end())
      for (SaId o : p->second)
        if (V2Slot* r = n_.FindV2(o); r && r->s->established()) other_up = true;
    if (!other_up)
      n_.Log(c_, "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is DOWN. Peer " + peer.ToString() +
                     ":" + std::to_string(remote_.port) + " Id: " + peer.ToString());
  }
  const bool failover = !row->no_failover &&
                        (row->peer_dead || (row->gave_up && row->s->initiator()));
  const bool was_up = row->was_up;
  const bool again = row->bring_up_again;
  if (failover) {
    n_.FailOver(c_, id_, peer, was_up);
  } else if (again) {
    n_.BringUpKeptUpAt(c_, peer);
  }
}

void NodeImpl::OnIkev1Datagram(Ctx& c, const Endpoint& local, const Endpoint& remote,
                               ByteSpan msg) {
  auto h = isakmp::ParseHeader(msg);
  if (!h) {
    Drop(c, counters_.dropped_malformed, h.error().detail, remote);
    return;
  }
  msg = msg.first(h->length);

  // Find the SA: by initiator cookie, then responder cookie; the initiator learns the
  // responder cookie from MM2.
  IkeSa* sa = nullptr;
  static const isakmp::Cookie kZero{};
  by_icookie_.Find(CookieKey(h->icookie), [&](Ikev1Session* session) {
    IkeSa* cand = &session->sa();
    if (cand->dead()) return false;
    if (cand->rcookie == h->rcookie) {
      sa = cand;
      return true;
    }
    if (session->AwaitsMm2() && cand->rcookie == kZero &&
        h->exchange == isakmp::ExchangeType::kIdentityProtection) {
      sa = cand;
      return true;
    }
    // A retransmitted MM1 (R=0) belongs to the responder SA it created, from that peer
    // (DESIGN.md §2.8): the duplicate check resends MM2; a late copy is dropped.
    if (!cand->initiator && h->rcookie == kZero && cand->remote.ip == remote.ip &&
        h->exchange == isakmp::ExchangeType::kIdentityProtection) {
      sa = cand;
      return true;
    }
    // A notify answering MM1 carries R=0 (DESIGN.md §2.8).
    if (h->rcookie == kZero && h->exchange == isakmp::ExchangeType::kInformational) sa = cand;
    return false;
  });
  // Swapped cookies (some stacks echo them reversed in DPD): look up the other way round.
  if (!sa && h->exchange == isakmp::ExchangeType::kInformational) {
    by_icookie_.Find(CookieKey(h->rcookie), [&](Ikev1Session* session) {
      IkeSa* cand = &session->sa();
      if (cand->dead() || cand->rcookie != h->icookie) return false;
      sa = cand;
      Debug(c, sa, "cookies swapped in header (tolerated)");
      return true;
    });
  }

  if (sa) {
    Ikev1Host host(*this, c, sa);
    SessionOf(*sa).OnIkev1Message(host, *h, local, remote, msg);
    if (!sa->dead()) Rearm(*sa);
  } else {
    OnIkev1WithoutSa(c, *h, local, remote, msg);
  }
  ReapDead();
}

// A datagram that finds no SA: an MM1 (half-open entry, MM2) or an MM3 that promotes one (the
// IKEv1 responder factory, main_mode_responder.cc); anything else is dropped.
void NodeImpl::OnIkev1WithoutSa(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                                const Endpoint& remote, ByteSpan msg) {
  switch (h.exchange) {
    case isakmp::ExchangeType::kIdentityProtection:
      OnMainModeWithoutSa(c, h, local, remote, msg);
      break;
    case isakmp::ExchangeType::kQuickMode:
      Drop(c, counters_.dropped_unknown_sa, "Quick Mode without an established ISAKMP SA",
           remote);
      break;
    case isakmp::ExchangeType::kInformational:
      Drop(c, counters_.dropped_unknown_sa, "Informational for an unknown SA", remote);
      break;
    default:
      Drop(c, counters_.dropped_state, "unsupported exchange type", remote);
      break;
  }
}

// ---------------------------------------------------------------------------------------
// Timers

void NodeImpl::OnTimeout(Ctx& c) {
  half_open_.Expire(c.now);
  if (const size_t resent = half_open_.Retransmit(c.now, c.out.datagrams)) {
    counters_.retransmits += resent;
    counters_.tx_datagrams += resent;
    if (*debug_) Debug(c, nullptr, "retransmitting phase 1 MM_SA_SETUP... (" +
                                      std::to_string(resent) + " half-open)");
  }
  while (auto id = timers_.PopNext(c.now)) {
    if (*id & kEntryTimerBit) {
      timers_.Disarm(*id);
      OnEntryRetry(c, static_cast<size_t>(*id & ~kEntryTimerBit));
      continue;
    }
    IkeSa* sa = Find(*id);
    if (!sa) {
      if (V2Slot* row = FindV2(*id)) {
        Ikev2Host host(*this, c, *id, row->s->remote());
        row->s->OnTimeout(host);
        AfterV2Call(c, *id);
        continue;
      }
      timers_.Disarm(*id);  // stale fire: harmless (and the key's index node goes)
      continue;
    }
    Ikev1Host host(*this, c, sa);
    SessionOf(*sa).OnTimeout(host);
    if (!sa->dead()) Rearm(*sa);
  }
  ReapDead();
}

// ---------------------------------------------------------------------------------------
// Entries, traffic, operations

void NodeImpl::BringUp(Ctx& c, EntryRuntime& e) {
  auto cur = e.failover.Current();
  if (!cur || !cur->peer->address) return;
  const IpAddress peer = *cur->peer->address;
  // An entry with `set ikev2-profile` is negotiated with IKEv2 only, never with IKEv1: one
  // IKEv2 SA per entry and peer (its Child SA comes with IKE_AUTH).
  if (e.cfg && !e.cfg->ikev2_profile.empty()) {
    const EntryRef ref = Ref(e.map_name, e.seq);
    SaId share = kNoSa;  // an IKEv2 SA to the peer that can carry this entry's Child SA
    if (auto p = by_peer_.find(peer); p != by_peer_.end())
      for (SaId id : p->second) {
        V2Slot* row = FindV2(id);
        if (!row || row->dead || row->s->state() == Ikev2Session::State::kEnded) continue;
        const Ikev2Session& s = *row->s.get();
        // Ours for this entry and not up yet (its IKE_AUTH brings the Child SA), or up
        // without one (its Child SA refused at IKE_AUTH or ended since) under another
        // profile now; or its Child SA is here.
        if ((row->entry == ref &&
             (!s.established() || s.profile_name() != e.cfg->ikev2_profile)) ||
            s.CarriesEntry(e.map_name, e.seq))
          return;
        // The same profile from the same address: a second entry's Child SA over this IKE SA
        // (established, or ours still being set up).
        if (s.profile_name() == e.cfg->ikev2_profile && (s.established() || s.initiator())) {
          if (std::optional<IpAddress> local = LocalFor(e);
              local && *local == s.local().ip && share == kNoSa)
            share = id;
          continue;
        }
        if (!s.initiator() && s.established()) return;  // the peer's SA of another profile
      }
    if (share != kNoSa) {
      WantChild(c, share, e);
      return;
    }
    if (!StartAttempt(c, e)) return;
    InitiateV2(c, peer, e);
    return;
  }
  if (IkeSa* sa = NewestEstablished(peer)) {
    const bool have = std::any_of(sa->children.begin(), sa->children.end(), [&](const ChildSa& ch) {
      return Is(ch.entry, e.map_name, e.seq) && !ch.rekeyed;
    });
    Ikev1Host host(*this, c, sa);
    const std::optional<EntryRef> ref = FindRef(e.map_name, e.seq);
    const bool pending = ref && SessionOf(*sa).ChildInFlight(host, *ref);
    if (!have && !pending)
      if (const config::CryptoMapEntry* ce = CryptoMap(e.map_name, e.seq))
        AddChild(c, *sa, *ce, 0);
    Rearm(*sa);
    return;
  }
  if (IkeSa* sa = Negotiating(peer)) {
    const EntryRef key = Ref(e.map_name, e.seq);
    if (std::find(sa->entries.begin(), sa->entries.end(), key) == sa->entries.end())
      sa->entries.push_back(key);
    return;
  }
  if (!StartAttempt(c, e)) return;
  InitiateSa(c, peer, e.map_name, e.seq);
}

bool NodeImpl::StartAttempt(Ctx& c, EntryRuntime& e) {
  if (e.retry_at != kNever) {
    // backing off: the entry's timer brings it up (a refused Child SA's retry does not hold
    // back a new IKE SA)
    if (!e.child_retry && c.now < e.retry_at) return false;
    ClearBackoff(e);
  }
  const size_t n = e.failover.peers().size();
  if (n != 0 && e.failover.consecutive_failures() % n == 0) e.cycle_start = c.now;
  return true;
}

Duration NodeImpl::EntryBackoff(uint32_t cycles) const {
  Duration give_up = Duration::zero();
  for (int k = 1; k <= opts_.retransmit.tries + 1; ++k)
    give_up += RetransmitGap(opts_.retransmit, k);
  const Duration d = Seconds(1) * (int64_t{1} << std::clamp<int64_t>(int64_t{cycles} - 1, 0, 20));
  return std::min(d, give_up);
}

void NodeImpl::MaybeBackOff(Ctx& c, EntryRuntime& e) {
  const size_t n = e.failover.peers().size();
  const uint32_t f = e.failover.consecutive_failures();
  if (n == 0 || f < n || f % n != 0 || !e.cycle_start) return;
  const uint32_t cycles = static_cast<uint32_t>(f / n);
  const TimePoint at = *e.cycle_start + EntryBackoff(cycles);
  e.cycle_start.reset();  // the next cycle's first attempt sets it again
  if (at <= c.now) return;  // the cycle took longer than the back-off: no wait
  e.retry_at = at;
  e.child_retry = false;
  timers_.Arm(EntryTimerKey(SlotOf(e)), at);
  if (*debug_)
    Debug(c, nullptr, "crypto map " + e.map_name + " " + std::to_string(e.seq) + ": " +
                          std::to_string(f) + " failures in a row, next attempt in " +
                          std::to_string((at - c.now).count() / 1000) + " ms");
}

void NodeImpl::ClearBackoff(EntryRuntime& e) {
  e.cycle_start.reset();
  e.child_retry = false;
  if (e.retry_at == kNever) return;
  e.retry_at = kNever;
  timers_.Disarm(EntryTimerKey(SlotOf(e)));
}

void NodeImpl::OnEntryRetry(Ctx& c, size_t slot) {
  if (slot >= entries_.size()) return;
  EntryRuntime& e = entries_[slot];
  if (!e.cfg || e.retry_at == kNever || c.now < e.retry_at) return;
  e.retry_at = kNever;
  e.child_retry = false;
  if (e.keep_up || e.want_up) BringUp(c, e);
}

void NodeImpl::StartMainMode(Ctx& c, const IpAddress& peer, const std::string& map, uint32_t seq) {
  EntryRuntime* e = FindEntry(map, seq);
  std::optional<IpAddress> local = e ? LocalFor(*e) : std::nullopt;
  if (!local) {
    Log(c, "%CRYPTO-4-IKMP_NO_LOCAL_ADDRESS: crypto map " + map + " " + std::to_string(seq) +
               " is not applied to an interface with an address");
    return;
  }
  const config::PresharedKey* key = PresharedKeyFor(peer);
  if (!key) {
    Log(c, "%CRYPTO-4-IKMP_NO_PRESHARED_KEY: no pre-shared key for peer " + peer.ToString());
    return;
  }
  isakmp::SaPayload sap = BuildPhase1Sa(cfg_);
  if (sap.proposals.front().transforms.empty()) {
    Log(c, "%CRYPTO-4-IKMP_NO_POLICY: no usable crypto isakmp policy (pre-share)");
    return;
  }
  IkeSa& sa = NewSa(c, true, Endpoint{*local, opts_.ike_port}, Endpoint{peer, opts_.ike_port});
  do {
    rng_->Fill(sa.icookie);
  } while (sa.icookie == isakmp::Cookie{});
  sa.mm->psk = key->key;
  sa.entries.push_back(Ref(map, seq));
  IndexCookie(sa);
  Ikev1Host host(*this, c, &sa);
  SessionOf(sa).Initiate(host, *e->cfg, sa.local, sa.remote);
}

void NodeImpl::InitiateSa(Ctx& c, const IpAddress& peer, const std::string& map, uint32_t seq) {
  // IKEv1 for every entry BringUp lets through (one with `set ikev2-profile` stops there).
  StartMainMode(c, peer, map, seq);
}

void NodeImpl::ReplaceSa(Ctx& c, IkeSa& sa) {
  // The replacement speaks the replaced SA's version: IKEv1 Main Mode for its first entry.
  const EntryRef first = sa.entries.front();
  StartMainMode(c, sa.remote.ip, MapName(first), first.seq);
  // The new SA replaces this one when it is up.
  for (IkeSa* other : SasTo(sa.remote.ip))
    if (other->id != sa.id && SessionOf(*other).AwaitsMm2() && other->replaces == kNoSa)
      other->replaces = sa.id;
}

void NodeImpl::AddChild(Ctx& c, IkeSa& sa, const config::CryptoMapEntry& e,
                        uint32_t replaces_spi_in) {
  // An entry with `set ikev2-profile` (also one changed to it since its SA came up, at its
  // rekey) is never negotiated by IKEv1 (WarnIkev2Entry).
  if (!e.ikev2_profile.empty()) return;
  Ikev1Host host(*this, c, &sa);
  SessionOf(sa).StartChild(host, e, replaces_spi_in);
}

void NodeImpl::Initiate(Ctx& c, const std::string& map, uint32_t seq) {
  EntryRuntime* e = FindEntry(map, seq);
  if (!e) return;
  e->want_up = true;
  BringUp(c, *e);
  ReapDead();
}

void NodeImpl::OnOutboundTraffic(Ctx& c, const std::string& map, uint32_t seq) {
  EntryRuntime* e = FindEntry(map, seq);
  if (!e) return;
  auto cur = e->failover.Current();
  if (cur && cur->peer->address) {
    if (IkeSa* sa = NewestEstablished(*cur->peer->address)) {
      sa->dpd->OnOutboundTraffic(c.now);
      Rearm(*sa);
    }
  }
  e->want_up = true;
  BringUp(c, *e);
  ReapDead();
}

void NodeImpl::OnChildTraffic(Ctx& c, uint32_t spi_in, bool inbound, uint64_t bytes) {
  auto it = by_spi_in_.find(spi_in);
  if (it == by_spi_in_.end()) return;
  IkeSa* sa = Find(it->second);
  if (!sa) {
    if (V2Slot* row = FindV2(it->second)) {
      const SaId id = it->second;
      Ikev2Host host(*this, c, id, row->s->remote());
      row->s->OnChildTraffic(host, spi_in, inbound, bytes);
      AfterV2Call(c, id);
    }
    return;
  }
  for (auto& ch : sa->children) {
    if (ch.spi_in == spi_in) {
      if (inbound) {
        ++ch.pkts_in;
        ch.bytes_in += bytes;
        ch.last_in = c.now;
        sa->dpd->OnInboundTraffic(c.now);
      } else {
        ++ch.pkts_out;
        ch.bytes_out += bytes;
        ch.last_out = c.now;
        sa->dpd->OnOutboundTraffic(c.now);
      }
      break;
    }
  }
  Rearm(*sa);
}

void NodeImpl::OnChildLifetime(Ctx& c, uint32_t spi_in, bool hard) {
  auto it = by_spi_in_.find(spi_in);
  if (it == by_spi_in_.end()) return;
  IkeSa* sa = Find(it->second);
  if (!sa) {
    if (V2Slot* row = FindV2(it->second)) {
      const SaId id = it->second;
      Ikev2Host host(*this, c, id, row->s->remote());
      auto gone = row->s->OnChildVolume(host, spi_in, hard);
      // A kept-up entry does not wait for traffic: its new pair over the same IKE SA, once
      // the Delete is done.
      if (gone)
        if (EntryRuntime* e = FindEntry(gone->first, gone->second); e && e->keep_up)
          WantChild(c, id, *e);
      AfterV2Call(c, id);
    }
    ReapDead();
    return;
  }
  for (auto& ch : sa->children) {
    if (ch.spi_in != spi_in) continue;
    if (hard) {
      Debug(c, sa, "IPsec SA " + std::to_string(spi_in) + ": kilobyte lifetime expired");
      const EntryRef entry = ch.entry;
      DeleteChild(c, *sa, spi_in, true);
      // A kept-up entry does not wait for traffic to replace it (BringUp does nothing when a
      // rekey is already in flight or another SA of the entry is up).
      if (EntryRuntime* e = FindEntry(MapName(entry), entry.seq); e && e->keep_up)
        BringUp(c, *e);
    } else if (ch.initiator && !ch.rekeyed) {
      ch.rekeyed = true;
      if (const config::CryptoMapEntry* e = CryptoMap(MapName(ch.entry), ch.entry.seq))
        AddChild(c, *sa, *e, ch.spi_in);
    }
    break;
  }
  Rearm(*sa);
  ReapDead();
}

void NodeImpl::Clear(Ctx& c, const ClearFilter& f) {
  std::vector<SaId> ids;
  for (auto& [id, sa] : sas_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (SaId id : ids) {
    IkeSa* sa = Find(id);
    if (!sa || !f.ikev1) continue;
    if (f.local && sa->local.ip != *f.local) continue;
    if (f.local_port && sa->local.port != *f.local_port) continue;
    if (f.remote && sa->remote.ip != *f.remote) continue;
    if (f.remote_port && sa->remote.port != *f.remote_port) continue;
    if (f.conn_id && sa->id != *f.conn_id) continue;
    if (f.map_name) {
      std::vector<uint32_t> spis;
      for (const auto& ch : sa->children)
        if (MapName(ch.entry) == *f.map_name) spis.push_back(ch.spi_in);
      for (uint32_t s : spis) DeleteChild(c, *sa, s, true);
      continue;
    }
    if (f.ipsec_only) {
      std::vector<uint32_t> spis;
      for (const auto& ch : sa->children) spis.push_back(ch.spi_in);
      for (uint32_t s : spis) DeleteChild(c, *sa, s, true);
      continue;
    }
    DeleteSa(c, *sa, "Manual clear", true, false);
  }
  // IKEv2 SAs: with their Child SAs, or only those (`clear crypto sa`).
  std::vector<SaId> v2ids;
  if (f.ikev2)
    for (const auto& [id, row] : v2_)
      if (!row.dead) v2ids.push_back(id);
  std::sort(v2ids.begin(), v2ids.end());
  for (SaId id : v2ids) {
    V2Slot* row = FindV2(id);
    if (!row) continue;
    const Ikev2Session& s = *row->s.get();
    if (f.local && s.local().ip != *f.local) continue;
    if (f.local_port && s.local().port != *f.local_port) continue;
    if (f.remote && s.remote().ip != *f.remote) continue;
    if (f.remote_port && s.remote().port != *f.remote_port) continue;
    if (f.conn_id && id != *f.conn_id) continue;
    if (f.map_name || f.ipsec_only) {
      // `clear crypto sa [map NAME]`: the Child SAs go, the IKE SA stays (kept-up entries
      // get new ones over it below).
      Ikev2Host host(*this, c, id, s.remote());
      row->s->ClearChildren(host, f.map_name ? &*f.map_name : nullptr);
      AfterV2Call(c, id);
      continue;
    }
    DeleteV2(c, id, "Manual clear", true);
  }
  ReapDead();
  // Kept-up entries come back at once.
  BringUpKeptUp(c);
  ReapDead();
}

// ---------------------------------------------------------------------------------------
// Reports from the protocols (what SessionHost's Established, PeerDead and GaveUp and the
// IPsec SA bookkeeping of ChildUp become in the core, DESIGN.md §6.2)

void NodeImpl::SaEstablished(Ctx& c, IkeSa& sa) {
  bool other_up = false;
  // DPD only on the newest SA to the peer (older ones still answer).
  for (IkeSa* o : SasTo(sa.remote.ip))
    if (o != &sa && o->established()) {
      other_up = true;
      o->replaced = true;
    }
  Emit(c, EventKind::kIkeSaUp, &sa);
  if (!other_up)
    Log(c, "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP. Peer " + sa.remote.ip.ToString() +
               ":" + std::to_string(sa.remote.port) + " Id: " + sa.remote.ip.ToString());
  for (size_t idx : EntriesListing(sa.remote.ip)) {
    auto cur = entries_[idx].failover.Current();
    if (cur && cur->peer->address && *cur->peer->address == sa.remote.ip) {
      entries_[idx].failover.OnSuccess();
      ClearBackoff(entries_[idx]);
    }
  }
  if (sa.replaces != kNoSa) {
    if (IkeSa* old = Find(sa.replaces)) {
      // ISAKMP re-establishment: the IPsec SAs live on; re-home them, then delete the old SA.
      for (auto& ch : old->children) {
        by_spi_in_[ch.spi_in] = sa.id;
        sa.children.push_back(std::move(ch));
      }
      old->children.clear();
      old->replaced = true;
      DeleteSa(c, *old, "Rekeyed", true, false);
    }
  }
  PendingQuickModes(c, sa);
}

void NodeImpl::PendingQuickModes(Ctx& c, IkeSa& sa) {
  if (!sa.initiator) return;
  for (const EntryRef entry : sa.entries) {
    const bool have = std::any_of(sa.children.begin(), sa.children.end(),
                                  [&](const ChildSa& ch) { return ch.entry == entry; });
    if (have) continue;
    if (const config::CryptoMapEntry* e = CryptoMap(MapName(entry), entry.seq))
      AddChild(c, sa, *e, 0);
  }
}

void NodeImpl::SaPeerDead(Ctx& c, IkeSa& sa) {
  ++counters_.peers_dead;
  Emit(c, EventKind::kPeerDead, &sa);
  // Everything we hold with that peer goes, Delete notifications included, and the entries
  // fail over.
  const IpAddress peer = sa.remote.ip;
  for (IkeSa* other : SasTo(peer))
    if (other != &sa) DeleteSa(c, *other, "peers alive", true, false);
  DeleteSa(c, sa, "peers alive", true, true);
}

void NodeImpl::SaGaveUp(Ctx& c, IkeSa& sa, const std::string& reason) {
  Emit(c, EventKind::kGiveUp, &sa);
  DeleteSa(c, sa, reason, false, /*failover=*/sa.initiator);
}

void NodeImpl::ChildInstalled(Ctx& c, IkeSa& sa, const ChildSa& ch) {
  by_spi_in_[ch.spi_in] = sa.id;  // reserved at allocation; outbound SPIs are per SA
  Emit(c, EventKind::kChildSaUp, &sa, ch.spi_in, ch.spi_out, MapName(ch.entry));
}

// ---------------------------------------------------------------------------------------
// Services a protocol asks of the core about other SAs and the crypto map entries (what
// SessionHost gains when IKEv1 moves behind it, DESIGN.md §6.5)

const config::PresharedKey* NodeImpl::PresharedKeyFor(const IpAddress& peer) const {
  return key_index_.Find(cfg_.keys, peer);
}

bool NodeImpl::PeerHasEstablishedSa(const IpAddress& peer) {
  return NewestEstablished(peer) != nullptr;
}

std::vector<const config::CryptoMapEntry*> NodeImpl::EntriesFor(const IpAddress& peer) const {
  std::vector<const config::CryptoMapEntry*> out;
  for (size_t slot : EntriesListing(peer)) out.push_back(entries_[slot].cfg.get());
  return out;
}

uint32_t NodeImpl::AllocateSpiIn(SaId sa) {
  uint32_t spi;
  do {
    spi = rng_->U32();
  } while (spi < 256 || by_spi_in_.count(spi));
  by_spi_in_.emplace(spi, sa);
  return spi;
}

void NodeImpl::ReleaseSpiIn(const SaBase& sa, uint32_t spi_in) {
  auto it = by_spi_in_.find(spi_in);
  if (it == by_spi_in_.end() || it->second != sa.id) return;
  for (const auto& ch : sa.children)
    if (ch.spi_in == spi_in) return;  // installed: the child holds it now
  by_spi_in_.erase(it);
}

bool NodeImpl::EntryKeptUp(EntryRef r) {
  const EntryRuntime* e = FindEntry(MapName(r), r.seq);
  return e && e->keep_up;
}

void NodeImpl::InitialContact(Ctx& c, IkeSa& sa) {
  // INITIAL-CONTACT: the peer has no other state with us; drop what we still hold.
  for (IkeSa* other : SasTo(sa.remote.ip))
    if (other != &sa) DeleteSa(c, *other, "initial contact", false, false);
}

void NodeImpl::PeerDeletedSa(Ctx& c, IkeSa& sa) {
  // Re-home the IPsec SAs to a newer ISAKMP SA with the same peer, if any.
  IkeSa* newer = nullptr;
  for (IkeSa* o : SasTo(sa.remote.ip))
    if (o != &sa && o->established() && (!newer || o->established_at > newer->established_at))
      newer = o;
  if (newer) {
    for (auto& ch : sa.children) {
      by_spi_in_[ch.spi_in] = newer->id;
      newer->children.push_back(std::move(ch));
    }
    sa.children.clear();
    newer->replaced = false;
  }
  DeleteSa(c, sa, "Peer deleted the ISAKMP SA", false, false);
}

void NodeImpl::BringUpKeptUpListing(Ctx& c, const IpAddress& peer) {
  for (size_t idx : EntriesListing(peer))
    if (EntryRuntime& e = entries_[idx]; e.keep_up) BringUp(c, e);
}

void NodeImpl::BringUpKeptUpAt(Ctx& c, const IpAddress& peer) {
  for (size_t idx : EntriesListing(peer)) {
    EntryRuntime& e = entries_[idx];
    if (!e.keep_up) continue;
    auto cur = e.failover.Current();
    if (cur && cur->peer->address && *cur->peer->address == peer) BringUp(c, e);
  }
}

// ---------------------------------------------------------------------------------------
// Teardown

void NodeImpl::DeleteSa(Ctx& c, IkeSa& sa, const std::string& reason, bool send_delete,
                        bool failover) {
  if (sa.dead()) return;
  const bool was_up = sa.established();
  Ikev1Session& session = SessionOf(sa);
  Ikev1Host host(*this, c, &sa);
  session.Deleting(host, reason);
  if (was_up) {
    Emit(c, EventKind::kIkeSaDown, &sa, 0, 0, reason);
    // Only the last SA to a peer going down takes the tunnel down.
    bool other_up = false;
    for (IkeSa* o : SasTo(sa.remote.ip))
      if (o != &sa && o->established()) other_up = true;
    if (!other_up)
      Log(c, "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is DOWN. Peer " + sa.remote.ip.ToString() +
                 ":" + std::to_string(sa.remote.port) + " Id: " + sa.remote.ip.ToString());
  }
  if (send_delete && was_up) session.SendDeletes(host);
  for (const auto& ch : sa.children) {
    Emit(c, EventKind::kChildSaDown, &sa, ch.spi_in, ch.spi_out);
    if (auto b = by_spi_in_.find(ch.spi_in); b != by_spi_in_.end() && b->second == sa.id)
      by_spi_in_.erase(b);
  }
  sa.children.clear();
  session.MarkDeleted(host);  // its exchanges in flight end; status kDead
  timers_.Disarm(sa.id);
  dead_.push_back(sa.id);
  if (!failover) return;
  FailOver(c, sa.id, sa.remote.ip, was_up);
}

void NodeImpl::FailOver(Ctx& c, SaId id, const IpAddress& peer, bool was_up) {
  // Stateless failover (DESIGN.md §4): every entry currently pointing at this peer moves on.
  for (size_t idx : EntriesListing(peer)) {
    EntryRuntime& e = entries_[idx];
    auto cur = e.failover.Current();
    if (!cur || !cur->peer->address || *cur->peer->address != peer) continue;
    e.failover.OnFailure(was_up ? PeerFailover::FailureKind::kPeerDead
                                : PeerFailover::FailureKind::kSetupFailed);
    MaybeBackOff(c, e);
    auto next = e.failover.Current();
    Event ev{c.now, EventKind::kFailover, id,
             next && next->peer->address ? *next->peer->address : IpAddress{}, next ? next->index : 0,
             0, e.map_name + " " + std::to_string(e.seq)};
    c.out.events.push_back(ev);
    ++counters_.failovers;
    if (e.keep_up) {
      BringUp(c, e);
    } else if (!was_up) {
      e.want_up = false;  // traffic will trigger the next attempt
    }
  }
}

void NodeImpl::ReapDead() {
  for (SaId id : dead_) {
    if (auto v = v2_.find(id); v != v2_.end()) {
      if (!v2_want_child_.empty()) v2_want_child_.erase(id);
      if (v->second.indexed) by_spi_v2_.Erase(*v->second.indexed, v->second.s.get());
      for (uint64_t k : v->second.indexed_old) by_spi_v2_.Erase(k, v->second.s.get());
      timers_.Disarm(id);
      if (auto p = by_peer_.find(v->second.s->remote().ip); p != by_peer_.end()) {
        p->second.Remove(id);
        if (p->second.empty()) by_peer_.erase(p);
      }
      v2_.erase(v);
      continue;
    }
    auto it = sas_.find(id);
    if (it == sas_.end()) continue;
    by_icookie_.Erase(CookieKey(it->second->icookie), &it->second.session());
    timers_.Disarm(id);
    if (auto p = by_peer_.find(it->second->remote.ip); p != by_peer_.end()) {
      p->second.Remove(id);
      if (p->second.empty()) by_peer_.erase(p);
    }
    sas_.erase(it);
  }
  dead_.clear();
}

// ---------------------------------------------------------------------------------------
// Snapshots

std::vector<IsakmpSaSnapshot> NodeImpl::IsakmpSas(TimePoint now) const {
  std::vector<IsakmpSaSnapshot> out;
  out.reserve(sas_.size());
  for (const auto& [id, sa] : sas_) {
    if (sa->dead()) continue;
    out.push_back(Snapshot(*sa, now));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.conn_id < b.conn_id; });
  return out;
}

std::vector<Ikev2SaSnapshot> NodeImpl::Ikev2Sas(TimePoint now) const {
  std::vector<Ikev2SaSnapshot> out;
  out.reserve(v2_.size());
  for (const auto& [id, row] : v2_)
    if (!row.dead) out.push_back(row.s->Ikev2Snapshot(now));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.tunnel_id < b.tunnel_id; });
  return out;
}

std::vector<SaId> NodeImpl::SaIds() const {
  std::vector<SaId> out;
  out.reserve(sas_.size());
  for (const auto& [id, sa] : sas_)
    if (!sa->dead()) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<SaId> NodeImpl::SaIdsTo(const IpAddress& peer) const {
  std::vector<SaId> out;
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return out;
  for (SaId id : it->second) {
    auto s = sas_.find(id);
    if (s != sas_.end() && !s->second->dead()) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<SaId> NodeImpl::Ikev2SaIdsTo(const IpAddress& peer) const {
  std::vector<SaId> out;
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return out;
  for (SaId id : it->second) {
    auto v = v2_.find(id);
    if (v != v2_.end() && !v->second.dead) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<IpAddress> NodeImpl::Peers() const {
  std::vector<IpAddress> out;
  out.reserve(by_peer_.size());
  for (const auto& [peer, ids] : by_peer_) out.push_back(peer);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<IsakmpSaSnapshot> NodeImpl::IsakmpSas(TimePoint now,
                                                  std::span<const SaId> ids) const {
  std::vector<IsakmpSaSnapshot> out;
  out.reserve(ids.size());
  for (SaId id : ids) {
    auto it = sas_.find(id);
    if (it == sas_.end() || it->second->dead()) continue;
    out.push_back(Snapshot(*it->second, now));
  }
  return out;
}

std::vector<ChildSaSnapshot> NodeImpl::ChildSasOf(TimePoint now, std::span<const SaId> ids,
                                                  SnapshotKeys keys) const {
  std::vector<ChildSaSnapshot> out;
  for (SaId id : ids) {
    auto it = sas_.find(id);
    if (it == sas_.end()) {
      // An IKEv2 SA: its Child SAs come sorted by spi_in.
      if (auto v = v2_.find(id); v != v2_.end() && !v->second.dead)
        for (auto& ch : v->second.s->Children(now, keys)) out.push_back(std::move(ch));
      continue;
    }
    if (it->second->dead()) continue;
    const size_t first = out.size();
    for (const auto& ch : it->second->children) out.push_back(Snapshot(*it->second, ch, now, keys));
    std::sort(out.begin() + static_cast<ptrdiff_t>(first), out.end(),
              [](const auto& a, const auto& b) { return a.spi_in < b.spi_in; });
  }
  return out;
}

IsakmpSaSnapshot NodeImpl::Snapshot(const IkeSa& sa, TimePoint now) {
  IsakmpSaSnapshot s = BaseSnapshot(sa, now);
  Ikev1Session::Ikev1Snapshot(sa, s);
  return s;
}

// What every protocol's SA shows: its id, endpoints, role, lifetime and liveness.
IsakmpSaSnapshot NodeImpl::BaseSnapshot(const SaBase& sa, TimePoint now) {
  IsakmpSaSnapshot s;
  s.conn_id = sa.id;
  s.local = sa.local;
  s.remote = sa.remote;
  s.initiator = sa.initiator;
  s.established = sa.established();
  s.lifetime_left_s = sa.expires == kNever ? 0
                                            : std::chrono::duration_cast<std::chrono::seconds>(
                                                  sa.expires - now).count();
  if (sa.dpd) FillDpd(s, *sa.dpd, now, sa.dpd->next_seq());
  return s;
}

ChildSaSnapshot NodeImpl::Snapshot(const SaBase& sa, const ChildSa& ch, TimePoint now,
                                   SnapshotKeys keys) const {
  ChildSaSnapshot s;
  s.ike_sa = sa.id;
  s.map_name = MapName(ch.entry);
  s.map_seq = ch.entry.seq;
  s.local = sa.local;
  s.remote = sa.remote;
  s.udp_encap = ch.algs.udp_encap;
  s.spi_in = ch.spi_in;
  s.spi_out = ch.spi_out;
  s.cipher = ch.algs.cipher;
  s.auth = ch.algs.auth;
  s.keys_handed_over = ch.keys_handed_over;
  if (keys == SnapshotKeys::kInclude && ch.keys) {
    s.enc_key_in = ch.keys->enc_in;
    s.auth_key_in = ch.keys->auth_in;
    s.enc_key_out = ch.keys->enc_out;
    s.auth_key_out = ch.keys->auth_out;
  }
  s.local_net = ch.local_net;
  s.local_mask = ch.local_mask;
  s.remote_net = ch.remote_net;
  s.remote_mask = ch.remote_mask;
  s.protocol = ch.protocol;
  s.lifetime_left_s =
      std::chrono::duration_cast<std::chrono::seconds>(ch.expires - now).count();
  s.lifetime_kb = ch.algs.lifetime_kb;
  s.pkts_in = ch.pkts_in;
  s.pkts_out = ch.pkts_out;
  s.bytes_in = ch.bytes_in;
  s.bytes_out = ch.bytes_out;
  if (ch.last_in != kNever) s.last_in = ch.last_in;
  if (ch.last_out != kNever) s.last_out = ch.last_out;
  return s;
}

namespace {
void SortChildSnapshots(std::vector<ChildSaSnapshot>& v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return std::tie(a.ike_sa, a.spi_in) < std::tie(b.ike_sa, b.spi_in);
  });
}
}  // namespace

std::vector<ChildSaSnapshot> NodeImpl::ChildSas(TimePoint now, SnapshotKeys keys) const {
  std::vector<ChildSaSnapshot> out;
  for (const auto& [id, sa] : sas_) {
    if (sa->dead()) continue;
    for (const auto& ch : sa->children) out.push_back(Snapshot(*sa, ch, now, keys));
  }
  for (const auto& [id, row] : v2_) {
    if (row.dead) continue;
    for (auto& ch : row.s->Children(now, keys)) out.push_back(std::move(ch));
  }
  SortChildSnapshots(out);
  return out;
}

void NodeImpl::HandOverChildKeys(std::span<const uint32_t> spis_in) {
  for (uint32_t spi : spis_in) {
    auto b = by_spi_in_.find(spi);
    if (b == by_spi_in_.end()) continue;
    auto it = sas_.find(b->second);
    if (it == sas_.end()) {
      if (auto v = v2_.find(b->second); v != v2_.end()) v->second.s->HandOverChildKeys(spi);
      continue;
    }
    for (ChildSa& ch : it->second->children) {
      if (ch.spi_in != spi || ch.keys_handed_over) continue;
      // Move-assigning an empty SecretBytes wipes the old bytes and frees them.
      ch.keys.reset();  // SecretBytes wipe themselves
      ch.keys_handed_over = true;
    }
  }
}

std::vector<ChildSaSnapshot> NodeImpl::ChildSas(TimePoint now, std::span<const uint32_t> spis_in,
                                                SnapshotKeys keys) const {
  std::vector<ChildSaSnapshot> out;
  auto find_in = [&](const IkeSa& sa, uint32_t spi) {
    if (sa.dead()) return false;
    for (const auto& ch : sa.children)
      if (ch.spi_in == spi) {
        out.push_back(Snapshot(sa, ch, now, keys));
        return true;
      }
    return false;
  };
  for (uint32_t spi : spis_in) {
    auto b = by_spi_in_.find(spi);
    if (b == by_spi_in_.end()) continue;  // gone
    if (auto it = sas_.find(b->second); it != sas_.end()) {
      find_in(*it->second, spi);
    } else if (auto v = v2_.find(b->second); v != v2_.end() && !v->second.dead) {
      for (auto& ch : v->second.s->Children(now, keys))
        if (ch.spi_in == spi) out.push_back(std::move(ch));
    }
  }
  SortChildSnapshots(out);
  // A SPI asked for twice appears once.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto& a, const auto& b) {
                          return a.ike_sa == b.ike_sa && a.spi_in == b.spi_in;
                        }),
            out.end());
  return out;
}

std::vector<uint32_t> NodeImpl::ChildSpis(SaId ike_sa) const {
  std::vector<uint32_t> out;
  auto it = sas_.find(ike_sa);
  if (it == sas_.end() || it->second->dead()) return out;
  for (const auto& ch : it->second->children) out.push_back(ch.spi_in);
  return out;
}

std::optional<SecretsHeld> NodeImpl::SecretsHeldBy(SaId ike_sa) const {
  auto it = sas_.find(ike_sa);
  if (it == sas_.end()) return std::nullopt;
  return it->second.session().Secrets();
}

Node::EntryState NodeImpl::StateOf(const EntryRuntime& e, bool up) const {
  Node::EntryState s;
  s.map_name = e.map_name;
  s.seq = e.seq;
  s.peer_index = e.failover.current_index();
  if (auto cur = e.failover.Current()) s.current_peer = cur->peer->address;
  s.up = up;
  return s;
}

// O(entries + IPsec SAs): one pass over the SAs marks the entries that have an IPsec SA.
std::vector<Node::EntryState> NodeImpl::Entries() const {
  std::unordered_set<size_t> up;
  for (const auto& [id, sa] : sas_)
    for (const auto& ch : sa->children)
      if (auto it = entry_index_.find({MapName(ch.entry), ch.entry.seq}); it != entry_index_.end())
        up.insert(it->second);
  std::vector<Node::EntryState> out;
  out.reserve(order_.size());
  for (size_t slot : order_) out.push_back(StateOf(entries_[slot], up.count(slot)));
  return out;
}

// O(SAs to the entry's peers): a `show crypto map` line per entry stays O(1) in the others.
std::optional<Node::EntryState> NodeImpl::EntryStateOf(const std::string& map,
                                                       uint32_t seq) const {
  auto it = entry_index_.find({map, seq});
  if (it == entry_index_.end()) return std::nullopt;
  bool up = false;
  for (const auto& p : entries_[it->second].cfg->peers) {
    if (!p.address) continue;
    auto sas = by_peer_.find(*p.address);
    if (sas == by_peer_.end()) continue;
    for (SaId id : sas->second) {
      auto sa = sas_.find(id);
      if (sa == sas_.end()) continue;
      for (const auto& ch : sa->second->children)
        up |= Is(ch.entry, map, seq);
    }
  }
  return StateOf(entries_[it->second], up);
}

}  // namespace ikepulse::ike
