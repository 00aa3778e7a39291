// The IKEv2 (IOS XE FlexVPN) configuration: every command's accepted, rejected and `no`
// forms through a Session, its running-config, the startup-config parser, and the shows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/fake_backend.h"
#include "cli/session.h"

namespace ikepulse::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kProposalNotice[] =
    "IKEv2 proposal MUST either have a set of an encryption algorithm other than aes-gcm, an "
    "integrity algorithm and a DH group configured or \n encryption algorithm aes-gcm, a prf "
    "algorithm and a DH group configured\n";
constexpr char kPolicyNotice[] = "IKEv2 policy MUST have atleast one complete proposal attached \n";
constexpr char kProfileNotice[] =
    "IKEv2 profile MUST have:\n"
    "   1. A local and a remote authentication method.\n"
    "   2. A match identity or a match certificate or match any statement.\n";

std::string Caret(int prompt_len, int offset) {
  return std::string(static_cast<size_t>(prompt_len + offset), ' ') +
         "^\n% Invalid input detected at '^' marker.\n\n";
}

class Ikev2ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(s_.Execute("enable").error);
    ASSERT_FALSE(s_.Execute("configure terminal").error);
  }
  Session::Reply Run(std::string_view line) { return s_.Execute(line); }
  // Runs lines that must all be accepted.
  void Ok(std::initializer_list<std::string_view> lines) {
    for (auto l : lines) {
      auto r = Run(l);
      ASSERT_FALSE(r.error) << l << ": " << r.output;
    }
  }
  // The running-config between the hostname block and `end`.
  std::string Running() { return RenderRunningConfig(b_.running); }
  // A refused line: exactly `error` (plus IOS's blank line), nothing changed.
  void Refused(std::string_view line, const std::string& error) {
    const config::Config before = b_.running;
    const std::string prompt = s_.Prompt();
    auto r = Run(line);
    EXPECT_TRUE(r.error) << line;
    EXPECT_EQ(r.output, error) << line;
    EXPECT_TRUE(b_.running == before) << line;
    EXPECT_EQ(s_.Prompt(), prompt) << line;
  }

  FakeBackend b_;
  Session s_{b_};
};

TEST_F(Ikev2ConfigTest, ProposalModeListsAndNoForms) {
  auto r = Run("crypto ikev2 proposal P1");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.output, kProposalNotice);
  EXPECT_EQ(s_.Prompt(), "Router(config-ikev2-proposal)#");
  Ok({"encryption aes-cbc-256 aes-cbc-128", "integrity sha256 sha1", "group 19 14",
      "encryption aes-cbc-256"});  // already listed: kept once, in place
  const auto& p = b_.running.ikev2_proposals.at("P1");
  EXPECT_TRUE(p.Complete());
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 proposal P1\n"
                                   " encryption aes-cbc-256 aes-cbc-128\n"
                                   " integrity sha256 sha1\n"
                                   " group 19 14\n"
                                   "!\n"));
  // Abbreviations, another line appends.
  Ok({"encr aes-gcm-128", "gr 21", "prf sha384"});
  EXPECT_THAT(Running(), HasSubstr(" encryption aes-cbc-256 aes-cbc-128 aes-gcm-128\n"
                                   " integrity sha256 sha1\n"
                                   " prf sha384\n"
                                   " group 19 14 21\n"));
  // GCM mixed with CBC: accepted, but the proposal is incomplete.
  EXPECT_FALSE(b_.running.ikev2_proposals.at("P1").Complete());
  Ok({"no encryption aes-gcm-128", "no group 21", "no prf"});
  EXPECT_TRUE(b_.running.ikev2_proposals.at("P1").Complete());
  Ok({"no integrity"});
  EXPECT_FALSE(b_.running.ikev2_proposals.at("P1").Complete());
  Ok({"exit"});
  EXPECT_EQ(s_.Prompt(), "Router(config)#");
  // Re-entering an incomplete proposal prints the notice again; a complete one does not.
  EXPECT_EQ(Run("crypto ikev2 proposal P1").output, kProposalNotice);
  Ok({"integrity sha512"});
  EXPECT_EQ(Run("crypto ikev2 proposal P1").output, "");
}

