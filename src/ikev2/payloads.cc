// The IKEv2 payload chain (RFC 7296 §3.2) and every payload other than SA (sa_payload.cc), TS
// and CP (selectors.cc). Layouts, after the 4-byte generic header:
//   KE:     DH Group Num(2) | RESERVED(2) | Key Exchange Data
//   IDi/r:  ID Type(1) | RESERVED(3) | Identification Data
//   CERT, CERTREQ: Encoding(1) | data
//   AUTH:   Auth Method(1) | RESERVED(3) | Authentication Data
//   Nonce:  Nonce Data (16..256 bytes)
//   N:      Protocol ID(1) | SPI Size(1) | Notify Message Type(2) | SPI | Notification Data
//   D:      Protocol ID(1) | SPI Size(1) | Num of SPIs(2) | SPIs
//   V, EAP: opaque
//   SK:     IV | ciphertext | ICV, opaque; Next Payload = first inner payload
//   SKF (RFC 7383): Fragment Number(2) | Total Fragments(2) | IV | ciphertext | ICV, opaque
#include "ikev2/payloads.h"

#include <type_traits>

#include "ikev2/payloads_internal.h"

namespace ikepulse::ikev2 {
namespace {

using internal::Copy;
using internal::Fail;
using internal::ReadU16At;

template <typename T>
Result<PayloadBody, ParseError> Ok(T v) {
  return PayloadBody(std::move(v));
}

template <typename T>
Result<PayloadBody, ParseError> Lift(Result<T, ParseError> r) {
  if (!r) return MakeUnexpected(r.error());
  return PayloadBody(std::move(*r));
}

bool IsKnown(PayloadType t) {
  const uint8_t v = static_cast<uint8_t>(t);
  return (v >= static_cast<uint8_t>(PayloadType::kSa) &&
          v <= static_cast<uint8_t>(PayloadType::kEap)) ||
         t == PayloadType::kSkf;
}

Result<PayloadBody, ParseError> ParseKe(ByteSpan b, size_t base) {
  if (b.size() < 4) return Fail(base, "Unable to read KE header.");
  return Ok(KePayload{ReadU16At(b, 0), Copy(b.subspan(4))});
}

Result<PayloadBody, ParseError> ParseId(ByteSpan b, size_t base) {
  if (b.size() < 4) return Fail(base, "Unable to read ID header.");
  IdPayload id{b[0], Copy(b.subspan(4))};
  const size_t want = id.id_type == static_cast<uint8_t>(IdType::kIpv4Addr)   ? 4
                      : id.id_type == static_cast<uint8_t>(IdType::kIpv6Addr) ? 16
                                                                              : 0;
  if (want != 0 && id.data.size() != want) {
    return Fail(base + 4, "ID data length does not match ID type.");
  }
  return Ok(std::move(id));
}

Result<PayloadBody, ParseError> ParseAuth(ByteSpan b, size_t base) {
  if (b.size() < 4) return Fail(base, "Unable to read AUTH header.");
  return Ok(AuthPayload{b[0], Copy(b.subspan(4))});
}

Result<PayloadBody, ParseError> ParseNonce(ByteSpan b, size_t base) {
  if (b.size() < kNonceMin || b.size() > kNonceMax) {
    return Fail(base, "Nonce length outside 16..256 bytes.");
  }
  return Ok(NoncePayload{Copy(b)});
}

// Data sizes the RFCs fix for some notify types; other types are not checked here.
bool NotifyDataShapeOk(uint16_t type, size_t size) {
  switch (static_cast<NotifyType>(type)) {
    case NotifyType::kInvalidKePayload:
      return size == 2;  // the accepted DH group
    case NotifyType::kNatDetectionSourceIp:
    case NotifyType::kNatDetectionDestinationIp:
      return size == 20;  // SHA-1
    case NotifyType::kCookie:
      return size >= 1 && size <= 64;
    default:
      return true;
  }
}

Result<PayloadBody, ParseError> ParseNotify(ByteSpan b, size_t base) {
  if (b.size() < 4) return Fail(base, "Unable to read notify header.");
  NotifyPayload n;
  n.protocol_id = b[0];
  const uint8_t spi_size = b[1];
  n.type = ReadU16At(b, 2);
  if (spi_size > b.size() - 4) return Fail(base + 4, "Unable to read SPI.");
  n.spi = Copy(b.subspan(4, spi_size));
  n.data = Copy(b.subspan(4 + spi_size));
  if (!NotifyDataShapeOk(n.type, n.data.size())) {
    return Fail(base + 4 + spi_size, "Notify data length wrong for its type.");
  }
  return Ok(std::move(n));
}

Result<PayloadBody, ParseError> ParseDelete(ByteSpan b, size_t base) {
  if (b.size() < 4) return Fail(base, "Unable to read delete header.");
  DeletePayload d;
  d.protocol_id = b[0];
  d.spi_size = b[1];
  const uint16_t count = ReadU16At(b, 2);
  switch (static_cast<ProtocolId>(d.protocol_id)) {
    case ProtocolId::kIke:
      if (d.spi_size != 0 || count != 0) return Fail(base + 1, "IKE delete carries SPIs.");
      break;
    case ProtocolId::kAh:
    case ProtocolId::kEsp:
      if (d.spi_size != 4) return Fail(base + 1, "Child SA delete SPI size is not 4.");
      break;
    default:
      if (count != 0 && d.spi_size == 0) return Fail(base + 1, "Delete SPI size is zero.");
      break;
  }
  if (size_t{count} * d.spi_size != b.size() - 4) {
    return Fail(base + 2, "Delete SPI count does not match length.");
  }
  d.spis.reserve(count);
  for (size_t i = 0; i < count; ++i)
    d.spis.push_back(Copy(b.subspan(4 + i * d.spi_size, d.spi_size)));
  return Ok(std::move(d));
}

Result<PayloadBody, ParseError> ParseBody(PayloadType type, ByteSpan b, size_t base) {
  switch (type) {
    case PayloadType::kSa:
      return Lift(internal::ParseSa(b, base));
    case PayloadType::kKe:
      return ParseKe(b, base);
    case PayloadType::kIdi:
    case PayloadType::kIdr:
      return ParseId(b, base);
    case PayloadType::kCert:
    case PayloadType::kCertReq:
      if (b.empty()) return Fail(base, "Unable to read certificate encoding.");
      return Ok(CertPayload{b[0], Copy(b.subspan(1))});
    case PayloadType::kAuth:
      return ParseAuth(b, base);
    case PayloadType::kNonce:
      return ParseNonce(b, base);
    case PayloadType::kNotify:
      return ParseNotify(b, base);
    case PayloadType::kDelete:
      return ParseDelete(b, base);
    case PayloadType::kVendorId:
      return Ok(VendorIdPayload{Copy(b)});
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      return Lift(internal::ParseTs(b, base));
    case PayloadType::kCp:
      return Lift(internal::ParseCp(b, base));
    default:  // EAP, and non-critical types we do not know
      return Ok(RawPayload{Copy(b)});
  }
}

void SerializeBodyTo(const PayloadBody& body, ByteWriter& w) {
  std::visit(
      [&w](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, SaPayload>) {
          internal::SerializeSa(p, w);
        } else if constexpr (std::is_same_v<T, KePayload>) {
          w.U16(p.dh_group);
          w.U16(0);
          w.Append(p.data);
        } else if constexpr (std::is_same_v<T, IdPayload> || std::is_same_v<T, AuthPayload>) {
          if constexpr (std::is_same_v<T, IdPayload>) w.U8(p.id_type);
          if constexpr (std::is_same_v<T, AuthPayload>) w.U8(p.method);
          w.U8(0);
          w.U16(0);
          w.Append(p.data);
        } else if constexpr (std::is_same_v<T, CertPayload>) {
          w.U8(p.encoding);
          w.Append(p.data);
        } else if constexpr (std::is_same_v<T, NotifyPayload>) {
          IKEPULSE_CHECK(p.spi.size() <= 0xff);
          w.U8(p.protocol_id);
          w.U8(static_cast<uint8_t>(p.spi.size()));
          w.U16(p.type);
          w.Append(p.spi);
          w.Append(p.data);
        } else if constexpr (std::is_same_v<T, DeletePayload>) {
          IKEPULSE_CHECK(p.spis.size() <= 0xffff);
          w.U8(p.protocol_id);
          w.U8(p.spi_size);
          w.U16(static_cast<uint16_t>(p.spis.size()));
          for (const Bytes& spi : p.spis) {
            IKEPULSE_CHECK(spi.size() == p.spi_size);
            w.Append(spi);
          }
        } else if constexpr (std::is_same_v<T, TsPayload>) {
          internal::SerializeTs(p, w);
        } else if constexpr (std::is_same_v<T, CpPayload>) {
          internal::SerializeCp(p, w);
        } else if constexpr (std::is_same_v<T, RawPayload>) {
          w.Append(p.body);
        } else {  // Nonce, VID, SK: opaque data
          w.Append(p.data);
        }
      },
      body);
}

}  // namespace

