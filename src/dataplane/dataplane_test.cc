// DataPlane: two gateways A and B exchanging packets through ESP, the per-entry queue and
// its signals, inbound policy, replay and unknown SPIs, raw ESP, lifetime signals.
#include "dataplane/dataplane.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dataplane/dataplane_test_util.h"
#include "dataplane/udp_encap.h"

namespace ikepulse::dataplane {
namespace {

using testing::AesSha1Sas;
using testing::GatewayConfig;
using testing::Ip;
using testing::Ipv4Packet;
using Kind = Signal::Kind;

TimePoint T(int64_t ms) { return FromMicros(ms * 1000); }

class DataPlaneTest : public ::testing::Test {
 protected:
  DataPlaneTest() : rng_(9), a_(rng_), b_(rng_), sas_(AesSha1Sas(rng_)) {}

  void SyncBoth(TimePoint now) {
    out_a_.Clear();
    out_b_.Clear();
    a_.Sync(now, GatewayConfig(true), {sas_.a}, out_a_);
    b_.Sync(now, GatewayConfig(false), {sas_.b}, out_b_);
  }

  SeededRandom rng_;
  DataPlane a_, b_;
  testing::SnapshotPair sas_;
  DataPlane::Out out_a_, out_b_;
};

TEST_F(DataPlaneTest, PingBothWays) {
  SyncBoth(T(0));
  const Bytes ping = Ipv4Packet("198.51.100.10", "203.0.113.20");
  a_.OnTunPacket(T(1), ping, out_a_);
  ASSERT_EQ(out_a_.esp_datagrams.size(), 1u);
  const ike::Datagram& d = out_a_.esp_datagrams[0];
  EXPECT_EQ(d.local, sas_.a.local);
  EXPECT_EQ(d.remote, sas_.a.remote);
  EXPECT_EQ(ClassifyNattDatagram(d.data), NattKind::kEsp);
  ASSERT_EQ(out_a_.signals.size(), 1u);
  EXPECT_EQ(out_a_.signals[0].kind, Kind::kChildTraffic);
  EXPECT_EQ(out_a_.signals[0].spi, sas_.a.spi_in);
  EXPECT_FALSE(out_a_.signals[0].inbound);
  EXPECT_EQ(out_a_.signals[0].bytes, ping.size());

  b_.OnEspDatagram(T(2), d.remote, d.local, d.data, out_b_);
  ASSERT_EQ(out_b_.to_tun.size(), 1u);
  EXPECT_EQ(out_b_.to_tun[0], ping);
  ASSERT_EQ(out_b_.signals.size(), 1u);
  EXPECT_EQ(out_b_.signals[0].spi, sas_.b.spi_in);
  EXPECT_TRUE(out_b_.signals[0].inbound);

  const Bytes pong = Ipv4Packet("203.0.113.20", "198.51.100.10");
  b_.OnTunPacket(T(3), pong, out_b_);
  ASSERT_EQ(out_b_.esp_datagrams.size(), 1u);
  a_.OnEspDatagram(T(4), sas_.a.local, sas_.a.remote, out_b_.esp_datagrams[0].data, out_a_);
  ASSERT_EQ(out_a_.to_tun.size(), 1u);
  EXPECT_EQ(out_a_.to_tun[0], pong);

  const ChildSa* sa = a_.sa_db().All()[0];
  EXPECT_EQ(sa->stats.pkts_out, 1u);
  EXPECT_EQ(sa->stats.pkts_in, 1u);
  EXPECT_EQ(sa->stats.last_in, T(4));
  EXPECT_EQ(a_.counters().encrypted, 1u);
  EXPECT_EQ(a_.counters().decrypted, 1u);

  // The same datagram again is a replay.
  b_.OnEspDatagram(T(5), d.remote, d.local, d.data, out_b_);
  EXPECT_EQ(b_.counters().drop_replay, 1u);
  EXPECT_EQ(out_b_.to_tun.size(), 1u);
}

TEST_F(DataPlaneTest, NoSaQueuesSignalsAndFlushesOnSync) {
  const config::Config cfg = GatewayConfig(true);
  a_.Sync(T(0), cfg, {}, out_a_);
  for (int i = 0; i < 12; ++i) {
    a_.OnTunPacket(T(100 * i), Ipv4Packet("198.51.100.10", "203.0.113.20", 1, 36,
                                          static_cast<uint8_t>(i)),
                   out_a_);
  }
  // One signal at 0 ms and one at 1000 ms (>= kSignalInterval later); 8 queued, 4 dropped.
  ASSERT_EQ(out_a_.signals.size(), 2u);
  EXPECT_EQ(out_a_.signals[0].kind, Kind::kOutboundTraffic);
  EXPECT_EQ(out_a_.signals[0].entry, (EntryKey{"green", 10}));
  EXPECT_EQ(a_.queued_packets(), DataPlane::kQueueLimit);
  EXPECT_EQ(a_.counters().drop_queue_full, 4u);
  EXPECT_TRUE(out_a_.esp_datagrams.empty());

  out_a_.Clear();
  a_.Sync(T(2000), cfg, {sas_.a}, out_a_);
  ASSERT_EQ(out_a_.esp_datagrams.size(), DataPlane::kQueueLimit);
  EXPECT_EQ(a_.queued_packets(), 0u);
  EXPECT_EQ(a_.counters().flushed, DataPlane::kQueueLimit);
  // B decrypts them in order: the first 8 packets (fill bytes 0..7).
  b_.Sync(T(2000), GatewayConfig(false), {sas_.b}, out_b_);
  for (const auto& d : out_a_.esp_datagrams) b_.OnEspDatagram(T(2001), d.remote, d.local, d.data, out_b_);
  ASSERT_EQ(out_b_.to_tun.size(), DataPlane::kQueueLimit);
  for (size_t i = 0; i < out_b_.to_tun.size(); ++i) EXPECT_EQ(out_b_.to_tun[i].back(), i);
}

TEST_F(DataPlaneTest, StaleQueueAndRemovedEntryDropped) {
  a_.Sync(T(0), GatewayConfig(true), {}, out_a_);
  a_.OnTunPacket(T(0), Ipv4Packet("198.51.100.10", "203.0.113.20"), out_a_);
  out_a_.Clear();
  a_.Sync(T(0) + DataPlane::kQueueMaxAge + Millis(1), GatewayConfig(true), {sas_.a}, out_a_);
  EXPECT_TRUE(out_a_.esp_datagrams.empty());
  EXPECT_EQ(a_.counters().drop_queue_stale, 1u);

  DataPlane c(rng_);
  c.Sync(T(0), GatewayConfig(true), {}, out_a_);
  c.OnTunPacket(T(0), Ipv4Packet("198.51.100.10", "203.0.113.20"), out_a_);
  c.Sync(T(1), config::Config{}, {}, out_a_);
  EXPECT_EQ(c.queued_packets(), 0u);
  EXPECT_EQ(c.counters().drop_queue_stale, 1u);
}

TEST_F(DataPlaneTest, NoPolicyAndBadPacketsDropped) {
  SyncBoth(T(0));
  a_.OnTunPacket(T(1), Ipv4Packet("192.0.2.1", "203.0.113.20"), out_a_);
  a_.OnTunPacket(T(1), Bytes{0x45, 0}, out_a_);
  EXPECT_TRUE(out_a_.esp_datagrams.empty());
  EXPECT_TRUE(out_a_.signals.empty());
  EXPECT_EQ(a_.counters().drop_no_policy, 1u);
  EXPECT_EQ(a_.counters().drop_bad_ip, 1u);
  b_.OnEspDatagram(T(1), {}, {}, Bytes{1, 2, 3}, out_b_);
  b_.OnEspDatagram(T(1), {}, {}, Bytes{1, 2, 3, 4, 0, 0, 0, 1}, out_b_);
  EXPECT_EQ(b_.counters().drop_malformed, 1u);
  EXPECT_EQ(b_.counters().drop_unknown_spi, 1u);
}

TEST_F(DataPlaneTest, InnerPacketOutsideTheSaNetworksDropped) {
  // A's policy is wider than the SA's proxy identities.
  config::Config wide;
  testing::AddEntry(wide, "green", 10, "101",
                    {testing::Ace(true, "0.0.0.0", "255.255.255.255", "0.0.0.0",
                                  "255.255.255.255")});
  a_.Sync(T(0), wide, {sas_.a}, out_a_);
  b_.Sync(T(0), GatewayConfig(false), {sas_.b}, out_b_);
  for (const auto& [src, dst] : {std::pair{"192.0.2.50", "203.0.113.20"},
                                 std::pair{"198.51.100.10", "203.0.114.20"}}) {
    out_a_.Clear();
    a_.OnTunPacket(T(1), Ipv4Packet(src, dst), out_a_);
    ASSERT_EQ(out_a_.esp_datagrams.size(), 1u);
    b_.OnEspDatagram(T(1), {}, {}, out_a_.esp_datagrams[0].data, out_b_);
  }
  EXPECT_TRUE(out_b_.to_tun.empty());
  EXPECT_EQ(b_.counters().drop_inner_policy, 2u);
  EXPECT_EQ(b_.sa_db().All()[0]->stats.drops_in, 2u);
}

TEST_F(DataPlaneTest, TamperedDatagramCountsAsAuthFailure) {
  SyncBoth(T(0));
  a_.OnTunPacket(T(1), Ipv4Packet("198.51.100.10", "203.0.113.20"), out_a_);
  Bytes bad = out_a_.esp_datagrams[0].data;
  bad[bad.size() / 2] ^= 1;
  b_.OnEspDatagram(T(1), {}, {}, bad, out_b_);
  EXPECT_EQ(b_.counters().drop_auth, 1u);
  b_.OnEspDatagram(T(1), {}, {}, out_a_.esp_datagrams[0].data, out_b_);
  EXPECT_EQ(out_b_.to_tun.size(), 1u);
}

TEST_F(DataPlaneTest, RawEspWithoutUdpEncapsulation) {
  sas_ = AesSha1Sas(rng_, /*udp_encap=*/false);
  SyncBoth(T(0));
  a_.OnTunPacket(T(1), Ipv4Packet("198.51.100.10", "203.0.113.20"), out_a_);
  EXPECT_TRUE(out_a_.esp_datagrams.empty());
  ASSERT_EQ(out_a_.raw_esp.size(), 1u);
  EXPECT_EQ(out_a_.raw_esp[0].remote, (Endpoint{Ip("192.0.2.2"), 0}));
  b_.OnEspDatagram(T(1), {}, {}, out_a_.raw_esp[0].data, out_b_);
  EXPECT_EQ(out_b_.to_tun.size(), 1u);
}

TEST_F(DataPlaneTest, LifetimeSignalsThenNewSaRequested) {
  sas_.a.lifetime_kb = 1;  // 1024 bytes: soft at 918, hard at 1024
  SyncBoth(T(0));
  std::vector<Kind> kinds;
  for (int i = 0; i < 6; ++i) {
    out_a_.Clear();
    a_.OnTunPacket(T(i), Ipv4Packet("198.51.100.10", "203.0.113.20", 1, 180), out_a_);  // 200 B
    for (const auto& s : out_a_.signals) kinds.push_back(s.kind);
  }
  // 200..800 bytes: traffic; 1000: soft; the 6th packet (1200) crosses hard; none after.
  EXPECT_THAT(kinds, ::testing::ElementsAre(Kind::kChildTraffic, Kind::kChildTraffic,
                                            Kind::kChildTraffic, Kind::kChildTraffic,
                                            Kind::kChildTraffic, Kind::kLifetimeSoft,
                                            Kind::kChildTraffic, Kind::kLifetimeHard));
  // The expired SA is no longer used: the next packet waits for a new one.
  out_a_.Clear();
  a_.OnTunPacket(T(10), Ipv4Packet("198.51.100.10", "203.0.113.20"), out_a_);
  ASSERT_EQ(out_a_.signals.size(), 1u);
  EXPECT_EQ(out_a_.signals[0].kind, Kind::kOutboundTraffic);
  EXPECT_EQ(a_.queued_packets(), 1u);
}

// The per-flow cache and the per-entry SA index never answer for an old state: a packet
// dropped for want of policy goes out once a config Sync adds the ACL line, moves to a rekeyed
// SA installed by Update, stops at the ACL's removal, and the SA gone leaves it queued.
TEST_F(DataPlaneTest, CachedAnswersFollowConfigAndSaChanges) {
  config::Config cfg = GatewayConfig(true);
  cfg.acls["101"].entries[0].dst_wildcard = Ip("0.0.0.0");  // 203.0.113.0 only
  a_.Sync(T(0), cfg, {sas_.a}, out_a_);
  const Bytes ping = Ipv4Packet("198.51.100.10", "203.0.113.20");
  a_.OnTunPacket(T(1), ping, out_a_);
  a_.OnTunPacket(T(2), ping, out_a_);
  EXPECT_EQ(a_.counters().drop_no_policy, 2u);
  EXPECT_EQ(a_.policy().flow_cache_size(), 1u);  // the negative answer

  a_.Sync(T(3), GatewayConfig(true), {sas_.a}, out_a_);
  out_a_.Clear();
  a_.OnTunPacket(T(4), ping, out_a_);
  ASSERT_EQ(out_a_.signals.size(), 1u);
  EXPECT_EQ(out_a_.signals[0].spi, sas_.a.spi_in);

  // A rekeyed pair for the same entry, installed incrementally: traffic moves to it.
  auto rekeyed = AesSha1Sas(rng_).a;
  a_.Update(T(5), GatewayConfig(true), {rekeyed}, {}, out_a_);
  out_a_.Clear();
  a_.OnTunPacket(T(6), ping, out_a_);
  ASSERT_EQ(out_a_.signals.size(), 1u);
  EXPECT_EQ(out_a_.signals[0].spi, rekeyed.spi_in);
  // The new pair removed: back to the old one; both removed: queued, tunnel requested.
  const uint32_t gone[] = {rekeyed.spi_in};
  a_.Update(T(7), GatewayConfig(true), {}, gone, out_a_);
  out_a_.Clear();
  a_.OnTunPacket(T(8), ping, out_a_);
  ASSERT_EQ(out_a_.signals.size(), 1u);
  EXPECT_EQ(out_a_.signals[0].spi, sas_.a.spi_in);
  const uint32_t old[] = {sas_.a.spi_in};
  a_.Update(T(9), GatewayConfig(true), {}, old, out_a_);
  out_a_.Clear();
  a_.OnTunPacket(T(10), ping, out_a_);
  EXPECT_TRUE(out_a_.esp_datagrams.empty());
  ASSERT_EQ(out_a_.signals.size(), 1u);
  EXPECT_EQ(out_a_.signals[0].kind, Kind::kOutboundTraffic);
  EXPECT_EQ(a_.queued_packets(), 1u);

  // The ACL gone: no policy for the flow any more.
  a_.Sync(T(11), config::Config{}, {}, out_a_);
  a_.OnTunPacket(T(12), ping, out_a_);
  EXPECT_EQ(a_.counters().drop_no_policy, 3u);
}

}  // namespace
}  // namespace ikepulse::dataplane
