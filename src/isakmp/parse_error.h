// ParseError: what went wrong in peer input, as a value. `code` is the RFC 2408 notify type
// we would answer with; `offset` is the byte offset in the parsed buffer; `detail` is a fixed
// string (tests compare it exactly, e.g. "Unable to read SPI size.").
#pragma once

#include <cstdint>

#include "isakmp/constants.h"

namespace ikepulse::isakmp {

struct ParseError {
  NotifyType code = NotifyType::kPayloadMalformed;
  uint32_t offset = 0;
  const char* detail = "";
};

}  // namespace ikepulse::isakmp
