// Internal to the isakmp codec: shared helpers between payloads.cc and sa_payload.cc.
// Not part of the public contract; include only from src/isakmp/*.cc.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "isakmp/parse_error.h"
#include "isakmp/payloads.h"

namespace ikepulse::isakmp::internal {

// Bounds on hostile input (see payloads.h).
inline constexpr size_t kMaxPayloads = 64;
inline constexpr size_t kMaxProposals = 64;
inline constexpr size_t kMaxTransforms = 64;
inline constexpr size_t kMaxAttributes = 64;

inline Unexpected<ParseError> Fail(NotifyType code, size_t offset, const char* detail) {
  return MakeUnexpected(ParseError{code, static_cast<uint32_t>(offset), detail});
}

// Parses an SA payload body (after the generic header). `base` is the absolute offset of the
// body's first byte, used in errors.
Result<SaPayload, ParseError> ParseSa(ByteSpan body, size_t base);
void SerializeSa(const SaPayload& sa, ByteWriter& w);

}  // namespace ikepulse::isakmp::internal
