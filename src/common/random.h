// Random: every cookie, nonce, SPI, message ID and DPD sequence number comes from an injected
// Random. The daemon uses crypto::OpenSslRandom (RAND_bytes); tests use SeededRandom, which
// is deterministic. Not owned by its users; must outlive them.
#pragma once

#include <cstdint>
#include <span>

namespace ikepulse {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;

  uint32_t U32();
  uint64_t U64();
  // Uniform in [0, n) for n > 0.
  uint32_t Uniform(uint32_t n);
  // A non-zero 32-bit value (message IDs, SPIs).
  uint32_t NonZeroU32();
};

// Deterministic generator for tests and the simulator (splitmix64). Not for keys.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  void Fill(std::span<uint8_t> out) override;

 private:
  uint64_t Next();
  uint64_t state_;
};

}  // namespace ikepulse
