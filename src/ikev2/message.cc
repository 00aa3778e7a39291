// The IKEv2 header (RFC 7296 §3.1), whole messages, and the Encrypted payload's byte ranges
// (§3.14; RFC 5282 §5.1 for the AEAD associated data; RFC 7383 §2.5 for SKF).
#include "ikev2/message.h"

#include <algorithm>

#include "ikev2/payloads_internal.h"

namespace ikepulse::ikev2 {
namespace {

using internal::Fail;
using internal::ReadU16At;

constexpr uint32_t kVersionOffset = 17;
constexpr uint32_t kLengthOffset = 24;
constexpr size_t kSkfFragmentFields = 4;  // Fragment Number(2) | Total Fragments(2)

}  // namespace

Result<Header, ParseError> ParseHeader(ByteSpan datagram) {
  if (datagram.size() < kHeaderSize) return Fail(0, "Unable to read IKE header.");
  ByteReader r(datagram);
  Header h;
  ByteSpan s;
  uint8_t np = 0, exchange = 0;
  // The size check above makes every read below succeed.
  bool ok = r.ReadBytes(kSpiSize, s);
  std::copy(s.begin(), s.end(), h.spi_i.begin());
  ok = ok && r.ReadBytes(kSpiSize, s);
  std::copy(s.begin(), s.end(), h.spi_r.begin());
  ok = ok && r.ReadU8(np) && r.ReadU8(h.version) && r.ReadU8(exchange) && r.ReadU8(h.flags) &&
       r.ReadU32(h.message_id) && r.ReadU32(h.length);
  IKEPULSE_CHECK(ok);
  h.next_payload = static_cast<PayloadType>(np);
  h.exchange = static_cast<ExchangeType>(exchange);
  if (h.major() != kMajorVersion) {
    return MakeUnexpected(ParseError{NotifyType::kInvalidMajorVersion, kVersionOffset,
                                     "Unsupported major version.", 0});
  }
  if (h.length < kHeaderSize) return Fail(kLengthOffset, "Message length shorter than header.");
  if (h.length > datagram.size()) {
    return Fail(kLengthOffset, "Message length past end of datagram.");
  }
  return h;
}

void SerializeHeader(const Header& h, ByteWriter& w) {
  w.Append(h.spi_i);
  w.Append(h.spi_r);
  w.U8(static_cast<uint8_t>(h.next_payload));
  w.U8(h.version);
  w.U8(static_cast<uint8_t>(h.exchange));
  w.U8(h.flags);
  w.U32(h.message_id);
  w.U32(h.length);
}

Result<Message, ParseError> ParseMessage(ByteSpan datagram) {
  auto h = ParseHeader(datagram);
  if (!h) return MakeUnexpected(h.error());
  const ByteSpan body = datagram.subspan(kHeaderSize, h->length - kHeaderSize);
  auto chain = ParsePayloads(h->next_payload, body, kHeaderSize, ChainKind::kMessage);
  if (!chain) return MakeUnexpected(chain.error());
  return Message{*h, std::move(*chain)};
}

Bytes BuildMessage(Header h, const std::vector<Payload>& payloads) {
  Bytes body = SerializePayloads(payloads);
  IKEPULSE_CHECK(body.size() <= UINT32_MAX - kHeaderSize);
  h.next_payload = payloads.empty() ? PayloadType::kNone : payloads.front().type;
  h.length = static_cast<uint32_t>(kHeaderSize + body.size());
  Bytes out;
  out.reserve(h.length);
  ByteWriter w(out);
  SerializeHeader(h, w);
  w.Append(body);
  return out;
}

Result<SkLayout, ParseError> LocateSk(ByteSpan message, size_t iv_size, size_t icv_size) {
  auto h = ParseHeader(message);
  if (!h) return MakeUnexpected(h.error());
  const ByteSpan msg = message.first(h->length);
  PayloadType next = h->next_payload;
  size_t pos = kHeaderSize;
  for (size_t n = 0; n < internal::kMaxPayloads && next != PayloadType::kNone; ++n) {
    if (msg.size() - pos < kGenericHeaderSize) {
      return Fail(pos, "Unable to read generic payload header.");
    }
    const size_t len = ReadU16At(msg, pos + 2);
    if (len < kGenericHeaderSize) return Fail(pos, "Payload length too small.");
    if (len > msg.size() - pos) return Fail(pos, "Payload length past end of message.");
    if (next != PayloadType::kSk && next != PayloadType::kSkf) {
      next = static_cast<PayloadType>(msg[pos]);
      pos += len;
      continue;
    }
    if (pos + len != msg.size()) return Fail(pos + len, "Data after encrypted payload.");
    SkLayout sk;
    sk.type = next;
    sk.inner_next = static_cast<PayloadType>(msg[pos]);
    sk.payload_offset = pos;
    sk.iv_offset = pos + kGenericHeaderSize;
    if (next == PayloadType::kSkf) sk.iv_offset += kSkfFragmentFields;
    sk.end = pos + len;
    // IV, at least the Pad Length byte, and the ICV.
    if (sk.iv_offset > sk.end || sk.end - sk.iv_offset < iv_size + 1 + icv_size) {
      return Fail(pos, "Encrypted payload too short for IV and ICV.");
    }
    sk.ciphertext_offset = sk.iv_offset + iv_size;
    sk.icv_offset = sk.end - icv_size;
    return sk;
  }
  return Fail(pos, "No encrypted payload.");
}

}  // namespace ikepulse::ikev2
