// libFuzzer target for the whole engine: arbitrary datagrams into an ike::Node in each state.
//
// Each input builds two Nodes in code (SeededRandom, fixed configs, ECP-256 so that a run is
// cheap), A initiating toward B. The first input byte picks the target node (A or B), whether
// DPD is configured, and how many handshake datagrams are delivered first (0: nothing yet,
// 1..8: in the middle of Main Mode / Quick Mode, 9+: established). The rest of the input is
// a list of operations, each an opcode byte followed by its arguments:
//
//   0  raw datagram: u8 port selector, u16 length, bytes   -> target (port 500 or 4500)
//   1  replay a recorded datagram with one byte XORed: u8 index, u8 offset, u8 xor
//   2  a datagram with a real header: u8 index (cookies from that recorded datagram),
//      u8 exchange, u8 flags, u32 M-ID, u8 next payload, u16 length, body bytes -> target
//   3  advance virtual time by u8 x 100 ms, then run both nodes' timeouts
//   4  deliver the next datagram in flight between the nodes (the real exchange goes on)
//   5  an operation on the target: Initiate, Clear, traffic, config change (u8 selector)
//
// Datagrams the nodes send go into the in-flight queue (op 4 delivers them). Invariants
// (FUZZ_CHECK): no crash or sanitizer report; every host call leaves NextDeadline() in the
// future after OnTimeout ran (no livelock); counters stay consistent.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "fuzz_check.h"
#include "ike/node.h"
#include "scenarios/site_config.h"

using namespace ikepulse;

namespace {

using scenario::Ip;

const IpAddress kIpA = Ip("192.0.2.1");
const IpAddress kIpB = Ip("192.0.2.2");

// Sites A and B of tests/scenarios (the shared builder), made cheap and short-lived:
// SHA-256 / ECP-256, a 600 s ISAKMP lifetime, optional DPD and PFS.
config::Config NodeConfig(bool is_a, bool dpd, bool pfs, uint32_t ipsec_life) {
  scenario::SiteSpec s = is_a ? scenario::SiteA() : scenario::SiteB();
  s.hash = config::Hash::kSha256;
  s.group = 19;
  s.isakmp_lifetime_s = 600;
  s.psk = "fuzz-key";
  if (dpd) s.keepalive = scenario::Keepalive(10, 2, true);
  if (pfs) s.pfs = 19;
  s.ipsec_lifetime_s = ipsec_life;
  return scenario::MakeConfig(s);
}

// Reads the fuzz input front to back; past the end every read yields zeros.
class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool empty() const { return pos_ >= n_; }
  uint8_t U8() { return pos_ < n_ ? d_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() << 8 | U8()); }
  uint32_t U32() { return uint32_t{U16()} << 16 | U16(); }
  Bytes Take(size_t n) {
    n = std::min(n, n_ - std::min(pos_, n_));
    Bytes b(d_ + pos_, d_ + pos_ + n);
    pos_ += n;
    return b;
  }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
};

class World {
 public:
  World(bool dpd, bool pfs, uint32_t ipsec_life)
      : cfg_a_(NodeConfig(true, dpd, pfs, ipsec_life)),
        cfg_b_(NodeConfig(false, dpd, pfs, ipsec_life)) {
    ike::Outbox out;
    a_.SetConfig(cfg_a_, now_, out);
    Route(out);
    b_.SetConfig(cfg_b_, now_, out);
    Route(out);
    a_.Initiate(now_, "green", 1, out);
    Route(out);
  }

  ike::Node& node(bool is_a) { return is_a ? a_ : b_; }
  const IpAddress& ip(bool is_a) const { return is_a ? kIpA : kIpB; }
  const std::vector<ike::Datagram>& transcript() const { return transcript_; }

  // Delivers the oldest datagram in flight, 5 ms later. False when nothing is in flight.
  bool DeliverNext() {
    if (in_flight_.empty()) return false;
    ike::Datagram d = std::move(in_flight_.front());
    in_flight_.pop_front();
    Advance(Millis(5));
    Deliver(d.remote.ip == kIpA, d.remote, d.local, d.data);
    return true;
  }

