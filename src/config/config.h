// The configuration model: plain value structs, the IOS running-config as data. Parsed and
// rendered by src/cli; read by src/ike (an SA copies what it needs when it is created).
// Defaults follow Cisco IOS (a field at its IOS default is not rendered).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "config/cow_list.h"

namespace ikepulse::config {

// `encryption aes [128|192|256] | 3des | des` (IOS default: des; `aes` alone = 128).
enum class Encryption : uint8_t { kDes, k3Des, kAes128, kAes192, kAes256 };
// `hash sha | sha256 | sha384 | sha512 | md5` (IOS default: sha).
enum class Hash : uint8_t { kMd5, kSha1, kSha256, kSha384, kSha512 };
// `authentication pre-share | rsa-sig` (IOS default: rsa-sig; only pre-share is implemented).
enum class AuthMethod : uint8_t { kRsaSig, kPreShare };

// `crypto isakmp policy <priority>` (1-10000).
struct IsakmpPolicy {
  uint32_t priority = 1;
  Encryption encryption = Encryption::kDes;
  Hash hash = Hash::kSha1;
  AuthMethod authentication = AuthMethod::kRsaSig;
  uint16_t group = 1;              // 1 2 5 14 15 16 19 20 21
  uint32_t lifetime_s = 86400;     // 60-86400
  bool operator==(const IsakmpPolicy&) const = default;
};

// `crypto isakmp key <key> address <ip> [<mask>]` (no mask = host mask).
struct PresharedKey {
  SecretBytes key;
  IpAddress address;
  IpAddress mask;  // 255.255.255.255 for a host
  bool Matches(const IpAddress& peer) const;
  bool operator==(const PresharedKey& o) const {
    return key == o.key && address == o.address && mask == o.mask;
  }
};

enum class DpdMode : uint8_t { kOnDemand, kPeriodic };

// `crypto isakmp keepalive <seconds 10-3600> [<retry 2-60>] [periodic | on-demand]`.
// Disabled unless configured. Default retry 2, default mode on-demand (not rendered).
struct KeepaliveConfig {
  bool enabled = false;
  uint32_t interval_s = 0;
  uint32_t retry_s = 2;
  DpdMode mode = DpdMode::kOnDemand;
  bool operator==(const KeepaliveConfig&) const = default;
};

// kAesGcm128/256: `esp-gcm [128|256]`, AES-GCM-16 (RFC 4106), never with an EspAuth.
enum class EspCipher : uint8_t { kNone, kAes128, kAes192, kAes256, k3Des, kNull, kAesGcm128, kAesGcm256 };
enum class EspAuth : uint8_t { kNone, kMd5, kSha1, kSha256, kSha384, kSha512 };
enum class IpsecMode : uint8_t { kTunnel, kTransport };

// `crypto ipsec transform-set <name> <esp-cipher> <esp-auth>` + ` mode tunnel|transport`.
struct TransformSet {
  std::string name;
  EspCipher cipher = EspCipher::kNone;
  EspAuth auth = EspAuth::kNone;
  IpsecMode mode = IpsecMode::kTunnel;
  bool operator==(const TransformSet&) const = default;
};

// One line of an extended ACL: `permit|deny <proto> <src> <wild> <dst> <wild>` (also `host A`
// and `any`). protocol 0 = `ip` (any protocol).
struct AclEntry {
  bool permit = true;
  uint8_t protocol = 0;
  IpAddress src;
  IpAddress src_wildcard;
  IpAddress dst;
  IpAddress dst_wildcard;
  bool Matches(const IpAddress& s, const IpAddress& d, uint8_t proto) const;
  bool operator==(const AclEntry&) const = default;
};

// `access-list <100-199> ...` lines or `ip access-list extended <name>`.
struct AccessList {
  std::string name;  // "101" or a name
  bool numbered = true;
  std::vector<AclEntry> entries;
  bool operator==(const AccessList&) const = default;
};

// One `set peer` line of a crypto map entry, in order.
struct CryptoMapPeer {
  std::string host;                // as typed: an address or a host name
  std::optional<IpAddress> address;  // resolved address (a literal, or `dynamic` resolved)
  bool is_default = false;         // `set peer A default`
  bool dynamic = false;            // `set peer HOST dynamic`
  bool operator==(const CryptoMapPeer&) const = default;
};

// `crypto map <name> <seq> ipsec-isakmp`.
struct CryptoMapEntry {
  std::string map_name;
  uint32_t seq = 1;
  std::vector<CryptoMapPeer> peers;
  std::vector<std::string> transform_sets;
  std::string match_address;                // ACL name or number
  std::optional<uint16_t> pfs_group;        // `set pfs group14`
  std::optional<uint32_t> lifetime_s;       // `set security-association lifetime seconds N`
  std::optional<uint64_t> lifetime_kb;      // `set security-association lifetime kilobytes N`
  // ikepulse extension `ikepulse keep-up`: bring this entry up without traffic and keep it up
  // (re-establish at once after a teardown). Not IOS syntax; rendered with the `ikepulse` prefix.
  bool keep_up = false;
  // `set ikev2-profile NAME` (empty: none). Configuration only until the IKEv2 engine exists.
  std::string ikev2_profile;
  bool operator==(const CryptoMapEntry&) const = default;
};

// ---- IKEv2, configured as IOS XE FlexVPN does it. Configuration only for now: the IKEv2
// engine is not built yet and reads none of this. ----

// `encryption` of `crypto ikev2 proposal` (several per proposal, in preference order).
enum class Ikev2Encryption : uint8_t { kAesCbc128, kAesCbc256, kAesGcm128, kAesGcm256 };
// `integrity` (HMAC; sha1 is HMAC-SHA1-96) and `prf` of `crypto ikev2 proposal`.
enum class Ikev2Hash : uint8_t { kSha1, kSha256, kSha384, kSha512 };

// `crypto ikev2 proposal <name>`. IOS accepts any combination line by line and only calls the
// proposal complete when it is either (non-GCM encryption, integrity, group) or (GCM-only
// encryption, prf, group, no integrity); an incomplete proposal is not offered.
struct Ikev2Proposal {
  std::string name;
  std::vector<Ikev2Encryption> encryption;
  std::vector<Ikev2Hash> integrity;
  std::vector<Ikev2Hash> prf;  // empty: the PRFs are the integrity algorithms' HMACs
  std::vector<uint16_t> groups;
  bool HasAead() const;     // some encryption is AES-GCM
  bool HasNonAead() const;  // some encryption is AES-CBC
  bool Complete() const;
  bool operator==(const Ikev2Proposal&) const = default;
};

// `crypto ikev2 policy <name>`: ` proposal <name>` lines (in order) and ` match address local A`.
struct Ikev2Policy {
  std::string name;
  std::vector<std::string> proposals;
  std::vector<IpAddress> match_address_local;  // empty: any local address
  bool operator==(const Ikev2Policy&) const = default;
};

// The longest FQDN `identity ... fqdn NAME` accepts (RFC 1035's 255-octet name).
inline constexpr size_t kMaxFqdnLength = 255;
// A configured FQDN: 1-255 characters of letters, digits, '-', '_' and '.', not starting or
// ending with '.' and without an empty label.
bool ValidFqdn(std::string_view name);
// ASCII case-insensitive equality (FQDN identities compare so).
bool FqdnEquals(std::string_view a, std::string_view b);
// `name` is `domain` or ends with "." + `domain` (a label-boundary suffix), case-insensitively.
bool FqdnInDomain(std::string_view name, std::string_view domain);

// ` peer <name>` of `crypto ikev2 keyring`: `address A [M]`, `identity fqdn NAME`,
// `pre-shared-key [local|remote] K`, `description`. The keys are secrets (SecretBytes: wiped
// when freed, never logged).
struct Ikev2KeyringPeer {
  std::string name;
  std::string description;
  std::optional<IpAddress> address;
  std::optional<IpAddress> mask;         // as typed; none = the host itself
  // `identity fqdn NAME`: a responder picks this peer's key when the initiator's ID is ID_FQDN
  // NAME (case-insensitive), and then never by address; empty = matched by address only.
  std::string identity_fqdn;
  SecretBytes pre_shared_key;            // `pre-shared-key K`: both directions
  SecretBytes pre_shared_key_local;      // `pre-shared-key local K`: the key we authenticate with
  SecretBytes pre_shared_key_remote;     // `pre-shared-key remote K`: the key the peer uses
  const SecretBytes& LocalKey() const;   // local, else the two-way key
  const SecretBytes& RemoteKey() const;  // remote, else the two-way key
  bool Matches(const IpAddress& peer) const;
  bool operator==(const Ikev2KeyringPeer&) const = default;
};

// `crypto ikev2 keyring <name>`. Peers in configuration order, shared between copies of a
// Config like the ISAKMP keys (a hub's keyring can be large).
struct Ikev2Keyring {
  std::string name;
  CowList<Ikev2KeyringPeer> peers;
  bool operator==(const Ikev2Keyring&) const = default;
};

// `match identity remote address A [M]`, `match identity remote fqdn NAME` (exact,
// case-insensitive) or `match identity remote fqdn domain NAME` (NAME or any name under it).
struct Ikev2IdentityMatch {
  enum class Kind : uint8_t { kAddress, kFqdn, kFqdnDomain };
  IpAddress address;              // kAddress
  std::optional<IpAddress> mask;  // kAddress, as typed
  Kind kind = Kind::kAddress;
  std::string fqdn;  // kFqdn, kFqdnDomain
  bool operator==(const Ikev2IdentityMatch&) const = default;
};

inline constexpr uint32_t kDefaultIkev2LifetimeS = 86400;  // IOS: `lifetime` 120-86400

// `crypto ikev2 profile <name>`. IOS calls a profile complete when it has a local and a remote
// authentication method and a match statement.
struct Ikev2Profile {
  std::string name;
  std::vector<Ikev2IdentityMatch> match_identity_remote;
  std::optional<IpAddress> identity_local;          // `identity local address A`
  std::string identity_local_fqdn;                  // `identity local fqdn NAME` (one of the two)
  std::optional<AuthMethod> authentication_local;   // `authentication local pre-share`
  std::optional<AuthMethod> authentication_remote;  // `authentication remote pre-share`
  std::string keyring_local;                        // `keyring local NAME`
  // `dpd <10-3600> <2-60> on-demand|periodic` (the mode is always given; disabled by default).
  KeepaliveConfig dpd;
  uint32_t lifetime_s = kDefaultIkev2LifetimeS;  // `lifetime <120-86400>`
  bool Complete() const;
  bool operator==(const Ikev2Profile&) const = default;
};

// `interface <name>` with ` ip address A M`, ` crypto map NAME`, ` shutdown`.
struct Interface {
  std::string name;
  std::optional<IpAddress> address;
  std::optional<IpAddress> mask;
  std::string crypto_map;
  bool shutdown = false;
  bool operator==(const Interface&) const = default;
};

// IOS default IPsec SA lifetimes (global `crypto ipsec security-association lifetime`).
inline constexpr uint32_t kDefaultIpsecLifetimeS = 3600;
inline constexpr uint64_t kDefaultIpsecLifetimeKb = 4608000;

// `logging buffered`: IOS's default in-memory log buffer size and its range, in bytes.
inline constexpr uint32_t kDefaultLoggingBufferSize = 4096;
inline constexpr uint32_t kMinLoggingBufferSize = 4096;
inline constexpr uint32_t kMaxLoggingBufferSize = 2147483647;

struct Config {
  std::string hostname = "Router";
  // `logging buffered [SIZE]` / `no logging buffered`: the buffer `show logging` prints.
  bool logging_buffered = true;
  uint32_t logging_buffer_size = kDefaultLoggingBufferSize;
  std::map<uint32_t, IsakmpPolicy> policies;  // by priority
  CowList<PresharedKey> keys;  // shared between copies (cow_list.h)
  KeepaliveConfig keepalive;
  uint32_t nat_keepalive_s = 0;  // `crypto isakmp nat keepalive N` (0 = off)
  std::map<std::string, TransformSet> transform_sets;
  std::map<std::string, AccessList> acls;
  CowList<CryptoMapEntry> crypto_maps;  // ordered by (map_name, seq); shared between copies
  std::vector<Interface> interfaces;        // in configuration order
  // ikepulse extension `ikepulse nat-t force-encapsulation`: always use UDP 4500 and
  // UDP-encapsulated ESP, as strongSwan's kernel-libipsec needs.
  bool force_encapsulation = false;
  // `crypto call admission limit ike in-negotiation-sa N` (10-99999); 0 = not configured
  // (the engine's built-in bound applies).
  uint32_t cac_in_negotiation_sa = 0;
  // ikepulse extension `ikepulse metrics listen A P`: Prometheus metrics over HTTP on A:P
  // (port 0 = off, the default).
  IpAddress metrics_address;
  uint16_t metrics_port = 0;
  std::string enable_secret_hash;  // `enable secret` stored hashed
  // IKEv2 (IOS XE FlexVPN), by name. References between them (policy -> proposal, profile ->
  // keyring, crypto map -> profile) always name an existing object: the CLI refuses the rest.
  std::map<std::string, Ikev2Proposal> ikev2_proposals;
  std::map<std::string, Ikev2Policy> ikev2_policies;
  std::map<std::string, Ikev2Keyring> ikev2_keyrings;
  std::map<std::string, Ikev2Profile> ikev2_profiles;
  // `crypto ikev2 dpd <10-3600> <2-60> on-demand|periodic` (disabled unless configured).
  KeepaliveConfig ikev2_dpd;
  // `crypto ikev2 limit max-in-negotation-sa N` (1-9999; IOS XE's spelling, the CLI also takes
  // `max-in-negotation-sa`): the bound on IKEv2 responders not yet established; 0 = not
  // configured (the engine's default, 1000, applies).
  uint32_t ikev2_max_in_negotiation_sa = 0;
  // `crypto ikev2 cookie-challenge N` (1-1000): IKE_SA_INIT requests without a valid COOKIE
  // are answered with one once N IKEv2 responders are half-open; 0 = not configured (cookies
  // are then demanded only when the half-open bound is reached).
  uint32_t ikev2_cookie_challenge = 0;

  const PresharedKey* FindKey(const IpAddress& peer) const;  // longest-mask match
  const AccessList* FindAcl(const std::string& name) const;
  const TransformSet* FindTransformSet(const std::string& name) const;
  const CryptoMapEntry* FindCryptoMap(const std::string& name, uint32_t seq) const;
  const Ikev2Proposal* FindIkev2Proposal(const std::string& name) const;
  const Ikev2Keyring* FindIkev2Keyring(const std::string& name) const;
  const Ikev2Profile* FindIkev2Profile(const std::string& name) const;
  // The local address of the interface that carries crypto map `map_name`, if any.
  std::optional<IpAddress> LocalAddressFor(const std::string& map_name) const;
  bool operator==(const Config&) const = default;
};

}  // namespace ikepulse::config
