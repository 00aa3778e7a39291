#include "common/endpoint.h"

#include <arpa/inet.h>  // inet_pton/inet_ntop: pure text conversion, no sockets

#include <cstring>

namespace ikepulse {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

IpAddress IpAddress::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress r;
  r.bytes[0] = a;
  r.bytes[1] = b;
  r.bytes[2] = c;
  r.bytes[3] = d;
  return r;
}

IpAddress IpAddress::V4FromU32(uint32_t v) {
  return V4(static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
            static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v));
}

uint32_t IpAddress::V4ToU32() const {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         bytes[3];
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::string Endpoint::ToString() const {
  // Built with append: GCC 12 at -O3 reports a false -Wrestrict on "[" + std::string.
  std::string out;
  out.reserve(48);
  if (ip.v6) out.append("[");
  out.append(ip.ToString());
  if (ip.v6) out.append("]");
  out.append(":");
  out.append(std::to_string(port));
  return out;
}

}  // namespace ikepulse
