#include "cli/session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/config_util.h"
#include "cli/enable_secret.h"
#include "cli/fake_backend.h"

namespace ikepulse::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class SessionTest : public ::testing::Test {
 protected:
  // Enters global configuration mode.
  void Configure() {
    ASSERT_FALSE(s_.Execute("enable").error);
    ASSERT_FALSE(s_.Execute("configure terminal").error);
  }
  Session::Reply Run(std::string_view line) { return s_.Execute(line); }

  FakeBackend b_;
  Session s_{b_};
};

TEST_F(SessionTest, ModesAndPrompts) {
  EXPECT_EQ(s_.Prompt(), "Router>");
  EXPECT_FALSE(Run("enable").error);
  EXPECT_EQ(s_.Prompt(), "Router#");
  auto r = Run("conf t");
  EXPECT_EQ(r.output, "Enter configuration commands, one per line.  End with CNTL/Z.\n");
  EXPECT_EQ(s_.Prompt(), "Router(config)#");
  Run("crypto isakmp policy 10");
  EXPECT_EQ(s_.Prompt(), "Router(config-isakmp)#");
  Run("exit");
  EXPECT_EQ(s_.Prompt(), "Router(config)#");
  Run("crypto map green 1 ipsec-isakmp");
  EXPECT_EQ(s_.Prompt(), "Router(config-crypto-map)#");
  Run("interface eth0");  // a global command from a sub-mode: IOS moves there
  EXPECT_EQ(s_.Prompt(), "Router(config-if)#");
  Run("ip access-list extended VPN");
  EXPECT_EQ(s_.Prompt(), "Router(config-ext-nacl)#");
  Run("crypto ipsec transform-set T esp-aes esp-sha-hmac");
  EXPECT_EQ(s_.Prompt(), "Router(cfg-crypto-trans)#");
  Run("end");  // also what the shell sends for Ctrl-Z
  EXPECT_EQ(s_.Prompt(), "Router#");
  Run("configure terminal");
  Run("hostname edge1");
  EXPECT_EQ(s_.Prompt(), "edge1(config)#");
  Run("exit");
  EXPECT_EQ(s_.Prompt(), "edge1#");
  Run("disable");
  EXPECT_EQ(s_.Prompt(), "edge1>");
  auto bye = Run("exit");
  EXPECT_TRUE(bye.close);
}

TEST_F(SessionTest, UserExecCannotConfigure) {
  auto r = Run("configure terminal");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, std::string(7, ' ') + "^\n% Invalid input detected at '^' marker.\n\n");
  EXPECT_EQ(Run("foo").output,
            "% Unknown command or computer name, or unable to find computer address\n");
}

TEST_F(SessionTest, InvalidInputCaretAccountsForPrompt) {
  Configure();
  auto r = Run("crypto isakmp keepalive 5");
  EXPECT_TRUE(r.error);
  // "Router(config)#" is 15 characters; "5" starts at offset 24.
  EXPECT_EQ(r.output, std::string(39, ' ') + "^\n% Invalid input detected at '^' marker.\n\n");
  r = Run("crypto isakmp  keepalive 10 61");
  EXPECT_EQ(r.output, std::string(15 + 28, ' ') + "^\n% Invalid input detected at '^' marker.\n\n");
  r = Run("crypto isakmp keepalive 10 2 perodic");
  EXPECT_EQ(r.output, std::string(15 + 29, ' ') + "^\n% Invalid input detected at '^' marker.\n\n");
  Run("crypto isakmp policy 1");
  r = Run("encryption blowfish");
  // "Router(config-isakmp)#" is 22 characters.
  EXPECT_EQ(r.output, std::string(22 + 11, ' ') + "^\n% Invalid input detected at '^' marker.\n\n");
}

TEST_F(SessionTest, IncompleteAndAmbiguous) {
  Configure();
  auto r = Run("crypto isakmp keepalive");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, "% Incomplete command.\n\n");
  EXPECT_EQ(Run("crypto").output, "% Incomplete command.\n\n");
  EXPECT_EQ(Run("do sh cry i sa").output, "% Ambiguous command:  \"do sh cry i sa\"\n");
  Run("end");
  EXPECT_EQ(Run("c").output, "% Ambiguous command:  \"c\"\n");
  EXPECT_EQ(Run("sh cry i sa").output, "% Ambiguous command:  \"sh cry i sa\"\n");
  EXPECT_FALSE(Run("sh cry isa sa").error);
  EXPECT_EQ(Run("show").output, "% Incomplete command.\n\n");
}

