#include "dataplane/icmp_echo.h"

#include <algorithm>

namespace ikepulse::dataplane {
namespace {

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kEchoReply = 0;
constexpr uint8_t kEchoRequest = 8;

void Put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v & 0xff);
}

uint16_t Get16(ByteSpan b, size_t at) {
  return static_cast<uint16_t>((uint16_t{b[at]} << 8) | b[at + 1]);
}

}  // namespace

uint16_t InternetChecksum(ByteSpan data) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += Get16(data, i);
  if (i < data.size()) sum += uint32_t{data[i]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

Bytes BuildEchoRequest(const EchoRequestSpec& spec) {
  const size_t size = std::clamp(spec.size, kMinEchoSize, kMaxEchoSize);
  Bytes p(size, 0);
  p[0] = 0x45;  // version 4, IHL 5
  Put16(p, 2, static_cast<uint16_t>(size));
  Put16(p, 4, spec.ip_id);
  p[8] = spec.ttl;
  p[9] = kProtoIcmp;
  std::copy_n(spec.src.bytes.begin(), 4, p.begin() + 12);
  std::copy_n(spec.dst.bytes.begin(), 4, p.begin() + 16);
  Put16(p, 10, InternetChecksum(ByteSpan(p.data(), kIpv4HeaderSize)));
  const size_t icmp = kIpv4HeaderSize;
  p[icmp] = kEchoRequest;
  Put16(p, icmp + 4, spec.ident);
  Put16(p, icmp + 6, spec.seq);
  for (size_t i = icmp + kIcmpHeaderSize; i < size; ++i)
    p[i] = ((i - icmp - kIcmpHeaderSize) % 2 == 0) ? 0xab : 0xcd;
  Put16(p, icmp + 2, InternetChecksum(ByteSpan(p.data() + icmp, size - icmp)));
  return p;
}

std::optional<EchoReply> ParseEchoReply(ByteSpan p) {
  if (p.size() < kIpv4HeaderSize || (p[0] >> 4) != 4) return std::nullopt;
  const size_t ihl = (p[0] & 0x0f) * 4u;
  const size_t total = Get16(p, 2);
  if (ihl < kIpv4HeaderSize || total > p.size() || total < ihl + kIcmpHeaderSize)
    return std::nullopt;
  if (p[9] != kProtoIcmp) return std::nullopt;
  // A fragment (more fragments set, or a non-zero offset) is not a whole reply.
  if ((Get16(p, 6) & 0x3fff) != 0) return std::nullopt;
  if (InternetChecksum(p.subspan(0, ihl)) != 0) return std::nullopt;
  const ByteSpan icmp = p.subspan(ihl, total - ihl);
  if (icmp[0] != kEchoReply || icmp[1] != 0) return std::nullopt;
  if (InternetChecksum(icmp) != 0) return std::nullopt;
  EchoReply r;
  std::copy_n(p.begin() + 12, 4, r.src.bytes.begin());
  std::copy_n(p.begin() + 16, 4, r.dst.bytes.begin());
  r.ident = Get16(icmp, 4);
  r.seq = Get16(icmp, 6);
  r.size = total;
  return r;
}

}  // namespace ikepulse::dataplane
