// IKEPULSE_CHECK: for programmer errors only (broken invariants), never for peer input.
#pragma once

#include <cstdio>
#include <cstdlib>

#define IKEPULSE_CHECK(cond)                                                         \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