TEST_F(SessionTest, KeepaliveThroughTheSession) {
  Configure();
  EXPECT_FALSE(Run("cry isa keep 10 per").error);
  EXPECT_EQ(b_.running.keepalive.interval_s, 10u);
  EXPECT_EQ(b_.running.keepalive.retry_s, 2u);
  EXPECT_EQ(b_.running.keepalive.mode, config::DpdMode::kPeriodic);
  EXPECT_THAT(RenderRunningConfig(b_.running), HasSubstr("crypto isakmp keepalive 10 periodic\n"));
  EXPECT_FALSE(Run("crypto isakmp keepalive 20 5").error);
  EXPECT_EQ(b_.running.keepalive.mode, config::DpdMode::kOnDemand);
  EXPECT_THAT(RenderRunningConfig(b_.running), HasSubstr("crypto isakmp keepalive 20 5\n"));
  EXPECT_FALSE(Run("crypto isakmp keepalive 20 on-demand").error);
  EXPECT_THAT(RenderRunningConfig(b_.running), HasSubstr("crypto isakmp keepalive 20\n"));
  // Rejected lines change nothing.
  const config::Config before = b_.running;
  const int applies = b_.apply_calls;
  for (const char* bad : {"crypto isakmp keepalive", "crypto isakmp keepalive 9",
                          "crypto isakmp keepalive 3601", "crypto isakmp keepalive 10 1",
                          "crypto isakmp keepalive 10 61", "crypto isakmp keepalive ten",
                          "crypto isakmp keepalive 10 2 periodic extra"}) {
    EXPECT_TRUE(Run(bad).error) << bad;
    EXPECT_TRUE(b_.running == before) << bad;
  }
  EXPECT_EQ(b_.apply_calls, applies);
  EXPECT_FALSE(Run("no crypto isakmp keepalive").error);
  EXPECT_FALSE(b_.running.keepalive.enabled);
  EXPECT_THAT(RenderRunningConfig(b_.running), ::testing::Not(HasSubstr("keepalive")));
}

TEST_F(SessionTest, RejectedLineKeepsModeAndConfig) {
  Configure();
  Run("crypto map green 1");
  ASSERT_EQ(s_.mode(), Mode::kConfigCryptoMap);
  const config::Config before = b_.running;
  auto r = Run("set peer 10.0.0.999");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(s_.mode(), Mode::kConfigCryptoMap);
  EXPECT_TRUE(b_.running == before);
  // The backend refusing a change: shown, nothing changed, mode kept.
  b_.refuse_apply = "% ikepulsed: cannot apply: interface eth9 does not exist";
  r = Run("hostname other");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, "% ikepulsed: cannot apply: interface eth9 does not exist\n");
  EXPECT_EQ(b_.running.hostname, "Router");
  EXPECT_EQ(s_.mode(), Mode::kConfigCryptoMap);
  r = Run("crypto isakmp policy 5");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(s_.mode(), Mode::kConfigCryptoMap);
}

