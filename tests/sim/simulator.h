// Simulator: a discrete-event, virtual-time network for sans-IO hosts (ike::Node via SimNode,
// or any toy SimHost). N hosts + Links + one virtual clock; nothing here reads a real clock.
//
// Contract
// - Virtual time starts at kSimStart (1000 s, never zero: zero is not "unset" in this code
//   base) and only moves forward, to the time of the next queued event.
// - The event queue is ordered by (time, insertion sequence): two things due at the same
//   instant happen in the order they were queued, so a run is a pure function of the seed and
//   the script. Each event costs O(log queue) and nothing is ever O(hosts) or O(SAs).
// - Hosts are attached with one or more IP addresses. A datagram that a host puts in its
//   Outbox travels over the Link between its source and destination addresses (or the default
//   link, if enabled) and is handed to the host that owns the destination address when the
//   link delay has passed. No link, no owner, or a dead owner -> the datagram is dropped and
//   the drop is recorded with its reason.
// - After *every* call into a host (OnDatagram, OnTimeout, Call) the simulator re-reads
//   host.NextDeadline() and schedules OnTimeout at that instant (at `now` if it is already
//   past). A deadline that did not change keeps its queue entry; a changed deadline makes the
//   old entry stale (skipped when popped, at no extra cost).
// - Drop decisions (DropAll, DropNext, DropIf, random loss) are taken when a datagram is
//   *sent*: a datagram already in flight is not affected by a later DropAll.
// - Records: every Outbox event is recorded per host (events(host)); an event whose `at` was
//   left at the epoch gets the virtual time of the call. Every datagram is recorded when it
//   is sent and again when it is delivered or dropped (packets()). Recording can be turned off
//   (and payloads left out) for scale runs; observers still see everything.
// - Single-threaded. Hosts and the Simulator are not owned by each other; a host must outlive
//   its use by the Simulator (or be killed first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "ike/outbox.h"

namespace ikepulse::sim {

using HostId = uint32_t;
inline constexpr HostId kNoHost = UINT32_MAX;

// Virtual time at which every Simulator starts (1000 s after the MonoClock epoch).
inline constexpr TimePoint kSimStart = TimePoint(Duration(1'000'000'000));

// A sans-IO participant: the same three entry points as ike::Node.
class SimHost {
 public:
  virtual ~SimHost() = default;
  virtual void OnDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote,
                          ByteSpan data, ike::Outbox& out) = 0;
  virtual void OnTimeout(TimePoint now, ike::Outbox& out) = 0;
  virtual TimePoint NextDeadline() const = 0;
};

enum class PacketFate : uint8_t {
  kSent = 0,       // left the sender (recorded for every datagram)
  kDelivered = 1,  // handed to the receiving host
  kDropped = 2,    // lost; see DropReason
};

enum class DropReason : uint8_t {
  kNone = 0,
  kLinkDown = 1,    // Link::DropAll()
  kScripted = 2,    // Link::DropNext(n)
  kPredicate = 3,   // Link::DropIf(fn)
  kRandomLoss = 4,  // Link::SetLoss(p)
  kNoRoute = 5,     // no link between the two addresses and no default link
  kNoHost = 6,      // nobody owns the destination address
  kHostDead = 7,    // the receiver was killed before delivery
};

const char* PacketFateName(PacketFate f);
const char* DropReasonName(DropReason r);
// EventKind names, without needing the engine library (ike::EventKindName lives there).
const char* KindName(ike::EventKind k);

// One line of the packet log. A datagram has one kSent record and then exactly one
// kDelivered or kDropped record with the same `id` (unless the run ends while it is in flight).
struct PacketRecord {
  TimePoint at;
  PacketFate fate = PacketFate::kSent;
  DropReason reason = DropReason::kNone;
  uint64_t id = 0;
  HostId from = kNoHost;
  HostId to = kNoHost;      // kNoHost when not known (sent, or no owner)
  ike::Datagram datagram;   // `local` = the sender's endpoint; data empty if payloads are off
};

class Simulator;

// A bidirectional link between two addresses: a one-way delay (same both ways), seeded random
// loss and scripted drops. Created by Simulator::Connect; owned by the Simulator (stable
// address). Scripted drops apply to both directions unless a predicate looks at the datagram.
class Link {
 public:
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Every datagram is dropped until Restore().
  void DropAll() { down_ = true; }
  // Back to normal: clears DropAll, DropNext and DropIf (the loss rate and delay stay).
  void Restore();
  // Drops the next `n` datagrams sent over the link (either direction).
  void DropNext(int n) { drop_next_ += n; }
  // Drops every datagram for which `fn` returns true (until Restore or ClearDropIf).
  void DropIf(std::function<bool(const ike::Datagram&)> fn) { drop_if_ = std::move(fn); }
  void ClearDropIf() { drop_if_ = nullptr; }
  // Random loss with probability p in [0, 1], from the link's own seeded generator.
  void SetLoss(double p) { loss_ = p; }
  void SetDelay(Duration d) { delay_ = d; }

  Duration delay() const { return delay_; }
  bool down() const { return down_; }
  const IpAddress& a() const { return a_; }
  const IpAddress& b() const { return b_; }
  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }

 private:
  friend class Simulator;
  Link(IpAddress a, IpAddress b, Duration delay, uint64_t seed)
      : a_(a), b_(b), delay_(delay), rng_(seed) {}
  // Decides the fate of one datagram at send time.
  DropReason Judge(const ike::Datagram& d);

  IpAddress a_, b_;
  Duration delay_;
  SeededRandom rng_;
  bool down_ = false;
  int drop_next_ = 0;
  double loss_ = 0;
  std::function<bool(const ike::Datagram&)> drop_if_;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
};

class Simulator {
 public:
  explicit Simulator(uint64_t seed = 1, TimePoint start = kSimStart);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  TimePoint now() const { return now_; }
  TimePoint start() const { return start_; }

