// NodeImpl: the state behind ike::Node, the engine core: dispatch, the SA table (sessions),
// timers, entries, failover and snapshots (node.cc), and the IKEv1 responder factory with its
// half-open table (main_mode_responder.cc). The IKEv1 exchanges are Ikev1Session's
// (ikev1_session.h), which the core reaches through Session and a few IKEv1-only calls, and
// which reaches the core through Ikev1Host. IKEv2 sessions (Ikev2Session) are rows of v2_
// beside the IKEv1 table, with their responder factory (OnIkev2WithoutSa) and their host
// (Ikev2Host) in node.cc (DESIGN.md §6.6). Single-threaded; owns every session.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/random.h"
#include "config/config.h"
#include "config/key_index.h"
#include "ike/cookie_index.h"
#include "ike/half_open.h"
#include "ike/ike_sa.h"
#include "ike/ikev1_session.h"
#include "ike/ikev2_cookie.h"
#include "ike/ikev2_session.h"
#include "ike/node.h"
#include "ike/peer_failover.h"
#include "ike/session.h"
#include "ike/timer_queue.h"

namespace ikepulse::ike {

// The hash below is noexcept so that the standard library's hash tables do not store a hash
// code in every node (8 bytes per SA in the peer index): it is cheap to recompute when a
// table grows.
struct IpHash {
  size_t operator()(const IpAddress& a) const noexcept {
    uint64_t x, y;
    std::memcpy(&x, a.bytes.data(), 8);
    std::memcpy(&y, a.bytes.data() + 8, 8);
    return std::hash<uint64_t>()(x * 0x9e3779b97f4a7c15ULL ^ y ^ a.v6);
  }
};

// Per crypto map entry: its failover cursor and whether it should be up.

// Entries live in slots (NodeImpl::entries_) that keep their number while other entries come
// and go, so the indexes over them change only for the entries a configuration changes.
struct EntryRuntime {
  // The entry as configured, shared with the Config it came from (config/cow_list.h); null
  // for a free slot.
  std::shared_ptr<const config::CryptoMapEntry> cfg;
  std::string map_name;
  uint32_t seq = 0;
  PeerFailover failover;
  uint32_t pos = 0;   // its position in cfg_.crypto_maps (and order_)
  uint32_t seen = 0;  // SetConfig's pass that last found it in the configuration
  bool want_up = false;  // keep-up, or traffic asked for it
  bool keep_up = false;
  // Back-off after fast failures (DESIGN.md §6.6, NodeImpl::EntryRetryDelay): when the
  // attempt that began the current cycle through the peer list started (none: this entry has
  // not started one in this cycle), and the instant before which no new attempt starts
  // (kNever: none pending; armed in the node's timer under EntryTimerKey(slot)).
  std::optional<TimePoint> cycle_start;
  TimePoint retry_at = kNever;
  // retry_at is not a back-off but the retry of a Child SA the peer refused over an IKE SA
  // that stays (Ikev2Host::ChildRefused): it does not hold back a new IKE SA.
  bool child_retry = false;
};

// The SAs to one peer (NodeImpl::by_peer_), in the order they were added: one SA, the usual
// case, is held inline (no block of its own); from the second on they go to a vector.
class SaIdList {
 public:
  const SaId* begin() const { return more_ ? more_->data() : &one_; }
  const SaId* end() const {
    return more_ ? more_->data() + more_->size() : &one_ + (one_ != kNoSa ? 1 : 0);
  }
  bool empty() const { return !more_ && one_ == kNoSa; }
  void push_back(SaId id) {
    if (more_) {
      more_->push_back(id);
    } else if (one_ == kNoSa) {
      one_ = id;
    } else {
      more_ = std::make_unique<std::vector<SaId>>(std::vector<SaId>{one_, id});
      one_ = kNoSa;
    }
  }
  // Removes `id` (every occurrence), keeping the others' order.
  void Remove(SaId id) {
    if (!more_) {
      if (one_ == id) one_ = kNoSa;
      return;
    }
    more_->erase(std::remove(more_->begin(), more_->end(), id), more_->end());
    if (more_->size() > 1) return;
    one_ = more_->empty() ? kNoSa : more_->front();
    more_.reset();
  }

