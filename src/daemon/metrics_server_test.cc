// MetricsServer on loopback, driven by the real EventLoop as ikepulsed drives it: GET /metrics
// renders at request time; other paths and methods are refused; an address that is not ours
// and a port in use fail with a clear error. Waits on events with a deadline, never sleeps.
#include "daemon/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "daemon/event_loop.h"
#include "daemon/real_clock.h"

namespace ikepulse::daemon {
namespace {

// One HTTP/1.0 request on a blocking socket with a receive timeout, served by the loop in
// between (the loop runs in this thread: the client writes, then the loop runs until the
// response is complete).
std::string Request(EventLoop& loop, MetricsServer& m, uint16_t port, const std::string& req) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // EINPROGRESS on loopback is fine
  std::string out;
  bool sent = false;
  const TimePoint deadline = MonoNow() + Seconds(5);
  while (MonoNow() < deadline) {
    loop.SetTimer(m.NextDeadline(MonoNow()));
    loop.RunOnce(Millis(20));
    if (!sent && ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()))
      sent = true;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    if (n == 0) break;  // HTTP/1.0: the server closes after the response
  }
  ::close(fd);
  return out;
}

struct Fixture {
  std::unique_ptr<EventLoop> loop = EventLoop::Create().value();
  std::unique_ptr<MetricsServer> m;
  int renders = 0;
  bool Start(uint16_t port = 0) {
    auto r = MetricsServer::Start(Endpoint{IpAddress::V4(127, 0, 0, 1), port}, [this] {
      return "ikepulse_test_metric " + std::to_string(++renders) + "\n";
    });
    if (!r) return false;
    m = std::move(*r);
    loop->SetTimerHandler([this] { m->Run(); });
    return loop->Watch(m->fd(), EPOLLIN, [this](uint32_t) { m->Run(); });
  }
};

TEST(MetricsServer, GetMetricsRendersAtEachScrape) {
  Fixture f;
  ASSERT_TRUE(f.Start());
  const uint16_t port = f.m->bound_port();
  ASSERT_NE(port, 0);
  std::string r = Request(*f.loop, *f.m, port, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos) << r;
  EXPECT_NE(r.find("text/plain; version=0.0.4"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\n\r\nikepulse_test_metric 1\n"), std::string::npos) << r;
  r = Request(*f.loop, *f.m, port, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_NE(r.find("ikepulse_test_metric 2\n"), std::string::npos) << r;
  r = Request(*f.loop, *f.m, port, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_NE(r.find(" 404 "), std::string::npos) << r;
  r = Request(*f.loop, *f.m, port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(r.find(" 405 "), std::string::npos) << r;
  EXPECT_EQ(f.renders, 2);
  EXPECT_EQ(f.m->requests(), 4u);
}

TEST(MetricsServer, PortInUseAndForeignAddressFailClearly) {
  Fixture f;
  ASSERT_TRUE(f.Start());
  auto again = MetricsServer::Start(Endpoint{IpAddress::V4(127, 0, 0, 1), f.m->bound_port()},
                                    [] { return std::string(); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), "Address already in use");
  auto foreign = MetricsServer::Start(Endpoint{IpAddress::V4(192, 0, 2, 77), 9464},
                                      [] { return std::string(); });
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error(), "Cannot assign requested address");
}

}  // namespace
}  // namespace ikepulse::daemon
