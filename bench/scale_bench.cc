// scale_bench: DPD at scale in virtual time. A plain main() program, not Google Benchmark: the
// unit of work is one 10-minute simulation, which does not fit Benchmark's per-iteration
// model. (bench/CMakeLists.txt links Google Benchmark into every *_bench; we do not use it.)
//
// Topology (everything stays in the process; nothing touches a network):
// - One ike::Node, the gateway "GW" at 10.0.0.1, with N crypto map entries `gw 1..N`, entry i
//   having the single peer 100.64.0.0 + i, all sharing ACL 101. Keepalive `10 2 periodic`.
//   The gateway initiates every SA (Main Mode + one Quick Mode each).
// - A swarm of K ike::Nodes (K = ceil(N / --per-swarm)) that own the N peer addresses between
//   them (Simulator::AddHost with many addresses). The default is one swarm Node per peer
//   (--per-swarm 1): the engine keys "newest SA to the peer", INITIAL-CONTACT and the tunnel
//   UP/DOWN state by peer *address*, so a swarm Node holding many SAs that all have GW's one
//   address as their peer deletes each older SA when the next one sends INITIAL-CONTACT
//   (correct behaviour for a real peer; --per-swarm 1000 shows it). Each swarm Node is
//   a plain responder: a wildcard PSK, one crypto map entry (peer 10.0.0.1, mirrored ACL),
//   keepalive off. So every R-U-THERE is really encrypted by GW, decrypted, HASH-checked and
//   ACKed by a swarm Node, and the ACK decrypted and HASH-checked by GW.
// - One shared default link, 5 ms one way; no loss.
//
// Phases, each measured with process CPU time (CLOCK_PROCESS_CPUTIME_ID: both sides and the
// simulator), wall time, and in-call time per side (steady_clock around every host call):
//   1. setup: Initiate(gw, i) spread evenly over --spread virtual seconds (default 9 s, so the
//      DPD phases of the SAs are spread over the 10 s interval and no DPD fires during setup),
//      then run until GW has N IPsec SAs up. -> establishments per CPU second.
//   2. dpd: --minutes virtual minutes (default 10). -> R-U-THERE sent, ACKs received, CPU per
//      DPD exchange, CPU ms per virtual second.
//   3. memory: before and after setup, (a) the live bytes allocated with operator new by each
//      side (this file replaces the global operator new/delete and charges every allocation
//      to the host whose call made it: GW, swarm, or "other" = simulator and this driver; a
//      datagram in flight is charged to its sender until the simulator frees it), (b) the whole
//      malloc heap in use (mallinfo2: also counts OpenSSL's own mallocs, which (a) misses), and
//      (c) RSS (/proc/self/statm). Per SA = delta / N.
//
// --ikev2: the same topology and phases with IKEv2 (IKE_SA_INIT + IKE_AUTH with one Child SA)
// instead of Main Mode + Quick Mode. Every crypto map entry has `set ikev2-profile FLEX`; GW's
// profile has `dpd 10 2 periodic` (the swarm's has none), one proposal (AES-CBC-128, SHA-256,
// group G), a keyring with one wildcard peer (0.0.0.0 0.0.0.0). The liveness exchange is the
// empty INFORMATIONAL request and its empty response. The engine emits kDpdSent for an IKEv2
// probe but counts neither the probe nor its answer in NodeCounters, so the exchanges are
// counted here: the datagrams GW received during the DPD phase (nothing else is in flight then:
// the check is probes sent == datagrams the swarm received == datagrams GW received, no drop).
//
// Memory breakdown: the accounting also keeps a count of live blocks per owner and size, so the
// steady-state report lists the block sizes that hold GW's bytes per SA (and a swarm Node's:
// with --ikev2 the swarm Nodes are the responders, GW the initiator).
//
// Usage: scale_bench [--sas N] [--per-swarm P] [--group G] [--minutes M] [--spread S]
//                    [--ikev2] [--setup-only] [--progress] [--show] [--config-lines]
#include <malloc.h>
#include <openssl/crypto.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "cli/session.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "config/config.h"
#include "daemon/backend_impl.h"
#include "dataplane/policy.h"
#include "ike/ikev2_session.h"
#include "ike/node.h"
#include "ike/node_impl.h"
#include "replace_global_new.h"
#include "scenarios/site_config.h"
#include "sim/simulator.h"

// --- Allocation accounting -----------------------------------------------------------------
// Every operator new block gets a 16-byte header: the owner tag and the size. Single-threaded.
namespace alloc_acct {
enum Owner : int { kOther = 0, kGw = 1, kSwarm = 2 };
int g_owner = kOther;
int64_t g_live[3] = {0, 0, 0};
int64_t g_blocks[3] = {0, 0, 0};
int64_t g_ossl[3] = {0, 0, 0};  // OpenSSL's own allocations (CRYPTO_set_mem_functions)
// Live operator-new blocks per owner by requested size (sizes above kHistMax share the last
// bin, whose bytes are kept in g_big_bytes).
constexpr std::size_t kHistMax = 4096;
int64_t g_hist[3][kHistMax + 1] = {};
int64_t g_big_bytes[3] = {0, 0, 0};
inline void HistAdd(int owner, std::size_t n, int64_t d) {
  g_hist[owner][n < kHistMax ? n : kHistMax] += d;
  if (n >= kHistMax) g_big_bytes[owner] += d * static_cast<int64_t>(n);
}
}  // namespace alloc_acct

