// Ikev2CookieSecret: the responder's IKEv2 COOKIE (RFC 7296 §2.6, DESIGN.md §6.6), stateless
// per request.
//
//   cookie = generation (4 bytes, big-endian) | HMAC-SHA-256(secret, Ni | IPi | SPIi)[0..16)
//
// The secret is 32 bytes drawn from the Random it is given (the Node's: the host's RAND_bytes
// in the daemon), first when a cookie is first needed, then again every `kRotation` of
// virtual time (driven by the `now` of the calls, no timer). A cookie made under the current
// or the previous generation is accepted; an older one, one with another Ni, address or SPIi,
// or one of another length is not. Secrets are SecretBytes (wiped when freed), never logged.
// Sans-IO: no clock, no socket, no random device of its own.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "ikev2/header.h"

namespace ikepulse::ike {

class Ikev2CookieSecret {
 public:
  static constexpr Duration kRotation = Seconds(60);
  static constexpr size_t kMacLength = 16;
  static constexpr size_t kLength = 4 + kMacLength;
  static constexpr size_t kSecretLength = 32;

  // The cookie for (Ni, IPi, SPIi) under the current generation.
  Bytes Make(TimePoint now, Random& rng, ByteSpan ni, const IpAddress& ip, const ikev2::Spi& spi_i);
  // Whether `cookie` is what Make gave (or would give) for these inputs under the current or
  // the previous generation.
  bool Valid(TimePoint now, Random& rng, ByteSpan cookie, ByteSpan ni, const IpAddress& ip,
             const ikev2::Spi& spi_i);

  uint32_t generation() const { return generation_; }

 private:
  void Rotate(TimePoint now, Random& rng);
  static Bytes Compute(uint32_t generation, const SecretBytes& secret, ByteSpan ni,
                       const IpAddress& ip, const ikev2::Spi& spi_i);

  uint32_t generation_ = 0;
  SecretBytes current_, previous_;    // previous_ empty: no previous generation accepted
  TimePoint next_rotation_ = kNever;  // kNever: no secret drawn yet
};

}  // namespace ikepulse::ike
