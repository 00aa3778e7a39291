#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/config_util.h"
#include "cli/fake_backend.h"
#include "cli/session.h"
#include "cli/show.h"

namespace ikepulse::cli {
namespace {

using ::testing::HasSubstr;

IsakmpSaInfo SeedSa() {
  IsakmpSaInfo sa;
  sa.dst = V4("10.2.80.209");
  sa.src = V4("10.1.32.14");
  sa.state = "QM_IDLE";
  sa.conn_id = 1001;
  sa.encryption = "aes";
  sa.hash = "sha";
  sa.auth = "psk";
  sa.group = 14;
  sa.lifetime_left_s = 86392;
  sa.capabilities = "D";
  sa.dpd.enabled = true;
  sa.dpd.active = true;
  sa.dpd.mode = config::DpdMode::kPeriodic;
  sa.dpd.interval_s = 10;
  sa.dpd.retry_s = 2;
  sa.dpd.peer_supports = true;
  sa.dpd.last_heard_s_ago = 12;
  sa.dpd.probing = true;
  sa.dpd.outstanding = 2;
  sa.dpd.next_seq = 0xB;
  return sa;
}

IpsecSaInfo SeedIpsec() {
  IpsecSaInfo s;
  s.map_name = "green";
  s.seq = 1;
  s.interface = "GigabitEthernet0/0";
  s.local_addr = V4("10.1.32.14");
  s.local_ident = {V4("10.1.32.0"), V4("255.255.255.0"), 0, 0};
  s.remote_ident = {V4("10.2.80.0"), V4("255.255.255.0"), 0, 0};
  s.current_peer = V4("10.2.80.209");
  s.pkts_encaps = 10;
  s.pkts_decaps = 9;
  s.bytes_out = 840;
  s.bytes_in = 756;
  s.last_in_s_ago = 3;
  s.last_out_s_ago = 62;
  EspSaInfo in;
  in.spi = 0x1A2B3C4D;
  in.conn_id = 2001;
  in.remaining_kb = 4608000;
  in.remaining_s = 3590;
  EspSaInfo out = in;
  out.spi = 0x3A7B69BF;
  out.conn_id = 2002;
  s.inbound = {in};
  s.outbound = {out};
  return s;
}

TEST(ShowTest, IsakmpSaIosLayout) {
  EXPECT_EQ(FormatIsakmpSas({SeedSa()}, false),
            "IPv4 Crypto ISAKMP SA\n"
            "dst             src             state          conn-id status\n"
            "10.2.80.209     10.1.32.14      QM_IDLE           1001 ACTIVE\n"
            "\n"
            "IPv6 Crypto ISAKMP SA\n\n");
}

TEST(ShowTest, IsakmpSaDetailWithDpdState) {
  EXPECT_EQ(
      FormatIsakmpSas({SeedSa()}, true),
      "Codes: C - IKE configuration mode, D - Dead Peer Detection\n"
      "       K - Keepalives, N - NAT-traversal\n"
      "       T - cTCP encapsulation, X - IKE Extended Authentication\n"
      "       psk - Preshared key, rsig - RSA signature\n"
      "       renc - RSA encryption\n"
      "IPv4 Crypto ISAKMP SA\n\n"
      "C-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime Cap.\n\n"
      "1001  10.1.32.14      10.2.80.209            ACTIVE aes  sha    psk  14 23:59:52 D\n"
      "       Engine-id:Conn-id =  SW:1001\n"
      "       DPD: periodic, interval 10 s, retry 2 s, peer supports DPD\n"
      "       DPD state: probing, 2 R-U-THERE unacknowledged, last heard 12 s ago, next seq "
      "0x0000000B\n"
      "\n"
      "IPv6 Crypto ISAKMP SA\n\n");
  IsakmpSaInfo no_dpd = SeedSa();
  no_dpd.dpd.peer_supports = false;
  EXPECT_THAT(FormatIsakmpSas({no_dpd}, true),
              HasSubstr("peer did not announce DPD (no R-U-THERE sent)"));
  EXPECT_THAT(FormatIsakmpSas({no_dpd}, true),
              HasSubstr("       DPD state: not running on this SA\n"));
  // Configured and announced, but Main Mode still running: says so, not "disabled".
  IsakmpSaInfo mm = SeedSa();
  mm.state = "MM_KEY_EXCH";
  mm.dpd.active = false;
  EXPECT_THAT(FormatIsakmpSas({mm}, true),
              HasSubstr("       DPD: periodic, interval 10 s, retry 2 s, peer supports DPD\n"
                        "       DPD state: not running yet (Main Mode in progress)\n"));
  no_dpd.dpd.enabled = false;
  EXPECT_THAT(FormatIsakmpSas({no_dpd}, true), HasSubstr("DPD: disabled"));
}

TEST(ShowTest, IpsecSaIosLayout) {
  const std::string out = FormatIpsecSas({SeedIpsec()}, std::nullopt);
  EXPECT_THAT(out, HasSubstr("\ninterface: GigabitEthernet0/0\n"
                             "    Crypto map tag: green, local addr 10.1.32.14\n\n"
                             "   protected vrf: (none)\n"
                             "   local  ident (addr/mask/prot/port): "
                             "(10.1.32.0/255.255.255.0/0/0)\n"
                             "   remote ident (addr/mask/prot/port): "
                             "(10.2.80.0/255.255.255.0/0/0)\n"
                             "   current_peer 10.2.80.209 port 500\n"));
  EXPECT_THAT(out, HasSubstr("    #pkts encaps: 10, #pkts encrypt: 10, #pkts digest: 10\n"
                             "    #pkts decaps: 9, #pkts decrypt: 9, #pkts verify: 9\n"
                             "    #bytes encaps: 840, #bytes decaps: 756\n"
                             "    last packet in: 0:00:03 ago, last packet out: 0:01:02 ago\n"
                             "    #send errors 0, #recv errors 0\n"));
  IpsecSaInfo idle = SeedIpsec();
  idle.last_in_s_ago = idle.last_out_s_ago = -1;
  EXPECT_THAT(FormatIpsecSas({idle}, std::nullopt),
              HasSubstr("    last packet in: never, last packet out: never\n"));
  EXPECT_THAT(out, HasSubstr("     inbound esp sas:\n"
                             "      spi: 0x1A2B3C4D(439041101)\n"
                             "        transform: esp-aes esp-sha-hmac ,\n"
                             "        in use settings ={Tunnel, }\n"));
  EXPECT_THAT(out, HasSubstr("        sa timing: remaining key lifetime (k/sec): (4608000/3590)\n"));
  EXPECT_THAT(out, HasSubstr("     outbound esp sas:\n      spi: 0x3A7B69BF(981166527)\n"));
  EXPECT_EQ(FormatIpsecSas({SeedIpsec()}, V4("10.0.0.9")), "");
  EXPECT_EQ(FormatIpsecSas({SeedIpsec()}, V4("10.2.80.209")), out);
}

TEST(ShowTest, CryptoSession) {
  CryptoSessionInfo s;
  s.interface = "GigabitEthernet0/0";
  s.peer = V4("10.2.80.209");
  s.phase1_id = "10.2.80.209";
  s.uptime_s = 612;
  CryptoSessionInfo::IkeSa ike;
  ike.local = V4("10.1.32.14");
  ike.remote = V4("10.2.80.209");
  ike.capabilities = "D";
  ike.conn_id = 1001;
  ike.lifetime_left_s = 85788;
  s.ike_sas = {ike};
  CryptoSessionInfo::Flow f;
  f.description = "permit ip 10.1.32.0/255.255.255.0 10.2.80.0/255.255.255.0";
  f.active_sas = 2;
  s.flows = {f};
  EXPECT_EQ(FormatCryptoSessions({s}, false),
            "Crypto session current status\n\n"
            "Interface: GigabitEthernet0/0\n"
            "Session status: UP-ACTIVE\n"
            "Peer: 10.2.80.209 port 500\n"
            "  IKEv1 SA: local 10.1.32.14/500 remote 10.2.80.209/500 Active\n"
            "  IPSEC FLOW: permit ip 10.1.32.0/255.255.255.0 10.2.80.0/255.255.255.0\n"
            "        Active SAs: 2, origin: crypto map\n\n");
  const std::string d = FormatCryptoSessions({s}, true);
  EXPECT_THAT(d, HasSubstr("Uptime: 0:10:12\n"));
  EXPECT_THAT(d, HasSubstr("Peer: 10.2.80.209 port 500 fvrf: (none) ivrf: (none)\n"));
  EXPECT_THAT(d, HasSubstr("          Capabilities:D connid:1001 lifetime:23:49:48\n"));
}

class ShowSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ParseConfigText(
        "crypto isakmp policy 1\n encryption aes\n authentication pre-share\n group 14\n"
        "crypto isakmp key kd94j1ksldz address 10.2.80.209 255.255.255.0\n"
        "crypto isakmp keepalive 10 periodic\n"
        "crypto ipsec transform-set Trans1 esp-aes esp-sha-hmac\n"
        "crypto map green 1 ipsec-isakmp\n set peer 10.0.0.1\n set peer 10.0.0.2\n"
        " set transform-set Trans1 txfm\n match address 101\n"
        "interface GigabitEthernet0/0\n ip address 10.1.32.14 255.255.255.0\n crypto map green\n"
        "access-list 101 permit ip 10.1.32.0 0.0.0.255 10.2.80.0 0.0.0.255\n");
    ASSERT_TRUE(c.has_value());
    b_.running = *c;
    b_.isakmp_sas = {SeedSa()};
    b_.ipsec_sas = {SeedIpsec()};
    b_.current_peers[{"green", 1}] = V4("10.0.0.2");
    b_.uptime_s = 3 * 86400 + 2 * 3600 + 5 * 60;
    s_.Execute("enable");
  }
  FakeBackend b_;
  Session s_{b_};
};

