// The IKEv2 proposal and traffic-selector choices (ikev2_proposals.h), one rule at a time.
#include "ike/ikev2_proposals.h"

#include <gtest/gtest.h>

#include "ikev2/constants.h"

namespace ikepulse::ike::v2 {
namespace {

ikev2::TrafficSelector Ts(uint32_t lo, uint32_t hi, uint8_t proto = 0) {
  ikev2::TrafficSelector t;
  t.ip_protocol = proto;
  t.start_address = SpiBytes(lo);
  t.end_address = SpiBytes(hi);
  return t;
}

constexpr uint32_t kNet10_1 = 0x0a010000;  // 10.1.0.0

TEST(Ikev2ProposalsTest, ToNetAcceptsOnlyPrefixes) {
  IpAddress net, mask;
  ASSERT_TRUE(ToNet(Range{kNet10_1, kNet10_1 + 255}, net, mask));
  EXPECT_EQ(net, IpAddress::V4(10, 1, 0, 0));
  EXPECT_EQ(mask, IpAddress::V4(255, 255, 255, 0));
  ASSERT_TRUE(ToNet(Range{0, 0xffffffffu}, net, mask));  // everything: /0
  EXPECT_EQ(mask, IpAddress::V4(0, 0, 0, 0));
  ASSERT_TRUE(ToNet(Range{kNet10_1 + 7, kNet10_1 + 7}, net, mask));  // one host: /32
  EXPECT_EQ(mask, IpAddress::V4(255, 255, 255, 255));
  EXPECT_FALSE(ToNet(Range{kNet10_1 + 5, kNet10_1 + 200}, net, mask));  // not a prefix
  EXPECT_FALSE(ToNet(Range{kNet10_1 + 128, kNet10_1 + 383}, net, mask));  // unaligned
}

TEST(Ikev2ProposalsTest, FromTsRefusesWhatIsNotAnIpv4Range) {
  EXPECT_TRUE(FromTs(Ts(kNet10_1, kNet10_1 + 255)));
  EXPECT_FALSE(FromTs(Ts(kNet10_1 + 255, kNet10_1)));  // start after end
  ikev2::TrafficSelector short_addr = Ts(kNet10_1, kNet10_1);
  short_addr.end_address.pop_back();
  EXPECT_FALSE(FromTs(short_addr));
  ikev2::TrafficSelector v6 = Ts(kNet10_1, kNet10_1);
  v6.ts_type = static_cast<uint8_t>(ikev2::TsType::kIpv6AddrRange);
  EXPECT_FALSE(FromTs(v6));
  ikev2::TrafficSelector ports = Ts(kNet10_1, kNet10_1);
  ports.start_port = 500;
  ports.end_port = 499;
  EXPECT_FALSE(FromTs(ports));
}

// The responder keeps what the peer asked for inside what it is configured for.
TEST(Ikev2ProposalsTest, NarrowTakesTheLargestIntersectionWithOurs) {
  const Range ours = FromNet(IpAddress::V4(10, 1, 0, 0), IpAddress::V4(255, 255, 255, 0), 0);
  ikev2::TsPayload wide;
  wide.selectors = {Ts(0x0a000000, 0x0affffff)};  // 10.0.0.0/8
  auto r = Narrow(wide, ours);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lo, kNet10_1);
  EXPECT_EQ(r->hi, kNet10_1 + 255);

  ikev2::TsPayload two;  // a host inside ours, and a /25 inside ours: the /25 wins
  two.selectors = {Ts(kNet10_1 + 9, kNet10_1 + 9), Ts(kNet10_1 + 128, kNet10_1 + 255)};
  r = Narrow(two, ours);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lo, kNet10_1 + 128);

  ikev2::TsPayload elsewhere;
  elsewhere.selectors = {Ts(0x0a020000, 0x0a0200ff)};  // 10.2.0.0/24
  EXPECT_FALSE(Narrow(elsewhere, ours));

  ikev2::TsPayload tcp;  // a protocol-specific offer narrows "any" to that protocol
  tcp.selectors = {Ts(kNet10_1, kNet10_1 + 255, 6)};
  r = Narrow(tcp, ours);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->proto, 6);
}

TEST(Ikev2ProposalsTest, InvertTurnsAWildcardIntoAMask) {
  EXPECT_EQ(Invert(IpAddress::V4(0, 0, 0, 255)), IpAddress::V4(255, 255, 255, 0));
  EXPECT_EQ(SpiValue(SpiBytes(0x01020304)), 0x01020304u);
}

}  // namespace
}  // namespace ikepulse::ike::v2