TEST_F(Ikev2ConfigTest, GcmProposalNeedsPrfAndNoIntegrity) {
  Ok({"crypto ikev2 proposal G", "encryption aes-gcm-256", "group 20"});
  EXPECT_FALSE(b_.running.ikev2_proposals.at("G").Complete());
  Ok({"prf sha512"});
  EXPECT_TRUE(b_.running.ikev2_proposals.at("G").Complete());
  // IOS takes the line; the proposal is incomplete again (not offered) until it goes.
  Ok({"integrity sha256"});
  EXPECT_FALSE(b_.running.ikev2_proposals.at("G").Complete());
  EXPECT_EQ(Run("crypto ikev2 proposal G").output, kProposalNotice);
  Ok({"no integrity sha256"});
  EXPECT_TRUE(b_.running.ikev2_proposals.at("G").Complete());
}

TEST_F(Ikev2ConfigTest, ProposalRejectedForms) {
  Ok({"crypto ikev2 proposal P1"});
  const int prompt = static_cast<int>(s_.Prompt().size());
  Refused("encryption aes-cbc-192", Caret(prompt, 11));
  Refused("encryption aes", "% Ambiguous command:  \"encryption aes\"\n");
  Refused("integrity md5", Caret(prompt, 10));
  Refused("group 24", Caret(prompt, 6));
  Refused("group 14 3", Caret(prompt, 9));
  Refused("encryption", "% Incomplete command.\n\n");
  Refused("prf", "% Incomplete command.\n\n");
}

TEST_F(Ikev2ConfigTest, ProposalHelpAndCompletion) {
  Ok({"crypto ikev2 proposal P1"});
  EXPECT_EQ(s_.Help("encryption "),
            "  aes-cbc-128  AES-CBC-128\n"
            "  aes-cbc-256  AES-CBC-256\n"
            "  aes-gcm-128  Combined-mode,128 bit key,16 byte ICV(Authentication Tag)\n"
            "  aes-gcm-256  Combined-mode,256 bit key,16 byte ICV(Authentication Tag)\n");
  EXPECT_THAT(s_.Help("encryption aes-cbc-128 "), HasSubstr("  <cr>\n"));
  EXPECT_EQ(s_.Help("group 1"), "1  14  15  16  19\n");
  EXPECT_EQ(s_.Help("integrity "),
            "  sha1    Secure Hash Standard\n"
            "  sha256  Secure Hash Standard 2 (256 bit)\n"
            "  sha384  Secure Hash Standard 2 (384 bit)\n"
            "  sha512  Secure Hash Standard 2 (512 bit)\n");
  EXPECT_THAT(s_.Complete("encryption aes-g"),
              ::testing::ElementsAre("aes-gcm-128", "aes-gcm-256"));
  EXPECT_THAT(s_.Complete("pr"), ::testing::ElementsAre("prf"));
  Ok({"end"});
  Ok({"configure terminal"});
  EXPECT_EQ(s_.Help("crypto ikev2 "),
            "  cookie-challenge  Set Cookie-challenge watermark\n"
            "  dpd               Enable IKE liveness check for peers\n"
            "  keyring           Define IKEv2 keyrings\n"
            "  limit             Limit the number of maximum and negotiating sa\n"
            "  policy            Define IKEv2 policies\n"
            "  profile           Define IKEv2 profiles\n"
            "  proposal          Define IKEv2 proposals\n");
  EXPECT_EQ(s_.Help("crypto ikev2 pro"), "profile  proposal\n");
}

