// PingService: the default source address, the errors, and the status the CLI sees.
#include "daemon/ping_service.h"

#include <gtest/gtest.h>

namespace ikepulse::daemon {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }
TimePoint T(int64_t ms) { return FromMicros(ms * 1000); }

config::Interface Itf(const char* name, const char* addr, const char* map = "",
                      bool shutdown = false) {
  config::Interface i;
  i.name = name;
  i.address = Ip(addr);
  i.crypto_map = map;
  i.shutdown = shutdown;
  return i;
}

// Entry green 10 protects 198.51.100.0/24 -> 203.0.113.0/24.
std::optional<dataplane::EntryKey> Green(const IpAddress& src, const IpAddress& dst) {
  const bool lan = src.bytes[0] == 198 && src.bytes[1] == 51 && src.bytes[2] == 100;
  const bool remote = dst.bytes[0] == 203 && dst.bytes[1] == 0 && dst.bytes[2] == 113;
  if (lan && remote) return dataplane::EntryKey{"green", 10};
  return std::nullopt;
}

TEST(PingServiceTest, DefaultSource) {
  config::Config c;
  EXPECT_EQ(PingService::DefaultSource(c, Ip("203.0.113.10"), Green), std::nullopt);
  c.interfaces.push_back(Itf("mgmt0", "10.0.0.1"));
  EXPECT_EQ(PingService::DefaultSource(c, Ip("203.0.113.10"), Green), Ip("10.0.0.1"));
  c.interfaces.push_back(Itf("wan0", "192.0.2.1", "green"));
  EXPECT_EQ(PingService::DefaultSource(c, Ip("203.0.113.10"), Green), Ip("192.0.2.1"));
  // An interface whose address the crypto map protects toward the target wins.
  c.interfaces.push_back(Itf("lan0", "198.51.100.1", "green"));
  EXPECT_EQ(PingService::DefaultSource(c, Ip("203.0.113.10"), Green), Ip("198.51.100.1"));
  c.interfaces.back().shutdown = true;
  EXPECT_EQ(PingService::DefaultSource(c, Ip("203.0.113.10"), Green), Ip("192.0.2.1"));
}

TEST(PingServiceTest, StartAndProgress) {
  SeededRandom rng(3);
  PingService ps(rng);
  config::Config c;
  std::vector<Bytes> send;
  cli::PingRequest r;
  r.target = Ip("203.0.113.10");
  auto none = ps.Start(T(0), r, c, Green, send);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error(), "% No interface has an IP address to send from; give one with `source`");
  r.target = Ip("2001:db8::1");
  EXPECT_EQ(ps.Start(T(0), r, c, Green, send).error(), "% IPv6 ping is not supported");
  EXPECT_TRUE(send.empty());

  r.target = Ip("203.0.113.10");
  r.source = Ip("198.51.100.1");
  r.repeat = 2;
  r.size = 200;
  auto h = ps.Start(T(0), r, c, Green, send);
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(send.size(), 1u);
  EXPECT_EQ(send[0].size(), 200u);
  auto st = ps.Progress(*h);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->source, Ip("198.51.100.1"));
  EXPECT_EQ(st->repeat, 2u);
  EXPECT_EQ(st->size, 200u);
  EXPECT_EQ(st->marks, "");
  EXPECT_FALSE(st->done);
  EXPECT_EQ(ps.NextDeadline(), T(2000));
  // Answer the echo after 0.3 ms (reported as 1 ms), time out the second.
  Bytes reply = send[0];
  for (int i = 0; i < 4; ++i) std::swap(reply[12 + i], reply[16 + i]);
  reply[20] = 0;  // echo reply; the ICMP checksum grows by 8 << 8
  uint32_t sum = ((uint32_t{reply[22]} << 8) | reply[23]) + 0x0800;
  sum = (sum & 0xffff) + (sum >> 16);
  reply[22] = static_cast<uint8_t>(sum >> 8);
  reply[23] = static_cast<uint8_t>(sum);
  send.clear();
  ASSERT_TRUE(ps.OnPacket(FromMicros(300), reply, send));
  ASSERT_EQ(send.size(), 1u);
  ps.OnTimer(FromMicros(300) + Seconds(2), send);
  st = ps.Progress(*h);
  EXPECT_EQ(st->marks, "!.");
  EXPECT_EQ(st->rtt_ms, std::vector<uint32_t>{1});
  EXPECT_TRUE(st->done);
  ps.Stop(*h);
  EXPECT_FALSE(ps.Progress(*h).has_value());
}

}  // namespace
}  // namespace ikepulse::daemon
