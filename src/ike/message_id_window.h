// MessageIdWindow: a small, fixed-size memory of the message IDs recently seen on one
// ISAKMP SA, so that a replayed message (an on-path attacker re-sending the peer's old,
// authenticated datagrams byte for byte) can be told from a new one. Protocol-neutral: it
// knows 32-bit IDs only (IKEv1 Informational and Quick Mode M-IDs, which are random; IKEv2
// message IDs would fit as well).
//
// Contract:
// - It remembers the last kSize distinct IDs passed to Remember(), in arrival order; the
//   oldest is forgotten when a new one arrives and the window is full. Nothing depends on
//   time: an ID stays as long as fewer than kSize newer IDs have arrived.
// - Seen(id) is true iff `id` is among them. ID 0 is never remembered (IKEv1 uses 0 for
//   phase 1 only) and Seen(0) is false.
// - A caller asks Seen() only after the message authenticated (an attacker must not be able
//   to fill the window with forged IDs), and calls Remember() for every authenticated
//   message that it then acts on. A message whose ID is Seen() is a replay (or a
//   retransmission, which the caller may still answer from its cache): it must not count as
//   liveness nor change any state.
// - Because the window is bounded, a caller must not rely on it alone where an attacker can
//   record more than kSize distinct messages from the peer: DPD sequence numbers and nonce
//   bindings are the stronger checks; the window is the first, cheap one.
// Size: kSize * 4 + 1 bytes (132 with padding), no heap. Not thread-safe (nothing in the
// engine is).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ikepulse::ike {

class MessageIdWindow {
 public:
  static constexpr size_t kSize = 32;

  bool Seen(uint32_t id) const;
  // Remembers `id` (no-op for 0 or an ID already remembered). Returns true if it was new.
  bool Remember(uint32_t id);
  // Seen() then Remember(): true iff `id` is new (and now remembered).
  bool CheckAndRemember(uint32_t id) { return Remember(id); }

 private:
  std::array<uint32_t, kSize> ids_{};  // 0 = empty slot
  uint8_t next_ = 0;                   // the slot the next new ID overwrites
};

}  // namespace ikepulse::ike
