// MetricsServer: `ikepulse metrics listen A P` — Prometheus text metrics over HTTP, served by
// libmicrohttpd in its external-epoll mode, on ikepulsed's own event loop thread: no thread
// touches the engine, and each scrape renders the metrics at that moment (the render callback
// runs inside Run()). Only `GET /metrics` is served (404 for another path, 405 for another
// method). Bounded: at most kMaxConnections connections (kMaxPerIp from one address), an idle
// connection is closed after kIdleTimeoutS, a request may not exceed kMemoryLimit bytes.
//
// The loop watches fd() for EPOLLIN and calls Run() when it is readable or NextDeadline()
// (monotonic) has passed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/endpoint.h"
#include "common/result.h"
#include "common/time.h"

struct MHD_Daemon;

namespace ikepulse::daemon {

class MetricsServer {
 public:
  static constexpr unsigned kMaxConnections = 16;
  static constexpr unsigned kMaxPerIp = 4;
  static constexpr unsigned kIdleTimeoutS = 10;
  static constexpr size_t kMemoryLimit = 32 * 1024;

  using Render = std::function<std::string()>;
  // Listens on `at` (TCP). The error is ready for a log line ("Address already in use", ...).
  static Result<std::unique_ptr<MetricsServer>, std::string> Start(const Endpoint& at,
                                                                   Render render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int fd() const;  // libmicrohttpd's epoll descriptor
  void Run();
  TimePoint NextDeadline(TimePoint now) const;
  const Endpoint& endpoint() const { return at_; }
  uint16_t bound_port() const;  // the port actually bound (at.port 0: the kernel's choice)
  uint64_t requests() const { return requests_; }

 private:
  MetricsServer(const Endpoint& at, Render render) : at_(at), render_(std::move(render)) {}

  Endpoint at_;
  Render render_;
  MHD_Daemon* mhd_ = nullptr;
  uint64_t requests_ = 0;
  friend struct MetricsServerAccess;
};

}  // namespace ikepulse::daemon