// OpenSSL allocations, installed first thing in main() (before OpenSSL allocates anything).
static void* OsslMalloc(std::size_t n, const char*, int) {
  void* p = std::malloc(n + 16);
  if (!p) return nullptr;
  static_cast<int*>(p)[0] = alloc_acct::g_owner;
  *reinterpret_cast<std::size_t*>(static_cast<char*>(p) + 8) = n;
  alloc_acct::g_ossl[alloc_acct::g_owner] += static_cast<int64_t>(n);
  return static_cast<char*>(p) + 16;
}
static void OsslFree(void* q, const char*, int) {
  if (!q) return;
  char* p = static_cast<char*>(q) - 16;
  alloc_acct::g_ossl[*reinterpret_cast<int*>(p)] -=
      static_cast<int64_t>(*reinterpret_cast<std::size_t*>(p + 8));
  std::free(p);
}
static void* OsslRealloc(void* q, std::size_t n, const char* f, int l) {
  if (!q) return OsslMalloc(n, f, l);
  if (n == 0) {
    OsslFree(q, f, l);
    return nullptr;
  }
  char* p = static_cast<char*>(q) - 16;
  const int owner = *reinterpret_cast<int*>(p);
  const auto old = static_cast<int64_t>(*reinterpret_cast<std::size_t*>(p + 8));
  void* np = std::realloc(p, n + 16);
  if (!np) return nullptr;
  *reinterpret_cast<std::size_t*>(static_cast<char*>(np) + 8) = n;
  alloc_acct::g_ossl[owner] += static_cast<int64_t>(n) - old;
  return static_cast<char*>(np) + 16;
}

static void* AcctNew(std::size_t n) {
  void* p = std::malloc(n + 16);
  if (!p) throw std::bad_alloc();
  static_cast<int*>(p)[0] = alloc_acct::g_owner;
  *reinterpret_cast<std::size_t*>(static_cast<char*>(p) + 8) = n;
  alloc_acct::g_live[alloc_acct::g_owner] += static_cast<int64_t>(n);
  ++alloc_acct::g_blocks[alloc_acct::g_owner];
  alloc_acct::HistAdd(alloc_acct::g_owner, n, 1);
  return static_cast<char*>(p) + 16;
}
static void AcctDelete(void* q) noexcept {
  if (!q) return;
  char* p = static_cast<char*>(q) - 16;
  const int owner = *reinterpret_cast<int*>(p);
  const std::size_t n = *reinterpret_cast<std::size_t*>(p + 8);
  alloc_acct::g_live[owner] -= static_cast<int64_t>(n);
  --alloc_acct::g_blocks[owner];
  alloc_acct::HistAdd(owner, n, -1);
  std::free(p);
}
IKEPULSE_REPLACE_GLOBAL_NEW(AcctNew, AcctDelete)

namespace ikepulse {
namespace {

// Charges allocations made in scope to `owner`.
class OwnerScope {
 public:
  explicit OwnerScope(int owner) : saved_(alloc_acct::g_owner) { alloc_acct::g_owner = owner; }
  ~OwnerScope() { alloc_acct::g_owner = saved_; }
  OwnerScope(const OwnerScope&) = delete;
  OwnerScope& operator=(const OwnerScope&) = delete;

 private:
  int saved_;
};

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t HeapInUse() { return mallinfo2().uordblks; }

std::string LoadAvg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// An ike::Node as a simulator host that also accumulates the wall time spent inside its calls
// (steady_clock, vDSO: ~20 ns per read), to split the process CPU between GW and the swarm.
class TimedNode final : public sim::SimHost {
 public:
  TimedNode(sim::Simulator& sim, std::string name, std::vector<IpAddress> addresses,
            uint64_t seed, int owner)
      : sim_(sim), rng_(seed), node_(rng_), owner_(owner) {
    id_ = sim_.AddHost(*this, std::move(name), std::move(addresses));
  }
  void OnDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote, ByteSpan data,
                  ike::Outbox& out) override {
    OwnerScope scope(owner_);
    const auto t0 = std::chrono::steady_clock::now();
    node_.OnDatagram(now, local, remote, data, out);
    in_call_ += std::chrono::steady_clock::now() - t0;
    ++calls_;
    ++datagrams_;
  }
  void OnTimeout(TimePoint now, ike::Outbox& out) override {
    OwnerScope scope(owner_);
    const auto t0 = std::chrono::steady_clock::now();
    node_.OnTimeout(now, out);
    in_call_ += std::chrono::steady_clock::now() - t0;
    ++calls_;
  }
  TimePoint NextDeadline() const override { return node_.NextDeadline(); }

