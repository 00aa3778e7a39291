// Policy (crypto map lookup) and ParseIpPacket.
#include "dataplane/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  c.crypto_maps.erase(std::remove_if(c.crypto_maps.begin(), c.crypto_maps.end(),
                                     [](const config::CryptoMapEntry& e) { return e.seq == 20; }),
                      c.crypto_maps.end());
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

TEST(TunRoutesTest, PrefixLength) {
  EXPECT_EQ(PrefixLength(Ip("255.255.255.0")), 24);
  EXPECT_EQ(PrefixLength(Ip("255.255.255.255")), 32);
  EXPECT_EQ(PrefixLength(Ip("0.0.0.0")), 0);
  EXPECT_EQ(PrefixLength(Ip("255.0.255.0")), -1);
  EXPECT_EQ(PrefixLength(Ip("ffff:ffff:ffff:ffff::")), 64);
}

}  // namespace
}  // namespace ikepulse::dataplane
