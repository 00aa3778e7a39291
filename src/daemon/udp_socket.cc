#include "daemon/udp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ikepulse::daemon {

namespace {

bool IsZero(const IpAddress& ip) {
  for (size_t i = 0; i < (ip.v6 ? 16u : 4u); ++i) {
    if (ip.bytes[i] != 0) return false;
  }
  return true;
}

socklen_t ToSockaddr(const Endpoint& ep, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (ep.ip.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(ep.port);
    std::memcpy(&s6->sin6_addr, ep.ip.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(ep.port);
  std::memcpy(&s4->sin_addr, ep.ip.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

bool FromSockaddr(const sockaddr_storage& ss, Endpoint& ep) {
  ep = Endpoint{};
  if (ss.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ep.ip.v6 = true;
    std::memcpy(ep.ip.bytes.data(), &s6->sin6_addr, 16);
    ep.port = ntohs(s6->sin6_port);
    return true;
  }
  if (ss.ss_family == AF_INET) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(ep.ip.bytes.data(), &s4->sin_addr, 4);
    ep.port = ntohs(s4->sin_port);
    return true;
  }
  return false;
}

std::string Errno(const std::string& what, const Endpoint& ep) {
  return what + " " + ep.ToString() + ": " + std::strerror(errno);
}

}  // namespace

Result<std::unique_ptr<UdpSocket>, std::string> UdpSocket::Open(const Endpoint& bind) {
  const int family = bind.ip.v6 ? AF_INET6 : AF_INET;
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return Unexpected(Errno("socket", bind));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Bursts of many parallel exchanges (a mass re-establishment) overflow the default
  // ~208 KiB receive buffer; ask for 4 MiB (root may exceed rmem_max with SO_RCVBUFFORCE).
  const int rcvbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  bool ok;
  if (bind.ip.v6) {
    ok = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0;
  } else {
    ok = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0;
  }
  if (!ok) {
    const std::string e = Errno("setsockopt(PKTINFO)", bind);
    close(fd);
    return Unexpected(e);
  }
  sockaddr_storage ss;
  const socklen_t len = ToSockaddr(bind, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const std::string e = Errno("bind", bind);
    close(fd);
    return Unexpected(e);
  }
  Endpoint bound = bind;
  sockaddr_storage got;
  socklen_t got_len = sizeof got;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len) == 0) FromSockaddr(got, bound);
  return std::unique_ptr<UdpSocket>(new UdpSocket(fd, bound, IsZero(bind.ip)));
}

struct UdpSocket::RxBuffers {
  uint8_t data[kBatch][kSlot];
  sockaddr_storage from[kBatch];
  alignas(cmsghdr) char control[kBatch][256];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
};

UdpSocket::UdpSocket(int fd, Endpoint bound, bool wildcard)
    : fd_(fd), bound_(bound), wildcard_(wildcard) {}

UdpSocket::~UdpSocket() { close(fd_); }

Endpoint UdpSocket::LocalOf(msghdr& msg) const {
  Endpoint local = bound_;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      local.ip = IpAddress{};
      std::memcpy(local.ip.bytes.data(), &pi.ipi_addr, 4);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      local.ip = IpAddress{};
      local.ip.v6 = true;
      std::memcpy(local.ip.bytes.data(), &pi.ipi6_addr, 16);
    }
  }
  return local;
}

