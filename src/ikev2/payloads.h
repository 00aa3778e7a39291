// IKEv2 payload value structs and the payload-chain codec (RFC 7296 §3.2-3.16). Pure
// functions over bytes; no state.
//
// Generic payload header (§3.2), in front of every payload:
//  0                   1                   2                   3
// | Next Payload  |C|  RESERVED   |         Payload Length        |
//
// Two-stage parsing: ParseHeader (header.h) on the clear datagram, then ParsePayloads over
// the body with the header's next_payload. An Encrypted (SK) payload ends the outer chain; its
// IV, ciphertext and ICV stay opaque here. After the caller has checked and decrypted it and
// removed the padding, ParsePayloads(ChainKind::kInner) reads the inner chain, starting with
// the SK payload's `inner_next`.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "ikev2/constants.h"
#include "ikev2/parse_error.h"

namespace ikepulse::ikev2 {

// Transform attribute (§3.3.5). AF=1 (TV): 16-bit value in `value`, `data` empty. AF=0 (TLV):
// variable `data`. RFC 7296 defines only Key Length (14), always TV; the TLV form is parsed
// so an unknown attribute round-trips.
struct Attribute {
  uint16_t type = 0;  // without the AF bit
  bool tv = true;
  uint16_t value = 0;
  Bytes data;

  static Attribute KeyLength(uint16_t bits) { return {kAttrKeyLength, true, bits, {}}; }
  bool operator==(const Attribute&) const = default;
};

// Transform substructure (§3.3.2).
struct Transform {
  uint8_t type = 0;  // TransformType
  uint16_t id = 0;   // EncrId, PrfId, IntegId, DhGroup or EsnId
  std::vector<Attribute> attributes;

  // The Key Length attribute in bits, or 0 if absent.
  uint16_t key_length() const;
  bool operator==(const Transform&) const = default;
};

// Proposal substructure (§3.3.1). SPI: empty for IKE_SA_INIT, 8 bytes for an IKE SA rekey,
// 4 bytes for AH/ESP.
struct Proposal {
  uint8_t number = 1;
  uint8_t protocol_id = static_cast<uint8_t>(ProtocolId::kIke);
  Bytes spi;
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};

struct SaPayload {  // §3.3
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};

struct KePayload {  // §3.4: Diffie-Hellman Group Num(2) | RESERVED(2) | Key Exchange Data
  uint16_t dh_group = 0;
  Bytes data;
  bool operator==(const KePayload&) const = default;
};

// IDi / IDr (§3.5): ID Type(1) | RESERVED(3) | Identification Data. The payload type says
// which; the body bytes are what the AUTH computation hashes (SerializeBody).
struct IdPayload {
  uint8_t id_type = static_cast<uint8_t>(IdType::kIpv4Addr);
  Bytes data;
  bool operator==(const IdPayload&) const = default;
};

struct CertPayload {  // CERT / CERTREQ (§3.6, §3.7): Encoding(1) | data, kept opaque
  uint8_t encoding = 0;
  Bytes data;
  bool operator==(const CertPayload&) const = default;
};

struct AuthPayload {  // §3.8: Auth Method(1) | RESERVED(3) | Authentication Data
  uint8_t method = static_cast<uint8_t>(AuthMethod::kSharedKey);
  Bytes data;
  bool operator==(const AuthPayload&) const = default;
};

struct NoncePayload {  // §3.9: 16..256 bytes
  Bytes data;
  bool operator==(const NoncePayload&) const = default;
};

// Notify (§3.10): Protocol ID(1) | SPI Size(1) | Notify Message Type(2) | SPI | data.
struct NotifyPayload {
  uint8_t protocol_id = 0;
  Bytes spi;
  uint16_t type = 0;  // NotifyType
  Bytes data;

