#include "daemon/udp_socket.h"

#include <gtest/gtest.h>
#include <poll.h>

#include "daemon/real_clock.h"

namespace ikepulse::daemon {
namespace {

// Waits (with a deadline) until `s` has a datagram.
bool WaitReadable(const UdpSocket& s, int ms = 2000) {
  pollfd p{s.fd(), POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

TEST(UdpSocket, WildcardLearnsLocalAddressAndRepliesFromIt) {
  auto server = UdpSocket::Open(Endpoint{IpAddress{}, 0});
  ASSERT_TRUE(server.has_value()) << server.error();
  ASSERT_TRUE(server.value()->wildcard());
  const uint16_t port = server.value()->bound().port;
  ASSERT_NE(port, 0);
  auto client = UdpSocket::Open(Endpoint{IpAddress::V4(127, 0, 0, 1), 0});
  ASSERT_TRUE(client.has_value()) << client.error();
  EXPECT_FALSE(client.value()->wildcard());

  // Sent to 127.0.0.2 (any 127/8 address is local): the server learns that address.
  const Endpoint target{IpAddress::V4(127, 0, 0, 2), port};
  ASSERT_TRUE(client.value()->Send(client.value()->bound(), target, B("hello")));
  ASSERT_TRUE(WaitReadable(*server.value()));
  Bytes buf;
  Endpoint local, remote;
  ASSERT_EQ(server.value()->Receive(buf, local, remote), UdpSocket::RecvStatus::kOk);
  EXPECT_EQ(buf, B("hello"));
  EXPECT_EQ(local, target);
  EXPECT_EQ(remote, client.value()->bound());

  // The reply leaves from 127.0.0.2, not from the default 127.0.0.1.
  ASSERT_TRUE(server.value()->Send(local, remote, B("world")));
  ASSERT_TRUE(WaitReadable(*client.value()));
  Endpoint c_local, c_remote;
  ASSERT_EQ(client.value()->Receive(buf, c_local, c_remote), UdpSocket::RecvStatus::kOk);
  EXPECT_EQ(buf, B("world"));
  EXPECT_EQ(c_remote, target);

  EXPECT_EQ(server.value()->Receive(buf, local, remote), UdpSocket::RecvStatus::kWouldBlock);
}

TEST(UdpSocket, Ipv6Loopback) {
  IpAddress any6;
  any6.v6 = true;
  auto server = UdpSocket::Open(Endpoint{any6, 0});
  if (!server.has_value()) GTEST_SKIP() << "no IPv6: " << server.error();
  const IpAddress lo6 = *IpAddress::Parse("::1");
  auto client = UdpSocket::Open(Endpoint{lo6, 0});
  ASSERT_TRUE(client.has_value()) << client.error();
  const Endpoint target{lo6, server.value()->bound().port};
  ASSERT_TRUE(client.value()->Send(client.value()->bound(), target, B("v6")));
  ASSERT_TRUE(WaitReadable(*server.value()));
  Bytes buf;
  Endpoint local, remote;
  ASSERT_EQ(server.value()->Receive(buf, local, remote), UdpSocket::RecvStatus::kOk);
  EXPECT_EQ(local, target);
  EXPECT_TRUE(remote.ip.v6);
  ASSERT_TRUE(server.value()->Send(local, remote, B("ack")));
  ASSERT_TRUE(WaitReadable(*client.value()));
}

TEST(UdpSocket, V4AndV6ShareAPort) {
  auto v4 = UdpSocket::Open(Endpoint{IpAddress{}, 0});
  ASSERT_TRUE(v4.has_value());
  IpAddress any6;
  any6.v6 = true;
  auto v6 = UdpSocket::Open(Endpoint{any6, v4.value()->bound().port});
  if (!v6.has_value() && v6.error().find("Address family") != std::string::npos) GTEST_SKIP();
  EXPECT_TRUE(v6.has_value()) << v6.error();
}

}  // namespace
}  // namespace ikepulse::daemon
