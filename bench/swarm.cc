// ikepulse_swarm: N IKEv1 peers over real UDP sockets, one process, one thread, to measure a
// gateway under test (ikepulsed, strongSwan's charon, ...) with a real clock.
//
// It is bench/scale_bench.cc's swarm taken out of the simulator: one ike::Node per peer address
// (the engine keys SAs, INITIAL-CONTACT and DPD by peer address), each a site with one crypto
// map entry `sw 1` toward the gateway, the mirrored ACL (203.0.113.0/24 <-> 198.51.100.0/24),
// a wildcard pre-shared key and no keepalive unless --dpd. The swarm initiates: Main Mode + one
// Quick Mode per peer, paced at --rate initiations per second (0: as fast as the loop goes).
//
// I/O is the daemon's own (src/daemon): one wildcard UdpSocket (IP_PKTINFO: each datagram's
// destination address says which peer it is for, and each peer sends from its own address;
// recvmmsg/sendmmsg batches), the epoll/timerfd/signalfd EventLoop and MonoNow(). The peers'
// addresses must be local in the swarm's network namespace: one `ip route add local
// 198.18.0.0/15 dev lo` makes a whole range local (IP_FREEBIND is set as well). Timers: a
// min-heap of (NextDeadline, peer) with lazy invalidation, so an event costs O(log N).
//
// Phases (all bounded by --duration, a hard limit on the whole run):
//   setup    until every peer has its IPsec SA (or --setup-timeout). setup_s = first MM1 sent
//            to the last Quick Mode completed, as seen by the swarm.
//   settle   --settle seconds (responders keep finished exchanges around for a while).
//   window   --window seconds of steady state: the gateway's CPU (utime+stime from
//            /proc/PID/stat, --gw-pid) and the DPD messages it sent and received, counted at
//            the swarm (R-U-THEREs the swarm received + ACKs it sent + the swarm's own
//            R-U-THEREs + the ACKs it received); the gateway's VmRSS before setup and at the
//            start of the window.
//   kill     at --kill-at SECONDS after the start, or at the end of the window (`window`, the
//            default), --kill-fraction of the established peers (every k-th) go silent: from
//            then on nothing they would send leaves, and their Nodes keep reading what arrives
//            (without answering) only to notice the gateway's Delete.
//   observe  until every killed peer has received the gateway's Delete or --observe seconds.
//
// --ikev2: the peers speak IKEv2 instead (the engine's Ikev2Session, i.e. the project's IKEv2
// codec and crypto/ikev2_keys, in the same one-Node-per-peer swarm): each peer's entry `sw 1` has
// `set ikev2-profile FLEX` (proposal AES-CBC-128/SHA-256/group G, a keyring with one wildcard
// peer, PSK both ways, `dpd D 2 periodic` only with --dpd D), and initiates IKE_SA_INIT +
// IKE_AUTH with one Child SA; it answers the gateway's empty INFORMATIONAL liveness probes (and
// sends its own with --dpd). Differences in what is counted: the engine reports no event for an
// IKEv2 liveness answer, so in the window every datagram the swarm received or sent counts as a
// liveness message of the gateway's (nothing else is exchanged then); and neither ikepulsed nor
// charon sends a Delete for a dead IKEv2 peer, so the detection figures come from the gateway's
// own record (bench/swarm_compare.sh: ikepulsed's log, charon's vici events) and the timeline's
// last_tx_s.
//
// Output: progress lines on stderr; `key=value` summary lines on stdout; with --timeline FILE a
// CSV per peer: index,address,killed,mm1_at_s,established_at_s,last_tx_s,delete_at_s
// (seconds since the start, -1 = never). Secrets are never printed.
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <queue>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/endpoint.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "daemon/daemon.h"
#include "daemon/event_loop.h"
#include "daemon/real_clock.h"
#include "daemon/udp_socket.h"
#include "ike/node.h"
#include "ike/outbox.h"

