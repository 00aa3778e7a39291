// Test helpers: configs, mirrored SA snapshots for two gateways, and IPv4 packets.
#pragma once

#include <string>

#include "common/random.h"
#include "config/config.h"
#include "ike/node.h"

namespace ikepulse::dataplane::testing {

inline IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

// ACL line `permit|deny ip SRC WILD DST WILD`.
inline config::AclEntry Ace(bool permit, const char* src, const char* swild, const char* dst,
                            const char* dwild, uint8_t proto = 0) {
  config::AclEntry e;
  e.permit = permit;
  e.protocol = proto;
  e.src = Ip(src);
  e.src_wildcard = Ip(swild);
  e.dst = Ip(dst);
  e.dst_wildcard = Ip(dwild);
  return e;
}

inline void AddEntry(config::Config& c, const std::string& map, uint32_t seq,
                     const std::string& acl_name, std::vector<config::AclEntry> lines) {
  config::CryptoMapEntry e;
  e.map_name = map;
  e.seq = seq;
  e.match_address = acl_name;
  c.crypto_maps.push_back(e);
  config::AccessList acl;
  acl.name = acl_name;
  acl.entries = std::move(lines);
  c.acls[acl_name] = acl;
}

// Gateway A protects 198.51.100.0/24, B protects 203.0.113.0/24; crypto map green 10.
inline config::Config GatewayConfig(bool a_side) {
  config::Config c;
  if (a_side) {
    AddEntry(c, "green", 10, "101",
             {Ace(true, "198.51.100.0", "0.0.0.255", "203.0.113.0", "0.0.0.255")});
  } else {
    AddEntry(c, "green", 10, "101",
             {Ace(true, "203.0.113.0", "0.0.0.255", "198.51.100.0", "0.0.0.255")});
  }
  return c;
}

struct SnapshotPair {
  ike::ChildSaSnapshot a, b;
};

// A's view and B's view of the same SA pair (B's inbound = A's outbound).
inline SnapshotPair MirroredSas(Random& rng, config::EspCipher cipher, config::EspAuth auth,
                                size_t enc_len, size_t auth_len, bool udp_encap = true) {
  auto key = [&](size_t n) {
    Bytes b(n);
    rng.Fill(b);
    return SecretBytes(b);
  };
  ike::ChildSaSnapshot a;
  a.ike_sa = 1;
  a.map_name = "green";
  a.map_seq = 10;
  a.local = Endpoint{Ip("192.0.2.1"), 4500};
  a.remote = Endpoint{Ip("192.0.2.2"), 4500};
  a.udp_encap = udp_encap;
  a.spi_in = rng.NonZeroU32();
  a.spi_out = rng.NonZeroU32();
  a.cipher = cipher;
  a.auth = auth;
  a.enc_key_in = key(enc_len);
  a.auth_key_in = key(auth_len);
  a.enc_key_out = key(enc_len);
  a.auth_key_out = key(auth_len);
  a.local_net = Ip("198.51.100.0");
  a.local_mask = Ip("255.255.255.0");
  a.remote_net = Ip("203.0.113.0");
  a.remote_mask = Ip("255.255.255.0");
  a.lifetime_left_s = 3600;
  a.lifetime_kb = config::kDefaultIpsecLifetimeKb;
  ike::ChildSaSnapshot b = a;
  std::swap(b.local, b.remote);
  std::swap(b.spi_in, b.spi_out);
  std::swap(b.enc_key_in, b.enc_key_out);
  std::swap(b.auth_key_in, b.auth_key_out);
  std::swap(b.local_net, b.remote_net);
  std::swap(b.local_mask, b.remote_mask);
  return SnapshotPair{std::move(a), std::move(b)};
}

inline SnapshotPair AesSha1Sas(Random& rng, bool udp_encap = true) {
  return MirroredSas(rng, config::EspCipher::kAes128, config::EspAuth::kSha1, 16, 20, udp_encap);
}

// A minimal IPv4 packet (valid header lengths; checksum not computed).
inline Bytes Ipv4Packet(const char* src, const char* dst, uint8_t proto = 1,
                        size_t payload = 36, uint8_t fill = 0xab) {
  const size_t total = 20 + payload;
  Bytes p(total, fill);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[8] = 64;
  p[9] = proto;
  const IpAddress s = Ip(src), d = Ip(dst);
  std::copy_n(s.bytes.begin(), 4, p.begin() + 12);
  std::copy_n(d.bytes.begin(), 4, p.begin() + 16);
  return p;
}

}  // namespace ikepulse::dataplane::testing