  void Deliver(bool to_a, const Endpoint& local, const Endpoint& remote, ByteSpan data) {
    ike::Outbox out;
    ike::Node& n = node(to_a);
    const uint64_t rx = n.counters().rx_datagrams;
    n.OnDatagram(now_, local, remote, data, out);
    FUZZ_CHECK(n.counters().rx_datagrams == rx + 1);
    Route(out);
    RunTimers();
  }

  // Moves time forward, running every timeout that falls due on the way, in order.
  void Advance(Duration d) {
    const TimePoint end = now_ + d;
    for (int guard = 0; guard < 100000; ++guard) {
      const TimePoint next = std::min(a_.NextDeadline(), b_.NextDeadline());
      if (next > end) break;
      now_ = std::max(now_, next);
      RunTimers();
    }
    now_ = end;
    RunTimers();
  }

  // Runs each node's OnTimeout while its deadline has passed. A node that keeps asking for a
  // timeout at `now` after being served is a livelock in the engine.
  void RunTimers() {
    for (bool is_a : {true, false}) {
      ike::Node& n = node(is_a);
      int calls = 0;
      while (n.NextDeadline() <= now_) {
        FUZZ_CHECK(++calls < 1000);
        ike::Outbox out;
        n.OnTimeout(now_, out);
        Route(out);
      }
    }
  }

  void Operation(bool is_a, uint8_t sel) {
    ike::Outbox out;
    ike::Node& n = node(is_a);
    switch (sel % 7) {
      case 0: n.Initiate(now_, "green", 1, out); break;
      case 1: n.Clear(now_, ike::ClearFilter{}, out); break;
      case 2: {
        ike::ClearFilter f;
        f.ipsec_only = true;
        n.Clear(now_, f, out);
        break;
      }
      case 3: n.OnOutboundTraffic(now_, "green", 1, out); break;
      case 4:
        for (const auto& ch : n.ChildSas(now_)) n.OnChildTraffic(now_, ch.spi_in, true, 100, out);
        break;
      case 5: {
        config::Config c = is_a ? cfg_a_ : cfg_b_;
        c.keepalive.enabled = !c.keepalive.enabled;
        c.keepalive.interval_s = 10;
        c.keepalive.retry_s = 2;
        n.SetConfig(c, now_, out);
        break;
      }
      case 6: {
        config::Config c = is_a ? cfg_a_ : cfg_b_;
        c.crypto_maps.clear();
        n.SetConfig(c, now_, out);
        n.SetConfig(is_a ? cfg_a_ : cfg_b_, now_, out);
        break;
      }
    }
    Route(out);
    RunTimers();
  }

  void CheckInvariants() {
    for (bool is_a : {true, false}) {
      const ike::Node& n = node(is_a);
      const ike::NodeCounters& c = n.counters();
      FUZZ_CHECK(c.dropped <= c.rx_datagrams);
      FUZZ_CHECK(c.dropped == c.dropped_malformed + c.dropped_unknown_sa + c.dropped_auth +
                                  c.dropped_state + c.dropped_rate_limited);
      FUZZ_CHECK(n.NextDeadline() > now_);
      // Snapshots must be safe to take in any state.
      auto sas = n.IsakmpSas(now_);
      FUZZ_CHECK(sas.size() == n.ike_sa_count());
      auto children = n.ChildSas(now_);
      for (const auto& ch : children) FUZZ_CHECK(ch.spi_in != 0);
      (void)n.Entries();
    }
  }

 private:
  void Route(ike::Outbox& out) {
    for (auto& d : out.datagrams) {
      transcript_.push_back(d);
      if (d.remote.ip == kIpA || d.remote.ip == kIpB) in_flight_.push_back(std::move(d));
    }
    out.Clear();
  }

  config::Config cfg_a_, cfg_b_;
  SeededRandom rng_a_{11}, rng_b_{22};
  ike::Node a_{rng_a_}, b_{rng_b_};
  TimePoint now_ = TimePoint(Seconds(1000));
  std::deque<ike::Datagram> in_flight_;
  std::vector<ike::Datagram> transcript_;
};

}  // namespace

