// The IKEv2 operational commands over FakeBackend: show crypto ikev2 sa / session (text and
// JSON), clear crypto ikev2 sa, debug crypto ikev2, and IKEv2 SAs in show crypto session.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/config_util.h"
#include "cli/fake_backend.h"
#include "cli/session.h"
#include "cli/show.h"
#include "cli/show_stream.h"

namespace ikepulse::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Sa = ike::Ikev2SaSnapshot;

Endpoint Ep(const char* ip, uint16_t port) { return Endpoint{V4(ip), port}; }

// An established initiator with AES-GCM, floated to 4500 behind the peer's NAT, DPD idle.
Sa ReadyGcm() {
  Sa sa;
  sa.tunnel_id = 1;
  sa.local = Ep("10.1.32.14", 4500);
  sa.remote = Ep("10.2.80.209", 4500);
  sa.status = Sa::Status::kReady;
  sa.initiator = true;
  sa.map_name = "green";
  sa.map_seq = 1;
  sa.profile = "PROF";
  sa.encryption = "AES-GCM";
  sa.key_size = 256;
  sa.prf = "SHA384";
  sa.integrity = "None";
  sa.dh_group = 20;
  sa.lifetime_s = 86400;
  sa.active_time_s = 640;
  sa.spi_local = 0x000D3669857A0F82ull;
  sa.spi_remote = 0xE0419B1DB02DE6AEull;
  sa.next_request_id = 7;
  sa.next_peer_request_id = 3;
  sa.nat_detected = true;
  sa.nat_remote = true;
  sa.floated = true;
  sa.dpd_enabled = true;
  sa.dpd_periodic = true;
  sa.dpd_interval_s = 10;
  sa.dpd_retry_s = 2;
  sa.dpd_active = true;
  sa.dpd_last_heard_s_ago = 4;
  ike::Ikev2ChildSnapshot c;
  c.local_net = V4("10.1.32.0");
  c.local_mask = V4("255.255.255.0");
  c.remote_net = V4("10.2.80.0");
  c.remote_mask = V4("255.255.255.0");
  c.spi_in = 0xC1F9226A;
  c.spi_out = 0x47C3D804;
  c.encryption = "AES-GCM";
  c.key_size = 256;
  c.esp_hmac = "None";
  sa.children = {c};
  return sa;
}

// A responder still negotiating (IKE_SA_INIT answered) with AES-CBC-256 / SHA256.
Sa InNegCbc() {
  Sa sa;
  sa.tunnel_id = 2;
  sa.local = Ep("10.1.32.14", 500);
  sa.remote = Ep("192.0.2.7", 500);
  sa.status = Sa::Status::kInNeg;
  sa.initiator = false;
  sa.encryption = "AES-CBC";
  sa.key_size = 256;
  sa.prf = "SHA256";
  sa.integrity = "SHA256";
  sa.dh_group = 14;
  sa.lifetime_s = 86400;
  sa.spi_local = 0x4CF87E32B25302C0ull;
  sa.spi_remote = 0x96254131FD306002ull;
  sa.next_request_id = 0;
  sa.next_peer_request_id = 1;
  sa.dpd_enabled = true;
  sa.dpd_interval_s = 30;
  sa.dpd_retry_s = 5;
  return sa;
}

const char kHeader[] =
    "Tunnel-id Local                 Remote                fvrf/ivrf            Status\n";
const char kReadyRows[] =
    "1         10.1.32.14/4500       10.2.80.209/4500      none/none            READY\n"
    "      Encr: AES-GCM, keysize: 256, PRF: SHA384, Hash: None, DH Grp:20, Auth sign: PSK, "
    "Auth verify: PSK\n"
    "      Life/Active Time: 86400/640 sec\n";
const char kReadyDetail[] =
    "      Status Description: Negotiation done\n"
    "      Local spi: 000D3669857A0F82       Remote spi: E0419B1DB02DE6AE\n"
    "      Local next msg id: 7              Remote next msg id: 3\n"
    "      Local window:      1              Remote window:      1\n"
    "      DPD configured for 10 seconds, retry 2\n"
    "      DPD mode: periodic, state: idle, last heard 4 s ago\n"
    "      NAT-T is detected outside\n"
    "      Initiator of SA : Yes\n";
