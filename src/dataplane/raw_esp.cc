#include "dataplane/raw_esp.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace ikepulse::dataplane {
namespace {
Unexpected<IoError> Fail(int err, const char* what) {
  return MakeUnexpected(IoError{err, what});
}
sockaddr_in ToSockaddr(const IpAddress& ip) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  std::memcpy(&sa.sin_addr, ip.bytes.data(), 4);
  return sa;
}
}  // namespace

std::optional<RawEspSocket::Received> ParseRawIpv4Esp(ByteSpan p) {
  if (p.size() < 20 || (p[0] >> 4) != 4) return std::nullopt;
  const size_t ihl = (p[0] & 0x0f) * 4u;
  if (ihl < 20 || ihl > p.size() || p[9] != 50) return std::nullopt;
  RawEspSocket::Received r;
  std::copy_n(p.begin() + 12, 4, r.src.bytes.begin());
  std::copy_n(p.begin() + 16, 4, r.dst.bytes.begin());
  r.esp = p.subspan(ihl);
  return r;
}

Result<RawEspSocket, IoError> RawEspSocket::Open(const std::optional<IpAddress>& local) {
  const int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
  if (fd < 0) return Fail(errno, "raw ESP socket");
  if (local) {
    if (local->v6) {
      close(fd);
      return Fail(EAFNOSUPPORT, "raw ESP: IPv4 only");
    }
    sockaddr_in sa = ToSockaddr(*local);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
      const int e = errno;
      close(fd);
      return Fail(e, "raw ESP bind");
    }
  }
  return RawEspSocket(fd);
}

RawEspSocket::~RawEspSocket() {
  if (fd_ >= 0) close(fd_);
}

Result<std::optional<RawEspSocket::Received>, IoError> RawEspSocket::Receive(
    std::span<uint8_t> buf) {
  const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return std::optional<Received>();
    }
    return Fail(errno, "raw ESP receive");
  }
  return ParseRawIpv4Esp(ByteSpan(buf.data(), static_cast<size_t>(n)));
}

Result<void, IoError> RawEspSocket::Send(const IpAddress& dst, ByteSpan esp) {
  if (dst.v6) return Fail(EAFNOSUPPORT, "raw ESP: IPv4 only");
  sockaddr_in sa = ToSockaddr(dst);
  if (sendto(fd_, esp.data(), esp.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    return Fail(errno, "raw ESP send");
  }
  return {};
}

}  // namespace ikepulse::dataplane
