// RawEspSocket: ESP directly over IP (protocol 50) for SAs without UDP encapsulation, on an
// AF_INET SOCK_RAW IPPROTO_ESP socket (needs CAP_NET_RAW). Received packets carry the IPv4
// header, which Receive strips (returning the source and destination addresses); sends go
// without IP_HDRINCL (the kernel builds the header). Works here because the kernel has no
// ESP protocol handler (CONFIG_INET_ESP unset) that would consume the packets first: with
// an ESP/XFRM module loaded and an XFRM state for the SPI, the kernel would take them.
// IPv4 only. Owns its fd. Move-only.
#pragma once

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
  // Non-blocking; bound to `local` (any address if unset).
  static Result<RawEspSocket, IoError> Open(const std::optional<IpAddress>& local);
  RawEspSocket(RawEspSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RawEspSocket(const RawEspSocket&) = delete;
  RawEspSocket& operator=(const RawEspSocket&) = delete;
  ~RawEspSocket();

  int fd() const { return fd_; }

  struct Received {
    IpAddress src, dst;
    ByteSpan esp;  // a view into the caller's buffer, after the IPv4 header
  };
  // One packet into buf. nullopt when nothing is pending or the packet is not a plausible
  // IPv4/ESP packet (too short, bad IHL).
  Result<std::optional<Received>, IoError> Receive(std::span<uint8_t> buf);
  Result<void, IoError> Send(const IpAddress& dst, ByteSpan esp);

 private:
  explicit RawEspSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Strips an IPv4 header from a raw-socket packet: pure, for tests and fuzzing.
std::optional<RawEspSocket::Received> ParseRawIpv4Esp(ByteSpan packet);

}  // namespace ikepulse::dataplane