  // --- Topology -------------------------------------------------------------------------
  // Attaches `host` (not owned; must outlive the Simulator or be killed) with its addresses.
  // An address belongs to at most one host.
  HostId AddHost(SimHost& host, std::string name, std::vector<IpAddress> addresses);
  void AddAddress(HostId id, const IpAddress& ip);
  // Creates (or returns the existing) link between `a` and `b`. A new link gets `delay`.
  Link& Connect(const IpAddress& a, const IpAddress& b, Duration delay);
  // The link between the first addresses of two hosts.
  Link& Connect(HostId a, HostId b, Duration delay);
  Link* FindLink(const IpAddress& a, const IpAddress& b);
  // A shared link used between any two addresses without their own link (for big topologies:
  // one Node talking to 100k peers). Off until enabled.
  Link& EnableDefaultLink(Duration delay);
  HostId OwnerOf(const IpAddress& ip) const;
  const std::string& name(HostId id) const;
  const std::vector<IpAddress>& addresses(HostId id) const;
  size_t host_count() const { return hosts_.size(); }

  // A killed host receives nothing, sends nothing and gets no OnTimeout; datagrams in flight
  // to it are dropped on arrival. Revive() re-reads its deadline (a past one fires at once).
  void Kill(HostId id);
  void Revive(HostId id);
  bool alive(HostId id) const;

  // --- Driving ---------------------------------------------------------------------------
  // Runs `fn(now, outbox)` as host `id` (e.g. node.Initiate), then routes the outbox and
  // re-arms the host's timeout. Does nothing if the host is dead.
  void Call(HostId id, const std::function<void(TimePoint, ike::Outbox&)>& fn);
  // Sends `d` as if host `from` had put it in its Outbox now (from may be kNoHost: a packet
  // from outside, e.g. a forged one; it then still needs a link or the default link).
  void Inject(ike::Datagram d, HostId from = kNoHost);

  // Processes every event due at or before now()+d, then sets now() to now()+d.
  void RunFor(Duration d) { RunUntil(now_ + d); }
  // Processes every event due at or before `t`, then sets now() to `t` (if t > now()).
  void RunUntil(TimePoint t);
  // Processes events (none later than `deadline`) until `pred()` holds after one of them;
  // now() is then the time of that event. Returns pred()'s last value; on false, now() is
  // `deadline`. pred is checked once before any event.
  bool RunUntil(const std::function<bool()>& pred, TimePoint deadline);
  // Processes the single next event, if any. Returns false when the queue is empty.
  bool Step();
  // Time of the next queued event (kNever when idle). Stale timer entries may make this
  // earlier than the next real work; processing them is a no-op.
  TimePoint NextEventTime() const;
  size_t queued() const { return queue_.size(); }
  uint64_t events_processed() const { return events_processed_; }
  uint64_t host_calls() const { return host_calls_; }

