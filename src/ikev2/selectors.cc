// Traffic Selector payloads (RFC 7296 §3.13) and the Configuration payload (§3.15).
//
// TS body:   Number of TSs(1) | RESERVED(3) | Traffic Selectors
// Selector:  TS Type(1) | IP Protocol ID(1) | Selector Length(2) | Start Port(2) | End Port(2)
//            | Starting Address | Ending Address
// CP body:   CFG Type(1) | RESERVED(3) | Configuration Attributes
// Attribute: R(1 bit) | Attribute Type(15) | Length(2) | Value(Length)
#include "ikev2/payloads.h"
#include "ikev2/payloads_internal.h"

namespace ikepulse::ikev2::internal {
namespace {

constexpr size_t kTsHeader = 4;        // number of TSs + reserved
constexpr size_t kSelectorPrefix = 4;  // type, protocol, length
constexpr size_t kSelectorPorts = 4;   // start and end port
constexpr size_t kCpHeader = 4;        // CFG type + reserved
constexpr size_t kCpAttrHeader = 4;

// Address size of the range types, 0 for types we keep raw.
size_t AddressSize(uint8_t ts_type) {
  switch (static_cast<TsType>(ts_type)) {
    case TsType::kIpv4AddrRange:
      return 4;
    case TsType::kIpv6AddrRange:
      return 16;
  }
  return 0;
}

// `s` is the whole selector; its length is already checked to be >= 4.
Result<TrafficSelector, ParseError> ParseSelector(ByteSpan s, size_t base) {
  TrafficSelector ts;
  ts.ts_type = s[0];
  ts.ip_protocol = s[1];
  const size_t addr = AddressSize(ts.ts_type);
  if (addr == 0) {
    ts.start_port = 0;
    ts.end_port = 0;
    ts.raw = Copy(s.subspan(kSelectorPrefix));
    return ts;
  }
  if (s.size() != kSelectorPrefix + kSelectorPorts + 2 * addr) {
    return Fail(base + 2, "Selector length does not match TS type.");
  }
  ts.start_port = ReadU16At(s, 4);
  ts.end_port = ReadU16At(s, 6);
  ts.start_address = Copy(s.subspan(8, addr));
  ts.end_address = Copy(s.subspan(8 + addr, addr));
  return ts;
}

}  // namespace

Result<TsPayload, ParseError> ParseTs(ByteSpan body, size_t base) {
  if (body.size() < kTsHeader) return Fail(base, "Unable to read TS header.");
  const uint8_t declared = body[0];
  if (declared == 0) return Fail(base, "TS payload without selectors.");
  if (declared > kMaxSelectors) return Fail(base, "Too many traffic selectors.");
  TsPayload out;
  out.selectors.reserve(declared);
  size_t pos = kTsHeader;
  while (out.selectors.size() < declared) {
    if (body.size() - pos < kSelectorPrefix) {
      return Fail(base + pos, "Unable to read selector header.");
    }
    const size_t len = ReadU16At(body, pos + 2);
    if (len < kSelectorPrefix) return Fail(base + pos + 2, "Selector length too small.");
    if (len > body.size() - pos) return Fail(base + pos + 2, "Selector length past end of TS.");
    auto ts = ParseSelector(body.subspan(pos, len), base + pos);
    if (!ts) return MakeUnexpected(ts.error());
    out.selectors.push_back(std::move(*ts));
    pos += len;
  }
  if (pos != body.size()) return Fail(base + pos, "Data after last selector.");
  return out;
}

void SerializeTs(const TsPayload& ts, ByteWriter& w) {
  IKEPULSE_CHECK(ts.selectors.size() <= 0xff);
  w.U8(static_cast<uint8_t>(ts.selectors.size()));
  w.U8(0);
  w.U16(0);
  for (const TrafficSelector& s : ts.selectors) {
    const size_t start = w.size();
    w.U8(s.ts_type);
    w.U8(s.ip_protocol);
    w.U16(0);  // length, patched below
    const size_t addr = AddressSize(s.ts_type);
    if (addr == 0) {
      w.Append(s.raw);
    } else {
      IKEPULSE_CHECK(s.start_address.size() == addr && s.end_address.size() == addr);
      w.U16(s.start_port);
      w.U16(s.end_port);
      w.Append(s.start_address);
      w.Append(s.end_address);
    }
    const size_t len = w.size() - start;
    IKEPULSE_CHECK(len <= 0xffff);
    w.PatchU16(start + 2, static_cast<uint16_t>(len));
  }
}

Result<CpPayload, ParseError> ParseCp(ByteSpan body, size_t base) {
  if (body.size() < kCpHeader) return Fail(base, "Unable to read CP header.");
  CpPayload cp;
  cp.cfg_type = body[0];
  size_t pos = kCpHeader;
  while (pos < body.size()) {
    if (cp.attributes.size() == kMaxAttributes) return Fail(base + pos, "Too many attributes.");
    if (body.size() - pos < kCpAttrHeader) return Fail(base + pos, "Unable to read attribute.");
    CpAttribute a;
    a.type = ReadU16At(body, pos) & 0x7fff;
    const size_t len = ReadU16At(body, pos + 2);
    if (len > body.size() - pos - kCpAttrHeader) {
      return Fail(base + pos + 2, "Attribute length past end of CP.");
    }
    a.value = Copy(body.subspan(pos + kCpAttrHeader, len));
    cp.attributes.push_back(std::move(a));
    pos += kCpAttrHeader + len;
  }
  return cp;
}

void SerializeCp(const CpPayload& cp, ByteWriter& w) {
  w.U8(cp.cfg_type);
  w.U8(0);
  w.U16(0);
  for (const CpAttribute& a : cp.attributes) {
    IKEPULSE_CHECK(a.value.size() <= 0xffff);
    w.U16(a.type & 0x7fff);
    w.U16(static_cast<uint16_t>(a.value.size()));
    w.Append(a.value);
  }
}

}  // namespace ikepulse::ikev2::internal