namespace ikepulse {
namespace {

constexpr uint32_t kMaxPeers = 200000;

struct Args {
  uint32_t peers = 1000;
  // The gateway's addresses: peer i talks to gateways[i / per_gateway] (a gateway with one
  // crypto map per interface and at most 65535 entries per map needs several addresses for
  // 100,000 peers).
  std::vector<IpAddress> gateways;
  uint32_t per_gateway = 50000;
  IpAddress base = IpAddress::V4(198, 18, 0, 1);
  uint16_t port = 500;
  uint16_t natt_port = 4500;
  uint16_t group = 19;
  std::string psk_file;  // the PSK is read from a file, never taken on the command line
  double rate = 500;     // initiations per second; 0 = as fast as possible
  uint32_t dpd = 0;      // the swarm's own `keepalive DPD 2 periodic`; 0 = off
  double duration = 300;
  double setup_timeout = 120;
  double settle = 5;
  double window = 60;
  double kill_fraction = 0;
  double kill_at = -1;  // < 0: at the end of the window
  double observe = 40;
  int gw_pid = 0;
  std::string timeline;
  bool quiet = false;
  bool ikev2 = false;
};

[[noreturn]] void Usage(const char* why) {
  if (why) std::fprintf(stderr, "ikepulse_swarm: %s\n", why);
  std::fprintf(stderr,
               "usage: ikepulse_swarm --peers N --psk-file FILE [--gateway IP[,IP...]] [--per-gateway N]\n"
               "         [--base IP] [--port P] [--natt-port P] [--group 19|14] [--rate PER_S] [--dpd SECONDS]\n"
               "         [--duration S] [--setup-timeout S] [--settle S] [--window S]\n"
               "         [--kill-fraction F] [--kill-at S|window] [--observe S] [--gw-pid PID]\n"
               "         [--timeline FILE] [--quiet] [--ikev2]\n");
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Usage((k + " needs a value").c_str());
      return argv[++i];
    };
    auto num = [&]() -> double {
      const std::string v = val();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !std::isfinite(d) || d < 0) Usage(("bad " + k).c_str());
      return d;
    };
    auto ip = [&]() -> IpAddress {
      auto p = IpAddress::Parse(val());
      if (!p || p->v6) Usage(("bad " + k + " (IPv4 only)").c_str());
      return *p;
    };
    if (k == "--peers") a.peers = static_cast<uint32_t>(num());
    else if (k == "--gateway") {
      std::string list = val(), item;
      std::istringstream in(list);
      while (std::getline(in, item, ',')) {
        auto p = IpAddress::Parse(item);
        if (!p || p->v6) Usage("bad --gateway (IPv4 addresses, comma-separated)");
        a.gateways.push_back(*p);
      }
    } else if (k == "--per-gateway") a.per_gateway = static_cast<uint32_t>(num());
    else if (k == "--base") a.base = ip();
    else if (k == "--port") a.port = static_cast<uint16_t>(num());
    else if (k == "--natt-port") a.natt_port = static_cast<uint16_t>(num());
    else if (k == "--group") a.group = static_cast<uint16_t>(num());
    else if (k == "--psk-file") a.psk_file = val();
    else if (k == "--rate") a.rate = num();
    else if (k == "--dpd") a.dpd = static_cast<uint32_t>(num());
    else if (k == "--duration") a.duration = num();
    else if (k == "--setup-timeout") a.setup_timeout = num();
    else if (k == "--settle") a.settle = num();
    else if (k == "--window") a.window = num();
    else if (k == "--kill-fraction") a.kill_fraction = num();
    else if (k == "--kill-at") {
      const std::string v = argv[i + 1 < argc ? i + 1 : i];
      if (v == "window") {
        ++i;
        a.kill_at = -1;
      } else {
        a.kill_at = num();
      }
    } else if (k == "--observe") a.observe = num();
    else if (k == "--gw-pid") a.gw_pid = static_cast<int>(num());
    else if (k == "--timeline") a.timeline = val();
    else if (k == "--quiet") a.quiet = true;
    else if (k == "--ikev2") a.ikev2 = true;
    else if (k == "-h" || k == "--help") Usage(nullptr);
    else Usage(("unknown option " + k).c_str());
  }
  if (a.peers == 0 || a.peers > kMaxPeers) Usage("--peers must be 1..200000");
  if (a.psk_file.empty()) Usage("--psk-file is required");
  if (a.group != 14 && a.group != 19) Usage("--group must be 14 or 19");
  if (a.kill_fraction > 0.5) Usage("--kill-fraction must be <= 0.5");
  if (a.duration <= 0 || a.duration > 7200) Usage("--duration must be in (0, 7200]");
  if (a.gateways.empty()) a.gateways.push_back(IpAddress::V4(192, 0, 2, 1));
  if (a.per_gateway == 0) Usage("bad --per-gateway");
  if ((a.peers - 1) / a.per_gateway >= a.gateways.size())
    Usage("not enough --gateway addresses for --peers / --per-gateway");
  if (a.port == 0) Usage("bad port (the gateway is reached on the same port)");
  return a;
}

