// ICMP echo codec: the request's layout and checksums, and which packets count as replies.
#include "dataplane/icmp_echo.h"

#include <gtest/gtest.h>

#include "dataplane/ip_packet.h"

namespace ikepulse::dataplane {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

EchoRequestSpec Spec(size_t size = 100) {
  EchoRequestSpec s;
  s.src = Ip("198.51.100.1");
  s.dst = Ip("203.0.113.10");
  s.ident = 0x1234;
  s.seq = 7;
  s.ip_id = 0x4242;
  s.size = size;
  return s;
}

// What a host answering the echo would send: addresses swapped, type 0, checksums redone.
Bytes Answer(Bytes p) {
  for (int i = 0; i < 4; ++i) std::swap(p[12 + i], p[16 + i]);
  p[10] = p[11] = 0;
  const uint16_t ip_sum = InternetChecksum(ByteSpan(p.data(), 20));
  p[10] = static_cast<uint8_t>(ip_sum >> 8);
  p[11] = static_cast<uint8_t>(ip_sum);
  p[20] = 0;
  p[22] = p[23] = 0;
  const uint16_t sum = InternetChecksum(ByteSpan(p.data() + 20, p.size() - 20));
  p[22] = static_cast<uint8_t>(sum >> 8);
  p[23] = static_cast<uint8_t>(sum);
  return p;
}

TEST(InternetChecksumTest, Rfc1071Example) {
  // RFC 1071 section 3: the one's complement sum of 0001 f203 f4f5 f6f7 is ddf2.
  const Bytes b = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(InternetChecksum(b), static_cast<uint16_t>(~0xddf2));
  const Bytes odd = {0x01};  // padded with a zero byte
  EXPECT_EQ(InternetChecksum(odd), static_cast<uint16_t>(~0x0100));
}

TEST(IcmpEchoTest, RequestLayout) {
  const Bytes p = BuildEchoRequest(Spec());
  ASSERT_EQ(p.size(), 100u);
  auto flow = ParseIpPacket(p);
  ASSERT_TRUE(flow.has_value());
  EXPECT_EQ(flow->version, 4);
  EXPECT_EQ(flow->protocol, 1);
  EXPECT_EQ(flow->src, Ip("198.51.100.1"));
  EXPECT_EQ(flow->dst, Ip("203.0.113.10"));
  EXPECT_EQ(p[0], 0x45);
  EXPECT_EQ(p[4], 0x42);
  EXPECT_EQ(p[8], 255);  // TTL
  EXPECT_EQ(InternetChecksum(ByteSpan(p.data(), 20)), 0);  // header checksum verifies
  EXPECT_EQ(p[20], 8);  // echo request
  EXPECT_EQ(p[21], 0);
  EXPECT_EQ(p[24], 0x12);
  EXPECT_EQ(p[25], 0x34);
  EXPECT_EQ(p[26], 0);
  EXPECT_EQ(p[27], 7);
  EXPECT_EQ(p[28], 0xab);
  EXPECT_EQ(p[29], 0xcd);
  EXPECT_EQ(p[99], 0xcd);
  EXPECT_EQ(InternetChecksum(ByteSpan(p.data() + 20, 80)), 0);  // ICMP checksum verifies
}

TEST(IcmpEchoTest, SizeIsClamped) {
  EXPECT_EQ(BuildEchoRequest(Spec(10)).size(), kMinEchoSize);
  EXPECT_EQ(BuildEchoRequest(Spec(1500)).size(), 1500u);
  EXPECT_EQ(BuildEchoRequest(Spec(100000)).size(), kMaxEchoSize);
}

TEST(IcmpEchoTest, ParsesTheAnswer) {
  const Bytes reply = Answer(BuildEchoRequest(Spec(37)));  // odd length
  auto r = ParseEchoReply(reply);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->src, Ip("203.0.113.10"));
  EXPECT_EQ(r->dst, Ip("198.51.100.1"));
  EXPECT_EQ(r->ident, 0x1234);
  EXPECT_EQ(r->seq, 7);
  EXPECT_EQ(r->size, 37u);
}

TEST(IcmpEchoTest, RejectsWhatIsNotAReply) {
  const Bytes request = BuildEchoRequest(Spec());
  EXPECT_FALSE(ParseEchoReply(request).has_value());  // a request, not a reply
  const Bytes good = Answer(request);
  ASSERT_TRUE(ParseEchoReply(good).has_value());
  auto broken = [&](size_t at, uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return ParseEchoReply(b).has_value();
  };
  EXPECT_FALSE(broken(50, 0x00));  // ICMP checksum no longer verifies
  EXPECT_FALSE(broken(8, 1));      // IP header checksum no longer verifies
  Bytes frag = good;
  frag[6] = 0x20;  // more fragments
  frag[10] = frag[11] = 0;
  const uint16_t s = InternetChecksum(ByteSpan(frag.data(), 20));
  frag[10] = static_cast<uint8_t>(s >> 8);
  frag[11] = static_cast<uint8_t>(s);
  EXPECT_FALSE(ParseEchoReply(frag).has_value());
  // Truncations of every length, and garbage: never a reply, never a crash.
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(ParseEchoReply(ByteSpan(good.data(), n)).has_value()) << n;
  Bytes junk(64, 0x45);
  EXPECT_FALSE(ParseEchoReply(junk).has_value());
  Bytes v6(60, 0);
  v6[0] = 0x60;
  EXPECT_FALSE(ParseEchoReply(v6).has_value());
}

}  // namespace
}  // namespace ikepulse::dataplane
