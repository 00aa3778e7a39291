#include "dataplane/policy.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <string_view>
#include <tuple>

namespace ikepulse::dataplane {

void Policy::Sync(const config::Config& cfg) {
  const bool same_acls = acls_ == cfg.acls;
  if (same_acls && synced_.SameAs(cfg.crypto_maps)) return;  // cached answers still hold
  if (same_acls && sorted_ && SyncChanges(cfg)) return;
  // The old entries point into the old ACL table: it lives until their counters are moved
  // (a moved std::map keeps its nodes where they are).
  std::map<std::string, config::AccessList> old_acls;
  if (!same_acls) {
    old_acls = std::move(acls_);
    acls_ = cfg.acls;
  }
  std::vector<Entry> entries;
  entries.reserve(cfg.crypto_maps.size());
  synced_ = cfg.crypto_maps;
  for (size_t i = 0; i < cfg.crypto_maps.size(); ++i) {
    const config::CryptoMapEntry& e = cfg.crypto_maps[i];
    auto acl = acls_.find(e.match_address);
    if (acl == acls_.end()) continue;
    entries.push_back(Entry{EntryKey{e.map_name, e.seq}, cfg.crypto_maps.Shared(i), &acl->second});
  }
  auto by_key = [](const Entry& a, const Entry& b) { return a.key < b.key; };
  sorted_ = std::is_sorted(cfg.crypto_maps.begin(), cfg.crypto_maps.end(),
                           [](const config::CryptoMapEntry& a, const config::CryptoMapEntry& b) {
                             return std::tie(a.map_name, a.seq) < std::tie(b.map_name, b.seq);
                           });
  if (!std::is_sorted(entries.begin(), entries.end(), by_key))
    std::stable_sort(entries.begin(), entries.end(), by_key);
  // Counters: an entry keeps its own when its key, ACL name and ACL lines are unchanged. Both
  // lists are ordered by key: one pass; the same entry object with the same ACLs is a match
  // without comparing anything else.
  std::vector<std::vector<uint64_t>> matches(entries.size());
  size_t j = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& n = entries[i];
    while (j < entries_.size() && entries_[j].src != n.src && entries_[j].key < n.key) ++j;
    bool keep = false;
    if (j < entries_.size()) {
      const Entry& o = entries_[j];
      keep = (o.src == n.src && same_acls) ||
             (o.key == n.key && o.src->match_address == n.src->match_address &&
              o.acl->entries == n.acl->entries);
    }
    if (keep && matches_[j].size() == n.acl->entries.size()) {
      matches[i] = std::move(matches_[j]);
      ++j;
    } else {
      matches[i].assign(n.acl->entries.size(), 0);
    }
  }
  entries_ = std::move(entries);
  matches_ = std::move(matches);
  flow_cache_.clear();
}

namespace {
bool KeyLess(const config::CryptoMapEntry& a, const config::CryptoMapEntry& b) {
  return std::tie(a.map_name, a.seq) < std::tie(b.map_name, b.seq);
}
}  // namespace

// The ACLs unchanged and both lists ordered by (map, seq): the entries that differ are found
// in one pass over the two lists of pointers (config::DiffOrdered), then each is taken out of
// or put into entries_ where its key goes. False (nothing changed) when the new list turns
// out not to be ordered: Sync rebuilds.
bool Policy::SyncChanges(const config::Config& cfg) {
  const config::CowList<config::CryptoMapEntry>& next = cfg.crypto_maps;
  auto at_key = [&](const std::string& map, uint32_t seq) {
    return static_cast<size_t>(
        std::lower_bound(entries_.begin(), entries_.end(), std::tie(map, seq),
                         [](const Entry& e, const auto& k) {
                           return std::tie(e.key.map_name, e.key.seq) < k;
                         }) -
        entries_.begin());
  };
  bool any = false;
  const bool ordered = config::DiffOrdered(
      synced_, next, KeyLess,
      [&](const config::CryptoMapEntry* gone, const config::CryptoMapEntry* added, size_t at) {
        any = true;
        std::vector<uint64_t> kept;
        bool keep = false;
        if (gone) {
          const size_t k = at_key(gone->map_name, gone->seq);
          if (k < entries_.size() && entries_[k].src.get() == gone) {
            if (added && added->match_address == gone->match_address) {
              kept = std::move(matches_[k]);
              keep = true;
            }
            entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(k));
            matches_.erase(matches_.begin() + static_cast<std::ptrdiff_t>(k));
          }
        }
        if (!added) return;
        auto acl = acls_.find(added->match_address);
        if (acl == acls_.end()) return;
        const size_t k = at_key(added->map_name, added->seq);
        entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(k),
                        Entry{EntryKey{added->map_name, added->seq}, next.Shared(at), &acl->second});
        if (!keep) kept.assign(acl->second.entries.size(), 0);
        matches_.insert(matches_.begin() + static_cast<std::ptrdiff_t>(k), std::move(kept));
      });
  if (!ordered) return false;
  synced_ = next;
  if (any) flow_cache_.clear();
  return true;
}