Result<std::vector<Payload>, ParseError> ParsePayloads(PayloadType first, ByteSpan body,
                                                       uint32_t base_offset, ChainKind kind) {
  std::vector<Payload> chain;
  PayloadType next = first;
  size_t pos = 0;
  while (next != PayloadType::kNone) {
    const size_t at = base_offset + pos;
    if (chain.size() == internal::kMaxPayloads) return Fail(at, "Too many payloads.");
    if (body.size() - pos < kGenericHeaderSize) {
      return Fail(at, "Unable to read generic payload header.");
    }
    const uint8_t np = body[pos];
    const bool critical = (body[pos + 1] & kCriticalBit) != 0;
    const size_t len = ReadU16At(body, pos + 2);
    if (len < kGenericHeaderSize) return Fail(at, "Payload length too small.");
    if (len > body.size() - pos) return Fail(at, "Payload length past end of message.");
    if (!IsKnown(next) && critical) {
      return MakeUnexpected(ParseError{NotifyType::kUnsupportedCriticalPayload,
                                       static_cast<uint32_t>(at), "Unsupported critical payload.",
                                       static_cast<uint8_t>(next)});
    }
    const ByteSpan b = body.subspan(pos + kGenericHeaderSize, len - kGenericHeaderSize);
    Payload p{next, critical, RawPayload{}, static_cast<uint32_t>(at), static_cast<uint32_t>(len)};
    if (chain.empty()) chain.reserve(8);
    if (next == PayloadType::kSk || next == PayloadType::kSkf) {
      if (kind == ChainKind::kInner) return Fail(at, "Encrypted payload inside encrypted payload.");
      if (pos + len != body.size()) return Fail(at + len, "Data after encrypted payload.");
      p.body = EncryptedPayload{static_cast<PayloadType>(np), Copy(b)};
      chain.push_back(std::move(p));
      return chain;
    }
    auto parsed = ParseBody(next, b, at + kGenericHeaderSize);
    if (!parsed) return MakeUnexpected(parsed.error());
    p.body = std::move(*parsed);
    chain.push_back(std::move(p));
    pos += len;
    next = static_cast<PayloadType>(np);
  }
  if (pos != body.size()) return Fail(base_offset + pos, "Data after last payload.");
  return chain;
}

