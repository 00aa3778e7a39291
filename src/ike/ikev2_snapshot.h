// Ikev2SaSnapshot: a read-only copy of one IKEv2 SA (and its Child SAs) for `show crypto ikev2
// sa [detailed]`, `show crypto ikev2 session [detailed]` and `show crypto session`, the IKEv2
// counterpart of IsakmpSaSnapshot (node.h). A plain value: no pointer into the engine.
//
// The strings are the names IOS XE prints (`show crypto ikev2 sa`), so that the CLI renders
// them as they are: encryption "AES-CBC" / "AES-GCM" with the key size apart, PRF and
// integrity "SHA1", "SHA256", "SHA384", "SHA512" (HMAC-SHA1-96 integrity is "SHA96"; an AEAD
// cipher has integrity "None"), authentication "PSK".
//
// Who fills it: the engine, from each Ikev2Session (Node::Ikev2Sas).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "ike/outbox.h"

namespace ikepulse::ike {

// One ESP Child SA of an IKEv2 SA (a pair: our inbound SPI and the peer's).
struct Ikev2ChildSnapshot {
  // The traffic selectors, as networks (IOS prints them as address ranges, ports 0-65535).
  IpAddress local_net, local_mask, remote_net, remote_mask;
  uint8_t protocol = 0;                // 0: any
  uint32_t spi_in = 0;                 // ours (the peer sends with it)
  uint32_t spi_out = 0;                // the peer's
  std::string encryption = "AES-CBC";  // IOS names: AES-CBC, AES-GCM, 3DES, NULL
  uint16_t key_size = 128;             // bits; 0 when the cipher has no variable key size
  std::string esp_hmac = "SHA96";      // SHA96, SHA256, SHA384, SHA512, MD596, None (AEAD)
  bool operator==(const Ikev2ChildSnapshot&) const = default;
};

struct Ikev2SaSnapshot {
  // IOS `Status` of an IKEv2 SA.
  enum class Status : uint8_t {
    kReady = 0,  // READY: established (IKE_AUTH done)
    kInNeg = 1,  // IN-NEG: IKE_SA_INIT or IKE_AUTH in progress
    kDelete = 2  // DELETE: being deleted (our Delete sent, its answer awaited)
  };

  SaId tunnel_id = kNoSa;  // IOS "Tunnel-id" (and "connid" in `show crypto session detail`)
  Endpoint local;          // the ports show whether the SA floated to the NAT-T port
  Endpoint remote;
  Status status = Status::kInNeg;
  bool initiator = false;  // we sent the IKE_SA_INIT request

  // The crypto map entry the SA serves and its `set ikev2-profile` ("" while unknown, e.g. a
  // responder before IKE_AUTH).
  std::string map_name;
  uint32_t map_seq = 0;
  std::string profile;

  // The negotiated suite (empty strings / 0 before IKE_SA_INIT is answered).
  std::string encryption;  // "AES-CBC", "AES-GCM"
  uint16_t key_size = 0;   // bits
  std::string prf;         // "SHA256"
  std::string integrity;   // IOS "Hash": "SHA256", "SHA96", "None" with an AEAD cipher
  uint16_t dh_group = 0;
  std::string auth_sign = "PSK";    // how we authenticate ourselves
  std::string auth_verify = "PSK";  // how we verify the peer

  uint32_t lifetime_s = 0;    // the profile's lifetime
  int64_t active_time_s = 0;  // seconds since established (0 while negotiating)

  // The IKE SPIs, each the eight bytes read big-endian (IOS prints them as 16 hex digits).
  uint64_t spi_local = 0;   // ours: SPIi when we are the initiator, SPIr otherwise
  uint64_t spi_remote = 0;  // the peer's (0 before the responder's SPI is known)

  // Message IDs (window size 1 each way).
  uint32_t next_request_id = 0;       // the ID our next request gets
  uint32_t next_peer_request_id = 0;  // the ID the peer's next request must carry

  // NAT traversal.
  bool nat_detected = false;  // NAT_DETECTION_* showed a NAT on the path
  bool nat_local = false;     // ... in front of us (IOS "detected inside")
  bool nat_remote = false;    // ... in front of the peer (IOS "detected outside")
  bool floated = false;       // the SA moved to the NAT-T port

  // Liveness (DPD): configuration (profile `dpd`, else `crypto ikev2 dpd`) and state.
  bool dpd_enabled = false;
  bool dpd_periodic = false;  // false: on-demand
  uint32_t dpd_interval_s = 0;
  uint32_t dpd_retry_s = 0;
  bool dpd_active = false;            // the monitor runs (established, DPD configured)
  bool dpd_probing = false;           // a liveness probe (empty INFORMATIONAL) is unanswered
  uint32_t dpd_probe_sends = 0;       // times that probe has been sent (1 + retransmissions)
  int64_t dpd_last_heard_s_ago = -1;  // since the last authenticated message; -1: never

  // VRFs: ikepulse has none (always the global table, IOS "none").
  std::string fvrf, ivrf;

  std::vector<Ikev2ChildSnapshot> children;

  bool operator==(const Ikev2SaSnapshot&) const = default;
};

// "READY", "IN-NEG", "DELETE".
inline const char* Ikev2StatusName(Ikev2SaSnapshot::Status s) {
  switch (s) {
    case Ikev2SaSnapshot::Status::kReady:
      return "READY";
    case Ikev2SaSnapshot::Status::kInNeg:
      return "IN-NEG";
    case Ikev2SaSnapshot::Status::kDelete:
      return "DELETE";
  }
  return "IN-NEG";
}

}  // namespace ikepulse::ike