 private:
  SaId one_ = kNoSa;                  // the only SA, when more_ is null
  ClonePtr<std::vector<SaId>> more_;  // two or more, in order
};

// A row of the SA table (NodeImpl::sas_): the session. `->`, `*` and get() reach its record,
// the base the core reads (and, while every session in the table is IKEv1, IKEv1's record:
// the core's cookie route reads its Main Mode state). Node::Clone clones the session
// (Session::Clone).
class SaSlot {
 public:
  explicit SaSlot(std::unique_ptr<Ikev1Session> s) : s_(std::move(s)) {}
  Ikev1Session& session() const { return static_cast<Ikev1Session&>(*s_); }
  IkeSa* get() const { return &session().sa(); }
  IkeSa* operator->() const { return get(); }
  IkeSa& operator*() const { return *get(); }

 private:
  ClonePtr<Session> s_;  // an Ikev1Session (every SA of the table is IKEv1 today)
};

// A row of the IKEv2 part of the SA table (NodeImpl::v2_): the session, the crypto map entry
// it was started for (an initiator's; a responder's session names its own) and what the core
// keeps about it for admission and failover. SA ids are shared with IKEv1's rows (one
// sequence, one timer queue).
struct V2Slot {
  // The session (held as a Session, whose Clone Node::Clone uses; always an Ikev2Session).
  struct Ptr {
    ClonePtr<Session> p;
    Ikev2Session* get() const { return static_cast<Ikev2Session*>(p.get()); }
    Ikev2Session* operator->() const { return get(); }
    Ptr& operator=(std::unique_ptr<Ikev2Session> u) {
      p = std::unique_ptr<Session>(std::move(u));
      return *this;
    }
  } s;
  EntryRef entry{};            // initiator: the entry that started it
  bool dead = false;           // Deleted reported: reaped at the end of the call
  bool half_open = false;      // a responder not yet established (counts against admission)
  bool peer_dead = false;      // PeerDead reported: failover when Deleted comes
  bool gave_up = false;        // GaveUp reported: failover (setup failed) when Deleted comes
  bool no_failover = false;    // the setup failed inside Initiate: logged, no failover loop
  bool was_up = false;         // it was established (the DOWN log when it ends)
  bool bring_up_again = false;  // the peer deleted it: kept-up entries at the peer come back
                                // when Deleted comes
  // The rows of by_spi_v2_ for this session (initiator SPIs as SpiKey): the current IKE SA's
  // and, after an IKE rekey until their Deletes are done, the replaced ones'
  // (NodeImpl::SyncV2Index).
  std::optional<uint64_t> indexed;
  LazyVector<uint64_t> indexed_old;  // no block while empty (all but a rekey's moments)
};

// The context of one call into the node.
struct Ctx {
  TimePoint now;
  Outbox& out;
};

struct EntryKeyHash {
  size_t operator()(const std::pair<std::string, uint32_t>& k) const {
    return std::hash<std::string>()(k.first) * 31 + k.second;
  }
};

class NodeImpl {
 public:
  NodeImpl(Random& rng, NodeOptions opts, const bool& debug)
      : rng_(&rng), opts_(opts), debug_(&debug), by_icookie_(rng.U64()), by_spi_v2_(rng.U64()) {}
  // A deep copy of the whole engine state, drawing from `rng` and reading `debug` from now
  // on (Node::Clone).
  std::unique_ptr<NodeImpl> Clone(Random& rng, const bool& debug) const {
    std::unique_ptr<NodeImpl> copy(new NodeImpl(*this));
    copy->rng_ = &rng;
    copy->debug_ = &debug;
    copy->IndexCookies();  // its rows point at its own SAs
    copy->IndexV2Spis();
    return copy;
  }

