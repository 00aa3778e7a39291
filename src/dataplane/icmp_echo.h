// IPv4 ICMP echo request / reply (RFC 792) for the `ping` command: builds the whole IP packet
// of an echo request and recognises an echo reply. Pure; any input is safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/endpoint.h"

namespace ikepulse::dataplane {

inline constexpr size_t kIpv4HeaderSize = 20;
inline constexpr size_t kIcmpHeaderSize = 8;
// The smallest echo `ping` sends: IP and ICMP headers plus an 8-byte payload.
inline constexpr size_t kMinEchoSize = 36;
inline constexpr size_t kMaxEchoSize = 65535;

struct EchoRequestSpec {
  IpAddress src;       // IPv4
  IpAddress dst;       // IPv4
  uint16_t ident = 0;  // ICMP identifier: one per ping command
  uint16_t seq = 0;    // ICMP sequence number: one per echo
  uint16_t ip_id = 0;  // IPv4 identification
  size_t size = 100;   // the whole IPv4 datagram, as IOS counts it; clamped to [36, 65535]
  uint8_t ttl = 255;
};

// The 16-bit one's complement of the one's complement sum (RFC 1071), in host order.
uint16_t InternetChecksum(ByteSpan data);

// An IPv4 packet carrying an ICMP echo request; the payload is IOS's 0xABCD pattern.
Bytes BuildEchoRequest(const EchoRequestSpec& spec);

struct EchoReply {
  IpAddress src;  // who answered
  IpAddress dst;
  uint16_t ident = 0;
  uint16_t seq = 0;
  size_t size = 0;  // the IPv4 datagram
};

// The echo reply in `packet`, or nullopt when it is not a well-formed, unfragmented IPv4 ICMP
// echo reply with correct header and ICMP checksums.
std::optional<EchoReply> ParseEchoReply(ByteSpan packet);

}  // namespace ikepulse::dataplane