// The configuration every swarm peer shares; only the interface address differs.
std::string SwarmConfigText(const Args& a, const std::string& psk, const IpAddress& gateway) {
  std::ostringstream s;
  if (a.ikev2) {
    s << "hostname swarm\n"
      << "crypto ikev2 proposal P1\n encryption aes-cbc-128\n integrity sha256\n group "
      << a.group << "\n"
      << "crypto ikev2 policy POL\n proposal P1\n"
      << "crypto ikev2 keyring KR\n peer ANY\n  address 0.0.0.0 0.0.0.0\n  pre-shared-key "
      << psk << "\n"
      << "crypto ikev2 profile FLEX\n match identity remote address 0.0.0.0 0.0.0.0\n"
      << " authentication remote pre-share\n authentication local pre-share\n"
      << " keyring local KR\n";
    if (a.dpd > 0) s << " dpd " << a.dpd << " 2 periodic\n";
    s << "crypto ipsec transform-set TS esp-aes esp-sha-hmac\n"
      << "access-list 101 permit ip 203.0.113.0 0.0.0.255 198.51.100.0 0.0.0.255\n"
      << "crypto map sw 1 ipsec-isakmp\n set peer " << gateway.ToString()
      << "\n set transform-set TS\n set ikev2-profile FLEX\n match address 101\n"
      << "interface Loopback0\n ip address " << a.base.ToString() << " 255.255.255.255\n"
      << " crypto map sw\nend\n";
    return s.str();
  }
  s << "hostname swarm\n"
    << "crypto isakmp policy 10\n encryption aes\n hash sha\n authentication pre-share\n"
    << " group " << a.group << "\n"
    << "crypto isakmp key " << psk << " address 0.0.0.0 0.0.0.0\n";
  if (a.dpd > 0) s << "crypto isakmp keepalive " << a.dpd << " 2 periodic\n";
  s << "crypto ipsec transform-set TS esp-aes esp-sha-hmac\n"
    << "access-list 101 permit ip 203.0.113.0 0.0.0.255 198.51.100.0 0.0.0.255\n"
    << "crypto map sw 1 ipsec-isakmp\n set peer " << gateway.ToString()
    << "\n set transform-set TS\n match address 101\n"
    << "interface Loopback0\n ip address " << a.base.ToString() << " 255.255.255.255\n"
    << " crypto map sw\nend\n";
  return s.str();
}

struct GwStat {
  bool ok = false;
  double cpu_s = 0;     // utime + stime
  double rss_kb = 0;    // VmRSS
  double run_s = -1;    // sum of /proc/PID/task/*/schedstat run times (ns resolution); -1: n/a
};

// The time the process's threads have spent on a CPU (nanoseconds, from the scheduler), summed
// over its live threads: finer than utime+stime (clock ticks), which it is checked against.
double SchedRunSeconds(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  double total = 0;
  int n = 0;
  for (dirent* e = readdir(d); e && n < 4096; e = readdir(d), ++n) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name + "/schedstat");
    double run_ns = 0;
    if (f >> run_ns) total += run_ns * 1e-9;
  }
  closedir(d);
  return total;
}

GwStat ReadGw(int pid) {
  GwStat g;
  if (pid <= 0) return g;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return g;
  // Fields after the ")" that closes comm: state is field 3; utime 14, stime 15.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return g;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  std::string x;
  for (int i = 0; i < 20 && rest >> x; ++i) fields.push_back(x);
  if (fields.size() < 13) return g;
  const double tck = static_cast<double>(sysconf(_SC_CLK_TCK));
  g.cpu_s = (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) /
            tck;
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(st, line)) {
    if (line.rfind("VmRSS:", 0) == 0) g.rss_kb = std::strtod(line.c_str() + 6, nullptr);
  }
  g.run_s = SchedRunSeconds(pid);
  g.ok = true;
  return g;
}

double SelfCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