  // node.cc
  void SetConfig(const config::Config& cfg, Ctx& c);
  void OnDatagram(Ctx& c, const Endpoint& local, const Endpoint& remote, ByteSpan data);
  void OnTimeout(Ctx& c);
  TimePoint NextDeadline() const {
    return std::min(timers_.NextDeadline(), half_open_.NextDeadline());
  }
  void OnOutboundTraffic(Ctx& c, const std::string& map, uint32_t seq);
  void OnChildTraffic(Ctx& c, uint32_t spi_in, bool inbound, uint64_t bytes);
  void OnChildLifetime(Ctx& c, uint32_t spi_in, bool hard);
  void Initiate(Ctx& c, const std::string& map, uint32_t seq);
  void Clear(Ctx& c, const ClearFilter& f);
  std::vector<IsakmpSaSnapshot> IsakmpSas(TimePoint now) const;
  std::vector<Ikev2SaSnapshot> Ikev2Sas(TimePoint now) const;
  std::vector<SaId> SaIds() const;
  std::vector<SaId> SaIdsTo(const IpAddress& peer) const;
  std::vector<SaId> Ikev2SaIdsTo(const IpAddress& peer) const;
  std::vector<IpAddress> Peers() const;
  std::vector<IsakmpSaSnapshot> IsakmpSas(TimePoint now, std::span<const SaId> ids) const;
  std::vector<ChildSaSnapshot> ChildSasOf(TimePoint now, std::span<const SaId> ids,
                                          SnapshotKeys keys) const;
  static IsakmpSaSnapshot Snapshot(const IkeSa& sa, TimePoint now);
  static IsakmpSaSnapshot BaseSnapshot(const SaBase& sa, TimePoint now);  // any protocol's
  std::vector<ChildSaSnapshot> ChildSas(TimePoint now, SnapshotKeys keys) const;
  std::vector<ChildSaSnapshot> ChildSas(TimePoint now, std::span<const uint32_t> spis_in,
                                        SnapshotKeys keys) const;
  std::vector<uint32_t> ChildSpis(SaId ike_sa) const;
  void HandOverChildKeys(std::span<const uint32_t> spis_in);
  ChildSaSnapshot Snapshot(const SaBase& sa, const ChildSa& ch, TimePoint now,
                           SnapshotKeys keys) const;
  std::optional<SecretsHeld> SecretsHeldBy(SaId ike_sa) const;
  std::vector<Node::EntryState> Entries() const;
  std::optional<Node::EntryState> EntryStateOf(const std::string& map, uint32_t seq) const;
  std::vector<std::pair<std::string, uint32_t>> EntriesOfPeer(const IpAddress& peer) const {
    std::vector<std::pair<std::string, uint32_t>> out;
    for (size_t slot : EntriesListing(peer)) out.emplace_back(entries_[slot].map_name, entries_[slot].seq);
    return out;
  }
  const NodeCounters& counters() const { return counters_; }
  size_t sa_count() const { return sas_.size() + v2_.size(); }
  CallAdmissionSnapshot CallAdmission() const;

  // NodeImpl's SessionHost (node.cc): built per call from the call's Ctx for one SA (or for
  // none: the responder factory's lines that name no SA), it gives the IKEv1 code the core's
  // services by forwarding to NodeImpl's, in the order they ran before (DESIGN.md §6.5).
  class Ikev1Host final : public SessionHost {
   public:
    Ikev1Host(NodeImpl& node, Ctx& c, IkeSa* sa) : n_(node), c_(c), sa_(sa) {}

    TimePoint Now() const override { return c_.now; }
    Random& Rng() override { return *n_.rng_; }
    const config::Config& Cfg() const override { return n_.cfg_; }
    void Send(const Endpoint& local, const Endpoint& remote, Bytes datagram) override;
    void Emit(EventKind kind, uint64_t value, uint64_t value2, std::string text) override;
    bool DebugOn() const override { return *n_.debug_; }
    void Debug(std::string_view line) override { n_.Debug(c_, sa_, line); }
    void Log(const std::string& line) override { n_.Log(c_, line); }
    void Drop(std::string_view counter, std::string_view reason) override;
    uint32_t AllocateSpiIn() override { return n_.AllocateSpiIn(sa_->id); }
    void ReleaseSpiIn(uint32_t spi_in) override { n_.ReleaseSpiIn(*sa_, spi_in); }
    void Established() override { n_.SaEstablished(c_, *sa_); }
    void ChildUp(const ChildSaUp& child) override;
    void ChildDown(uint32_t spi_in, uint32_t spi_out) override;
    void Heard() override { n_.HeardFromPeer(c_, *sa_); }
    void PeerDead() override { n_.SaPeerDead(c_, *sa_); }
    void GaveUp() override { GaveUpBecause("gave up"); }
    void Deleted(std::string_view reason) override { DeleteMe(reason, false, false); }

