// Session: the protocol logic of one IKE SA (IKEv1 or IKEv2) behind one small interface, and
// SessionHost: what the engine core gives a session and how the session reports back
// (DESIGN.md §6.2). The core (dispatcher, SA table, timers, crypto-map entries and failover)
// holds sessions by SaId and calls them; a session never reaches into the core, the SA table
// or another session, and, like the whole engine, never reads a clock or touches a socket.
//
// Status: both protocols' sessions implement this interface (Ikev1Session, Ikev2Session); the
// engine core holds IKEv1 sessions in its SA table (hosted by NodeImpl::Ikev1Host) and IKEv2
// sessions beside it (NodeImpl::v2_, hosted by NodeImpl::Ikev2Host). DESIGN.md §6.5 and §6.6
// say where steps 1 and 2 stand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "ike/dpd_monitor.h"
#include "ike/entry_ref.h"
#include "ike/node.h"
#include "ike/outbox.h"

namespace ikepulse::ike {

// A new IPsec SA pair a session negotiated, as the core hands it on (kChildSaUp, data plane).
struct ChildSaUp {
  uint32_t spi_in = 0;
  uint32_t spi_out = 0;
  std::string map_name;
  uint32_t map_seq = 0;
};

// The liveness part of a `show crypto isakmp sa detail` snapshot, as both protocols fill it;
// `next_seq`: the sequence number / message ID the next probe carries.
inline void FillDpd(IsakmpSaSnapshot& s, const DpdMonitor& m, TimePoint now, uint32_t next_seq) {
  s.dpd_enabled = m.config().enabled;
  s.dpd_active = m.Active();
  s.dpd_periodic = m.mode() == config::DpdMode::kPeriodic;
  s.dpd_interval_s = m.config().interval_s;
  s.dpd_retry_s = m.retry_s();
  if (m.last_rx() != kNever)
    s.dpd_last_heard_ms_ago =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - m.last_rx()).count();
  s.dpd_probing = m.probing();
  s.dpd_outstanding = m.outstanding();
  s.dpd_next_seq = next_seq;
}

// Given to a session for the length of one call. The host fills in the SA id and the peer of
// every event, and counts datagrams and events.
class SessionHost {
 public:
  virtual ~SessionHost() = default;

  virtual TimePoint Now() const = 0;
  virtual Random& Rng() = 0;
  // The running configuration (proposals, keys, profiles, crypto map entries).
  virtual const config::Config& Cfg() const = 0;

  // Output.
  virtual void Send(const Endpoint& local, const Endpoint& remote, Bytes datagram) = 0;
  virtual void Emit(EventKind kind, uint64_t value = 0, uint64_t value2 = 0,
                    std::string text = {}) = 0;
  // `debug crypto ikev2` / `debug crypto isakmp` lines: build them only when DebugOn().
  virtual bool DebugOn() const = 0;
  virtual void Debug(std::string_view line) = 0;
  virtual void Log(const std::string& line) = 0;
  // An inbound datagram the session refuses (malformed, not authentic, replayed, out of
  // state): counted under `counter` (a NodeCounters field name such as "dropped_auth"), with
  // a debug line. Never an exception, never a crash.
  virtual void Drop(std::string_view counter, std::string_view reason) = 0;

  // Our inbound SPIs are unique across every session of the engine.
  virtual uint32_t AllocateSpiIn() = 0;
  virtual void ReleaseSpiIn(uint32_t spi_in) = 0;

  // Reports. The core turns them into events, logs, data-plane updates and failover.
  virtual void Established() = 0;                       // the IKE SA is up
  virtual void ChildUp(const ChildSaUp& child) = 0;     // a Child/IPsec SA pair is installed
  virtual void ChildDown(uint32_t spi_in, uint32_t spi_out) = 0;
  // A fresh authenticated message from the peer (never a replay nor a retransmission): the
  // one input of liveness besides inbound ESP (NodeImpl::HeardFromPeer).
  virtual void Heard() = 0;
  virtual void PeerDead() = 0;  // the liveness verdict: the core deletes and fails over
  virtual void GaveUp() = 0;    // the IKE SA could not be set up (retransmissions exhausted,
                                // or refused): the core fails over
  virtual void Deleted(std::string_view reason) = 0;  // the session ended (the core reaps it)

  // What IKEv1 uses of the core besides the above (DESIGN.md §6.5, point 3). Each has a
  // default, so that a host that serves fewer (a test's) still compiles; NodeImpl's host
  // (NodeImpl::Ikev1Host) implements them all.

