// The fields of an inner IP packet the data plane needs for policy (RFC 791 / RFC 8200).
// Pure; any input is safe.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/result.h"

namespace ikepulse::dataplane {

struct IpFlow {
  uint8_t version = 0;  // 4 or 6
  IpAddress src;
  IpAddress dst;
  uint8_t protocol = 0;  // IPv4 protocol / IPv6 first next header (no extension walk)
};

struct IpParseError {
  const char* detail = "";
};

// Checks: version 4 with IHL >= 5, header and total length within the buffer; or version 6
// with a 40-byte header and payload length within the buffer.
Result<IpFlow, IpParseError> ParseIpPacket(ByteSpan packet);

// Is addr inside net/mask (mask as a netmask, not a wildcard)? False across families.
bool InSubnet(const IpAddress& addr, const IpAddress& net, const IpAddress& mask);

}  // namespace ikepulse::dataplane