PayloadType DefaultTypeOf(const PayloadBody& b) {
  return std::visit(
      [](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, SaPayload>) return PayloadType::kSa;
        if constexpr (std::is_same_v<T, KePayload>) return PayloadType::kKe;
        if constexpr (std::is_same_v<T, IdPayload>) return PayloadType::kIdi;
        if constexpr (std::is_same_v<T, CertPayload>) return PayloadType::kCert;
        if constexpr (std::is_same_v<T, AuthPayload>) return PayloadType::kAuth;
        if constexpr (std::is_same_v<T, NoncePayload>) return PayloadType::kNonce;
        if constexpr (std::is_same_v<T, NotifyPayload>) return PayloadType::kNotify;
        if constexpr (std::is_same_v<T, DeletePayload>) return PayloadType::kDelete;
        if constexpr (std::is_same_v<T, VendorIdPayload>) return PayloadType::kVendorId;
        if constexpr (std::is_same_v<T, TsPayload>) return PayloadType::kTsi;
        if constexpr (std::is_same_v<T, EncryptedPayload>) return PayloadType::kSk;
        if constexpr (std::is_same_v<T, CpPayload>) return PayloadType::kCp;
        if constexpr (std::is_same_v<T, RawPayload>) return PayloadType::kNone;
      },
      b);
}

