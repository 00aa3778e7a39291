// A whole IKEv2 message: the header and its outer payload chain, and the byte ranges of the
// Encrypted payload that the engine's crypto needs (RFC 7296 §3.14, RFC 5282 §5.1).
//
// Receiving an encrypted message:
//   auto m = ParseMessage(datagram);                 // header + outer chain, SK opaque
//   auto sk = LocateSk(datagram, iv, icv);           // where IV, ciphertext and ICV are
//   check the ICV over sk->IntegrityRange(datagram)  (or AEAD with sk->AssociatedData(...))
//   decrypt sk->Ciphertext(datagram), strip the padding and the Pad Length byte, then
//   ParsePayloads(sk->inner_next, plaintext, 0, ChainKind::kInner).
// Sending: SerializePayloads(inner), pad and encrypt, put IV | ciphertext | zeroed ICV in an
// EncryptedPayload, BuildMessage, then LocateSk on the result and fill in the ICV.
#pragma once

#include <cstddef>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "ikev2/header.h"
#include "ikev2/parse_error.h"
#include "ikev2/payloads.h"

namespace ikepulse::ikev2 {

struct Message {
  Header header;
  std::vector<Payload> payloads;  // offsets are from the start of the message
  bool operator==(const Message& o) const { return header == o.header && payloads == o.payloads; }
};

// ParseHeader, then ParsePayloads(kMessage) over bytes 28..length of the datagram (so the
// chain must end exactly at the header's length). Errors as those two functions report them,
// with offsets from the start of the datagram.
Result<Message, ParseError> ParseMessage(ByteSpan datagram);

// Serializes `h` followed by the chain: next_payload is set to the first payload's type (NONE
// for an empty chain) and length to the total size.
Bytes BuildMessage(Header h, const std::vector<Payload>& payloads);

// Offsets of an Encrypted (SK) or Encrypted Fragment (SKF) payload in its message:
//   [0, iv_offset)               associated data of an AEAD cipher (header + SK header, and
//                                for SKF the fragment number and total)
//   [iv_offset, ciphertext)      IV
//   [ciphertext, icv_offset)     ciphertext
//   [icv_offset, end)            ICV
//   [0, icv_offset)              what the integrity checksum covers
struct SkLayout {
  PayloadType type = PayloadType::kSk;
  PayloadType inner_next = PayloadType::kNone;
  size_t payload_offset = 0;  // the SK generic header
  size_t iv_offset = 0;
  size_t ciphertext_offset = 0;
  size_t icv_offset = 0;
  size_t end = 0;  // end of the SK payload = end of the message

  ByteSpan AssociatedData(ByteSpan msg) const { return msg.subspan(0, iv_offset); }
  ByteSpan Iv(ByteSpan msg) const { return msg.subspan(iv_offset, ciphertext_offset - iv_offset); }
  ByteSpan Ciphertext(ByteSpan msg) const {
    return msg.subspan(ciphertext_offset, icv_offset - ciphertext_offset);
  }
  ByteSpan Icv(ByteSpan msg) const { return msg.subspan(icv_offset, end - icv_offset); }
  ByteSpan IntegrityRange(ByteSpan msg) const { return msg.subspan(0, icv_offset); }
};

// Finds the SK/SKF payload of a message (received, or just built by BuildMessage) by walking
// the generic payload headers from the IKE header, without parsing or copying bodies, and
// splits it for a cipher with the given IV and ICV sizes. Errors (INVALID_SYNTAX, or those of
// ParseHeader): a malformed header or chain, no encrypted payload, one that does not end the
// message, or one that cannot hold the IV, the ICV and at least one ciphertext byte (the Pad
// Length).
Result<SkLayout, ParseError> LocateSk(ByteSpan message, size_t iv_size, size_t icv_size);

}  // namespace ikepulse::ikev2
