#include "daemon/metrics_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace ikepulse::daemon {

struct MetricsServerAccess {
  static MHD_Result Handler(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* /*version*/,
                           const char* /*upload_data*/, size_t* upload_data_size,
                           void** /*con_cls*/) {
    auto* self = static_cast<MetricsServer*>(cls);
    ++self->requests_;
    unsigned status = MHD_HTTP_OK;
    std::string body;
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
      status = MHD_HTTP_METHOD_NOT_ALLOWED;
      body = "only GET /metrics\n";
    } else if (std::strcmp(url, "/metrics") != 0) {
      status = MHD_HTTP_NOT_FOUND;
      body = "not found: try /metrics\n";
    } else {
      body = self->render_();
    }
    if (upload_data_size) *upload_data_size = 0;  // a body, if any, is ignored
    MHD_Response* r =
        MHD_create_response_from_buffer(body.size(), body.data(), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type",
                            status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
                                                  : "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, HEAD");
    const MHD_Result ok = MHD_queue_response(connection, status, r);
    MHD_destroy_response(r);
    return ok;
  }
};

Result<std::unique_ptr<MetricsServer>, std::string> MetricsServer::Start(const Endpoint& at,
                                                                         Render render) {
  std::unique_ptr<MetricsServer> s(new MetricsServer(at, std::move(render)));
  sockaddr_storage ss{};
  unsigned flags = MHD_USE_EPOLL;
  if (at.ip.v6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(at.port);
    std::memcpy(&a6->sin6_addr, at.ip.bytes.data(), 16);
    flags |= MHD_USE_IPv6;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(at.port);
    a4->sin_addr.s_addr = htonl(at.ip.V4ToU32());
  }
  errno = 0;
  s->mhd_ = MHD_start_daemon(
      flags, at.port, nullptr, nullptr,
      reinterpret_cast<MHD_AccessHandlerCallback>(&MetricsServerAccess::Handler), s.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&ss),
      MHD_OPTION_CONNECTION_LIMIT, kMaxConnections,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, kMaxPerIp,
      MHD_OPTION_CONNECTION_TIMEOUT, kIdleTimeoutS,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, kMemoryLimit,
      MHD_OPTION_END);
  if (!s->mhd_) {
    const int e = errno;
    return MakeUnexpected(std::string(e ? std::strerror(e) : "libmicrohttpd could not start"));
  }
  return s;
}

MetricsServer::~MetricsServer() {
  if (mhd_) MHD_stop_daemon(mhd_);
}

int MetricsServer::fd() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(mhd_, MHD_DAEMON_INFO_EPOLL_FD);
  return info ? info->epoll_fd : -1;
}

void MetricsServer::Run() { MHD_run(mhd_); }

uint16_t MetricsServer::bound_port() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(mhd_, MHD_DAEMON_INFO_BIND_PORT);
  return info ? info->port : at_.port;
}

TimePoint MetricsServer::NextDeadline(TimePoint now) const {
  MHD_UNSIGNED_LONG_LONG ms = 0;
  if (MHD_get_timeout(mhd_, &ms) != MHD_YES) return kNever;
  return now + Millis(static_cast<int64_t>(ms));
}

}  // namespace ikepulse::daemon
