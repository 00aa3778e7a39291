// CowList<T>: a list of values shared between copies of a Config (copy-on-write).
//
// A copy of the list copies one pointer (the list is shared until one copy edits it, which
// then copies one pointer per element, never the elements), and a comparison stops at
// elements that are the same object. That is what makes a configuration line cheap on a hub
// with 100,000 crypto map entries and keys: the CLI edits a copy of the running configuration,
// the engine keeps its own, and both share every element the line did not touch. Mutable
// access goes through Mut(i), which first gives this list its own copy of element i when it is
// shared, so no other Config ever sees the change.
//
// Reading is as with a std::vector (indexing, iteration, size), always through const T&.
// Identity(i) tells two lists' elements apart without comparing them (the engine uses it to
// find the entries a new configuration changed). Single-threaded, like the Config it is in.
#pragma once

#include <compare>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

namespace ikepulse::config {

template <class T>
class CowList {
  using Slots = std::vector<std::shared_ptr<T>>;

 public:
  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using iterator_concept = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    const_iterator() = default;
    reference operator*() const { return **it_; }
    pointer operator->() const { return it_->get(); }
    reference operator[](difference_type n) const { return *it_[n]; }
    const_iterator& operator++() { ++it_; return *this; }
    const_iterator operator++(int) { auto t = *this; ++it_; return t; }
    const_iterator& operator--() { --it_; return *this; }
    const_iterator operator--(int) { auto t = *this; --it_; return t; }
    const_iterator& operator+=(difference_type n) { it_ += n; return *this; }
    const_iterator& operator-=(difference_type n) { it_ -= n; return *this; }
    friend const_iterator operator+(const_iterator a, difference_type n) { return a += n; }
    friend const_iterator operator+(difference_type n, const_iterator a) { return a += n; }
    friend const_iterator operator-(const_iterator a, difference_type n) { return a -= n; }
    friend difference_type operator-(const const_iterator& a, const const_iterator& b) {
      return a.it_ - b.it_;
    }
    bool operator==(const const_iterator& o) const { return it_ == o.it_; }
    auto operator<=>(const const_iterator& o) const { return it_ <=> o.it_; }

   private:
    friend class CowList;
    explicit const_iterator(typename Slots::const_iterator it) : it_(it) {}
    typename Slots::const_iterator it_;
  };
  using iterator = const_iterator;  // elements change only through Mut
  using value_type = T;
  using size_type = size_t;

  CowList() : v_(Empty()) {}
  CowList(std::initializer_list<T> init) : v_(Empty()) {
    for (const T& v : init) push_back(v);
  }

  size_t size() const { return v_->size(); }
  bool empty() const { return v_->empty(); }
  void reserve(size_t n) { Own().reserve(n); }
  void clear() { v_ = Empty(); }

  const T& operator[](size_t i) const { return *(*v_)[i]; }
  const T& at(size_t i) const { return *v_->at(i); }
  const T& front() const { return *v_->front(); }
  const T& back() const { return *v_->back(); }
  const_iterator begin() const { return const_iterator(v_->cbegin()); }
  const_iterator end() const { return const_iterator(v_->cend()); }

  // Element i, made this list's own first if another list shares it.
  T& Mut(size_t i) {
    std::shared_ptr<T>& p = Own()[i];
    if (p.use_count() > 1) p = std::make_shared<T>(*p);
    return *p;
  }
  T& Mut(const_iterator pos) { return Mut(Index(pos)); }