TEST_F(Ikev2ConfigTest, PolicyReferencesExistingProposals) {
  auto r = Run("crypto ikev2 policy POL");
  EXPECT_EQ(r.output, kPolicyNotice);
  EXPECT_EQ(s_.Prompt(), "Router(config-ikev2-policy)#");
  Refused("proposal NOPE", "% IKEv2 proposal NOPE does not exist\n");
  Ok({"crypto ikev2 proposal B", "encryption aes-cbc-128", "integrity sha1", "group 14",
      "crypto ikev2 proposal A", "crypto ikev2 policy POL", "proposal B", "proposal A",
      "proposal B", "match address local 192.0.2.1", "match address local 192.0.2.9"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 policy POL\n"
                                   " match address local 192.0.2.1\n"
                                   " match address local 192.0.2.9\n"
                                   " proposal B\n"
                                   " proposal A\n"
                                   "!\n"));
  // A complete proposal attached: no notice.
  EXPECT_EQ(Run("crypto ikev2 policy POL").output, "");
  // A proposal in use cannot be removed.
  Refused("no crypto ikev2 proposal A", "% IKEv2 proposal A is in use by policy POL\n");
  Ok({"no proposal A", "no match address local 192.0.2.1"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 policy POL\n"
                                   " match address local 192.0.2.9\n"
                                   " proposal B\n!\n"));
  Ok({"exit", "no crypto ikev2 proposal A"});
  Ok({"crypto ikev2 policy POL", "no proposal", "no match address local"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 policy POL\n!\n"));
  Ok({"exit", "no crypto ikev2 policy POL"});
  EXPECT_TRUE(b_.running.ikev2_policies.empty());
  Refused("no crypto ikev2 policy POL", "% IKEv2 policy POL not found\n");
  Refused("no crypto ikev2 proposal Z", "% IKEv2 proposal Z not found\n");
  const int prompt = static_cast<int>(s_.Prompt().size());
  Ok({"crypto ikev2 policy P2"});
  const int sub = static_cast<int>(s_.Prompt().size());
  Refused("match address local 300.1.1.1", Caret(sub, 20));
  (void)prompt;
}

TEST_F(Ikev2ConfigTest, KeyringPeersKeysAndNesting) {
  Ok({"crypto ikev2 keyring KR"});
  EXPECT_EQ(s_.Prompt(), "Router(config-ikev2-keyring)#");
  Ok({"peer R2"});
  EXPECT_EQ(s_.Prompt(), "Router(config-ikev2-keyring-peer)#");
  Ok({"description branch two", "address 203.0.113.2", "pre-shared-key Cisco 123"});
  // Another keyring command from the peer sub-mode moves to that peer, as on IOS.
  Ok({"peer ANY"});
  EXPECT_EQ(s_.Prompt(), "Router(config-ikev2-keyring-peer)#");
  Ok({"address 0.0.0.0 0.0.0.0", "pre-shared-key local 0 local", "pre-shared-key remote r3m"});
  Ok({"exit"});
  EXPECT_EQ(s_.Prompt(), "Router(config-ikev2-keyring)#");
  Ok({"exit"});
  EXPECT_EQ(s_.Prompt(), "Router(config)#");
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 keyring KR\n"
                                   " peer R2\n"
                                   "  description branch two\n"
                                   "  address 203.0.113.2\n"
                                   "  pre-shared-key Cisco 123\n"
                                   " !\n"
                                   " peer ANY\n"
                                   "  address 0.0.0.0 0.0.0.0\n"
                                   "  pre-shared-key local local\n"
                                   "  pre-shared-key remote r3m\n"
                                   " !\n"
                                   "!\n"));
  const auto& kr = b_.running.ikev2_keyrings.at("KR");
  EXPECT_TRUE(kr.peers[0].LocalKey() == SecretBytes::FromString("Cisco 123"));
  EXPECT_TRUE(kr.peers[1].LocalKey() == SecretBytes::FromString("local"));
  EXPECT_TRUE(kr.peers[1].RemoteKey() == SecretBytes::FromString("r3m"));
  EXPECT_TRUE(kr.peers[1].Matches(IpAddress::V4(198, 51, 100, 7)));
  EXPECT_TRUE(kr.peers[0].Matches(IpAddress::V4(203, 0, 113, 2)));
  EXPECT_FALSE(kr.peers[0].Matches(IpAddress::V4(203, 0, 113, 3)));

  // Keys never appear in the shows (only in the running-config, as the ISAKMP keys).
  EXPECT_THAT(Run("do show crypto ikev2 profile").output, Not(HasSubstr("Cisco")));

  // Type 6 needs a master key ikepulse does not have; a key is required.
  Ok({"crypto ikev2 keyring KR", "peer R2"});
  Refused("pre-shared-key 6 AbCdEf",
          "% Type 6 (encrypted) keys need a master key, which is not supported: enter the key "
          "in clear text\n");
  Refused("pre-shared-key local", "% Incomplete command.\n\n");
  const int sub = static_cast<int>(s_.Prompt().size());
  Refused("address 203.0.113", Caret(sub, 8));
  // no forms
  Ok({"no pre-shared-key", "no description", "no address"});
  Ok({"peer ANY", "no pre-shared-key local", "no pre-shared-key remote"});
  Ok({"exit", "no peer R2"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 keyring KR\n"
                                   " peer ANY\n"
                                   "  address 0.0.0.0 0.0.0.0\n"
                                   " !\n"
                                   "!\n"));
  Ok({"exit", "no crypto ikev2 keyring KR"});
  EXPECT_TRUE(b_.running.ikev2_keyrings.empty());
  Refused("no crypto ikev2 keyring KR", "% IKEv2 keyring KR not found\n");
}

