// ISAKMP fixed header (RFC 2408 §3.1), parsed in clear text before any decryption.
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Initiator Cookie                    !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Responder Cookie                    !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Message ID                          !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                            Length                            !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <array>
#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "isakmp/constants.h"
#include "isakmp/parse_error.h"

namespace ikepulse::isakmp {

using Cookie = std::array<uint8_t, kCookieSize>;

struct Header {
  Cookie icookie{};
  Cookie rcookie{};
  PayloadType next_payload = PayloadType::kNone;
  uint8_t version = kIsakmpVersion;
  ExchangeType exchange = ExchangeType::kNone;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // whole message, header included

  bool encrypted() const { return flags & kFlagEncryption; }
  bool operator==(const Header&) const = default;
};

// Parses the 28-byte header. Checks: at least 28 bytes; major version 1 (else
// INVALID-MAJOR-VERSION); length >= 28 and <= datagram size (else UNEQUAL-PAYLOAD-LENGTHS).
// The caller passes the whole datagram (after any non-ESP marker); bytes after `length` are
// ignored.
Result<Header, ParseError> ParseHeader(ByteSpan datagram);

// Appends the 28-byte header as given (length written as is).
void SerializeHeader(const Header& h, ByteWriter& w);

// header + body: sets next_payload is the caller's job; length is set to 28 + body.size().
Bytes BuildMessage(Header h, ByteSpan body);

}  // namespace ikepulse::isakmp