    const NodeOptions& Options() const override { return n_.opts_; }
    void Count(uint64_t NodeCounters::*counter, uint64_t n) override { n_.counters_.*counter += n; }
    void DropFrom(const Endpoint& from, uint64_t NodeCounters::*counter,
                  std::string_view reason) override;
    void DebugEngine(std::string_view line) override { n_.Debug(c_, nullptr, line); }
    EntryRef Ref(const std::string& map, uint32_t seq) override { return n_.Ref(map, seq); }
    const std::string& MapName(EntryRef r) const override { return n_.MapName(r); }
    const config::CryptoMapEntry* Entry(EntryRef r) const override {
      return n_.CryptoMap(n_.MapName(r), r.seq);
    }
    bool EntryKeptUp(EntryRef r) override { return n_.EntryKeptUp(r); }
    std::vector<const config::CryptoMapEntry*> EntriesFor(const IpAddress& peer) const override {
      return n_.EntriesFor(peer);
    }
    const config::PresharedKey* PresharedKeyFor(const IpAddress& peer) const override {
      return n_.PresharedKeyFor(peer);
    }
    bool PeerHasEstablishedSa(const IpAddress& peer) override {
      return n_.PeerHasEstablishedSa(peer);
    }
    void InitialContact() override { n_.InitialContact(c_, *sa_); }
    void PeerDeleted() override { n_.PeerDeletedSa(c_, *sa_); }
    void BringUpKeptUpListing(const IpAddress& peer) override { n_.BringUpKeptUpListing(c_, peer); }
    void BringUpKeptUpAt(const IpAddress& peer) override { n_.BringUpKeptUpAt(c_, peer); }
    void SetRemote(const Endpoint& remote) override { n_.SetRemote(*sa_, remote); }
    void ReplaceMe() override { n_.ReplaceSa(c_, *sa_); }
    void GaveUpBecause(std::string_view reason) override {
      n_.SaGaveUp(c_, *sa_, std::string(reason));
    }
    void DeleteMe(std::string_view reason, bool send, bool failover) override {
      n_.DeleteSa(c_, *sa_, std::string(reason), send, failover);
    }
    void Rearm() override { n_.Rearm(*sa_); }

   private:
    NodeImpl& n_;
    Ctx& c_;
    IkeSa* sa_;  // null: a call for no SA (SA-bound services are not called then)
  };

  // The core's SessionHost for an IKEv2 session (node.cc): built per call for one row of v2_.
  class Ikev2Host final : public SessionHost {
   public:
    Ikev2Host(NodeImpl& node, Ctx& c, SaId id, const Endpoint& remote)
        : n_(node), c_(c), id_(id), remote_(remote) {}

    TimePoint Now() const override { return c_.now; }
    Random& Rng() override { return *n_.rng_; }
    const config::Config& Cfg() const override { return n_.cfg_; }
    void Send(const Endpoint& local, const Endpoint& remote, Bytes datagram) override;
    void Emit(EventKind kind, uint64_t value, uint64_t value2, std::string text) override;
    bool DebugOn() const override { return *n_.debug_; }
    void Debug(std::string_view line) override;
    void Log(const std::string& line) override { n_.Log(c_, line); }
    void Drop(std::string_view counter, std::string_view reason) override;
    uint32_t AllocateSpiIn() override { return n_.AllocateSpiIn(id_); }
    void ReleaseSpiIn(uint32_t spi_in) override;
    void Established() override;
    void ChildUp(const ChildSaUp& child) override;
    void ChildDown(uint32_t spi_in, uint32_t spi_out) override;
    void Heard() override {}  // the session's own DpdMonitor keeps its liveness
    void PeerDead() override;
    void GaveUp() override;
    void Deleted(std::string_view reason) override;
    void BringUpKeptUpAt(const IpAddress& peer) override;
    void ChildRefused(std::string_view map, uint32_t seq) override;
    void InitialContact() override;
    // From the index by peer: a responder's IKE_AUTH costs O(entries listing the peer).
    std::vector<const config::CryptoMapEntry*> EntriesFor(const IpAddress& peer) const override {
      return n_.EntriesFor(peer);
    }
    const NodeOptions& Options() const override { return n_.opts_; }
    void Count(uint64_t NodeCounters::*counter, uint64_t n) override { n_.counters_.*counter += n; }

   private:
    V2Slot* Slot() const;
    NodeImpl& n_;
    Ctx& c_;
    SaId id_;
    Endpoint remote_;
  };

