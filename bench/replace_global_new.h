// Replaces the global operator new/new[]/delete/delete[] (plain, nothrow and sized) with the
// given accounting functions: void* new_fn(std::size_t) (throws std::bad_alloc) and
// void delete_fn(void*) noexcept. Use once, at namespace scope, in a bench's .cc file.
#pragma once

#include <cstddef>
#include <new>

#define IKEPULSE_REPLACE_GLOBAL_NEW(new_fn, delete_fn)                            \
  void* operator new(std::size_t n) { return new_fn(n); }                         \
  void* operator new[](std::size_t n) { return new_fn(n); }                       \
  void* operator new(std::size_t n, const std::nothrow_t&) noexcept {             \
    try {                                                                         \
      return new_fn(n);                                                           \
    } catch (...) {                                                               \
      return nullptr;                                                             \
    }                                                                             \
  }                                                                               \
  void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {         \
    return ::operator new(n, t);                                                  \
  }                                                                               \
  void operator delete(void* p) noexcept { delete_fn(p); }                        \
  void operator delete[](void* p) noexcept { delete_fn(p); }                      \
  void operator delete(void* p, std::size_t) noexcept { delete_fn(p); }           \
  void operator delete[](void* p, std::size_t) noexcept { delete_fn(p); }         \
  void operator delete(void* p, const std::nothrow_t&) noexcept { delete_fn(p); } \
  void operator delete[](void* p, const std::nothrow_t&) noexcept { delete_fn(p); }
