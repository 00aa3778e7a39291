// libFuzzer target for the whole engine: arbitrary and forged datagrams into an ike::Node in
// each state.
//
// Two Nodes are built in code (SeededRandom, fixed configs, ECP-256, and the fixed DH key pair
// of crypto/dh_fuzzing.h, so the whole exchange is deterministic), A initiating toward B. The
// first input byte picks the target node (A or B), whether DPD and PFS are configured, and
// how many handshake datagrams were delivered first (0: nothing yet, 1..8: in the middle of
// Main Mode / Quick Mode, 9+: established). Each of those 96 states is negotiated once and
// kept as a snapshot; an input starts from a clone of it (ike::Node::Clone), not from a new
// negotiation, and adds no fixed work of its own: a few thousand inputs a second under
// ASan+UBSan instead of a few hundred. The rest of the input is a list of operations, each
// an opcode byte followed by its arguments:
//
//   0  raw datagram: u8 port selector, u16 length, bytes   -> target (port 500 or 4500)
//   1  replay a recorded datagram with one byte XORed: u8 index, u8 offset, u8 xor
//   2  a datagram with a real header: u8 index (cookies from that recorded datagram),
//      u8 exchange, u8 flags, u32 M-ID, u8 next payload, u16 length, body bytes -> target
//   3  advance virtual time by u8 x 100 ms, then run both nodes' timeouts
//   4  deliver the next datagram in flight between the nodes (the real exchange goes on)
//   5  an operation on the target: Initiate, Clear, traffic, config change, debug (u8)
//   6  a forged, authenticated new exchange: u8 flags (bit 0 Quick Mode, else Informational;
//      bit 1 sent by the phase-1 initiator; bits 2-7 which ISAKMP SA), u32 M-ID,
//      u8 next payload, u16 length, payload bytes -> encrypted behind a correct HASH(1)
//   7  the next message of a recorded QM/Informational exchange, forged: u8 exchange index,
//      u8 next payload, u16 length, payload bytes (HASH(2) or HASH(3) as the exchange needs)
//   8  a recorded exchange's first message, decrypted, mutated and sealed again with a correct
//      HASH: u8 index, u8 flags (bit 0 new M-ID, bit 1 sender), u32 M-ID, u8 offset, u8 xor,
//      u8 bytes to cut from the end
//   9  settle: deliver everything in flight, run 30 s of timers, deliver again; the nodes
//      must go quiet (no endless ping-pong)
//  10  reorder: u8 k, the k-th datagram in flight (modulo the count) overtakes the others
//  11  loss: the oldest datagram in flight is dropped
//
// Datagrams the nodes send go into the in-flight queue (op 4 delivers them); every datagram
// also goes to the Forger, which recovers the keys (forger.h). Invariants (FUZZ_CHECK): no
// crash or sanitizer report; every host call leaves NextDeadline() in the future after
// OnTimeout ran (no livelock); counters stay consistent; SA counts stay bounded.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "crypto/dh_fuzzing.h"
#include "forger.h"
#include "fuzz_check.h"
#include "fuzz_input.h"
#include "ike/node.h"
#include "isakmp/payloads.h"
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

// The 16 configurations, built once (building them per input cost ~10% of the time).
const config::Config& CachedConfig(bool is_a, bool dpd, bool pfs, uint32_t ipsec_life) {
  // A vector, not `static config::Config all[2][2][2][2] = {}`: clang 14 crashes (segfault
  // in the parser) on that declaration since config::Config gained an IpAddress member.
  static std::vector<std::optional<config::Config>> all(16);
  const bool short_life = ipsec_life < 3600;
  std::optional<config::Config>& slot = all[(is_a << 3) | (dpd << 2) | (pfs << 1) | short_life];
  if (!slot) slot = NodeConfig(is_a, dpd, pfs, ipsec_life);
  return *slot;
}

using fuzz::Input;  // fuzz_input.h

class World {
 public:
  World(bool dpd, bool pfs, uint32_t ipsec_life)
      : cfg_a_(CachedConfig(true, dpd, pfs, ipsec_life)),
        cfg_b_(CachedConfig(false, dpd, pfs, ipsec_life)) {
    ike::Outbox out;
    a_->SetConfig(cfg_a_, now_, out);
    Route(out);
    b_->SetConfig(cfg_b_, now_, out);
    Route(out);
    a_->Initiate(now_, "green", 1, out);
    Route(out);
  }
  // A snapshot of `o`: both engines cloned, the RNGs copied at their state, so that the copy
  // goes on exactly as `o` would.
  World(const World& o)
      : cfg_a_(o.cfg_a_), cfg_b_(o.cfg_b_), forger_(o.forger_), rng_a_(o.rng_a_),
        rng_b_(o.rng_b_), a_(o.a_->Clone(rng_a_)), b_(o.b_->Clone(rng_b_)), now_(o.now_),
        in_flight_(o.in_flight_), transcript_(o.transcript_) {}
  World& operator=(const World&) = delete;