const char kInNegRows[] =
    "2         10.1.32.14/500        192.0.2.7/500         none/none            IN-NEG\n"
    "      Encr: AES-CBC, keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:14, Auth sign: PSK, "
    "Auth verify: PSK\n"
    "      Life/Active Time: 86400/0 sec\n";
const char kInNegDetail[] =
    "      Local spi: 4CF87E32B25302C0       Remote spi: 96254131FD306002\n"
    "      Local next msg id: 0              Remote next msg id: 1\n"
    "      Local window:      1              Remote window:      1\n"
    "      DPD configured for 30 seconds, retry 5\n"
    "      DPD mode: on-demand, state: not running\n"
    "      NAT-T is not detected\n"
    "      Initiator of SA : No\n";
const char kChild[] =
    "Child sa: local selector  10.1.32.0/0 - 10.1.32.255/65535\n"
    "          remote selector 10.2.80.0/0 - 10.2.80.255/65535\n"
    "          ESP spi in/out: 0xC1F9226A/0x47C3D804\n";
const char kChildDetail[] =
    "          AH spi in/out: 0x0/0x0\n"
    "          CPI in/out: 0x0/0x0\n"
    "          Encr: AES-GCM, keysize: 256, esp_hmac: None\n"
    "          ah_hmac: None, comp: IPCOMP_NONE, mode tunnel\n";

class Ikev2OperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ParseConfigText(
        "crypto ikev2 proposal PROP\n encryption aes-gcm-256\n prf sha384\n group 20\n"
        "crypto ikev2 policy POL\n proposal PROP\n"
        "crypto ikev2 keyring KR\n peer hub\n  address 10.2.80.209\n  pre-shared-key k\n"
        "crypto ikev2 profile PROF\n match identity remote address 10.2.80.209 255.255.255.255\n"
        " authentication remote pre-share\n authentication local pre-share\n keyring local KR\n"
        "crypto ipsec transform-set T esp-aes 256 esp-sha-hmac\n"
        "crypto map green 1 ipsec-isakmp\n set peer 10.2.80.209\n set transform-set T\n"
        " set ikev2-profile PROF\n match address 101\n"
        "crypto map green 2 ipsec-isakmp\n set peer 10.9.9.9\n set transform-set T\n"
        " match address 102\n"
        "interface GigabitEthernet0/0\n ip address 10.1.32.14 255.255.255.0\n crypto map green\n"
        "access-list 101 permit ip 10.1.32.0 0.0.0.255 10.2.80.0 0.0.0.255\n"
        "access-list 102 permit ip 10.1.32.0 0.0.0.255 10.9.0.0 0.0.255.255\n");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    b_.running = *c;
    ASSERT_FALSE(s_.Execute("enable").error);
  }
  Session::Reply Run(std::string_view line) { return s_.Execute(line); }
  std::string Out(std::string_view line) {
    const Session::Reply r = s_.Execute(line);
    EXPECT_FALSE(r.error) << line << ": " << r.output;
    return r.output;
  }

  FakeBackend b_;
  Session s_{b_};
};

TEST_F(Ikev2OperTest, ShowSaWithNoOneAndTwoSas) {
  EXPECT_EQ(Out("show crypto ikev2 sa"), " IPv4 Crypto IKEv2  SA\n\n IPv6 Crypto IKEv2  SA\n\n");
  b_.ikev2_sas = {ReadyGcm()};
  EXPECT_EQ(Out("show crypto ikev2 sa"), std::string(" IPv4 Crypto IKEv2  SA\n\n") + kHeader +
                                             kReadyRows + "\n IPv6 Crypto IKEv2  SA\n\n");
  b_.ikev2_sas = {ReadyGcm(), InNegCbc()};
  const std::string two = std::string(" IPv4 Crypto IKEv2  SA\n\n") + kHeader + kReadyRows + "\n" +
                          kHeader + kInNegRows + "\n IPv6 Crypto IKEv2  SA\n\n";
  EXPECT_EQ(Out("show crypto ikev2 sa"), two);
  EXPECT_EQ(Out("sh cry ikev2 sa"), two);  // abbreviations
}