std::string LoadAvg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + "," + b + "," + c;
}

struct Peer {
  std::unique_ptr<ike::Node> node;
  TimePoint deadline = kNever;  // cached NextDeadline() (the heap's entries may be stale)
  TimePoint mm1_at = kNever, up_at = kNever, last_tx = kNever, delete_at = kNever;
  bool killed = false;
};

struct Counters {
  uint64_t rx = 0, tx = 0, tx_dropped_killed = 0, tx_failed = 0;
  uint64_t rut_rx = 0;        // R-U-THEREs answered (kDpdAckSent) by live peers
  uint64_t dpd_sent = 0;      // the swarm's own R-U-THEREs
  uint64_t dpd_acks_rx = 0;   // ACKs to them
  uint64_t retransmits = 0, give_ups = 0, drops = 0, peers_dead = 0;
  uint64_t ike_up = 0, child_up = 0;
};

class Swarm {
 public:
  Swarm(Args a, std::string psk) : a_(std::move(a)), psk_(std::move(psk)) {}

  int Run() {
    auto loop = daemon::EventLoop::Create();
    if (!loop.has_value()) return Fail("event loop: " + loop.error());
    loop_ = std::move(loop).value();
    // The IKE port and the NAT-T port (a gateway that floats to 4500 -- charon with its userspace
    // ESP does -- goes on there; the engine handles the non-ESP marker).
    for (int k = 0; k < 2; ++k) {
      Endpoint bind{IpAddress::V4(0, 0, 0, 0), k == 0 ? a_.port : a_.natt_port};
      auto sock = daemon::UdpSocket::Open(bind);
      if (!sock.has_value()) return Fail("socket: " + sock.error());
      socks_[k] = std::move(sock).value();
      const int fd = socks_[k]->fd();
      const int one = 1;
      setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
      const int buf = 64 << 20;
      if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    }

    std::vector<config::Config> tmpls;
    for (const IpAddress& g : a_.gateways) {
      auto parsed = daemon::ParseStartupConfig(SwarmConfigText(a_, psk_, g));
      if (!parsed.has_value()) return Fail("swarm config: " + parsed.error());
      tmpls.push_back(std::move(parsed).value());
    }
    psk_.assign(psk_.size(), '\0');

    gw0_ = ReadGw(a_.gw_pid);
    const TimePoint t_cfg = daemon::MonoNow();
    peers_.resize(a_.peers);
    ike::NodeOptions opts;
    opts.ike_port = a_.port;
    opts.natt_port = a_.natt_port;
    const uint32_t base = a_.base.V4ToU32();
    for (uint32_t i = 0; i < a_.peers; ++i) {
      Peer& p = peers_[i];
      p.node = std::make_unique<ike::Node>(rng_, opts);
      config::Config& tmpl = tmpls[i / a_.per_gateway];
      tmpl.interfaces.front().address = IpAddress::V4FromU32(base + i);
      ike::Outbox out;
      p.node->SetConfig(tmpl, daemon::MonoNow(), out);
      Handle(i, out, daemon::MonoNow(), false);
      Rearm(i);
    }
    const double cfg_s = Secs(daemon::MonoNow() - t_cfg);
    self_cpu0_ = SelfCpu();
    if (!a_.quiet)
      std::fprintf(stderr, "swarm: %u peers configured in %.1f s\n", a_.peers, cfg_s);

    loop_->SetTimerHandler([this] { OnTimer(); });
    loop_->SetFlushHandler([this] { FlushSends(); });
    for (auto& sk : socks_) {
      daemon::UdpSocket* raw = sk.get();
      loop_->Watch(raw->fd(), EPOLLIN, [this, raw](uint32_t) { OnReadable(*raw); });
    }
    loop_->WatchSignals({SIGTERM, SIGINT}, [this](int) {
      interrupted_ = true;
      loop_->Stop();
    });

    start_ = daemon::MonoNow();
    start_epoch_ = std::chrono::duration<double>(daemon::WallNow().time_since_epoch()).count();
    end_ = start_ + ToDur(a_.duration);
    next_init_ = start_;
    // Bounded: the loop ends at --duration at the latest (the timer is never later than end_).
    while (!loop_->stopped()) {
      Phases(daemon::MonoNow());
      if (loop_->stopped()) break;
      ArmTimer();
      loop_->RunOnce(Millis(500));
    }
    FlushSends();
    Report();
    return 0;
  }