TEST_F(Ikev2ConfigTest, ProfileCommands) {
  auto r = Run("crypto ikev2 profile PR");
  EXPECT_EQ(r.output, kProfileNotice);
  EXPECT_EQ(s_.Prompt(), "Router(config-ikev2-profile)#");
  Refused("keyring local KR", "% IKEv2 keyring KR does not exist\n");
  Ok({"crypto ikev2 keyring KR", "crypto ikev2 profile PR",
      "match identity remote address 203.0.113.2 255.255.255.255",
      "match identity remote address 198.51.100.0 255.255.255.0",
      "match identity remote address 0.0.0.0", "identity local address 192.0.2.1",
      "authentication local pre-share", "auth remote pre-share", "keyring local KR",
      "dpd 10 2 periodic", "lifetime 3600"});
  EXPECT_TRUE(b_.running.ikev2_profiles.at("PR").Complete());
  EXPECT_EQ(Run("crypto ikev2 profile PR").output, "");
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 profile PR\n"
                                   " match identity remote address 203.0.113.2 255.255.255.255\n"
                                   " match identity remote address 198.51.100.0 255.255.255.0\n"
                                   " match identity remote address 0.0.0.0\n"
                                   " identity local address 192.0.2.1\n"
                                   " authentication remote pre-share\n"
                                   " authentication local pre-share\n"
                                   " keyring local KR\n"
                                   " lifetime 3600\n"
                                   " dpd 10 2 periodic\n"
                                   "!\n"));
  // IOS ranges.
  const int sub = static_cast<int>(s_.Prompt().size());
  Refused("dpd 9 2 periodic", Caret(sub, 4));
  Refused("dpd 3601 2 periodic", Caret(sub, 4));
  Refused("dpd 10 61 periodic", Caret(sub, 7));
  Refused("dpd 10 1 on-demand", Caret(sub, 7));
  Refused("dpd 10 2", "% Incomplete command.\n\n");
  Refused("lifetime 119", Caret(sub, 9));
  Refused("lifetime 86401", Caret(sub, 9));
  // IOS XE's help text for the keyword.
  EXPECT_THAT(s_.Help(""),
              HasSubstr("  lifetime        Set lifetime for ISAKMP security association\n"));
  Refused("authentication local rsa-sig", Caret(sub, 21));
  // A keyring in use cannot go.
  Refused("no crypto ikev2 keyring KR", "% IKEv2 keyring KR is in use by profile PR\n");
  // no forms back to the defaults (a default is not rendered).
  Ok({"dpd 3600 60 on-demand"});
  EXPECT_THAT(Running(), HasSubstr(" dpd 3600 60 on-demand\n"));
  Ok({"no dpd", "no lifetime", "no keyring local", "no identity local", "no authentication local",
      "no authentication remote pre-share", "no match identity remote address 0.0.0.0",
      "no match identity remote address 198.51.100.0 255.255.255.0"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 profile PR\n"
                                   " match identity remote address 203.0.113.2 255.255.255.255\n"
                                   "!\n"));
  EXPECT_FALSE(b_.running.ikev2_profiles.at("PR").Complete());
  Ok({"exit", "no crypto ikev2 profile PR"});
  EXPECT_TRUE(b_.running.ikev2_profiles.empty());
  Refused("no crypto ikev2 profile PR", "% IKEv2 profile PR not found\n");
}