  // Runs `fn` as this host at sim.now() (timed like the other calls).
  template <typename Fn>
  void Call(Fn&& fn) {
    sim_.Call(id_, [&](TimePoint now, ike::Outbox& out) {
      OwnerScope scope(owner_);
      const auto t0 = std::chrono::steady_clock::now();
      fn(node_, now, out);
      in_call_ += std::chrono::steady_clock::now() - t0;
      ++calls_;
    });
  }

  sim::HostId id() const { return id_; }
  ike::Node& node() { return node_; }
  double in_call_s() const { return std::chrono::duration<double>(in_call_).count(); }
  uint64_t calls() const { return calls_; }
  uint64_t datagrams() const { return datagrams_; }

 private:
  sim::Simulator& sim_;
  SeededRandom rng_;
  ike::Node node_;
  int owner_;
  sim::HostId id_ = sim::kNoHost;
  std::chrono::steady_clock::duration in_call_{};
  uint64_t calls_ = 0;
  uint64_t datagrams_ = 0;  // OnDatagram calls (datagrams delivered to this host)
};

const IpAddress kGw = IpAddress::V4(10, 0, 0, 1);
IpAddress PeerIp(uint32_t i) { return IpAddress::V4FromU32((100u << 24 | 64u << 16) + i); }

// A site of tests/scenarios (the shared builder) whose crypto map is named `map`.
config::Config Site(const scenario::SiteSpec& spec, const char* map) {
  config::Config c = scenario::MakeConfig(spec);
  c.crypto_maps.Mut(0).map_name = map;
  c.interfaces.front().crypto_map = map;
  return c;
}

// --ikev2: FlexVPN objects on c, and crypto map entry 0 set to `set ikev2-profile FLEX`:
// proposal P1 (AES-CBC-128, SHA-256, `group`), policy POL, keyring KR with one peer for every
// address (0.0.0.0 0.0.0.0, so the keyring stays one line whatever N is), profile FLEX
// (pre-share both ways, no `match identity`: any IDi) with `dpd` when given.
void AddFlexAnyPeer(config::Config& c, uint16_t group,
                    std::optional<config::KeepaliveConfig> dpd) {
  config::Ikev2Proposal p;
  p.name = "P1";
  p.encryption = {config::Ikev2Encryption::kAesCbc128};
  p.integrity = {config::Ikev2Hash::kSha256};
  p.groups = {group};
  c.ikev2_proposals["P1"] = p;
  config::Ikev2Policy pol;
  pol.name = "POL";
  pol.proposals = {"P1"};
  c.ikev2_policies["POL"] = pol;
  config::Ikev2Keyring kr;
  kr.name = "KR";
  config::Ikev2KeyringPeer kp;
  kp.name = "ANY";
  kp.address = IpAddress::V4(0, 0, 0, 0);
  kp.mask = IpAddress::V4(0, 0, 0, 0);
  kp.pre_shared_key = SecretBytes::FromString("scale-bench-psk");
  kr.peers.push_back(kp);
  c.ikev2_keyrings["KR"] = kr;
  config::Ikev2Profile prof;
  prof.name = "FLEX";
  prof.authentication_local = config::AuthMethod::kPreShare;
  prof.authentication_remote = config::AuthMethod::kPreShare;
  prof.keyring_local = "KR";
  if (dpd) prof.dpd = *dpd;
  c.ikev2_profiles["FLEX"] = prof;
  c.crypto_maps.Mut(0).ikev2_profile = "FLEX";
}

// Site A with keepalive `10 2 periodic` (IKEv2: the profile's `dpd 10 2 periodic`) and entries
// `gw 1..n`, entry i toward PeerIp(i).
config::Config GatewayConfig(uint32_t n, uint16_t group, bool ikev2) {
  scenario::SiteSpec spec;
  spec.self = kGw;
  spec.peers = {PeerIp(1)};
  spec.group = group;
  spec.keepalive = scenario::Keepalive(10, 2, true);
  config::Config c = Site(spec, "gw");
  if (ikev2) AddFlexAnyPeer(c, group, scenario::Keepalive(10, 2, true));
  scenario::ReplicateFirstEntry(c, 1, n, PeerIp);
  return c;
}

// A site B: the mirrored ACL, entry `sw 1` toward the gateway, keepalive off (IKEv2: no `dpd`).
config::Config SwarmConfig(uint16_t group, const IpAddress& self, bool ikev2) {
  scenario::SiteSpec spec;
  spec.self = self;
  spec.peers = {kGw};
  spec.local_lan = "203.0.113.0";
  spec.remote_lan = "198.51.100.0";
  spec.group = group;
  config::Config c = Site(spec, "sw");
  if (ikev2) AddFlexAnyPeer(c, group, std::nullopt);
  return c;
}

// The block sizes that hold an owner's live operator-new bytes, the largest totals first, per
// SA: what an SA's bytes are made of (compared with `base`, the histogram before setup).
void PrintBlockSizes(const char* who, int owner, const std::vector<int64_t>& base,
                     int64_t big_base, uint32_t sas) {
  std::vector<std::pair<int64_t, size_t>> by_bytes;  // (bytes, size)
  for (size_t n = 0; n < alloc_acct::kHistMax; ++n) {
    const int64_t d = alloc_acct::g_hist[owner][n] - base[n];
    // Sizes with fewer than one block per 100 SAs are tables that grow by doubling and the
    // like, not per-SA state: left out of the list (they are in the totals).
    if (std::llabs(d) * 100 >= static_cast<int64_t>(sas))
      by_bytes.push_back({d * static_cast<int64_t>(n), n});
  }
  std::sort(by_bytes.begin(), by_bytes.end(), [](const auto& x, const auto& y) {
    return std::llabs(x.first) > std::llabs(y.first);
  });
  std::string line;
  char buf[96];
  for (size_t k = 0; k < by_bytes.size() && k < 14; ++k) {
    const auto [bytes, n] = by_bytes[k];
    std::snprintf(buf, sizeof buf, "%s%.2f x %zu B", k ? ", " : "",
                  double(bytes) / double(n) / sas, n);
    line += buf;
  }
  const int64_t big =
      alloc_acct::g_big_bytes[owner] - big_base;
  std::printf("memory: %s live blocks per SA by size (count x requested size, largest totals "
              "first): %s; blocks >= %zu B: %.0f B per SA\n",
              who, line.c_str(), alloc_acct::kHistMax, double(big) / sas);
}

// --show: what `show crypto isakmp sa detail`, `show crypto session detail` and `show crypto
// ipsec sa` cost the gateway's event loop over every SA, through the daemon's BackendImpl and a
// CLI session: streamed (the keys taken once, then a page of cli::kShowPage keys per loop turn:
// the longest page is the longest the loop is held) and rendered in one piece.
void ShowTimings(ike::Node& node, sim::Simulator& sim, const config::Config& cfg) {
  daemon::BackendImpl::Context ctx;
  ctx.now = [&sim] { return sim.now(); };
  uint64_t sent = 0;
  ctx.flush = [&sent](ike::Outbox& out) {
    sent += out.datagrams.size();
    out.Clear();
  };
  ctx.started_at = sim.now();
  daemon::BackendImpl backend(node, ctx);
  backend.ApplyConfig(cfg);  // the configuration the node already runs: changes nothing
  for (const char* line : {"show crypto isakmp sa detail", "show crypto session detail",
                           "show crypto ipsec sa"}) {
    cli::Session streamed(backend);
    streamed.set_streaming(true);
    streamed.Execute("enable");
    double t = WallSeconds();
    cli::Session::Reply r = streamed.Execute(line);
    const double open_s = WallSeconds() - t;
    size_t bytes = r.output.size(), pages = 0;
    double longest = 0, total = open_s;
    while (r.pending) {
      t = WallSeconds();
      r = streamed.Continue();
      const double d = WallSeconds() - t;
      longest = std::max(longest, d);
      total += d;
      bytes += r.output.size();
      ++pages;
    }
    cli::Session whole(backend);
    whole.Execute("enable");
    t = WallSeconds();
    const size_t whole_bytes = whole.Execute(line).output.size();
    const double whole_s = WallSeconds() - t;
    std::printf("show: %-30s streamed: keys %.2f ms, %zu pages, longest page %.2f ms, total "
                "%.1f ms, %.1f MB | one piece: %.1f ms, %.1f MB\n",
                line, 1e3 * open_s, pages, 1e3 * longest, 1e3 * total, bytes / 1e6,
                1e3 * whole_s, whole_bytes / 1e6);
  }
  if (sent != 0) std::printf("show: BUG: the shows sent %" PRIu64 " datagrams\n", sent);
}

// --config-lines: what one configuration line costs at this size, through the daemon's
// BackendImpl and a CLI session (the session edits a copy of the running configuration, the
// engine applies the difference), plus what the daemon's data plane does on a configuration
// change (Policy::Sync and TunRouteSet::SetConfig: the crypto map ACLs; the SAs are left to
// the engine's events). Each line is timed from Execute to its return, the data plane part
// inside it separately.
void ConfigLineTimings(ike::Node& node, sim::Simulator& sim, const config::Config& cfg) {
  dataplane::Policy policy;
  dataplane::TunRouteSet routes;
  double dp_s = 0;
  daemon::BackendImpl::Context ctx;
  ctx.now = [&sim] { return sim.now(); };
  uint64_t sent = 0, events = 0;
  ctx.flush = [&](ike::Outbox& out) {
    sent += out.datagrams.size();
    events += out.events.size();
    out.Clear();
  };
  ctx.before_apply = [&](const config::Config& c) {
    const double t = WallSeconds();
    policy.Sync(c);
    std::vector<dataplane::TunRoute> touched;
    routes.SetConfig(c, touched);
    dp_s += WallSeconds() - t;
  };
  ctx.started_at = sim.now();
  daemon::BackendImpl backend(node, ctx);
  backend.ApplyConfig(cfg);  // the configuration the node runs (as a daemon's startup)
  policy.Sync(backend.Running());
  routes.Reset(backend.Running(), node.ChildSas(sim.now()));
  cli::Session s(backend);
  s.Execute("enable");
  s.Execute("configure terminal");
  const std::string peer = "100.65.255.1";
  const std::string live = "crypto map gw " + std::to_string(cfg.crypto_maps.size() / 2) + " ipsec-isakmp";
  for (const std::string& line :
       {std::string("crypto isakmp key branch-new address ") + peer,
        std::string("crypto map gx 1 ipsec-isakmp"), "set peer " + peer,
        std::string("set transform-set Trans1"), std::string("match address 101"),
        std::string("exit"), live,
        "set peer " + peer, "no set peer " + peer, std::string("exit"),
        std::string("no crypto map gx 1"), "no crypto isakmp key branch-new address " + peer,
        std::string("crypto isakmp keepalive 10 2 periodic")}) {
    dp_s = 0;
    sent = events = 0;
    const double t = WallSeconds();
    const cli::Session::Reply r = s.Execute(line);
    const double d = WallSeconds() - t;
    std::printf("config line: %-48s %7.2f ms (data plane %.2f ms)%s, %" PRIu64
                " datagrams, %" PRIu64 " events\n",
                ("'" + line + "'").c_str(), 1e3 * d, 1e3 * dp_s,
                r.error ? (" ERROR: " + r.output).c_str() : "", sent, events);
  }
}

struct Args {
  uint32_t sas = 1000;
  uint32_t per_swarm = 1;
  uint16_t group = 19;
  uint32_t minutes = 10;
  uint32_t spread_s = 9;
  bool setup_only = false;
  bool show = false;
  bool config_lines = false;
  bool progress = false;
  bool ikev2 = false;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> unsigned long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return std::strtoul(argv[++i], nullptr, 10);
    };
    if (k == "--sas") a.sas = static_cast<uint32_t>(val());
    else if (k == "--per-swarm") a.per_swarm = static_cast<uint32_t>(val());
    else if (k == "--group") a.group = static_cast<uint16_t>(val());
    else if (k == "--minutes") a.minutes = static_cast<uint32_t>(val());
    else if (k == "--spread") a.spread_s = static_cast<uint32_t>(val());
    else if (k == "--setup-only") a.setup_only = true;
    else if (k == "--show") a.show = true;
    else if (k == "--config-lines") a.config_lines = true;
    else if (k == "--progress") a.progress = true;
    else if (k == "--ikev2") a.ikev2 = true;
    else {
      std::fprintf(stderr,
                   "usage: scale_bench [--sas N] [--per-swarm P] [--group G] [--minutes M] "
                   "[--spread S] [--ikev2] [--setup-only] [--progress] [--show] [--config-lines]\n");
      std::exit(2);
    }
  }
  if (a.sas == 0 || a.per_swarm == 0 || a.sas > (1u << 22)) {
    std::fprintf(stderr, "bad --sas / --per-swarm\n");
    std::exit(2);
  }
  return a;
}

