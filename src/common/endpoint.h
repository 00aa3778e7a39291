// Endpoint: an IP address (v4 or v6) and UDP port, as plain bytes. No socket headers here.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace ikepulse {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4

  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  static IpAddress V4FromU32(uint32_t host_order);
  uint32_t V4ToU32() const;  // host order
  ByteSpan span() const { return ByteSpan(bytes.data(), v6 ? 16 : 4); }
  std::string ToString() const;
  auto operator<=>(const IpAddress&) const = default;
};

struct Endpoint {
  IpAddress ip;
  uint16_t port = 0;
  std::string ToString() const;  // "192.0.2.1:500" / "[2001:db8::1]:500"
  auto operator<=>(const Endpoint&) const = default;
};

}  // namespace ikepulse
