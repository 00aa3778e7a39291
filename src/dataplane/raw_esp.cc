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
// A sockaddr_in or sockaddr_in6 (port 0: raw sockets take the protocol from the socket).
struct RawSockaddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  explicit RawSockaddr(const IpAddress& ip) {
    if (ip.v6) {
      auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
      sa->sin6_family = AF_INET6;
      std::memcpy(&sa->sin6_addr, ip.bytes.data(), 16);
      len = sizeof(sockaddr_in6);
    } else {
      auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
      sa->sin_family = AF_INET;
      std::memcpy(&sa->sin_addr, ip.bytes.data(), 4);
      len = sizeof(sockaddr_in);
    }
  }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
};
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

std::optional<RawEspSocket::Received> ParseRawIpv6Esp(const msghdr& msg, ByteSpan esp) {
  if (msg.msg_name == nullptr || msg.msg_namelen < sizeof(sockaddr_in6)) return std::nullopt;
  sockaddr_in6 from;
  std::memcpy(&from, msg.msg_name, sizeof(from));
  if (from.sin6_family != AF_INET6) return std::nullopt;
  RawEspSocket::Received r;
  r.src.v6 = true;
  std::memcpy(r.src.bytes.data(), &from.sin6_addr, 16);
  msghdr m = msg;  // CMSG_NXTHDR takes a non-const msghdr; it only reads it
  bool have_dst = false;
  // Bounded: each step advances by at least one aligned cmsghdr within msg_controllen.
  for (cmsghdr* c = m.msg_control ? CMSG_FIRSTHDR(&m) : nullptr; c != nullptr;
       c = CMSG_NXTHDR(&m, c)) {
    const size_t offset = static_cast<size_t>(reinterpret_cast<const uint8_t*>(c) -
                                              static_cast<const uint8_t*>(m.msg_control));
    if (c->cmsg_len > m.msg_controllen - offset) break;  // runs past the buffer: truncated
    if (c->cmsg_level != IPPROTO_IPV6 || c->cmsg_type != IPV6_PKTINFO ||
        c->cmsg_len < CMSG_LEN(sizeof(in6_pktinfo))) {
      continue;
    }
    in6_pktinfo pi;
    std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
    r.dst.v6 = true;
    std::memcpy(r.dst.bytes.data(), &pi.ipi6_addr, 16);
    have_dst = true;
    break;
  }
  if (!have_dst) return std::nullopt;
  r.esp = esp;
  return r;
}

Result<RawEspSocket, IoError> RawEspSocket::Open(bool v6, const std::optional<IpAddress>& local) {
  if (local && local->v6 != v6) {
    return Fail(EAFNOSUPPORT, v6 ? "raw ESP: IPv4 address for an IPv6 socket"
                                 : "raw ESP: IPv6 address for an IPv4 socket");
  }
  const int fd =
      socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
  if (fd < 0) return Fail(errno, v6 ? "raw ESP socket (IPv6)" : "raw ESP socket");
  if (v6) {
    const int one = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) {
      const int e = errno;
      close(fd);
      return Fail(e, "raw ESP IPV6_RECVPKTINFO");
    }
  }
  if (local) {
    RawSockaddr sa(*local);
    if (bind(fd, sa.get(), sa.len) < 0) {
      const int e = errno;
      close(fd);
      return Fail(e, "raw ESP bind");
    }
  }
  return RawEspSocket(fd, v6);
}

RawEspSocket::~RawEspSocket() {
  if (fd_ >= 0) close(fd_);
}

Result<std::optional<RawEspSocket::Received>, IoError> RawEspSocket::Receive(
    std::span<uint8_t> buf) {
  sockaddr_in6 from{};
  // Room for IPV6_PKTINFO and a few other control messages the kernel might add.
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo)) + 64];
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  if (v6_) {
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
  }
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const ssize_t n = recvmsg(fd_, &msg, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return std::optional<Received>();
    }
    return Fail(errno, "raw ESP receive");
  }
  const ByteSpan got(buf.data(), static_cast<size_t>(n));
  return v6_ ? ParseRawIpv6Esp(msg, got) : ParseRawIpv4Esp(got);
}

Result<void, IoError> RawEspSocket::Send(const IpAddress& dst, ByteSpan esp) {
  if (dst.v6 != v6_) {
    return Fail(EAFNOSUPPORT, v6_ ? "raw ESP: IPv4 destination on an IPv6 socket"
                                  : "raw ESP: IPv6 destination on an IPv4 socket");
  }
  RawSockaddr sa(dst);
  if (sendto(fd_, esp.data(), esp.size(), 0, sa.get(), sa.len) < 0) {
    return Fail(errno, "raw ESP send");
  }
  return {};
}

}  // namespace ikepulse::dataplane