TEST_F(Ikev2OperTest, ShowSaDetailed) {
  EXPECT_EQ(Out("show crypto ikev2 sa detailed"),
            " IPv4 Crypto IKEv2  SA\n\n IPv6 Crypto IKEv2  SA\n\n");
  b_.ikev2_sas = {ReadyGcm()};
  EXPECT_EQ(Out("show crypto ikev2 sa detailed"), std::string(" IPv4 Crypto IKEv2  SA\n\n") +
                                                      kHeader + kReadyRows + kReadyDetail +
                                                      "\n IPv6 Crypto IKEv2  SA\n\n");
  b_.ikev2_sas = {ReadyGcm(), InNegCbc()};
  const std::string two = std::string(" IPv4 Crypto IKEv2  SA\n\n") + kHeader + kReadyRows +
                          kReadyDetail + "\n" + kHeader + kInNegRows + kInNegDetail +
                          "\n IPv6 Crypto IKEv2  SA\n\n";
  EXPECT_EQ(Out("show crypto ikev2 sa detailed"), two);
  EXPECT_EQ(Out("sh cry ikev2 sa det"), two);
}

TEST_F(Ikev2OperTest, ShowSaLocalAndRemoteFilters) {
  b_.ikev2_sas = {ReadyGcm(), InNegCbc()};
  EXPECT_EQ(Out("show crypto ikev2 sa remote 192.0.2.7"),
            std::string(" IPv4 Crypto IKEv2  SA\n\n") + kHeader + kInNegRows +
                "\n IPv6 Crypto IKEv2  SA\n\n");
  EXPECT_EQ(Out("show crypto ikev2 sa remote 10.2.80.209 detailed"),
            std::string(" IPv4 Crypto IKEv2  SA\n\n") + kHeader + kReadyRows + kReadyDetail +
                "\n IPv6 Crypto IKEv2  SA\n\n");
  EXPECT_EQ(Out("show crypto ikev2 sa remote 10.9.9.9"),
            " IPv4 Crypto IKEv2  SA\n\n IPv6 Crypto IKEv2  SA\n\n");
  EXPECT_EQ(Out("show crypto ikev2 sa local 10.1.32.14"), Out("show crypto ikev2 sa"));
  EXPECT_EQ(Out("show crypto ikev2 sa local 10.1.32.15"),
            " IPv4 Crypto IKEv2  SA\n\n IPv6 Crypto IKEv2  SA\n\n");
}

TEST_F(Ikev2OperTest, ShowSession) {
  EXPECT_EQ(Out("show crypto ikev2 session"),
            " IPv4 Crypto IKEv2 Session\n\n IPv6 Crypto IKEv2 Session\n\n");
  b_.ikev2_sas = {ReadyGcm()};
  EXPECT_EQ(Out("show crypto ikev2 session"),
            std::string(" IPv4 Crypto IKEv2 Session\n\n"
                        "Session-id:1, Status:UP-ACTIVE, IKE count:1, CHILD count:1\n\n") +
                kHeader + kReadyRows + kChild + "\n IPv6 Crypto IKEv2 Session\n\n");
  b_.ikev2_sas = {ReadyGcm(), InNegCbc()};
  const std::string two =
      std::string(
          " IPv4 Crypto IKEv2 Session\n\n"
          "Session-id:1, Status:UP-ACTIVE, IKE count:1, CHILD count:1\n\n") +
      kHeader + kReadyRows + kChild +
      "\nSession-id:2, Status:DOWN-NEGOTIATING, IKE count:1, CHILD count:0\n\n" + kHeader +
      kInNegRows + "\n IPv6 Crypto IKEv2 Session\n\n";
  EXPECT_EQ(Out("show crypto ikev2 session"), two);
  EXPECT_EQ(Out("sh cry ikev2 sess"), two);
}

