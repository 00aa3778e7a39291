#include "dataplane/policy.h"

#include <algorithm>
#include <cstring>
#include <random>

namespace ikepulse::dataplane {

void Policy::Sync(const config::Config& cfg) {
  std::vector<Entry> entries;
  entries.reserve(cfg.crypto_maps.size());
  for (const auto& e : cfg.crypto_maps) {
    const config::AccessList* acl = cfg.FindAcl(e.match_address);
    if (!acl) continue;
    entries.push_back(Entry{EntryKey{e.map_name, e.seq}, e.match_address, acl->entries});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
  if (entries == entries_) return;  // the same policy: cached answers still hold
  std::vector<std::vector<uint64_t>> matches(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    matches[i].assign(entries[i].acl.size(), 0);
    // Keep the counters of an entry whose ACL is unchanged.
    for (size_t j = 0; j < entries_.size(); ++j) {
      if (entries_[j].key == entries[i].key && entries_[j].acl_name == entries[i].acl_name &&
          entries_[j].acl == entries[i].acl) {
        matches[i] = matches_[j];
        break;
      }
    }
  }
  entries_ = std::move(entries);
  matches_ = std::move(matches);
  flow_cache_.clear();
}

Policy::Match Policy::Walk(const IpAddress& src, const IpAddress& dst, uint8_t protocol) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    const auto& acl = entries_[i].acl;
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
    if (entries_[i].acl_name != acl_name) continue;
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

std::set<TunRoute> ConfigTunRoutes(const config::Config& cfg) {
  std::set<TunRoute> routes;
  for (const config::CryptoMapEntry& e : cfg.crypto_maps) {
    const config::AccessList* acl = cfg.FindAcl(e.match_address);
    if (!acl) continue;
    for (const config::AclEntry& a : acl->entries) {
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

}  // namespace

std::set<TunRoute> TunRoutes(const config::Config& cfg,
                             std::span<const ike::ChildSaSnapshot> sas) {
  std::set<TunRoute> routes = ConfigTunRoutes(cfg);
  for (const ike::ChildSaSnapshot& sa : sas)
    if (auto r = RouteFor(sa.remote_net, sa.remote_mask)) routes.insert(*r);
  return routes;
}

void TunRouteSet::Reset(const config::Config& cfg, std::span<const ike::ChildSaSnapshot> sas) {
  config_ = ConfigTunRoutes(cfg);
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
