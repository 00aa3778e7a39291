// TUN device and rtnetlink configuration.
#include "dataplane/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace ikepulse::dataplane {
namespace {

Unexpected<IoError> Fail(int err, const char* what) {
  return MakeUnexpected(IoError{err, what});
}

// A netlink request buffer: header + body + attributes.
class NlRequest {
 public:
  NlRequest(uint16_t type, uint16_t flags) {
    auto* h = Header();
    h->nlmsg_len = NLMSG_LENGTH(0);
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    h->nlmsg_seq = 1;
  }
  template <typename T>
  T* Body() {
    auto* h = Header();
    T* body = reinterpret_cast<T*>(NLMSG_DATA(h));
    h->nlmsg_len = NLMSG_LENGTH(sizeof(T));
    return body;
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    auto* h = Header();
    const size_t at = NLMSG_ALIGN(h->nlmsg_len);
    auto* rta = reinterpret_cast<rtattr*>(buf_ + at);
    rta->rta_type = type;
    rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(rta), data, len);
    h->nlmsg_len = static_cast<uint32_t>(at + RTA_ALIGN(rta->rta_len));
  }
  nlmsghdr* Header() { return reinterpret_cast<nlmsghdr*>(buf_); }

 private:
  alignas(nlmsghdr) uint8_t buf_[512] = {};
};

// Sends one request and waits for its ACK (bounded: one blocking socket, 2 s receive timeout).
Result<void, IoError> NlTalk(NlRequest& req) {
  const int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return Fail(errno, "netlink socket");
  timeval tv{2, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  nlmsghdr* h = req.Header();
  if (sendto(s, h, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    const int e = errno;
    close(s);
    return Fail(e, "netlink send");
  }
  alignas(nlmsghdr) uint8_t buf[4096];
  for (int tries = 0; tries < 8; ++tries) {
    const ssize_t n = recv(s, buf, sizeof(buf), 0);
    if (n < 0) {
      const int e = errno;
      close(s);
      return Fail(e, "netlink receive");
    }
    const size_t len = static_cast<size_t>(n);
    for (size_t off = 0; off + sizeof(nlmsghdr) <= len;) {
      const auto* r = reinterpret_cast<const nlmsghdr*>(buf + off);
      if (r->nlmsg_len < sizeof(nlmsghdr) || r->nlmsg_len > len - off) break;
      if (r->nlmsg_type == NLMSG_ERROR && r->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
        const auto* err = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(r));
        close(s);
        if (err->error != 0) return Fail(-err->error, "netlink request refused");
        return {};
      }
      off += NLMSG_ALIGN(r->nlmsg_len);
    }
  }
  close(s);
  return Fail(ETIMEDOUT, "netlink: no acknowledgement");
}

}  // namespace

std::string IoError::ToString() const {
  return std::string(what) + ": " + std::strerror(err);
}

Result<TunDevice, IoError> TunDevice::Open(const std::string& name) {
  if (name.size() >= IFNAMSIZ) return Fail(ENAMETOOLONG, "TUN device name");
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Fail(errno, "open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int e = errno;
    close(fd);
    return Fail(e, "TUNSETIFF");
  }
  std::string actual(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  const int index = static_cast<int>(if_nametoindex(actual.c_str()));
  if (index == 0) {
    const int e = errno;
    close(fd);
    return Fail(e, "if_nametoindex");
  }
  return TunDevice(fd, index, std::move(actual));
}

TunDevice& TunDevice::operator=(TunDevice&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    ifindex_ = o.ifindex_;
    name_ = std::move(o.name_);
    o.fd_ = -1;
  }
  return *this;
}

TunDevice::~TunDevice() {
  if (fd_ >= 0) close(fd_);
}

Result<void, IoError> TunDevice::SetUp(uint32_t mtu) {
  NlRequest req(RTM_NEWLINK, 0);
  auto* ifi = req.Body<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex_;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  req.Attr(IFLA_MTU, &mtu, sizeof(mtu));
  return NlTalk(req);
}

namespace {
// `net/prefix_len dev <ifindex>` in the main table, as an RTM_NEWROUTE or RTM_DELROUTE.
NlRequest RouteRequest(uint16_t type, uint16_t flags, const IpAddress& net, uint8_t prefix_len,
                       int ifindex) {
  NlRequest req(type, flags);
  auto* rt = req.Body<rtmsg>();
  rt->rtm_family = net.v6 ? AF_INET6 : AF_INET;
  rt->rtm_dst_len = prefix_len;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = RT_SCOPE_LINK;
  rt->rtm_type = RTN_UNICAST;
  req.Attr(RTA_DST, net.bytes.data(), net.v6 ? 16 : 4);
  const uint32_t oif = static_cast<uint32_t>(ifindex);
  req.Attr(RTA_OIF, &oif, sizeof(oif));
  return req;
}
}  // namespace

Result<void, IoError> TunDevice::AddRoute(const IpAddress& net, uint8_t prefix_len) {
  NlRequest req = RouteRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, net, prefix_len, ifindex_);
  return NlTalk(req);
}

Result<void, IoError> TunDevice::DelRoute(const IpAddress& net, uint8_t prefix_len) {
  NlRequest req = RouteRequest(RTM_DELROUTE, 0, net, prefix_len, ifindex_);
  auto r = NlTalk(req);
  if (!r.has_value() && r.error().err == ESRCH) return {};
  return r;
}

Result<size_t, IoError> TunDevice::Read(std::span<uint8_t> buf) {
  const ssize_t n = read(fd_, buf.data(), buf.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return size_t{0};
    return Fail(errno, "TUN read");
  }
  return static_cast<size_t>(n);
}

Result<void, IoError> TunDevice::Write(ByteSpan packet) {
  const ssize_t n = write(fd_, packet.data(), packet.size());
  if (n < 0) return Fail(errno, "TUN write");
  return {};
}

}  // namespace ikepulse::dataplane