int Run(const Args& a) {
  std::printf("scale_bench: %s sas=%u per_swarm=%u group=%u minutes=%u spread=%us "
              "loadavg=[%s]\n",
              a.ikev2 ? "IKEv2" : "IKEv1", a.sas, a.per_swarm, a.group, a.minutes, a.spread_s,
              LoadAvg().c_str());
  if (a.ikev2)
    std::printf("sizes: Ikev2Session %zu B, V2Slot %zu B, Ikev2Session::Negotiation freed once "
                "up; ike::Ikev2KeyBlock %zu B (+ its block), DpdMonitor %zu B\n",
                sizeof(ike::Ikev2Session), sizeof(ike::V2Slot), sizeof(ike::Ikev2KeyBlock),
                sizeof(ike::DpdMonitor));
  sim::Simulator sim(42);
  sim.set_record_events(false);
  sim.set_record_packets(false);
  sim.set_record_payloads(false);
  sim.EnableDefaultLink(Millis(5));

  // Counters from the event stream (recording is off; the observer sees everything).
  struct Seen {
    uint64_t ike_up = 0, child_up = 0, peer_dead = 0, give_up = 0, retransmit = 0, drop = 0;
    uint64_t dpd_sent = 0;  // kDpdSent (IKEv1 R-U-THERE, IKEv2 liveness probe; resends too)
  };
  std::vector<Seen> seen;
  auto gw = std::make_unique<TimedNode>(sim, "GW", std::vector<IpAddress>{kGw}, 1,
                                        alloc_acct::kGw);
  std::vector<std::unique_ptr<TimedNode>> swarm;
  const uint32_t k = (a.sas + a.per_swarm - 1) / a.per_swarm;
  for (uint32_t s = 0; s < k; ++s) {
    std::vector<IpAddress> addrs;
    for (uint32_t i = s * a.per_swarm + 1; i <= std::min(a.sas, (s + 1) * a.per_swarm); ++i)
      addrs.push_back(PeerIp(i));
    swarm.push_back(std::make_unique<TimedNode>(sim, "S" + std::to_string(s), std::move(addrs),
                                                1000 + s, alloc_acct::kSwarm));
  }
  seen.resize(sim.host_count());
  sim.SetEventObserver([&](sim::HostId h, const ike::Event& e) {
    Seen& s = seen[h];
    switch (e.kind) {
      case ike::EventKind::kIkeSaUp: ++s.ike_up; break;
      case ike::EventKind::kChildSaUp: ++s.child_up; break;
      case ike::EventKind::kPeerDead: ++s.peer_dead; break;
      case ike::EventKind::kGiveUp: ++s.give_up; break;
      case ike::EventKind::kRetransmit: ++s.retransmit; break;
      case ike::EventKind::kDrop: ++s.drop; break;
      case ike::EventKind::kDpdSent: ++s.dpd_sent; break;
      default: break;
    }
  });
  {
    const config::Config gcfg = GatewayConfig(a.sas, a.group, a.ikev2);
    gw->Call([&](ike::Node& n, TimePoint now, ike::Outbox& out) { n.SetConfig(gcfg, now, out); });
  }
  for (auto& s : swarm) {
    const config::Config scfg = SwarmConfig(a.group, sim.addresses(s->id()).front(), a.ikev2);
    s->Call([&](ike::Node& n, TimePoint now, ike::Outbox& out) { n.SetConfig(scfg, now, out); });
  }
  malloc_trim(0);
  const size_t heap0 = HeapInUse(), rss0 = RssBytes();
  const int64_t gw0 = alloc_acct::g_live[alloc_acct::kGw],
                sw0 = alloc_acct::g_live[alloc_acct::kSwarm],
                other0 = alloc_acct::g_live[alloc_acct::kOther];
  const int64_t gw_ossl0 = alloc_acct::g_ossl[alloc_acct::kGw],
                sw_ossl0 = alloc_acct::g_ossl[alloc_acct::kSwarm];
  int64_t blocks0 = 0;
  for (int64_t b : alloc_acct::g_blocks) blocks0 += b;
  const std::vector<int64_t> hist_gw0(alloc_acct::g_hist[alloc_acct::kGw],
                                      alloc_acct::g_hist[alloc_acct::kGw] + alloc_acct::kHistMax),
      hist_sw0(alloc_acct::g_hist[alloc_acct::kSwarm],
               alloc_acct::g_hist[alloc_acct::kSwarm] + alloc_acct::kHistMax);
  const int64_t big_gw0 = alloc_acct::g_big_bytes[alloc_acct::kGw],
                big_sw0 = alloc_acct::g_big_bytes[alloc_acct::kSwarm];

  // --- 1. setup ------------------------------------------------------------------------
  const double setup_cpu0 = CpuSeconds(), setup_wall0 = WallSeconds();
  const double gw_call0 = gw->in_call_s();
  const TimePoint t0 = sim.now();
  const Duration spread = Seconds(a.spread_s);
  double last_report = setup_wall0;
  for (uint32_t i = 1; i <= a.sas; ++i) {
    sim.RunUntil(t0 + spread * (i - 1) / a.sas);
    gw->Call([&](ike::Node& n, TimePoint now, ike::Outbox& out) { n.Initiate(now, "gw", i, out); });
    if (a.progress && (i % (a.sas / 20 == 0 ? 1 : a.sas / 20) == 0)) {
      const double w = WallSeconds();
      std::fprintf(stderr, "  initiated %u/%u: GW has %" PRIu64 " up, +%.1fs wall\n", i, a.sas,
                   seen[gw->id()].child_up, w - last_report);
      last_report = w;
    }
  }
  const bool all_up = sim.RunUntil([&] { return seen[gw->id()].child_up >= a.sas; },
                                   t0 + spread + Seconds(60));
  const double setup_cpu = CpuSeconds() - setup_cpu0, setup_wall = WallSeconds() - setup_wall0;
  const double gw_setup_share =
      (gw->in_call_s() - gw_call0) / std::max(1e-9, setup_wall);
  const TimePoint setup_end = sim.now();
  // As the daemon does once its data plane has installed them: the IPsec keys leave the
  // engine (Node::HandOverChildKeys), so the engine's figures below are without them.
  auto hand_over = [&](TimedNode& t) {
    std::vector<uint32_t> spis;
    for (const auto& ch : t.node().ChildSas(sim.now())) spis.push_back(ch.spi_in);
    t.node().HandOverChildKeys(spis);
  };
  hand_over(*gw);
  for (auto& s : swarm) hand_over(*s);
  malloc_trim(0);
  const size_t heap1 = HeapInUse(), rss1 = RssBytes();
  const double gw_per_sa = double(alloc_acct::g_live[alloc_acct::kGw] - gw0) / a.sas;
  const double sw_per_sa = double(alloc_acct::g_live[alloc_acct::kSwarm] - sw0) / a.sas;
  const double other_per_sa = double(alloc_acct::g_live[alloc_acct::kOther] - other0) / a.sas;
  int64_t blocks1 = 0;
  for (int64_t b : alloc_acct::g_blocks) blocks1 += b;
  const double blocks_per_sa = double(blocks1 - blocks0) / a.sas;
  const double gw_ossl = double(alloc_acct::g_ossl[alloc_acct::kGw] - gw_ossl0) / a.sas;
  const double sw_ossl = double(alloc_acct::g_ossl[alloc_acct::kSwarm] - sw_ossl0) / a.sas;
  const ike::NodeCounters& gc = gw->node().counters();
  std::printf(
      "setup: %s %u SAs (GW: %" PRIu64 " ISAKMP up, %" PRIu64 " IPsec up, %zu SAs held) in "
      "%.3f virtual s; CPU %.3f s, wall %.3f s -> %.0f establishments per CPU s (%s, both "
      "sides + simulator; GW in-call share of wall %.0f%%)\n",
      all_up ? "all" : "NOT ALL", a.sas, seen[gw->id()].ike_up, seen[gw->id()].child_up,
      gw->node().ike_sa_count(), std::chrono::duration<double>(setup_end - t0).count(),
      setup_cpu, setup_wall, a.sas / setup_cpu,
      a.ikev2 ? "IKE_SA_INIT+IKE_AUTH" : "MM+QM", 100 * gw_setup_share);
  std::printf("setup: retransmits GW %" PRIu64 ", drops GW %" PRIu64 "\n", gc.retransmits,
              gc.dropped);
  std::printf("memory: heap in use +%.1f MB (%.0f B per SA, GW + swarm), RSS +%.1f MB (%.0f B "
              "per SA)\n",
              (heap1 - heap0) / 1e6, double(heap1 - heap0) / a.sas, (rss1 - rss0) / 1e6,
              double(rss1 - rss0) / a.sas);
  std::printf("memory: operator new live bytes per SA: GW %.0f B, swarm (per peer Node) %.0f B, "
              "simulator+driver %.0f B; %.1f live operator-new blocks per SA (all owners); rest of "
              "the malloc heap (chunk overhead, this file's 16-byte headers, OpenSSL) %.0f B\n",
              gw_per_sa, sw_per_sa, other_per_sa, blocks_per_sa,
              double(heap1 - heap0) / a.sas - gw_per_sa - sw_per_sa - other_per_sa);
  std::printf("memory: OpenSSL live bytes per SA (its own mallocs, included in the rest above): "
              "GW %.0f B, swarm %.0f B\n",
              gw_ossl, sw_ossl);
  if (!all_up) return 1;
  if (a.show) ShowTimings(gw->node(), sim, GatewayConfig(a.sas, a.group, a.ikev2));
  if (a.config_lines) ConfigLineTimings(gw->node(), sim, GatewayConfig(a.sas, a.group, a.ikev2));
  if (a.setup_only) {
    std::printf("| %u | %u | %.2f | %.0f | %.0f |\n", a.sas, a.group, setup_cpu,
                a.sas / setup_cpu, gw_per_sa);
    return 0;
  }

  // --- 2. DPD ---------------------------------------------------------------------------
  // IKEv1: the engine's counters. IKEv2: GW's kDpdSent events (probes, resends included), the
  // datagrams the swarm received (probes delivered; each is answered) and those GW received
  // (answers delivered): nothing else is in flight in this phase.
  auto swarm_datagrams = [&] {
    uint64_t n = 0;
    for (auto& s : swarm) n += s->datagrams();
    return n;
  };
  const uint64_t sent0 = a.ikev2 ? seen[gw->id()].dpd_sent : gc.dpd_sent,
                 acks0 = a.ikev2 ? gw->datagrams() : gc.dpd_acks_received;
  uint64_t swarm_acks0 = a.ikev2 ? swarm_datagrams() : 0;
  if (!a.ikev2)
    for (auto& s : swarm) swarm_acks0 += s->node().counters().dpd_acks_sent;
  const uint64_t ev0 = sim.events_processed(), calls0 = sim.host_calls();
  const double gw_in0 = gw->in_call_s();
  double sw_in0 = 0;
  for (auto& s : swarm) sw_in0 += s->in_call_s();
  const double cpu0 = CpuSeconds(), wall0 = WallSeconds();
  const uint64_t rtx0 = gc.retransmits, drop0 = gc.dropped;
  sim.RunFor(Seconds(60) * a.minutes);
  const double cpu = CpuSeconds() - cpu0, wall = WallSeconds() - wall0;
  uint64_t swarm_acks = a.ikev2 ? swarm_datagrams() : 0;
  if (!a.ikev2)
    for (auto& s : swarm) swarm_acks += s->node().counters().dpd_acks_sent;
  double sw_in = 0;
  for (auto& s : swarm) sw_in += s->in_call_s();
  const double gw_in = gw->in_call_s() - gw_in0;
  sw_in -= sw_in0;
  const uint64_t sent = (a.ikev2 ? seen[gw->id()].dpd_sent : gc.dpd_sent) - sent0,
                 acks = (a.ikev2 ? gw->datagrams() : gc.dpd_acks_received) - acks0;
  const double vsec = 60.0 * a.minutes;
  std::printf(
      a.ikev2
          ? "dpd: %u virtual min: GW sent %" PRIu64 " liveness probes, the swarm received %" PRIu64
            " and answered them, GW received %" PRIu64 " answers (%.2f per SA per 10 s); peers "
            "dead %" PRIu64
            ", retransmits %" PRIu64 ", drops %" PRIu64 "; %" PRIu64 " sim events, %" PRIu64
            " host calls\n"
          : "dpd: %u virtual min: GW sent %" PRIu64 " R-U-THERE, swarm sent %" PRIu64
            " ACKs, GW accepted %" PRIu64 " ACKs (%.2f per SA per 10 s); peers dead %" PRIu64
            ", retransmits %" PRIu64 ", drops %" PRIu64 "; %" PRIu64 " sim events, %" PRIu64
            " host calls\n",
      a.minutes, sent, swarm_acks - swarm_acks0, acks, acks / (vsec / 10) / a.sas,
      seen[gw->id()].peer_dead, gc.retransmits - rtx0, gc.dropped - drop0,
      sim.events_processed() - ev0, sim.host_calls() - calls0);
  std::printf(
      "dpd: CPU %.3f s, wall %.3f s -> %.2f us CPU per DPD exchange (%s, both "
      "sides + simulator), %.2f CPU ms per virtual second; in-call wall: GW %.3f s (%.2f us per "
      "exchange), swarm %.3f s (%.2f us per exchange)\n",
      cpu, wall, 1e6 * cpu / std::max<uint64_t>(acks, 1),
      a.ikev2 ? "empty INFORMATIONAL request + response" : "R-U-THERE + ACK", 1e3 * cpu / vsec,
      gw_in,
      1e6 * gw_in / std::max<uint64_t>(acks, 1), sw_in, 1e6 * sw_in / std::max<uint64_t>(acks, 1));

  // Steady state: Quick Modes kept to answer duplicates (30 s) and the MM6 kept for a
  // duplicate MM5 are gone by now; what is left is what an established SA costs.
  malloc_trim(0);
  std::printf("memory: steady state (after the DPD phase): GW operator new live bytes per SA "
              "%.0f B, OpenSSL %.0f B\n",
              double(alloc_acct::g_live[alloc_acct::kGw] - gw0) / a.sas,
              double(alloc_acct::g_ossl[alloc_acct::kGw] - gw_ossl0) / a.sas);
  std::printf("memory: steady state: swarm (per peer Node) operator new live bytes per SA %.0f B"
              ", OpenSSL %.0f B\n",
              double(alloc_acct::g_live[alloc_acct::kSwarm] - sw0) / a.sas,
              double(alloc_acct::g_ossl[alloc_acct::kSwarm] - sw_ossl0) / a.sas);
  PrintBlockSizes("GW", alloc_acct::kGw, hist_gw0, big_gw0, a.sas);
  PrintBlockSizes("swarm", alloc_acct::kSwarm, hist_sw0, big_sw0, a.sas);

  struct rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("maxrss %.1f MB, loadavg at end [%s]\n", ru.ru_maxrss / 1024.0, LoadAvg().c_str());
  std::printf("| %u | %u | %.2f | %.0f | %" PRIu64 " | %.2f | %.2f | %.0f | %.0f | %.0f |\n",
              a.sas, a.group, setup_cpu, a.sas / setup_cpu, acks,
              1e6 * cpu / std::max<uint64_t>(acks, 1), 1e3 * cpu / vsec, gw_per_sa, sw_per_sa,
              double(heap1 - heap0) / a.sas);
  return acks > 0 && seen[gw->id()].peer_dead == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ikepulse

int main(int argc, char** argv) {
  if (!CRYPTO_set_mem_functions(OsslMalloc, OsslRealloc, OsslFree))
    std::fprintf(stderr, "scale_bench: OpenSSL allocations are not tracked\n");
  return ikepulse::Run(ikepulse::Parse(argc, argv));
}