TEST_F(SessionTest, NoForms) {
  Configure();
  for (const char* l :
       {"hostname gw", "crypto isakmp policy 1", "encr aes 256", "group 14", "exit",
        "crypto isakmp key secret1 address 192.0.2.1", "crypto isakmp nat keepalive 20",
        "crypto map m 10", "set peer 192.0.2.1", "set peer 192.0.2.2", "set pfs group14",
        "set transform-set T", "match address 101", "ikepulse keep-up",
        "set security-association lifetime seconds 1800", "interface eth0",
        "ip address 10.0.0.1 255.255.255.0", "crypto map m", "shutdown",
        "ikepulse nat-t force-encapsulation"}) {
    ASSERT_FALSE(Run(l).error) << l;
  }
  Run("crypto map m 10");
  for (const char* l : {"no set peer 192.0.2.1", "no set pfs", "no match address",
                        "no ikepulse keep-up", "no set security-association lifetime seconds",
                        "no set transform-set"}) {
    ASSERT_FALSE(Run(l).error) << l;
  }
  const auto& e = b_.running.crypto_maps.at(0);
  ASSERT_EQ(e.peers.size(), 1u);
  EXPECT_EQ(e.peers[0].host, "192.0.2.2");
  EXPECT_FALSE(e.pfs_group);
  EXPECT_TRUE(e.match_address.empty());
  EXPECT_FALSE(e.keep_up);
  EXPECT_FALSE(e.lifetime_s);
  EXPECT_TRUE(e.transform_sets.empty());
  Run("interface eth0");
  EXPECT_FALSE(Run("no shutdown").error);
  EXPECT_FALSE(Run("no crypto map").error);
  EXPECT_FALSE(Run("no ip address").error);
  EXPECT_FALSE(b_.running.interfaces[0].shutdown);
  EXPECT_FALSE(b_.running.interfaces[0].address);
  Run("crypto isakmp policy 1");
  EXPECT_FALSE(Run("no group").error);
  EXPECT_EQ(b_.running.policies.at(1).group, 1);
  Run("exit");
  for (const char* l :
       {"no hostname", "no crypto isakmp policy 1", "no crypto isakmp key secret1 address 192.0.2.1",
        "no crypto isakmp nat keepalive", "no crypto map m 10", "no interface eth0",
        "no ikepulse nat-t force-encapsulation"}) {
    ASSERT_FALSE(Run(l).error) << l;
  }
  EXPECT_TRUE(b_.running == config::Config{}) << RenderRunningConfig(b_.running);
  EXPECT_TRUE(Run("no crypto isakmp policy 1").error);
}

TEST_F(SessionTest, CryptoCallAdmissionLimit) {
  Configure();
  EXPECT_FALSE(Run("crypto call admission limit ike in-negotiation-sa 500").error);
  EXPECT_EQ(b_.running.cac_in_negotiation_sa, 500u);
  EXPECT_THAT(RenderRunningConfig(b_.running),
              HasSubstr("crypto call admission limit ike in-negotiation-sa 500\n"));
  // Out of range or incomplete: an error, and nothing changes.
  for (const char* l : {"crypto call admission limit ike in-negotiation-sa 9",
                        "crypto call admission limit ike in-negotiation-sa 100000",
                        "crypto call admission limit ike in-negotiation-sa",
                        "crypto call admission limit ike in-negotiation-sa x"}) {
    EXPECT_TRUE(Run(l).error) << l;
    EXPECT_EQ(b_.running.cac_in_negotiation_sa, 500u) << l;
  }
  EXPECT_FALSE(Run("crypto call admission limit ike in-negotiation-sa 99999").error);
  EXPECT_EQ(b_.running.cac_in_negotiation_sa, 99999u);
  EXPECT_FALSE(Run("no crypto call admission limit ike in-negotiation-sa 99999").error);
  EXPECT_EQ(b_.running.cac_in_negotiation_sa, 0u);
  EXPECT_FALSE(Run("crypto call admission limit ike in-negotiation-sa 10").error);
  EXPECT_FALSE(Run("no crypto call admission limit ike in-negotiation-sa").error);
  EXPECT_EQ(b_.running.cac_in_negotiation_sa, 0u);
  EXPECT_THAT(RenderRunningConfig(b_.running), Not(HasSubstr("call admission")));
}

// `ikepulse metrics listen A P` (ikepulse extension): set, rendered, replaced, removed; a bad
// address or port is an IOS-style error and changes nothing.
TEST_F(SessionTest, MetricsListen) {
  Configure();
  EXPECT_FALSE(Run("ikepulse metrics listen 127.0.0.1 9464").error);
  EXPECT_EQ(b_.running.metrics_address, IpAddress::V4(127, 0, 0, 1));
  EXPECT_EQ(b_.running.metrics_port, 9464);
  EXPECT_THAT(RenderRunningConfig(b_.running), HasSubstr("ikepulse metrics listen 127.0.0.1 9464\n"));
  for (const char* l : {"ikepulse metrics listen 127.0.0.1", "ikepulse metrics listen 127.0.0.1 0",
                        "ikepulse metrics listen 127.0.0.1 65536", "ikepulse metrics listen 300.1.1.1 80",
                        "ikepulse metrics listen"}) {
    EXPECT_TRUE(Run(l).error) << l;
    EXPECT_EQ(b_.running.metrics_port, 9464) << l;
  }
  EXPECT_FALSE(Run("ikepulse metrics listen 192.0.2.1 9100").error);
  EXPECT_THAT(RenderRunningConfig(b_.running), HasSubstr("ikepulse metrics listen 192.0.2.1 9100\n"));
  EXPECT_FALSE(Run("no ikepulse metrics listen").error);
  EXPECT_EQ(b_.running.metrics_port, 0);
  EXPECT_THAT(RenderRunningConfig(b_.running), Not(HasSubstr("metrics")));
}

