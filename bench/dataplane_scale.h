// The data plane scale setup shared by esp_bench (ScaleFixture) and dataplane_mem_bench
// (Input): crypto map entry `green seq` with its own one-line ACL `acl<seq>` permitting
// 198.51.100.0/24 -> ScaleHost(seq), and one SA pair per entry (udp_encap, lifetime_kb 0).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "config/config.h"
#include "ike/node.h"

namespace ikepulse::dataplane {

// 10.a.b.c, a distinct host per entry.
inline IpAddress ScaleHost(uint32_t seq) {
  return IpAddress::V4(10, static_cast<uint8_t>(seq >> 16), static_cast<uint8_t>(seq >> 8),
                       static_cast<uint8_t>(seq));
}

// Crypto map entry `green seq` matching ACL acl<seq>: 198.51.100.0/24 -> ScaleHost(seq)/32.
inline void AddScaleEntry(config::Config& cfg, uint32_t seq) {
  const std::string acl = "acl" + std::to_string(seq);
  config::CryptoMapEntry e;
  e.map_name = "green";
  e.seq = seq;
  e.match_address = acl;
  cfg.crypto_maps.push_back(e);
  config::AclEntry line;
  line.src = IpAddress::V4(198, 51, 100, 0);
  line.src_wildcard = IpAddress::V4(0, 0, 0, 255);
  line.dst = ScaleHost(seq);
  line.dst_wildcard = IpAddress::V4(0, 0, 0, 0);
  cfg.acls[acl] = config::AccessList{acl, true, {line}};
}

// The SA pair of entry `green seq`, with the given transforms and keys.
inline ike::ChildSaSnapshot ScaleSnapshot(uint32_t seq, config::EspCipher cipher,
                                          config::EspAuth auth, SecretBytes enc_key_in,
                                          SecretBytes auth_key_in, SecretBytes enc_key_out,
                                          SecretBytes auth_key_out) {
  ike::ChildSaSnapshot s;
  s.ike_sa = 1 + seq;
  s.map_name = "green";
  s.map_seq = seq;
  s.local = Endpoint{IpAddress::V4(192, 0, 2, 1), 4500};
  s.remote = Endpoint{IpAddress::V4(192, 0, 2, 2), 4500};
  s.udp_encap = true;
  s.spi_in = 0x10000000u + 2 * seq;
  s.spi_out = 0x10000001u + 2 * seq;
  s.cipher = cipher;
  s.auth = auth;
  s.enc_key_in = std::move(enc_key_in);
  s.auth_key_in = std::move(auth_key_in);
  s.enc_key_out = std::move(enc_key_out);
  s.auth_key_out = std::move(auth_key_out);
  s.local_net = IpAddress::V4(198, 51, 100, 0);
  s.local_mask = IpAddress::V4(255, 255, 255, 0);
  s.remote_net = ScaleHost(seq);
  s.remote_mask = IpAddress::V4(255, 255, 255, 255);
  s.lifetime_kb = 0;
  s.lifetime_left_s = 3600;
  return s;
}

}  // namespace ikepulse::dataplane
