// CookieIndex: the engine's SAs by initiator cookie, as one flat open-addressing table.
//
// Why not std::unordered_multimap: a lookup there is a bucket read, a node read and then the
// SA table's own bucket and node before the SA itself: four cache misses per datagram at
// 100,000 SAs. Here a lookup is one slot read (16 bytes: the cookie and the SA's address) and
// then the SA. The table is owned by NodeImpl, which inserts a row when an SA gets its
// cookie and erases it before it frees the SA, so a row never points at a freed SA; a copy
// of the engine (Node::Clone) rebuilds its own rows from its own SAs.
//
// Keys are partly chosen by peers (a responder's SA is found by the peer's cookie), so slots
// are placed by a keyed hash whose key the owner draws from its Random (NodeImpl: the Node's,
// the host's RAND_bytes in the daemon): a peer cannot aim many cookies at one run of slots.
// A copy keeps the key, so Node::Clone stays deterministic.
//
// Linear probing; rows with the same cookie are visited in the order they were inserted
// (deletion shifts the rows after it back instead of leaving tombstones, which keeps that
// order and keeps probe runs short). The table doubles above half full and halves below an
// eighth, so its memory follows the SA count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ikepulse::ike {

template <typename T>
class CookieIndex {
 public:
  explicit CookieIndex(uint64_t seed) : seed_(seed) {}

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

  // Adds a row (a cookie may have several).
  void Insert(uint64_t key, T* value) {
    if ((size_ + 1) * 2 > slots_.size()) Resize(slots_.empty() ? kMinSlots : slots_.size() * 2);
    Place(key, value);
    ++size_;
  }

  // Removes the row (key, value); false if there is none.
  bool Erase(uint64_t key, const T* value) {
    if (slots_.empty()) return false;
    const size_t mask = slots_.size() - 1;
    for (size_t i = Home(key);; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (!s.value) return false;
      if (s.key != key || s.value != value) continue;
      RemoveAt(i);
      --size_;
      if (slots_.size() > kMinSlots && size_ * 8 < slots_.size()) Resize(slots_.size() / 2);
      return true;
    }
  }

  // Calls f(T*) for each row with `key`, in insertion order, until f returns true.
  template <typename F>
  void Find(uint64_t key, F&& f) const {
    if (slots_.empty()) return;
    const size_t mask = slots_.size() - 1;
    for (size_t i = Home(key);; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (!s.value) return;
      if (s.key == key && f(s.value)) return;
    }
  }

  void Clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    T* value = nullptr;  // null: a free slot
  };
  static constexpr size_t kMinSlots = 16;

  size_t Home(uint64_t key) const {
    uint64_t h = key ^ seed_;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return static_cast<size_t>(h) & (slots_.size() - 1);
  }

  void Place(uint64_t key, T* value) {
    const size_t mask = slots_.size() - 1;
    size_t i = Home(key);
    while (slots_[i].value) i = (i + 1) & mask;
    slots_[i] = Slot{key, value};
  }

  // Empties slot i and moves back the rows of its probe run that may sit earlier.
  void RemoveAt(size_t i) {
    const size_t mask = slots_.size() - 1;
    for (size_t j = (i + 1) & mask; slots_[j].value; j = (j + 1) & mask) {
      const size_t home = Home(slots_[j].key);
      // Row j may move to i iff i lies on its probe path, from its home up to j.
      if (((j - home) & mask) >= ((j - i) & mask)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
  }

  // Re-places every row, in slot order from the start of a probe run, so rows with the same
  // key keep their order.
  void Resize(size_t n) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(n, Slot{});
    if (old.empty()) return;
    // Start at a free slot, so that no probe run is split across the wrap-around.
    const size_t m = old.size();
    size_t start = 0;
    while (old[start].value) ++start;  // there is one: the table is never full
    for (size_t k = 1; k <= m; ++k) {
      const Slot& s = old[(start + k) % m];
      if (s.value) Place(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  uint64_t seed_;
};

}  // namespace ikepulse::ike
