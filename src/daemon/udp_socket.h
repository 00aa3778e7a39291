// UdpSocket: one non-blocking UDP socket for IKE (port 500) or NAT-T IKE (port 4500), IPv4 or
// IPv6. It learns the local (destination) address of each datagram with IP_PKTINFO /
// IPV6_RECVPKTINFO and, when bound to the wildcard address, sends from the address the engine
// chose (Datagram.local) with the same control message, so replies leave from the address the
// peer talked to. IPv6 sockets are IPV6_V6ONLY, so a v4 and a v6 socket share a port.
//
// No kernel ESP here: the 4500 socket is a plain UDP socket carrying IKE with the non-ESP
// marker (RFC 3948); ESP-in-UDP belongs to the later userspace data plane.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/result.h"

namespace ikepulse::daemon {

class UdpSocket {
 public:
  // Binds to `bind` (a specific address or the wildcard 0.0.0.0 / ::).
  static Result<std::unique_ptr<UdpSocket>, std::string> Open(const Endpoint& bind);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  const Endpoint& bound() const { return bound_; }
  bool wildcard() const { return wildcard_; }

  enum class RecvStatus : uint8_t { kOk, kWouldBlock, kError };
  // Receives one datagram into `buf` (resized to the payload). `local` is the address the
  // datagram was sent to (with the socket's port); `remote` the sender.
  RecvStatus Receive(Bytes& buf, Endpoint& local, Endpoint& remote);
  // Sends `data` to `remote` from `local.ip` (used only on a wildcard socket; an unset address
  // lets the kernel choose). false (errno set) on failure; EAGAIN counts as a failure (UDP:
  // the retransmission logic of the engine covers a dropped send).
  bool Send(const Endpoint& local, const Endpoint& remote, ByteSpan data);

 private:
  UdpSocket(int fd, Endpoint bound, bool wildcard) : fd_(fd), bound_(bound), wildcard_(wildcard) {}
  int fd_;
  Endpoint bound_;
  bool wildcard_;
};

}  // namespace ikepulse::daemon
