// The payload chain (RFC 2408 §3.2) and every payload other than SA (which is in
// sa_payload.cc). Layouts, after the 4-byte generic header:
//   KE, HASH, SIG, NONCE, VID, NAT-D: opaque data
//   ID (RFC 2407 §4.6.2):  ID Type(1) | Protocol ID(1) | Port(2) | Identification Data
//   CERT: Cert Encoding(1) | Certificate Data        CR: Cert Type(1) | Certificate Authority
//   N:    DOI(4) | Protocol-ID(1) | SPI Size(1) | Notify Message Type(2) | SPI | Notification Data
//   D:    DOI(4) | Protocol-Id(1) | SPI Size(1) | # of SPIs(2) | SPI(es)
//   NAT-OA (RFC 3947 §5.2): ID Type(1) | RESERVED(3) | IPv4 (4) or IPv6 (16) address
#include "isakmp/payloads.h"

#include <type_traits>

#include "isakmp/payloads_internal.h"

namespace ikepulse::isakmp {
namespace {

using internal::Fail;
constexpr NotifyType kMalformed = NotifyType::kPayloadMalformed;

template <typename T>
Result<PayloadBody, ParseError> Ok(T v) {
  return PayloadBody(std::move(v));
}

Bytes Copy(ByteSpan s) { return Bytes(s.begin(), s.end()); }

// Expected data size for the fixed-size ID types, 0 for variable ones.
size_t IdDataSize(uint8_t id_type) {
  switch (static_cast<IdType>(id_type)) {
    case IdType::kIpv4Addr:
      return 4;
    case IdType::kIpv4Subnet:
    case IdType::kIpv4Range:
      return 8;
    case IdType::kIpv6Addr:
      return 16;
    case IdType::kIpv6Subnet:
    case IdType::kIpv6Range:
      return 32;
    default:
      return 0;
  }
}

Result<PayloadBody, ParseError> ParseId(ByteSpan b, size_t base) {
  ByteReader r(b);
  IdPayload id;
  if (!r.ReadU8(id.id_type) || !r.ReadU8(id.protocol) || !r.ReadU16(id.port)) {
    return Fail(kMalformed, base, "Unable to read ID header.");
  }
  const size_t want = IdDataSize(id.id_type);
  if (want != 0 && r.remaining() != want) {
    return Fail(NotifyType::kInvalidIdInformation, base + 4,
                "ID data length does not match ID type.");
  }
  id.data = Copy(r.rest());
  return Ok(std::move(id));
}

Result<PayloadBody, ParseError> ParseNotification(ByteSpan b, size_t base) {
  ByteReader r(b);
  NotificationPayload n;
  uint8_t spi_size = 0;
  if (!r.ReadU32(n.doi)) return Fail(kMalformed, base, "Unable to read DOI.");
  if (!r.ReadU8(n.protocol_id)) return Fail(kMalformed, base + 4, "Unable to read protocol ID.");
  if (!r.ReadU8(spi_size)) return Fail(kMalformed, base + 5, "Unable to read SPI size.");
  if (!r.ReadU16(n.type)) return Fail(kMalformed, base + 6, "Unable to read notify type.");
  if (!r.ReadBytes(spi_size, n.spi)) return Fail(kMalformed, base + 8, "Unable to read SPI.");
  n.data = Copy(r.rest());
  const bool dpd = n.type == static_cast<uint16_t>(NotifyType::kRUThere) ||
                   n.type == static_cast<uint16_t>(NotifyType::kRUThereAck);
  if (dpd && n.data.size() != 4) {
    return Fail(kMalformed, base + 8 + spi_size, "DPD notification data must be 4 bytes.");
  }
  return Ok(std::move(n));
}

Result<PayloadBody, ParseError> ParseDelete(ByteSpan b, size_t base) {
  ByteReader r(b);
  DeletePayload d;
  uint16_t count = 0;
  if (!r.ReadU32(d.doi)) return Fail(kMalformed, base, "Unable to read DOI.");
  if (!r.ReadU8(d.protocol_id)) return Fail(kMalformed, base + 4, "Unable to read protocol ID.");
  if (!r.ReadU8(d.spi_size)) return Fail(kMalformed, base + 5, "Unable to read SPI size.");
  if (!r.ReadU16(count)) return Fail(kMalformed, base + 6, "Unable to read number of SPIs.");
  if (count != 0 && d.spi_size == 0) return Fail(kMalformed, base + 5, "Delete SPI size is zero.");
  if (size_t{count} * d.spi_size != r.remaining()) {
    return Fail(kMalformed, base + 6, "Delete SPI count does not match length.");
  }
  d.spis.reserve(count);
  for (uint16_t i = 0; i < count; ++i) {
    Bytes spi;
    if (!r.ReadBytes(d.spi_size, spi)) return Fail(kMalformed, base + 8, "Unable to read SPI.");
    d.spis.push_back(std::move(spi));
  }
  return Ok(std::move(d));
}

Result<PayloadBody, ParseError> ParseNatOa(ByteSpan b, size_t base) {
  NatOaPayload oa;
  if (b.size() < 4) return Fail(kMalformed, base, "Unable to read NAT-OA header.");
  oa.id_type = b[0];
  const size_t want = oa.id_type == static_cast<uint8_t>(IdType::kIpv4Addr)   ? 4
                      : oa.id_type == static_cast<uint8_t>(IdType::kIpv6Addr) ? 16
                                                                              : 0;
  if (want != 0 && b.size() - 4 != want) {
    return Fail(kMalformed, base + 4, "NAT-OA address length does not match ID type.");
  }
  oa.address = Copy(b.subspan(4));
  return Ok(std::move(oa));
}

Result<PayloadBody, ParseError> ParseBody(PayloadType type, ByteSpan b, size_t base) {
  switch (type) {
    case PayloadType::kSa: {
      auto sa = internal::ParseSa(b, base);
      if (!sa) return MakeUnexpected(sa.error());
      return Ok(std::move(*sa));
    }
    case PayloadType::kProposal:
    case PayloadType::kTransform:
      return Fail(NotifyType::kInvalidPayloadType, base - kGenericHeaderSize,
                  "Proposal or transform outside SA.");
    case PayloadType::kKeyExchange:
      return Ok(KeyExchangePayload{Copy(b)});
    case PayloadType::kId:
      return ParseId(b, base);
    case PayloadType::kCert:
      if (b.empty()) return Fail(kMalformed, base, "Unable to read certificate encoding.");
      return Ok(CertPayload{b[0], Copy(b.subspan(1))});
    case PayloadType::kCertRequest:
      if (b.empty()) return Fail(kMalformed, base, "Unable to read certificate type.");
      return Ok(CertRequestPayload{b[0], Copy(b.subspan(1))});
    case PayloadType::kHash:
      return Ok(HashPayload{Copy(b)});
    case PayloadType::kSignature:
      return Ok(SignaturePayload{Copy(b)});
    case PayloadType::kNonce:
      return Ok(NoncePayload{Copy(b)});
    case PayloadType::kNotification:
      return ParseNotification(b, base);
    case PayloadType::kDelete:
      return ParseDelete(b, base);
    case PayloadType::kVendorId:
      return Ok(VendorIdPayload{Copy(b)});
    case PayloadType::kNatD:
    case PayloadType::kNatDDraft:
      return Ok(NatDPayload{Copy(b)});
    case PayloadType::kNatOa:
    case PayloadType::kNatOaDraft:
      return ParseNatOa(b, base);
    default:
      return Ok(UnknownPayload{Copy(b)});
  }
}

void SerializeBodyTo(const PayloadBody& body, ByteWriter& w) {
  std::visit(
      [&w](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, SaPayload>) {
          internal::SerializeSa(p, w);
        } else if constexpr (std::is_same_v<T, IdPayload>) {
          w.U8(p.id_type);
          w.U8(p.protocol);
          w.U16(p.port);
          w.Append(p.data);
        } else if constexpr (std::is_same_v<T, CertPayload>) {
          w.U8(p.encoding);
          w.Append(p.data);
        } else if constexpr (std::is_same_v<T, CertRequestPayload>) {
          w.U8(p.cert_type);
          w.Append(p.authority);
        } else if constexpr (std::is_same_v<T, NotificationPayload>) {
          IKEPULSE_CHECK(p.spi.size() <= 0xff);
          w.U32(p.doi);
          w.U8(p.protocol_id);
          w.U8(static_cast<uint8_t>(p.spi.size()));
          w.U16(p.type);
          w.Append(p.spi);
          w.Append(p.data);
        } else if constexpr (std::is_same_v<T, DeletePayload>) {
          IKEPULSE_CHECK(p.spis.size() <= 0xffff);
          w.U32(p.doi);
          w.U8(p.protocol_id);
          w.U8(p.spi_size);
          w.U16(static_cast<uint16_t>(p.spis.size()));
          for (const Bytes& spi : p.spis) {
            IKEPULSE_CHECK(spi.size() == p.spi_size);
            w.Append(spi);
          }
        } else if constexpr (std::is_same_v<T, NatDPayload>) {
          w.Append(p.hash);
        } else if constexpr (std::is_same_v<T, NatOaPayload>) {
          w.U8(p.id_type);
          w.U8(0);
          w.U16(0);
          w.Append(p.address);
        } else if constexpr (std::is_same_v<T, UnknownPayload>) {
          w.Append(p.body);
        } else {  // KE, HASH, SIG, NONCE, VID: opaque data
          w.Append(p.data);
        }
      },
      body);
}

}  // namespace

