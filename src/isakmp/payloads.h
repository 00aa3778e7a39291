// ISAKMP payload value structs and the payload-chain codec (RFC 2408 §3, RFC 2407 §4,
// RFC 3706, RFC 3947). Pure functions over bytes; no state.
//
// Generic payload header (RFC 2408 §3.2), in front of every payload:
//  0                   1                   2                   3
// ! Next Payload  !   RESERVED    !         Payload Length        !
//
// Two-stage parsing: ParseHeader (header.h) on the clear datagram, then, after the caller has
// decrypted the body, ParsePayloads over the body with the header's next_payload.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "isakmp/constants.h"
#include "isakmp/parse_error.h"

namespace ikepulse::isakmp {

// Data attribute (RFC 2408 §3.3). AF=1 (TV): 16-bit value in `value`, `data` empty.
// AF=0 (TLV): variable `data`. Parse keeps the form seen; serialize writes TV iff `tv`.
struct Attribute {
  uint16_t type = 0;  // without the AF bit
  bool tv = true;
  uint16_t value = 0;
  Bytes data;

  static Attribute Tv(uint16_t type, uint16_t value) { return {type, true, value, {}}; }
  static Attribute Tlv(uint16_t type, Bytes data) { return {type, false, 0, std::move(data)}; }
  // Integer value of a TV attribute or of a TLV of up to 8 bytes (life durations are often
  // TLV with 4 bytes). nullopt if longer.
  std::optional<uint64_t> AsInteger() const;
  // TV if the value fits 16 bits, else a 4-byte TLV (as strongSwan and IOS send lifetimes).
  static Attribute Integer(uint16_t type, uint64_t v);
  bool operator==(const Attribute&) const = default;
};

// Transform payload (RFC 2408 §3.6).
struct Transform {
  uint8_t number = 1;
  uint8_t id = 0;
  std::vector<Attribute> attributes;
  const Attribute* Find(uint16_t type) const;
  bool operator==(const Transform&) const = default;
};

// Proposal payload (RFC 2408 §3.5), with its transforms nested.
struct Proposal {
  uint8_t number = 1;
  uint8_t protocol_id = 1;
  Bytes spi;
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};

// SA payload (RFC 2408 §3.4, RFC 2407 §4.6.1): DOI, situation, proposals (nested payloads).
struct SaPayload {
  uint32_t doi = kDoiIpsec;
  uint32_t situation = kSituationIdentityOnly;
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};

struct KeyExchangePayload {  // §3.7
  Bytes data;
  bool operator==(const KeyExchangePayload&) const = default;
};

// Identification payload (RFC 2407 §4.6.2).
struct IdPayload {
  uint8_t id_type = 1;
  uint8_t protocol = 0;
  uint16_t port = 0;
  Bytes data;  // address / subnet(addr+mask) / range(from+to) / FQDN text / key id
  bool operator==(const IdPayload&) const = default;
};

struct CertPayload {  // §3.9, opaque
  uint8_t encoding = 0;
  Bytes data;
  bool operator==(const CertPayload&) const = default;
};
struct CertRequestPayload {  // §3.10, opaque
  uint8_t cert_type = 0;
  Bytes authority;
  bool operator==(const CertRequestPayload&) const = default;
};
struct HashPayload {  // §3.11
  Bytes data;
  bool operator==(const HashPayload&) const = default;
};
struct SignaturePayload {  // §3.12
  Bytes data;
  bool operator==(const SignaturePayload&) const = default;
};
struct NoncePayload {  // §3.13
  Bytes data;
  bool operator==(const NoncePayload&) const = default;
};

// Notification payload (RFC 2408 §3.14). RFC 3706 R-U-THERE: protocol 1, SPI = CKY-I|CKY-R
// (16 bytes), data = 4-byte sequence number. The codec checks shape only; the DPD length rule
// (data == 4 bytes for 36136/36137) is checked here because it is shape.
struct NotificationPayload {
  uint32_t doi = kDoiIpsec;
  uint8_t protocol_id = 1;
  Bytes spi;
  uint16_t type = 0;
  Bytes data;
  bool operator==(const NotificationPayload&) const = default;
};

// Delete payload (RFC 2408 §3.15): several SPIs of one size.
struct DeletePayload {
  uint32_t doi = kDoiIpsec;
  uint8_t protocol_id = 3;
  uint8_t spi_size = 4;
  std::vector<Bytes> spis;
  bool operator==(const DeletePayload&) const = default;
};

struct VendorIdPayload {  // §3.16
  Bytes data;
  bool operator==(const VendorIdPayload&) const = default;
};
struct NatDPayload {  // RFC 3947 §3.2 (type 20, or 130 in drafts)
  Bytes hash;
  bool operator==(const NatDPayload&) const = default;
};
struct NatOaPayload {  // RFC 3947 §5.2 (type 21, or 131 in drafts)
  uint8_t id_type = 1;
  Bytes address;
  bool operator==(const NatOaPayload&) const = default;
};
// A payload of a type we do not interpret: kept opaque (skipped by length on receive).
struct UnknownPayload {
  Bytes body;
  bool operator==(const UnknownPayload&) const = default;
};

using PayloadBody =
    std::variant<SaPayload, KeyExchangePayload, IdPayload, CertPayload, CertRequestPayload,
                 HashPayload, SignaturePayload, NoncePayload, NotificationPayload, DeletePayload,
                 VendorIdPayload, NatDPayload, NatOaPayload, UnknownPayload>;

// One payload of a chain. On parse, `offset` is the position of its generic header in the
// parsed buffer and `length` the Payload Length field (generic header included), so hashes
// can be computed over the exact received bytes (SAi_b, IDii_b, N/D after HASH(1), ...).
struct Payload {
  PayloadType type = PayloadType::kNone;
  PayloadBody body;
  uint32_t offset = 0;
  uint32_t length = 0;

