#include "ike/message_id_window.h"

#include <gtest/gtest.h>

namespace ikepulse::ike {
namespace {

TEST(MessageIdWindow, NewThenSeen) {
  MessageIdWindow w;
  EXPECT_FALSE(w.Seen(0x12345678));
  EXPECT_TRUE(w.Remember(0x12345678));
  EXPECT_TRUE(w.Seen(0x12345678));
  EXPECT_FALSE(w.Remember(0x12345678));  // a replay
  EXPECT_FALSE(w.CheckAndRemember(0x12345678));
  EXPECT_TRUE(w.CheckAndRemember(0x9ABCDEF0));
}

TEST(MessageIdWindow, ZeroIsNeverRemembered) {
  MessageIdWindow w;
  EXPECT_FALSE(w.Remember(0));
  EXPECT_FALSE(w.Seen(0));
}

TEST(MessageIdWindow, RemembersExactlyTheLastKSizeDistinctIds) {
  MessageIdWindow w;
  const uint32_t n = MessageIdWindow::kSize;
  for (uint32_t i = 1; i <= n; ++i) ASSERT_TRUE(w.Remember(i * 7919));
  for (uint32_t i = 1; i <= n; ++i) EXPECT_TRUE(w.Seen(i * 7919)) << i;
  // A replay of a remembered ID does not evict anything.
  EXPECT_FALSE(w.Remember(7919));
  EXPECT_TRUE(w.Seen(n * 7919));
  // One more new ID evicts the oldest only.
  EXPECT_TRUE(w.Remember(0xFFFFFFFF));
  EXPECT_FALSE(w.Seen(7919));
  for (uint32_t i = 2; i <= n; ++i) EXPECT_TRUE(w.Seen(i * 7919)) << i;
  EXPECT_TRUE(w.Seen(0xFFFFFFFF));
}

TEST(MessageIdWindow, Wraps) {
  MessageIdWindow w;
  for (uint32_t i = 1; i <= 10 * MessageIdWindow::kSize; ++i) ASSERT_TRUE(w.Remember(i));
  const uint32_t last = 10 * MessageIdWindow::kSize;
  for (uint32_t i = last - MessageIdWindow::kSize + 1; i <= last; ++i) EXPECT_TRUE(w.Seen(i));
  EXPECT_FALSE(w.Seen(last - MessageIdWindow::kSize));
}

TEST(MessageIdWindow, SmallFootprint) { EXPECT_LE(sizeof(MessageIdWindow), 132u); }

}  // namespace
}  // namespace ikepulse::ike
