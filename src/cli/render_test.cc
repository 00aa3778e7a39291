#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/config_util.h"
#include "common/random.h"

namespace ikepulse::cli {
namespace {

TEST(RenderTest, SeedConfigInIosOrder) {
  auto r = ParseConfigText(
      "crypto isakmp policy 1\n encryption aes\n authentication pre-share\n group 14\n"
      "crypto isakmp key kd94j1ksldz address 10.2.80.209 255.255.255.0\n"
      "crypto isakmp keepalive 10 periodic\n"
      "crypto ipsec transform-set Trans1 esp-aes esp-sha-hmac\n"
      "crypto map green 1 ipsec-isakmp\n set peer 10.0.0.1\n set peer 10.0.0.2\n"
      " set peer 10.0.0.3\n set transform-set txfm\n match address 101\n"
      "interface GigabitEthernet0/0\n ip address 10.1.32.14 255.255.255.0\n crypto map green\n"
      "access-list 101 permit ip 10.1.32.0 0.0.0.255 10.2.80.0 0.0.0.255\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(RenderRunningConfig(*r),
            "!\n"
            "hostname Router\n"
            "!\n"
            "crypto isakmp policy 1\n"
            " encr aes\n"
            " authentication pre-share\n"
            " group 14\n"
            "crypto isakmp key kd94j1ksldz address 10.2.80.209 255.255.255.0\n"
            "crypto isakmp keepalive 10 periodic\n"
            "!\n"
            "crypto ipsec transform-set Trans1 esp-aes esp-sha-hmac\n"
            " mode tunnel\n"
            "!\n"
            "crypto map green 1 ipsec-isakmp\n"
            " set peer 10.0.0.1\n"
            " set peer 10.0.0.2\n"
            " set peer 10.0.0.3\n"
            " set transform-set txfm\n"
            " match address 101\n"
            "!\n"
            "interface GigabitEthernet0/0\n"
            " ip address 10.1.32.14 255.255.255.0\n"
            " crypto map green\n"
            "!\n"
            "access-list 101 permit ip 10.1.32.0 0.0.0.255 10.2.80.0 0.0.0.255\n"
            "!\n"
            "end\n");
}

TEST(RenderTest, KeepaliveOnDemandIsNotRenderedPeriodicIs) {
  auto od = ParseConfigText("crypto isakmp keepalive 30 on-demand\n");
  ASSERT_TRUE(od.has_value());
  EXPECT_NE(RenderRunningConfig(*od).find("crypto isakmp keepalive 30\n"), std::string::npos);
  EXPECT_EQ(RenderRunningConfig(*od).find("on-demand"), std::string::npos);
  auto p = ParseConfigText("crypto isakmp keepalive 30 5 periodic\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(RenderRunningConfig(*p).find("crypto isakmp keepalive 30 5 periodic\n"),
            std::string::npos);
  auto off = ParseConfigText("crypto isakmp keepalive 30\nno crypto isakmp keepalive\n");
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(RenderRunningConfig(*off).find("keepalive"), std::string::npos);
}

// A random valid configuration (every field the language can express).
config::Config RandomConfig(Random& rnd) {
  config::Config c;
  auto pick = [&](uint32_t n) { return rnd.Uniform(n); };
  auto ip = [&] { return IpAddress::V4FromU32(rnd.U32() | 0x01000000u); };
  auto name = [&](const char* prefix) { return std::string(prefix) + std::to_string(pick(50)); };
  if (pick(2)) c.hostname = name("gw-");
  if (pick(3) == 0) c.enable_secret_hash = "$6$abcdefgh$" + std::string(86, 'x');
  if (pick(3) == 0) c.enable_secret_hash = "$9$abcdefgh./AZ09$" + std::string(43, 'y');
  if (pick(4) == 0) c.logging_buffered = false;
  else if (pick(3) == 0) c.logging_buffer_size = config::kMinLoggingBufferSize + pick(1000000);
  for (uint32_t i = pick(4); i > 0; --i) {
    config::IsakmpPolicy p;
    p.priority = 1 + pick(10000);
    p.encryption = static_cast<config::Encryption>(pick(5));
    p.hash = static_cast<config::Hash>(pick(5));
    p.authentication = static_cast<config::AuthMethod>(pick(2));
    const uint16_t groups[] = {1, 2, 5, 14, 15, 16, 19, 20, 21};
    p.group = groups[pick(9)];
    p.lifetime_s = pick(2) ? 86400 : 60 + pick(86341);
    c.policies[p.priority] = p;
  }
  for (uint32_t i = pick(4); i > 0; --i) {
    config::PresharedKey k;
    k.key = SecretBytes::FromString(name("k3y") + "x");
    k.address = ip();
    k.mask = pick(2) ? HostMask() : IpAddress::V4FromU32(~0u << pick(32));
    bool dup = false;
    for (const auto& o : c.keys) dup = dup || (o.address == k.address && o.mask == k.mask);
    if (!dup) c.keys.push_back(k);
  }
  if (pick(2)) {
    c.keepalive.enabled = true;
    c.keepalive.interval_s = 10 + pick(3591);
    c.keepalive.retry_s = 2 + pick(59);
    c.keepalive.mode = static_cast<config::DpdMode>(pick(2));
  }
  if (pick(2)) c.nat_keepalive_s = 5 + pick(3596);
  c.force_encapsulation = pick(2);
  if (pick(2)) c.cac_in_negotiation_sa = 10 + pick(99990);
  // IKEv2: proposals, policies naming them, keyrings, profiles naming those (the crypto map
  // entries below may name a profile).
  for (uint32_t i = pick(3); i > 0; --i) {
    config::Ikev2Proposal p;
    p.name = name("PROP");
    for (uint32_t j = pick(4); j > 0; --j) {
      const auto e = static_cast<config::Ikev2Encryption>(pick(4));
      if (std::find(p.encryption.begin(), p.encryption.end(), e) == p.encryption.end())
        p.encryption.push_back(e);
    }
    for (auto* list : {&p.integrity, &p.prf})
      for (uint32_t j = pick(3); j > 0; --j) {
        const auto h = static_cast<config::Ikev2Hash>(pick(4));
        if (std::find(list->begin(), list->end(), h) == list->end()) list->push_back(h);
      }
    for (uint32_t j = pick(4); j > 0; --j) {
      const uint16_t g = std::vector<uint16_t>{1, 2, 5, 14, 15, 16, 19, 20, 21}[pick(9)];
      if (std::find(p.groups.begin(), p.groups.end(), g) == p.groups.end()) p.groups.push_back(g);
    }
    c.ikev2_proposals[p.name] = p;
  }
  for (uint32_t i = pick(3); i > 0; --i) {
    config::Ikev2Policy pol;
    pol.name = name("POL");
    for (const auto& [n, p] : c.ikev2_proposals)
      if (pick(2))
        pol.proposals.insert(
            pol.proposals.begin() + pick(static_cast<uint32_t>(pol.proposals.size()) + 1), n);
    for (uint32_t j = pick(3); j > 0; --j) {
      const IpAddress a = ip();
      if (std::find(pol.match_address_local.begin(), pol.match_address_local.end(), a) ==
          pol.match_address_local.end())
        pol.match_address_local.push_back(a);
    }
    c.ikev2_policies[pol.name] = pol;
  }
  // Keys a renderer could misread as keywords, spaces inside, or plain.
  const std::vector<std::string> keys = {"Cisco123", "0", "6",      "0 lead", "local", "Lo x",
                                         "remote",   "r", "a  b c", "6six",   "zero0", "!bang"};
  for (uint32_t i = pick(3); i > 0; --i) {
    config::Ikev2Keyring k;
    k.name = name("KR");
    for (uint32_t j = pick(4); j > 0; --j) {
      config::Ikev2KeyringPeer p;
      p.name = name("peer");
      bool dup = false;
      for (const auto& o : k.peers) dup = dup || o.name == p.name;
      if (dup) continue;
      if (pick(2)) p.description = pick(2) ? "hub site" : "branch  " + name("b");
      if (pick(3)) p.address = ip();
      if (p.address && pick(2)) p.mask = IpAddress::V4FromU32(~0u << pick(32));
      if (pick(2)) p.pre_shared_key = SecretBytes::FromString(keys[pick(12)]);
      if (pick(3) == 0) p.pre_shared_key_local = SecretBytes::FromString(keys[pick(12)]);
      if (pick(3) == 0) p.pre_shared_key_remote = SecretBytes::FromString(keys[pick(12)]);
      k.peers.push_back(p);
    }
    c.ikev2_keyrings[k.name] = k;
  }
  for (uint32_t i = pick(3); i > 0; --i) {
    config::Ikev2Profile p;
    p.name = name("PROF");
    for (uint32_t j = pick(3); j > 0; --j) {
      config::Ikev2IdentityMatch m;
      m.address = ip();
      if (pick(2)) m.mask = IpAddress::V4FromU32(~0u << pick(32));
      if (std::find(p.match_identity_remote.begin(), p.match_identity_remote.end(), m) ==
          p.match_identity_remote.end())
        p.match_identity_remote.push_back(m);
    }
    if (pick(2)) p.identity_local = ip();
    if (pick(2)) p.authentication_local = config::AuthMethod::kPreShare;
    if (pick(2)) p.authentication_remote = config::AuthMethod::kPreShare;
    if (!c.ikev2_keyrings.empty() && pick(2)) {
      auto it = c.ikev2_keyrings.begin();
      std::advance(it, pick(static_cast<uint32_t>(c.ikev2_keyrings.size())));
      p.keyring_local = it->first;
    }
    if (pick(2)) {
      p.dpd.enabled = true;
      p.dpd.interval_s = 10 + pick(3591);
      p.dpd.retry_s = 2 + pick(59);
      p.dpd.mode = static_cast<config::DpdMode>(pick(2));
    }
    if (pick(2)) p.lifetime_s = 120 + pick(86281);
    c.ikev2_profiles[p.name] = p;
  }
  if (pick(2)) {
    c.ikev2_dpd.enabled = true;
    c.ikev2_dpd.interval_s = 10 + pick(3591);
    c.ikev2_dpd.retry_s = 2 + pick(59);
    c.ikev2_dpd.mode = static_cast<config::DpdMode>(pick(2));
  }
  for (uint32_t i = pick(3); i > 0; --i) {
    config::TransformSet t;
    t.name = name("TS");
    t.cipher = static_cast<config::EspCipher>(pick(6));
    t.auth = static_cast<config::EspAuth>(pick(6));
    if (t.cipher == config::EspCipher::kNone && t.auth == config::EspAuth::kNone)
      t.auth = config::EspAuth::kSha256;
    t.mode = static_cast<config::IpsecMode>(pick(2));
    c.transform_sets[t.name] = t;
  }
  for (uint32_t i = pick(4); i > 0; --i) {
    bool created = false;
    auto& e = GetOrCreateCryptoMap(c, name("map"), 1 + pick(65535), &created);
    if (!created) continue;
    for (uint32_t j = pick(4); j > 0; --j) {
      config::CryptoMapPeer p;
      if (pick(3) == 0) {
        p.host = name("peer") + ".example.net";
        p.dynamic = pick(2);
      } else {
        p.address = ip();
        p.host = p.address->ToString();
      }
      bool dup = false;
      for (const auto& o : e.peers) dup = dup || o.host == p.host;
      if (!dup) e.peers.push_back(p);
    }
    if (!e.peers.empty() && pick(3) == 0) e.peers[0].is_default = true;
    for (uint32_t j = pick(4); j > 0; --j) {
      std::string t = name("TS");
      if (std::find(e.transform_sets.begin(), e.transform_sets.end(), t) ==
          e.transform_sets.end())
        e.transform_sets.push_back(t);
    }
    if (pick(2)) e.match_address = pick(2) ? std::to_string(100 + pick(100)) : name("ACL");
    if (pick(2)) e.pfs_group = std::vector<uint16_t>{1, 2, 5, 14, 15, 16, 19, 20, 21}[pick(9)];
    if (pick(2)) e.lifetime_s = 120 + pick(86281);
    if (pick(2)) e.lifetime_kb = 2560 + rnd.U32() % (4294967295u - 2560);
    e.keep_up = pick(2);
    if (!c.ikev2_profiles.empty() && pick(2)) {
      auto it = c.ikev2_profiles.begin();
      std::advance(it, pick(static_cast<uint32_t>(c.ikev2_profiles.size())));
      e.ikev2_profile = it->first;
    }
  }
  for (uint32_t i = pick(3); i > 0; --i) {
    config::Interface itf;
    itf.name = "eth" + std::to_string(i);
    if (pick(3)) {
      itf.address = ip();
      itf.mask = IpAddress::V4FromU32(~0u << pick(31));
    }
    if (pick(2)) itf.crypto_map = name("map");
    itf.shutdown = pick(4) == 0;
    c.interfaces.push_back(itf);
  }
  for (uint32_t i = pick(4); i > 0; --i) {
    const bool numbered = pick(2);
    std::string n = numbered ? std::to_string(100 + pick(100)) : name("ACL");
    auto& acl = GetOrCreateAcl(c, n);
    for (uint32_t j = pick(4); j > 0; --j) {
      config::AclEntry e;
      e.permit = pick(2);
      e.protocol = static_cast<uint8_t>(pick(3) == 0 ? pick(256) : 0);
      auto operand = [&](IpAddress& a, IpAddress& w) {
        switch (pick(3)) {
          case 0: a = IpAddress::V4(0, 0, 0, 0); w = IpAddress::V4(255, 255, 255, 255); break;
          case 1: a = ip(); w = IpAddress::V4(0, 0, 0, 0); break;
          default: {
            const uint32_t wild = (1u << (1 + pick(24))) - 1;
            w = IpAddress::V4FromU32(wild);
            a = IpAddress::V4FromU32(ip().V4ToU32() & ~wild);
          }
        }
      };
      operand(e.src, e.src_wildcard);
      operand(e.dst, e.dst_wildcard);
      if (std::find(acl.entries.begin(), acl.entries.end(), e) == acl.entries.end())
        acl.entries.push_back(e);
    }
  }
  return c;
}

TEST(RenderTest, RoundTripOverRandomConfigs) {
  SeededRandom rnd(20240611);
  for (int i = 0; i < 500; ++i) {
    const config::Config c = RandomConfig(rnd);
    const std::string text = RenderRunningConfig(c);
    auto r = ParseConfigText(text);
    ASSERT_TRUE(r.has_value()) << "iteration " << i << " line " << r.error().line << ": "
                               << r.error().message << "\n" << text;
    ASSERT_TRUE(*r == c) << "iteration " << i << "\n" << text << "\n---\n"
                         << RenderRunningConfig(*r);
    EXPECT_EQ(RenderRunningConfig(*r), text);
  }
}

}  // namespace
}  // namespace ikepulse::cli