Policy::Match Policy::Walk(const IpAddress& src, const IpAddress& dst, uint8_t protocol) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& acl = entries_[i].acl->entries;
    for (size_t k = 0; k < acl.size(); ++k) {
      if (!acl[k].Matches(src, dst, protocol)) continue;
      if (acl[k].permit) return Match{static_cast<int32_t>(i), static_cast<int32_t>(k)};
      break;  // deny: not this entry, try the next one
    }
  }
  return Match{};
}

std::optional<EntryKey> Policy::LookupUncached(const IpAddress& src, const IpAddress& dst,
                                               uint8_t protocol) const {
  const Match m = Walk(src, dst, protocol);
  if (m.entry == kNoEntry) return std::nullopt;
  return entries_[static_cast<size_t>(m.entry)].key;
}

std::optional<EntryKey> Policy::Lookup(const IpAddress& src, const IpAddress& dst,
                                       uint8_t protocol) {
  const Flow flow{src, dst, protocol};
  auto it = flow_cache_.find(flow);
  Match m;
  if (it != flow_cache_.end()) {
    m = it->second;
  } else {
    m = Walk(src, dst, protocol);
    if (flow_cache_.size() >= kFlowCacheLimit) flow_cache_.clear();  // bounded: start over
    flow_cache_.emplace(flow, m);
  }
  if (m.entry == kNoEntry) return std::nullopt;
  const auto e = static_cast<size_t>(m.entry);
  ++matches_[e][static_cast<size_t>(m.line)];
  return entries_[e].key;
}

std::vector<uint64_t> Policy::AclMatches(const std::string& acl_name) const {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].src->match_address != acl_name) continue;
    if (out.size() < matches_[i].size()) out.resize(matches_[i].size(), 0);
    for (size_t k = 0; k < matches_[i].size(); ++k) out[k] += matches_[i][k];
  }
  return out;
}

namespace {
// Per-process random key of the flow hash (colliding flows are not predictable).
uint64_t FlowHashSeed() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd() ^ 0x9e3779b97f4a7c15ull;
  }();
  return seed;
}

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 32);
}
}  // namespace

size_t Policy::FlowHash::operator()(const Flow& f) const noexcept {
  uint64_t w[4];
  std::memcpy(&w[0], f.src.bytes.data(), 8);
  std::memcpy(&w[1], f.src.bytes.data() + 8, 8);
  std::memcpy(&w[2], f.dst.bytes.data(), 8);
  std::memcpy(&w[3], f.dst.bytes.data() + 8, 8);
  uint64_t h = FlowHashSeed();
  for (uint64_t v : w) h = Mix(h, v);
  h = Mix(h, (uint64_t{f.protocol} << 16) | (uint64_t{f.src.v6} << 8) | f.dst.v6);
  return static_cast<size_t>(h);
}

int PrefixLength(const IpAddress& mask) {
  const size_t n = mask.v6 ? 16 : 4;
  int bits = 0;
  bool zero_seen = false;
  for (size_t i = 0; i < n; ++i) {
    for (int b = 7; b >= 0; --b) {
      const bool one = (mask.bytes[i] >> b) & 1;
      if (one && zero_seen) return -1;
      if (one) ++bits; else zero_seen = true;
    }
  }
  return bits;
}

namespace {

// The route for a network and a netmask (host bits cleared: the kernel rejects a route
// whose destination has host bits set); none for a non-contiguous mask or /0.
std::optional<TunRoute> RouteFor(IpAddress net, const IpAddress& mask) {
  const int len = PrefixLength(mask);
  if (len <= 0) return std::nullopt;
  for (size_t i = 0; i < net.bytes.size(); ++i) net.bytes[i] &= mask.bytes[i];
  return TunRoute{net, len};
}

// O(entries) string comparisons plus O(the distinct ACLs' lines): a hub's 100,000 entries
// usually name a handful of ACLs, each looked at once.
// The routes of the permit lines of the named ACLs.
std::set<TunRoute> AclRoutes(const std::map<std::string, size_t>& names,
                             const std::map<std::string, config::AccessList>& acls) {
  std::set<TunRoute> routes;
  for (const auto& [name, uses] : names) {
    auto acl = acls.find(name);
    if (acl == acls.end()) continue;
    for (const config::AclEntry& a : acl->second.entries) {
      if (!a.permit) continue;
      IpAddress mask = a.dst_wildcard;
      for (auto& b : mask.bytes) b = static_cast<uint8_t>(~b);
      if (!mask.v6)
        for (size_t i = 4; i < mask.bytes.size(); ++i) mask.bytes[i] = 0;
      if (auto r = RouteFor(a.dst, mask)) routes.insert(*r);
    }
  }
  return routes;
}

// How many entries name each ACL: O(entries) string comparisons (a hub's 100,000 entries
// usually name a handful of ACLs, each looked at once afterwards).
std::map<std::string, size_t> AclUses(const config::Config& cfg) {
  std::map<std::string, size_t> uses;
  const std::string* last = nullptr;
  size_t* count = nullptr;
  for (const config::CryptoMapEntry& e : cfg.crypto_maps) {
    if (!last || *last != e.match_address) {
      last = &e.match_address;
      count = &uses[e.match_address];
    }
    ++*count;
  }
  return uses;
}

std::set<TunRoute> ConfigTunRoutes(const config::Config& cfg) {
  return AclRoutes(AclUses(cfg), cfg.acls);
}

}  // namespace

