// RenderRunningConfig: config::Config -> IOS running-config text. Fields at their IOS default
// are not rendered (e.g. `on-demand`, retry 2, `encr des`, `group 1`, `lifetime 86400`).
#include <string>

#include "cli/cli.h"
#include "cli/config_util.h"
#include "cli/enable_secret.h"
#include "cli/lexer.h"

namespace ikepulse::cli {

namespace {

// " 10 2 periodic": IKEv2 DPD always shows its mode.
std::string DpdText(const config::KeepaliveConfig& k) {
  return " " + std::to_string(k.interval_s) + " " + std::to_string(k.retry_s) +
         (k.mode == config::DpdMode::kPeriodic ? " periodic" : " on-demand");
}

void RenderPolicies(const config::Config& c, std::string& out) {
  for (const auto& [prio, p] : c.policies) {
    out += "crypto isakmp policy " + std::to_string(prio) + "\n";
    if (p.encryption != config::Encryption::kDes) out += " encr " + EncryptionName(p.encryption) + "\n";
    if (p.hash != config::Hash::kSha1) out += " hash " + HashName(p.hash) + "\n";
    if (p.authentication != config::AuthMethod::kRsaSig)
      out += " authentication " + AuthName(p.authentication) + "\n";
    if (p.group != 1) out += " group " + std::to_string(p.group) + "\n";
    if (p.lifetime_s != 86400) out += " lifetime " + std::to_string(p.lifetime_s) + "\n";
  }
}

void RenderIsakmpGlobals(const config::Config& c, std::string& out) {
  for (const auto& k : c.keys) {
    out += "crypto isakmp key ";
    out.append(reinterpret_cast<const char*>(k.key.data()), k.key.size());
    out += " address " + k.address.ToString();
    if (k.mask != HostMask()) out += " " + k.mask.ToString();
    out += "\n";
  }
  if (c.keepalive.enabled) {
    out += "crypto isakmp keepalive " + std::to_string(c.keepalive.interval_s);
    if (c.keepalive.retry_s != 2) out += " " + std::to_string(c.keepalive.retry_s);
    if (c.keepalive.mode == config::DpdMode::kPeriodic) out += " periodic";
    out += "\n";
  }
  if (c.nat_keepalive_s != 0)
    out += "crypto isakmp nat keepalive " + std::to_string(c.nat_keepalive_s) + "\n";
  if (c.force_encapsulation) out += "ikepulse nat-t force-encapsulation\n";
  if (c.metrics_port != 0)
    out += "ikepulse metrics listen " + c.metrics_address.ToString() + " " +
           std::to_string(c.metrics_port) + "\n";
  if (c.cac_in_negotiation_sa != 0)
    out += "crypto call admission limit ike in-negotiation-sa " +
           std::to_string(c.cac_in_negotiation_sa) + "\n";
}

std::string Joined(const auto& values, auto name) {
  std::string out;
  for (const auto& v : values) out += " " + name(v);
  return out;
}

// A pre-shared key as typed back: `0 ` first when the key's first word would otherwise read
// as one of the keywords before it (`0`, `6`, and after `pre-shared-key` alone also `local`
// and `remote`, abbreviated or not).
std::string KeyText(const SecretBytes& key, bool after_direction) {
  const std::string k(reinterpret_cast<const char*>(key.data()), key.size());
  const std::vector<Token> t = Tokenize(k);
  const std::string first = t.empty() ? "" : t[0].text;
  bool keyword = IsPrefixOf(first, "0") || IsPrefixOf(first, "6");
  if (!after_direction)
    keyword = keyword || IsPrefixOf(first, "local") || IsPrefixOf(first, "remote");
  return keyword ? "0 " + k : k;
}

// Proposals, policies, keyrings, profiles (each by name), then the global DPD: a policy
// names proposals and a profile a keyring, so each comes after what it names.
void RenderIkev2(const config::Config& c, std::string& out) {
  for (const auto& [name, p] : c.ikev2_proposals) {
    out += "crypto ikev2 proposal " + name + "\n";
    if (!p.encryption.empty())
      out += " encryption" + Joined(p.encryption, Ikev2EncryptionName) + "\n";
    if (!p.integrity.empty()) out += " integrity" + Joined(p.integrity, Ikev2HashName) + "\n";
    if (!p.prf.empty()) out += " prf" + Joined(p.prf, Ikev2HashName) + "\n";
    if (!p.groups.empty())
      out += " group" + Joined(p.groups, [](uint16_t g) { return std::to_string(g); }) + "\n";
    out += "!\n";
  }
  for (const auto& [name, pol] : c.ikev2_policies) {
    out += "crypto ikev2 policy " + name + "\n";
    for (const auto& a : pol.match_address_local)
      out += " match address local " + a.ToString() + "\n";
    for (const auto& p : pol.proposals) out += " proposal " + p + "\n";
    out += "!\n";
  }
  for (const auto& [name, k] : c.ikev2_keyrings) {
    out += "crypto ikev2 keyring " + name + "\n";
    for (const auto& p : k.peers) {
      out += " peer " + p.name + "\n";
      if (!p.description.empty()) out += "  description " + p.description + "\n";
      if (p.address) {
        out += "  address " + p.address->ToString();
        if (p.mask) out += " " + p.mask->ToString();
        out += "\n";
      }
      if (!p.identity_fqdn.empty()) out += "  identity fqdn " + p.identity_fqdn + "\n";
      if (!p.pre_shared_key.empty())
        out += "  pre-shared-key " + KeyText(p.pre_shared_key, false) + "\n";
      if (!p.pre_shared_key_local.empty())
        out += "  pre-shared-key local " + KeyText(p.pre_shared_key_local, true) + "\n";
      if (!p.pre_shared_key_remote.empty())
        out += "  pre-shared-key remote " + KeyText(p.pre_shared_key_remote, true) + "\n";
      out += " !\n";
    }
    out += "!\n";
  }
  for (const auto& [name, p] : c.ikev2_profiles) {
    out += "crypto ikev2 profile " + name + "\n";
    for (const auto& m : p.match_identity_remote) {
      using Kind = config::Ikev2IdentityMatch::Kind;
      if (m.kind == Kind::kFqdn) {
        out += " match identity remote fqdn " + m.fqdn + "\n";
        continue;
      }
      if (m.kind == Kind::kFqdnDomain) {
        out += " match identity remote fqdn domain " + m.fqdn + "\n";
        continue;
      }
      out += " match identity remote address " + m.address.ToString();
      if (m.mask) out += " " + m.mask->ToString();
      out += "\n";
    }
    if (p.identity_local) out += " identity local address " + p.identity_local->ToString() + "\n";
    if (!p.identity_local_fqdn.empty())
      out += " identity local fqdn " + p.identity_local_fqdn + "\n";
    if (p.authentication_remote) out += " authentication remote pre-share\n";
    if (p.authentication_local) out += " authentication local pre-share\n";
    if (!p.keyring_local.empty()) out += " keyring local " + p.keyring_local + "\n";
    if (p.lifetime_s != config::kDefaultIkev2LifetimeS)
      out += " lifetime " + std::to_string(p.lifetime_s) + "\n";
    if (p.dpd.enabled) out += " dpd" + DpdText(p.dpd) + "\n";
    out += "!\n";
  }
  if (c.ikev2_dpd.enabled) out += "crypto ikev2 dpd" + DpdText(c.ikev2_dpd) + "\n!\n";
  if (c.ikev2_max_in_negotiation_sa != 0)
    out += "crypto ikev2 limit max-in-negotation-sa " +  // IOS XE's spelling
           std::to_string(c.ikev2_max_in_negotiation_sa) + "\n";
  if (c.ikev2_cookie_challenge != 0)
    out += "crypto ikev2 cookie-challenge " + std::to_string(c.ikev2_cookie_challenge) + "\n";
}

void RenderTransformSets(const config::Config& c, std::string& out) {
  for (const auto& [name, t] : c.transform_sets) {
    out += "crypto ipsec transform-set " + name;
    if (t.cipher != config::EspCipher::kNone) out += " " + EspCipherName(t.cipher);
    if (t.auth != config::EspAuth::kNone) out += " " + EspAuthName(t.auth);
    out += "\n";
    out += t.mode == config::IpsecMode::kTransport ? " mode transport\n" : " mode tunnel\n";
  }
}

void RenderCryptoMaps(const config::Config& c, std::string& out) {
  for (const auto& e : c.crypto_maps) {
    out += "crypto map " + e.map_name + " " + std::to_string(e.seq) + " ipsec-isakmp\n";
    for (const auto& p : e.peers) {
      out += " set peer " + p.host;
      if (p.dynamic) out += " dynamic";
      if (p.is_default) out += " default";
      out += "\n";
    }
    if (e.lifetime_s)
      out += " set security-association lifetime seconds " + std::to_string(*e.lifetime_s) + "\n";
    if (e.lifetime_kb)
      out += " set security-association lifetime kilobytes " + std::to_string(*e.lifetime_kb) +
             "\n";
    if (!e.transform_sets.empty()) {
      out += " set transform-set";
      for (const auto& t : e.transform_sets) out += " " + t;
      out += "\n";
    }
    if (e.pfs_group) out += " set pfs group" + std::to_string(*e.pfs_group) + "\n";
    if (!e.match_address.empty()) out += " match address " + e.match_address + "\n";
    if (!e.ikev2_profile.empty()) out += " set ikev2-profile " + e.ikev2_profile + "\n";
    if (e.keep_up) out += " ikepulse keep-up\n";
  }
}

void RenderInterfaces(const config::Config& c, std::string& out) {
  for (const auto& i : c.interfaces) {
    out += "interface " + i.name + "\n";
    if (i.address && i.mask)
      out += " ip address " + i.address->ToString() + " " + i.mask->ToString() + "\n";
    else
      out += " no ip address\n";
    if (i.shutdown) out += " shutdown\n";
    if (!i.crypto_map.empty()) out += " crypto map " + i.crypto_map + "\n";
    out += "!\n";
  }
}

std::string AclLine(const config::AclEntry& e) {
  return std::string(e.permit ? "permit " : "deny ") + ProtocolName(e.protocol) + " " +
         AclOperand(e.src, e.src_wildcard) + " " + AclOperand(e.dst, e.dst_wildcard);
}

void RenderAcls(const config::Config& c, std::string& out) {
  bool any = false;
  for (const auto& [name, acl] : c.acls) {
    if (acl.numbered && !acl.entries.empty()) continue;
    out += "ip access-list extended " + name + "\n";
    for (const auto& e : acl.entries) out += " " + AclLine(e) + "\n";
    any = true;
  }
  if (any) out += "!\n";
  any = false;
  for (const auto& [name, acl] : c.acls) {
    if (!acl.numbered || acl.entries.empty()) continue;
    for (const auto& e : acl.entries) out += "access-list " + name + " " + AclLine(e) + "\n";
    any = true;
  }
  if (any) out += "!\n";
}

}  // namespace

std::string RenderRunningConfig(const config::Config& c) {
  std::string out = "!\n";
  out += "hostname " + c.hostname + "\n!\n";
  if (!c.logging_buffered) {
    out += "no logging buffered\n!\n";
  } else if (c.logging_buffer_size != config::kDefaultLoggingBufferSize) {
    out += "logging buffered " + std::to_string(c.logging_buffer_size) + "\n!\n";
  }
  if (!c.enable_secret_hash.empty())
    out += "enable secret " + std::to_string(EnableSecretType(c.enable_secret_hash)) + " " +
           c.enable_secret_hash + "\n!\n";
  RenderIkev2(c, out);
  std::string isakmp;
  RenderPolicies(c, isakmp);
  RenderIsakmpGlobals(c, isakmp);
  if (!isakmp.empty()) out += isakmp + "!\n";
  if (!c.transform_sets.empty()) {
    RenderTransformSets(c, out);
    out += "!\n";
  }
  if (!c.crypto_maps.empty()) {
    RenderCryptoMaps(c, out);
    out += "!\n";
  }
  RenderInterfaces(c, out);
  RenderAcls(c, out);
  out += "end\n";
  return out;
}

}  // namespace ikepulse::cli
