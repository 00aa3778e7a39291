// RawEspSocket: ESP directly over IP (protocol 50) for SAs without UDP encapsulation, on a
// SOCK_RAW IPPROTO_ESP socket of one family, AF_INET or AF_INET6 (needs CAP_NET_RAW); a user
// of both families opens one socket of each. IPv4: received packets carry the IPv4 header,
// which Receive strips (returning its source and destination addresses). IPv6: the kernel
// delivers only the payload after the IPv6 header (and any extension headers), so Receive
// uses recvmsg: the source from msg_name, the destination from IPV6_PKTINFO. Sends go
// without a header (no IP_HDRINCL: the kernel builds it). Works here because the kernel has
// no ESP protocol handler (CONFIG_INET_ESP / CONFIG_INET6_ESP unset) that would consume the
// packets first: with an ESP/XFRM module loaded and an XFRM state for the SPI, the kernel
// would take them. Owns its fd. Move-only.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/result.h"
#include "dataplane/tun.h"

namespace ikepulse::dataplane {

class RawEspSocket {
 public:
  // Non-blocking; of IPv6 when `v6`, else IPv4; bound to `local` (any address if unset),
  // which must then be of the same family (EAFNOSUPPORT otherwise).
  static Result<RawEspSocket, IoError> Open(bool v6, const std::optional<IpAddress>& local);
  // The family of `local` (IPv4 when unset).
  static Result<RawEspSocket, IoError> Open(const std::optional<IpAddress>& local) {
    return Open(local && local->v6, local);
  }
  RawEspSocket(RawEspSocket&& o) noexcept : fd_(o.fd_), v6_(o.v6_) { o.fd_ = -1; }
  RawEspSocket(const RawEspSocket&) = delete;
  RawEspSocket& operator=(const RawEspSocket&) = delete;
  ~RawEspSocket();

  int fd() const { return fd_; }
  bool v6() const { return v6_; }

  struct Received {
    IpAddress src, dst;
    ByteSpan esp;  // a view into the caller's buffer: the ESP header onwards
  };
  // One packet into buf. nullopt when nothing is pending or the packet is not a plausible
  // ESP packet (IPv4: too short, bad IHL; IPv6: no source address or no IPV6_PKTINFO).
  Result<std::optional<Received>, IoError> Receive(std::span<uint8_t> buf);
  // EAFNOSUPPORT when dst is not of the socket's family.
  Result<void, IoError> Send(const IpAddress& dst, ByteSpan esp);

 private:
  RawEspSocket(int fd, bool v6) : fd_(fd), v6_(v6) {}
  int fd_ = -1;
  bool v6_ = false;
};

// Strips an IPv4 header from a raw-socket packet: pure, for tests and fuzzing.
std::optional<RawEspSocket::Received> ParseRawIpv4Esp(ByteSpan packet);

// What recvmsg returned on an AF_INET6 raw socket with IPV6_RECVPKTINFO: the source from
// msg.msg_name (a sockaddr_in6 of msg.msg_namelen bytes), the destination from the
// IPV6_PKTINFO control message in msg.msg_control/msg_controllen; `esp` is the payload
// (returned as Received::esp). nullopt without a sockaddr_in6 source or without
// IPV6_PKTINFO (e.g. MSG_CTRUNC). Pure (reads only msg's buffers), for tests and fuzzing.
std::optional<RawEspSocket::Received> ParseRawIpv6Esp(const msghdr& msg, ByteSpan esp);

}  // namespace ikepulse::dataplane