std::set<TunRoute> TunRoutes(const config::Config& cfg,
                             std::span<const ike::ChildSaSnapshot> sas) {
  std::set<TunRoute> routes = ConfigTunRoutes(cfg);
  for (const ike::ChildSaSnapshot& sa : sas)
    if (auto r = RouteFor(sa.remote_net, sa.remote_mask)) routes.insert(*r);
  return routes;
}

void TunRouteSet::SetConfig(const config::Config& cfg, std::vector<TunRoute>& touched) {
  if (acls_ == cfg.acls && synced_.SameAs(cfg.crypto_maps)) return;
  bool names_changed = false;
  auto use = [&](const std::string& name, int delta) {
    size_t& n = acl_uses_[name];
    const bool before = n > 0;
    n = static_cast<size_t>(static_cast<int64_t>(n) + delta);
    const bool after = n > 0;
    if (!after) acl_uses_.erase(name);
    names_changed |= before != after;
  };
  const bool acls_same = acls_ == cfg.acls;
  const bool ordered =
      acls_same && config::DiffOrdered(
                       synced_, cfg.crypto_maps,
                       [](const config::CryptoMapEntry& a, const config::CryptoMapEntry& b) {
                         return std::tie(a.map_name, a.seq) < std::tie(b.map_name, b.seq);
                       },
                       [&](const config::CryptoMapEntry* gone, const config::CryptoMapEntry* added,
                           size_t) {
                         if (gone) use(gone->match_address, -1);
                         if (added) use(added->match_address, +1);
                       });
  if (!ordered) {  // the ACLs changed, or an unordered list: count again
    acl_uses_ = AclUses(cfg);
    acls_ = cfg.acls;
    names_changed = true;
  }
  synced_ = cfg.crypto_maps;
  if (!names_changed) return;
  std::set<TunRoute> next = AclRoutes(acl_uses_, acls_);
  std::set_symmetric_difference(config_.begin(), config_.end(), next.begin(), next.end(),
                                std::back_inserter(touched));
  config_ = std::move(next);
}

void TunRouteSet::Reset(const config::Config& cfg, std::span<const ike::ChildSaSnapshot> sas) {
  acl_uses_ = AclUses(cfg);
  acls_ = cfg.acls;
  synced_ = cfg.crypto_maps;
  config_ = AclRoutes(acl_uses_, acls_);
  by_spi_.clear();
  sa_refs_.clear();
  std::vector<TunRoute> ignored;
  for (const ike::ChildSaSnapshot& sa : sas) Upsert(sa, ignored);
}

void TunRouteSet::Unref(const TunRoute& r, std::vector<TunRoute>& touched) {
  auto it = sa_refs_.find(r);
  if (it == sa_refs_.end()) return;
  if (--it->second == 0) {
    sa_refs_.erase(it);
    touched.push_back(r);
  }
}

void TunRouteSet::Upsert(const ike::ChildSaSnapshot& sa, std::vector<TunRoute>& touched) {
  const std::optional<TunRoute> r = RouteFor(sa.remote_net, sa.remote_mask);
  auto it = by_spi_.find(sa.spi_in);
  if (it != by_spi_.end()) {
    if (r && *r == it->second) return;  // unchanged
    Unref(it->second, touched);
    by_spi_.erase(it);
  }
  if (!r) return;
  by_spi_.emplace(sa.spi_in, *r);
  if (sa_refs_[*r]++ == 0) touched.push_back(*r);
}

void TunRouteSet::Remove(uint32_t spi_in, std::vector<TunRoute>& touched) {
  auto it = by_spi_.find(spi_in);
  if (it == by_spi_.end()) return;
  Unref(it->second, touched);
  by_spi_.erase(it);
}

std::set<TunRoute> TunRouteSet::Wanted() const {
  std::set<TunRoute> out = config_;
  for (const auto& [r, n] : sa_refs_) out.insert(r);
  return out;
}

}  // namespace ikepulse::dataplane
