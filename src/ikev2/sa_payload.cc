// SA payload with its Proposal and Transform substructures and their attributes
// (RFC 7296 §3.3). The SA body (after the generic header) is a list of proposals:
//
// Proposal substructure:
//   Last Substruc(1) = 2 more / 0 last | RESERVED(1) | Proposal Length(2)
//   Proposal Num(1) | Protocol ID(1) | SPI Size(1) | Num Transforms(1) | SPI (SPI Size)
//   Transform substructures
// Transform substructure:
//   Last Substruc(1) = 3 more / 0 last | RESERVED(1) | Transform Length(2)
//   Transform Type(1) | RESERVED(1) | Transform ID(2) | Transform Attributes
// Transform attribute:
//   AF(1 bit) | Attribute Type(15) | AF=1: Attribute Value(2)
//                                    AF=0: Attribute Length(2) | Attribute Value(Length)
//
// Proposal numbers are not judged here: a request numbers them 1, 2, ... while a response
// carries the one accepted proposal with its original number, so only the engine knows which
// rule applies.
#include "ikev2/payloads.h"
#include "ikev2/payloads_internal.h"

namespace ikepulse::ikev2 {

uint16_t Transform::key_length() const {
  for (const Attribute& a : attributes)
    if (a.type == kAttrKeyLength && a.tv) return a.value;
  return 0;
}

namespace internal {
namespace {

constexpr uint8_t kProposalMore = 2;
constexpr uint8_t kTransformMore = 3;
constexpr uint8_t kLast = 0;
constexpr size_t kProposalFixed = 8;   // substructure header + num/protocol/spi size/count
constexpr size_t kTransformFixed = 8;  // substructure header + type/reserved/id
constexpr uint16_t kAttrFormatTv = 0x8000;

// `t` is the whole transform substructure; its length is already checked.
Result<Transform, ParseError> ParseTransform(ByteSpan t, size_t base) {
  Transform out;
  out.type = t[4];
  out.id = ReadU16At(t, 6);
  size_t pos = kTransformFixed;
  while (pos < t.size()) {
    if (out.attributes.size() == kMaxAttributes) return Fail(base + pos, "Too many attributes.");
    if (t.size() - pos < 4) return Fail(base + pos, "Unable to read attribute.");
    const uint16_t af_type = ReadU16At(t, pos);
    const uint16_t v = ReadU16At(t, pos + 2);
    Attribute a;
    a.type = af_type & 0x7fff;
    a.tv = (af_type & kAttrFormatTv) != 0;
    if (a.tv) {
      a.value = v;
      pos += 4;
    } else {
      if (a.type == kAttrKeyLength) {
        return Fail(base + pos, "Key Length attribute not in TV form.");
      }
      if (v > t.size() - pos - 4) {
        return Fail(base + pos, "Attribute length past end of transform.");
      }
      a.data.assign(t.begin() + pos + 4, t.begin() + pos + 4 + v);
      pos += 4 + v;
    }
    out.attributes.push_back(std::move(a));
  }
  return out;
}

// The SPI sizes §3.3.1 allows: none or 8 bytes (IKE SA rekey) for IKE, 4 for AH and ESP.
// Proposals of other protocols are kept; the engine ignores them.
bool SpiSizeAllowed(uint8_t protocol, uint8_t size) {
  switch (static_cast<ProtocolId>(protocol)) {
    case ProtocolId::kIke:
      return size == 0 || size == kSpiSize;
    case ProtocolId::kAh:
    case ProtocolId::kEsp:
      return size == 4;
    default:
      return size == 0 || size == 4 || size == kSpiSize;
  }
}

// `p` is the whole proposal substructure; its length is already checked.
Result<Proposal, ParseError> ParseProposal(ByteSpan p, size_t base) {
  Proposal out;
  out.number = p[4];
  out.protocol_id = p[5];
  const uint8_t spi_size = p[6];
  const uint8_t declared = p[7];
  if (!SpiSizeAllowed(out.protocol_id, spi_size)) {
    return Fail(base + 6, "SPI size not allowed for protocol.");
  }
  if (spi_size > p.size() - kProposalFixed)
    return Fail(base + kProposalFixed, "Unable to read SPI.");
  out.spi.assign(p.begin() + kProposalFixed, p.begin() + kProposalFixed + spi_size);
  if (declared == 0) return Fail(base + 7, "Proposal without transforms.");
  size_t pos = kProposalFixed + spi_size;
  out.transforms.reserve(std::min<size_t>(declared, kMaxTransforms));
  while (true) {
    if (out.transforms.size() == kMaxTransforms) return Fail(base + pos, "Too many transforms.");
    if (p.size() - pos < kGenericHeaderSize) {
      return Fail(base + pos, "Unable to read transform header.");
    }
    const uint8_t more = p[pos];
    const size_t len = ReadU16At(p, pos + 2);
    if (more != kTransformMore && more != kLast) return Fail(base + pos, "Bad transform nesting.");
    if (len < kTransformFixed) return Fail(base + pos, "Transform length too small.");
    if (len > p.size() - pos) return Fail(base + pos, "Transform length past end of proposal.");
    auto t = ParseTransform(p.subspan(pos, len), base + pos);
    if (!t) return MakeUnexpected(t.error());
    out.transforms.push_back(std::move(*t));
    pos += len;
    if (more == kLast) break;
  }
  if (pos != p.size()) return Fail(base + pos, "Data after last transform.");
  if (declared != out.transforms.size()) return Fail(base + 7, "Transform count mismatch.");
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
  w.U8(t.type);
  w.U8(0);
  w.U16(t.id);
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
  SaPayload sa;
  size_t pos = 0;
  if (body.empty()) return Fail(base, "SA without proposals.");
  while (true) {
    if (sa.proposals.size() == kMaxProposals) return Fail(base + pos, "Too many proposals.");
    if (body.size() - pos < kGenericHeaderSize) {
      return Fail(base + pos, "Unable to read proposal header.");
    }
    const uint8_t more = body[pos];
    const size_t len = ReadU16At(body, pos + 2);
    if (more != kProposalMore && more != kLast) return Fail(base + pos, "Bad proposal nesting.");
    if (len < kProposalFixed) return Fail(base + pos, "Proposal length too small.");
    if (len > body.size() - pos) return Fail(base + pos, "Proposal length past end of SA.");
    auto p = ParseProposal(body.subspan(pos, len), base + pos);
    if (!p) return MakeUnexpected(p.error());
    sa.proposals.push_back(std::move(*p));
    pos += len;
    if (more == kLast) break;
  }
  if (pos != body.size()) return Fail(base + pos, "Data after last proposal.");
  return sa;
}

void SerializeSa(const SaPayload& sa, ByteWriter& w) {
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    SerializeProposal(sa.proposals[i], i + 1 == sa.proposals.size(), w);
  }
}

}  // namespace internal
}  // namespace ikepulse::ikev2
