// Internal to the ikev2 codec: helpers shared by payloads.cc, sa_payload.cc and
// selectors.cc. Not part of the public contract; include only from src/ikev2/*.cc.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "ikev2/parse_error.h"
#include "ikev2/payloads.h"

namespace ikepulse::ikev2::internal {

// Bounds on hostile input (see payloads.h).
inline constexpr size_t kMaxPayloads = 64;
inline constexpr size_t kMaxProposals = 64;
inline constexpr size_t kMaxTransforms = 64;
inline constexpr size_t kMaxAttributes = 64;
inline constexpr size_t kMaxSelectors = 64;

inline Unexpected<ParseError> Fail(size_t offset, const char* detail) {
  return MakeUnexpected(
      ParseError{NotifyType::kInvalidSyntax, static_cast<uint32_t>(offset), detail, 0});
}

inline uint16_t ReadU16At(ByteSpan b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

inline Bytes Copy(ByteSpan s) { return Bytes(s.begin(), s.end()); }

// Bodies after the generic header. `base` is the offset of the body's first byte in the
// caller's coordinates, used in errors.
Result<SaPayload, ParseError> ParseSa(ByteSpan body, size_t base);
void SerializeSa(const SaPayload& sa, ByteWriter& w);
Result<TsPayload, ParseError> ParseTs(ByteSpan body, size_t base);
void SerializeTs(const TsPayload& ts, ByteWriter& w);
Result<CpPayload, ParseError> ParseCp(ByteSpan body, size_t base);
void SerializeCp(const CpPayload& cp, ByteWriter& w);

}  // namespace ikepulse::ikev2::internal
