#include "isakmp/header.h"

#include <algorithm>

namespace ikepulse::isakmp {
namespace {

constexpr uint32_t kVersionOffset = 17;
constexpr uint32_t kLengthOffset = 24;

Unexpected<ParseError> Fail(NotifyType code, uint32_t offset, const char* detail) {
  return MakeUnexpected(ParseError{code, offset, detail});
}

}  // namespace

Result<Header, ParseError> ParseHeader(ByteSpan datagram) {
  if (datagram.size() < kHeaderSize) {
    return Fail(NotifyType::kPayloadMalformed, 0, "Unable to read ISAKMP header.");
  }
  ByteReader r(datagram);
  Header h;
  ByteSpan s;
  uint8_t np = 0, exchange = 0;
  // The size check above makes every read below succeed.
  bool ok = r.ReadBytes(kCookieSize, s);
  std::copy(s.begin(), s.end(), h.icookie.begin());
  ok = ok && r.ReadBytes(kCookieSize, s);
  std::copy(s.begin(), s.end(), h.rcookie.begin());
  ok = ok && r.ReadU8(np) && r.ReadU8(h.version) && r.ReadU8(exchange) && r.ReadU8(h.flags) &&
       r.ReadU32(h.message_id) && r.ReadU32(h.length);
  IKEPULSE_CHECK(ok);
  h.next_payload = static_cast<PayloadType>(np);
  h.exchange = static_cast<ExchangeType>(exchange);
  if ((h.version >> 4) != (kIsakmpVersion >> 4)) {
    return Fail(NotifyType::kInvalidMajorVersion, kVersionOffset, "Unsupported major version.");
  }
  if (h.length < kHeaderSize) {
    return Fail(NotifyType::kUnequalPayloadLengths, kLengthOffset,
                "Message length shorter than header.");
  }
  if (h.length > datagram.size()) {
    return Fail(NotifyType::kUnequalPayloadLengths, kLengthOffset,
                "Message length past end of datagram.");
  }
  return h;
}

void SerializeHeader(const Header& h, ByteWriter& w) {
  w.Append(h.icookie);
  w.Append(h.rcookie);
  w.U8(static_cast<uint8_t>(h.next_payload));
  w.U8(h.version);
  w.U8(static_cast<uint8_t>(h.exchange));
  w.U8(h.flags);
  w.U32(h.message_id);
  w.U32(h.length);
}

Bytes BuildMessage(Header h, ByteSpan body) {
  IKEPULSE_CHECK(body.size() <= UINT32_MAX - kHeaderSize);
  h.length = static_cast<uint32_t>(kHeaderSize + body.size());
  Bytes out;
  out.reserve(h.length);
  ByteWriter w(out);
  SerializeHeader(h, w);
  w.Append(body);
  return out;
}

}  // namespace ikepulse::isakmp