  // Body bytes (after the 4-byte generic header) within the buffer that was parsed.
  ByteSpan BodyIn(ByteSpan buffer) const {
    return buffer.subspan(offset + kGenericHeaderSize, length - kGenericHeaderSize);
  }
  bool operator==(const Payload& o) const { return type == o.type && body == o.body; }
};

// Parses the chain that starts with `first` in `body` (the decrypted message body, i.e. the
// bytes after the 28-byte header). Stops at next-payload NONE; bytes after the last payload
// (encryption padding) are ignored. Unknown payload types become UnknownPayload. Errors:
// truncated generic header / length < 4 / length past the end -> PAYLOAD-MALFORMED; SA with
// DOI != 1 -> DOI-NOT-SUPPORTED; malformed proposal/transform nesting -> BAD-PROPOSAL-SYNTAX;
// R-U-THERE(-ACK) with data != 4 bytes -> PAYLOAD-MALFORMED. At most 64 payloads per chain
// and 64 proposals/transforms per SA (past that PAYLOAD-MALFORMED), so hostile input is
// bounded. `base_offset` is added to the reported error offsets (e.g. 28 for whole-message
// offsets).
Result<std::vector<Payload>, ParseError> ParsePayloads(PayloadType first, ByteSpan body,
                                                       uint32_t base_offset = 0);

// The payload type a body is serialized as. NatD/NatOa use the RFC numbers (20/21) unless
// `draft_nat` is true (130/131). UnknownPayload needs an explicit type: use Payload.type.
PayloadType TypeOf(const PayloadBody& b, bool draft_nat = false);

// Serializes a chain. The generic headers' next-payload fields are chained in order; the
// last is NONE. Returns the bytes; `offsets` (if non-null) receives each payload's start.
Bytes SerializePayloads(const std::vector<Payload>& payloads,
                        std::vector<uint32_t>* offsets = nullptr);

// Serializes one payload body (no generic header): used for SAi_b, IDii_b and nonce bodies.
Bytes SerializeBody(const PayloadBody& body);

// Builds a Payload from a body with its default type.
Payload MakePayload(PayloadBody body, bool draft_nat = false);

// First payload of type T in a chain, or nullptr.
template <typename T>
const T* Find(const std::vector<Payload>& chain) {
  for (const auto& p : chain)
    if (const T* t = std::get_if<T>(&p.body)) return t;
  return nullptr;
}

}  // namespace ikepulse::isakmp
