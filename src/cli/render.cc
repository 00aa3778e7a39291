// RenderRunningConfig: config::Config -> IOS running-config text. Fields at their IOS default
// are not rendered (e.g. `on-demand`, retry 2, `encr des`, `group 1`, `lifetime 86400`).
#include <string>

#include "cli/cli.h"
#include "cli/config_util.h"
#include "cli/enable_secret.h"

namespace ikepulse::cli {

namespace {

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
