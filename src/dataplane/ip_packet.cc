#include "dataplane/ip_packet.h"

#include <algorithm>

namespace ikepulse::dataplane {
namespace {
Unexpected<IpParseError> Fail(const char* d) { return MakeUnexpected(IpParseError{d}); }
}  // namespace

Result<IpFlow, IpParseError> ParseIpPacket(ByteSpan p) {
  if (p.empty()) return Fail("Empty packet.");
  IpFlow f;
  f.version = p[0] >> 4;
  if (f.version == 4) {
    if (p.size() < 20) return Fail("IPv4 header truncated.");
    const size_t ihl = (p[0] & 0x0f) * 4u;
    if (ihl < 20) return Fail("IPv4 IHL below 5.");
    const size_t total = (size_t{p[2]} << 8) | p[3];
    if (ihl > p.size() || total < ihl || total > p.size()) return Fail("IPv4 length mismatch.");
    f.protocol = p[9];
    f.src.v6 = f.dst.v6 = false;
    std::copy_n(p.begin() + 12, 4, f.src.bytes.begin());
    std::copy_n(p.begin() + 16, 4, f.dst.bytes.begin());
    return f;
  }
  if (f.version == 6) {
    if (p.size() < 40) return Fail("IPv6 header truncated.");
    const size_t payload = (size_t{p[4]} << 8) | p[5];
    if (40 + payload > p.size()) return Fail("IPv6 length mismatch.");
    f.protocol = p[6];
    f.src.v6 = f.dst.v6 = true;
    std::copy_n(p.begin() + 8, 16, f.src.bytes.begin());
    std::copy_n(p.begin() + 24, 16, f.dst.bytes.begin());
    return f;
  }
  return Fail("Not IPv4 or IPv6.");
}

bool InSubnet(const IpAddress& addr, const IpAddress& net, const IpAddress& mask) {
  if (addr.v6 != net.v6) return false;
  const size_t n = addr.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i)
    if ((addr.bytes[i] & mask.bytes[i]) != (net.bytes[i] & mask.bytes[i])) return false;
  return true;
}

}  // namespace ikepulse::dataplane