TEST_F(ShowSessionTest, ShowCommandsThroughTheSession) {
  EXPECT_EQ(s_.Execute("sh cry isa sa").output, FormatIsakmpSas(b_.isakmp_sas, false));
  EXPECT_EQ(s_.Execute("show crypto isakmp sa detail").output,
            FormatIsakmpSas(b_.isakmp_sas, true));
  EXPECT_EQ(s_.Execute("sh cry ips sa peer 10.2.80.209").output,
            FormatIpsecSas(b_.ipsec_sas, V4("10.2.80.209")));
  const std::string run = s_.Execute("show running-config").output;
  const std::string cfg = RenderRunningConfig(b_.running);
  EXPECT_EQ(run, "Building configuration...\n\nCurrent configuration : " +
                     std::to_string(cfg.size()) + " bytes\n" + cfg);
  EXPECT_EQ(s_.Execute("show startup-config").output, "startup-config is not present\n");
  EXPECT_EQ(s_.Execute("show version").output,
            "ikepulse IKEv1 (ISAKMP) keying daemon, Version " IKEPULSE_TEST_VERSION
            "\nCisco IOS-style configuration; RFC 3706 Dead Peer Detection (on-demand and "
            "periodic)\n\nRouter uptime is 3 days, 2 hours, 5 minutes\n");
}

