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
//   the heap: a popped key is never returned again unless re-armed.
// - Pop: PopNext(now) returns the first key with deadline <= now and removes it (std::nullopt
//   when none is due). PopExpired(now, out) appends all of them, in order. A popped key is
//   disarmed; the caller re-arms it from the SA's NextDeadline() after handling it. If the SA
//   has gone meanwhile, the caller finds no SA and does nothing (a stale fire is harmless).
// - Cost: a binary min-heap plus a key -> heap index map: Arm, Disarm and Pop are O(log n),
//   NextDeadline is O(1). No per-timer allocation besides the hash map node.
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

  // Arms `key` to fire at `deadline` (replacing any earlier deadline). kNever disarms.
  void Arm(const Key& key, TimePoint deadline) {
    if (deadline == kNever) {
      Disarm(key);
      return;
    }
    auto it = index_.find(key);
    if (it == index_.end()) {
      heap_.push_back(Entry{deadline, next_seq_++, key});
      index_.emplace(key, heap_.size() - 1);
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
    RemoveAt(i);
    return true;
  }

  // The earliest deadline, kNever when empty.
  TimePoint NextDeadline() const { return heap_.empty() ? kNever : heap_.front().deadline; }

  // `key`'s deadline, kNever when it is not armed.
  TimePoint DeadlineOf(const Key& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? kNever : heap_[it->second].deadline;
  }
  bool IsArmed(const Key& key) const { return index_.find(key) != index_.end(); }

  // Removes and returns the first key due at or before `now`.
  std::optional<Key> PopNext(TimePoint now) {
    if (heap_.empty() || heap_.front().deadline > now) return std::nullopt;
    Key key = std::move(heap_.front().key);
    index_.erase(key);
    RemoveAt(0);
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

  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  void Clear() {
    heap_.clear();
    index_.clear();
  }

 private:
  struct Entry {
    TimePoint deadline;
    uint64_t seq;  // arming sequence: breaks ties between equal deadlines
    Key key;
  };

  static bool Before(const Entry& a, const Entry& b) {
    return a.deadline != b.deadline ? a.deadline < b.deadline : a.seq < b.seq;
  }

  void Put(size_t i, Entry&& e) {
    heap_[i] = std::move(e);
    index_.find(heap_[i].key)->second = i;
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

  // Removes heap_[i], whose key is already gone from index_.
  void RemoveAt(size_t i) {
    const size_t last = heap_.size() - 1;
    if (i != last) {
      heap_[i] = std::move(heap_[last]);
      heap_.pop_back();
      index_.find(heap_[i].key)->second = i;
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
