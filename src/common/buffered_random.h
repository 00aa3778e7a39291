// BufferedRandom: hands out bytes from a 4 KiB buffer refilled from an underlying Random in
// one call. ESP CBC IVs must be unpredictable (RFC 3602 §3), so they come from the OpenSSL
// DRBG; one RAND_bytes call per 16-byte IV costs ~2.4 us here (bench/esp_bench.cc), as much
// as encrypting and authenticating a 1400-byte packet. The engine's draws (a message ID per
// R-U-THERE, cookies, nonces, SPIs) are as small and as frequent. Buffering keeps the DRBG
// output and amortises the call. The buffer is wiped as it is consumed and on destruction. `source` is
// not owned and must outlive this object. Single-threaded.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "common/bytes.h"
#include "common/random.h"

namespace ikepulse {

class BufferedRandom final : public Random {
 public:
  explicit BufferedRandom(Random& source) : source_(source) {}
  ~BufferedRandom() override { SecureWipe(buf_.data(), buf_.size()); }
  BufferedRandom(const BufferedRandom&) = delete;
  BufferedRandom& operator=(const BufferedRandom&) = delete;

  void Fill(std::span<uint8_t> out) override {
    while (!out.empty()) {
      if (pos_ == buf_.size()) {
        source_.Fill(buf_);
        pos_ = 0;
      }
      const size_t n = std::min(out.size(), buf_.size() - pos_);
      std::copy_n(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
      SecureWipe(buf_.data() + pos_, n);
      pos_ += n;
      out = out.subspan(n);
    }
  }

 private:
  Random& source_;  // Not owned.
  std::array<uint8_t, 4096> buf_{};
  size_t pos_ = buf_.size();
};

}  // namespace ikepulse
