#include "ike/ikev2_cookie.h"

#include "crypto/crypto.h"

namespace ikepulse::ike {

void Ikev2CookieSecret::Rotate(TimePoint now, Random& rng) {
  if (next_rotation_ != kNever && now < next_rotation_) return;
  uint32_t steps = 1;
  if (next_rotation_ == kNever) {
    next_rotation_ = now + kRotation;
    previous_ = SecretBytes();
  } else {
    const int64_t k = (now - next_rotation_) / kRotation;
    steps = static_cast<uint32_t>(std::min<int64_t>(k, 1'000'000)) + 1;
    // One period passed: the current generation becomes the previous one. More: nothing
    // issued in the last period, so no previous generation is accepted.
    previous_ = steps == 1 ? std::move(current_) : SecretBytes();
    next_rotation_ += kRotation * (k + 1);
  }
  current_ = SecretBytes(kSecretLength);
  rng.Fill(std::span<uint8_t>(current_.data(), current_.size()));
  generation_ += steps;
}

Bytes Ikev2CookieSecret::Compute(uint32_t generation, const SecretBytes& secret, ByteSpan ni,
                                 const IpAddress& ip, const ikev2::Spi& spi_i) {
  Bytes out{uint8_t(generation >> 24), uint8_t(generation >> 16), uint8_t(generation >> 8),
            uint8_t(generation)};
  const Bytes mac = crypto::Ikev2CookieMac(secret.span(), ni, ip.span(), spi_i, kMacLength);
  out.insert(out.end(), mac.begin(), mac.end());
  return out;
}

Bytes Ikev2CookieSecret::Make(TimePoint now, Random& rng, ByteSpan ni, const IpAddress& ip,
                              const ikev2::Spi& spi_i) {
  Rotate(now, rng);
  return Compute(generation_, current_, ni, ip, spi_i);
}

bool Ikev2CookieSecret::Valid(TimePoint now, Random& rng, ByteSpan cookie, ByteSpan ni,
                              const IpAddress& ip, const ikev2::Spi& spi_i) {
  if (next_rotation_ == kNever || cookie.size() != kLength) return false;
  Rotate(now, rng);
  const uint32_t gen = (uint32_t(cookie[0]) << 24) | (uint32_t(cookie[1]) << 16) |
                       (uint32_t(cookie[2]) << 8) | cookie[3];
  const SecretBytes* secret = nullptr;
  if (gen == generation_)
    secret = &current_;
  else if (gen + 1 == generation_ && !previous_.empty())
    secret = &previous_;
  if (!secret) return false;
  // Compared in constant time (SecretBytes::operator==).
  return SecretBytes(Compute(gen, *secret, ni, ip, spi_i)) == SecretBytes(cookie);
}

}  // namespace ikepulse::ike
