// Pinger: the `ping` command's echoes, sans-IO. The host injects the echo requests it returns
// into the outbound data path as if read from the TUN device (so they are classified by the
// crypto map ACLs, may bring a tunnel up, and are encrypted), offers every decrypted inbound
// packet to OnPacket before writing it to the TUN (echo replies to an active ping are
// consumed), and calls OnTimer at NextDeadline(). Never reads a clock, never blocks.
//
// Each ping sends `repeat` IPv4 ICMP echo requests one after the other: the next one when the
// previous is answered ('!') or after kEchoTimeout without an answer ('.'), as IOS does. Its
// echoes carry an ICMP identifier no other active ping uses, and sequence numbers 0, 1, ...;
// a reply counts when it comes from the target with that identifier and the sequence number
// of the echo outstanding. Late replies to earlier echoes of a ping still held (running or
// finished) are consumed and not counted.
//
// Bounded: at most kMaxPings pings held (a new one evicts the finished ping that ended first;
// with kMaxPings running, Start refuses); repeat is capped at kMaxRepeat (so one ping
// lasts at most kMaxRepeat x kEchoTimeout); a finished ping's result is kept until Stop or
// for kKeepFinished, whichever comes first. Single-threaded; `rng` must outlive the Pinger.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"

namespace ikepulse::dataplane {

class Pinger {
 public:
  static constexpr size_t kMaxPings = 16;
  static constexpr uint32_t kMaxRepeat = 1000;
  static constexpr uint32_t kMinSize = 36;     // IOS's datagram size range
  static constexpr uint32_t kMaxSize = 18024;
  static constexpr Duration kEchoTimeout = Seconds(2);
  static constexpr Duration kKeepFinished = Seconds(60);

  struct Params {
    IpAddress src;  // IPv4
    IpAddress dst;  // IPv4
    uint32_t repeat = 5;
    uint32_t size = 100;  // the IPv4 datagram
  };
  struct Status {
    Params params;             // repeat and size as used (capped / clamped)
    std::string marks;         // one per echo resolved, in order: '!' answered, '.' timed out
    std::vector<Duration> rtts;  // round-trip times of the answered echoes
    bool done = false;
  };

  explicit Pinger(Random& rng);
  Pinger(const Pinger&) = delete;
  Pinger& operator=(const Pinger&) = delete;

  // Starts a ping and appends its first echo to `send`. nullopt: kMaxPings pings are active,
  // or an address is not IPv4.
  std::optional<uint64_t> Start(TimePoint now, const Params& params, std::vector<Bytes>& send);
  // True when `packet` (a decrypted inbound IP packet) is an echo reply to an active ping and
  // was consumed; the ping's next echo, if any, is appended to `send`.
  bool OnPacket(TimePoint now, ByteSpan packet, std::vector<Bytes>& send);
  // Times out the echoes whose deadline has passed (sending the next ones) and forgets
  // finished pings kept longer than kKeepFinished.
  void OnTimer(TimePoint now, std::vector<Bytes>& send);
  TimePoint NextDeadline() const;

  // nullptr for an unknown (stopped, forgotten) handle.
  const Status* Find(uint64_t handle) const;
  // Ends the ping (if running) and forgets it.
  void Stop(uint64_t handle);

  size_t size() const { return pings_.size(); }
  // Incremented whenever some ping's status changes (a mark, the end).
  uint64_t changes() const { return changes_; }

 private:
  struct Ping {
    uint16_t ident = 0;
    uint32_t sent = 0;           // echoes sent so far; the outstanding one is sent - 1
    TimePoint sent_at = kNever;  // when the outstanding echo left
    TimePoint finished_at = kNever;
    Status status;
  };
  void SendNext(Ping& p, TimePoint now, std::vector<Bytes>& send);
  // Records the outstanding echo's outcome and sends the next one (or finishes).
  void Resolve(Ping& p, TimePoint now, char mark, std::vector<Bytes>& send);
  bool IdentInUse(uint16_t ident) const;

  Random& rng_;  // Not owned.
  std::map<uint64_t, Ping> pings_;
  uint64_t next_handle_ = 1;
  uint16_t ip_id_ = 0;
  uint64_t changes_ = 0;
};

}  // namespace ikepulse::dataplane
