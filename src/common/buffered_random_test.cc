// BufferedRandom: the same byte stream as its source, drawn in 4 KiB blocks.
#include "common/buffered_random.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/bytes.h"
#include "common/random.h"

namespace ikepulse {
namespace {

TEST(BufferedRandomTest, SameStreamAsTheSourceAcrossRefills) {
  SeededRandom a(42), b(42);
  BufferedRandom buffered(a);
  Bytes got, want(3 * 4096 + 100);
  for (size_t n : {1u, 16u, 4095u, 4096u, 5000u, 3178u}) {
    Bytes chunk(n);
    buffered.Fill(chunk);
    got.insert(got.end(), chunk.begin(), chunk.end());
  }
  ASSERT_EQ(got.size(), 16386u);
  // The source was asked for whole 4 KiB blocks, in order.
  Bytes blocks(5 * 4096);
  b.Fill(std::span<uint8_t>(blocks.data(), 4096));
  for (size_t i = 1; i < 5; ++i) b.Fill(std::span<uint8_t>(blocks.data() + i * 4096, 4096));
  EXPECT_TRUE(std::equal(got.begin(), got.end(), blocks.begin()));
}

}  // namespace
}  // namespace ikepulse