  void push_back(T v) { Own().push_back(std::make_shared<T>(std::move(v))); }
  T& emplace_back(T v) {
    push_back(std::move(v));
    return *v_->back();
  }
  // Inserts before `pos`; returns the new element (this list's own).
  T& insert(const_iterator pos, T v) {
    const size_t i = Index(pos);
    Slots& s = Own();
    auto it = s.insert(s.begin() + static_cast<std::ptrdiff_t>(i), std::make_shared<T>(std::move(v)));
    return **it;
  }
  const_iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  const_iterator erase(const_iterator first, const_iterator last) {
    const size_t a = Index(first), b = Index(last);
    Slots& s = Own();
    auto it = s.erase(s.begin() + static_cast<std::ptrdiff_t>(a), s.begin() + static_cast<std::ptrdiff_t>(b));
    return const_iterator(typename Slots::const_iterator(it));
  }
  template <class Pred>
  size_t erase_if(Pred pred) {
    size_t n = 0;
    for (const auto& p : *v_) n += pred(std::as_const(*p)) ? 1 : 0;
    if (n == 0) return 0;
    return std::erase_if(Own(), [&](const std::shared_ptr<T>& p) { return pred(std::as_const(*p)); });
  }

  // The object behind element i: equal for two lists' elements that are shared (unchanged).
  const T* Identity(size_t i) const { return (*v_)[i].get(); }
  // Element i shared (the engine keeps entries this way).
  std::shared_ptr<const T> Shared(size_t i) const { return (*v_)[i]; }
  // The same list object: no element can differ (a copy nobody has edited since).
  bool SameAs(const CowList& o) const { return v_ == o.v_; }

  bool operator==(const CowList& o) const {
    if (v_ == o.v_) return true;
    if (v_->size() != o.v_->size()) return false;
    for (size_t i = 0; i < v_->size(); ++i)
      if ((*v_)[i] != (*o.v_)[i] && !(*(*v_)[i] == *(*o.v_)[i])) return false;
    return true;
  }

 private:
  // The list itself is shared too: copying a CowList copies one pointer, and the first edit
  // of a shared list copies its pointers (one pass), not its elements.
  static const std::shared_ptr<Slots>& Empty() {
    static const std::shared_ptr<Slots> kEmpty = std::make_shared<Slots>();
    return kEmpty;
  }
  Slots& Own() {
    if (v_.use_count() > 1) v_ = std::make_shared<Slots>(*v_);
    return *v_;
  }
  size_t Index(const_iterator pos) const { return static_cast<size_t>(pos - begin()); }

  std::shared_ptr<Slots> v_;
};

// The differences between two lists ordered by `less` (a strict order on the elements' keys),
// in order: on_change(gone, added, j) (j: added's index in `after`) for each element of `before` that `after` no longer has
// (added null), each new one (gone null), and each that changed (both: same key, another
// object). Elements that are the same object cost one pointer comparison; keys are compared
// only around a difference. Returns false, having called nothing, if `after` is found not to
// be ordered around a difference (the caller then rebuilds from scratch).
template <class T, class Less, class OnChange>
bool DiffOrdered(const CowList<T>& before, const CowList<T>& after, Less less, OnChange on_change) {
  struct Change {
    const T* gone;
    const T* added;
    size_t at;  // added's index in `after`
  };
  std::vector<Change> changes;
  if (!before.SameAs(after)) {
    size_t i = 0, j = 0;
    while (i < before.size() || j < after.size()) {
      if (i < before.size() && j < after.size() && before.Identity(i) == after.Identity(j)) {
        ++i, ++j;
        continue;
      }
      if (j < after.size() && ((j > 0 && !less(after[j - 1], after[j])) ||
                               (j + 1 < after.size() && !less(after[j], after[j + 1]))))
        return false;
      if (j < after.size() && (i == before.size() || less(after[j], before[i]))) {
        changes.push_back(Change{nullptr, &after[j], j});
        ++j;
      } else if (i < before.size() && (j == after.size() || less(before[i], after[j]))) {
        changes.push_back(Change{&before[i++], nullptr, 0});
      } else {
        changes.push_back(Change{&before[i++], &after[j], j});
        ++j;
      }
    }
  }
  for (const Change& c : changes) on_change(c.gone, c.added, c.at);
  return true;
}

}  // namespace ikepulse::config
