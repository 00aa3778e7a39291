#include "cli/config_util.h"

#include <algorithm>
#include <tuple>

namespace ikepulse::cli {

using config::AuthMethod;
using config::Encryption;
using config::EspAuth;
using config::EspCipher;
using config::Hash;

std::string EncryptionName(Encryption e) {
  switch (e) {
    case Encryption::kDes: return "des";
    case Encryption::k3Des: return "3des";
    case Encryption::kAes128: return "aes";
    case Encryption::kAes192: return "aes 192";
    case Encryption::kAes256: return "aes 256";
  }
  return "des";
}

std::string HashName(Hash h) {
  switch (h) {
    case Hash::kMd5: return "md5";
    case Hash::kSha1: return "sha";
    case Hash::kSha256: return "sha256";
    case Hash::kSha384: return "sha384";
    case Hash::kSha512: return "sha512";
  }
  return "sha";
}

std::string AuthName(AuthMethod a) {
  return a == AuthMethod::kPreShare ? "pre-share" : "rsa-sig";
}

std::string EspCipherName(EspCipher c) {
  switch (c) {
    case EspCipher::kNone: return "";
    case EspCipher::kAes128: return "esp-aes";
    case EspCipher::kAes192: return "esp-aes 192";
    case EspCipher::kAes256: return "esp-aes 256";
    case EspCipher::k3Des: return "esp-3des";
    case EspCipher::kNull: return "esp-null";
    case EspCipher::kAesGcm128: return "esp-gcm";
    case EspCipher::kAesGcm256: return "esp-gcm 256";
  }
  return "";
}

std::string EspAuthName(EspAuth a) {
  switch (a) {
    case EspAuth::kNone: return "";
    case EspAuth::kMd5: return "esp-md5-hmac";
    case EspAuth::kSha1: return "esp-sha-hmac";
    case EspAuth::kSha256: return "esp-sha256-hmac";
    case EspAuth::kSha384: return "esp-sha384-hmac";
    case EspAuth::kSha512: return "esp-sha512-hmac";
  }
  return "";
}

std::string Ikev2EncryptionName(config::Ikev2Encryption e) {
  switch (e) {
    case config::Ikev2Encryption::kAesCbc128:
      return "aes-cbc-128";
    case config::Ikev2Encryption::kAesCbc256:
      return "aes-cbc-256";
    case config::Ikev2Encryption::kAesGcm128:
      return "aes-gcm-128";
    case config::Ikev2Encryption::kAesGcm256:
      return "aes-gcm-256";
  }
  return "";
}

std::string Ikev2HashName(config::Ikev2Hash h) {
  switch (h) {
    case config::Ikev2Hash::kSha1:
      return "sha1";
    case config::Ikev2Hash::kSha256:
      return "sha256";
    case config::Ikev2Hash::kSha384:
      return "sha384";
    case config::Ikev2Hash::kSha512:
      return "sha512";
  }
  return "";
}

namespace {
struct ProtoName {
  uint8_t number;
  const char* name;
};
constexpr ProtoName kProtocols[] = {{0, "ip"},   {1, "icmp"}, {6, "tcp"},
                                    {17, "udp"}, {47, "gre"}, {50, "esp"}, {51, "ahp"}};
}  // namespace

std::string ProtocolName(uint8_t proto) {
  for (const auto& p : kProtocols)
    if (p.number == proto) return p.name;
  return std::to_string(proto);
}

std::optional<uint8_t> ProtocolFromName(std::string_view name) {
  for (const auto& p : kProtocols)
    if (name == p.name) return p.number;
  return std::nullopt;
}

IpAddress V4(std::string_view dotted) { return IpAddress::Parse(dotted).value_or(IpAddress{}); }

IpAddress HostMask() { return IpAddress::V4(255, 255, 255, 255); }

bool IsContiguousMask(const IpAddress& mask) {
  const uint32_t m = mask.V4ToU32();
  const uint32_t inv = ~m;
  return (inv & (inv + 1)) == 0;
}

bool IsNumberedAclName(std::string_view name) {
  if (name.size() != 3) return false;
  for (char c : name)
    if (c < '0' || c > '9') return false;
  return name[0] == '1';
}

std::string AclOperand(const IpAddress& addr, const IpAddress& wildcard) {
  if (wildcard == IpAddress::V4(255, 255, 255, 255)) return "any";
  if (wildcard == IpAddress::V4(0, 0, 0, 0)) return "host " + addr.ToString();
  return addr.ToString() + " " + wildcard.ToString();
}

config::Interface* FindInterface(config::Config& c, const std::string& name) {
  for (auto& i : c.interfaces)
    if (i.name == name) return &i;
  return nullptr;
}

// crypto_maps is kept ordered by (map name, seq) (GetOrCreateCryptoMap inserts in place), so
// both are a binary search: a startup-config of 100,000 entries is not quadratic.
namespace {
auto CryptoMapPosition(config::Config& c, const std::string& name, uint32_t seq) {
  return std::lower_bound(c.crypto_maps.begin(), c.crypto_maps.end(), std::tie(name, seq),
                          [](const config::CryptoMapEntry& e, const auto& key) {
                            return std::tie(e.map_name, e.seq) < key;
                          });
}
}  // namespace

config::CryptoMapEntry* FindCryptoMap(config::Config& c, const std::string& name, uint32_t seq) {
  auto it = CryptoMapPosition(c, name, seq);
  if (it != c.crypto_maps.end() && it->map_name == name && it->seq == seq)
    return &c.crypto_maps.Mut(it);  // the caller edits it: this Config's own copy
  return nullptr;
}

config::CryptoMapEntry& GetOrCreateCryptoMap(config::Config& c, const std::string& name,
                                             uint32_t seq, bool* created) {
  if (auto* e = FindCryptoMap(c, name, seq)) {
    if (created) *created = false;
    return *e;
  }
  if (created) *created = true;
  auto it = CryptoMapPosition(c, name, seq);
  config::CryptoMapEntry e;
  e.map_name = name;
  e.seq = seq;
  return c.crypto_maps.insert(it, std::move(e));
}

config::AccessList& GetOrCreateAcl(config::Config& c, const std::string& name) {
  auto it = c.acls.find(name);
  if (it != c.acls.end()) return it->second;
  config::AccessList acl;
  acl.name = name;
  acl.numbered = IsNumberedAclName(name);
  return c.acls.emplace(name, std::move(acl)).first->second;
}

}  // namespace ikepulse::cli