Result<std::vector<Payload>, ParseError> ParsePayloads(PayloadType first, ByteSpan body,
                                                       uint32_t base_offset) {
  std::vector<Payload> chain;
  PayloadType next = first;
  size_t pos = 0;
  while (next != PayloadType::kNone) {
    const size_t at = base_offset + pos;
    if (chain.size() == internal::kMaxPayloads) return Fail(kMalformed, at, "Too many payloads.");
    if (body.size() - pos < kGenericHeaderSize) {
      return Fail(kMalformed, at, "Unable to read generic payload header.");
    }
    const uint8_t np = body[pos];
    const size_t len = static_cast<size_t>((body[pos + 2] << 8) | body[pos + 3]);
    if (len < kGenericHeaderSize) return Fail(kMalformed, at, "Payload length too small.");
    if (len > body.size() - pos) {
      return Fail(kMalformed, at, "Payload length past end of message.");
    }
    auto parsed = ParseBody(next, body.subspan(pos + kGenericHeaderSize, len - kGenericHeaderSize),
                            at + kGenericHeaderSize);
    if (!parsed) return MakeUnexpected(parsed.error());
    if (chain.empty()) chain.reserve(8);
    chain.push_back(
        Payload{next, std::move(*parsed), static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
    pos += len;
    next = static_cast<PayloadType>(np);
  }
  return chain;
}

PayloadType TypeOf(const PayloadBody& b, bool draft_nat) {
  return std::visit(
      [draft_nat](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, SaPayload>) return PayloadType::kSa;
        if constexpr (std::is_same_v<T, KeyExchangePayload>) return PayloadType::kKeyExchange;
        if constexpr (std::is_same_v<T, IdPayload>) return PayloadType::kId;
        if constexpr (std::is_same_v<T, CertPayload>) return PayloadType::kCert;
        if constexpr (std::is_same_v<T, CertRequestPayload>) return PayloadType::kCertRequest;
        if constexpr (std::is_same_v<T, HashPayload>) return PayloadType::kHash;
        if constexpr (std::is_same_v<T, SignaturePayload>) return PayloadType::kSignature;
        if constexpr (std::is_same_v<T, NoncePayload>) return PayloadType::kNonce;
        if constexpr (std::is_same_v<T, NotificationPayload>) return PayloadType::kNotification;
        if constexpr (std::is_same_v<T, DeletePayload>) return PayloadType::kDelete;
        if constexpr (std::is_same_v<T, VendorIdPayload>) return PayloadType::kVendorId;
        if constexpr (std::is_same_v<T, NatDPayload>) {
          return draft_nat ? PayloadType::kNatDDraft : PayloadType::kNatD;
        }
        if constexpr (std::is_same_v<T, NatOaPayload>) {
          return draft_nat ? PayloadType::kNatOaDraft : PayloadType::kNatOa;
        }
        if constexpr (std::is_same_v<T, UnknownPayload>) return PayloadType::kNone;
      },
      b);
}

Bytes SerializeBody(const PayloadBody& body) {
  Bytes out;
  ByteWriter w(out);
  SerializeBodyTo(body, w);
  return out;
}

Bytes SerializePayloads(const std::vector<Payload>& payloads, std::vector<uint32_t>* offsets) {
  Bytes out;
  out.reserve(256);
  ByteWriter w(out);
  if (offsets) offsets->clear();
  for (size_t i = 0; i < payloads.size(); ++i) {
    const size_t start = w.size();
    if (offsets) offsets->push_back(static_cast<uint32_t>(start));
    PayloadType next = PayloadType::kNone;
    if (i + 1 < payloads.size()) {
      const Payload& n = payloads[i + 1];
      next = n.type != PayloadType::kNone ? n.type : TypeOf(n.body);
      IKEPULSE_CHECK(next != PayloadType::kNone);  // UnknownPayload needs an explicit type
    }
    w.U8(static_cast<uint8_t>(next));
    w.U8(0);
    w.U16(0);  // length, patched below
    SerializeBodyTo(payloads[i].body, w);
    const size_t len = w.size() - start;
    IKEPULSE_CHECK(len <= 0xffff);
    w.PatchU16(start + 2, static_cast<uint16_t>(len));
  }
  return out;
}

Payload MakePayload(PayloadBody body, bool draft_nat) {
  Payload p;
  p.type = TypeOf(body, draft_nat);
  p.body = std::move(body);
  return p;
}

}  // namespace ikepulse::isakmp