 private:
  static double Secs(Duration d) { return std::chrono::duration<double>(d).count(); }
  static Duration ToDur(double s) { return Micros(static_cast<int64_t>(s * 1e6)); }
  double Rel(TimePoint t) const { return t == kNever ? -1.0 : Secs(t - start_); }
  int Fail(const std::string& e) {
    std::fprintf(stderr, "ikepulse_swarm: %s\n", e.c_str());
    return 1;
  }

  void Rearm(uint32_t i) {
    Peer& p = peers_[i];
    const TimePoint d = p.node->NextDeadline();
    if (d == p.deadline) return;
    p.deadline = d;
    if (d != kNever) heap_.push({ToMicros(d), i});
  }

  // The outbox of a call on peer i: datagrams queued (unless the peer is killed), events counted.
  void Handle(uint32_t i, ike::Outbox& out, TimePoint now, bool from_datagram) {
    Peer& p = peers_[i];
    for (ike::Datagram& d : out.datagrams) {
      if (p.killed) {
        ++c_.tx_dropped_killed;
        continue;
      }
      // IKEv2: a datagram sent in answer to one received, once up, is a liveness answer (the
      // engine reports no event for it; nothing else is exchanged after IKE_AUTH here).
      if (a_.ikev2 && from_datagram && p.up_at != kNever) ++c_.rut_rx;
      if (p.mm1_at == kNever) {
        p.mm1_at = now;
        if (first_mm1_ == kNever) first_mm1_ = now;
      }
      p.last_tx = now;
      ++c_.tx;
      daemon::UdpSocket& sk = *socks_[d.local.port == a_.natt_port ? 1 : 0];
      sk.QueueSend(d.local, d.remote, d.data);
      if (sk.pending_sends() >= 1024) FlushSends();
    }
    for (const ike::Event& e : out.events) {
      switch (e.kind) {
        case ike::EventKind::kIkeSaUp: ++c_.ike_up; break;
        case ike::EventKind::kChildSaUp:
          if (p.up_at == kNever) {
            p.up_at = now;
            ++established_;
            last_up_ = now;
          }
          ++c_.child_up;
          break;
        case ike::EventKind::kIkeSaDown:
        case ike::EventKind::kChildSaDown:
          // A Delete from the gateway (or our own SA going away on a timer: counted too).
          if (p.up_at != kNever && p.delete_at == kNever && from_datagram) {
            p.delete_at = now;
            if (p.killed) ++killed_deleted_;
            else ++false_dead_;
          }
          break;
        case ike::EventKind::kDpdAckSent:
          if (!p.killed) ++c_.rut_rx;
          break;
        case ike::EventKind::kDpdSent:
          if (!p.killed) ++c_.dpd_sent;
          break;
        case ike::EventKind::kDpdAckReceived: ++c_.dpd_acks_rx; break;
        case ike::EventKind::kRetransmit: ++c_.retransmits; break;
        case ike::EventKind::kGiveUp: ++c_.give_ups; break;
        case ike::EventKind::kDrop: ++c_.drops; break;
        case ike::EventKind::kPeerDead: ++c_.peers_dead; break;
        default: break;
      }
    }
    out.Clear();
  }

  void FlushSends() {
    for (auto& sk : socks_)
      sk->FlushSends([this](const Endpoint&, const Endpoint&, int) { ++c_.tx_failed; });
  }

  void OnReadable(daemon::UdpSocket& sock) {
    const uint32_t base = a_.base.V4ToU32();
    ike::Outbox out;
    for (int batch = 0; batch < 8; ++batch) {
      if (sock.ReceiveBatch(rx_) != daemon::UdpSocket::RecvStatus::kOk) break;
      const TimePoint now = daemon::MonoNow();
      for (const auto& r : rx_) {
        if (r.truncated || r.local.ip.v6) continue;
        const uint32_t ip = r.local.ip.V4ToU32();
        if (ip < base || ip - base >= a_.peers) continue;
        const uint32_t i = ip - base;
        ++c_.rx;
        peers_[i].node->OnDatagram(now, r.local, r.remote, r.data, out);
        Handle(i, out, now, true);
        Rearm(i);
      }
      if (rx_.size() < daemon::UdpSocket::kBatch) break;
    }
  }