TEST_F(SessionTest, DoRunsExecCommandsFromConfigModes) {
  Configure();
  Run("crypto isakmp policy 1");
  auto r = Run("do show running-config");
  EXPECT_FALSE(r.error);
  EXPECT_THAT(r.output, HasSubstr("crypto isakmp policy 1\n"));
  EXPECT_EQ(s_.Prompt(), "Router(config-isakmp)#");
  EXPECT_FALSE(Run("do debug crypto isakmp").error);
  EXPECT_TRUE(b_.debug_isakmp);
  EXPECT_FALSE(Run("do no debug crypto isakmp").error);
  EXPECT_FALSE(b_.debug_isakmp);
}

TEST_F(SessionTest, HelpListings) {
  Configure();
  EXPECT_EQ(s_.Help("crypto isakmp keepalive "),
            "  <10-3600>  Number of seconds between keep alives\n");
  EXPECT_EQ(s_.Help("crypto isakmp keepalive 10 "),
            "  <2-60>     Number of seconds between retries if keepalive fails\n"
            "  on-demand  Send keepalives on demand (default)\n"
            "  periodic   Send keepalives periodically\n"
            "  <cr>\n");
  EXPECT_EQ(s_.Help("crypto isakmp "),
            "  keepalive  Set a keepalive interval for use with IOS peers\n"
            "  key        Set pre-shared key for remote peer\n"
            "  nat        Set NAT traversal options\n"
            "  policy     Set policy for an ISAKMP protection suite\n");
  EXPECT_EQ(s_.Help("crypto isakmp k"), "keepalive  key\n");
  EXPECT_EQ(s_.Help("crypto isakmp x"), "% Unrecognized command\n");
  EXPECT_EQ(s_.Help("crypto isakmp keepalive 5 "),
            std::string(39, ' ') + "^\n% Invalid input detected at '^' marker.\n");
  // `no` lists only what can be negated.
  EXPECT_THAT(s_.Help("no "), HasSubstr("  crypto "));
  EXPECT_THAT(s_.Help("no "), ::testing::Not(HasSubstr("  do ")));
  EXPECT_EQ(s_.Help("no crypto isakmp keepalive "), "  <10-3600>  Number of seconds between keep alives\n  <cr>\n");
  Run("crypto isakmp policy 1");
  EXPECT_EQ(s_.Help("group "),
            "  1   Diffie-Hellman group 1 (768 bit)\n"
            "  2   Diffie-Hellman group 2 (1024 bit)\n"
            "  5   Diffie-Hellman group 5 (1536 bit)\n"
            "  14  Diffie-Hellman group 14 (2048 bit)\n"
            "  15  Diffie-Hellman group 15 (3072 bit)\n"
            "  16  Diffie-Hellman group 16 (4096 bit)\n"
            "  19  Diffie-Hellman group 19 (256 bit ecp)\n"
            "  20  Diffie-Hellman group 20 (384 bit ecp)\n"
            "  21  Diffie-Hellman group 21 (521 bit ecp)\n");
  Run("end");
  EXPECT_EQ(s_.Help("sh c"), "clock  crypto\n");
  EXPECT_EQ(s_.Help("c"), "clear  configure  copy\n");
  EXPECT_EQ(s_.Help("sh cry i"), "ikev2  ipsec  isakmp\n");
  EXPECT_EQ(s_.Help("show crypto isakmp sa "),
            "  detail  Show ISAKMP SA Detail\n  |       Output modifiers\n  <cr>\n");
}