UdpSocket::RecvStatus UdpSocket::ReceiveBatch(std::vector<Received>& out) {
  out.clear();
  // Default-initialised: the 2 MiB of slots are not written here, so pages the kernel never
  // fills are never touched.
  if (!rx_) rx_.reset(new RxBuffers);
  RxBuffers& b = *rx_;
  for (size_t i = 0; i < kBatch; ++i) {
    b.iov[i] = iovec{b.data[i], kSlot};
    msghdr& m = b.msgs[i].msg_hdr;
    m = msghdr{};
    m.msg_name = &b.from[i];
    m.msg_namelen = sizeof b.from[i];
    m.msg_iov = &b.iov[i];
    m.msg_iovlen = 1;
    m.msg_control = b.control[i];
    m.msg_controllen = sizeof b.control[i];
    b.msgs[i].msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(fd_, b.msgs, kBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return errno == EAGAIN || errno == EWOULDBLOCK ? RecvStatus::kWouldBlock : RecvStatus::kError;
  }
  for (int i = 0; i < n; ++i) {
    msghdr& m = b.msgs[i].msg_hdr;
    Received r;
    if (!FromSockaddr(b.from[i], r.remote)) continue;
    r.local = LocalOf(m);
    r.truncated = (m.msg_flags & MSG_TRUNC) != 0;
    r.data = ByteSpan(b.data[i], std::min<size_t>(b.msgs[i].msg_len, kSlot));
    out.push_back(r);
  }
  return n == 0 ? RecvStatus::kWouldBlock : RecvStatus::kOk;
}

void UdpSocket::QueueSend(const Endpoint& local, const Endpoint& remote, ByteSpan data) {
  tx_.push_back(TxEntry{local, remote, tx_data_.size(), data.size()});
  tx_data_.insert(tx_data_.end(), data.begin(), data.end());
}

void UdpSocket::FlushSends(const SendFailure& on_fail) {
  constexpr size_t kChunk = 64;
  struct Slot {
    sockaddr_storage to;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))];
    iovec iov;
  };
  Slot slots[kChunk];
  mmsghdr msgs[kChunk];
  size_t done = 0;
  while (done < tx_.size()) {
    const size_t count = std::min(kChunk, tx_.size() - done);
    for (size_t i = 0; i < count; ++i) {
      const TxEntry& e = tx_[done + i];
      msgs[i] = mmsghdr{};
      slots[i].iov = iovec{tx_data_.data() + e.offset, e.length};
      msgs[i].msg_hdr.msg_iov = &slots[i].iov;
      msgs[i].msg_hdr.msg_iovlen = 1;
      PrepareSend(e.local, e.remote, slots[i].to, slots[i].control, msgs[i].msg_hdr);
    }
    // Each pass sends at least one datagram or reports the first as failed: bounded.
    size_t i = 0;
    while (i < count) {
      const int n = sendmmsg(fd_, msgs + i, static_cast<unsigned>(count - i), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const TxEntry& e = tx_[done + i];
        if (on_fail) on_fail(e.local, e.remote, n < 0 ? errno : EIO);
        ++i;
        continue;
      }
      for (int k = 0; k < n; ++k) {  // a short datagram send (never on UDP) is a failure
        const TxEntry& e = tx_[done + i + k];
        if (msgs[i + k].msg_len != e.length && on_fail) on_fail(e.local, e.remote, EMSGSIZE);
      }
      i += static_cast<size_t>(n);
    }
    done += count;
  }
  tx_.clear();
  tx_data_.clear();  // capacity kept
}


UdpSocket::RecvStatus UdpSocket::Receive(Bytes& buf, Endpoint& local, Endpoint& remote) {
  buf.resize(65536);
  sockaddr_storage from;
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char control[256];
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    buf.clear();
    return errno == EAGAIN || errno == EWOULDBLOCK ? RecvStatus::kWouldBlock : RecvStatus::kError;
  }
  buf.resize(static_cast<size_t>(n));
  if (!FromSockaddr(from, remote)) return RecvStatus::kError;
  local = LocalOf(msg);
  return RecvStatus::kOk;
}

void UdpSocket::PrepareSend(const Endpoint& local, const Endpoint& remote, sockaddr_storage& to,
                            char* control, msghdr& msg) const {
  msg.msg_name = &to;
  msg.msg_namelen = ToSockaddr(remote, to);
  msg.msg_control = nullptr;
  msg.msg_controllen = 0;
  if (!(wildcard_ && !IsZero(local.ip) && local.ip.v6 == bound_.ip.v6)) return;
  std::memset(control, 0, CMSG_SPACE(sizeof(in6_pktinfo)));
  msg.msg_control = control;
  cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
  if (local.ip.v6) {
    msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo pi{};
    std::memcpy(&pi.ipi6_addr, local.ip.bytes.data(), 16);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else {
    msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    std::memcpy(&pi.ipi_spec_dst, local.ip.bytes.data(), 4);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
}

bool UdpSocket::Send(const Endpoint& local, const Endpoint& remote, ByteSpan data) {
  sockaddr_storage to;
  iovec iov{const_cast<uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  PrepareSend(local, remote, to, control, msg);
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(data.size());
}

}  // namespace ikepulse::daemon
