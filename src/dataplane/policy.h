// Outbound policy: which crypto map entry protects a packet (the IOS crypto-map lookup).
//
// Entries are tried in (map name, sequence) order. Within an entry, the lines of its
// `match address` ACL are tried in order and the first line that matches decides: `permit`
// selects this entry; `deny` means "not protected by this entry" and the lookup moves on to
// the next entry (IOS semantics for crypto ACLs); no matching line (the implicit deny) also
// moves on. No entry: the packet is not for any tunnel. Entries whose ACL does not exist
// never match. A value type rebuilt by Sync from a Config copy; holds no pointers into it.
//
// Flow cache: the walk above costs O(entries x lines) per packet, so Lookup remembers its
// answer per flow (source, destination, protocol) -- the answer depends on nothing else --
// including "no entry", so a flood of packets that match nothing costs one walk per flow, not
// one per packet. Bounded: at kFlowCacheLimit flows the cache is cleared and refills (memory
// stays under about 5 MB whatever the traffic; a flood of distinct flows costs what a walk
// costs, no more). The hash is keyed with a per-process random seed so that colliding flows
// are not predictable. Sync clears the cache when the entries or their ACLs changed (and keeps
// it when a Sync brings the same policy). Single-threaded, like the DataPlane.
//
// Match counters (`show access-lists`): every packet Lookup classifies adds one to the ACL
// line that selected its entry (the `permit` line; a `deny` line only sends the lookup on to
// the next entry and is not counted). The cache remembers that line with the entry, so the
// count costs one increment per packet. A Sync keeps the counters of an ACL whose lines did
// not change.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "ike/node.h"

namespace ikepulse::dataplane {

struct EntryKey {
  std::string map_name;
  uint32_t seq = 0;
  auto operator<=>(const EntryKey&) const = default;
};

struct EntryKeyHash {
  size_t operator()(const EntryKey& k) const noexcept {
    return std::hash<std::string>{}(k.map_name) ^ (size_t{k.seq} * 0x9e3779b97f4a7c15ull);
  }
};

class Policy {
 public:
  static constexpr size_t kFlowCacheLimit = 65536;

  // O(entries) pointer comparisons when the crypto map entries and ACLs are those of the
  // last Sync (config/cow_list.h shares them between copies); otherwise a rebuild that keeps
  // the counters of the entries found unchanged, in one ordered pass (no per-entry copies of
  // the ACLs: the policy keeps one copy of the ACL table).
  void Sync(const config::Config& cfg);
  // The first entry that permits the flow (cached).
  std::optional<EntryKey> Lookup(const IpAddress& src, const IpAddress& dst, uint8_t protocol);
  // The same answer by walking every entry (no cache): reference code for tests.
  std::optional<EntryKey> LookupUncached(const IpAddress& src, const IpAddress& dst,
                                         uint8_t protocol) const;
  size_t entry_count() const { return entries_.size(); }
  // Packets matched per line of ACL `acl_name` (summed over the entries that use it), in line
  // order; empty when no crypto map entry uses it.
  std::vector<uint64_t> AclMatches(const std::string& acl_name) const;
  size_t flow_cache_size() const { return flow_cache_.size(); }

 private:
  struct Entry {
    EntryKey key;
    std::shared_ptr<const config::CryptoMapEntry> src;  // the configured entry (identity)
    const config::AccessList* acl = nullptr;            // in acls_
  };
  struct Flow {
    IpAddress src, dst;
    uint8_t protocol = 0;
    bool operator==(const Flow&) const = default;
  };
  struct FlowHash {
    size_t operator()(const Flow& f) const noexcept;
  };
  static constexpr int32_t kNoEntry = -1;
  struct Match {
    int32_t entry = kNoEntry;  // index in entries_
    int32_t line = 0;          // the permit line of that entry's ACL
  };
  // Sync's path for a change of entries only (the ACLs the same, the lists ordered): true
  // when done.
  bool SyncChanges(const config::Config& cfg);
  // The first permitting entry and line, or entry == kNoEntry.
  Match Walk(const IpAddress& src, const IpAddress& dst, uint8_t protocol) const;

  std::vector<Entry> entries_;  // sorted by key
  std::map<std::string, config::AccessList> acls_;  // the ACLs of the last Sync
  // cfg.crypto_maps of the last Sync, held (a freed entry's address is never taken for it).
  config::CowList<config::CryptoMapEntry> synced_;
  bool sorted_ = false;  // synced_ is ordered by (map, seq)
  std::vector<std::vector<uint64_t>> matches_;  // per entry, per ACL line
  std::unordered_map<Flow, Match, FlowHash> flow_cache_;  // at most kFlowCacheLimit
};

// The prefix length of a contiguous netmask (255.255.255.0 -> 24); -1 if not contiguous.
int PrefixLength(const IpAddress& mask);

// A route into the TUN device: `net/len dev <tun>`.
struct TunRoute {
  IpAddress net;
  int len = 0;
  auto operator<=>(const TunRoute&) const = default;
};

// The routes the TUN device should carry: the destination network of every `permit` line of
// every crypto map entry's ACL (so interesting traffic reaches the daemon before an SA exists
// and brings the tunnel up, as a crypto map does on IOS), plus the remote proxy network of
// every IPsec SA. Non-contiguous masks and /0 (`any`: a default route into the TUN would
// capture everything, the IKE traffic included) are left out. The daemon installs the
// difference with what it installed before and removes routes no longer wanted (an entry or
// ACL line removed, an SA gone).
std::set<TunRoute> TunRoutes(const config::Config& cfg,
                             std::span<const ike::ChildSaSnapshot> sas);

// TunRoutes kept up to date incrementally: the config's routes (set by Reset, i.e. at every
// config change) plus the route of every IPsec SA, reference-counted per (net, len) since
// many SAs can share one remote network. After Reset(cfg, sas) and any sequence of
// Upsert/Remove, Wanted() == TunRoutes(cfg, the SAs now present). Inbound SPIs identify SAs
// and are unique (as in an ike::Node). Upsert/Remove append to `touched` every route whose
// wanted state may have changed, for the host to reconcile with what it installed.
class TunRouteSet {
 public:
  void Reset(const config::Config& cfg, std::span<const ike::ChildSaSnapshot> sas);
  // A configuration change: the config's routes only (the SAs' stay); appends to `touched`
  // the routes that came or went. O(entries) pointer comparisons when only entries changed.
  void SetConfig(const config::Config& cfg, std::vector<TunRoute>& touched);
  void Upsert(const ike::ChildSaSnapshot& sa, std::vector<TunRoute>& touched);
  void Remove(uint32_t spi_in, std::vector<TunRoute>& touched);
  bool Wants(const TunRoute& r) const { return config_.count(r) || sa_refs_.count(r); }
  std::set<TunRoute> Wanted() const;

 private:
  void Unref(const TunRoute& r, std::vector<TunRoute>& touched);
  std::set<TunRoute> config_;
  // What config_ was computed from: the entries (shared, see config/cow_list.h), the ACLs,
  // and how many entries name each ACL. A change of entries only updates the counts (one
  // pass over the two lists of pointers) and recomputes config_ only when an ACL comes into
  // use or goes out of it.
  config::CowList<config::CryptoMapEntry> synced_;
  std::map<std::string, config::AccessList> acls_;
  std::map<std::string, size_t> acl_uses_;
  std::map<uint32_t, TunRoute> by_spi_;  // SAs whose remote network makes a route
  std::map<TunRoute, size_t> sa_refs_;   // > 0
};

}  // namespace ikepulse::dataplane