TEST_F(Ikev2OperTest, ShowSessionDetailed) {
  EXPECT_EQ(Out("show crypto ikev2 session detailed"),
            " IPv4 Crypto IKEv2 Session\n\n IPv6 Crypto IKEv2 Session\n\n");
  b_.ikev2_sas = {ReadyGcm()};
  EXPECT_EQ(Out("show crypto ikev2 session detailed"),
            std::string(" IPv4 Crypto IKEv2 Session\n\n"
                        "Session-id:1, Status:UP-ACTIVE, IKE count:1, CHILD count:1\n\n") +
                kHeader + kReadyRows + kReadyDetail + kChild + kChildDetail +
                "\n IPv6 Crypto IKEv2 Session\n\n");
  // Two SAs to one peer (a replacement in progress): one session, ordered by tunnel id.
  Sa second = InNegCbc();
  second.tunnel_id = 5;
  second.remote = Ep("10.2.80.209", 500);
  b_.ikev2_sas = {ReadyGcm(), second};
  const std::string out = Out("show crypto ikev2 session detailed");
  EXPECT_THAT(out, HasSubstr("Session-id:1, Status:UP-ACTIVE, IKE count:2, CHILD count:1\n\n"));
  EXPECT_THAT(out, HasSubstr(std::string(kReadyDetail) + kHeader +
                             "5         10.1.32.14/500        10.2.80.209/500       none/none"
                             "            IN-NEG\n"));
  EXPECT_THAT(out, HasSubstr(std::string(kInNegDetail) + kChild + kChildDetail + "\n"));
}

TEST_F(Ikev2OperTest, UnknownSuiteBeforeIkeSaInitIsAnswered) {
  Sa sa;
  sa.tunnel_id = 9;
  sa.local = Ep("10.1.32.14", 500);
  sa.remote = Ep("10.2.80.209", 500);
  sa.initiator = true;
  sa.lifetime_s = 86400;
  b_.ikev2_sas = {sa};
  EXPECT_THAT(Out("show crypto ikev2 sa"),
              HasSubstr("      Encr: Unknown - 0, PRF: Unknown - 0, Hash: Unknown - 0, DH Grp:0, "
                        "Auth sign: PSK, Auth verify: PSK\n"));
}

TEST_F(Ikev2OperTest, Json) {
  EXPECT_EQ(ShowJson(b_, "show crypto ikev2 sa"), "{\"ikev2_sas\":[]}");
  EXPECT_EQ(ShowJson(b_, "show crypto ikev2 session"), "{\"ikev2_sessions\":[]}");
  b_.ikev2_sas = {ReadyGcm(), InNegCbc()};
  const std::string sa = ShowJson(b_, "sh cry ikev2 sa detailed");
  EXPECT_THAT(
      sa, HasSubstr("{\"ikev2_sas\":[{\"tunnel_id\":1,\"local\":\"10.1.32.14\",\"local_port\":4500,"
                    "\"remote\":\"10.2.80.209\",\"remote_port\":4500,\"status\":\"READY\","
                    "\"role\":\"initiator\",\"map_name\":\"green\",\"map_seq\":1,"
                    "\"profile\":\"PROF\",\"encryption\":\"AES-GCM\",\"key_size\":256,"
                    "\"prf\":\"SHA384\",\"integrity\":\"None\",\"dh_group\":20,"
                    "\"auth_sign\":\"PSK\",\"auth_verify\":\"PSK\",\"lifetime_s\":86400,"
                    "\"active_time_s\":640,\"spi_local\":\"000D3669857A0F82\","
                    "\"spi_remote\":\"E0419B1DB02DE6AE\",\"next_request_id\":7,"
                    "\"next_peer_request_id\":3,\"nat_detected\":true,\"nat_local\":false,"
                    "\"nat_remote\":true,\"floated\":true,\"fvrf\":\"\",\"ivrf\":\"\","
                    "\"dpd\":{\"enabled\":true,\"mode\":\"periodic\",\"interval_s\":10,"
                    "\"retry_s\":2,\"active\":true,\"probing\":false,\"probe_sends\":0,"
                    "\"last_heard_s_ago\":4},\"children\":[{\"local_net\":\"10.1.32.0\","
                    "\"local_mask\":\"255.255.255.0\",\"remote_net\":\"10.2.80.0\","
                    "\"remote_mask\":\"255.255.255.0\",\"protocol\":0,\"spi_in\":3254329962,"
                    "\"spi_out\":1204017156,\"encryption\":\"AES-GCM\",\"key_size\":256,"
                    "\"esp_hmac\":\"None\"}]},{\"tunnel_id\":2,"));
  EXPECT_THAT(sa, HasSubstr("\"status\":\"IN-NEG\",\"role\":\"responder\""));
  EXPECT_THAT(ShowJson(b_, "show crypto ikev2 sa remote 192.0.2.7"),
              ::testing::StartsWith("{\"ikev2_sas\":[{\"tunnel_id\":2,"));
  const std::string ses = ShowJson(b_, "show crypto ikev2 session");
  EXPECT_THAT(ses, HasSubstr("{\"ikev2_sessions\":[{\"session_id\":1,\"peer\":\"10.2.80.209\","
                             "\"status\":\"UP-ACTIVE\",\"ike_count\":1,\"child_count\":1,"
                             "\"sas\":[{\"tunnel_id\":1,"));
  EXPECT_THAT(ses, HasSubstr("{\"session_id\":2,\"peer\":\"192.0.2.7\","
                             "\"status\":\"DOWN-NEGOTIATING\",\"ike_count\":1,\"child_count\":0,"
                             "\"sas\":[{\"tunnel_id\":2,"));
}

