// The byte reader of the engine fuzz targets (fuzz_node, fuzz_ikev2_session).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"

namespace ikepulse::fuzz {

// Reads the fuzz input front to back; past the end every read yields zeros.
class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool empty() const { return pos_ >= n_; }
  uint8_t U8() { return pos_ < n_ ? d_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() << 8 | U8()); }
  uint32_t U32() { return uint32_t{U16()} << 16 | U16(); }
  Bytes Take(size_t n) {
    n = std::min(n, n_ - std::min(pos_, n_));
    Bytes b(d_ + pos_, d_ + pos_ + n);
    pos_ += n;
    return b;
  }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
};

}  // namespace ikepulse::fuzz
