// DataPlane: the ESP data plane minus I/O. The host (the daemon, esp_tool, tests) reads IP
// packets from a TUN device and ESP from UDP 4500 / a raw IPPROTO_ESP socket, calls the
// entry points below with `now`, and then performs what the Out asks: send the ESP
// datagrams, write the packets to the TUN device, and forward each Signal to ike::Node.
// DataPlane never reads a clock or touches a socket.
//
// Outbound (OnTunPacket): parse the IP header -> Policy (first crypto map entry whose ACL
// permits) -> the entry's current SA -> ESP. With no SA yet, the packet waits in a small
// queue for that entry (kQueueLimit = 8 packets; further packets are dropped, as IOS drops
// while a tunnel comes up) and a kOutboundTraffic signal asks the engine to bring the entry
// up (at most one signal per entry per kSignalInterval while packets keep arriving). The
// queue is flushed by the Sync that installs the entry's first SA; packets that waited longer
// than kQueueMaxAge are dropped instead, as are the queues of entries removed from the config.
//
// Inbound (OnEspDatagram): SPI -> SA -> Decapsulate (replay, ICV, padding) -> the inner
// packet's source must lie in the SA's remote network and its destination in the local
// network (and its protocol match, when the SA is protocol-specific), else dropped -> TUN.
//
// Every packet that uses an SA yields a kChildTraffic signal (feeds the engine's per-SA
// counters and the on-demand DPD monitor); kilobyte lifetimes yield kLifetimeSoft (rekey) and
// kLifetimeHard (the SA is no longer used) once each.
//
// `rng` (IVs) is not owned and must outlive the DataPlane. Single-threaded.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "dataplane/policy.h"
#include "dataplane/sa_db.h"
#include "ike/node.h"
#include "ike/outbox.h"

namespace ikepulse::dataplane {

struct Signal {
  enum class Kind : uint8_t {
    kOutboundTraffic = 0,  // -> Node::OnOutboundTraffic(now, entry.map_name, entry.seq, out)
    kChildTraffic = 1,     // -> Node::OnChildTraffic(now, spi, inbound, bytes, out)
    kLifetimeSoft = 2,     // kilobyte soft lifetime: the engine should rekey (spi = spi_in)
    kLifetimeHard = 3,     // kilobyte hard lifetime / sequence space exhausted (spi = spi_in)
  };
  Kind kind;
  EntryKey entry;       // kOutboundTraffic, kLifetime*
  uint32_t spi = 0;     // kChildTraffic: spi_in (unique) either way; kLifetime*: spi_in
  bool inbound = false;
  uint64_t bytes = 0;   // kChildTraffic: inner packet bytes
};

struct DataPlaneCounters {
  uint64_t tun_packets = 0;
  uint64_t esp_packets = 0;
  uint64_t encrypted = 0;
  uint64_t decrypted = 0;
  uint64_t queued = 0;
  uint64_t flushed = 0;
  uint64_t drop_bad_ip = 0;       // TUN packet not parseable
  uint64_t drop_no_policy = 0;    // no crypto map entry permits it
  uint64_t drop_queue_full = 0;   // no SA yet and the entry's queue is full
  uint64_t drop_queue_stale = 0;  // waited too long / entry gone
  uint64_t drop_sa_expired = 0;   // sequence space exhausted
  uint64_t drop_unknown_spi = 0;
  uint64_t drop_replay = 0;
  uint64_t drop_auth = 0;         // ICV mismatch
  uint64_t drop_malformed = 0;    // truncated, bad length, padding, next header
  uint64_t drop_dummy = 0;        // next header 59
  uint64_t drop_inner_policy = 0; // decrypted packet outside the SA's networks
};

class DataPlane {
 public:
  static constexpr size_t kQueueLimit = 8;
  static constexpr Duration kQueueMaxAge = Seconds(10);
  static constexpr Duration kSignalInterval = Seconds(1);

  explicit DataPlane(Random& rng) : rng_(rng) {}
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  struct Out {
    std::vector<ike::Datagram> esp_datagrams;  // UDP (udp_encap): payload = ESP, no marker
    std::vector<ike::Datagram> raw_esp;        // IP protocol 50: ports 0, data = ESP
    std::vector<Bytes> to_tun;
    std::vector<Signal> signals;
    void Clear() {
      esp_datagrams.clear();
      raw_esp.clear();
      to_tun.clear();
      signals.clear();
    }
  };

  // Call after every engine call that may change SAs or after a config change (cheap when
  // nothing changed). Flushes queued packets for entries that now have an SA.
  SaDb::SyncReport Sync(TimePoint now, const config::Config& cfg,
                        const std::vector<ike::ChildSaSnapshot>& sas, Out& out);
  // Incremental Sync for a change of some SAs only, the config (crypto map ACLs) being the one
  // of the last Sync: SaDb::Update(changed, removed), then the queued packets as Sync. The
  // host calls Sync after a config change and Update after engine calls that added, changed
  // or removed SAs; both give the same state.
  SaDb::SyncReport Update(TimePoint now, const config::Config& cfg,
                          const std::vector<ike::ChildSaSnapshot>& changed,
                          std::span<const uint32_t> removed, Out& out);

  // A configuration change, the SAs being unchanged (the engine reports the SAs a change
  // deletes, and the host passes them to Update): the policy (crypto map ACLs), then the
  // queued packets as Sync. O(entries) pointer comparisons when the entries and ACLs are
  // the same objects as at the last call.
  void SetConfig(TimePoint now, const config::Config& cfg, Out& out);

  void OnTunPacket(TimePoint now, ByteSpan ip_packet, Out& out);
  // `local`/`remote`: where the ESP arrived / came from (ports 0 for raw ESP).
  void OnEspDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote,
                     ByteSpan esp, Out& out);

  const DataPlaneCounters& counters() const { return counters_; }
  const SaDb& sa_db() const { return db_; }
  const Policy& policy() const { return policy_; }
  size_t queued_packets() const;

 private:
  struct Queued {
    TimePoint at;
    Bytes packet;
  };
  struct EntryQueue {
    std::deque<Queued> packets;
    TimePoint last_signal = kNever;
  };
  // Encrypts one packet with sa and appends the datagram. False if the SA cannot send.
  bool SendOn(ChildSa& sa, TimePoint now, ByteSpan packet, Out& out);
  // Sends the queued packets of entries that now have an SA; drops those of entries gone.
  void FlushQueues(TimePoint now, const config::Config& cfg, Out& out);
  void Lifetime(const ChildSa& sa, LifetimeEvent ev, Out& out);

  Random& rng_;  // Not owned.
  Policy policy_;
  SaDb db_;
  std::map<EntryKey, EntryQueue> queues_;
  DataPlaneCounters counters_;
};

}  // namespace ikepulse::dataplane
