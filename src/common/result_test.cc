#include "common/result.h"

#include <gtest/gtest.h>

#include <string>

namespace ikepulse {
namespace {

Result<int, std::string> Half(int x) {
  if (x % 2) return MakeUnexpected(std::string("odd"));
  return x / 2;
}

TEST(Result, CarriesValueOrError) {
  auto a = Half(4);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 2);
  auto b = Half(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error(), "odd");
}

}  // namespace
}  // namespace ikepulse