TEST_F(Ikev2OperTest, ClearReachesTheBackend) {
  EXPECT_EQ(Out("clear crypto ikev2 sa"), "");
  Out("clear crypto ikev2 sa remote 192.0.2.7");
  Out("clear cry ikev2 sa loc 10.1.32.14");
  ClearIkev2SaFilter remote, local;
  remote.remote = V4("192.0.2.7");
  local.local = V4("10.1.32.14");
  EXPECT_THAT(b_.cleared_ikev2, ElementsAre(ClearIkev2SaFilter{}, remote, local));
  // Bad forms reach nothing.
  EXPECT_TRUE(Run("clear crypto ikev2 sa remote").error);
  EXPECT_EQ(Run("clear crypto ikev2 sa remote").output, "% Incomplete command.\n\n");
  EXPECT_TRUE(Run("clear crypto ikev2 sa remote 300.1.1.1").error);
  EXPECT_TRUE(Run("clear crypto ikev2 sa peer 10.0.0.1").error);
  EXPECT_TRUE(Run("clear crypto ikev2 sa remote 10.0.0.1 local 10.0.0.2").error);
  EXPECT_EQ(b_.cleared_ikev2.size(), 3u);
  // clear crypto session covers both versions: one backend call.
  Out("clear crypto session remote 10.2.80.209");
  ASSERT_EQ(b_.cleared_sessions.size(), 1u);
  EXPECT_EQ(b_.cleared_sessions[0].remote, V4("10.2.80.209"));
  EXPECT_EQ(b_.cleared_ikev2.size(), 3u);
}