TEST_F(Ikev2ConfigTest, FqdnIdentities) {
  Ok({"crypto ikev2 keyring KR", "peer SPOKE", "address 192.0.2.2",
      "identity fqdn spoke.example.net", "pre-shared-key SECRET", "exit", "exit",
      "crypto ikev2 profile PR", "match identity remote fqdn spoke.example.net",
      "match identity remote fqdn domain example.net",
      "match identity remote address 192.0.2.0 255.255.255.0",
      "identity local fqdn hub.example.net", "authentication local pre-share",
      "authentication remote pre-share", "keyring local KR"});
  EXPECT_TRUE(b_.running.ikev2_profiles.at("PR").Complete());
  EXPECT_THAT(Running(), HasSubstr(" peer SPOKE\n"
                                   "  address 192.0.2.2\n"
                                   "  identity fqdn spoke.example.net\n"
                                   "  pre-shared-key SECRET\n"
                                   " !\n"));
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 profile PR\n"
                                   " match identity remote fqdn spoke.example.net\n"
                                   " match identity remote fqdn domain example.net\n"
                                   " match identity remote address 192.0.2.0 255.255.255.0\n"
                                   " identity local fqdn hub.example.net\n"));
  // `?` help.
  EXPECT_THAT(s_.Help("match identity remote "),
              HasSubstr("  fqdn     Fully qualified domain name string\n"));
  EXPECT_THAT(s_.Help("match identity remote fqdn "),
              HasSubstr("  domain  Match the domain part of the FQDN\n"));
  EXPECT_THAT(s_.Help("identity local "), HasSubstr("  fqdn     fqdn\n"));
  // Shows.
  Ok({"end"});
  const std::string show = s_.Execute("show crypto ikev2 profile PR").output;
  EXPECT_THAT(show, HasSubstr("  Identities:\n"
                              "   fqdn spoke.example.net\n"
                              "   fqdn domain example.net\n"
                              "   address 192.0.2.0 255.255.255.0\n"));
  EXPECT_THAT(show, HasSubstr(" Local identity: fqdn hub.example.net\n"));
  Ok({"configure terminal", "crypto ikev2 profile PR"});
  // An address identity replaces the FQDN one and back; `no` forms.
  Ok({"identity local address 192.0.2.1"});
  EXPECT_TRUE(b_.running.ikev2_profiles.at("PR").identity_local_fqdn.empty());
  Ok({"identity local fqdn hub.example.net"});
  EXPECT_FALSE(b_.running.ikev2_profiles.at("PR").identity_local);
  Ok({"no identity local", "no match identity remote fqdn spoke.example.net",
      "no match identity remote fqdn domain example.net"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 profile PR\n"
                                   " match identity remote address 192.0.2.0 255.255.255.0\n"
                                   " authentication remote pre-share\n"));
  // Invalid names are refused and change nothing.
  Refused("match identity remote fqdn bad..name", "% Invalid FQDN: bad..name\n");
  Refused("match identity remote fqdn domain", "% Incomplete command.\n\n");
  Refused("identity local fqdn " + std::string(256, 'a'),
          "% Invalid FQDN: " + std::string(256, 'a') + "\n");
  Ok({"exit", "crypto ikev2 keyring KR", "peer SPOKE"});
  Refused("identity fqdn -a@b", "% Invalid FQDN: -a@b\n");
  Ok({"no identity fqdn"});
  EXPECT_TRUE(b_.running.ikev2_keyrings.at("KR").peers[0].identity_fqdn.empty());
}

