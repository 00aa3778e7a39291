// Session: the protocol logic of one IKE SA (IKEv1 or IKEv2) behind one small interface, and
// SessionHost: what the engine core gives a session and how the session reports back
// (DESIGN.md §6.2). The core (dispatcher, SA table, timers, crypto-map entries and failover)
// holds sessions by SaId and calls them; a session never reaches into the core, the SA table
// or another session, and, like the whole engine, never reads a clock or touches a socket.
//
// Status: the IKEv2 session is written against this interface; IKEv1 still lives in NodeImpl
// and moves behind it next (DESIGN.md §6.3, step 1; §6.5 says where that stands).
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
  // Data-plane signals: traffic (on-demand liveness) on the pair with inbound SPI `spi_in`.
  virtual void OnChildTraffic(SessionHost& host, uint32_t spi_in, bool inbound) = 0;
  // Ends the SA: Deletes sent when `send` and established; ChildDown for each pair.
  virtual void Delete(SessionHost& host, std::string_view reason, bool send) = 0;

  // Read-only views (`show`).
  virtual IsakmpSaSnapshot Snapshot(TimePoint now) const = 0;
  virtual std::vector<ChildSaSnapshot> Children(TimePoint now, SnapshotKeys keys) const = 0;
};

}  // namespace ikepulse::ike
