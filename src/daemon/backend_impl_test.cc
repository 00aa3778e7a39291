// BackendImpl over two real ike::Nodes wired back to back in memory (no sockets, no clock).
#include "daemon/backend_impl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <string>

#include "cli/cli.h"
#include "daemon/atomic_file.h"

namespace ikepulse::daemon {
namespace {

using ::testing::SizeIs;

std::string Config(const std::string& name, const std::string& self, const std::string& peer,
                   bool keep_up, const std::string& lnet, const std::string& rnet) {
  return "hostname " + name +
         "\n"
         "crypto isakmp policy 10\n encryption aes 256\n hash sha256\n authentication pre-share\n"
         " group 14\n"
         "crypto isakmp key backend-test-psk address " + peer + "\n"
         "crypto isakmp keepalive 10 2 periodic\n"
         "crypto ipsec transform-set TS esp-aes esp-sha-hmac\n"
         "crypto map green 10 ipsec-isakmp\n set peer " + peer +
         "\n set transform-set TS\n match address 101\n" + (keep_up ? " ikepulse keep-up\n" : "") +
         "interface Gi1\n ip address " + self + " 255.255.255.0\n crypto map green\n"
         "access-list 101 permit ip " + lnet + " 0.0.255.255 " + rnet + " 0.0.255.255\n";
}

config::Config Parse(const std::string& text) {
  auto c = cli::ParseConfigText(text);
  EXPECT_TRUE(c.has_value()) << (c.has_value() ? "" : c.error().message);
  return c.has_value() ? c.value() : config::Config{};
}

// One side: a Node + its BackendImpl; flushed datagrams go to a shared wire.
struct Side {
  Side(std::deque<ike::Datagram>& wire, TimePoint& now, std::string path)
      : rng(seed++),
        node(rng),
        backend(node, BackendImpl::Context{[&now] { return now; },
                                           [this, &wire](ike::Outbox& out) {
                                             for (auto& d : out.datagrams) wire.push_back(d);
                                             flushed_events += out.events.size();
                                             out.Clear();
                                           },
                                           [this](const config::Config&) { ++before_apply; },
                                           std::move(path), now, &logger,
                                           [this](const std::string& acl) {
                                             return acl == "101" ? acl_counts
                                                                 : std::vector<uint64_t>{};
                                           }}) {}
  static inline uint64_t seed = 1;
  Logger logger{Logger::Options{"", false, false}};
  std::vector<uint64_t> acl_counts;
  SeededRandom rng;
  ike::Node node;
  BackendImpl backend;
  int before_apply = 0;
  size_t flushed_events = 0;
};

class BackendImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ikepulse_backend_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    unlink((dir_ + "/a.cfg").c_str());
    rmdir(dir_.c_str());
  }
  // Delivers datagrams between the two sides until the wire is empty (bounded).
  void Pump(Side& a, Side& b) {
    const IpAddress ia = *IpAddress::Parse("192.0.2.1");
    for (int i = 0; i < 200 && !wire_.empty(); ++i) {
      ike::Datagram d = std::move(wire_.front());
      wire_.pop_front();
      Side& to = d.remote.ip == ia ? a : b;
      ike::Outbox out;
      to.node.OnDatagram(now_, d.remote, d.local, d.data, out);
      for (auto& x : out.datagrams) wire_.push_back(x);
    }
    EXPECT_TRUE(wire_.empty());
  }