bool TypeMatchesBody(PayloadType type, const PayloadBody& body) {
  if (type == PayloadType::kNone) return false;
  if (std::holds_alternative<RawPayload>(body)) {
    return type == PayloadType::kEap || !IsKnown(type);
  }
  switch (type) {
    case PayloadType::kIdr:
      return std::holds_alternative<IdPayload>(body);
    case PayloadType::kCertReq:
      return std::holds_alternative<CertPayload>(body);
    case PayloadType::kTsr:
      return std::holds_alternative<TsPayload>(body);
    case PayloadType::kSkf:
      return std::holds_alternative<EncryptedPayload>(body);
    default:
      return DefaultTypeOf(body) == type;
  }
}

Bytes SerializeBody(const PayloadBody& body) {
  Bytes out;
  ByteWriter w(out);
  SerializeBodyTo(body, w);
  return out;
}

Bytes SerializePayloads(const std::vector<Payload>& payloads, std::vector<uint32_t>* offsets) {
  Bytes out;
  out.reserve(512);
  ByteWriter w(out);
  if (offsets) offsets->clear();
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    IKEPULSE_CHECK(TypeMatchesBody(p.type, p.body));
    const size_t start = w.size();
    if (offsets) offsets->push_back(static_cast<uint32_t>(start));
    PayloadType next = PayloadType::kNone;
    if (const auto* sk = std::get_if<EncryptedPayload>(&p.body)) {
      IKEPULSE_CHECK(i + 1 == payloads.size());  // an encrypted payload is always last
      next = sk->inner_next;
    } else if (i + 1 < payloads.size()) {
      next = payloads[i + 1].type;
    }
    w.U8(static_cast<uint8_t>(next));
    w.U8(p.critical ? kCriticalBit : 0);
    w.U16(0);  // length, patched below
    SerializeBodyTo(p.body, w);
    const size_t len = w.size() - start;
    IKEPULSE_CHECK(len <= 0xffff);
    w.PatchU16(start + 2, static_cast<uint16_t>(len));
  }
  return out;
}

Payload MakePayload(PayloadBody body) {
  const PayloadType t = DefaultTypeOf(body);
  return MakePayload(t, std::move(body));
}

Payload MakePayload(PayloadType type, PayloadBody body) {
  IKEPULSE_CHECK(TypeMatchesBody(type, body));
  Payload p;
  p.type = type;
  p.body = std::move(body);
  return p;
}

Payload MakeNotify(NotifyType type, Bytes data) {
  return MakePayload(NotifyPayload{0, {}, static_cast<uint16_t>(type), std::move(data)});
}

const Payload* FindType(const std::vector<Payload>& chain, PayloadType type) {
  for (const auto& p : chain)
    if (p.type == type) return &p;
  return nullptr;
}

const NotifyPayload* FindNotify(const std::vector<Payload>& chain, NotifyType type) {
  for (const auto& p : chain) {
    const auto* n = std::get_if<NotifyPayload>(&p.body);
    if (n && n->type == static_cast<uint16_t>(type)) return n;
  }
  return nullptr;
}

}  // namespace ikepulse::ikev2