  // Helpers used by the exchange files.
  IkeSa* Find(SaId id);
  static uint64_t CookieKey(const isakmp::Cookie& c) {
    uint64_t v;
    std::memcpy(&v, c.data(), sizeof v);
    return v;
  }
  void IndexCookie(IkeSa& sa) { by_icookie_.Insert(CookieKey(sa.icookie), &SessionOf(sa)); }
  // The session that owns record `sa` (a row of sas_, dead or alive).
  Ikev1Session& SessionOf(const IkeSa& sa) { return sas_.find(sa.id)->second.session(); }
  // Rebuilds by_icookie_ from sas_ (a copy's rows must point at its own SAs).
  void IndexCookies();
  void IndexV2Spis();  // the same for by_spi_v2_
  IkeSa& NewSa(Ctx& c, bool initiator, const Endpoint& local, const Endpoint& remote);
  // A `debug crypto isakmp` line. Nothing is built when debug is off, so a caller that
  // assembles its line from pieces guards that with `if (*debug_)` on the per-message paths.
  void Debug(Ctx& c, const IkeSa* sa, std::string_view line);
  void Log(Ctx& c, const std::string& line);
  void Emit(Ctx& c, EventKind k, const SaBase* sa, uint64_t v = 0, uint64_t v2 = 0,
            std::string text = {});
  void Drop(Ctx& c, uint64_t& counter, const char* reason, const Endpoint& from);
  void Rearm(const IkeSa& sa) { timers_.Arm(sa.id, sa.NextDeadline()); }
  // The one place that feeds liveness from IKE messages ("heard from the peer"): the DPD
  // monitor's OnInboundAuthenticated and the SA's last_rx. A caller calls it only for a
  // message that is authenticated AND new: not a replay nor a retransmission. New means its
  // message ID was not in the SA's MessageIdWindow, and, where the protocol gives a stronger
  // proof, that proof holds too: an R-U-THERE with a sequence number newer than any before,
  // an R-U-THERE-ACK answering a round still open (DpdMonitor::OnAck), a Quick Mode message
  // bound to a nonce we just sent (QM2 binds our Ni, QM3 our Nr; a responder's QM1 counts
  // only when its QM3 arrives). Nothing here is IKEv1-specific: an IKEv2 exchange calls it
  // for each fresh authenticated message the same way. The one other liveness input is
  // inbound ESP (OnChildTraffic -> DpdMonitor::OnInboundTraffic, when the DPD mode counts
  // it), which the data plane's own anti-replay window has already checked.
  void HeardFromPeer(Ctx& c, SaBase& sa);

  // The entry manager's calls into the protocols (DESIGN.md §6.2): the protocol is chosen
  // here, never by the caller (BringUp, failover in DeleteSa, re-establishment, rekeys), so
  // failover across `set peer` is the same code for every version. Only IKEv1 is negotiated
  // yet here; an entry with `set ikev2-profile` goes to IKEv2 in BringUp (InitiateV2).
  // A new IKE SA for entry (map, seq) toward `peer`.
  void InitiateSa(Ctx& c, const IpAddress& peer, const std::string& map, uint32_t seq);
  // A new IKE SA to `sa`'s peer that replaces `sa` when it is up (ISAKMP re-establishment).
  void ReplaceSa(Ctx& c, IkeSa& sa);
  // An IPsec SA of entry `e` over the established `sa`; `replaces_spi_in`: the pair it rekeys
  // (0: a new one).
  void AddChild(Ctx& c, IkeSa& sa, const config::CryptoMapEntry& e, uint32_t replaces_spi_in);

  // The dispatcher's routes (OnDatagram reads the version of the 28-byte header first).
  void OnIkev1Datagram(Ctx& c, const Endpoint& local, const Endpoint& remote, ByteSpan msg);
  void OnIkev2Datagram(Ctx& c, const Endpoint& local, const Endpoint& remote, ByteSpan msg);
  // IKEv1 without an SA: the responder factory (MM1, MM3 to a half-open entry) or a drop.
  void OnIkev1WithoutSa(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                        const Endpoint& remote, ByteSpan msg);

