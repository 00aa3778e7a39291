// Policy (crypto map lookup) and ParseIpPacket.
#include "dataplane/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <map>
#include <set>
#include <vector>

#include "dataplane/dataplane_test_util.h"
#include "dataplane/ip_packet.h"

namespace ikepulse::dataplane {
namespace {

using testing::Ace;
using testing::AddEntry;
using testing::Ip;

TEST(PolicyTest, FirstPermittingEntryInMapSeqOrder) {
  config::Config c;
  // Added out of order: lookup order is (map, seq).
  AddEntry(c, "green", 20, "102", {Ace(true, "198.51.100.0", "0.0.0.255", "0.0.0.0",
                                       "255.255.255.255")});
  AddEntry(c, "green", 10, "101",
           {Ace(false, "198.51.100.7", "0.0.0.0", "203.0.113.0", "0.0.0.255"),
            Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255")});
  AddEntry(c, "blue", 5, "103",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.9", "0.0.0.0", 6)});
  Policy p;
  p.Sync(c);
  EXPECT_EQ(p.entry_count(), 3u);
  const auto src = Ip("198.51.100.5");
  // blue 5 first, but only for TCP to .9.
  EXPECT_EQ(p.Lookup(src, Ip("203.0.113.9"), 6), (EntryKey{"blue", 5}));
  EXPECT_EQ(p.Lookup(src, Ip("203.0.113.9"), 1), (EntryKey{"green", 10}));
  // The deny line in green 10 sends .7 on to green 20.
  EXPECT_EQ(p.Lookup(Ip("198.51.100.7"), Ip("203.0.113.1"), 1), (EntryKey{"green", 20}));
  EXPECT_EQ(p.Lookup(src, Ip("192.0.2.99"), 17), (EntryKey{"green", 20}));
  EXPECT_FALSE(p.Lookup(Ip("192.0.2.1"), Ip("203.0.113.1"), 1).has_value());
}

// `show access-lists`: one count per classified packet on the permit line that selected the
// entry, cached flows included; a Sync with the same ACL keeps the counts, a changed ACL
// starts again from zero.
TEST(PolicyTest, CountsMatchesPerAclLine) {
  config::Config c;
  AddEntry(c, "green", 10, "101",
           {Ace(false, "198.51.100.7", "0.0.0.0", "203.0.113.0", "0.0.0.255"),
            Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255"),
            Ace(true, "198.51.100.0", "0.0.0.255", "192.0.2.0", "0.0.0.255")});
  Policy p;
  p.Sync(c);
  EXPECT_EQ(p.AclMatches("101"), (std::vector<uint64_t>{0, 0, 0}));
  EXPECT_TRUE(p.AclMatches("999").empty());
  for (int i = 0; i < 3; ++i) p.Lookup(Ip("198.51.100.5"), Ip("203.0.113.9"), 1);  // cached 2x
  p.Lookup(Ip("198.51.100.6"), Ip("192.0.2.1"), 6);
  p.Lookup(Ip("198.51.100.7"), Ip("203.0.113.9"), 1);  // denied: no entry, not counted
  p.Lookup(Ip("10.0.0.1"), Ip("203.0.113.9"), 1);      // no line matches
  EXPECT_EQ(p.AclMatches("101"), (std::vector<uint64_t>{0, 3, 1}));
  p.Sync(c);  // same policy
  EXPECT_EQ(p.AclMatches("101"), (std::vector<uint64_t>{0, 3, 1}));
  config::Config c2 = c;
  c2.acls["101"].entries.pop_back();
  p.Sync(c2);
  EXPECT_EQ(p.AclMatches("101"), (std::vector<uint64_t>{0, 0}));
}

TEST(PolicyTest, MissingAclNeverMatches) {
  config::Config c;
  config::CryptoMapEntry e;
  e.map_name = "m";
  e.match_address = "nope";
  c.crypto_maps.push_back(e);
  Policy p;
  p.Sync(c);
  EXPECT_EQ(p.entry_count(), 0u);
  EXPECT_FALSE(p.Lookup(Ip("1.2.3.4"), Ip("5.6.7.8"), 1).has_value());
}

// The straightforward crypto map lookup, straight from the Config: entries in (map, seq)
// order (stable for duplicates), each entry's ACL lines in order, first matching line decides.
std::optional<EntryKey> OracleLookup(const config::Config& c, const IpAddress& src,
                                     const IpAddress& dst, uint8_t proto) {
  std::vector<const config::CryptoMapEntry*> order;
  for (const auto& e : c.crypto_maps) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return std::tie(a->map_name, a->seq) < std::tie(b->map_name, b->seq);
  });
  for (const config::CryptoMapEntry* e : order) {
    const config::AccessList* acl = c.FindAcl(e->match_address);
    if (!acl) continue;
    for (const config::AclEntry& line : acl->entries) {
      if (!line.Matches(src, dst, proto)) continue;
      if (line.permit) return EntryKey{e->map_name, e->seq};
      break;
    }
  }
  return std::nullopt;
}

// Addresses from a small pool so that lines overlap, with wildcards from host to any.
IpAddress PoolIp(SeededRandom& rng) {
  return IpAddress::V4(10, static_cast<uint8_t>(rng.U32() % 3), static_cast<uint8_t>(rng.U32() % 4),
                       static_cast<uint8_t>(rng.U32() % 8));
}
IpAddress PoolWildcard(SeededRandom& rng) {
  static const IpAddress kWild[] = {IpAddress::V4(0, 0, 0, 0), IpAddress::V4(0, 0, 0, 3),
                                    IpAddress::V4(0, 0, 0, 255), IpAddress::V4(0, 0, 3, 255),
                                    IpAddress::V4(0, 255, 255, 255),
                                    IpAddress::V4(255, 255, 255, 255)};
  return kWild[rng.U32() % 6];
}

config::Config RandomPolicyConfig(SeededRandom& rng) {
  config::Config c;
  const uint32_t n = rng.U32() % 12;
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<config::AclEntry> lines(rng.U32() % 4);
    for (auto& l : lines) {
      l.permit = rng.U32() % 3 != 0;
      l.protocol = std::array<uint8_t, 3>{0, 6, 17}[rng.U32() % 3];
      l.src = PoolIp(rng);
      l.src_wildcard = PoolWildcard(rng);
      l.dst = PoolIp(rng);
      l.dst_wildcard = PoolWildcard(rng);
    }
    const std::string acl = "acl" + std::to_string(i);
    AddEntry(c, rng.U32() % 2 ? "green" : "blue", 10 * (1 + rng.U32() % 5), acl,
             std::move(lines));
    if (rng.U32() % 8 == 0) c.acls.erase(acl);  // an entry whose ACL does not exist
  }
  return c;
}

// The cached lookup answers exactly as the walk over the Config does, for random configs
// (overlapping lines, deny lines, duplicate (map, seq), missing ACLs) and random flows, asked
// repeatedly (cache hits, negative answers included), across Syncs that change the config
// (the cache must not answer for the old one) and Syncs that do not.
TEST(PolicyTest, CachedLookupMatchesTheWalkOverRandomConfigs) {
  SeededRandom rng(21);
  Policy p;
  size_t hits_checked = 0, negative = 0;
  config::Config c;
  for (int round = 0; round < 300; ++round) {
    if (round % 3 != 2) c = RandomPolicyConfig(rng);  // else: the same config again
    const size_t cached_before = p.flow_cache_size();
    p.Sync(c);
    if (round % 3 == 2) {
      EXPECT_EQ(p.flow_cache_size(), cached_before);
    }
    std::vector<std::tuple<IpAddress, IpAddress, uint8_t>> flows;
    for (int k = 0; k < 40; ++k)
      flows.emplace_back(PoolIp(rng), PoolIp(rng), std::array<uint8_t, 3>{1, 6, 17}[rng.U32() % 3]);
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& [src, dst, proto] : flows) {
        const auto want = OracleLookup(c, src, dst, proto);
        ASSERT_EQ(p.Lookup(src, dst, proto), want) << "round " << round;
        ASSERT_EQ(p.LookupUncached(src, dst, proto), want) << "round " << round;
        hits_checked += pass;
        negative += !want.has_value();
      }
    }
    EXPECT_LE(p.flow_cache_size(), Policy::kFlowCacheLimit);
  }
  EXPECT_GT(hits_checked, 1000u);
  EXPECT_GT(negative, 1000u);
}

