// What the sans-IO core asks its host to do: datagrams to send and typed events to log,
// trace and count. The daemon sends the datagrams on its sockets and writes the events to
// the log / `debug crypto isakmp`; the simulator delivers datagrams over virtual links and
// tests assert on events. Owned by the caller of each Node entry point.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/time.h"

namespace ikepulse::ike {

// An IKE SA's internal identifier (IOS "conn-id"): never reused in a Node's lifetime. Timers,
// the CLI and failover hold SaIds, never pointers.
using SaId = uint64_t;
inline constexpr SaId kNoSa = 0;

// One UDP datagram. `data` is the UDP payload exactly as it goes on the wire (on port 4500
// it starts with the 4-byte non-ESP marker).
struct Datagram {
  Endpoint local;
  Endpoint remote;
  Bytes data;
};

enum class EventKind : uint8_t {
  kDebug,          // a `debug crypto isakmp` trace line (text), only when debug is on
  kLog,            // a syslog line, e.g. "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP. ..."
  kIkeSaUp,        // ISAKMP SA established (sa, peer)
  kIkeSaDown,      // ISAKMP SA deleted (sa, peer, text = reason)
  kChildSaUp,      // IPsec SA pair installed (sa, peer, value = inbound SPI, value2 = outbound)
  kChildSaDown,    // IPsec SA pair removed (value = inbound SPI)
  kDpdSent,        // R-U-THERE sent (value = seq, value2 = error count of the round)
  kDpdAckSent,     // R-U-THERE-ACK sent (value = seq)
  kDpdAckReceived, // R-U-THERE-ACK accepted (value = seq)
  kPeerDead,       // DPD verdict (peer)
  kFailover,       // crypto map entry moved to another peer (peer = new peer, text = entry)
  kRetransmit,     // an exchange message was retransmitted (value = attempt)
  kGiveUp,         // an exchange gave up (peer)
  kDrop,           // an inbound datagram was dropped (text = reason / counter name)
  kInitiate,       // a Main Mode toward peer started (peer)
};

struct Event {
  TimePoint at;
  EventKind kind;
  SaId sa = kNoSa;
  IpAddress peer;
  uint64_t value = 0;
  uint64_t value2 = 0;
  std::string text;
};

struct Outbox {
  std::vector<Datagram> datagrams;
  std::vector<Event> events;

  void Clear() {
    datagrams.clear();
    events.clear();
  }
};

const char* EventKindName(EventKind k);

}  // namespace ikepulse::ike
