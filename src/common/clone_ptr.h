// ClonePtr<T>: an owning pointer whose copy is a deep copy (C++26's std::indirect, in
// spirit). It lets a value that owns heap objects (an ISAKMP SA owns its DH key pair, the
// engine owns its SAs) be copied as a whole: ike::Node::Clone, used to snapshot an engine
// in a given state (the engine fuzz target starts each input from such a snapshot).
//
// The copy uses `p->Clone()` when T has one (polymorphic types, or types whose copy
// constructor is private to keep accidental copies out), and T's copy constructor otherwise.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace ikepulse {

template <class T>
class ClonePtr {
 public:
  ClonePtr() = default;
  ClonePtr(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): as unique_ptr
  template <class U>
  ClonePtr(std::unique_ptr<U> p) : p_(std::move(p)) {}  // NOLINT: as unique_ptr
  ClonePtr(const ClonePtr& o) : p_(Copy(o.p_.get())) {}
  ClonePtr(ClonePtr&&) noexcept = default;
  ClonePtr& operator=(const ClonePtr& o) {
    if (this != &o) p_ = Copy(o.p_.get());
    return *this;
  }
  ClonePtr& operator=(ClonePtr&&) noexcept = default;
  template <class U>
  ClonePtr& operator=(std::unique_ptr<U> p) {
    p_ = std::move(p);
    return *this;
  }
  ClonePtr& operator=(std::nullptr_t) {
    p_.reset();
    return *this;
  }

  T* get() const { return p_.get(); }
  T* operator->() const { return p_.get(); }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  friend bool operator==(const ClonePtr& p, std::nullptr_t) { return p.p_ == nullptr; }
  void reset() { p_.reset(); }

 private:
  static std::unique_ptr<T> Copy(const T* p) {
    if (p == nullptr) return nullptr;
    if constexpr (requires { p->Clone(); }) {
      return p->Clone();
    } else {
      return std::make_unique<T>(*p);
    }
  }

  std::unique_ptr<T> p_;
};

}  // namespace ikepulse
