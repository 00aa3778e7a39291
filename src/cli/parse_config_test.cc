#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/config_util.h"
#include "cli/enable_secret.h"

namespace ikepulse::cli {
namespace {

// The seed's first example (site-to-site with periodic DPD), verbatim: two-space indents,
// blank lines, `!` separators, and an `interface` line whose name the source lost.
constexpr char kSeedSiteToSite[] = R"(crypto isakmp policy 1
  encryption aes
  authentication pre-share
  group 14
!

crypto isakmp key kd94j1ksldz address 10.2.80.209 255.255.255.0
crypto isakmp keepalive 10 periodic
crypto ipsec transform-set Trans1 esp-aes esp-sha-hmac

!
!
interface
  ip address 10.1.32.14 255.255.255.0
  speed auto

!
)";

// The seed's second example (crypto map with three peers), verbatim.
constexpr char kSeedCryptoMap[] = R"(crypto isakmp keepalive 10 periodic
crypto map green 1 ipsec-isakmp
  set peer 10.0.0.1
  set peer 10.0.0.2
  set peer 10.0.0.3
  set transform-set txfm
  match address 101
)";

TEST(ParseConfigTextTest, SeedCryptoMapVerbatim) {
  auto r = ParseConfigText(kSeedCryptoMap);
  ASSERT_TRUE(r.has_value()) << r.error().line << ":" << r.error().column << " "
                             << r.error().message;
  const config::Config& c = *r;
  EXPECT_TRUE(c.keepalive.enabled);
  EXPECT_EQ(c.keepalive.interval_s, 10u);
  EXPECT_EQ(c.keepalive.retry_s, 2u);
  EXPECT_EQ(c.keepalive.mode, config::DpdMode::kPeriodic);
  ASSERT_EQ(c.crypto_maps.size(), 1u);
  const auto& e = c.crypto_maps[0];
  EXPECT_EQ(e.map_name, "green");
  EXPECT_EQ(e.seq, 1u);
  ASSERT_EQ(e.peers.size(), 3u);
  EXPECT_EQ(e.peers[0].host, "10.0.0.1");
  EXPECT_EQ(e.peers[1].host, "10.0.0.2");
  EXPECT_EQ(e.peers[2].host, "10.0.0.3");
  EXPECT_EQ(e.peers[2].address, IpAddress::Parse("10.0.0.3"));
  EXPECT_EQ(e.transform_sets, std::vector<std::string>{"txfm"});  // undefined: a warning only
  EXPECT_EQ(e.match_address, "101");
}

// The seed lost the interface name in `interface`; IOS rejects a bare `interface` as
// incomplete, and so do we. With a name filled in, the whole example is accepted.
TEST(ParseConfigTextTest, SeedSiteToSiteBareInterfaceIsIncomplete) {
  auto r = ParseConfigText(kSeedSiteToSite);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().line, 13);
  EXPECT_EQ(r.error().message, "% Incomplete command.");
}

TEST(ParseConfigTextTest, SeedSiteToSiteWithInterfaceName) {
  std::string text = kSeedSiteToSite;
  text.replace(text.find("interface\n"), 10, "interface GigabitEthernet0/0\n");
  auto r = ParseConfigText(text);
  ASSERT_TRUE(r.has_value()) << r.error().line << ":" << r.error().column << " "
                             << r.error().message;
  const config::Config& c = *r;
  ASSERT_EQ(c.policies.size(), 1u);
  const auto& p = c.policies.at(1);
  EXPECT_EQ(p.encryption, config::Encryption::kAes128);
  EXPECT_EQ(p.authentication, config::AuthMethod::kPreShare);
  EXPECT_EQ(p.group, 14);
  EXPECT_EQ(p.hash, config::Hash::kSha1);
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(c.keys[0].key, SecretBytes::FromString("kd94j1ksldz"));
  EXPECT_EQ(c.keys[0].address, V4("10.2.80.209"));
  EXPECT_EQ(c.keys[0].mask, V4("255.255.255.0"));
  EXPECT_EQ(c.keepalive.mode, config::DpdMode::kPeriodic);
  ASSERT_NE(c.FindTransformSet("Trans1"), nullptr);
  EXPECT_EQ(c.FindTransformSet("Trans1")->cipher, config::EspCipher::kAes128);
  EXPECT_EQ(c.FindTransformSet("Trans1")->auth, config::EspAuth::kSha1);
  ASSERT_EQ(c.interfaces.size(), 1u);
  EXPECT_EQ(c.interfaces[0].name, "GigabitEthernet0/0");
  EXPECT_EQ(c.interfaces[0].address, V4("10.1.32.14"));
  EXPECT_EQ(c.interfaces[0].mask, V4("255.255.255.0"));
}