  ike::Node& node(bool is_a) { return is_a ? *a_ : *b_; }
  const IpAddress& ip(bool is_a) const { return is_a ? kIpA : kIpB; }
  const std::vector<ike::Datagram>& transcript() const { return transcript_; }
  fuzz::Forger& forger() { return forger_; }

  // A forged message, from the other node to the one it is meant for.
  void DeliverForged(const std::optional<fuzz::Forged>& f) {
    if (!f) return;
    const bool to_a = f->to == kIpA;
    Deliver(to_a, Endpoint{ip(to_a), 500}, Endpoint{ip(!to_a), 500}, f->data);
  }

  // Delivers the oldest datagram in flight, 5 ms later. False when nothing is in flight.
  bool DeliverNext() {
    if (in_flight_.empty()) return false;
    ike::Datagram d = std::move(in_flight_.front());
    in_flight_.pop_front();
    Advance(Millis(5));
    Deliver(d.remote.ip == kIpA, d.remote, d.local, d.data);
    return true;
  }

  // The datagram `k` places behind the oldest in flight overtakes the others (reordering).
  void DeliverOutOfOrder(uint8_t k) {
    if (in_flight_.empty()) return;
    const size_t i = k % in_flight_.size();
    std::rotate(in_flight_.begin(), in_flight_.begin() + i, in_flight_.begin() + i + 1);
    DeliverNext();
  }
  // The oldest datagram in flight is lost.
  void DropNext() {
    if (!in_flight_.empty()) in_flight_.pop_front();
  }
  // Lets everything settle: in-flight exchanges finish, retransmissions run out (23 s), DPD
  // rounds end. No endless ping-pong: the exchange must go quiet.
  void Settle() {
    int delivered = 0;
    while (DeliverNext()) FUZZ_CHECK(++delivered < 1000);
    Advance(Seconds(30));
    delivered = 0;
    while (DeliverNext()) FUZZ_CHECK(++delivered < 1000);
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
      const TimePoint next = std::min(a_->NextDeadline(), b_->NextDeadline());
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
    switch (sel % 8) {
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
      case 7:
        n.SetDebug(!n.debug());
        break;
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
                                  c.dropped_state + c.dropped_rate_limited + c.dropped_replay);
      FUZZ_CHECK(n.NextDeadline() > now_);
      // At most 64 operations per input: state grows by a bounded amount per operation.
      FUZZ_CHECK(n.ike_sa_count() <= 80);
      // Snapshots must be safe to take in any state.
      auto sas = n.IsakmpSas(now_);
      FUZZ_CHECK(sas.size() == n.ike_sa_count());
      auto children = n.ChildSas(now_);
      FUZZ_CHECK(children.size() <= 160);
      for (const auto& ch : children) FUZZ_CHECK(ch.spi_in != 0);
      (void)n.Entries();
    }
  }

 private:
  void Route(ike::Outbox& out) {
    for (auto& d : out.datagrams) {
      forger_.Record(d.local.ip, d.data);
      transcript_.push_back(d);
      if (d.remote.ip == kIpA || d.remote.ip == kIpB) in_flight_.push_back(std::move(d));
    }
    out.Clear();
  }

  const config::Config& cfg_a_;
  const config::Config& cfg_b_;
  fuzz::Forger forger_{"fuzz-key", crypto::HashAlg::kSha256, crypto::CipherAlg::kAes128Cbc, 19};
  SeededRandom rng_a_{11}, rng_b_{22};
  std::unique_ptr<ike::Node> a_ = std::make_unique<ike::Node>(rng_a_);
  std::unique_ptr<ike::Node> b_ = std::make_unique<ike::Node>(rng_b_);
  TimePoint now_ = TimePoint(Seconds(1000));
  std::deque<ike::Datagram> in_flight_;
  std::vector<ike::Datagram> transcript_;
};

// The world of each setup after `handshake` datagrams, built once and cloned for every input
// (ike::Node::Clone). Running Main Mode and Quick Mode again for each input took most of the
// time; a clone is the same state, byte for byte (tests/scenarios/clone_test.cc).
const World& Snapshot(bool dpd, bool pfs, uint32_t ipsec_life, int handshake) {
  static std::vector<std::unique_ptr<World>> cache(2 * 2 * 2 * 12);
  const bool short_life = ipsec_life < 3600;
  std::unique_ptr<World>& slot = cache[((dpd << 2 | pfs << 1 | short_life) * 12) + handshake];
  if (!slot) {
    slot = std::make_unique<World>(dpd, pfs, ipsec_life);
    for (int i = 0; i < handshake; ++i)
      if (!slot->DeliverNext()) break;
  }
  return *slot;
}

}  // namespace