TEST_F(Ikev2OperTest, DebugToggles) {
  EXPECT_EQ(Out("debug crypto ikev2"), "IKEv2 default debugging is on\n");
  EXPECT_TRUE(b_.debug_ikev2);
  EXPECT_FALSE(b_.debug_isakmp);
  EXPECT_EQ(Out("show debugging"), "Cryptographic Subsystem:\n  IKEv2 default debugging is on\n");
  Out("debug crypto isakmp");
  EXPECT_EQ(Out("show debugging"),
            "Cryptographic Subsystem:\n  Crypto ISAKMP debugging is on\n"
            "  IKEv2 default debugging is on\n");
  EXPECT_EQ(ShowJson(b_, "show debugging"), "{\"crypto_isakmp\":true,\"crypto_ikev2\":true}");
  EXPECT_EQ(Out("no debug crypto ikev2"), "IKEv2 default debugging is off\n");
  EXPECT_FALSE(b_.debug_ikev2);
  EXPECT_TRUE(b_.debug_isakmp);
  Out("deb cry ikev2");
  EXPECT_EQ(Out("undebug crypto ikev2"), "IKEv2 default debugging is off\n");
  EXPECT_FALSE(b_.debug_ikev2);
  Out("debug crypto ikev2");
  EXPECT_EQ(Out("undebug all"), "All possible debugging has been turned off\n");
  EXPECT_FALSE(b_.debug_ikev2);
  EXPECT_FALSE(b_.debug_isakmp);
  Out("debug crypto ikev2");
  Out("no debug all");
  EXPECT_FALSE(b_.debug_ikev2);
  EXPECT_EQ(Out("show debugging"), "");
  // From configuration mode with `do`.
  Out("configure terminal");
  Out("do debug crypto ikev2");
  EXPECT_TRUE(b_.debug_ikev2);
  Out("end");
}

TEST_F(Ikev2OperTest, HelpAndErrors) {
  EXPECT_EQ(s_.Help("show crypto ikev2 "),
            "  policy    Crypto IKEv2 Policy\n"
            "  profile   Shows ikev2 profiles\n"
            "  proposal  Crypto IKEv2 Proposal\n"
            "  sa        Shows ikev2 SAs\n"
            "  session   Shows ikev2 active session\n");
  EXPECT_EQ(s_.Help("show crypto ikev2 sa "),
            "  detailed  detail ikev2 SA information\n"
            "  local     Local Address\n"
            "  remote    Remote Address\n"
            "  |         Output modifiers\n"
            "  <cr>\n");
  EXPECT_EQ(s_.Help("show crypto ikev2 sa remote "), "  A.B.C.D  Remote IPv4 address\n");
  EXPECT_EQ(s_.Help("show crypto ikev2 sa remote 10.0.0.1 "),
            "  detailed  detail ikev2 SA information\n  |         Output modifiers\n  <cr>\n");
  EXPECT_EQ(s_.Help("show crypto ikev2 session "),
            "  detailed  detail ikev2 session information\n"
            "  |         Output modifiers\n"
            "  <cr>\n");
  EXPECT_EQ(s_.Help("clear crypto ikev2 sa "),
            "  local   Local Address\n  remote  Remote Address\n  <cr>\n");
  EXPECT_THAT(s_.Help("clear crypto "), HasSubstr("  ikev2    Clear IKEv2\n"));
  EXPECT_THAT(s_.Help("debug crypto "), HasSubstr("  ikev2   IKEv2 debug\n"));
  EXPECT_THAT(s_.Help("undebug crypto "), HasSubstr("  ikev2   IKEv2 debug\n"));
  EXPECT_EQ(s_.Help("show crypto ikev2 s"), "sa  session\n");

  const auto amb = Run("show crypto ikev2 s");
  EXPECT_TRUE(amb.error);
  EXPECT_EQ(amb.output, "% Ambiguous command:  \"show crypto ikev2 s\"\n");
  const auto bad = Run("show crypto ikev2 sa brief");
  EXPECT_TRUE(bad.error);
  EXPECT_THAT(bad.output, HasSubstr("% Invalid input detected at '^' marker.\n"));
  EXPECT_TRUE(Run("show crypto ikev2 sa detailed remote 10.0.0.1").error);
  EXPECT_TRUE(Run("show crypto ikev2 session detailed x").error);
  // Privileged EXEC only.
  Out("disable");
  EXPECT_TRUE(Run("show crypto ikev2 sa").error);
  EXPECT_TRUE(Run("clear crypto ikev2 sa").error);
  EXPECT_TRUE(b_.cleared_ikev2.empty());
}