TEST_F(Ikev2ConfigTest, GlobalDpd) {
  Ok({"crypto ikev2 dpd 10 2 on-demand"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 dpd 10 2 on-demand\n!\n"));
  Ok({"crypto ikev2 dpd 30 5 periodic"});
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 dpd 30 5 periodic\n"));
  EXPECT_EQ(b_.running.ikev2_dpd.mode, config::DpdMode::kPeriodic);
  const int p = static_cast<int>(s_.Prompt().size());
  Refused("crypto ikev2 dpd 5 2 periodic", Caret(p, 17));
  Refused("crypto ikev2 dpd 10 2 sometimes", Caret(p, 22));
  Refused("crypto ikev2 dpd 10", "% Incomplete command.\n\n");
  Ok({"no crypto ikev2 dpd"});
  EXPECT_THAT(Running(), Not(HasSubstr("ikev2")));
}

TEST_F(Ikev2ConfigTest, LimitAndCookieChallenge) {
  // IOS XE's keyword is spelled "max-in-negotation-sa" (its running-config and data model);
  // its help texts and ranges are IOS XE's (`limit`, `max-in-negotation-sa` <1-9999>,
  // `cookie-challenge`).
  EXPECT_EQ(s_.Help("crypto ikev2 limit "),
            "  max-in-negotation-sa  Limit the maximum number of negotiating SA\n");
  EXPECT_EQ(s_.Help("crypto ikev2 limit max-in-negotation-sa "),
            "  <1-9999>  Maximum number of in-negotiation sessions\n");
  EXPECT_EQ(s_.Help("crypto ikev2 cookie-challenge "),
            "  <1-1000>  Number of half-open IKE SAs that trigger cookie-challenge\n");
  Ok({"crypto ikev2 limit max-in-negotation-sa 200", "crypto ikev2 cookie-challenge 50"});
  EXPECT_EQ(b_.running.ikev2_max_in_negotiation_sa, 200u);
  EXPECT_EQ(b_.running.ikev2_cookie_challenge, 50u);
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 limit max-in-negotation-sa 200\n"
                                   "crypto ikev2 cookie-challenge 50\n"));
  const int p = static_cast<int>(s_.Prompt().size());
  Refused("crypto ikev2 cookie-challenge 0", Caret(p, 30));
  Refused("crypto ikev2 cookie-challenge 1001", Caret(p, 30));
  Refused("crypto ikev2 limit max-in-negotation-sa 10000", Caret(p, 40));
  Refused("crypto ikev2 limit max-in-negotation-sa", "% Incomplete command.\n\n");
  Refused("crypto ikev2 cookie-challenge", "% Incomplete command.\n\n");
  Ok({"crypto ikev2 limit max-in-negotation-sa 9999"});
  EXPECT_EQ(b_.running.ikev2_max_in_negotiation_sa, 9999u);
  Ok({"no crypto ikev2 cookie-challenge", "no crypto ikev2 limit max-in-negotation-sa"});
  EXPECT_EQ(b_.running.ikev2_max_in_negotiation_sa, 0u);
  EXPECT_EQ(b_.running.ikev2_cookie_challenge, 0u);
  EXPECT_THAT(Running(), Not(HasSubstr("ikev2")));
  Ok({"crypto ikev2 cookie-challenge 1", "no crypto ikev2 cookie-challenge 1"});
  EXPECT_EQ(b_.running.ikev2_cookie_challenge, 0u);
  // A unique prefix of IOS XE's keyword is enough, as on IOS.
  Ok({"crypto ikev2 lim max-in-negot 30"});
  EXPECT_EQ(b_.running.ikev2_max_in_negotiation_sa, 30u);
  // A startup-config with both lines reads back as written.
  auto cfg = ParseConfigText(
      "crypto ikev2 limit max-in-negotation-sa 10\n"
      "crypto ikev2 cookie-challenge 5\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->ikev2_max_in_negotiation_sa, 10u);
  EXPECT_EQ(cfg->ikev2_cookie_challenge, 5u);
}

// The dictionary spelling (Cisco's configuration guides, and ikepulse's earlier keyword) is
// still accepted when typed in full, and renders as IOS XE's; `?` and Tab offer only IOS XE's.
TEST_F(Ikev2ConfigTest, LimitDictionarySpellingIsAHiddenAlias) {
  Ok({"crypto ikev2 limit max-in-negotiation-sa 100"});
  EXPECT_EQ(b_.running.ikev2_max_in_negotiation_sa, 100u);
  EXPECT_THAT(Running(), HasSubstr("crypto ikev2 limit max-in-negotation-sa 100\n"));
  EXPECT_THAT(Running(), Not(HasSubstr("max-in-negotiation-sa")));
  EXPECT_EQ(s_.Help("crypto ikev2 limit max-in-negotiation-sa "),
            "  <1-9999>  Maximum number of in-negotiation sessions\n");
  EXPECT_EQ(s_.Help("crypto ikev2 limit max-in-negoti"), "% Unrecognized command\n");
  EXPECT_THAT(s_.Complete("crypto ikev2 limit max"),
              ::testing::ElementsAre("max-in-negotation-sa"));
  const int p = static_cast<int>(s_.Prompt().size());
  Refused("crypto ikev2 limit max-in-negotiation-sa 10000", Caret(p, 41));
  Ok({"no crypto ikev2 limit max-in-negotiation-sa"});
  EXPECT_EQ(b_.running.ikev2_max_in_negotiation_sa, 0u);
  auto cfg = ParseConfigText("crypto ikev2 limit max-in-negotiation-sa 10\n");
  ASSERT_TRUE(cfg.has_value());
  EXPECT_EQ(cfg->ikev2_max_in_negotiation_sa, 10u);
}

TEST_F(Ikev2ConfigTest, CryptoMapSetIkev2Profile) {
  Ok({"crypto map green 10 ipsec-isakmp"});
  Refused("set ikev2-profile PR", "% IKEv2 profile PR does not exist\n");
  Ok({"crypto ikev2 profile PR", "crypto map green 10", "set ikev2-profile PR",
      "set peer 192.0.2.2"});
  EXPECT_THAT(Running(), HasSubstr("crypto map green 10 ipsec-isakmp\n"
                                   " set peer 192.0.2.2\n"
                                   " set ikev2-profile PR\n"));
  EXPECT_EQ(b_.running.FindCryptoMap("green", 10)->ikev2_profile, "PR");
  Refused("no crypto ikev2 profile PR", "% IKEv2 profile PR is in use by crypto map green 10\n");
  EXPECT_THAT(Run("do show crypto map").output, HasSubstr("\tIKEv2 Profile: PR\n"));
  Ok({"no set ikev2-profile"});
  EXPECT_EQ(b_.running.FindCryptoMap("green", 10)->ikev2_profile, "");
  Ok({"no crypto ikev2 profile PR"});
}

TEST_F(Ikev2ConfigTest, ShowProposalPolicyProfile) {
  Ok({"crypto ikev2 proposal P1",
      "encryption aes-cbc-128",
      "integrity sha1",
      "group 16 14",
      "crypto ikev2 proposal G",
      "encryption aes-gcm-256",
      "prf sha512",
      "group 19",
      "crypto ikev2 policy POL",
      "proposal G",
      "proposal P1",
      "crypto ikev2 keyring KR",
      "peer X",
      "pre-shared-key s3cret",
      "crypto ikev2 profile PR",
      "match identity remote address 110.0.1.2 255.255.255.255",
      "authentication local pre-share",
      "authentication remote pre-share",
      "keyring local KR",
      "dpd 10 2 periodic",
      "crypto ikev2 profile Q",
      "end"});
  EXPECT_EQ(Run("show crypto ikev2 proposal").output,
            " IKEv2 proposal: G\n"
            "     Encryption : AES-GCM-256\n"
            "     Integrity  : none\n"
            "     PRF        : SHA512\n"
            "     DH Group   : DH_GROUP_256_ECP/Group 19\n"
            " IKEv2 proposal: P1\n"
            "     Encryption : AES-CBC-128\n"
            "     Integrity  : SHA96\n"
            "     PRF        : SHA1\n"
            "     DH Group   : DH_GROUP_4096_MODP/Group 16 DH_GROUP_2048_MODP/Group 14\n");
  EXPECT_EQ(Run("sh cry ikev2 propo P1").output.substr(0, 19), " IKEv2 proposal: P1");
  EXPECT_EQ(Run("show crypto ikev2 policy").output,
            " IKEv2 policy : POL\n"
            "      Match fvrf  : global\n"
            "      Match address local : any\n"
            "      Proposal    : G\n"
            "      Proposal    : P1\n"
            "\n");
  EXPECT_EQ(Run("show crypto ikev2 profile PR").output,
            "IKEv2 profile: PR\n"
            " Match criteria:\n"
            "  Identities:\n"
            "   address 110.0.1.2 255.255.255.255\n"
            " Local identity: none\n"
            " Local authentication method: pre-share\n"
            " Remote authentication method(s): pre-share\n"
            " Keyring: KR\n"
            " Lifetime: 86400 seconds\n"
            " DPD: interval 10, retry-interval 2, periodic\n");
  EXPECT_EQ(Run("show crypto ikev2 profile").output, Run("show crypto ikev2 profile PR").output +
                                                         "\n" +
                                                         "IKEv2 profile: Q\n"
                                                         " Match criteria:\n"
                                                         "  Identities: none\n"
                                                         " Local identity: none\n"
                                                         " Local authentication method: none\n"
                                                         " Remote authentication method(s): none\n"
                                                         " Keyring: none\n"
                                                         " Lifetime: 86400 seconds\n"
                                                         " DPD: disabled\n");
  EXPECT_EQ(Run("show crypto ikev2 profile NOPE").output, "");
  EXPECT_THAT(Run("show running-config").output, HasSubstr("  pre-shared-key s3cret\n"));

  EXPECT_EQ(ShowJson(b_, "show crypto ikev2 proposal G"),
            "{\"proposals\":[{\"name\":\"G\",\"encryption\":[\"aes-gcm-256\"],\"integrity\":[],"
            "\"prf\":[\"sha512\"],\"groups\":[19],\"complete\":true}]}");
  EXPECT_EQ(ShowJson(b_, "show crypto ikev2 policy"),
            "{\"policies\":[{\"name\":\"POL\",\"match_address_local\":[],"
            "\"proposals\":[\"G\",\"P1\"]}]}");
  EXPECT_EQ(ShowJson(b_, "show crypto ikev2 profile PR"),
            "{\"profiles\":[{\"name\":\"PR\",\"match_identity_remote\":[{\"address\":"
            "\"110.0.1.2\",\"mask\":\"255.255.255.255\"}],\"identity_local\":null,"
            "\"identity_local_fqdn\":null,"
            "\"authentication_local\":\"pre-share\",\"authentication_remote\":\"pre-share\","
            "\"keyring\":\"KR\",\"lifetime_s\":86400,\"dpd\":{\"interval_s\":10,\"retry_s\":2,"
            "\"mode\":\"periodic\"},\"complete\":true}]}");
  EXPECT_THAT(ShowJson(b_, "show crypto ikev2 profile"), Not(HasSubstr("s3cret")));
}

// The startup-config parser takes the FlexVPN site-to-site configuration verbatim (IOS
// indentation, `!` lines, sub-mode fallback) and renders it back identically.
TEST(Ikev2ParseTest, FlexVpnStartupConfigRoundTrip) {
  const char* text =
      "hostname BranchA\n"
      "crypto ikev2 proposal PROP\n"
      " encryption aes-cbc-256\n"
      " integrity sha256\n"
      " group 19 14\n"
      "!\n"
      "crypto ikev2 policy POL\n"
      " proposal PROP\n"
      "!\n"
      "crypto ikev2 keyring KR\n"
      " peer hub\n"
      "  address 192.0.2.2\n"
      "  pre-shared-key kd94j1ksldz\n"
      " !\n"
      " peer backup\n"
      "  address 192.0.2.3\n"
      "  pre-shared-key local 0 6\n"
      "  pre-shared-key remote other\n"
      "!\n"
      "crypto ikev2 profile PROF\n"
      " match identity remote address 192.0.2.2 255.255.255.255\n"
      " match identity remote address 192.0.2.3 255.255.255.255\n"
      " identity local address 192.0.2.1\n"
      " authentication remote pre-share\n"
      " authentication local pre-share\n"
      " keyring local KR\n"
      " dpd 10 2 periodic\n"
      "crypto ikev2 dpd 10 2 on-demand\n"
      "crypto ipsec transform-set T esp-aes esp-sha-hmac\n"
      "crypto map green 1 ipsec-isakmp\n"
      " set peer 192.0.2.2\n"
      " set peer 192.0.2.3\n"
      " set transform-set T\n"
      " set ikev2-profile PROF\n"
      " match address 101\n";
  auto c = ParseConfigText(text);
  ASSERT_TRUE(c.has_value()) << c.error().line << ": " << c.error().message;
  const auto& kr = c->ikev2_keyrings.at("KR");
  ASSERT_EQ(kr.peers.size(), 2u);
  EXPECT_EQ(kr.peers[0].name, "hub");
  EXPECT_TRUE(kr.peers[1].LocalKey() == SecretBytes::FromString("6"));
  EXPECT_EQ(c->FindCryptoMap("green", 1)->ikev2_profile, "PROF");
  const std::string rendered = RenderRunningConfig(*c);
  EXPECT_THAT(rendered, HasSubstr("crypto ikev2 proposal PROP\n"
                                  " encryption aes-cbc-256\n"
                                  " integrity sha256\n"
                                  " group 19 14\n"
                                  "!\n"
                                  "crypto ikev2 policy POL\n"
                                  " proposal PROP\n"
                                  "!\n"
                                  "crypto ikev2 keyring KR\n"
                                  " peer hub\n"
                                  "  address 192.0.2.2\n"
                                  "  pre-shared-key kd94j1ksldz\n"
                                  " !\n"
                                  " peer backup\n"
                                  "  address 192.0.2.3\n"
                                  "  pre-shared-key local 0 6\n"
                                  "  pre-shared-key remote other\n"
                                  " !\n"
                                  "!\n"
                                  "crypto ikev2 profile PROF\n"));
  auto again = ParseConfigText(rendered);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_TRUE(*again == *c);
  EXPECT_EQ(RenderRunningConfig(*again), rendered);
}

TEST(Ikev2ParseTest, ErrorsCarryLineAndIosText) {
  auto r = ParseConfigText("crypto ikev2 policy POL\n proposal MISSING\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().line, 2);
  EXPECT_EQ(r.error().message, "% IKEv2 proposal MISSING does not exist");
  r = ParseConfigText("crypto map m 1 ipsec-isakmp\n set ikev2-profile P\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "% IKEv2 profile P does not exist");
  r = ParseConfigText("crypto ikev2 profile P\n lifetime 100\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().line, 2);
  EXPECT_EQ(r.error().column, 11);
  EXPECT_EQ(r.error().message, "% Invalid input detected at '^' marker.");
}

}  // namespace
}  // namespace ikepulse::cli