TEST_F(ShowSessionTest, ShowCryptoMap) {
  EXPECT_EQ(s_.Execute("show crypto map").output,
            "Crypto Map IPv4 \"green\" 1 ipsec-isakmp\n"
            "\tPeer = 10.0.0.1\n"
            "\tPeer = 10.0.0.2\n"
            "\tExtended IP access list 101\n"
            "\t    access-list 101 permit ip 10.1.32.0 0.0.0.255 10.2.80.0 0.0.0.255\n"
            "\tCurrent peer: 10.0.0.2\n"
            "\tSecurity association lifetime: 4608000 kilobytes/3600 seconds\n"
            "\tResponder-Only (Y/N): N\n"
            "\tPFS (Y/N): N\n"
            "\tMixed-mode : Disabled\n"
            "\tTransform sets={ \n"
            "\t\tTrans1:  { esp-aes esp-sha-hmac  } , \n"
            "\t\ttxfm:  { (not defined) } , \n"
            "\t}\n"
            "\tInterfaces using crypto map green:\n"
            "\t\tGigabitEthernet0/0\n\n");
}

TEST_F(ShowSessionTest, ShowIsakmpPolicyAndKey) {
  const std::string p = s_.Execute("show crypto isakmp policy").output;
  EXPECT_THAT(p, HasSubstr("Protection suite of priority 1\n"
                           "\tencryption algorithm:\tAES - Advanced Encryption Standard (128 bit "
                           "keys).\n"
                           "\thash algorithm:\t\tSecure Hash Standard\n"
                           "\tauthentication method:\tPre-Shared Key\n"
                           "\tDiffie-Hellman group:\t#14 (2048 bit)\n"
                           "\tlifetime:\t\t86400 seconds, no volume limit\n"));
  EXPECT_THAT(p, HasSubstr("Default protection suite\n"));
  EXPECT_EQ(s_.Execute("show crypto isakmp key").output,
            "Keyring      Hostname/Address                            Preshared Key\n\n"
            "default      10.2.80.209/24                              kd94j1ksldz\n");
}