  bool is_error() const { return type != 0 && type < kFirstStatusNotify; }
  bool operator==(const NotifyPayload&) const = default;
};

// Delete (§3.11): Protocol ID(1) | SPI Size(1) | Num of SPIs(2) | SPIs. IKE: size 0, none;
// AH/ESP: 4-byte SPIs.
struct DeletePayload {
  uint8_t protocol_id = static_cast<uint8_t>(ProtocolId::kEsp);
  uint8_t spi_size = 4;
  std::vector<Bytes> spis;
  bool operator==(const DeletePayload&) const = default;
};

struct VendorIdPayload {  // §3.12
  Bytes data;
  bool operator==(const VendorIdPayload&) const = default;
};

// One traffic selector (§3.13.1): TS Type(1) | IP Protocol ID(1) | Selector Length(2) |
// Start Port(2) | End Port(2) | Starting Address | Ending Address (4 bytes each for type 7,
// 16 for type 8). A selector of another type keeps everything after its first 4 bytes in
// `raw` (ports and addresses stay empty) so it round-trips.
struct TrafficSelector {
  uint8_t ts_type = static_cast<uint8_t>(TsType::kIpv4AddrRange);
  uint8_t ip_protocol = 0;  // 0 = any
  uint16_t start_port = 0;
  uint16_t end_port = 0xffff;
  Bytes start_address;
  Bytes end_address;
  Bytes raw;  // unknown ts_type only
  bool operator==(const TrafficSelector&) const = default;
};

struct TsPayload {  // TSi / TSr (§3.13): Number of TSs(1) | RESERVED(3) | selectors
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const = default;
};

// Encrypted payload (§3.14). Its generic header's Next Payload is the first inner payload's
// type, kept in `inner_next`; `data` is IV | ciphertext (inner payloads, padding, pad length)
// | ICV, opaque to the codec. It is always the last payload of a message.
struct EncryptedPayload {
  PayloadType inner_next = PayloadType::kNone;
  Bytes data;
  bool operator==(const EncryptedPayload&) const = default;
};

// Configuration attribute (§3.15.1): R(1 bit) | Attribute Type(15) | Length(2) | Value.
struct CpAttribute {
  uint16_t type = 0;
  Bytes value;
  bool operator==(const CpAttribute&) const = default;
};
struct CpPayload {  // §3.15: CFG Type(1) | RESERVED(3) | attributes
  uint8_t cfg_type = static_cast<uint8_t>(CfgType::kRequest);
  std::vector<CpAttribute> attributes;
  bool operator==(const CpPayload&) const = default;
};

// A payload kept as its body bytes: EAP (§3.16, not interpreted here), SKF, and every
// non-critical payload type we do not know.
struct RawPayload {
  Bytes body;
  bool operator==(const RawPayload&) const = default;
};

using PayloadBody = std::variant<SaPayload, KePayload, IdPayload, CertPayload, AuthPayload,
                                 NoncePayload, NotifyPayload, DeletePayload, VendorIdPayload,
                                 TsPayload, EncryptedPayload, CpPayload, RawPayload>;

// One payload of a chain. `type` is authoritative (IDi and IDr share IdPayload, TSi and TSr
// TsPayload, CERT and CERTREQ CertPayload). On parse, `offset` is the position of its generic
// header in the caller's coordinates (the parsed buffer's start plus `base_offset`) and
// `length` the Payload Length field, so hashes can use the exact received bytes.
struct Payload {
  PayloadType type = PayloadType::kNone;
  bool critical = false;
  PayloadBody body;
  uint32_t offset = 0;
  uint32_t length = 0;

  bool operator==(const Payload& o) const {
    return type == o.type && critical == o.critical && body == o.body;
  }
};

// kMessage: the chain after the IKE header; may end with an SK payload. kInner: the decrypted
// content of an SK payload; an SK payload inside it is INVALID_SYNTAX.
enum class ChainKind { kMessage, kInner };

// Parses the chain that starts with `first` in `body`. The chain must end (Next Payload NONE,
// or an SK payload) exactly at the end of `body`. Unknown payload types become RawPayload
// unless their critical bit is set (then UNSUPPORTED_CRITICAL_PAYLOAD with the type in
// ParseError::payload_type). Every other error is INVALID_SYNTAX: a truncated generic header,
// a length < 4 or past the end, a body too short for its fixed fields, SA nesting or counts
// that disagree with the lengths, SPI sizes other than 0/8 (IKE) or 4 (AH/ESP), a Key Length
// attribute not in TV form, a nonce outside 16..256 bytes, ID or TS addresses of the wrong
// size. At most 64 payloads per chain, 64 proposals per SA, 64 transforms per proposal, 64
// selectors per TS, 64 attributes per transform or CP, so hostile input is bounded.
// `base_offset` is added to every offset reported (e.g. 28 for whole-message offsets).
Result<std::vector<Payload>, ParseError> ParsePayloads(PayloadType first, ByteSpan body,
                                                       uint32_t base_offset = 0,
                                                       ChainKind kind = ChainKind::kMessage);

// The payload type a body is serialized as by default (IDi, CERT, TSi for the shared structs;
// kNone for RawPayload, whose type must be given).
PayloadType DefaultTypeOf(const PayloadBody& b);
// Whether `type` may carry `body` (e.g. kIdr and an IdPayload).
bool TypeMatchesBody(PayloadType type, const PayloadBody& body);

// Serializes a chain. The next-payload fields are chained in order; the last one is NONE, or,
// for an EncryptedPayload (which must be last), its `inner_next`. Lengths are computed.
// `offsets` (if non-null) receives each payload's start in the returned bytes.
Bytes SerializePayloads(const std::vector<Payload>& payloads,
                        std::vector<uint32_t>* offsets = nullptr);

// One payload body without its generic header (e.g. the IDi body that AUTH hashes).
Bytes SerializeBody(const PayloadBody& body);

// Builds a Payload; the one-argument form uses DefaultTypeOf.
Payload MakePayload(PayloadBody body);
Payload MakePayload(PayloadType type, PayloadBody body);

// A Notify payload of the given type (protocol 0, no SPI) with optional data.
Payload MakeNotify(NotifyType type, Bytes data = {});

// First payload of type T in a chain (any payload type carrying T), or nullptr.
template <typename T>
const T* Find(const std::vector<Payload>& chain) {
  for (const auto& p : chain)
    if (const T* t = std::get_if<T>(&p.body)) return t;
  return nullptr;
}
// First payload of the given type, or nullptr.
const Payload* FindType(const std::vector<Payload>& chain, PayloadType type);
// First Notify of the given type, or nullptr.
const NotifyPayload* FindNotify(const std::vector<Payload>& chain, NotifyType type);

}  // namespace ikepulse::ikev2