// One input runs the whole engine (tens of thousands of coverage features), and libFuzzer's
// entropic scheduler then spends several times longer on feature bookkeeping than on the
// input itself (4 exec/s against 24 without it, ASan+UBSan Debug). Default it off here;
// an explicit -entropic=1 on the command line still wins (the last flag counts).
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  static std::vector<char*> args;
  args.assign(*argv, *argv + *argc);
  static char kNoEntropic[] = "-entropic=0";
  args.insert(args.begin() + 1, kNoEntropic);
  args.push_back(nullptr);
  *argc += 1;
  *argv = args.data();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t setup = in.U8();
  const bool target_a = setup & 1;
  const bool dpd = setup & 2;
  const bool pfs = setup & 4;
  const int handshake = (setup >> 3) % 12;  // datagrams delivered before the fuzz ops
  const uint32_t ipsec_life = (setup & 0x80) ? 120 : 3600;
  World w(dpd, pfs, ipsec_life);
  for (int i = 0; i < handshake; ++i)
    if (!w.DeliverNext()) break;

  const Endpoint target{w.ip(target_a), 500};
  const Endpoint peer{w.ip(!target_a), 500};
  for (int ops = 0; !in.empty() && ops < 64; ++ops) {
    switch (in.U8() % 6) {
      case 0: {
        const uint8_t sel = in.U8();
        const uint16_t len = in.U16() % 2048;
        Bytes b = in.Take(len);
        Endpoint local = target, remote = peer;
        if (sel & 1) local.port = remote.port = 4500;
        w.Deliver(target_a, local, remote, b);
        break;
      }
      case 1: {
        const auto& t = w.transcript();
        const uint8_t idx = in.U8(), off = in.U8(), x = in.U8();
        if (t.empty()) break;
        ike::Datagram d = t[idx % t.size()];
        if (!d.data.empty()) d.data[off % d.data.size()] ^= x;
        w.Deliver(d.remote.ip == kIpA, d.remote, d.local, d.data);
        break;
      }
      case 2: {
        const auto& t = w.transcript();
        const uint8_t idx = in.U8();
        Bytes m(28, 0);
        if (!t.empty()) {
          const Bytes& src = t[idx % t.size()].data;
          const size_t skip = src.size() >= 4 && !src[0] && !src[1] && !src[2] && !src[3] &&
                                      src.size() >= 32
                                  ? 4
                                  : 0;
          if (src.size() >= skip + 16) std::copy(src.begin() + skip, src.begin() + skip + 16, m.begin());
        }
        m[18] = in.U8();  // exchange
        m[19] = in.U8();  // flags
        const uint32_t mid = in.U32();
        m[16] = in.U8();  // next payload
        m[17] = 0x10;
        for (int k = 0; k < 4; ++k) m[20 + k] = static_cast<uint8_t>(mid >> (24 - 8 * k));
        Bytes body = in.Take(in.U16() % 1024);
        const uint32_t len = static_cast<uint32_t>(28 + body.size());
        for (int k = 0; k < 4; ++k) m[24 + k] = static_cast<uint8_t>(len >> (24 - 8 * k));
        m.insert(m.end(), body.begin(), body.end());
        w.Deliver(target_a, target, peer, m);
        break;
      }
      case 3:
        w.Advance(Millis(100) * in.U8());
        break;
      case 4:
        w.DeliverNext();
        break;
      case 5:
        w.Operation(target_a, in.U8());
        break;
    }
    w.CheckInvariants();
  }
  // Let everything settle: in-flight exchanges finish, retransmissions run out (23 s), DPD
  // rounds end. (Longer stretches are up to the input's own op 3.)
  for (int i = 0; i < 2; ++i) {
    int delivered = 0;
    while (w.DeliverNext()) FUZZ_CHECK(++delivered < 1000);  // no endless ping-pong
    w.Advance(Seconds(30));
  }
  w.CheckInvariants();
  return 0;
}