  // IKEv2 (node.cc): the responder factory, the entry manager's initiator, one call's end
  // (timer re-armed, or the row reaped), deletion and the failover shared with IKEv1.
  size_t V2HalfOpenLimit() const;
  size_t V2CookieThreshold() const;
  // True if the IKE_SA_INIT request may go on to the responder factory: no cookie is demanded
  // now, or it carries a valid one. Otherwise it was answered with N(COOKIE) or dropped.
  bool V2CookieAdmits(Ctx& c, const Endpoint& local, const Endpoint& remote, ByteSpan msg);
  void OnIkev2WithoutSa(Ctx& c, const ikev2::Header& h, const Endpoint& local,
                        const Endpoint& remote, ByteSpan msg);
  void InitiateV2(Ctx& c, const IpAddress& peer, EntryRuntime& e);
  V2Slot* FindV2(SaId id) {
    auto it = v2_.find(id);
    return it == v2_.end() || it->second.dead ? nullptr : &it->second;
  }
  void AfterV2Call(Ctx& c, SaId id);
  void WantChild(Ctx& c, SaId id, EntryRuntime& e);
  void StartWantedChild(Ctx& c, SaId id);
  // Makes by_spi_v2_ follow the session's SPIs (they change with an IKE rekey).
  void SyncV2Index(V2Slot& row);
  void DeleteV2(Ctx& c, SaId id, std::string_view reason, bool send);
  static uint64_t SpiKey(const ikev2::Spi& s) {
    uint64_t v;
    std::memcpy(&v, s.data(), sizeof v);
    return v;
  }
  // The options every IKEv2 session of this node shares (one block, not a copy per session).
  std::shared_ptr<const Ikev2Options> V2Options() {
    if (!v2_opts_ || v2_opts_->natt_port != opts_.natt_port) {
      Ikev2Options o;
      o.natt_port = opts_.natt_port;
      v2_opts_ = std::make_shared<const Ikev2Options>(o);
    }
    return v2_opts_;
  }
  std::shared_ptr<const Ikev2Options> v2_opts_;
  // Stateless failover of the entries whose current peer is `peer` (DESIGN.md §4), for an SA
  // of either version that was up (`was_up`: peer dead) or not (setup failed).
  void FailOver(Ctx& c, SaId id, const IpAddress& peer, bool was_up);
  // The entry back-off (DESIGN.md §6.6). Entry slots have timer keys of their own in the
  // node's TimerQueue: SA ids count up from 1001 and never reach the top bit, which marks an
  // entry's retry deadline (slot in the low bits).
  static constexpr SaId kEntryTimerBit = SaId{1} << 63;
  // How long an entry waits after the peer refused its Child SA over an existing IKE SA.
  static constexpr Duration kChildRetry = Seconds(10);
  static SaId EntryTimerKey(size_t slot) { return kEntryTimerBit | slot; }
  size_t SlotOf(const EntryRuntime& e) const { return static_cast<size_t>(&e - entries_.data()); }
  // The back-off before the next attempt after the entry's `cycles`-th full cycle of failures
  // in a row: 1 s, 2 s, 4 s ... capped at the initiator's own give-up time (23 s by default).
  Duration EntryBackoff(uint32_t cycles) const;
  // After a failure has moved `e`'s cursor: if it closed a full cycle through the peer list
  // and that cycle began less than the back-off ago, the next attempt waits (retry_at, armed).
  void MaybeBackOff(Ctx& c, EntryRuntime& e);
  // Clears a pending back-off (an SA came up, the peer list changed, the entry went).
  void ClearBackoff(EntryRuntime& e);
  void OnEntryRetry(Ctx& c, size_t slot);
  // BringUp's check before it starts a new IKE SA for `e`: false while `e` backs off; else
  // notes the start of a cycle through the peer list.
  bool StartAttempt(Ctx& c, EntryRuntime& e);

  // Reports from a protocol to the core (node.cc; SessionHost's Established, PeerDead, GaveUp
  // and ChildUp in the core's terms): events, logs, the indexes, failover, replacement.
  // The SA is up (after the protocol's own bookkeeping): older SAs to the peer are replaced,
  // the tunnel is UP, the entries' failover cursors succeed, a replaced SA's IPsec SAs move
  // to this one, and the initiator's entries without an IPsec SA get one (PendingQuickModes).
  void SaEstablished(Ctx& c, IkeSa& sa);
  // The liveness verdict: every SA to the peer is deleted (Deletes sent) and the entries fail
  // over.
  void SaPeerDead(Ctx& c, IkeSa& sa);
  // The SA could not be set up: deleted, and an initiator's entries fail over.
  void SaGaveUp(Ctx& c, IkeSa& sa, const std::string& reason);
  // An IPsec SA pair `ch` of `sa` is installed (its inbound SPI indexed, kChildSaUp).
  void ChildInstalled(Ctx& c, IkeSa& sa, const ChildSa& ch);