// `show crypto session` lists an IKEv1 session and an IKEv2 SA (alone and with the IKEv1 SA).
class CryptoSessionBothVersions : public Ikev2OperTest {
 protected:
  static CryptoSessionInfo V1Session() {
    CryptoSessionInfo s;
    s.interface = "GigabitEthernet0/0";
    s.status = "UP-ACTIVE";
    s.peer = V4("10.9.9.9");
    s.phase1_id = "10.9.9.9";
    s.uptime_s = 612;
    CryptoSessionInfo::IkeSa ike;
    ike.local = V4("10.1.32.14");
    ike.remote = V4("10.9.9.9");
    ike.capabilities = "D";
    ike.conn_id = 1001;
    ike.lifetime_left_s = 85788;
    s.ike_sas = {ike};
    CryptoSessionInfo::Flow f;
    f.description = "permit ip 10.1.32.0/255.255.255.0 10.9.0.0/255.255.0.0";
    f.active_sas = 2;
    f.pkts_decrypted = 9;
    f.pkts_encrypted = 10;
    f.life_kb = 4608000;
    f.life_s = 3590;
    s.flows = {f};
    return s;
  }
  static constexpr char kV1[] =
      "Interface: GigabitEthernet0/0\n"
      "Session status: UP-ACTIVE\n"
      "Peer: 10.9.9.9 port 500\n"
      "  IKEv1 SA: local 10.1.32.14/500 remote 10.9.9.9/500 Active\n"
      "  IPSEC FLOW: permit ip 10.1.32.0/255.255.255.0 10.9.0.0/255.255.0.0\n"
      "        Active SAs: 2, origin: crypto map\n\n";
  static constexpr char kV2[] =
      "Interface: GigabitEthernet0/0\n"
      "Profile: PROF\n"
      "Session status: UP-ACTIVE\n"
      "Peer: 10.2.80.209 port 4500\n"
      "  Session ID: 1\n"
      "  IKEv2 SA: local 10.1.32.14/4500 remote 10.2.80.209/4500 Active\n"
      "  IPSEC FLOW: permit ip 10.1.32.0/255.255.255.0 10.2.80.0/255.255.255.0\n"
      "        Active SAs: 2, origin: crypto map\n\n";
};

