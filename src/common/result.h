// Result<T, E>: a small std::expected look-alike (g++ 12 has <expected> only in C++2b).
// The surface matches std::expected so that moving to C++23 is a rename:
//   Result<int, ParseError> r = ...; if (!r) use r.error(); else use *r / r.value().
// Peer input never throws: parse and protocol errors are ordinary Result errors.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "common/check.h"

namespace ikepulse {

template <typename E>
class Unexpected {
 public:
  explicit Unexpected(E e) : error_(std::move(e)) {}
  E& error() & { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  template <typename G>
  Result(Unexpected<G> e) : v_(std::in_place_index<1>, std::move(e).error()) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { IKEPULSE_CHECK(has_value()); return std::get<0>(v_); }
  const T& value() const& { IKEPULSE_CHECK(has_value()); return std::get<0>(v_); }
  T&& value() && { IKEPULSE_CHECK(has_value()); return std::get<0>(std::move(v_)); }
  const E& error() const { IKEPULSE_CHECK(!has_value()); return std::get<1>(v_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

// Result<void, E>.
template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <typename G>
  Result(Unexpected<G> e) : error_(std::move(e).error()), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const { IKEPULSE_CHECK(!ok_); return error_; }

 private:
  E error_{};
  bool ok_ = true;
};

template <typename E>
Unexpected<std::decay_t<E>> MakeUnexpected(E&& e) {
  return Unexpected<std::decay_t<E>>(std::forward<E>(e));
}

}  // namespace ikepulse
