// SaDb: the data plane's IPsec SAs, synced from the engine's ike::ChildSaSnapshot list.
//
// Identity: an SA pair is keyed by its inbound SPI (chosen locally, unique in a Node). Sync
// keeps an existing pair -- its anti-replay window, outbound sequence counter, statistics
// and lifetime flags -- when the snapshot has the same inbound and outbound SPI, IKE SA,
// algorithms and keys; endpoints (NAT-T float) and protected networks are refreshed. A pair
// that differs in any of those is rebuilt; a pair absent from the snapshot is removed.
//
// Outbound selection: the current SA of a crypto map entry is the newest usable one (the
// most recently installed; among SAs first seen in the same Sync, the one with the most
// lifetime left), so traffic moves to a rekeyed SA as soon as it is installed while the old
// one still accepts inbound packets until the engine deletes it. An index by EntryKey (the
// entry's pairs in generation order) makes this O(1) expected plus the few SAs of that entry
// (newest first, skipping expired ones) instead of a scan of every pair; Sync, Update and
// removals keep it consistent, including a kept pair whose entry changed.
//
// Lifetime (kilobytes): the bytes of inner packets are counted per direction. When either
// direction reaches 90% of lifetime_kb the pair reports kSoft once (the engine should
// rekey); at 100% it reports kHard once and becomes unusable (no more outbound, inbound
// dropped) until the engine replaces it. lifetime_kb 0 = no volume limit. The outbound
// sequence number never wraps (no ESN, RFC 4303 §3.3.3): after 2^32-1 the pair is treated
// as hard-expired too.
//
// Single-threaded; owned by DataPlane. Keys are kept once, inside the crypto contexts; to tell
// a snapshot's keys from those a pair was built with, a pair keeps only a SHA-256 digest of
// them (KeyDigest), not a copy. Never logged.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/endpoint.h"
#include "common/time.h"
#include "dataplane/esp.h"
#include "dataplane/policy.h"
#include "ike/node.h"

namespace ikepulse::dataplane {

struct SaStats {
  uint64_t pkts_in = 0, bytes_in = 0;
  uint64_t pkts_out = 0, bytes_out = 0;
  uint64_t drops_in = 0;  // authenticated-path drops: replay, ICV, padding, policy
  std::optional<TimePoint> last_in;
  std::optional<TimePoint> last_out;
};

enum class LifetimeEvent : uint8_t { kNone = 0, kSoft = 1, kHard = 2 };

struct ChildSa {
  // From the snapshot.
  ike::SaId ike_sa = ike::kNoSa;
  EntryKey entry;
  Endpoint local;
  Endpoint remote;
  bool udp_encap = false;
  IpAddress local_net, local_mask, remote_net, remote_mask;
  uint8_t protocol = 0;
  uint64_t lifetime_kb = 0;
  // ESP state.
  EspSa in;   // spi = spi_in; replay window
  EspSa out;  // spi = spi_out
  uint32_t last_seq_out = 0;
  // Bookkeeping.
  uint64_t generation = 0;  // install order: larger = newer
  bool soft_reported = false;
  bool expired = false;  // hard lifetime reached or sequence space exhausted
  SaStats stats;

  uint32_t spi_in() const { return in.spi; }
  uint32_t spi_out() const { return out.spi; }
};

class SaDb {
 public:
  struct SyncReport {
    size_t added = 0, kept = 0, removed = 0;
    size_t rejected = 0;  // unsupported algorithms or wrong key lengths
  };
  SyncReport Sync(const std::vector<ike::ChildSaSnapshot>& snapshots);
  // Incremental Sync: `changed` are the current snapshots of some SA pairs (new, or changed,
  // e.g. re-homed onto another IKE SA), `removed` the inbound SPIs of pairs the engine no
  // longer has; every other pair is left as it is. Each pair in `changed` is kept, rebuilt or
  // added exactly as Sync would (new pairs get generations in order of lifetime left), so
  // applying the engine's changes with Update gives the state a Sync of the whole list gives.
  // O(changed + removed) map operations instead of O(all).
  SyncReport Update(const std::vector<ike::ChildSaSnapshot>& changed,
                    std::span<const uint32_t> removed);

  ChildSa* FindInbound(uint32_t spi_in);
  bool Holds(uint32_t spi_in) const { return sas_.count(spi_in) != 0; }
  ChildSa* CurrentOutbound(const EntryKey& entry);
  // Every SA pair, by inbound SPI (for `show` and tests).
  std::vector<const ChildSa*> All() const;
  size_t size() const { return sas_.size(); }
  // The inbound SPIs of the pairs that belong to IKE SA `ike_sa` (ascending).
  std::vector<uint32_t> InboundSpisOf(ike::SaId ike_sa) const;

  // Counts one packet and returns the lifetime event it crossed, if any.
  LifetimeEvent RecordIn(ChildSa& sa, TimePoint now, size_t bytes);
  LifetimeEvent RecordOut(ChildSa& sa, TimePoint now, size_t bytes);
  // The next outbound sequence number, or nullopt (and the SA expires) when exhausted.
  std::optional<uint32_t> NextSeqOut(ChildSa& sa);

 private:
  struct Stored {
    std::unique_ptr<ChildSa> sa;
    // Exactly what the pair was built from, to tell a kept pair from a changed one.
    uint32_t spi_out = 0;
    config::EspCipher cipher = config::EspCipher::kNone;
    config::EspAuth auth = config::EspAuth::kNone;
    Bytes key_digest;  // KeyDigest of the snapshot's four keys
  };
  static Bytes KeyDigest(const ike::ChildSaSnapshot& s);
  static std::unique_ptr<ChildSa> Build(const ike::ChildSaSnapshot& s);
  static void Refresh(ChildSa& sa, const ike::ChildSaSnapshot& s);
  static bool Same(const Stored& st, const ike::ChildSaSnapshot& s);
  LifetimeEvent Check(ChildSa& sa);

  // Builds the pair for `s` (generation from next_generation_) and stores it; false if
  // rejected.
  bool Add(const ike::ChildSaSnapshot& s);
  void Erase(std::map<uint32_t, Stored>::iterator it);
  // Index maintenance: `sa` is (un)listed under sa->entry.
  void IndexAdd(ChildSa* sa);
  void IndexRemove(ChildSa* sa);
  void RebuildIndex();

  std::map<uint32_t, Stored> sas_;  // by inbound SPI
  // (IKE SA, inbound SPI) of every pair in sas_. A kept pair never changes IKE SA (a different
  // ike_sa is a rebuild), so this changes only where pairs are added or erased.
  std::set<std::pair<ike::SaId, uint32_t>> by_ike_;
  // Every pair of sas_ under its crypto map entry, in ascending generation (never empty).
  std::unordered_map<EntryKey, std::vector<ChildSa*>, EntryKeyHash> by_entry_;
  uint64_t next_generation_ = 1;
};

// config -> crypto mapping. nullopt for kNone cipher (ESP needs one; NULL is kNull).
std::optional<crypto::EspEncAlg> ToEspEncAlg(config::EspCipher c);
crypto::EspIntegAlg ToEspIntegAlg(config::EspAuth a);

}  // namespace ikepulse::dataplane
