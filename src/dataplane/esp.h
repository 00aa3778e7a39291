// ESP codec, tunnel mode (RFC 4303). Pure functions over bytes plus the per-SA state they
// need (keyed crypto contexts, the anti-replay window); no sockets, no clock.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//  |               Security Parameters Index (SPI)                 | ^Int.
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//  |                      Sequence Number                          | |ered
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
//  |                    IV (cipher block size)                     | |   ^
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
//  ~        Payload Data: the inner IP packet (tunnel mode)        ~ |Conf.
//  +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//  |               |     Padding 1, 2, 3, ... (0-255 bytes)        | |ered*
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
//  |                               |  Pad Length   | Next Header   | v   v
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
//  |  Integrity Check Value (ICV, truncated HMAC)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Next Header is 4 (IPv4) or 41 (IPv6) in tunnel mode; 59 marks a dummy packet (§2.6), which
// Decapsulate reports as kDummyPacket (drop silently). Padding is the monotonic sequence
// 1, 2, 3, ... (§2.4) and the receiver checks it. The padded length is the smallest that
// aligns to the cipher block (at least 4 bytes); no traffic-flow-confidentiality padding.
//
// Receive order (§3.4): length checks -> SPI -> anti-replay Check -> ICV (constant time) ->
// window Accept -> decrypt -> padding and next header -> inner IP version. The window is
// updated once the ICV verified, even if the padding later turns out bad (§3.4.3: the
// update depends on integrity only). No ESN (32-bit sequence numbers, as IKEv1 negotiates).
//
// AES-GCM (RFC 4106): IV = the 8-byte explicit IV (the sequence number, zero-extended), ICV =
// the 16-byte GCM tag over AAD (SPI | seq) and the ciphertext, 4-byte alignment. Receive
// order: length -> SPI -> anti-replay Check -> decrypt into a scratch buffer while the tag is
// verified (nothing of it is looked at unless the tag verified) -> window Accept -> padding...
#pragma once

#include <cstdint>
#include <memory>

#include "common/bytes.h"
#include "common/random.h"
#include "common/result.h"
#include "crypto/esp_crypto.h"
#include "dataplane/replay_window.h"

namespace ikepulse::dataplane {

inline constexpr uint8_t kNextHeaderIpv4 = 4;
inline constexpr uint8_t kNextHeaderIpv6 = 41;
inline constexpr uint8_t kNextHeaderNone = 59;
inline constexpr size_t kEspHeaderLength = 8;  // SPI + sequence number

enum class EspErrorCode : uint8_t {
  kTruncated = 1,        // shorter than header + IV + minimum payload + ICV
  kSpiMismatch = 2,      // not this SA's SPI
  kReplay = 3,           // duplicate or left of the window (or seq 0)
  kIcvMismatch = 4,      // integrity check failed
  kBadLength = 5,        // ciphertext not a multiple of the block size
  kBadPadding = 6,       // pad length too long or padding not 1, 2, 3, ...
  kBadNextHeader = 7,    // not 4 / 41, or the inner packet's version disagrees
  kDummyPacket = 8,      // next header 59 (RFC 4303 §2.6): drop silently
  kCryptoFailure = 9,    // the cipher refused (should not happen after the checks)
  kBadInnerPacket = 10,  // Encapsulate: not an IPv4/IPv6 packet
  kNoSa = 11,            // (SA database) no SA for the SPI / no crypto context
};

struct EspError {
  EspErrorCode code;
  const char* detail = "";  // fixed text, comparable in tests
};

const char* EspErrorName(EspErrorCode c);  // "truncated", "replay", ...

// One direction of an ESP SA. `crypto` must be set (EspSa::Create); `replay` is used on
// inbound SAs only. Move-only.
struct EspSa {
  uint32_t spi = 0;
  std::unique_ptr<crypto::EspCryptoContext> crypto;
  ReplayWindow replay;

  static Result<EspSa, crypto::CryptoError> Create(uint32_t spi, crypto::EspEncAlg enc,
                                                   ByteSpan enc_key, crypto::EspIntegAlg integ,
                                                   ByteSpan integ_key);
};

// The ESP packet (SPI | seq | IV | ciphertext | ICV) carrying `inner_ip_packet` (IPv4 or
// IPv6, next header from its version nibble). A CBC IV comes from `iv_source` (unpredictable:
// pass the OpenSSL RNG in the daemon); an AES-GCM IV is `seq` (unused `iv_source`). Error only for an inner packet that is not IP.
Result<Bytes, EspError> Encapsulate(const EspSa& sa, uint32_t seq, ByteSpan inner_ip_packet,
                                    Random& iv_source);

struct Decapsulated {
  Bytes inner;           // the inner IP packet
  uint32_t seq = 0;      // its ESP sequence number
  uint8_t next_header = 0;
};

// Verifies, decrypts and unpads one ESP packet for `sa` (updates sa.replay). Any input is
// safe: errors are values.
Result<Decapsulated, EspError> Decapsulate(EspSa& sa, ByteSpan esp);

// The SPI and sequence number of an ESP packet, if it is long enough (no verification).
bool PeekEspHeader(ByteSpan esp, uint32_t& spi, uint32_t& seq);

}  // namespace ikepulse::dataplane