  void OnTimer() {
    const TimePoint now = daemon::MonoNow();
    ike::Outbox out;
    // Bounded per wakeup; the timer fires again at once if more is due.
    for (int n = 0; n < 4096 && !heap_.empty(); ++n) {
      const auto [when, i] = heap_.top();
      if (when > ToMicros(now)) break;
      heap_.pop();
      Peer& p = peers_[i];
      if (p.deadline != FromMicros(when)) continue;  // stale
      p.deadline = kNever;
      p.node->OnTimeout(now, out);
      Handle(i, out, now, false);
      Rearm(i);
    }
    // Initiations, paced.
    for (int n = 0; n < 512 && initiated_ < a_.peers && now >= next_init_; ++n) {
      const uint32_t i = initiated_++;
      peers_[i].node->Initiate(now, "sw", 1, out);
      Handle(i, out, now, false);
      Rearm(i);
      if (a_.rate > 0) next_init_ = start_ + ToDur(initiated_ / a_.rate);
    }
  }

  void ArmTimer() {
    TimePoint t = std::min(end_, phase_deadline_);
    if (!heap_.empty()) t = std::min(t, FromMicros(heap_.top().first));
    if (initiated_ < a_.peers) t = std::min(t, next_init_);
    loop_->SetTimer(t);
  }

  void Phases(TimePoint now) {
    if (now >= end_) {
      Progress(now, "duration limit reached");
      hit_duration_ = true;
      loop_->Stop();
      return;
    }
    if (!a_.quiet && now >= next_progress_) {
      next_progress_ = now + Seconds(5);
      Progress(now, nullptr);
    }
    switch (phase_) {
      case Phase::kSetup:
        if (established_ == a_.peers || now - start_ >= ToDur(a_.setup_timeout)) {
          setup_done_ = now;
          setup_all_ = established_ == a_.peers;
          Progress(now, setup_all_ ? "setup complete" : "setup timed out");
          phase_ = Phase::kSettle;
          phase_deadline_ = now + ToDur(a_.settle);
        }
        break;
      case Phase::kSettle:
        if (now >= phase_deadline_) {
          win_start_ = now;
          gw_w0_ = ReadGw(a_.gw_pid);
          c_w0_ = c_;
          self_w0_ = SelfCpu();
          phase_ = Phase::kWindow;
          phase_deadline_ = now + ToDur(a_.window);
          Progress(now, "steady-state window starts");
        }
        break;
      case Phase::kWindow:
        if (now >= phase_deadline_) {
          win_end_ = now;
          gw_w1_ = ReadGw(a_.gw_pid);
          c_w1_ = c_;
          self_w1_ = SelfCpu();
          Progress(now, "steady-state window ends");
          if (a_.kill_fraction <= 0) {
            loop_->Stop();
            return;
          }
          phase_ = Phase::kWaitKill;
          phase_deadline_ = a_.kill_at < 0 ? now : start_ + ToDur(a_.kill_at);
        }
        break;
      case Phase::kWaitKill:
        if (now >= phase_deadline_) {
          Kill(now);
          phase_ = Phase::kObserve;
          phase_deadline_ = now + ToDur(a_.observe);
        }
        break;
      case Phase::kObserve:
        if (killed_deleted_ >= killed_ || now >= phase_deadline_) {
          observe_end_ = now;
          Progress(now, "observation ends");
          loop_->Stop();
        }
        break;
    }
  }

