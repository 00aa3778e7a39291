// UDP encapsulation of ESP (RFC 3948 §2): what a datagram received on UDP 4500 is.
//   - first 4 bytes zero ("non-ESP marker"): an IKE message follows the marker;
//   - exactly one byte 0xFF: a NAT-keepalive (§2.3), to be ignored;
//   - otherwise the first 4 bytes are a non-zero SPI: ESP (at least SPI + sequence number).
// ESP sent on 4500 carries no marker: the UDP payload is the ESP packet itself.
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace ikepulse::dataplane {

inline constexpr uint16_t kNattPort = 4500;

enum class NattKind : uint8_t {
  kEsp = 0,
  kIke = 1,        // payload after the 4-byte marker
  kKeepalive = 2,  // RFC 3948 §2.3
  kInvalid = 3,    // too short for anything else
};

inline NattKind ClassifyNattDatagram(ByteSpan d) {
  if (d.size() == 1 && d[0] == 0xFF) return NattKind::kKeepalive;
  if (d.size() < 4) return NattKind::kInvalid;
  if (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0) return NattKind::kIke;
  if (d.size() < 8) return NattKind::kInvalid;  // SPI but no sequence number
  return NattKind::kEsp;
}

// The IKE message inside a kIke datagram (the marker removed); empty for other kinds.
inline ByteSpan NattIkePayload(ByteSpan d) {
  return ClassifyNattDatagram(d) == NattKind::kIke ? d.subspan(4) : ByteSpan();
}

}  // namespace ikepulse::dataplane
