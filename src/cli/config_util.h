// Helpers shared by the configuration command families, the renderer and the show commands:
// keyword names of the config enums and small lookups on config::Config. Internal to src/cli.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/endpoint.h"
#include "config/config.h"

namespace ikepulse::cli {

// Running-config spellings.
std::string EncryptionName(config::Encryption e);  // "des", "3des", "aes", "aes 192", "aes 256"
std::string HashName(config::Hash h);              // "md5", "sha", "sha256", ...
std::string AuthName(config::AuthMethod a);        // "pre-share", "rsa-sig"
std::string EspCipherName(config::EspCipher c);    // "esp-aes", "esp-aes 256", "esp-3des", ...
std::string EspAuthName(config::EspAuth a);        // "esp-sha-hmac", ...
std::string Ikev2EncryptionName(config::Ikev2Encryption e);  // "aes-cbc-128", "aes-gcm-256"
std::string Ikev2HashName(config::Ikev2Hash h);              // "sha1", "sha256", ...
std::string ProtocolName(uint8_t proto);           // "ip", "icmp", "tcp", "udp", or the number
std::optional<uint8_t> ProtocolFromName(std::string_view name);

IpAddress V4(std::string_view dotted);  // the caller has validated the text
IpAddress HostMask();                   // 255.255.255.255
bool IsContiguousMask(const IpAddress& mask);
bool IsNumberedAclName(std::string_view name);  // 100-199
// The IOS address form of an ACL operand: "any", "host A", or "A W".
std::string AclOperand(const IpAddress& addr, const IpAddress& wildcard);

config::Interface* FindInterface(config::Config& c, const std::string& name);
config::CryptoMapEntry* FindCryptoMap(config::Config& c, const std::string& name, uint32_t seq);
// Creates the entry if needed, keeping crypto_maps ordered by (map_name, seq).
config::CryptoMapEntry& GetOrCreateCryptoMap(config::Config& c, const std::string& name,
                                             uint32_t seq, bool* created);
config::AccessList& GetOrCreateAcl(config::Config& c, const std::string& name);

}  // namespace ikepulse::cli