  // Safety net against a host that keeps asking for a timeout at `now` forever: more than
  // this many consecutive events at one instant is a bug in the host; the run aborts.
  void set_max_events_per_instant(uint64_t n) { max_events_per_instant_ = n; }

  // --- Records -----------------------------------------------------------------------------
  const std::vector<ike::Event>& events(HostId id) const;
  const std::vector<PacketRecord>& packets() const { return packets_; }
  void ClearRecords();
  void set_record_events(bool on) { record_events_ = on; }
  void set_record_packets(bool on) { record_packets_ = on; }
  void set_record_payloads(bool on) { record_payloads_ = on; }
  // Observers see every event / packet record even when recording is off.
  void SetEventObserver(std::function<void(HostId, const ike::Event&)> fn) {
    event_observer_ = std::move(fn);
  }
  void SetPacketObserver(std::function<void(const PacketRecord&)> fn) {
    packet_observer_ = std::move(fn);
  }
  // Echo kLog and kDebug event lines to stderr as "[  12.000000s] name: text" (virtual time
  // relative to start()).
  void set_trace(bool on) { trace_ = on; }

  struct Counters {
    uint64_t sent = 0, delivered = 0, dropped = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Host;
  struct QueueEntry {
    enum class Type : uint8_t { kDeliver, kTimeout };
    TimePoint at;
    uint64_t seq = 0;
    Type type = Type::kTimeout;
    HostId host = kNoHost;  // kTimeout: the host; kDeliver: the sender
    uint64_t gen = 0;       // kTimeout: the host's timer generation; kDeliver: packet id
    ike::Datagram datagram;
  };
  struct LinkKey {
    IpAddress lo, hi;
    auto operator<=>(const LinkKey&) const = default;
  };
  static LinkKey KeyFor(const IpAddress& a, const IpAddress& b);

  void Push(QueueEntry e);
  void ProcessOne();
  void AfterCall(HostId id, ike::Outbox& out);
  void Rearm(HostId id);
  void Send(HostId from, ike::Datagram d);
  void Record(PacketRecord r);
  Link* RouteFor(const IpAddress& a, const IpAddress& b);

  TimePoint start_;
  TimePoint now_;
  uint64_t seed_;
  uint64_t next_seq_ = 0;
  uint64_t next_packet_id_ = 1;
  std::vector<QueueEntry> queue_;  // binary min-heap by (at, seq)
  std::vector<std::unique_ptr<Host>> hosts_;
  std::map<IpAddress, HostId> owners_;
  std::map<LinkKey, std::unique_ptr<Link>> links_;
  std::unique_ptr<Link> default_link_;
  std::vector<PacketRecord> packets_;
  ike::Outbox scratch_;  // reused for every host call (keeps its capacity)
  bool in_call_ = false;
  bool record_events_ = true;
  bool record_packets_ = true;
  bool record_payloads_ = true;
  bool trace_ = false;
  std::function<void(HostId, const ike::Event&)> event_observer_;
  std::function<void(const PacketRecord&)> packet_observer_;
  Counters counters_;
  uint64_t events_processed_ = 0;
  uint64_t host_calls_ = 0;
  uint64_t max_events_per_instant_ = 10'000'000;
  TimePoint instant_ = kNever;
  uint64_t events_this_instant_ = 0;
};

// --- Helpers for assertions on packets ------------------------------------------------------

// The ISAKMP exchange type of a datagram (RFC 2408 §3.1, octet 18 of the header), skipping
// the 4-byte non-ESP marker on port 4500. std::nullopt when too short or an ESP packet.
std::optional<uint8_t> IsakmpExchangeType(const ike::Datagram& d);
// An IKEv2 message's Response flag (RFC 7296 §3.1); nullopt for ESP or a short datagram.
std::optional<bool> Ikev2IsResponse(const ike::Datagram& d);
// The ISAKMP message ID (octets 20-23), std::nullopt as above.
std::optional<uint32_t> IsakmpMessageId(const ike::Datagram& d);

// Records with the given fate for which `pred` holds (pred may be null), in order.
std::vector<const PacketRecord*> FindPackets(
    const Simulator& sim, PacketFate fate,
    const std::function<bool(const PacketRecord&)>& pred = nullptr);

}  // namespace ikepulse::sim
