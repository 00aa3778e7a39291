// UdpSocket: one non-blocking UDP socket for IKE (port 500) or NAT-T IKE (port 4500), IPv4 or
// IPv6. It learns the local (destination) address of each datagram with IP_PKTINFO /
// IPV6_RECVPKTINFO and, when bound to the wildcard address, sends from the address the engine
// chose (Datagram.local) with the same control message, so replies leave from the address the
// peer talked to. IPv6 sockets are IPV6_V6ONLY, so a v4 and a v6 socket share a port.
//
// No kernel ESP here: the 4500 socket is a plain UDP socket carrying IKE with the non-ESP
// marker (RFC 3948); ESP-in-UDP belongs to the later userspace data plane.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

  // Batched receive, the daemon's path: up to kBatch datagrams with one recvmmsg(2), into
  // buffers the socket owns (kSlot bytes each, allocated once, never cleared), so that no
  // datagram costs an allocation or a buffer fill. The views in `out` stay valid until the
  // next call. A datagram longer than a slot comes back with `truncated` set (drop it).
  static constexpr size_t kBatch = 32;
  static constexpr size_t kSlot = 65536;
  struct Received {
    Endpoint local;
    Endpoint remote;
    ByteSpan data;
    bool truncated = false;
  };
  RecvStatus ReceiveBatch(std::vector<Received>& out);

  // Batched send: QueueSend copies the datagram into the socket's queue (buffers reused:
  // no allocation once warm); FlushSends sends the whole queue, in order, with sendmmsg(2)
  // and calls on_fail(local, remote, errno) for each datagram that could not be sent.
  void QueueSend(const Endpoint& local, const Endpoint& remote, ByteSpan data);
  size_t pending_sends() const { return tx_.size(); }
  using SendFailure = std::function<void(const Endpoint& local, const Endpoint& remote, int err)>;
  void FlushSends(const SendFailure& on_fail);

 private:
  struct RxBuffers;
  struct TxEntry {
    Endpoint local, remote;
    size_t offset = 0, length = 0;  // in tx_data_
  };

  UdpSocket(int fd, Endpoint bound, bool wildcard);
  // Fills `msg`'s name and, on a wildcard socket with a source address chosen, its IP_PKTINFO
  // control message (`control` must hold CMSG_SPACE(sizeof(in6_pktinfo)) bytes).
  void PrepareSend(const Endpoint& local, const Endpoint& remote, sockaddr_storage& to,
                   char* control, msghdr& msg) const;
  // The address a received datagram was sent to, from its IP_PKTINFO / IPV6_PKTINFO.
  Endpoint LocalOf(msghdr& msg) const;

  int fd_;
  Endpoint bound_;
  bool wildcard_;
  std::unique_ptr<RxBuffers> rx_;
  std::vector<TxEntry> tx_;
  Bytes tx_data_;
};

}  // namespace ikepulse::daemon
