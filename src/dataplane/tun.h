// TunDevice: a Linux TUN interface (IFF_TUN | IFF_NO_PI, non-blocking) for the data plane,
// configured through rtnetlink (no `ip` subprocess): link up with an MTU, routes for the
// remote protected networks via the device. Needs CAP_NET_ADMIN. Owns its fd (closed in the
// destructor; the kernel deletes a non-persistent TUN device with it). Move-only.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/result.h"

namespace ikepulse::dataplane {

struct IoError {
  int err = 0;              // errno (or the netlink error, positive)
  const char* what = "";    // fixed text: which step failed
  std::string ToString() const;
};

class TunDevice {
 public:
  // Creates (or attaches to) TUN device `name` ("" = kernel picks tunN).
  static Result<TunDevice, IoError> Open(const std::string& name);
  TunDevice(TunDevice&& o) noexcept : fd_(o.fd_), ifindex_(o.ifindex_), name_(std::move(o.name_)) {
    o.fd_ = -1;
  }
  TunDevice& operator=(TunDevice&& o) noexcept;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  ~TunDevice();

  int fd() const { return fd_; }
  int ifindex() const { return ifindex_; }
  const std::string& name() const { return name_; }

  // RTM_NEWLINK: IFF_UP and IFLA_MTU.
  Result<void, IoError> SetUp(uint32_t mtu);
  // RTM_NEWROUTE: `net/prefix_len dev <this>` in the main table (NLM_F_REPLACE).
  Result<void, IoError> AddRoute(const IpAddress& net, uint8_t prefix_len);
  // RTM_DELROUTE of that route (ESRCH, already gone, is success).
  Result<void, IoError> DelRoute(const IpAddress& net, uint8_t prefix_len);

  // One packet. Read returns 0 bytes when nothing is pending (EAGAIN).
  Result<size_t, IoError> Read(std::span<uint8_t> buf);
  Result<void, IoError> Write(ByteSpan packet);

 private:
  TunDevice(int fd, int ifindex, std::string name)
      : fd_(fd), ifindex_(ifindex), name_(std::move(name)) {}
  int fd_ = -1;
  int ifindex_ = 0;
  std::string name_;
};

}  // namespace ikepulse::dataplane
