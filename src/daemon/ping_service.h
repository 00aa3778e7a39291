// PingService: the daemon's side of `ping` (cli::Backend's ping operations) over a
// dataplane::Pinger. It picks the source address when none is given and converts the
// Pinger's status for the CLI; the daemon injects the echoes it returns into the data plane
// as if read from the TUN device, offers it every decrypted inbound packet before the TUN
// (OnPacket), and runs OnTimer at NextDeadline(). No I/O, no clock of its own.
//
// Default source, when `source` is not given: the address of the first interface whose
// address and the target are classified into a crypto map entry of the map applied to that
// interface (the echo then goes through that tunnel); else the first interface with a crypto
// map applied (IOS uses the outgoing interface's address); else the first interface with an
// IPv4 address. Interfaces that are shut down are skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "common/bytes.h"
#include "common/random.h"
#include "common/result.h"
#include "common/time.h"
#include "config/config.h"
#include "dataplane/pinger.h"
#include "dataplane/policy.h"

namespace ikepulse::daemon {

class PingService {
 public:
  // The crypto map entry the data plane classifies an ICMP packet src -> dst into.
  using Classify =
      std::function<std::optional<dataplane::EntryKey>(const IpAddress& src, const IpAddress& dst)>;

  explicit PingService(Random& rng) : pinger_(rng) {}

  // Starts a ping; its first echo is appended to `send`. The error is the CLI's text.
  Result<uint64_t, std::string> Start(TimePoint now, const cli::PingRequest& request,
                                      const config::Config& cfg, const Classify& classify,
                                      std::vector<Bytes>& send);
  std::optional<cli::PingStatus> Progress(uint64_t handle) const;
  void Stop(uint64_t handle) { pinger_.Stop(handle); }

  bool OnPacket(TimePoint now, ByteSpan packet, std::vector<Bytes>& send) {
    return pinger_.OnPacket(now, packet, send);
  }
  void OnTimer(TimePoint now, std::vector<Bytes>& send) { pinger_.OnTimer(now, send); }
  TimePoint NextDeadline() const { return pinger_.NextDeadline(); }
  uint64_t changes() const { return pinger_.changes(); }

  static std::optional<IpAddress> DefaultSource(const config::Config& cfg, const IpAddress& target,
                                                const Classify& classify);

 private:
  dataplane::Pinger pinger_;
};

}  // namespace ikepulse::daemon