  // Ports, retransmission policies, rekey margins.
  virtual const NodeOptions& Options() const {
    static const NodeOptions kDefaults;
    return kDefaults;
  }
  // Counts `n` under a NodeCounters field (retransmits, duplicates answered, DPD sent, ...):
  // the counters a session keeps besides its drops.
  virtual void Count(uint64_t NodeCounters::*counter, uint64_t n = 1) {
    (void)counter;
    (void)n;
  }
  // Like Drop, for a datagram from `from`, which is not always the SA's peer (a message that
  // found the SA by its cookies from another address).
  virtual void DropFrom(const Endpoint& from, uint64_t NodeCounters::*counter,
                        std::string_view reason) {
    (void)from;
    (void)counter;
    Drop("dropped", reason);
  }
  // A debug line of the engine's own, that names no SA ("ISAKMP: ..."): built only when
  // DebugOn().
  virtual void DebugEngine(std::string_view line) { Debug(line); }
  // Crypto map entries as sessions refer to them (EntryRef: 8 bytes instead of a name).
  virtual EntryRef Ref(const std::string& map, uint32_t seq) {
    (void)map;
    return EntryRef{0, seq};
  }
  virtual const std::string& MapName(EntryRef r) const {
    (void)r;
    static const std::string kNone;
    return kNone;
  }
  // The entry as configured now (nullptr: no longer in the configuration).
  virtual const config::CryptoMapEntry* Entry(EntryRef r) const {
    (void)r;
    return nullptr;
  }
  // Whether the entry is kept up (`set ... keep-up` or traffic asked for it).
  virtual bool EntryKeptUp(EntryRef r) {
    (void)r;
    return false;
  }
  // The crypto map entries listing `peer` (as a `set peer` address), in configuration order
  // (a responder's match). The default walks the whole configuration; the engine's hosts answer
  // from their index by peer (NodeImpl::EntriesListing), in O(entries listing the peer).
  virtual std::vector<const config::CryptoMapEntry*> EntriesFor(const IpAddress& peer) const {
    std::vector<const config::CryptoMapEntry*> out;
    for (const auto& e : Cfg().crypto_maps)
      for (const auto& p : e.peers)
        if (p.address && *p.address == peer) {
          out.push_back(&e);
          break;
        }
    return out;
  }
  // The pre-shared key for `peer` (longest prefix; nullptr: none). Never logged.
  virtual const config::PresharedKey* PresharedKeyFor(const IpAddress& peer) const {
    (void)peer;
    return nullptr;
  }
  // Another SA to `peer` is established (whether to send INITIAL-CONTACT).
  virtual bool PeerHasEstablishedSa(const IpAddress& peer) {
    (void)peer;
    return false;
  }
  // The peer sent INITIAL-CONTACT: every other SA to it goes (no Deletes sent).
  virtual void InitialContact() {}
  // The peer deleted this SA: its IPsec SAs move to the newest other established SA to the
  // peer, if any, and this one goes.
  virtual void PeerDeleted() {}
  // Kept-up entries listing `peer` are brought up again: all of them (a retry of a failed
  // child), or those whose current peer it is (after the peer deleted an SA).
  virtual void BringUpKeptUpListing(const IpAddress& peer) { (void)peer; }
  virtual void BringUpKeptUpAt(const IpAddress& peer) { (void)peer; }
  // The peer refused a new Child SA for crypto map entry (map, seq) over an IKE SA that stays:
  // the entry tries again later (bounded: NodeImpl's entry retry timer).
  virtual void ChildRefused(std::string_view map, uint32_t seq) {
    (void)map;
    (void)seq;
  }
  // The peer moved (NAT-T float): keeps the core's peer index right.
  virtual void SetRemote(const Endpoint& remote) { (void)remote; }
  // A new IKE SA to the same peer is to replace this one when it is up (re-establishment).
  virtual void ReplaceMe() {}
  // GaveUp, with the reason the deletion logs ("Death by retransmission P1").
  virtual void GaveUpBecause(std::string_view reason) {
    (void)reason;
    GaveUp();
  }
  // The session deletes itself in the core's order (debug line, down event and log, Deletes
  // when `send`, child-down events, end of its exchanges, failover when `failover`), which
  // Deleted (a report after the fact) does not express.
  virtual void DeleteMe(std::string_view reason, bool send, bool failover) {
    (void)send;
    (void)failover;
    Deleted(reason);
  }
  // Re-arms this SA's timer now, in the middle of a call: the timer queue breaks ties between
  // equal deadlines by arming order (DESIGN.md §1.3), so where a session re-arms is part of
  // the timeline.
  virtual void Rearm() {}
};

class Session {
 public:
  virtual ~Session() = default;
  virtual std::unique_ptr<Session> Clone() const = 0;  // Node::Clone

  virtual uint8_t version() const = 0;  // 1 or 2
  virtual bool established() const = 0;
  virtual const Endpoint& local() const = 0;
  virtual const Endpoint& remote() const = 0;

  // As initiator: start the IKE SA for crypto map entry `entry` toward the entry's current peer
  // `remote` from `local`.
  virtual void Initiate(SessionHost& host, const config::CryptoMapEntry& entry,
                        const Endpoint& local, const Endpoint& remote) = 0;
  // One datagram for this SA (the UDP payload; the non-ESP marker on 4500 already removed).
  virtual void OnMessage(SessionHost& host, const Endpoint& local, const Endpoint& remote,
                         ByteSpan msg) = 0;
  // Called when NextDeadline() has come.
  virtual void OnTimeout(SessionHost& host) = 0;
  virtual TimePoint NextDeadline() const = 0;
  // Another crypto map entry wants an IPsec SA over this IKE SA.
  virtual void AddChild(SessionHost& host, const config::CryptoMapEntry& entry) = 0;
  // An exchange for an IPsec SA of entry `entry` is in flight (the core's BringUp asks
  // before AddChild). The default: none ever is.
  virtual bool ChildInFlight(const SessionHost& host, EntryRef entry) const {
    (void)host;
    (void)entry;
    return false;
  }
  // Data-plane signals: one packet of `bytes` (inner) on the pair with inbound SPI `spi_in`
  // (on-demand liveness; IKEv2 also counts it for `show crypto ipsec sa`).
  virtual void OnChildTraffic(SessionHost& host, uint32_t spi_in, bool inbound,
                              uint64_t bytes) = 0;
  // Ends the SA: Deletes sent when `send` and established; ChildDown for each pair.
  virtual void Delete(SessionHost& host, std::string_view reason, bool send) = 0;

  // Read-only views (`show`).
  virtual IsakmpSaSnapshot Snapshot(TimePoint now) const = 0;
  virtual std::vector<ChildSaSnapshot> Children(TimePoint now, SnapshotKeys keys) const = 0;
};

}  // namespace ikepulse::ike
