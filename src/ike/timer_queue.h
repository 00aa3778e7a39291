// TimerQueue: the one timer of the sans-IO core. It holds at most one deadline per key (one
// per SA, keyed by its SaId) and hands out the keys whose deadline has come, in a fixed order.
//
// Contract
// - Keys are values (an SA id, never a pointer). TimerQueue is a template over the key type so
//   that the engine can key it by its own SaId; Key needs a hash (Hash) and ==. It is
//   explicitly instantiated for uint64_t in timer_queue.cc.
// - Order: by (deadline, arming sequence). Two keys due at the same instant fire in the order
//   they were armed, so a run in virtual time is deterministic (Envoy's nextIndex(); DESIGN.md
//   §1.3).
// - Arm(key, deadline) arms or re-arms: at most one entry per key, the new deadline replaces
//   the old one. Re-arming with a *different* deadline takes a new arming sequence (it goes
//   behind keys already armed for that instant); re-arming with the *same* deadline is a
//   no-op and keeps the key's place. The engine re-arms after every call into an SA
//   (`timers.Arm(id, sa.NextDeadline())`), so this keeps tie order independent of how often
//   an SA happens to be touched. Arm(key, kNever) disarms.
// - Disarm(key) removes the entry; disarming an unknown key is a no-op. Nothing stale stays in
//   the heap: a popped key is never returned again unless re-armed. A popped key keeps its
//   (small) index node until it is re-armed or disarmed, so a user whose keys go away (the
//   engine's SAs) disarms them when they do.
// - Pop: PopNext(now) returns the first key with deadline <= now and removes it (std::nullopt
//   when none is due). PopExpired(now, out) appends all of them, in order. A popped key is
//   disarmed; the caller re-arms it from the SA's NextDeadline() after handling it. If the SA
//   has gone meanwhile, the caller finds no SA and does nothing (a stale fire is harmless).
// - Cost: a binary min-heap plus a key -> heap index map: Arm, Disarm and Pop are O(log n),
//   NextDeadline is O(1). No per-timer allocation besides the hash map node. Each heap entry
//   points at its key's position in that map (the map's nodes never move), so a sift step
//   writes the new position through the pointer: one hash lookup per Arm/Disarm/Pop, not one
//   per level of the heap (at a million timers each lookup is a cache miss).
// - Not thread-safe (the core is single-threaded). Owned by the Node (or the simulator).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/time.h"

namespace ikepulse::ike {

template <typename Key, typename Hash = std::hash<Key>, typename Eq = std::equal_to<Key>>
class TimerQueue {
 public:
  TimerQueue() = default;
  // A copy (the engine's Clone) has its own index: its entries point into it, not into the
  // original's.
  TimerQueue(const TimerQueue& o) : heap_(o.heap_), next_seq_(o.next_seq_) { Reindex(); }
  TimerQueue& operator=(const TimerQueue& o) {
    if (this != &o) {
      heap_ = o.heap_;
      next_seq_ = o.next_seq_;
      Reindex();
    }
    return *this;
  }
  TimerQueue(TimerQueue&&) noexcept = default;  // nodes, and so the pointers, move along
  TimerQueue& operator=(TimerQueue&&) noexcept = default;

  // Arms `key` to fire at `deadline` (replacing any earlier deadline). kNever disarms.
  void Arm(const Key& key, TimePoint deadline) {
    if (deadline == kNever) {
      Disarm(key);
      return;
    }
    auto it = index_.find(key);
    if (it == index_.end()) it = index_.emplace(key, kPopped).first;
    if (it->second == kPopped) {
      it->second = heap_.size();
      heap_.push_back(Entry{deadline, next_seq_++, key, &it->second});
      SiftUp(heap_.size() - 1);
      return;
    }
    const size_t i = it->second;
    if (heap_[i].deadline == deadline) return;  // same instant: keep its place
    const bool earlier = deadline < heap_[i].deadline;
    heap_[i].deadline = deadline;
    heap_[i].seq = next_seq_++;
    if (earlier) {
      SiftUp(i);
    } else {
      SiftDown(i);
    }
  }