TEST_F(ShowSessionTest, CallAdmissionStatistics) {
  b_.cac.max_in_negotiation = 1000;
  b_.cac.ike_sas = 3;
  b_.cac.active = 2;
  b_.cac.negotiating = 1;
  b_.cac.half_open = 1000;
  b_.cac.half_open_peak = 1000;
  b_.cac.incoming = 30002;
  b_.cac.promoted = 2;
  b_.cac.evicted = 29000;
  b_.cac.no_proposal_sent = 9;
  b_.cac.no_proposal_suppressed = 1991;
  b_.cac.mm2_resent = 1400;
  b_.cac.mm2_resends_suppressed = 3600;
  b_.cac.ikev2_half_open = 1000;
  b_.cac.ikev2_limit = 1000;
  b_.cac.ikev2_cookie_threshold = 50;
  b_.cac.ikev2_cookies_sent = 20000;
  b_.cac.ikev2_cookies_valid = 4;
  b_.cac.ikev2_cookies_invalid = 1;
  b_.cac.ikev2_evicted = 3;
  // IOS's rule, title and columns (fields of 31, 18 and 18 characters, value right-aligned);
  // rows from "Half-open IKE SAs:" on are ikepulse's, in the same columns.
  const std::string rule(69, '-');
  EXPECT_EQ(s_.Execute("show crypto call admission statistics").output,
            rule + "\n               Crypto Call Admission Control Statistics\n" + rule +
                "\n"
                "System Resource Limit:        0 Max IKE SAs:     0 Max in nego:  1000\n"
                "Total IKE SA Count:           3 active:          2 negotiating:  1001\n"
                "Incoming IKE Requests:    30002 accepted:    30002 rejected:        0\n"
                "Half-open IKE SAs:         1000 peak:         1000 reached MM3:     2\n"
                "Half-open evicted:        29000 per source:      0 expired:         0\n"
                "NO_PROPOSAL_CHOSEN:           9 rate-limited: 1991\n"
                "Half-open MM2 resent:      1400 rate-limited: 3600\n"
                "IKEv2 half-open:           1000 max in nego:  1000 cookies from:   50\n"
                "IKEv2 COOKIE sent:        20000 valid:           4 invalid:         1\n"
                "IKEv2 evicted:                3\n");
  // An idle daemon: IOS's first rows as IOS prints them.
  FakeBackend idle;
  idle.cac.max_in_negotiation = 1000;
  Session quiet{idle};
  ASSERT_FALSE(quiet.Execute("enable").error);
  const std::string out = quiet.Execute("show crypto call admission statistics").output;
  EXPECT_THAT(out,
              HasSubstr("System Resource Limit:        0 Max IKE SAs:     0 Max in nego:  1000\n"
                        "Total IKE SA Count:           0 active:          0 negotiating:     0\n"
                        "Incoming IKE Requests:        0 accepted:        0 rejected:        0\n"));
  EXPECT_THAT(ShowJson(b_, "sh cry call adm stat"),
              HasSubstr("{\"max_in_negotiation\":1000,\"limit_configured\":false,"));
  EXPECT_THAT(ShowJson(b_, "sh cry call adm stat"), HasSubstr("\"evicted\":29000,"));
  EXPECT_THAT(ShowJson(b_, "sh cry call adm stat"),
              HasSubstr("\"mm2_resent\":1400,\"mm2_resends_suppressed\":3600,"));
  EXPECT_THAT(ShowJson(b_, "sh cry call adm stat"),
              HasSubstr("\"ikev2_half_open\":1000,\"ikev2_max_in_negotiation\":1000,"
                        "\"ikev2_cookie_threshold\":50,\"ikev2_cookies_sent\":20000,"
                        "\"ikev2_cookies_valid\":4,\"ikev2_cookies_invalid\":1,"
                        "\"ikev2_evicted\":3}"));
}

