// Anti-replay window (RFC 4303 §3.4.3, the bitmap of Appendix A2 of RFC 4303 / RFC 6479
// style ring): 32-bit sequence numbers (no ESN), a window of kBits = 1024 packets.
//
// Contract: Check(seq) before the ICV is verified (cheap rejection of duplicates and of
// packets left of the window), Accept(seq) only after the ICV verified. Seq 0 is never valid
// (the first packet an SA sends is 1). Pure value type; no allocation.
#pragma once

#include <array>
#include <cstdint>

namespace ikepulse::dataplane {

enum class ReplayVerdict : uint8_t {
  kOk = 0,
  kZero = 1,       // sequence number 0
  kTooOld = 2,     // left of the window
  kDuplicate = 3,  // inside the window and already received
};

class ReplayWindow {
 public:
  static constexpr uint32_t kBits = 1024;

  ReplayVerdict Check(uint32_t seq) const {
    if (seq == 0) return ReplayVerdict::kZero;
    if (seq > top_) return ReplayVerdict::kOk;
    if (top_ - seq >= kBits) return ReplayVerdict::kTooOld;
    return Test(seq) ? ReplayVerdict::kDuplicate : ReplayVerdict::kOk;
  }

  // Marks seq received, sliding the window right when seq is the new highest. The caller
  // has checked Check(seq) == kOk (Accept of a rejected number is a no-op).
  void Accept(uint32_t seq) {
    if (Check(seq) != ReplayVerdict::kOk) return;
    if (seq > top_) {
      const uint32_t diff = seq - top_;
      if (diff >= kBits) {
        bits_.fill(0);
      } else {
        // Clear the slots of top_+1 .. seq-1 (they were never received); word-wise when
        // a whole word is skipped.
        for (uint32_t s = top_ + 1; s != seq;) {
          if (s % 64 == 0 && seq - s >= 64) {
            bits_[(s / 64) % kWords] = 0;
            s += 64;
          } else {
            Clear(s);
            ++s;
          }
        }
      }
      top_ = seq;
    }
    Set(seq);
  }

  uint32_t top() const { return top_; }  // highest sequence number accepted (0: none yet)

 private:
  static constexpr uint32_t kWords = kBits / 64;
  bool Test(uint32_t s) const { return (bits_[(s / 64) % kWords] >> (s % 64)) & 1u; }
  void Set(uint32_t s) { bits_[(s / 64) % kWords] |= uint64_t{1} << (s % 64); }
  void Clear(uint32_t s) { bits_[(s / 64) % kWords] &= ~(uint64_t{1} << (s % 64)); }

  uint32_t top_ = 0;
  std::array<uint64_t, kWords> bits_{};
};

}  // namespace ikepulse::dataplane
