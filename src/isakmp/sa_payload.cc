// SA payload with its nested Proposal and Transform payloads and their data attributes
// (RFC 2408 §3.3-3.6, RFC 2407 §4.6.1).
//
// SA body (after the generic header):
//   DOI(4) | Situation(4) | Proposal payload(s)
// Proposal payload:
//   Next Payload(1) = 2 more / 0 last | RESERVED(1) | Payload Length(2)
//   Proposal #(1) | Protocol-Id(1) | SPI Size(1) | # of Transforms(1) | SPI(SPI Size)
//   Transform payload(s)
// Transform payload:
//   Next Payload(1) = 3 more / 0 last | RESERVED(1) | Payload Length(2)
//   Transform #(1) | Transform-Id(1) | RESERVED2(2) | SA Attributes
// Data attribute:
//   AF(1 bit) | Attribute Type(15) | AF=1: Attribute Value(2)
//                                    AF=0: Attribute Length(2) | Attribute Value(Length)
#include <algorithm>

#include "isakmp/payloads.h"
#include "isakmp/payloads_internal.h"

namespace ikepulse::isakmp {

std::optional<uint64_t> Attribute::AsInteger() const {
  if (tv) return value;
  if (data.empty() || data.size() > 8) return std::nullopt;
  uint64_t v = 0;
  for (uint8_t b : data) v = (v << 8) | b;
  return v;
}

Attribute Attribute::Integer(uint16_t type, uint64_t v) {
  if (v <= 0xffff) return Tv(type, static_cast<uint16_t>(v));
  const size_t n = v <= 0xffffffffu ? 4 : 8;
  Bytes data(n);
  for (size_t i = 0; i < n; ++i) data[n - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  return Tlv(type, std::move(data));
}

const Attribute* Transform::Find(uint16_t type) const {
  for (const Attribute& a : attributes)
    if (a.type == type) return &a;
  return nullptr;
}

namespace internal {
namespace {

constexpr uint8_t kProposalMore = static_cast<uint8_t>(PayloadType::kProposal);
constexpr uint8_t kTransformMore = static_cast<uint8_t>(PayloadType::kTransform);
constexpr uint8_t kLast = 0;
constexpr size_t kProposalFixed = 8;   // generic header + number/protocol/spi size/count
constexpr size_t kTransformFixed = 8;  // generic header + number/id/reserved2
constexpr uint16_t kAttrFormatTv = 0x8000;
constexpr uint32_t kSitSecrecy = 0x2;
constexpr uint32_t kSitIntegrity = 0x4;
constexpr NotifyType kSyntax = NotifyType::kBadProposalSyntax;
constexpr NotifyType kMalformed = NotifyType::kPayloadMalformed;

// `t` is the whole transform payload (generic header included); its length is already checked.
Result<Transform, ParseError> ParseTransform(ByteSpan t, size_t base) {
  Transform out;
  out.number = t[4];
  out.id = t[5];
  size_t pos = kTransformFixed;
  while (pos < t.size()) {
    if (out.attributes.size() == kMaxAttributes) {
      return Fail(kMalformed, base + pos, "Too many attributes.");
    }
    if (t.size() - pos < 4) return Fail(kSyntax, base + pos, "Unable to read attribute.");
    const uint16_t af_type = static_cast<uint16_t>((t[pos] << 8) | t[pos + 1]);
    const uint16_t v = static_cast<uint16_t>((t[pos + 2] << 8) | t[pos + 3]);
    Attribute a;
    a.type = af_type & 0x7fff;
    a.tv = (af_type & kAttrFormatTv) != 0;
    if (a.tv) {
      a.value = v;
      pos += 4;
    } else {
      if (v > t.size() - pos - 4) {
        return Fail(kSyntax, base + pos, "Attribute length past end of transform.");
      }
      a.data.assign(t.begin() + pos + 4, t.begin() + pos + 4 + v);
      pos += 4 + v;
    }
    out.attributes.push_back(std::move(a));
  }
  return out;
}

// `p` is the whole proposal payload (generic header included); its length is already checked.
Result<Proposal, ParseError> ParseProposal(ByteSpan p, size_t base) {
  Proposal out;
  out.number = p[4];
  out.protocol_id = p[5];
  const uint8_t spi_size = p[6];
  const uint8_t declared_transforms = p[7];
  if (spi_size > p.size() - kProposalFixed) {
    return Fail(kSyntax, base + kProposalFixed, "Unable to read SPI.");
  }
  out.spi.assign(p.begin() + kProposalFixed, p.begin() + kProposalFixed + spi_size);
  size_t pos = kProposalFixed + spi_size;
  out.transforms.reserve(std::min<size_t>(declared_transforms, kMaxTransforms));
  while (true) {
    if (out.transforms.size() == kMaxTransforms) {
      return Fail(kMalformed, base + pos, "Too many transforms.");
    }
    if (p.size() - pos < kGenericHeaderSize) {
      return Fail(kSyntax, base + pos, "Unable to read transform header.");
    }
    const uint8_t np = p[pos];
    const size_t len = static_cast<size_t>((p[pos + 2] << 8) | p[pos + 3]);
    if (np != kTransformMore && np != kLast) {
      return Fail(kSyntax, base + pos, "Bad transform nesting.");
    }
    if (len < kTransformFixed) return Fail(kSyntax, base + pos, "Transform length too small.");
    if (len > p.size() - pos) {
      return Fail(kSyntax, base + pos, "Transform length past end of proposal.");
    }
    auto t = ParseTransform(p.subspan(pos, len), base + pos);
    if (!t) return MakeUnexpected(t.error());
    out.transforms.push_back(std::move(*t));
    pos += len;
    if (np == kLast) break;
  }
  if (pos != p.size()) return Fail(kSyntax, base + pos, "Data after last transform.");
  if (declared_transforms != out.transforms.size()) {
    return Fail(kSyntax, base + 7, "Transform count mismatch.");
  }
  return out;
}

void SerializeAttribute(const Attribute& a, ByteWriter& w) {
  const uint16_t type = a.type & 0x7fff;
  if (a.tv) {
    w.U16(kAttrFormatTv | type);
    w.U16(a.value);
    return;
  }
  IKEPULSE_CHECK(a.data.size() <= 0xffff);
  w.U16(type);
  w.U16(static_cast<uint16_t>(a.data.size()));
  w.Append(a.data);
}

void SerializeTransform(const Transform& t, bool last, ByteWriter& w) {
  const size_t start = w.size();
  w.U8(last ? kLast : kTransformMore);
  w.U8(0);
  w.U16(0);  // length, patched below
  w.U8(t.number);
  w.U8(t.id);
  w.U16(0);
  for (const Attribute& a : t.attributes) SerializeAttribute(a, w);
  const size_t len = w.size() - start;
  IKEPULSE_CHECK(len <= 0xffff);
  w.PatchU16(start + 2, static_cast<uint16_t>(len));
}

void SerializeProposal(const Proposal& p, bool last, ByteWriter& w) {
  IKEPULSE_CHECK(p.spi.size() <= 0xff);
  IKEPULSE_CHECK(p.transforms.size() <= 0xff);
  const size_t start = w.size();
  w.U8(last ? kLast : kProposalMore);
  w.U8(0);
  w.U16(0);  // length, patched below
  w.U8(p.number);
  w.U8(p.protocol_id);
  w.U8(static_cast<uint8_t>(p.spi.size()));
  w.U8(static_cast<uint8_t>(p.transforms.size()));
  w.Append(p.spi);
  for (size_t i = 0; i < p.transforms.size(); ++i) {
    SerializeTransform(p.transforms[i], i + 1 == p.transforms.size(), w);
  }
  const size_t len = w.size() - start;
  IKEPULSE_CHECK(len <= 0xffff);
  w.PatchU16(start + 2, static_cast<uint16_t>(len));
}

}  // namespace

Result<SaPayload, ParseError> ParseSa(ByteSpan body, size_t base) {
  ByteReader r(body);
  SaPayload sa;
  if (!r.ReadU32(sa.doi)) return Fail(kMalformed, base, "Unable to read DOI.");
  if (sa.doi != kDoiIpsec) return Fail(NotifyType::kDoiNotSupported, base, "Unsupported DOI.");
  if (!r.ReadU32(sa.situation)) return Fail(kMalformed, base + 4, "Unable to read situation.");
  // Secrecy and integrity situations carry labeled-domain fields we do not parse.
  if (sa.situation & (kSitSecrecy | kSitIntegrity)) {
    return Fail(NotifyType::kSituationNotSupported, base + 4, "Unsupported situation.");
  }
  size_t pos = r.offset();
  while (true) {
    if (sa.proposals.size() == kMaxProposals) {
      return Fail(kMalformed, base + pos, "Too many proposals.");
    }
    if (body.size() - pos < kGenericHeaderSize) {
      return Fail(kSyntax, base + pos, "Unable to read proposal header.");
    }
    const uint8_t np = body[pos];
    const size_t len = static_cast<size_t>((body[pos + 2] << 8) | body[pos + 3]);
    if (np != kProposalMore && np != kLast) {
      return Fail(kSyntax, base + pos, "Bad proposal nesting.");
    }
    if (len < kProposalFixed) return Fail(kSyntax, base + pos, "Proposal length too small.");
    if (len > body.size() - pos) {
      return Fail(kSyntax, base + pos, "Proposal length past end of SA.");
    }
    auto p = ParseProposal(body.subspan(pos, len), base + pos);
    if (!p) return MakeUnexpected(p.error());
    sa.proposals.push_back(std::move(*p));
    pos += len;
    if (np == kLast) break;
  }
  if (pos != body.size()) return Fail(kSyntax, base + pos, "Data after last proposal.");
  return sa;
}

void SerializeSa(const SaPayload& sa, ByteWriter& w) {
  w.U32(sa.doi);
  w.U32(sa.situation);
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    SerializeProposal(sa.proposals[i], i + 1 == sa.proposals.size(), w);
  }
}

}  // namespace internal
}  // namespace ikepulse::isakmp