TEST_F(SessionTest, TabCompletion) {
  Configure();
  EXPECT_THAT(s_.Complete("cry"), ElementsAre("crypto"));
  EXPECT_THAT(s_.Complete("crypto isakmp k"), ElementsAre("keepalive", "key"));
  EXPECT_THAT(s_.Complete("crypto isakmp keep"), ElementsAre("keepalive"));
  EXPECT_THAT(s_.Complete("crypto isakmp keepalive 10 p"), ElementsAre("periodic"));
  EXPECT_TRUE(s_.Complete("crypto isakmp ").empty());
  EXPECT_TRUE(s_.Complete("crypto xyz k").empty());
  EXPECT_THAT(s_.Complete("no cry"), ElementsAre("crypto"));
  Run("end");
  EXPECT_THAT(s_.Complete("sh"), ElementsAre("show"));
  EXPECT_THAT(s_.Complete("conf"), ElementsAre("configure"));
}

TEST_F(SessionTest, EnableSecretPrompt) {
  auto hash = HashEnableSecret("letmein");
  ASSERT_TRUE(hash);
  b_.running.enable_secret_hash = *hash;
  EXPECT_FALSE(Run("enable").error);
  EXPECT_TRUE(s_.password_prompt());
  EXPECT_EQ(s_.Prompt(), "Password: ");
  EXPECT_TRUE(Run("wrong").error);
  EXPECT_EQ(s_.Prompt(), "Password: ");
  EXPECT_FALSE(Run("letmein").error);
  EXPECT_EQ(s_.Prompt(), "Router#");
  Run("disable");
  Run("enable");
  Run("a");
  Run("b");
  auto r = Run("c");
  EXPECT_EQ(r.output, "% Bad secrets\n\n");
  EXPECT_EQ(s_.Prompt(), "Router>");
}

TEST_F(SessionTest, TerminalSettings) {
  EXPECT_EQ(s_.terminal_length(), 24);
  EXPECT_FALSE(s_.monitor());
  Run("terminal monitor");
  EXPECT_TRUE(s_.monitor());
  Run("term len 0");
  EXPECT_EQ(s_.terminal_length(), 0);
  EXPECT_TRUE(Run("terminal length 513").error);
  Run("terminal no monitor");
  EXPECT_FALSE(s_.monitor());
  Run("terminal no length");
  EXPECT_EQ(s_.terminal_length(), 24);
}

TEST_F(SessionTest, WriteMemoryAndCopy) {
  Configure();
  Run("hostname gw");
  Run("end");
  auto r = Run("write memory");
  EXPECT_EQ(r.output, "Building configuration...\n[OK]\n");
  EXPECT_EQ(b_.startup, RenderRunningConfig(b_.running));
  EXPECT_TRUE(ParseConfigText(b_.startup).has_value());
  b_.startup.clear();
  r = Run("copy running-config startup-config");
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(s_.Prompt(), "Destination filename [startup-config]? ");
  r = Run("");
  EXPECT_EQ(r.output, "Building configuration...\n[OK]\n");
  EXPECT_EQ(Run("show startup-config").output, b_.startup);
  b_.refuse_write = "disk full";
  r = Run("wr");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, "Building configuration...\n% disk full\n");
}

// IOS's questions: `configure` alone asks where from and Enter means terminal; a copy to
// another file name is refused and writes nothing; `?` and Tab offer nothing meanwhile.
TEST_F(SessionTest, ConfigureAndCopyQuestions) {
  Run("enable");
  EXPECT_EQ(Run("configure").output, "");
  EXPECT_EQ(s_.Prompt(), "Configuring from terminal, memory, or network [terminal]? ");
  EXPECT_EQ(s_.Help(""), "");
  auto r = Run("");
  EXPECT_EQ(r.output, "Enter configuration commands, one per line.  End with CNTL/Z.\n");
  EXPECT_EQ(s_.Prompt(), "Router(config)#");
  Run("end");
  Run("conf");
  EXPECT_EQ(Run("t").output, "Enter configuration commands, one per line.  End with CNTL/Z.\n");
  Run("end");
  Run("configure");
  r = Run("network");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(s_.Prompt(), "Router#");
  Run("copy running-config startup-config");
  r = Run("flash:backup");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, "%Error opening flash:backup (Permission denied)\n");
  EXPECT_EQ(b_.startup, "");
  EXPECT_EQ(s_.Prompt(), "Router#");
}