  // Services a protocol asks of the core (node.cc): other SAs to the peer, keys, entries.
  const config::PresharedKey* PresharedKeyFor(const IpAddress& peer) const;
  bool PeerHasEstablishedSa(const IpAddress& peer);  // (whether to send INITIAL-CONTACT)
  // The crypto map entries listing `peer`, in configuration order.
  std::vector<const config::CryptoMapEntry*> EntriesFor(const IpAddress& peer) const;
  bool EntryKeptUp(EntryRef r);
  // The peer sent INITIAL-CONTACT on `sa`: every other SA to it goes (no Deletes sent).
  void InitialContact(Ctx& c, IkeSa& sa);
  // The peer deleted `sa`: its IPsec SAs move to the newest other established SA to the peer,
  // if any, and `sa` goes.
  void PeerDeletedSa(Ctx& c, IkeSa& sa);
  // Kept-up entries listing `peer` are brought up again: all of them (a Quick Mode retry), or
  // those whose current peer it is (after the peer deleted an SA).
  void BringUpKeptUpListing(Ctx& c, const IpAddress& peer);
  void BringUpKeptUpAt(Ctx& c, const IpAddress& peer);

  // main_mode.cc
  void StartMainMode(Ctx& c, const IpAddress& peer, const std::string& map, uint32_t seq);
  // A Main Mode message that found no SA (main_mode_responder.cc): MM1, or MM3 promoting a
  // half-open entry.
  void OnMainModeWithoutSa(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                           const Endpoint& remote, ByteSpan msg);
  // MM1 of a new responder negotiation: a half-open entry and MM2 (no IkeSa yet).
  void OnMainMode1(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                   const Endpoint& remote, ByteSpan msg);
  // MM3 addressing a half-open entry: the full IkeSa, ready for MM3 (nullptr: none).
  IkeSa* PromoteHalfOpen(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                         const Endpoint& remote);
  // An unauthenticated NO_PROPOSAL_CHOSEN answering an MM1 (rate-limited).
  void SendNoProposalChosen(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                            const Endpoint& remote);

  // Teardown. Marks the SA dead (erased at the end of the call), logs, and moves the
  // entries' failover cursors when `failover` (peer dead / unreachable).
  void DeleteSa(Ctx& c, IkeSa& sa, const std::string& reason, bool send_delete, bool failover);
  void DeleteChild(Ctx& c, IkeSa& sa, uint32_t spi_in, bool send_delete) {
    Ikev1Host host(*this, c, &sa);
    SessionOf(sa).DeleteChild(host, spi_in, send_delete);
  }
  // A fresh inbound SPI (>= 256, unique among ours), reserved for `sa` until released or
  // installed; ReleaseSpiIn frees a reservation that no child of `sa` uses.
  uint32_t AllocateSpiIn(SaId sa);
  void ReleaseSpiIn(const SaBase& sa, uint32_t spi_in);
  void ReapDead();

  // Live SAs to `peer` (an index: never a scan of every SA).
  std::vector<IkeSa*> SasTo(const IpAddress& peer);
  void SetRemote(IkeSa& sa, const Endpoint& remote);  // keeps the peer index right
  // Entries (slots of entries_) that list `peer`, in configuration order.
  const std::vector<size_t>& EntriesListing(const IpAddress& peer) const;
  // SetConfig's steps for one entry (DESIGN.md §6.4): O(that entry and its peers' SAs).
  size_t AddEntry(Ctx& c, std::shared_ptr<const config::CryptoMapEntry> e);
  void ChangeEntry(Ctx& c, size_t slot, std::shared_ptr<const config::CryptoMapEntry> e);
  void RemoveEntry(Ctx& c, size_t slot);
  void IndexEntryPeers(size_t slot);    // adds the slot to its peers' lists, in order
  void UnindexEntryPeers(size_t slot);  // takes it out of them
  // SAs that may carry an IPsec SA of entry `e`: those to its peers (every SA when one of
  // them has no address).
  std::vector<IkeSa*> SasOfEntryPeers(const config::CryptoMapEntry& e);
  // Kept-up entries listing `peer` (or all of them), brought up in configuration order.
  void BringUpKeptUp(Ctx& c);
  const config::CryptoMapEntry* CryptoMap(const std::string& map, uint32_t seq) const;
  // The newest established SA to `peer` (DPD initiates only there).
  IkeSa* NewestEstablished(const IpAddress& peer);
  IkeSa* Negotiating(const IpAddress& peer);
  EntryRuntime* FindEntry(const std::string& map, uint32_t seq);
  void BringUp(Ctx& c, EntryRuntime& e);
  void PendingQuickModes(Ctx& c, IkeSa& sa);
  std::optional<IpAddress> LocalFor(const EntryRuntime& e) const;
  Node::EntryState StateOf(const EntryRuntime& e, bool up) const;
  // Crypto map entries as SAs refer to them (EntryRef): `map` is numbered on first use.
  EntryRef Ref(const std::string& map, uint32_t seq) {
    auto [it, added] = map_name_ids_.try_emplace(map, static_cast<uint32_t>(map_names_.size()));
    if (added) map_names_.push_back(map);
    return EntryRef{it->second, seq};
  }
  const std::string& MapName(EntryRef r) const { return map_names_[r.map]; }
  // The reference to (map, seq) if the map was ever numbered (none: no SA refers to it).
  std::optional<EntryRef> FindRef(const std::string& map, uint32_t seq) const {
    auto it = map_name_ids_.find(map);
    if (it == map_name_ids_.end()) return std::nullopt;
    return EntryRef{it->second, seq};
  }
  bool Is(EntryRef r, const std::string& map, uint32_t seq) const {
    return r.seq == seq && map_names_[r.map] == map;
  }

