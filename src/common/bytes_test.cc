#include "common/bytes.h"

#include <gtest/gtest.h>

#include "common/endpoint.h"
#include "common/random.h"

namespace ikepulse {
namespace {

TEST(ByteReader, ReadsNetworkOrderAndStopsAtEnd) {
  const Bytes b = HexOrDie("01 0203 04050607 08");
  ByteReader r(b);
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  ASSERT_TRUE(r.ReadU8(u8));
  ASSERT_TRUE(r.ReadU16(u16));
  ASSERT_TRUE(r.ReadU32(u32));
  EXPECT_EQ(u8, 1);
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(u32, 0x04050607u);
  EXPECT_FALSE(r.ReadU16(u16));
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(ByteWriter, WritesAndPatches) {
  ByteWriter w;
  w.U8(1);
  w.U16(0);
  w.U32(0xdeadbeef);
  w.PatchU16(1, 0x1234);
  EXPECT_EQ(ToHex(w.Take()), "011234deadbeef");
}

TEST(SecretBytes, WipesOnMoveAndCompares) {
  SecretBytes a(HexOrDie("aabb"));
  SecretBytes b = a;
  EXPECT_TRUE(a == b);
  SecretBytes c = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(c.size(), 2u);
}

TEST(Hex, RejectsOddAndBadDigits) {
  Bytes out;
  EXPECT_FALSE(FromHex("abc", out));
  EXPECT_FALSE(FromHex("zz", out));
  EXPECT_TRUE(FromHex("ab:cd", out));
  EXPECT_EQ(out.size(), 2u);
}

TEST(SeededRandom, IsDeterministic) {
  SeededRandom a(42), b(42);
  EXPECT_EQ(a.U64(), b.U64());
  EXPECT_NE(a.NonZeroU32(), 0u);
}

TEST(Endpoint, ParsesAndPrints) {
  auto v4 = IpAddress::Parse("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ((Endpoint{*v4, 500}.ToString()), "192.0.2.1:500");
  auto v6 = IpAddress::Parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ((Endpoint{*v6, 4500}.ToString()), "[2001:db8::1]:4500");
  EXPECT_FALSE(IpAddress::Parse("300.1.1.1"));
}

}  // namespace
}  // namespace ikepulse