TEST_F(SessionTest, ClearAndDebug) {
  Run("enable");
  EXPECT_FALSE(Run("clear crypto session").error);
  EXPECT_FALSE(Run("clear crypto session remote 10.2.80.209 port 4500 ivrf blue").error);
  EXPECT_FALSE(Run("clear cry sess local 10.1.32.14 remote 10.2.80.209 fvrf red").error);
  EXPECT_TRUE(Run("clear crypto session remote 10.2.80.209 local 10.1.32.14").error);
  ASSERT_EQ(b_.cleared_sessions.size(), 3u);
  EXPECT_EQ(b_.cleared_sessions[0], ClearSessionFilter{});
  ClearSessionFilter f1;
  f1.remote = V4("10.2.80.209");
  f1.remote_port = 4500;
  f1.ivrf = "blue";
  EXPECT_EQ(b_.cleared_sessions[1], f1);
  ClearSessionFilter f2;
  f2.local = V4("10.1.32.14");
  f2.remote = V4("10.2.80.209");
  f2.fvrf = "red";
  EXPECT_EQ(b_.cleared_sessions[2], f2);

  Run("clear crypto sa");
  Run("clear crypto sa peer 10.0.0.1");
  Run("clear crypto sa map green");
  ASSERT_EQ(b_.cleared_sas.size(), 3u);
  EXPECT_EQ(b_.cleared_sas[1].kind, ClearSaFilter::Kind::kPeer);
  EXPECT_EQ(b_.cleared_sas[1].peer, V4("10.0.0.1"));
  EXPECT_EQ(b_.cleared_sas[2].map_name, "green");
  Run("clear crypto isakmp");
  Run("clear crypto isakmp 1001");
  EXPECT_THAT(b_.cleared_isakmp, ElementsAre(std::nullopt, std::optional<uint32_t>(1001)));

  EXPECT_EQ(Run("debug crypto isakmp").output, "Crypto ISAKMP debugging is on\n");
  EXPECT_TRUE(b_.debug_isakmp);
  EXPECT_EQ(Run("show debugging").output,
            "Cryptographic Subsystem:\n  Crypto ISAKMP debugging is on\n");
  EXPECT_EQ(Run("no debug crypto isakmp").output, "Crypto ISAKMP debugging is off\n");
  Run("debug crypto isakmp");
  EXPECT_EQ(Run("undebug all").output, "All possible debugging has been turned off\n");
  EXPECT_FALSE(b_.debug_isakmp);
  EXPECT_EQ(Run("show debugging").output, "");
}

TEST_F(SessionTest, SeedConfigTypedInteractively) {
  Configure();
  for (const char* l :
       {"crypto isakmp policy 1", " encryption aes", " authentication pre-share", " group 14",
        "crypto isakmp key kd94j1ksldz address 10.2.80.209 255.255.255.0",
        "crypto isakmp keepalive 10 periodic",
        "crypto ipsec transform-set Trans1 esp-aes esp-sha-hmac", "crypto map green 1 ipsec-isakmp",
        " set peer 10.0.0.1", " set peer 10.0.0.2", " set peer 10.0.0.3"}) {
    auto r = Run(l);
    ASSERT_FALSE(r.error) << l << ": " << r.output;
  }
  auto r = Run(" set transform-set txfm");
  EXPECT_FALSE(r.error);
  EXPECT_THAT(r.output, HasSubstr("transform set txfm is not defined"));
  EXPECT_FALSE(Run(" match address 101").error);
  EXPECT_EQ(b_.running.crypto_maps.at(0).peers.size(), 3u);
}

}  // namespace
}  // namespace ikepulse::cli

namespace ikepulse::cli {
namespace {

class GcmTransformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(s_.Execute("enable").error);
    ASSERT_FALSE(s_.Execute("configure terminal").error);
  }
  FakeBackend b_;
  Session s_{b_};
};

