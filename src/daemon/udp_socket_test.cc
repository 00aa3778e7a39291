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

// The daemon's path: a queue of replies sent from the addresses the peers talked to, with one
// sendmmsg, and read back with recvmmsg in batches of kBatch, in order, nothing lost.
TEST(UdpSocket, BatchedSendAndReceiveKeepOrderAndSourceAddresses) {
  auto server = UdpSocket::Open(Endpoint{IpAddress{}, 0});
  ASSERT_TRUE(server.has_value()) << server.error();
  auto client = UdpSocket::Open(Endpoint{IpAddress::V4(127, 0, 0, 1), 0});
  ASSERT_TRUE(client.has_value()) << client.error();
  UdpSocket& srv = *server.value();
  UdpSocket& cli = *client.value();
  const uint16_t port = srv.bound().port;

  // 40 datagrams to the server, to 127.0.0.10 .. 127.0.0.49, queued then flushed at once.
  constexpr int kCount = 40;
  for (int i = 0; i < kCount; ++i) {
    cli.QueueSend(cli.bound(), Endpoint{IpAddress::V4(127, 0, 0, 10 + i), port},
                  B("m" + std::to_string(i)));
  }
  EXPECT_EQ(cli.pending_sends(), size_t{kCount});
  int failures = 0;
  cli.FlushSends([&](const Endpoint&, const Endpoint&, int) { ++failures; });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(cli.pending_sends(), 0u);

  std::vector<UdpSocket::Received> got;
  std::vector<std::string> texts;
  std::vector<Endpoint> locals;
  for (int round = 0; round < 10 && static_cast<int>(texts.size()) < kCount; ++round) {
    ASSERT_TRUE(WaitReadable(srv));
    ASSERT_EQ(srv.ReceiveBatch(got), UdpSocket::RecvStatus::kOk);
    EXPECT_LE(got.size(), UdpSocket::kBatch);
    for (const auto& r : got) {
      EXPECT_FALSE(r.truncated);
      EXPECT_EQ(r.remote, cli.bound());
      texts.emplace_back(r.data.begin(), r.data.end());
      locals.push_back(r.local);
    }
  }
  ASSERT_EQ(texts.size(), size_t{kCount});
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(texts[i], "m" + std::to_string(i));
    EXPECT_EQ(locals[i], (Endpoint{IpAddress::V4(127, 0, 0, 10 + i), port}));
  }
  EXPECT_EQ(srv.ReceiveBatch(got), UdpSocket::RecvStatus::kWouldBlock);
  EXPECT_TRUE(got.empty());

  // Replies, each from the address it was sent to (IP_PKTINFO on the wildcard socket).
  for (int i = 0; i < kCount; ++i) srv.QueueSend(locals[i], cli.bound(), B("r" + std::to_string(i)));
  srv.FlushSends(nullptr);
  std::vector<Endpoint> from;
  for (int round = 0; round < 10 && static_cast<int>(from.size()) < kCount; ++round) {
    ASSERT_TRUE(WaitReadable(cli));
    ASSERT_EQ(cli.ReceiveBatch(got), UdpSocket::RecvStatus::kOk);
    for (const auto& r : got) from.push_back(r.remote);
  }
  ASSERT_EQ(from.size(), size_t{kCount});
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(from[i], locals[i]);
}

// A datagram the kernel refuses (here: an IPv6 destination on an IPv4 socket) is reported
// once, and the datagrams queued after it still leave.
TEST(UdpSocket, FlushReportsAFailedDatagramAndSendsTheRest) {
  auto server = UdpSocket::Open(Endpoint{IpAddress::V4(127, 0, 0, 1), 0});
  ASSERT_TRUE(server.has_value()) << server.error();
  auto client = UdpSocket::Open(Endpoint{IpAddress::V4(127, 0, 0, 1), 0});
  ASSERT_TRUE(client.has_value()) << client.error();
  UdpSocket& cli = *client.value();
  const Endpoint to = server.value()->bound();
  IpAddress v6;
  v6.v6 = true;
  v6.bytes[15] = 1;
  cli.QueueSend(cli.bound(), to, B("first"));
  cli.QueueSend(cli.bound(), Endpoint{v6, 500}, B("refused"));
  cli.QueueSend(cli.bound(), to, B("third"));
  std::vector<Endpoint> failed;
  cli.FlushSends([&](const Endpoint&, const Endpoint& remote, int err) {
    failed.push_back(remote);
    EXPECT_NE(err, 0);
  });
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_TRUE(failed[0].ip.v6);
  std::vector<std::string> texts;
  std::vector<UdpSocket::Received> got;
  for (int round = 0; round < 5 && texts.size() < 2; ++round) {
    ASSERT_TRUE(WaitReadable(*server.value()));
    ASSERT_EQ(server.value()->ReceiveBatch(got), UdpSocket::RecvStatus::kOk);
    for (const auto& r : got) texts.emplace_back(r.data.begin(), r.data.end());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"first", "third"}));
}

}  // namespace
}  // namespace ikepulse::daemon
