// Config builders for the scenario tests, and for other in-process drivers of ike::Node
// (bench/, tests/fuzz/) that want the same sites: two or more sites on 192.0.2.0/24
// protecting 198.51.100.0/24 (site A) and 203.0.113.0/24 (sites B, C...). Documentation
// ranges only. Depends on the config library alone (no simulator, no gtest); the scenario
// tests get it through scenario_util.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "config/config.h"

namespace ikepulse::scenario {

inline IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

struct SiteSpec {
  IpAddress self;
  std::vector<IpAddress> peers;  // crypto map peers, in order (empty for a pure responder)
  IpAddress peer_for_key = Ip("0.0.0.0");  // PSK wildcard by default
  const char* local_lan = "198.51.100.0";
  const char* remote_lan = "203.0.113.0";
  config::KeepaliveConfig keepalive;
  bool keep_up = false;
  bool default_first = false;
  std::optional<uint16_t> pfs;
  std::optional<uint32_t> ipsec_lifetime_s;
  uint32_t isakmp_lifetime_s = 86400;
  config::Encryption enc = config::Encryption::kAes128;
  config::Hash hash = config::Hash::kSha1;
  uint16_t group = 14;
  std::string psk = "kd94j1ksldz";
};

inline config::Config MakeConfig(const SiteSpec& s) {
  config::Config c;
  config::IsakmpPolicy p;
  p.priority = 1;
  p.encryption = s.enc;
  p.hash = s.hash;
  p.authentication = config::AuthMethod::kPreShare;
  p.group = s.group;
  p.lifetime_s = s.isakmp_lifetime_s;
  c.policies[1] = p;
  config::PresharedKey k;
  k.key = SecretBytes::FromString(s.psk);
  k.address = s.peer_for_key;
  k.mask = Ip("0.0.0.0");
  c.keys.push_back(k);
  c.keepalive = s.keepalive;
  config::TransformSet ts;
  ts.name = "Trans1";
  ts.cipher = config::EspCipher::kAes128;
  ts.auth = config::EspAuth::kSha1;
  c.transform_sets["Trans1"] = ts;
  config::AccessList acl;
  acl.name = "101";
  config::AclEntry ae;
  ae.src = Ip(s.local_lan);
  ae.src_wildcard = Ip("0.0.0.255");
  ae.dst = Ip(s.remote_lan);
  ae.dst_wildcard = Ip("0.0.0.255");
  acl.entries.push_back(ae);
  c.acls["101"] = acl;
  config::CryptoMapEntry e;
  e.map_name = "green";
  e.seq = 1;
  for (size_t i = 0; i < s.peers.size(); ++i) {
    config::CryptoMapPeer cp;
    cp.host = s.peers[i].ToString();
    cp.address = s.peers[i];
    cp.is_default = s.default_first && i == 0;
    e.peers.push_back(cp);
  }
  e.transform_sets = {"Trans1"};
  e.match_address = "101";
  e.pfs_group = s.pfs;
  e.lifetime_s = s.ipsec_lifetime_s;
  e.keep_up = s.keep_up;
  c.crypto_maps.push_back(e);
  config::Interface i;
  i.name = "eth0";
  i.address = s.self;
  i.mask = Ip("255.255.255.0");
  i.crypto_map = "green";
  c.interfaces.push_back(i);
  return c;
}

// FlexVPN objects for a site built by MakeConfig(SiteSpec): one proposal (AES-CBC-128,
// SHA-256, group 14), a policy, a keyring with the PSK for each of `peers`, profile FLEX (with
// `dpd` when given), and crypto map entry `index` set to `set ikev2-profile FLEX`.
inline void AddFlex(config::Config& c, const std::vector<IpAddress>& peers, const std::string& psk,
             std::optional<config::KeepaliveConfig> dpd = std::nullopt, size_t index = 0) {
  config::Ikev2Proposal p;
  p.name = "P1";
  p.encryption = {config::Ikev2Encryption::kAesCbc128};
  p.integrity = {config::Ikev2Hash::kSha256};
  p.groups = {14};
  c.ikev2_proposals["P1"] = p;
  config::Ikev2Policy pol;
  pol.name = "POL";
  pol.proposals = {"P1"};
  c.ikev2_policies["POL"] = pol;
  config::Ikev2Keyring kr;
  kr.name = "KR";
  for (const IpAddress& a : peers) {
    config::Ikev2KeyringPeer kp;
    kp.name = "P" + a.ToString();
    kp.address = a;
    kp.pre_shared_key = SecretBytes::FromString(psk);
    kr.peers.push_back(kp);
  }
  c.ikev2_keyrings["KR"] = kr;
  config::Ikev2Profile prof;
  prof.name = "FLEX";
  prof.authentication_local = config::AuthMethod::kPreShare;
  prof.authentication_remote = config::AuthMethod::kPreShare;
  prof.keyring_local = "KR";
  if (dpd) prof.dpd = *dpd;
  c.ikev2_profiles["FLEX"] = prof;
  c.crypto_maps.Mut(index).ikev2_profile = "FLEX";
}

// Keepalive helper.
inline config::KeepaliveConfig Keepalive(uint32_t s, uint32_t r, bool periodic) {
  config::KeepaliveConfig k;
  k.enabled = true;
  k.interval_s = s;
  k.retry_s = r;
  k.mode = periodic ? config::DpdMode::kPeriodic : config::DpdMode::kOnDemand;
  return k;
}

// The two sites most scenarios use: A (192.0.2.1, protecting 198.51.100.0/24) and B (192.0.2.2,
// protecting 203.0.113.0/24), each the other's crypto map peer; wildcard PSK, no keepalive.
inline SiteSpec SiteA() {
  SiteSpec s;
  s.self = Ip("192.0.2.1");
  s.peers = {Ip("192.0.2.2")};
  return s;
}
inline SiteSpec SiteB() {
  SiteSpec s;
  s.self = Ip("192.0.2.2");
  s.peers = {Ip("192.0.2.1")};
  s.local_lan = "203.0.113.0";
  s.remote_lan = "198.51.100.0";
  return s;
}

// A hub: the configuration's first crypto map entry copied to sequence numbers first..last,
// entry `seq` toward peer(seq) (its host and address). Replaces the map's entries.
template <typename PeerOf>
void ReplicateFirstEntry(config::Config& c, uint32_t first, uint32_t last, PeerOf peer) {
  const config::CryptoMapEntry proto = c.crypto_maps.front();
  c.crypto_maps.clear();
  c.crypto_maps.reserve(last - first + 1);
  for (uint32_t seq = first; seq <= last; ++seq) {
    config::CryptoMapEntry e = proto;
    e.seq = seq;
    const IpAddress a = peer(seq);
    e.peers.front().host = a.ToString();
    e.peers.front().address = a;
    c.crypto_maps.push_back(std::move(e));
  }
}

}  // namespace ikepulse::scenario