  // Removes `key`'s deadline. Returns true if it was armed.
  bool Disarm(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    const size_t i = it->second;
    index_.erase(it);
    if (i == kPopped) return false;
    RemoveAt(i);
    return true;
  }

  // The earliest deadline, kNever when empty.
  TimePoint NextDeadline() const { return heap_.empty() ? kNever : heap_.front().deadline; }

  // `key`'s deadline, kNever when it is not armed.
  TimePoint DeadlineOf(const Key& key) const {
    auto it = index_.find(key);
    return it == index_.end() || it->second == kPopped ? kNever : heap_[it->second].deadline;
  }
  bool IsArmed(const Key& key) const {
    auto it = index_.find(key);
    return it != index_.end() && it->second != kPopped;
  }

  // Removes and returns the first key due at or before `now`.
  std::optional<Key> PopNext(TimePoint now) {
    if (heap_.empty() || heap_.front().deadline > now) return std::nullopt;
    size_t* pos = heap_.front().pos;
    Key key = std::move(heap_.front().key);
    RemoveAt(0);
    *pos = kPopped;  // its index node stays, for the re-arm that usually follows
    return key;
  }

  // Appends every key due at or before `now` to `out`, in firing order; returns how many.
  size_t PopExpired(TimePoint now, std::vector<Key>& out) {
    size_t n = 0;
    while (std::optional<Key> k = PopNext(now)) {
      out.push_back(std::move(*k));
      ++n;
    }
    return n;
  }

  size_t size() const { return heap_.size(); }  // armed keys
  bool empty() const { return heap_.empty(); }
  void Clear() {
    heap_.clear();
    index_.clear();
  }

 private:
  // The position of a key that was popped and not re-armed since (it keeps its index node,
  // so that the engine's re-arm after each fire allocates nothing; Disarm frees it).
  static constexpr size_t kPopped = SIZE_MAX;

  struct Entry {
    TimePoint deadline;
    uint64_t seq;  // arming sequence: breaks ties between equal deadlines
    Key key;
    size_t* pos;  // the key's value in index_: this entry's position in heap_
  };

  // A copy keeps only the armed keys (a popped key's node is an allocation saved, not state).
  void Reindex() {
    index_.clear();
    index_.reserve(heap_.size());
    for (size_t i = 0; i < heap_.size(); ++i)
      heap_[i].pos = &index_.emplace(heap_[i].key, i).first->second;
  }

  static bool Before(const Entry& a, const Entry& b) {
    return a.deadline != b.deadline ? a.deadline < b.deadline : a.seq < b.seq;
  }

  void Put(size_t i, Entry&& e) {
    heap_[i] = std::move(e);
    *heap_[i].pos = i;
  }

  void SiftUp(size_t i) {
    Entry e = std::move(heap_[i]);
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!Before(e, heap_[parent])) break;
      Put(i, std::move(heap_[parent]));
      i = parent;
    }
    Put(i, std::move(e));
  }

  void SiftDown(size_t i) {
    const size_t n = heap_.size();
    Entry e = std::move(heap_[i]);
    while (true) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
      if (!Before(heap_[child], e)) break;
      Put(i, std::move(heap_[child]));
      i = child;
    }
    Put(i, std::move(e));
  }

  // Removes heap_[i]; the caller erases its key from index_ (Disarm) or marks it popped
  // (PopNext).
  void RemoveAt(size_t i) {
    const size_t last = heap_.size() - 1;
    if (i != last) {
      heap_[i] = std::move(heap_[last]);
      heap_.pop_back();
      *heap_[i].pos = i;
      if (i > 0 && Before(heap_[i], heap_[(i - 1) / 2])) {
        SiftUp(i);
      } else {
        SiftDown(i);
      }
    } else {
      heap_.pop_back();
    }
  }

  std::vector<Entry> heap_;
  std::unordered_map<Key, size_t, Hash, Eq> index_;  // key -> position in heap_
  uint64_t next_seq_ = 0;
};

extern template class TimerQueue<uint64_t>;

}  // namespace ikepulse::ike