TEST_F(CryptoSessionBothVersions, SeparatePeers) {
  b_.sessions = {V1Session()};
  b_.ikev2_sas = {ReadyGcm()};
  const std::string text = std::string("Crypto session current status\n\n") + kV1 + kV2;
  EXPECT_EQ(Out("show crypto session"), text);
  EXPECT_EQ(Out("sh cry sess"), text);
  EXPECT_EQ(Out("show crypto session detail"),
            "Crypto session current status\n\n"
            "Code: C - IKE Configuration mode, D - Dead Peer Detection\n"
            "K - Keepalives, N - NAT-traversal, T - cTCP encapsulation\n"
            "X - IKE Extended Authentication, F - IKE Fragmentation\n\n"
            "Interface: GigabitEthernet0/0\n"
            "Uptime: 0:10:12\n"
            "Session status: UP-ACTIVE\n"
            "Peer: 10.9.9.9 port 500 fvrf: (none) ivrf: (none)\n"
            "      Phase1_id: 10.9.9.9\n"
            "      Desc: (none)\n"
            "  IKEv1 SA: local 10.1.32.14/500 remote 10.9.9.9/500 Active\n"
            "          Capabilities:D connid:1001 lifetime:23:49:48\n"
            "  IPSEC FLOW: permit ip 10.1.32.0/255.255.255.0 10.9.0.0/255.255.0.0\n"
            "        Active SAs: 2, origin: crypto map\n"
            "        Inbound:  #pkts dec'ed 9 drop 0 life (KB/Sec) 4608000/3590\n"
            "        Outbound: #pkts enc'ed 10 drop 0 life (KB/Sec) 4608000/3590\n\n"
            "Interface: GigabitEthernet0/0\n"
            "Profile: PROF\n"
            "Uptime: 0:10:40\n"
            "Session status: UP-ACTIVE\n"
            "Peer: 10.2.80.209 port 4500 fvrf: (none) ivrf: (none)\n"
            "      Phase1_id: 10.2.80.209\n"
            "      Desc: (none)\n"
            "  Session ID: 1\n"
            "  IKEv2 SA: local 10.1.32.14/4500 remote 10.2.80.209/4500 Active\n"
            "          Capabilities:DN connid:1 lifetime:23:49:20\n"
            "  IPSEC FLOW: permit ip 10.1.32.0/255.255.255.0 10.2.80.0/255.255.255.0\n"
            "        Active SAs: 2, origin: crypto map\n\n");
  // Streamed a page of one peer at a time: the same text.
  Session streamed{b_};
  streamed.set_streaming(true);
  streamed.set_stream_page(1);
  ASSERT_FALSE(streamed.Execute("enable").error);
  Session::Reply r = streamed.Execute("show crypto session");
  std::string all = r.output;
  while (streamed.running()) all += streamed.Continue().output;
  EXPECT_EQ(all, text);

  const std::string json = ShowJson(b_, "show crypto session");
  EXPECT_THAT(json, HasSubstr("\"peer\":\"10.9.9.9\""));
  EXPECT_THAT(json, HasSubstr("\"ikev2_sas\":[],\"flows\":[{\"description\":\"permit ip "
                              "10.1.32.0/255.255.255.0 10.9.0.0/255.255.0.0\""));
  EXPECT_THAT(json, HasSubstr("\"peer\":\"10.2.80.209\",\"peer_port\":4500"));
  EXPECT_THAT(json, HasSubstr("\"ikev2_sas\":[{\"local\":\"10.1.32.14\",\"local_port\":4500,"
                              "\"remote\":\"10.2.80.209\",\"remote_port\":4500,"
                              "\"status\":\"READY\",\"capabilities\":\"DN\",\"tunnel_id\":1,"
                              "\"lifetime_left_s\":85760}],\"flows\":[{\"description\":"
                              "\"permit ip 10.1.32.0/255.255.255.0 10.2.80.0/255.255.255.0\","
                              "\"active_sas\":2,\"origin\":\"crypto map\"}]}"));
}

TEST_F(CryptoSessionBothVersions, OnePeerWithBothVersions) {
  // The IKEv1 SA is negotiating, the IKEv2 SA to the same peer is up: one session, UP-ACTIVE,
  // the backend's flows kept (none taken from the IKEv2 snapshot).
  CryptoSessionInfo v1 = V1Session();
  v1.status = "UP-NO-IKE";
  v1.ike_sas[0].state = "Negotiating";
  b_.sessions = {v1};
  Sa v2 = ReadyGcm();
  v2.remote = Ep("10.9.9.9", 4500);
  b_.ikev2_sas = {v2};
  EXPECT_EQ(Out("show crypto session"),
            "Crypto session current status\n\n"
            "Interface: GigabitEthernet0/0\n"
            "Profile: PROF\n"
            "Session status: UP-ACTIVE\n"
            "Peer: 10.9.9.9 port 500\n"
            "  IKEv1 SA: local 10.1.32.14/500 remote 10.9.9.9/500 Negotiating\n"
            "  Session ID: 1\n"
            "  IKEv2 SA: local 10.1.32.14/4500 remote 10.9.9.9/4500 Active\n"
            "  IPSEC FLOW: permit ip 10.1.32.0/255.255.255.0 10.9.0.0/255.255.0.0\n"
            "        Active SAs: 2, origin: crypto map\n\n");
  // An IKEv2 SA still negotiating, alone: DOWN-NEGOTIATING, no flow.
  b_.sessions.clear();
  b_.ikev2_sas = {InNegCbc()};
  EXPECT_EQ(Out("show crypto session"),
            "Crypto session current status\n\n"
            "Interface: GigabitEthernet0/0\n"
            "Session status: DOWN-NEGOTIATING\n"
            "Peer: 192.0.2.7 port 500\n"
            "  Session ID: 2\n"
            "  IKEv2 SA: local 10.1.32.14/500 remote 192.0.2.7/500 Negotiating\n\n");
}

}  // namespace
}  // namespace ikepulse::cli