  std::string dir_;
  TimePoint now_ = FromMicros(5'000'000'000);
  std::deque<ike::Datagram> wire_;
};

TEST_F(BackendImplTest, ShowsTheTunnelAndClearsIt) {
  Side a(wire_, now_, dir_ + "/a.cfg");
  Side b(wire_, now_, "");
  b.backend.ApplyConfig(
      Parse(Config("B", "192.0.2.2", "192.0.2.1", false, "10.2.0.0", "10.1.0.0")));
  const config::Config ca = Parse(Config("A", "192.0.2.1", "192.0.2.2", true, "10.1.0.0", "10.2.0.0"));
  EXPECT_EQ(a.backend.ApplyConfig(ca), std::nullopt);
  EXPECT_EQ(a.before_apply, 1);
  EXPECT_EQ(a.backend.Running(), ca);
  ASSERT_FALSE(wire_.empty());  // keep-up: Main Mode 1 went out through flush
  Pump(a, b);

  auto sas = a.backend.IsakmpSas();
  ASSERT_THAT(sas, SizeIs(1));
  EXPECT_EQ(sas[0].dst, *IpAddress::Parse("192.0.2.2"));
  EXPECT_EQ(sas[0].src, *IpAddress::Parse("192.0.2.1"));
  EXPECT_EQ(sas[0].state, "QM_IDLE");
  EXPECT_EQ(sas[0].group, 14);
  EXPECT_EQ(sas[0].capabilities.find('D'), 0u);  // both announce DPD
  EXPECT_TRUE(sas[0].dpd.enabled);
  EXPECT_EQ(sas[0].dpd.mode, config::DpdMode::kPeriodic);
  EXPECT_EQ(sas[0].dpd.interval_s, 10u);

  auto ipsec = a.backend.IpsecSas();
  ASSERT_THAT(ipsec, SizeIs(1));
  EXPECT_EQ(ipsec[0].map_name, "green");
  EXPECT_EQ(ipsec[0].interface, "Gi1");
  EXPECT_EQ(ipsec[0].current_peer, IpAddress::Parse("192.0.2.2"));
  ASSERT_THAT(ipsec[0].inbound, SizeIs(1));
  ASSERT_THAT(ipsec[0].outbound, SizeIs(1));
  EXPECT_EQ(ipsec[0].inbound[0].transform, "esp-aes esp-sha-hmac");
  EXPECT_NE(ipsec[0].inbound[0].spi, ipsec[0].outbound[0].spi);
  // B's outbound SPI is A's inbound one.
  auto ipsec_b = b.backend.IpsecSas();
  ASSERT_THAT(ipsec_b, SizeIs(1));
  ASSERT_THAT(ipsec_b[0].outbound, SizeIs(1));
  EXPECT_EQ(ipsec_b[0].outbound[0].spi, ipsec[0].inbound[0].spi);

  auto sessions = a.backend.CryptoSessions();
  ASSERT_THAT(sessions, SizeIs(1));
  EXPECT_EQ(sessions[0].status, "UP-ACTIVE");
  EXPECT_EQ(sessions[0].peer, *IpAddress::Parse("192.0.2.2"));
  EXPECT_EQ(a.backend.CurrentPeer("green", 10), IpAddress::Parse("192.0.2.2"));
  EXPECT_EQ(a.backend.CurrentPeer("nope", 1), std::nullopt);

  // On B: clear crypto session remote 192.0.2.1: Deletes go out through flush.
  cli::ClearSessionFilter f;
  f.remote = *IpAddress::Parse("192.0.2.1");
  wire_.clear();
  b.backend.ClearCryptoSession(f);  // B has no keep-up: stays down
  EXPECT_FALSE(wire_.empty());
  EXPECT_THAT(b.backend.IsakmpSas(), SizeIs(0));
  // A filter on a VRF matches nothing (no VRFs here).
  cli::ClearSessionFilter vrf;
  vrf.fvrf = "red";
  wire_.clear();
  a.backend.ClearCryptoSession(vrf);
  EXPECT_TRUE(wire_.empty());
}

// Before any SA exists (Main Mode 1 sent, no answer yet): the DPD line says what is
// configured, the IPsec flow shows the ACL's identities, the session its interface.
TEST_F(BackendImplTest, ShowsConfiguredStateBeforeAnySa) {
  Side a(wire_, now_, dir_ + "/a.cfg");
  ASSERT_EQ(a.backend.ApplyConfig(
                Parse(Config("A", "192.0.2.1", "192.0.2.2", true, "10.1.0.0", "10.2.0.0"))),
            std::nullopt);
  ASSERT_FALSE(wire_.empty());  // Main Mode 1 out, never answered

  auto sas = a.backend.IsakmpSas();
  ASSERT_THAT(sas, SizeIs(1));
  EXPECT_EQ(sas[0].state.rfind("MM_", 0), 0u) << sas[0].state;
  EXPECT_TRUE(sas[0].dpd.enabled);  // `crypto isakmp keepalive 10 2 periodic`
  EXPECT_FALSE(sas[0].dpd.active);
  EXPECT_EQ(sas[0].dpd.mode, config::DpdMode::kPeriodic);
  EXPECT_EQ(sas[0].dpd.interval_s, 10u);
  EXPECT_EQ(sas[0].dpd.retry_s, 2u);

  auto ipsec = a.backend.IpsecSas();
  ASSERT_THAT(ipsec, SizeIs(1));
  EXPECT_THAT(ipsec[0].inbound, SizeIs(0));
  EXPECT_EQ(ipsec[0].local_ident.addr, *IpAddress::Parse("10.1.0.0"));
  EXPECT_EQ(ipsec[0].local_ident.mask, *IpAddress::Parse("255.255.0.0"));
  EXPECT_EQ(ipsec[0].remote_ident.addr, *IpAddress::Parse("10.2.0.0"));
  EXPECT_EQ(ipsec[0].remote_ident.mask, *IpAddress::Parse("255.255.0.0"));

  auto sessions = a.backend.CryptoSessions();
  ASSERT_THAT(sessions, SizeIs(1));
  EXPECT_EQ(sessions[0].status, "DOWN-NEGOTIATING");
  EXPECT_EQ(sessions[0].interface, "Gi1");
}

TEST_F(BackendImplTest, DebugToggle) {
  Side a(wire_, now_, "");
  EXPECT_FALSE(a.backend.DebugIsakmp());
  a.backend.SetDebugIsakmp(true);
  EXPECT_TRUE(a.backend.DebugIsakmp());
  EXPECT_TRUE(a.node.debug());
  a.backend.SetDebugIsakmp(false);
  EXPECT_FALSE(a.node.debug());
  // `debug crypto ikev2` is the same engine flag.
  a.backend.SetDebugIkev2(true);
  EXPECT_TRUE(a.node.debug());
  EXPECT_TRUE(a.backend.DebugIkev2());
  EXPECT_TRUE(a.backend.DebugIsakmp());
  a.backend.SetDebugIkev2(false);
  EXPECT_FALSE(a.node.debug());
}

// Without an IKEv2 entry or peer there is no IKEv2 SA to show, and clearing them changes nothing.
TEST_F(BackendImplTest, NoIkev2SasWithoutIkev2Configuration) {
  Side a(wire_, now_, "");
  EXPECT_TRUE(a.backend.Ikev2Sas().empty());
  a.backend.ClearCryptoIkev2Sa(cli::ClearIkev2SaFilter{});
  EXPECT_TRUE(wire_.empty());
  EXPECT_TRUE(a.backend.Ikev2Sas().empty());
}

// `logging buffered` follows the running configuration into the daemon's Logger; `show
// logging` reads it back, `clear logging` empties it; ACL counters come from the data plane.
TEST_F(BackendImplTest, LoggingBufferAclCountersAndLinks) {
  Side a(wire_, now_, "");
  a.logger.Line("%SYS-5-CONFIG_I: one");
  auto info = a.backend.LogBuffer();
  EXPECT_TRUE(info.enabled);
  EXPECT_EQ(info.size, 4096u);
  ASSERT_EQ(info.lines.size(), 1u);
  EXPECT_NE(info.lines[0].find("%SYS-5-CONFIG_I: one"), std::string::npos);
  EXPECT_EQ(a.backend.ApplyConfig(Parse("logging buffered 8192\n")), std::nullopt);
  EXPECT_EQ(a.logger.buffer_size(), 8192u);
  EXPECT_EQ(a.backend.LogBuffer().size, 8192u);
  a.backend.ClearLogging();
  EXPECT_TRUE(a.backend.LogBuffer().lines.empty());
  EXPECT_EQ(a.backend.ApplyConfig(Parse("no logging buffered\n")), std::nullopt);
  EXPECT_FALSE(a.logger.buffer_enabled());
  a.acl_counts = {7, 0};
  EXPECT_EQ(a.backend.AclMatches("101"), (std::vector<uint64_t>{7, 0}));
  EXPECT_TRUE(a.backend.AclMatches("102").empty());
  auto lo = a.backend.InterfaceState("lo");
  ASSERT_TRUE(lo.has_value());
  EXPECT_TRUE(lo->admin_up);
  EXPECT_EQ(lo->address, IpAddress::Parse("127.0.0.1"));
  EXPECT_FALSE(a.backend.InterfaceState("nonexistent0").has_value());
  EXPECT_GT(a.backend.WallClockMs(), int64_t{1700000000000});
}

TEST_F(BackendImplTest, StartupConfigIsWrittenAtomically) {
  Side a(wire_, now_, dir_ + "/a.cfg");
  EXPECT_EQ(a.backend.StartupConfigText(), "");
  EXPECT_EQ(a.backend.WriteStartupConfig("hostname A\nend\n"), std::nullopt);
  EXPECT_EQ(a.backend.StartupConfigText(), "hostname A\nend\n");
  EXPECT_EQ(ReadWholeFile(dir_ + "/a.cfg"), "hostname A\nend\n");
  Side none(wire_, now_, "");
  EXPECT_TRUE(none.backend.WriteStartupConfig("x").has_value());
}

TEST(TransformText, IosNames) {
  EXPECT_EQ(TransformText(config::EspCipher::kAes128, config::EspAuth::kSha1),
            "esp-aes esp-sha-hmac");
  EXPECT_EQ(TransformText(config::EspCipher::kAes256, config::EspAuth::kSha256),
            "esp-aes 256 esp-sha256-hmac");
  EXPECT_EQ(TransformText(config::EspCipher::k3Des, config::EspAuth::kMd5),
            "esp-3des esp-md5-hmac");
  EXPECT_EQ(TransformText(config::EspCipher::kNull, config::EspAuth::kNone), "esp-null");
}

}  // namespace
}  // namespace ikepulse::daemon
