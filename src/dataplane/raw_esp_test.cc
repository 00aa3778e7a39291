// RawEspSocket's pure parts: the IPv4 header strip and the IPv6 recvmsg interpretation
// (source from msg_name, destination from IPV6_PKTINFO), and the family checks before any
// socket is made. The socket I/O itself runs in tests/interop/dataplane_pair.sh.
#include "dataplane/raw_esp.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

namespace ikepulse::dataplane {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

Bytes Ipv4Esp(size_t ihl_words, uint8_t proto, const Bytes& esp) {
  Bytes p(ihl_words * 4, 0);
  p[0] = static_cast<uint8_t>(0x40 | ihl_words);
  p[9] = proto;
  const uint8_t src[4] = {192, 0, 2, 2}, dst[4] = {192, 0, 2, 1};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst, 4);
  p.insert(p.end(), esp.begin(), esp.end());
  return p;
}

TEST(RawEspTest, Ipv4HeaderStripped) {
  const Bytes esp = {0xc0, 0, 0x0a, 0x0b, 0, 0, 0, 1, 0xaa};
  for (size_t ihl : {5u, 6u}) {  // with and without options
    const Bytes p = Ipv4Esp(ihl, 50, esp);
    auto r = ParseRawIpv4Esp(p);
    ASSERT_TRUE(r.has_value()) << ihl;
    EXPECT_EQ(r->src, Ip("192.0.2.2"));
    EXPECT_EQ(r->dst, Ip("192.0.2.1"));
    EXPECT_EQ(Bytes(r->esp.begin(), r->esp.end()), esp);
  }
}

TEST(RawEspTest, Ipv4ImplausiblePacketsRejected) {
  const Bytes esp = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_FALSE(ParseRawIpv4Esp(Ipv4Esp(5, 17, esp)).has_value());  // not ESP
  Bytes v6 = Ipv4Esp(5, 50, esp);
  v6[0] = 0x65;
  EXPECT_FALSE(ParseRawIpv4Esp(v6).has_value());
  Bytes short_ihl = Ipv4Esp(5, 50, esp);
  short_ihl[0] = 0x44;
  EXPECT_FALSE(ParseRawIpv4Esp(short_ihl).has_value());
  Bytes long_ihl = Ipv4Esp(5, 50, {});
  long_ihl[0] = 0x4f;  // 60 bytes of header in a 20-byte packet
  EXPECT_FALSE(ParseRawIpv4Esp(long_ihl).has_value());
  EXPECT_FALSE(ParseRawIpv4Esp(ByteSpan(Ipv4Esp(5, 50, {}).data(), 19)).has_value());
}

// What recvmsg fills in on an AF_INET6 raw socket: the source address in msg_name and
// control messages (IPV6_PKTINFO, optionally others before it).
struct V6Msg {
  sockaddr_in6 from{};
  alignas(cmsghdr) uint8_t control[256]{};
  msghdr msg{};

  V6Msg(const char* src, const char* dst, bool hoplimit_first) {
    from.sin6_family = AF_INET6;
    std::memcpy(&from.sin6_addr, Ip(src).bytes.data(), 16);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_control = control;
    size_t len = 0;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (hoplimit_first) {
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_HOPLIMIT;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      const int hops = 64;
      std::memcpy(CMSG_DATA(c), &hops, sizeof(hops));
      len += CMSG_SPACE(sizeof(int));
      c = CMSG_NXTHDR(&msg, c);
    }
    if (dst != nullptr) {
      in6_pktinfo pi{};
      std::memcpy(&pi.ipi6_addr, Ip(dst).bytes.data(), 16);
      pi.ipi6_ifindex = 3;
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(pi));
      std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
      len += CMSG_SPACE(sizeof(pi));
    }
    msg.msg_controllen = len;  // as recvmsg leaves it: only what it wrote
  }
};

TEST(RawEspTest, Ipv6AddressesFromNameAndPktinfo) {
  const Bytes esp = {0xc0, 0, 0x0a, 0x0b, 0, 0, 0, 1, 0xaa};
  for (bool hoplimit_first : {false, true}) {
    V6Msg m("2001:db8::2", "2001:db8::1", hoplimit_first);
    auto r = ParseRawIpv6Esp(m.msg, esp);
    ASSERT_TRUE(r.has_value()) << hoplimit_first;
    EXPECT_EQ(r->src, Ip("2001:db8::2"));
    EXPECT_EQ(r->dst, Ip("2001:db8::1"));
    EXPECT_TRUE(r->src.v6 && r->dst.v6);
    EXPECT_EQ(r->esp.data(), esp.data());  // a view, not a copy
    EXPECT_EQ(r->esp.size(), esp.size());
  }
}

TEST(RawEspTest, Ipv6WithoutPktinfoOrSourceRejected) {
  const Bytes esp = {1, 2, 3, 4, 5, 6, 7, 8};
  {
    V6Msg m("2001:db8::2", nullptr, true);  // only a hop limit
    EXPECT_FALSE(ParseRawIpv6Esp(m.msg, esp).has_value());
  }
  {
    V6Msg m("2001:db8::2", "2001:db8::1", false);
    m.msg.msg_control = nullptr;
    m.msg.msg_controllen = 0;
    EXPECT_FALSE(ParseRawIpv6Esp(m.msg, esp).has_value());
  }
  {
    V6Msg m("2001:db8::2", "2001:db8::1", false);
    m.msg.msg_controllen = CMSG_LEN(sizeof(in6_pktinfo)) - 1;  // truncated (MSG_CTRUNC)
    EXPECT_FALSE(ParseRawIpv6Esp(m.msg, esp).has_value());
  }
  {
    V6Msg m("2001:db8::2", "2001:db8::1", false);
    m.msg.msg_namelen = sizeof(sockaddr_in);
    EXPECT_FALSE(ParseRawIpv6Esp(m.msg, esp).has_value());
  }
  {
    V6Msg m("2001:db8::2", "2001:db8::1", false);
    m.from.sin6_family = AF_INET;
    EXPECT_FALSE(ParseRawIpv6Esp(m.msg, esp).has_value());
  }
}

TEST(RawEspTest, OpenRejectsAnAddressOfTheOtherFamily) {
  // Checked before any socket is made: no privileges needed.
  auto a = RawEspSocket::Open(true, Ip("192.0.2.1"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().err, EAFNOSUPPORT);
  auto b = RawEspSocket::Open(false, Ip("2001:db8::1"));
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().err, EAFNOSUPPORT);
}

}  // namespace
}  // namespace ikepulse::dataplane