  NodeImpl(const NodeImpl&) = default;  // Clone only

  Random* rng_;  // never null
  NodeOptions opts_;
  const bool* debug_;  // never null
  config::Config cfg_;
  std::unordered_map<SaId, SaSlot> sas_;
  // The sessions by initiator cookie (rows point at the sessions of sas_: added when an SA
  // gets its cookie, erased by ReapDead before the SA goes).
  CookieIndex<Ikev1Session> by_icookie_;
  // The IKEv2 sessions (their ids are in by_peer_ too, which SasTo skips), and the index by
  // initiator SPI (rows point at the sessions of v2_: added once the SPI is known, erased by
  // ReapDead before the row goes).
  std::unordered_map<SaId, V2Slot> v2_;
  CookieIndex<Ikev2Session> by_spi_v2_;
  // IKEv2 responder rows not yet established (half-open), oldest (smallest id) first: their
  // own bound (V2HalfOpenLimit), separate from IKEv1's half-open table (DESIGN.md §6.6).
  std::set<SaId> v2_half_open_;
  // Entries waiting for a Child SA over an IKEv2 SA (NodeImpl::WantChild), by that SA; empty
  // in the usual case of one entry per peer. Bounded by the entries.
  std::unordered_map<SaId, std::vector<EntryRef>> v2_want_child_;
  Ikev2CookieSecret v2_cookie_;
  // Our inbound SPIs -> SA: installed IPsec SAs and those reserved by Quick Modes in flight,
  // so that allocation never hands out one twice. The peers' (outbound) SPIs are not here:
  // two peers may choose the same one, or one of ours; they are only found per SA.
  std::unordered_map<uint32_t, SaId> by_spi_in_;
  std::unordered_map<IpAddress, SaIdList, IpHash> by_peer_;  // every SA, by peer
  std::unordered_map<IpAddress, std::vector<size_t>, IpHash> entries_by_peer_;  // -> slots
  std::unordered_map<std::pair<std::string, uint32_t>, size_t, EntryKeyHash>
      entry_index_;  // -> slot
  config::KeyIndex key_index_;  // cfg_.keys by longest prefix
  TimerQueue<SaId> timers_;
  std::vector<EntryRuntime> entries_;  // slots (free ones have no cfg)
  std::vector<size_t> free_entries_;   // free slots
  std::vector<size_t> order_;          // slots in configuration order
  uint32_t config_pass_ = 0;           // SetConfig's count (EntryRuntime::seen)
  // The crypto map names SAs refer to (EntryRef::map), by number: only added to (a deque, so
  // a reference to a name stays valid), one per distinct map name ever used, not per entry
  // nor per SA. A map removed from the configuration keeps its number, so an SA started for
  // one of its entries still names it (logs, `show`), as the name copy it replaces did.
  std::deque<std::string> map_names_{std::string()};
  std::unordered_map<std::string, uint32_t> map_name_ids_{{std::string(), 0}};
  std::vector<SaId> dead_;
  NodeCounters counters_;
  HalfOpenTable half_open_;
  // Token bucket for unauthenticated NO_PROPOSAL_CHOSEN answers (tokens, last refill).
  int64_t no_proposal_tokens_ = 0;  // thousandths of a token
  TimePoint no_proposal_refill_{};
  bool no_proposal_primed_ = false;
  SaId next_id_ = 1001;  // IOS conn-ids start at 1001
};

}  // namespace ikepulse::ike
