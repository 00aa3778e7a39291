// ParseError: what went wrong in peer input, as a value. `code` is the RFC 7296 notify type
// an IKEv2 responder answers with: INVALID_MAJOR_VERSION for a header of another major
// version, UNSUPPORTED_CRITICAL_PAYLOAD (with `payload_type`, the notify's one-byte data) for
// an unknown payload whose critical bit is set, INVALID_SYNTAX for everything else. `offset`
// is the byte offset in the parsed buffer; `detail` is a fixed string that tests compare.
#pragma once

#include <cstdint>

#include "ikev2/constants.h"

namespace ikepulse::ikev2 {

struct ParseError {
  NotifyType code = NotifyType::kInvalidSyntax;
  uint32_t offset = 0;
  const char* detail = "";
  uint8_t payload_type = 0;  // set with kUnsupportedCriticalPayload only
};

}  // namespace ikepulse::ikev2