  void Kill(TimePoint now) {
    // Every k-th established peer, k = round(1 / fraction).
    const uint32_t k = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(1.0 / a_.kill_fraction)));
    for (uint32_t i = k / 2; i < a_.peers; i += k) {
      if (peers_[i].up_at == kNever || peers_[i].delete_at != kNever) continue;
      peers_[i].killed = true;
      ++killed_;
    }
    kill_at_ = now;
    FlushSends();  // what is queued was sent before the kill
    char msg[96];
    std::snprintf(msg, sizeof msg, "killed %u peers", killed_);
    Progress(now, msg);
  }

  void Progress(TimePoint now, const char* what) {
    if (a_.quiet && !what) return;
    std::fprintf(stderr,
                 "swarm: t=%.1fs initiated=%u established=%u rx=%" PRIu64 " tx=%" PRIu64
                 " rtx=%" PRIu64 " dpd_answered=%" PRIu64 " killed=%u deleted_killed=%u "
                 "false_dead=%u%s%s\n",
                 Secs(now - start_), initiated_, established_, c_.rx, c_.tx, c_.retransmits,
                 c_.rut_rx, killed_, killed_deleted_, false_dead_, what ? ": " : "",
                 what ? what : "");
  }

  void Report() {
    std::printf("swarm_peers=%u\n", a_.peers);
    std::printf("ike_version=%d\n", a_.ikev2 ? 2 : 1);
    // The wall clock at t = 0 of the timeline (to line it up with a gateway's own log).
    std::printf("start_epoch=%.6f\n", start_epoch_);
    std::printf("group=%u\n", a_.group);
    std::printf("rate=%g\n", a_.rate);
    std::printf("loadavg=%s\n", LoadAvg().c_str());
    std::printf("established=%u\n", established_);
    std::printf("setup_all=%d\n", setup_all_ ? 1 : 0);
    const double setup_s = (first_mm1_ != kNever && last_up_ != kNever)
                               ? Secs(last_up_ - first_mm1_) : -1;
    std::printf("setup_s=%.3f\n", setup_s);
    std::printf("setup_rate_per_s=%.1f\n", setup_s > 0 ? established_ / setup_s : 0.0);
    std::printf("retransmits=%" PRIu64 "\n", c_.retransmits);
    std::printf("give_ups=%" PRIu64 "\n", c_.give_ups);
    std::printf("swarm_drops=%" PRIu64 "\n", c_.drops);
    std::printf("send_failures=%" PRIu64 "\n", c_.tx_failed);
    std::printf("interrupted=%d\n", interrupted_ ? 1 : 0);
    std::printf("hit_duration=%d\n", hit_duration_ ? 1 : 0);
    if (gw0_.ok) std::printf("gw_rss_before_kb=%.0f\n", gw0_.rss_kb);
    if (win_end_ != kNever) {
      const double w = Secs(win_end_ - win_start_);
      const uint64_t rut = c_w1_.rut_rx - c_w0_.rut_rx;
      const uint64_t own = c_w1_.dpd_sent - c_w0_.dpd_sent;
      const uint64_t own_acks = c_w1_.dpd_acks_rx - c_w0_.dpd_acks_rx;
      // Each answered R-U-THERE is two messages for the gateway (it sent one, received the ACK);
      // each R-U-THERE of the swarm's is one received, and each ACK to it one sent.
      // IKEv2: every datagram of the window is a liveness message the gateway sent or received.
      const uint64_t msgs = a_.ikev2 ? (c_w1_.rx - c_w0_.rx) + (c_w1_.tx - c_w0_.tx)
                                     : 2 * rut + own + own_acks;
      std::printf("window_s=%.3f\n", w);
      std::printf("window_rx=%" PRIu64 "\n", c_w1_.rx - c_w0_.rx);
      std::printf("window_tx=%" PRIu64 "\n", c_w1_.tx - c_w0_.tx);
      std::printf("window_retransmits=%" PRIu64 "\n", c_w1_.retransmits - c_w0_.retransmits);
      std::printf("window_gw_rut=%" PRIu64 "\n", rut);
      std::printf("window_gw_dpd_msgs=%" PRIu64 "\n", msgs);
      std::printf("window_swarm_cpu_s=%.3f\n", self_w1_ - self_w0_);
      if (gw_w0_.ok && gw_w1_.ok) {
        const double cpu = gw_w1_.cpu_s - gw_w0_.cpu_s;
        std::printf("gw_window_cpu_s=%.3f\n", cpu);
        std::printf("gw_cpu_share_pct=%.2f\n", 100.0 * cpu / w);
        std::printf("gw_cpu_per_dpd_msg_us=%.2f\n", msgs ? 1e6 * cpu / double(msgs) : -1.0);
        if (gw_w0_.run_s >= 0 && gw_w1_.run_s >= 0) {
          const double run = gw_w1_.run_s - gw_w0_.run_s;
          std::printf("gw_window_sched_s=%.4f\n", run);
          std::printf("gw_sched_share_pct=%.2f\n", 100.0 * run / w);
          std::printf("gw_sched_per_dpd_msg_us=%.2f\n", msgs ? 1e6 * run / double(msgs) : -1.0);
        }
        std::printf("gw_rss_after_setup_kb=%.0f\n", gw_w0_.rss_kb);
        if (gw0_.ok)
          std::printf("gw_rss_per_sa_b=%.0f\n",
                      1024.0 * (gw_w0_.rss_kb - gw0_.rss_kb) / std::max<uint32_t>(1, established_));
      }
    }
    std::printf("swarm_cpu_s=%.3f\n", SelfCpu() - self_cpu0_);
    std::printf("false_dead=%u\n", false_dead_);
    std::printf("swarm_peers_dead=%" PRIu64 "\n", c_.peers_dead);
    if (kill_at_ != kNever) {
      std::vector<double> det;
      for (const Peer& p : peers_) {
        if (p.killed && p.delete_at != kNever && p.last_tx != kNever)
          det.push_back(Secs(p.delete_at - p.last_tx));
      }
      std::sort(det.begin(), det.end());
      std::printf("killed=%u\n", killed_);
      std::printf("killed_detected=%zu\n", det.size());
      auto pct = [&](double q) { return det.empty() ? -1.0 : det[static_cast<size_t>(q * (det.size() - 1))]; };
      std::printf("detect_min_s=%.3f\n", pct(0));
      std::printf("detect_median_s=%.3f\n", pct(0.5));
      std::printf("detect_p99_s=%.3f\n", pct(0.99));
      std::printf("detect_max_s=%.3f\n", pct(1));
    }
    if (!a_.timeline.empty()) {
      FILE* f = std::fopen(a_.timeline.c_str(), "w");
      if (f) {
        std::fprintf(f, "index,address,killed,mm1_at_s,established_at_s,last_tx_s,delete_at_s\n");
        const uint32_t base = a_.base.V4ToU32();
        for (uint32_t i = 0; i < a_.peers; ++i) {
          const Peer& p = peers_[i];
          std::fprintf(f, "%u,%s,%d,%.6f,%.6f,%.6f,%.6f\n", i,
                       IpAddress::V4FromU32(base + i).ToString().c_str(), p.killed ? 1 : 0,
                       Rel(p.mm1_at), Rel(p.up_at), Rel(p.last_tx), Rel(p.delete_at));
        }
        std::fclose(f);
      }
    }
    std::fflush(stdout);
  }

  enum class Phase { kSetup, kSettle, kWindow, kWaitKill, kObserve };

  Args a_;
  std::string psk_;
  crypto::OpenSslRandom rng_;
  std::unique_ptr<daemon::EventLoop> loop_;
  std::unique_ptr<daemon::UdpSocket> socks_[2];  // IKE port, NAT-T port
  std::vector<daemon::UdpSocket::Received> rx_;
  std::vector<Peer> peers_;
  using HeapEntry = std::pair<int64_t, uint32_t>;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
  Counters c_, c_w0_, c_w1_;
  Phase phase_ = Phase::kSetup;
  TimePoint start_{}, end_{}, next_init_{}, phase_deadline_ = kNever, next_progress_{};
  TimePoint first_mm1_ = kNever, last_up_ = kNever, setup_done_ = kNever;
  TimePoint win_start_ = kNever, win_end_ = kNever, kill_at_ = kNever, observe_end_ = kNever;
  uint32_t initiated_ = 0, established_ = 0, killed_ = 0, killed_deleted_ = 0, false_dead_ = 0;
  bool setup_all_ = false, interrupted_ = false, hit_duration_ = false;
  GwStat gw0_, gw_w0_, gw_w1_;
  double start_epoch_ = 0;
  double self_cpu0_ = 0, self_w0_ = 0, self_w1_ = 0;
};

}  // namespace
}  // namespace ikepulse

int main(int argc, char** argv) {
  ikepulse::Args a = ikepulse::Parse(argc, argv);
  std::string psk;
  {
    std::ifstream f(a.psk_file);
    if (!f || !std::getline(f, psk) || psk.empty()) {
      std::fprintf(stderr, "ikepulse_swarm: cannot read a key from --psk-file\n");
      return 2;
    }
  }
  std::setvbuf(stderr, nullptr, _IOLBF, 0);
  ikepulse::Swarm s(std::move(a), std::move(psk));
  return s.Run();
}