TEST_F(ShowSessionTest, Json) {
  EXPECT_EQ(ShowJson(b_, "show debugging"), "{\"crypto_isakmp\":false,\"crypto_ikev2\":false}");
  const std::string sa = ShowJson(b_, "sh cry isa sa");
  EXPECT_THAT(sa, HasSubstr("{\"isakmp_sas\":[{\"dst\":\"10.2.80.209\",\"src\":\"10.1.32.14\","));
  EXPECT_THAT(sa, HasSubstr("\"dpd\":{\"enabled\":true,\"active\":true,\"mode\":\"periodic\",\"interval_s\":10,"
                            "\"retry_s\":2,\"peer_supports\":true,\"last_heard_s_ago\":12,"
                            "\"probing\":true,\"outstanding\":2,\"next_seq\":11}"));
  EXPECT_THAT(ShowJson(b_, "show crypto ipsec sa"),
              HasSubstr("\"current_peer\":\"10.2.80.209\""));
  EXPECT_THAT(ShowJson(b_, "show crypto map"),
              HasSubstr("\"current_peer\":\"10.0.0.2\",\"transform_sets\":[\"Trans1\",\"txfm\"]"));
  EXPECT_THAT(ShowJson(b_, "show crypto isakmp policy"),
              HasSubstr("{\"priority\":1,\"encryption\":\"aes\",\"hash\":\"sha\""));
  EXPECT_EQ(ShowJson(b_, "show crypto session"), "{\"sessions\":[]}");
  EXPECT_THAT(ShowJson(b_, "show bogus"), HasSubstr("{\"error\":\"% Invalid input"));
  EXPECT_THAT(ShowJson(b_, "clear crypto sa"), HasSubstr("\"error\""));
  EXPECT_TRUE(b_.cleared_sas.empty());
  EXPECT_THAT(ShowJson(b_, "show crypto isakmp key"), HasSubstr("\"error\""));
  EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace ikepulse::cli

namespace ikepulse::cli {
namespace {

class SystemShowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ParseConfigText(
        "crypto ipsec transform-set Trans1 esp-aes esp-sha-hmac\n"
        "crypto ipsec transform-set T2 esp-3des esp-md5-hmac\n"
        " mode transport\n"
        "interface GigabitEthernet0/0\n"
        " ip address 198.51.100.1 255.255.255.0\n"
        "interface GigabitEthernet0/1\n"
        " shutdown\n"
        "interface Loopback0\n"
        "access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255\n"
        "access-list 101 deny ip any any\n"
        "ip access-list extended vpn\n"
        " permit udp host 10.0.0.1 any\n");
    ASSERT_TRUE(c.has_value());
    b_.running = *c;
    s_.Execute("enable");
  }
  FakeBackend b_;
  Session s_{b_};
};

TEST_F(SystemShowTest, Clock) {
  b_.wall_ms = 1796508902771;  // 2026-12-05 22:15:02.771 UTC, a Saturday
  EXPECT_EQ(s_.Execute("show clock").output, "*22:15:02.771 UTC Sat Dec 5 2026\n");
  Session user(b_);
  EXPECT_EQ(user.Execute("sh clo").output, "*22:15:02.771 UTC Sat Dec 5 2026\n");
}

TEST_F(SystemShowTest, AccessListsWithMatchCounters) {
  b_.acl_matches["101"] = {1234, 0};
  b_.acl_matches["vpn"] = {1};
  EXPECT_EQ(s_.Execute("show access-lists").output,
            "Extended IP access list 101\n"
            "    10 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255 (1234 matches)\n"
            "    20 deny ip any any\n"
            "Extended IP access list vpn\n"
            "    10 permit udp host 10.0.0.1 any (1 match)\n");
  EXPECT_EQ(s_.Execute("show access-lists vpn").output,
            "Extended IP access list vpn\n"
            "    10 permit udp host 10.0.0.1 any (1 match)\n");
}

TEST_F(SystemShowTest, TransformSets) {
  EXPECT_EQ(s_.Execute("show crypto ipsec transform-set").output,
            "Transform set T2: { esp-3des esp-md5-hmac  }\n"
            "   will negotiate = { Transport,  },\n\n"
            "Transform set Trans1: { esp-aes esp-sha-hmac  }\n"
            "   will negotiate = { Tunnel,  },\n\n");
  EXPECT_EQ(s_.Execute("show crypto ipsec transform-set tag Trans1").output,
            "Transform set Trans1: { esp-aes esp-sha-hmac  }\n"
            "   will negotiate = { Tunnel,  },\n\n");
}

TEST_F(SystemShowTest, IpInterfaceBrief) {
  b_.links["GigabitEthernet0/0"] = LinkState{true, true, std::nullopt};
  b_.links["Loopback0"] = LinkState{true, false, V4("127.0.0.1")};
  EXPECT_EQ(
      s_.Execute("show ip interface brief").output,
      "Interface                  IP-Address      OK? Method Status                Protocol\n"
      "GigabitEthernet0/0         198.51.100.1    YES manual up                    up\n"
      "GigabitEthernet0/1         unassigned      YES unset  administratively down down\n"
      "Loopback0                  127.0.0.1       YES unset  up                    down\n");
}

TEST_F(SystemShowTest, LoggingBufferAndClear) {
  b_.log.size = 8192;
  b_.log.logged = 2;
  b_.log.lines = {"*Dec  5 22:15:02.771: %CRYPTO-5-SESSION_STATUS: a",
                  "*Dec  5 22:15:03.001: %CRYPTO-5-SESSION_STATUS: b"};
  const std::string out = s_.Execute("show logging").output;
  EXPECT_THAT(out, HasSubstr("    Buffer logging:  level debugging, 2 messages logged"));
  EXPECT_THAT(out, HasSubstr("Log Buffer (8192 bytes):\n\n"
                             "*Dec  5 22:15:02.771: %CRYPTO-5-SESSION_STATUS: a\n"
                             "*Dec  5 22:15:03.001: %CRYPTO-5-SESSION_STATUS: b\n"));
  EXPECT_EQ(s_.Execute("clear logging").output, "");
  EXPECT_EQ(b_.clear_logging_calls, 1);
  b_.log.enabled = false;
  EXPECT_THAT(s_.Execute("show logging").output, HasSubstr("Buffer logging:  disabled"));
}

TEST_F(SystemShowTest, LoggingBufferedConfig) {
  s_.Execute("configure terminal");
  EXPECT_EQ(s_.Execute("logging buffered 16384").output, "");
  EXPECT_TRUE(b_.running.logging_buffered);
  EXPECT_EQ(b_.running.logging_buffer_size, 16384u);
  EXPECT_NE(RenderRunningConfig(b_.running).find("\nlogging buffered 16384\n"),
            std::string::npos);
  // Below IOS's minimum: refused, nothing changes.
  EXPECT_THAT(s_.Execute("logging buffered 100").output, HasSubstr("% Invalid input"));
  EXPECT_EQ(b_.running.logging_buffer_size, 16384u);
  s_.Execute("no logging buffered");
  EXPECT_FALSE(b_.running.logging_buffered);
  EXPECT_NE(RenderRunningConfig(b_.running).find("\nno logging buffered\n"), std::string::npos);
  auto round = ParseConfigText(RenderRunningConfig(b_.running));
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(*round, b_.running);
  s_.Execute("logging buffered");
  EXPECT_TRUE(b_.running.logging_buffered);
  EXPECT_EQ(b_.running.logging_buffer_size, config::kDefaultLoggingBufferSize);
  EXPECT_EQ(RenderRunningConfig(b_.running).find("logging"), std::string::npos);
}

}  // namespace
}  // namespace ikepulse::cli
