// IKEv2 header (RFC 7296 §3.1), parsed in clear text before any decryption.
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Initiator's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Responder's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          Message ID                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            Length                             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flags: I (0x08) set by the original initiator of the IKE SA, V (0x10) "can speak a higher
// major version", R (0x20) set in responses.
#pragma once

#include <array>
#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "ikev2/constants.h"
#include "ikev2/parse_error.h"

namespace ikepulse::ikev2 {

using Spi = std::array<uint8_t, kSpiSize>;

struct Header {
  Spi spi_i{};
  Spi spi_r{};
  PayloadType next_payload = PayloadType::kNone;
  uint8_t version = kIkeVersion;
  ExchangeType exchange = ExchangeType::kNone;  // raw: unknown numbers are kept
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // whole message, header included

  bool initiator() const { return flags & kFlagInitiator; }
  bool response() const { return flags & kFlagResponse; }
  bool higher_version() const { return flags & kFlagVersion; }
  uint8_t major() const { return version >> 4; }
  uint8_t minor() const { return version & 0x0f; }
  bool operator==(const Header&) const = default;
};

// Parses the 28-byte header. Checks: at least 28 bytes (else INVALID_SYNTAX); major version 2
// (else INVALID_MAJOR_VERSION, so the caller can answer with that notify; the minor version is
// ignored as §2.5 requires); length >= 28 and <= the datagram (else INVALID_SYNTAX). The
// caller passes the whole datagram (after any non-ESP marker); bytes after `length` are
// ignored. The exchange type and flags are not judged here: that is the engine's business.
Result<Header, ParseError> ParseHeader(ByteSpan datagram);  // in message.cc

// Appends the 28-byte header as given (length written as is).
void SerializeHeader(const Header& h, ByteWriter& w);

}  // namespace ikepulse::ikev2
