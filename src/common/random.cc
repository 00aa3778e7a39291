#include "common/random.h"

namespace ikepulse {

uint32_t Random::U32() {
  uint8_t b[4];
  Fill(b);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}
uint64_t Random::U64() { return (uint64_t{U32()} << 32) | U32(); }
uint32_t Random::Uniform(uint32_t n) {
  if (n <= 1) return 0;
  const uint32_t limit = UINT32_MAX - UINT32_MAX % n;
  uint32_t v;
  do {
    v = U32();
  } while (v >= limit);
  return v % n;
}
uint32_t Random::NonZeroU32() {
  uint32_t v;
  do {
    v = U32();
  } while (v == 0);
  return v;
}

uint64_t SeededRandom::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
void SeededRandom::Fill(std::span<uint8_t> out) {
  size_t i = 0;
  while (i < out.size()) {
    uint64_t v = Next();
    for (int k = 0; k < 8 && i < out.size(); ++k, ++i) out[i] = static_cast<uint8_t>(v >> (8 * k));
  }
}

}  // namespace ikepulse