// A config change reaches packets at once: an ACL line edited, an entry added in front, an
// entry removed.
TEST(PolicyTest, SyncInvalidatesTheFlowCache) {
  config::Config c;
  AddEntry(c, "green", 20, "102",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255")});
  Policy p;
  p.Sync(c);
  const auto src = Ip("198.51.100.5"), dst = Ip("203.0.113.9"), other = Ip("192.0.2.1");
  EXPECT_EQ(p.Lookup(src, dst, 17), (EntryKey{"green", 20}));
  EXPECT_FALSE(p.Lookup(src, other, 17).has_value());  // cached as "no entry"
  EXPECT_EQ(p.flow_cache_size(), 2u);
  p.Sync(c);  // nothing changed: kept
  EXPECT_EQ(p.flow_cache_size(), 2u);
  EXPECT_EQ(p.Lookup(src, dst, 17), (EntryKey{"green", 20}));

  // The line now covers `other` too.
  c.acls["102"].entries[0].dst_wildcard = Ip("255.255.255.255");
  p.Sync(c);
  EXPECT_EQ(p.flow_cache_size(), 0u);
  EXPECT_EQ(p.Lookup(src, other, 17), (EntryKey{"green", 20}));
  // An entry in front, denying dst and permitting the rest.
  AddEntry(c, "green", 10, "101",
           {Ace(false, "198.51.100.0", "0.0.0.255", "203.0.113.9", "0.0.0.0"),
            Ace(true, "198.51.100.0", "0.0.0.255", "0.0.0.0", "255.255.255.255")});
  p.Sync(c);
  EXPECT_EQ(p.Lookup(src, dst, 17), (EntryKey{"green", 20}));
  EXPECT_EQ(p.Lookup(src, other, 17), (EntryKey{"green", 10}));
  // Entry 20 removed.
  c.crypto_maps.erase(c.crypto_maps.begin());
  p.Sync(c);
  EXPECT_FALSE(p.Lookup(src, dst, 17).has_value());
  EXPECT_EQ(p.Lookup(src, other, 17), (EntryKey{"green", 10}));
  // No config at all.
  p.Sync(config::Config{});
  EXPECT_FALSE(p.Lookup(src, other, 17).has_value());
}

// A configuration change on a hub: entries come and go around the others. The policy answers
// as one built from scratch, and the entries untouched keep their match counters.
TEST(PolicyTest, IncrementalSyncAnswersAsAFreshPolicyAndKeepsUntouchedCounters) {
  config::Config c;
  SeededRandom rng(5);
  const char* acls[] = {"101", "102", "103"};
  const std::vector<std::pair<const char*, const char*>> nets{
      {"203.0.113.0", "0.0.0.255"}, {"203.0.113.8", "0.0.0.7"}, {"192.0.2.0", "0.0.0.255"}};
  for (const char* name : acls) {
    const auto& n = nets[rng.U32() % nets.size()];
    AddEntry(c, "seed", 1, name, {Ace(true, "198.51.100.0", "0.0.0.255", n.first, n.second)});
  }
  c.crypto_maps.clear();
  Policy p;
  for (int step = 0; step < 300; ++step) {
    const uint32_t op = rng.U32() % 4;
    if (op <= 1 || c.crypto_maps.empty()) {
      config::CryptoMapEntry e;
      e.map_name = (rng.U32() % 2) ? "blue" : "green";
      e.seq = 1 + rng.U32() % 20;
      e.match_address = acls[rng.U32() % 3];
      auto at = std::lower_bound(c.crypto_maps.begin(), c.crypto_maps.end(), e,
                                 [](const auto& x, const auto& y) {
                                   return std::tie(x.map_name, x.seq) < std::tie(y.map_name, y.seq);
                                 });
      if (at != c.crypto_maps.end() && at->map_name == e.map_name && at->seq == e.seq)
        c.crypto_maps.Mut(at).match_address = e.match_address;
      else
        c.crypto_maps.insert(at, e);
    } else if (op == 2) {
      c.crypto_maps.erase(c.crypto_maps.begin() + rng.U32() % c.crypto_maps.size());
    } else {  // an ACL line changes: its entries start counting again
      auto& acl = c.acls[acls[rng.U32() % 3]];
      const auto& n = nets[rng.U32() % nets.size()];
      acl.entries[0] = Ace(true, "198.51.100.0", "0.0.0.255", n.first, n.second);
    }
    p.Sync(c);
    Policy fresh;
    fresh.Sync(c);
    for (const auto& dst : {"203.0.113.1", "203.0.113.9", "192.0.2.5", "10.0.0.1"}) {
      ASSERT_EQ(p.Lookup(Ip("198.51.100.4"), Ip(dst), 6),
                fresh.LookupUncached(Ip("198.51.100.4"), Ip(dst), 6))
          << "step " << step << " " << dst;
    }
  }
}

// green 10 (ACL 101: to 203.0.113.0/24) and green 30 (ACL 103: to 192.0.2.0/24).
config::Config GreenTenAndThirty() {
  config::Config c;
  AddEntry(c, "green", 10, "101",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255")});
  AddEntry(c, "green", 30, "103",
           {Ace(true, "198.51.100.0", "0.0.0.255", "192.0.2.0", "0.0.0.255")});
  return c;
}

// Counters through an added entry: the others keep theirs, the new one starts at zero.
TEST(PolicyTest, AddingAnEntryKeepsTheCountersOfTheOthers) {
  config::Config c = GreenTenAndThirty();
  Policy p;
  p.Sync(c);
  p.Lookup(Ip("198.51.100.5"), Ip("203.0.113.9"), 1);
  p.Lookup(Ip("198.51.100.5"), Ip("192.0.2.9"), 1);
  p.Lookup(Ip("198.51.100.6"), Ip("192.0.2.9"), 1);
  AddEntry(c, "green", 20, "102",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.114.0", "0.0.0.255")});
  p.Sync(c);
  EXPECT_EQ(p.AclMatches("101"), (std::vector<uint64_t>{1}));
  EXPECT_EQ(p.AclMatches("102"), (std::vector<uint64_t>{0}));
  EXPECT_EQ(p.AclMatches("103"), (std::vector<uint64_t>{2}));
  EXPECT_EQ(p.Lookup(Ip("198.51.100.5"), Ip("203.0.114.1"), 1), (EntryKey{"green", 20}));
  EXPECT_EQ(p.AclMatches("102"), (std::vector<uint64_t>{1}));
}

// The same through the path a CLI line takes (ACLs unchanged, entries kept in (map, seq)
// order, untouched entries the same objects): entries come and go in place.
TEST(PolicyTest, EntryChangesInPlaceKeepTheCountersOfTheOthers) {
  config::Config c = GreenTenAndThirty();
  AddEntry(c, "zzz", 1, "102",  // the ACL the new entry will use, on an entry of its own
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.114.0", "0.0.0.255")});
  Policy p;
  p.Sync(c);
  p.Lookup(Ip("198.51.100.5"), Ip("203.0.113.9"), 1);
  p.Lookup(Ip("198.51.100.5"), Ip("192.0.2.9"), 1);
  config::CryptoMapEntry e;
  e.map_name = "green";
  e.seq = 20;
  e.match_address = "102";
  c.crypto_maps.insert(c.crypto_maps.begin() + 1, e);
  p.Sync(c);
  EXPECT_EQ(p.entry_count(), 4u);
  EXPECT_EQ(p.AclMatches("101"), (std::vector<uint64_t>{1}));
  EXPECT_EQ(p.AclMatches("103"), (std::vector<uint64_t>{1}));
  EXPECT_EQ(p.Lookup(Ip("198.51.100.5"), Ip("203.0.114.1"), 1), (EntryKey{"green", 20}));
  // green 10 now points at ACL 103 (its counters start again); green 30 keeps its own.
  c.crypto_maps.Mut(0).match_address = "103";
  p.Sync(c);
  EXPECT_EQ(p.Lookup(Ip("198.51.100.5"), Ip("192.0.2.9"), 1), (EntryKey{"green", 10}));
  EXPECT_EQ(p.AclMatches("103"), (std::vector<uint64_t>{2}));
  EXPECT_FALSE(p.Lookup(Ip("198.51.100.5"), Ip("203.0.113.9"), 1).has_value());
  // green 20 removed: its traffic falls to the next entry with that ACL.
  c.crypto_maps.erase(c.crypto_maps.begin() + 1);
  p.Sync(c);
  EXPECT_EQ(p.entry_count(), 3u);
  EXPECT_EQ(p.Lookup(Ip("198.51.100.5"), Ip("203.0.114.1"), 1), (EntryKey{"zzz", 1}));
  EXPECT_EQ(p.Lookup(Ip("198.51.100.5"), Ip("192.0.2.9"), 1), (EntryKey{"green", 10}));
}

// However many distinct flows arrive (a flood of spoofed sources matching nothing, or all
// matching), the cache stays within kFlowCacheLimit and answers stay right.
TEST(PolicyTest, FlowCacheIsBounded) {
  config::Config c;
  AddEntry(c, "green", 10, "101",
           {Ace(true, "10.0.0.0", "0.255.255.255", "203.0.113.0", "0.0.0.255")});
  Policy p;
  p.Sync(c);
  const auto dst = Ip("203.0.113.9"), nowhere = Ip("192.0.2.1");
  size_t max_size = 0;
  for (uint32_t i = 0; i < 3 * Policy::kFlowCacheLimit; ++i) {
    const IpAddress src = IpAddress::V4FromU32(0x0a000000u + i);
    const bool match = i % 2 == 0;
    const auto got = p.Lookup(src, match ? dst : nowhere, 6);
    if (match) {
      ASSERT_EQ(got, (EntryKey{"green", 10})) << i;
    } else {
      ASSERT_FALSE(got.has_value()) << i;
    }
    max_size = std::max(max_size, p.flow_cache_size());
  }
  EXPECT_EQ(max_size, Policy::kFlowCacheLimit);
  EXPECT_LE(p.flow_cache_size(), Policy::kFlowCacheLimit);
}

TEST(IpPacketTest, ParsesV4AndV6AndRejectsJunk) {
  const Bytes v4 = testing::Ipv4Packet("198.51.100.5", "203.0.113.9", 17, 8);
  auto f = ParseIpPacket(v4);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->version, 4);
  EXPECT_EQ(f->src, Ip("198.51.100.5"));
  EXPECT_EQ(f->dst, Ip("203.0.113.9"));
  EXPECT_EQ(f->protocol, 17);
  for (size_t n = 0; n < v4.size(); ++n) EXPECT_FALSE(ParseIpPacket(ByteSpan(v4).first(n)));
  Bytes bad_ihl = v4;
  bad_ihl[0] = 0x44;
  EXPECT_FALSE(ParseIpPacket(bad_ihl));

  Bytes v6(48, 0);
  v6[0] = 0x60;
  v6[5] = 8;
  v6[6] = 58;
  v6[8] = 0x20;
  v6[9] = 0x01;
  f = ParseIpPacket(v6);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->version, 6);
  EXPECT_TRUE(f->src.v6);
  EXPECT_EQ(f->protocol, 58);
  v6[5] = 9;
  EXPECT_FALSE(ParseIpPacket(v6));
  EXPECT_FALSE(ParseIpPacket(Bytes{0x50, 0, 0, 0}));
}

TEST(IpPacketTest, InSubnet) {
  EXPECT_TRUE(InSubnet(Ip("203.0.113.77"), Ip("203.0.113.0"), Ip("255.255.255.0")));
  EXPECT_FALSE(InSubnet(Ip("203.0.114.77"), Ip("203.0.113.0"), Ip("255.255.255.0")));
  EXPECT_TRUE(InSubnet(Ip("203.0.113.77"), Ip("203.0.113.77"), Ip("255.255.255.255")));
  EXPECT_FALSE(InSubnet(Ip("2001:db8::1"), Ip("203.0.113.0"), Ip("255.255.255.0")));
}

TEST(TunRoutesTest, PermitLinesOfEveryEntryPlusSaNetworks) {
  config::Config c;
  AddEntry(c, "green", 10, "101",
           {Ace(false, "198.51.100.7", "0.0.0.0", "203.0.113.0", "0.0.0.255"),  // deny: none
            Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255"),
            Ace(true, "198.51.100.0", "0.0.0.255", "192.0.2.77", "0.0.0.0"),
            Ace(true, "198.51.100.0", "0.0.0.255", "0.0.0.0", "255.255.255.255"),  // any: none
            Ace(true, "198.51.100.0", "0.0.0.255", "203.0.114.0", "0.0.255.0")});  // holes: none
  AddEntry(c, "green", 20, "102",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.130", "0.0.0.127")});  // host bits
  std::vector<ike::ChildSaSnapshot> sas(1);
  sas[0].remote_net = Ip("198.18.0.0");
  sas[0].remote_mask = Ip("255.254.0.0");
  const std::set<TunRoute> r = TunRoutes(c, sas);
  const std::set<TunRoute> want{{Ip("203.0.113.0"), 24}, {Ip("192.0.2.77"), 32},
                                {Ip("203.0.113.128"), 25}, {Ip("198.18.0.0"), 15}};
  EXPECT_EQ(r, want);
  // The SA gone and entry 20 removed: only entry 10's routes remain.
  c.crypto_maps.erase_if([](const config::CryptoMapEntry& e) { return e.seq == 20; });
  EXPECT_EQ(TunRoutes(c, {}),
            (std::set<TunRoute>{{Ip("203.0.113.0"), 24}, {Ip("192.0.2.77"), 32}}));
}

// TunRouteSet kept up to date SA by SA wants exactly what TunRoutes computes from the whole
// list, shared networks are counted (the route stays while one SA still needs it), a config
// route stays when the last SA with that network goes, and every route whose wanted state
// changed is reported as touched.
TEST(TunRoutesTest, IncrementalSetMatchesTunRoutes) {
  config::Config c;
  AddEntry(c, "green", 10, "101",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255")});
  const std::vector<std::pair<const char*, const char*>> nets{
      {"203.0.113.0", "255.255.255.0"},   // also a config route
      {"203.0.114.0", "255.255.255.0"},   // SAs only
      {"203.0.115.9", "255.255.255.0"},   // host bits set
      {"10.0.0.0", "255.0.255.0"},        // non-contiguous: no route
      {"0.0.0.0", "0.0.0.0"},             // any: no route
      {"192.0.2.0", "255.255.255.128"}};
  SeededRandom rng(11);
  std::map<uint32_t, ike::ChildSaSnapshot> sas;
  TunRouteSet set;
  set.Reset(c, {});
  EXPECT_EQ(set.Wanted(), TunRoutes(c, {}));
  uint32_t next_spi = 256;
  for (int step = 0; step < 2000; ++step) {
    std::vector<ike::ChildSaSnapshot> list;
    for (const auto& [spi, s] : sas) list.push_back(s);
    const std::set<TunRoute> before = TunRoutes(c, list);
    std::vector<TunRoute> touched;
    const uint32_t op = rng.U32() % 3;
    if (op == 0 || sas.empty()) {
      ike::ChildSaSnapshot s;
      s.spi_in = next_spi++;
      const auto& n = nets[rng.U32() % nets.size()];
      s.remote_net = Ip(n.first);
      s.remote_mask = Ip(n.second);
      sas[s.spi_in] = s;
      set.Upsert(s, touched);
    } else {
      auto it = sas.begin();
      std::advance(it, rng.U32() % sas.size());
      if (op == 1) {
        set.Remove(it->first, touched);
        sas.erase(it);
      } else {  // the same SA, maybe another network
        const auto& n = nets[rng.U32() % nets.size()];
        it->second.remote_net = Ip(n.first);
        it->second.remote_mask = Ip(n.second);
        set.Upsert(it->second, touched);
      }
    }
    list.clear();
    for (const auto& [spi, s] : sas) list.push_back(s);
    const std::set<TunRoute> after = TunRoutes(c, list);
    ASSERT_EQ(set.Wanted(), after) << "step " << step;
    for (const TunRoute& r : after) EXPECT_TRUE(set.Wants(r));
    auto was_touched = [&](const TunRoute& r) {
      return std::find(touched.begin(), touched.end(), r) != touched.end();
    };
    for (const TunRoute& r : before) EXPECT_TRUE(after.count(r) || was_touched(r));
    for (const TunRoute& r : after) EXPECT_TRUE(before.count(r) || was_touched(r));
  }
  // Reset with the whole list gives the same again; an SA-only route goes with its last SA.
  std::vector<ike::ChildSaSnapshot> list;
  for (const auto& [spi, s] : sas) list.push_back(s);
  TunRouteSet fresh;
  fresh.Reset(c, list);
  EXPECT_EQ(fresh.Wanted(), set.Wanted());
  std::vector<TunRoute> touched;
  for (const auto& [spi, s] : sas) set.Remove(spi, touched);
  EXPECT_EQ(set.Wanted(), TunRoutes(c, {}));
  EXPECT_TRUE(set.Wants(TunRoute{Ip("203.0.113.0"), 24}));
  EXPECT_FALSE(set.Wants(TunRoute{Ip("203.0.114.0"), 24}));
}

TEST(TunRoutesTest, SetConfigChangesOnlyTheConfigRoutesAndReportsThem) {
  config::Config c;
  AddEntry(c, "green", 10, "101",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255")});
  AddEntry(c, "green", 20, "102",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.114.0", "0.0.0.255")});
  ike::ChildSaSnapshot sa;
  sa.spi_in = 300;
  sa.remote_net = Ip("10.9.0.0");
  sa.remote_mask = Ip("255.255.0.0");
  TunRouteSet set;
  set.Reset(c, {&sa, 1});
  config::Config c2 = c;
  c2.crypto_maps.erase(c2.crypto_maps.begin());  // 203.0.113.0/24 goes
  AddEntry(c2, "green", 30, "103",
           {Ace(true, "198.51.100.0", "0.0.0.255", "192.0.2.0", "0.0.0.255")});  // comes
  std::vector<TunRoute> touched;
  set.SetConfig(c2, touched);
  EXPECT_EQ(set.Wanted(), TunRoutes(c2, {&sa, 1}));
  std::sort(touched.begin(), touched.end());
  EXPECT_EQ(touched, (std::vector<TunRoute>{TunRoute{Ip("192.0.2.0"), 24},
                                            TunRoute{Ip("203.0.113.0"), 24}}));
  EXPECT_TRUE(set.Wants(TunRoute{Ip("10.9.0.0"), 16}));  // the SA's stays
}

TEST(TunRoutesTest, SetConfigOnEntriesOnlyCountsTheAclsInUse) {
  config::Config c;
  AddEntry(c, "green", 10, "101",
           {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255")});
  config::AccessList spare;  // defined, used by no entry yet
  spare.name = "102";
  spare.entries = {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.114.0", "0.0.0.255")};
  c.acls["102"] = spare;
  TunRouteSet set;
  set.Reset(c, {});
  EXPECT_EQ(set.Wanted(), TunRoutes(c, {}));
  auto entry = [](uint32_t seq, const char* acl) {
    config::CryptoMapEntry e;
    e.map_name = "green";
    e.seq = seq;
    e.match_address = acl;
    return e;
  };
  std::vector<TunRoute> touched;
  c.crypto_maps.push_back(entry(20, "101"));  // an ACL already in use: nothing to do
  set.SetConfig(c, touched);
  EXPECT_TRUE(touched.empty());
  c.crypto_maps.push_back(entry(30, "102"));  // 102 comes into use
  set.SetConfig(c, touched);
  EXPECT_EQ(touched, (std::vector<TunRoute>{TunRoute{Ip("203.0.114.0"), 24}}));
  EXPECT_EQ(set.Wanted(), TunRoutes(c, {}));
  touched.clear();
  c.crypto_maps.erase(c.crypto_maps.begin());  // 101 still used by green 20
  set.SetConfig(c, touched);
  EXPECT_TRUE(touched.empty());
  c.crypto_maps.erase(c.crypto_maps.begin());  // now not
  set.SetConfig(c, touched);
  EXPECT_EQ(touched, (std::vector<TunRoute>{TunRoute{Ip("203.0.113.0"), 24}}));
  EXPECT_EQ(set.Wanted(), TunRoutes(c, {}));
}

TEST(TunRoutesTest, PrefixLength) {
  EXPECT_EQ(PrefixLength(Ip("255.255.255.0")), 24);
  EXPECT_EQ(PrefixLength(Ip("255.255.255.255")), 32);
  EXPECT_EQ(PrefixLength(Ip("0.0.0.0")), 0);
  EXPECT_EQ(PrefixLength(Ip("255.0.255.0")), -1);
  EXPECT_EQ(PrefixLength(Ip("ffff:ffff:ffff:ffff::")), 64);
}

}  // namespace
}  // namespace ikepulse::dataplane