// One input runs the whole engine (tens of thousands of coverage features), and libFuzzer's
// entropic scheduler then spends several times longer on feature bookkeeping than on the
// input itself (4 exec/s against 24 without it, ASan+UBSan Debug). Default it off here;
// an explicit -entropic=1 on the command line still wins (the last flag counts).
// The forged messages must pass the engine's checks, or the fuzzer silently stops at the
// HASH check again. Checked once at start: an R-U-THERE forged from A is answered by B, and
// A's Quick Mode 1 re-sealed under a new M-ID is answered with a Quick Mode 2, nothing dropped.
void SelfCheck() {
  World w(/*dpd=*/true, /*pfs=*/false, 3600);
  for (int i = 0; i < 20 && w.DeliverNext(); ++i) {
  }
  FUZZ_CHECK(w.forger().sa_count() == 1 && w.forger().exchange_count() == 1);
  const ike::NodeCounters before = w.node(false).counters();
  isakmp::NotificationPayload n;
  n.protocol_id = 1;
  n.spi = w.forger().Cookies(0);
  n.type = static_cast<uint16_t>(isakmp::NotifyType::kRUThere);
  n.data = {0, 0, 0x12, 0x34};
  const Bytes chain = isakmp::SerializePayloads({isakmp::MakePayload(n)});
  w.DeliverForged(
      w.forger().NewExchange(0, true, isakmp::ExchangeType::kInformational, 0x01020304, 11, chain));
  const ike::NodeCounters& after = w.node(false).counters();
  FUZZ_CHECK(after.dpd_acks_sent == before.dpd_acks_sent + 1);
  uint8_t next = 0;
  isakmp::ExchangeType type{};
  uint32_t mid = 0;
  size_t sa = 0;
  auto qm1 = w.forger().FirstTail(0, &next, &type, &mid, &sa);
  FUZZ_CHECK(qm1 && type == isakmp::ExchangeType::kQuickMode);
  w.DeliverForged(w.forger().NewExchange(sa, true, type, mid + 1, next, *qm1));
  FUZZ_CHECK(after.tx_datagrams == before.tx_datagrams + 2);
  FUZZ_CHECK(after.dropped == before.dropped);
  // And the forged Quick Mode 3 completes that exchange on B.
  const size_t children = w.node(false).ChildSas(TimePoint(Seconds(2000))).size();
  // Exchanges so far: A's QM, the R-U-THERE, B's ACK, the forged QM (the last one).
  FUZZ_CHECK(w.forger().exchange_count() == 4);
  w.DeliverForged(w.forger().Continue(3, 0, {}));
  FUZZ_CHECK(after.dropped == before.dropped);
  FUZZ_CHECK(w.node(false).ChildSas(TimePoint(Seconds(2000))).size() > children);
}

// ASan's default 256 MB quarantine of freed memory kept every allocation on fresh pages:
// page faults took a third of the time (this target allocates a lot, mostly inside OpenSSL).
// A small quarantine still catches a use after free within one input. Recording 4 frames of
// each allocation's stack instead of 30 saves ~15 % (unwinding, stack depot); a report still
// names the allocating function. ASAN_OPTIONS wins.
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=8:malloc_context_size=4";
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  FUZZ_CHECK(crypto::UsePlainAllocatorInOpenSslForFuzzing());
  crypto::UseFixedDhKeyPairsForFuzzing();
  SelfCheck();
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
  World w(Snapshot(dpd, pfs, ipsec_life, handshake));

  const Endpoint target{w.ip(target_a), 500};
  const Endpoint peer{w.ip(!target_a), 500};
  for (int ops = 0; !in.empty() && ops < 64; ++ops) {
    switch (in.U8() % 12) {
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
      case 6: {
        const uint8_t flags = in.U8();
        const uint32_t mid = in.U32();
        const uint8_t next = in.U8();
        Bytes tail = in.Take(in.U16() % 1024);
        const auto x =
            flags & 1 ? isakmp::ExchangeType::kQuickMode : isakmp::ExchangeType::kInformational;
        w.DeliverForged(w.forger().NewExchange(flags >> 2, flags & 2, x, mid, next, tail));
        break;
      }
      case 7: {
        const uint8_t idx = in.U8(), next = in.U8();
        Bytes tail = in.Take(in.U16() % 1024);
        w.DeliverForged(w.forger().Continue(idx, next, tail));
        break;
      }
      case 9:
        w.Settle();
        break;
      case 10:
        w.DeliverOutOfOrder(in.U8());
        break;
      case 11:
        w.DropNext();
        break;
      case 8: {
        const uint8_t idx = in.U8(), flags = in.U8();
        const uint32_t new_mid = in.U32();
        const uint8_t off = in.U8(), x = in.U8(), cut = in.U8();
        uint8_t next = 0;
        isakmp::ExchangeType type{};
        uint32_t mid = 0;
        size_t sa = 0;
        auto tail = w.forger().FirstTail(idx, &next, &type, &mid, &sa);
        if (!tail) break;
        if (!tail->empty()) (*tail)[off % tail->size()] ^= x;
        tail->resize(tail->size() - std::min<size_t>(cut, tail->size()));
        if (flags & 1) mid = new_mid;
        w.DeliverForged(w.forger().NewExchange(sa, flags & 2, type, mid, next, *tail));
        break;
      }
    }
    w.CheckInvariants();
  }
  w.CheckInvariants();
  return 0;
}