// `esp-gcm [128|256]` (AES-GCM-16): configured, rendered, listed. AES-GCM authenticates
// itself: IOS's parser offers no integrity transform with it, in either order, so one is
// "% Invalid input" at the integrity keyword (or at esp-gcm after one) and changes nothing.
TEST_F(GcmTransformTest, EspGcmKeywordRenderingHelpAndRefusedIntegrity) {
  EXPECT_FALSE(s_.Execute("crypto ipsec transform-set G1 esp-gcm").error);
  EXPECT_FALSE(s_.Execute("crypto ipsec transform-set G2 esp-gcm 256").error);
  EXPECT_FALSE(s_.Execute("crypto ipsec transform-set G3 esp-gcm 128").error);
  EXPECT_EQ(s_.Prompt(), "Router(cfg-crypto-trans)#");
  s_.Execute("exit");
  EXPECT_EQ(b_.running.transform_sets.at("G1").cipher, config::EspCipher::kAesGcm128);
  EXPECT_EQ(b_.running.transform_sets.at("G2").cipher, config::EspCipher::kAesGcm256);
  EXPECT_EQ(b_.running.transform_sets.at("G3").cipher, config::EspCipher::kAesGcm128);
  EXPECT_EQ(b_.running.transform_sets.at("G2").auth, config::EspAuth::kNone);
  const std::string rc = RenderRunningConfig(b_.running);
  EXPECT_THAT(rc, HasSubstr("crypto ipsec transform-set G1 esp-gcm\n"));
  EXPECT_THAT(rc, HasSubstr("crypto ipsec transform-set G2 esp-gcm 256\n"));
  EXPECT_THAT(rc, HasSubstr("crypto ipsec transform-set G3 esp-gcm\n"));
  // The rendered text parses back to the same configuration.
  auto back = ParseConfigText(rc);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->transform_sets == b_.running.transform_sets);

  const config::Config before = b_.running;
  const std::string prompt = s_.Prompt();
  const struct {
    const char* line;
    const char* bad;  // the token the caret points at
  } kRefused[] = {{"crypto ipsec transform-set G2 esp-gcm 256 esp-sha-hmac", "esp-sha-hmac"},
                  {"crypto ipsec transform-set G4 esp-gcm esp-sha256-hmac", "esp-sha256-hmac"},
                  {"crypto ipsec transform-set G4 esp-sha-hmac esp-gcm 256", "esp-gcm"}};
  for (const auto& t : kRefused) {
    SCOPED_TRACE(t.line);
    auto r = s_.Execute(t.line);
    EXPECT_TRUE(r.error);
    const size_t col = prompt.size() + std::string(t.line).rfind(t.bad);
    EXPECT_EQ(r.output, std::string(col, ' ') + "^\n% Invalid input detected at '^' marker.\n\n");
    EXPECT_TRUE(b_.running == before);
    EXPECT_EQ(s_.Prompt(), "Router(config)#");  // not in the transform-set sub-mode
  }
  // After esp-gcm [bits] `?` lists no esp-*-hmac; after an integrity transform, no esp-gcm.
  EXPECT_EQ(s_.Help("crypto ipsec transform-set T esp-gcm "),
            "  128   128 bit keys.\n"
            "  256   256 bit keys.\n"
            "  <cr>\n");
  EXPECT_EQ(s_.Help("crypto ipsec transform-set T esp-gcm 256 "), "  <cr>\n");
  EXPECT_THAT(s_.Help("crypto ipsec transform-set T esp-sha-hmac "), Not(HasSubstr("esp-gcm")));
  EXPECT_THAT(s_.Help("crypto ipsec transform-set T esp-sha-hmac "), HasSubstr("esp-aes"));
  EXPECT_THAT(s_.Help("crypto ipsec transform-set T esp-aes "), HasSubstr("esp-sha-hmac"));
  EXPECT_THAT(s_.Help("crypto ipsec transform-set T "), HasSubstr("esp-gcm"));
  EXPECT_THAT(s_.Help("crypto ipsec transform-set T esp-g"), HasSubstr("esp-gcm"));
  EXPECT_TRUE(s_.Execute("crypto ipsec transform-set T esp-gcm 192").error);  // IOS: 128|256
  s_.Execute("end");
  EXPECT_EQ(s_.Execute("show crypto ipsec transform-set tag G2").output, "Transform set G2: { esp-gcm 256  }\n"
            "   will negotiate = { Tunnel,  },\n\n");
}

}  // namespace
}  // namespace ikepulse::cli
