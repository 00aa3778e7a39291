// Ikev2CookieSecret: what a cookie binds (Ni, IPi, SPIi), its generations in virtual time.
#include "ike/ikev2_cookie.h"

#include <gtest/gtest.h>

namespace ikepulse::ike {
namespace {

const TimePoint T0 = FromMicros(1'000'000'000);
const Bytes kNi(32, 0x11);
const IpAddress kIp = IpAddress::V4(198, 51, 100, 7);
const ikev2::Spi kSpi{1, 2, 3, 4, 5, 6, 7, 8};

TEST(Ikev2CookieSecretTest, BindsNonceAddressAndSpi) {
  SeededRandom rng(1);
  Ikev2CookieSecret s;
  const Bytes c = s.Make(T0, rng, kNi, kIp, kSpi);
  ASSERT_EQ(c.size(), Ikev2CookieSecret::kLength);
  EXPECT_EQ(s.Make(T0, rng, kNi, kIp, kSpi), c);  // stateless: the same inputs, the same cookie
  EXPECT_TRUE(s.Valid(T0 + Seconds(1), rng, c, kNi, kIp, kSpi));
  Bytes other_ni = kNi;
  other_ni[31] ^= 1;
  ikev2::Spi other_spi = kSpi;
  other_spi[7] ^= 1;
  EXPECT_FALSE(s.Valid(T0, rng, c, other_ni, kIp, kSpi));
  EXPECT_FALSE(s.Valid(T0, rng, c, kNi, IpAddress::V4(198, 51, 100, 8), kSpi));
  EXPECT_FALSE(s.Valid(T0, rng, c, kNi, kIp, other_spi));
  Bytes bad = c;
  bad.back() ^= 1;
  EXPECT_FALSE(s.Valid(T0, rng, bad, kNi, kIp, kSpi));
  EXPECT_FALSE(s.Valid(T0, rng, ByteSpan(c).first(c.size() - 1), kNi, kIp, kSpi));
  EXPECT_FALSE(s.Valid(T0, rng, {}, kNi, kIp, kSpi));
}

TEST(Ikev2CookieSecretTest, NothingIsValidBeforeTheFirstCookie) {
  SeededRandom rng(1);
  Ikev2CookieSecret s;
  EXPECT_FALSE(s.Valid(T0, rng, Bytes(Ikev2CookieSecret::kLength, 0), kNi, kIp, kSpi));
  EXPECT_EQ(s.generation(), 0u);
}

TEST(Ikev2CookieSecretTest, ThePreviousGenerationIsAcceptedNotTheOneBefore) {
  SeededRandom rng(1);
  Ikev2CookieSecret s;
  const Bytes g1 = s.Make(T0, rng, kNi, kIp, kSpi);
  EXPECT_EQ(s.generation(), 1u);
  // Up to T0+60 s (exclusive) the first secret is current.
  EXPECT_EQ(s.Make(T0 + Seconds(60) - Micros(1), rng, kNi, kIp, kSpi), g1);
  const Bytes g2 = s.Make(T0 + Seconds(60), rng, kNi, kIp, kSpi);
  EXPECT_EQ(s.generation(), 2u);
  EXPECT_NE(g1, g2);
  EXPECT_TRUE(s.Valid(T0 + Seconds(60), rng, g1, kNi, kIp, kSpi));
  EXPECT_TRUE(s.Valid(T0 + Seconds(119), rng, g1, kNi, kIp, kSpi));
  // Two generations ago: refused.
  EXPECT_FALSE(s.Valid(T0 + Seconds(120), rng, g1, kNi, kIp, kSpi));
  EXPECT_EQ(s.generation(), 3u);
  EXPECT_TRUE(s.Valid(T0 + Seconds(120), rng, g2, kNi, kIp, kSpi));
}

TEST(Ikev2CookieSecretTest, AnIdleGapOfSeveralPeriodsKeepsNoPreviousGeneration) {
  SeededRandom rng(1);
  Ikev2CookieSecret s;
  const Bytes g1 = s.Make(T0, rng, kNi, kIp, kSpi);
  // 150 s later: generations 2 (at +60) and 3 (at +120) have passed unused.
  const Bytes now = s.Make(T0 + Seconds(150), rng, kNi, kIp, kSpi);
  EXPECT_EQ(s.generation(), 3u);
  EXPECT_FALSE(s.Valid(T0 + Seconds(150), rng, g1, kNi, kIp, kSpi));
  EXPECT_TRUE(s.Valid(T0 + Seconds(150), rng, now, kNi, kIp, kSpi));
  // Its rotation stays on the 60 s grid: the next at T0+180.
  EXPECT_TRUE(s.Valid(T0 + Seconds(180), rng, now, kNi, kIp, kSpi));
  EXPECT_EQ(s.generation(), 4u);
}

TEST(Ikev2CookieSecretTest, ACopyGivesTheSameCookies) {
  SeededRandom rng(1);
  Ikev2CookieSecret s;
  const Bytes c = s.Make(T0, rng, kNi, kIp, kSpi);
  Ikev2CookieSecret copy = s;
  EXPECT_TRUE(copy.Valid(T0, rng, c, kNi, kIp, kSpi));
}

}  // namespace
}  // namespace ikepulse::ike