TEST(ParseConfigTextTest, ErrorsCarryLineColumnAndIosText) {
  auto r = ParseConfigText("hostname gw1\ncrypto isakmp keepalive 5\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), (CliError{2, 25, "% Invalid input detected at '^' marker."}));

  r = ParseConfigText("crypto isakmp keepalive\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().line, 1);
  EXPECT_EQ(r.error().message, "% Incomplete command.");

  r = ParseConfigText("crypto isakmp keepalive 10 61\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), (CliError{1, 28, "% Invalid input detected at '^' marker."}));

  r = ParseConfigText("crypto isakmp keepalive 10 2 sometimes\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().column, 30);

  r = ParseConfigText("cr is k 10\n");  // `k` is key or keepalive
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), (CliError{1, 7, "% Ambiguous command:  \"cr is k 10\""}));
}

TEST(ParseConfigTextTest, AbbreviationsEverywhere) {
  auto r = ParseConfigText(
      "cry isa pol 10\n encr aes 256\n ha sha256\n auth pre\n gr 19\n lif 3600\n"
      "cry isa keep 10 3 per\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& p = r->policies.at(10);
  EXPECT_EQ(p.encryption, config::Encryption::kAes256);
  EXPECT_EQ(p.hash, config::Hash::kSha256);
  EXPECT_EQ(p.authentication, config::AuthMethod::kPreShare);
  EXPECT_EQ(p.group, 19);
  EXPECT_EQ(p.lifetime_s, 3600u);
  EXPECT_EQ(r->keepalive.retry_s, 3u);
  EXPECT_EQ(r->keepalive.mode, config::DpdMode::kPeriodic);
}

TEST(ParseConfigTextTest, KeepaliveRules) {
  auto r = ParseConfigText("crypto isakmp keepalive 3600 60 on-demand\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->keepalive.interval_s, 3600u);
  EXPECT_EQ(r->keepalive.retry_s, 60u);
  EXPECT_EQ(r->keepalive.mode, config::DpdMode::kOnDemand);
  EXPECT_FALSE(ParseConfigText("crypto isakmp keepalive 9\n").has_value());
  EXPECT_FALSE(ParseConfigText("crypto isakmp keepalive 3601\n").has_value());
  EXPECT_FALSE(ParseConfigText("crypto isakmp keepalive 10 1\n").has_value());
  EXPECT_FALSE(ParseConfigText("crypto isakmp keepalive 10x\n").has_value());
  EXPECT_FALSE(ParseConfigText("crypto isakmp keepalive -10\n").has_value());
  r = ParseConfigText("crypto isakmp keepalive 10 periodic\nno crypto isakmp keepalive\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->keepalive, config::KeepaliveConfig{});
}

TEST(ParseConfigTextTest, SubModeFallbackAndExit) {
  auto r = ParseConfigText(
      "crypto map m 10\n set peer 192.0.2.1\nhostname edge\n set peer 192.0.2.2\n");
  // ` set peer` after `hostname` is not a global command: IOS left the sub-mode.
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().line, 4);
  EXPECT_EQ(r.error().column, 2);

  r = ParseConfigText("interface eth0\n ip address 10.0.0.1 255.255.255.0\n exit\n"
                      "interface eth1\n shutdown\n crypto map m\nend\ngarbage here\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->interfaces.size(), 2u);
  EXPECT_TRUE(r->interfaces[1].shutdown);
  EXPECT_EQ(r->interfaces[1].crypto_map, "m");
}

TEST(ParseConfigTextTest, PeersDefaultAndDynamic) {
  auto r = ParseConfigText(
      "crypto map m 1\n set peer 10.0.0.2\n set peer 10.0.0.1 default\n"
      " set peer vpn.example.net dynamic\n set peer 10.0.0.2\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& p = r->crypto_maps[0].peers;
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].host, "10.0.0.1");
  EXPECT_TRUE(p[0].is_default);
  EXPECT_EQ(p[1].host, "10.0.0.2");
  EXPECT_EQ(p[2].host, "vpn.example.net");
  EXPECT_TRUE(p[2].dynamic);
  EXPECT_FALSE(p[2].address.has_value());
  EXPECT_FALSE(ParseConfigText("crypto map m 1\n set peer 10.0.0.1 dynamic\n").has_value());
  EXPECT_FALSE(ParseConfigText("crypto map m 1\n set peer 10.0.0.300\n").has_value());
}

TEST(ParseConfigTextTest, AccessLists) {
  auto r = ParseConfigText(
      "access-list 101 permit ip 10.1.0.5 0.0.255.255 10.2.0.0 0.0.255.255\n"
      "access-list 101 deny udp host 1.2.3.4 any\n"
      "ip access-list extended VPN\n permit 50 any host 9.9.9.9\n deny icmp any any\n"
      " no deny icmp any any\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto* acl = r->FindAcl("101");
  ASSERT_NE(acl, nullptr);
  EXPECT_TRUE(acl->numbered);
  ASSERT_EQ(acl->entries.size(), 2u);
  EXPECT_EQ(acl->entries[0].src, V4("10.1.0.0"));  // wildcard bits cleared, as IOS does
  EXPECT_EQ(acl->entries[1].protocol, 17);
  EXPECT_FALSE(acl->entries[1].permit);
  const auto* named = r->FindAcl("VPN");
  ASSERT_NE(named, nullptr);
  EXPECT_FALSE(named->numbered);
  ASSERT_EQ(named->entries.size(), 1u);
  EXPECT_EQ(named->entries[0].protocol, 50);
  EXPECT_EQ(named->entries[0].dst_wildcard, V4("0.0.0.0"));
  EXPECT_FALSE(ParseConfigText("access-list 99 permit ip any any\n").has_value());
}

TEST(ParseConfigTextTest, TransformSetsAndMode) {
  auto r = ParseConfigText(
      "crypto ipsec transform-set A esp-aes 256 esp-sha512-hmac\n mode transport\n"
      "crypto ipsec transform-set B esp-sha-hmac esp-3des\n"
      "crypto ipsec transform-set C esp-null esp-md5-hmac\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->FindTransformSet("A")->cipher, config::EspCipher::kAes256);
  EXPECT_EQ(r->FindTransformSet("A")->mode, config::IpsecMode::kTransport);
  EXPECT_EQ(r->FindTransformSet("B")->cipher, config::EspCipher::k3Des);
  EXPECT_EQ(r->FindTransformSet("B")->auth, config::EspAuth::kSha1);
  EXPECT_EQ(r->FindTransformSet("C")->cipher, config::EspCipher::kNull);
}

TEST(ParseConfigTextTest, EnableSecretIsHashed) {
  auto r = ParseConfigText("enable secret s3cret word\n");
  ASSERT_TRUE(r.has_value());
  // Current IOS stores type 9 (scrypt): "$9$" + 14-character salt + "$" + 43 characters.
  EXPECT_EQ(r->enable_secret_hash.rfind("$9$", 0), 0u);
  EXPECT_EQ(r->enable_secret_hash.size(), 3u + 14 + 1 + 43);
  EXPECT_EQ(r->enable_secret_hash.find("s3cret"), std::string::npos);
  EXPECT_TRUE(VerifyEnableSecret("s3cret word", r->enable_secret_hash));
  EXPECT_FALSE(VerifyEnableSecret("s3cret", r->enable_secret_hash));
  EXPECT_NE(RenderRunningConfig(*r).find("enable secret 9 " + r->enable_secret_hash + "\n"),
            std::string::npos);
  auto again = ParseConfigText("enable secret 9 " + r->enable_secret_hash + "\n");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->enable_secret_hash, r->enable_secret_hash);
  EXPECT_FALSE(ParseConfigText("enable secret 5 notahash\n").has_value());
  EXPECT_FALSE(ParseConfigText("enable secret 9 $9$short$abc\n").has_value());
  // A type 9 hash is not a type 8 or 5 one.
  EXPECT_FALSE(ParseConfigText("enable secret 8 " + r->enable_secret_hash + "\n").has_value());
  EXPECT_FALSE(ParseConfigText("enable secret 5 " + r->enable_secret_hash + "\n").has_value());
}

// Published IOS hashes of the password "hashcat" (type 8: PBKDF2-HMAC-SHA256, 20000
// iterations; type 9: scrypt N=16384 r=1 p=1), both with IOS's base64 alphabet.
constexpr char kIosType8[] = "$8$TnGX/fE4KGHOVU$pEhnEvxrvaynpi8j4f.EMHr6M.FzU8xnZnBr/tJdFWk";
constexpr char kIosType9[] = "$9$2MJBozw/9R3UsU$2lFhcKvpghcyw8deP25GOfyZaagyUOGBymkryvOdfo6";

TEST(EnableSecretTest, IosType8And9Vectors) {
  EXPECT_EQ(HashEnableSecretWithSalt("hashcat", 8, "TnGX/fE4KGHOVU"), kIosType8);
  EXPECT_EQ(HashEnableSecretWithSalt("hashcat", 9, "2MJBozw/9R3UsU"), kIosType9);
  EXPECT_TRUE(VerifyEnableSecret("hashcat", kIosType8));
  EXPECT_TRUE(VerifyEnableSecret("hashcat", kIosType9));
  EXPECT_FALSE(VerifyEnableSecret("hashcaT", kIosType8));
  EXPECT_FALSE(VerifyEnableSecret("hashcaT", kIosType9));
  auto c = ParseConfigText(std::string("enable secret 8 ") + kIosType8 + "\n");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(RenderRunningConfig(*c).find(std::string("enable secret 8 ") + kIosType8),
            std::string::npos);
}

// Hashes written by older ikepulse versions ($6$) and IOS type 5 (MD5 $1$) still verify.
TEST(EnableSecretTest, OldType5HashesStillAccepted) {
  const std::string md5 = "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/";  // crypt("password")
  const std::string sha512 =
      "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2x"
      "S0ktL3nh/";  // crypt("password")
  for (const auto& h : {md5, sha512}) {
    auto c = ParseConfigText("enable secret 5 " + h + "\n");
    ASSERT_TRUE(c.has_value()) << h;
    EXPECT_TRUE(VerifyEnableSecret("password", c->enable_secret_hash));
    EXPECT_FALSE(VerifyEnableSecret("Password", c->enable_secret_hash));
    EXPECT_NE(RenderRunningConfig(*c).find("enable secret 5 " + h + "\n"), std::string::npos);
  }
}

}  // namespace
}  // namespace ikepulse::cli

namespace ikepulse::cli {
namespace {

// A whole configuration is loaded with indexes (O(1) per key line); the answer must be the
// one the line-by-line scan gives: a repeated (address, mask) replaces the key in place, a
// `no` removes it, and the positions after a removal stay right.
TEST(ParseConfigTextTest, KeyLinesReplaceRemoveAndKeepOrderAtAnySize) {
  auto c = ParseConfigText(
      "crypto isakmp key one address 10.0.0.1\n"
      "crypto isakmp key two address 10.0.0.2\n"
      "crypto isakmp key three address 10.0.0.3\n"
      "crypto isakmp key ONE address 10.0.0.1\n"
      "no crypto isakmp key one address 10.0.0.1\n"
      "crypto isakmp key THREE address 10.0.0.3\n"
      "crypto isakmp key net address 10.0.0.0 255.255.255.0\n"
      "crypto isakmp key one-again address 10.0.0.1\n");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  std::vector<std::string> got;
  for (const auto& k : c->keys)
    got.push_back(std::string(k.key.span().begin(), k.key.span().end()) + "@" +
                  k.address.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{"two@10.0.0.2", "THREE@10.0.0.3", "net@10.0.0.0",
                                           "one-again@10.0.0.1"}));
}

}  // namespace
}  // namespace ikepulse::cli
