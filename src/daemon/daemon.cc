#include "daemon/daemon.h"

#include <sys/epoll.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "crypto/crypto.h"
#include "daemon/atomic_file.h"
#include "daemon/backend_impl.h"
#include "daemon/event_loop.h"
#include "daemon/logger.h"
#include "daemon/metrics_text.h"
#include "daemon/real_clock.h"
#include "daemon/udp_socket.h"
#include "ike/node.h"
#include "ike/outbox.h"
#ifdef IKEPULSE_HAVE_METRICS
#include "daemon/metrics_server.h"
#endif

#ifdef IKEPULSE_HAVE_CLI
#include "cli/cli.h"
#endif
#ifdef IKEPULSE_HAVE_DATAPLANE
#include <set>

#include "common/buffered_random.h"
#include "dataplane/child_changes.h"
#include "dataplane/dataplane.h"
#include "dataplane/raw_esp.h"
#include "dataplane/tun.h"
#include "dataplane/udp_encap.h"
#endif
#ifdef IKEPULSE_HAVE_PING
#include "daemon/ping_service.h"
#endif
#ifdef IKEPULSE_HAVE_CONTROL
#include "cli/cli.h"
#include "cli/session.h"
#include "daemon/control_server.h"
#endif

namespace ikepulse::daemon {

Result<config::Config, std::string> ParseStartupConfig(const std::string& text) {
#ifdef IKEPULSE_HAVE_CLI
  auto parsed = cli::ParseConfigText(text);
  if (!parsed.has_value()) {
    const cli::CliError& e = parsed.error();
    return Unexpected("line " + std::to_string(e.line) + ", column " + std::to_string(e.column) +
                      ": " + e.message);
  }
  return std::move(parsed).value();
#else
  if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
    return Unexpected(std::string("this build has no configuration parser (src/cli missing)"));
  }
  return config::Config{};
#endif
}

std::string Usage() {
  return "usage: ikepulsed -f <startup-config> [--log <file>] [--socket <control-socket>]\n"
         "                 [--foreground] [--debug] [--listen <addr>]... [--ike-port <n>]\n"
         "                 [--natt-port <n>] [--tun <name>] [--no-dataplane]\n"
         "       ikepulsed --version\n";
}

Result<DaemonOptions, std::string> ParseArgs(int argc, char** argv) {
  DaemonOptions o;
  auto port = [](const std::string& s, uint16_t& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || v == 0 || v > 65535) return false;
    out = static_cast<uint16_t>(v);
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-f" || a == "--config") {
      if (!value(o.config_path)) return Unexpected(a + " needs a file\n" + Usage());
    } else if (a == "--log") {
      if (!value(o.log_file)) return Unexpected(a + " needs a file\n" + Usage());
    } else if (a == "--socket") {
      if (!value(o.socket_path)) return Unexpected(a + " needs a path\n" + Usage());
    } else if (a == "--foreground") {
      o.foreground = true;
    } else if (a == "--debug") {
      o.debug = true;
    } else if (a == "--listen") {
      if (!value(v)) return Unexpected(a + " needs an address\n" + Usage());
      auto ip = IpAddress::Parse(v);
      if (!ip) return Unexpected("bad --listen address: " + v);
      o.listen.push_back(*ip);
    } else if (a == "--ike-port") {
      if (!value(v) || !port(v, o.ike_port)) return Unexpected("bad --ike-port\n" + Usage());
    } else if (a == "--natt-port") {
      if (!value(v) || !port(v, o.natt_port)) return Unexpected("bad --natt-port\n" + Usage());
    } else if (a == "--tun") {
      if (!value(o.tun_name) || o.tun_name.empty() || o.tun_name.size() > 15)
        return Unexpected("bad --tun name\n" + Usage());
    } else if (a == "--no-dataplane") {
      o.dataplane = false;
    } else if (a == "-h" || a == "--help") {
      return Unexpected(Usage());
    } else {
      return Unexpected("unknown option " + a + "\n" + Usage());
    }
  }
  if (o.config_path.empty()) return Unexpected("-f <startup-config> is required\n" + Usage());
  return o;
}

// The event loop's timer grid (EventLoop::SetTimerGrid).
constexpr Duration kTimerGrid = Millis(4);

class DaemonImpl {
 public:
  DaemonImpl(DaemonOptions opts, std::unique_ptr<EventLoop> loop)
      : opts_(std::move(opts)),
        loop_(std::move(loop)),
        logger_(Logger::Options{opts_.log_file, opts_.foreground, !opts_.foreground}),
        node_(node_rng_, NodeOpts(opts_)),
        backend_(node_, BackendContext()) {}

  std::optional<std::string> Init(const config::Config& initial) {
    if (!logger_.ok()) return logger_.error();
    node_.SetDebug(opts_.debug);
    loop_->SetTimerHandler([this] { OnTimer(); });
    // The deadlines of SAs that fall in the same 4 ms share one wakeup: at 100,000 SAs with
    // keepalive 10, ten thousand R-U-THEREs a second go out some 40 to a wakeup instead of one
    // or two. A timer is at most 4 ms late (a verdict at T0+20.004 s), never early.
    loop_->SetTimerGrid(kTimerGrid);
    loop_->SetFlushHandler([this] { FlushSends(); });
    if (!loop_->WatchSignals({SIGTERM, SIGINT, SIGHUP}, [this](int s) { OnSignal(s); })) {
      return std::string("signalfd: ") + std::strerror(errno);
    }
    std::signal(SIGPIPE, SIG_IGN);
    if (auto err = StartControl()) return err;
    StartDataplane();
    logger_.Line("%IKEPULSE-5-STARTED: ikepulsed starting from " + opts_.config_path);
    backend_.ApplyConfig(initial);  // binds the sockets first
    if (sockets_.empty()) return std::string("no UDP socket could be bound");
    return std::nullopt;
  }

  int Run() {
    loop_->Run();
    return exit_code_;
  }

 private:
  BackendImpl::Context BackendContext() {
    BackendImpl::Context c{[] { return MonoNow(); },
                           [this](ike::Outbox& out) { Flush(out); },
                           [this](const config::Config& cfg) { ReconcileSockets(cfg); },
                           opts_.config_path, MonoNow(), &logger_, AclMatchesFn()};
#ifdef IKEPULSE_HAVE_PING
    c.start_ping = [this](const cli::PingRequest& r) { return StartPing(r); };
    c.ping_progress = [this](uint64_t h) { return PingProgress(h); };
    c.stop_ping = [this](uint64_t h) { StopPing(h); };
#endif
    return c;
  }

  std::function<std::vector<uint64_t>(const std::string&)> AclMatchesFn() {
#ifdef IKEPULSE_HAVE_DATAPLANE
    return [this](const std::string& name) { return dp_.policy().AclMatches(name); };
#else
    return nullptr;
#endif
  }

  static ike::NodeOptions NodeOpts(const DaemonOptions& o) {
    ike::NodeOptions n;
    n.ike_port = o.ike_port;
    n.natt_port = o.natt_port;
    return n;
  }

  void Rearm() {
    loop_->SetTimer(std::min(
        {node_.NextDeadline(), PingDeadline(), MetricsDeadline(), RxPollDeadline()}));
  }

  // --- `ikepulse metrics listen A P` (daemon/metrics_server.h) ------------------------------
  TimePoint MetricsDeadline() const {
#ifdef IKEPULSE_HAVE_METRICS
    if (metrics_) return metrics_->NextDeadline(MonoNow());
#endif
    return kNever;
  }

  std::string RenderMetrics() {
    MetricsSnapshot s = SnapshotOf(node_, MonoNow());
#ifdef IKEPULSE_HAVE_CONTROL
    if (control_) s.control_clients = control_->connection_count();
#endif
    s.sockets_polled = rx_polled_;
    s.socket_poll_switches = rx_poll_entries_;
    s.scrapes = ++metrics_scrapes_;
    return RenderPrometheus(s);
  }

  // Starts, moves or stops the metrics endpoint to match the configuration. A failure (an
  // address not on this host, a port in use) is logged once; the configuration line stays, as
  // IOS keeps `ip http server` when its port cannot be opened, and is tried again once the
  // endpoint is changed (or removed with `no ikepulse metrics listen` and entered again).
  void ReconcileMetrics(const config::Config& c) {
#ifdef IKEPULSE_HAVE_METRICS
    const Endpoint want{c.metrics_address, c.metrics_port};
    if (metrics_ && (c.metrics_port == 0 || !(metrics_->endpoint() == want))) {
      loop_->Unwatch(metrics_->fd());
      logger_.Line("%IKEPULSE-5-METRICS: stopped serving metrics on " +
                   metrics_->endpoint().ToString());
      metrics_.reset();
    }
    if (c.metrics_port == 0 || metrics_ || (metrics_failed_ && *metrics_failed_ == want)) return;
    auto m = MetricsServer::Start(want, [this] { return RenderMetrics(); });
    if (!m) {
      metrics_failed_ = want;
      logger_.Line("%IKEPULSE-3-METRICS: cannot serve metrics on " + want.ToString() + ": " +
                   m.error());
      return;
    }
    metrics_failed_.reset();
    metrics_ = std::move(*m);
    loop_->Watch(metrics_->fd(), EPOLLIN, [this](uint32_t) {
      metrics_->Run();
      Rearm();
    });
    logger_.Line("%IKEPULSE-5-METRICS: serving Prometheus metrics on http://" + want.ToString() +
                 "/metrics");
#else
    if (c.metrics_port != 0)
      logger_.Line("%IKEPULSE-3-METRICS: built without libmicrohttpd: no metrics endpoint");
#endif
  }

  // --- `ping` (daemon/ping_service.h): echoes injected into the data plane's outbound path
  // as if read from the TUN; their replies taken from the decrypted inbound packets. -------
  TimePoint PingDeadline() const {
#ifdef IKEPULSE_HAVE_PING
    return ping_.NextDeadline();
#else
    return kNever;
#endif
  }

#ifdef IKEPULSE_HAVE_PING
  Result<uint64_t, std::string> StartPing(const cli::PingRequest& request) {
    if (!tun_) {
      return MakeUnexpected(std::string("% Ping needs the data plane (ikepulsed runs without it)"));
    }
    std::vector<Bytes> echoes;
    auto classify = [this](const IpAddress& src, const IpAddress& dst) {
      return dp_.policy().LookupUncached(src, dst, /*protocol=*/1);
    };
    auto h = ping_.Start(MonoNow(), request, backend_.Running(), classify, echoes);
    if (h.has_value()) InjectEchoes(echoes);
    return h;
  }
  std::optional<cli::PingStatus> PingProgress(uint64_t handle) { return ping_.Progress(handle); }
  void StopPing(uint64_t handle) { ping_.Stop(handle); }

  void InjectEchoes(const std::vector<Bytes>& echoes) {
    if (echoes.empty()) return;
    const TimePoint now = MonoNow();
    for (const Bytes& e : echoes) dp_.OnTunPacket(now, e, dpo_);
    DrainDataplane();
    Rearm();  // the echo's timeout, even when the data plane had nothing to do
  }

  void OnPingTimer(TimePoint now) {
    if (now < ping_.NextDeadline()) return;
    std::vector<Bytes> echoes;
    ping_.OnTimer(now, echoes);
    InjectEchoes(echoes);
    NotePingProgress();
  }

  // Lets the control server's sessions print what the pings did.
  void NotePingProgress() {
    if (ping_.changes() == ping_seen_) return;
    ping_seen_ = ping_.changes();
#ifdef IKEPULSE_HAVE_CONTROL
    if (control_) control_->Poll();
#endif
  }
#endif

  // Sends and logs what the engine put in `out`, and re-arms the timer unless `rearm` is false
  // or the timer handler runs (then the caller re-arms once, after its batch: a re-arm is a
  // timerfd_settime whenever the deadline moved).
  void Flush(ike::Outbox& out, bool rearm = true) {
    for (const ike::Datagram& d : out.datagrams) SendOne(d);
    const bool debug = node_.debug();
    bool children_changed = false;
    for (const ike::Event& e : out.events) {
      logger_.Event(e, debug);
      children_changed |= NoteDataplaneChange(e);
    }
    out.Clear();
    if (rearm && !in_timer_) Rearm();
    if (children_changed || dp_config_changed_ || dp_policy_changed_) SyncDataplane();
  }

  // --- Userspace ESP data plane (src/dataplane): TUN <-> ESP-in-UDP / raw ESP. ----------
  // The engine's IPsec SAs are synced into it whenever they change; its signals go back to
  // the engine (interesting traffic brings a tunnel up; per-SA traffic feeds the counters
  // and on-demand DPD; kilobyte lifetimes rekey).
  void StartDataplane() {
#ifdef IKEPULSE_HAVE_DATAPLANE
    if (!opts_.dataplane) return;
    auto t = dataplane::TunDevice::Open(opts_.tun_name);
    if (!t.has_value()) {
      logger_.Line("%IKEPULSE-4-DATAPLANE: no data plane: TUN " + opts_.tun_name + ": " +
                   t.error().ToString());
      return;
    }
    tun_.emplace(std::move(t).value());
    if (auto up = tun_->SetUp(1400); !up.has_value())
      logger_.Line("%IKEPULSE-4-DATAPLANE: TUN " + opts_.tun_name + " up: " + up.error().ToString());
    loop_->Watch(tun_->fd(), EPOLLIN, [this](uint32_t) { OnTun(); });
    // Raw ESP: one socket per family; a send goes out on the peer's.
    for (const bool v6 : {false, true}) {
      auto r = dataplane::RawEspSocket::Open(v6, std::nullopt);
      std::optional<dataplane::RawEspSocket>& raw = v6 ? raw6_ : raw_;
      if (r.has_value()) {
        raw.emplace(std::move(r).value());
        loop_->Watch(raw->fd(), EPOLLIN, [this, &raw](uint32_t) { OnRawEsp(*raw); });
      } else {
        logger_.Line(std::string("%IKEPULSE-4-DATAPLANE: no raw ESP socket for ") +
                     (v6 ? "IPv6" : "IPv4") + " (" + r.error().ToString() +
                     "): only UDP-encapsulated ESP");
      }
    }
    tx_buf_.resize(65536);
    dp_config_changed_ = true;
    logger_.Line("%IKEPULSE-5-DATAPLANE: userspace ESP on " + opts_.tun_name);
#endif
  }

  // Which IPsec SA pairs an engine event may have changed (dataplane::ChildSaChanges, read
  // at the next SyncDataplane); true if any.
  bool NoteDataplaneChange(const ike::Event& e) {
#ifdef IKEPULSE_HAVE_DATAPLANE
    return tun_ && dp_changes_.Note(e, node_, dp_.sa_db());
#else
    (void)e;
    return false;
#endif
  }

#ifdef IKEPULSE_HAVE_DATAPLANE
  // The pairs the data plane now holds no longer need the engine's copy of their keys.
  void HandOverKeys(const std::vector<ike::ChildSaSnapshot>& sas) {
    std::vector<uint32_t> installed;
    for (const ike::ChildSaSnapshot& s : sas)
      if (!s.keys_handed_over && dp_.sa_db().Holds(s.spi_in)) installed.push_back(s.spi_in);
    if (!installed.empty()) node_.HandOverChildKeys(installed);
  }
#endif

  // Brings the data plane and the TUN routes up to date with the engine. The first time: a
  // full Sync from node_.ChildSas (O(all SAs)). After a configuration change: the policy and
  // the config's routes only (DataPlane::SetConfig, TunRouteSet::SetConfig), since the SAs
  // a change deletes come as engine events like any other. Then the pairs noted in
  // dp_changes_ are re-read from the engine and updated (DataPlane::Update, TunRouteSet):
  // O(changed), so neither a mass setup of N SAs nor a configuration line is O(N).
  void SyncDataplane() {
#ifdef IKEPULSE_HAVE_DATAPLANE
    if (!tun_) return;
    const TimePoint now = MonoNow();
    const config::Config& cfg = backend_.Running();
    std::vector<dataplane::TunRoute> touched;
    if (dp_config_changed_) {
      dp_config_changed_ = dp_policy_changed_ = false;
      dp_changes_.Clear();
      const std::vector<ike::ChildSaSnapshot> sas =
          node_.ChildSas(now, ike::SnapshotKeys::kInclude);
      dp_.Sync(now, cfg, sas, dpo_);
      HandOverKeys(sas);
      dp_routes_.Reset(cfg, sas);
      touched.assign(routes_.begin(), routes_.end());
      const std::set<dataplane::TunRoute> want = dp_routes_.Wanted();
      touched.insert(touched.end(), want.begin(), want.end());
    } else {
      if (dp_policy_changed_) {
        dp_policy_changed_ = false;
        dp_.SetConfig(now, cfg, dpo_);
        dp_routes_.SetConfig(cfg, touched);
      }
      std::vector<ike::ChildSaSnapshot> changed;
      std::vector<uint32_t> removed;
      dp_changes_.Resolve(node_, now, changed, removed);
      dp_.Update(now, cfg, changed, removed, dpo_);
      HandOverKeys(changed);
      for (uint32_t spi : removed) dp_routes_.Remove(spi, touched);
      for (const ike::ChildSaSnapshot& s : changed) dp_routes_.Upsert(s, touched);
    }
    // Routes into the TUN (dataplane::TunRouteSet, as dataplane::TunRoutes): the crypto map
    // ACLs' remote networks and the SAs' remote proxy networks. Of the routes touched, remove
    // those no longer wanted, then install the new ones.
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (const dataplane::TunRoute& rt : touched) {
      if (dp_routes_.Wants(rt) || !routes_.count(rt)) continue;
      if (auto r = tun_->DelRoute(rt.net, static_cast<uint8_t>(rt.len)); !r.has_value())
        logger_.Line("%IKEPULSE-4-DATAPLANE: remove route " + rt.net.ToString() + "/" +
                     std::to_string(rt.len) + ": " + r.error().ToString());
      routes_.erase(rt);
    }
    for (const dataplane::TunRoute& rt : touched) {
      if (!dp_routes_.Wants(rt)) continue;
      if (!routes_.insert(rt).second) continue;  // a failed add is not retried every sync
      if (auto r = tun_->AddRoute(rt.net, static_cast<uint8_t>(rt.len)); !r.has_value())
        logger_.Line("%IKEPULSE-4-DATAPLANE: route " + rt.net.ToString() + "/" +
                     std::to_string(rt.len) + ": " + r.error().ToString());
    }
    DrainDataplane();
#endif
  }

#ifdef IKEPULSE_HAVE_DATAPLANE
  void DrainDataplane() {
    if (dp_draining_) return;  // the outer call picks up what inner calls added
    dp_draining_ = true;
    for (int round = 0; round < 8; ++round) {
      if (dpo_.esp_datagrams.empty() && dpo_.raw_esp.empty() && dpo_.to_tun.empty() &&
          dpo_.signals.empty())
        break;
      dataplane::DataPlane::Out o = std::move(dpo_);
      dpo_.Clear();
      for (const ike::Datagram& d : o.esp_datagrams) SendOne(d);
      for (const ike::Datagram& d : o.raw_esp) {
        std::optional<dataplane::RawEspSocket>& raw = d.remote.ip.v6 ? raw6_ : raw_;
        if (raw) (void)raw->Send(d.remote.ip, d.data);
      }
      const TimePoint now = MonoNow();
#ifdef IKEPULSE_HAVE_PING
      // Echo replies to our pings end here; the next echoes go out in the next round.
      std::vector<Bytes> echoes;
      for (const Bytes& p : o.to_tun)
        if (!ping_.OnPacket(now, p, echoes)) (void)tun_->Write(p);
      for (const Bytes& e : echoes) dp_.OnTunPacket(now, e, dpo_);
#else
      for (const Bytes& p : o.to_tun) (void)tun_->Write(p);
#endif
      ike::Outbox out;
      for (const dataplane::Signal& sig : o.signals) {
        switch (sig.kind) {
          case dataplane::Signal::Kind::kOutboundTraffic:
            node_.OnOutboundTraffic(now, sig.entry.map_name, sig.entry.seq, out);
            break;
          case dataplane::Signal::Kind::kChildTraffic:
            node_.OnChildTraffic(now, sig.spi, sig.inbound, sig.bytes, out);
            break;
          case dataplane::Signal::Kind::kLifetimeSoft:
          case dataplane::Signal::Kind::kLifetimeHard:
            node_.OnChildLifetime(now, sig.spi,
                                  sig.kind == dataplane::Signal::Kind::kLifetimeHard, out);
            break;
        }
      }
      Flush(out);
    }
    dp_draining_ = false;
#ifdef IKEPULSE_HAVE_PING
    NotePingProgress();
#endif
  }

  void OnTun() {
    const TimePoint now = MonoNow();
    for (int i = 0; i < 64; ++i) {
      auto n = tun_->Read(tx_buf_);
      if (!n.has_value() || *n == 0) break;
      dp_.OnTunPacket(now, ByteSpan(tx_buf_.data(), *n), dpo_);
    }
    DrainDataplane();
  }

  void OnRawEsp(dataplane::RawEspSocket& raw) {
    for (int i = 0; i < 64; ++i) {
      auto r = raw.Receive(tx_buf_);
      if (!r.has_value() || !r->has_value()) break;
      const auto& got = **r;
      dp_.OnEspDatagram(MonoNow(), Endpoint{got.dst, 0}, Endpoint{got.src, 0}, got.esp, dpo_);
    }
    DrainDataplane();
  }
#endif

  UdpSocket* SocketFor(const Endpoint& local) {
    auto it = sockets_.find(local);
    if (it != sockets_.end()) return it->second.get();
    UdpSocket* fallback = nullptr;
    for (auto& [ep, s] : sockets_) {
      if (ep.port != local.port || ep.ip.v6 != local.ip.v6) continue;
      if (s->wildcard()) return s.get();
      if (!fallback) fallback = s.get();
    }
    return fallback;
  }

  // Queued on its socket; the event loop's flush handler sends each socket's queue with one
  // sendmmsg per batch of events (FlushSends).
  void SendOne(const ike::Datagram& d) {
    UdpSocket* s = SocketFor(d.local);
    if (s == nullptr) {
      NoteSendFailure(d.local, d.remote, "no socket");
      return;
    }
    s->QueueSend(d.local, d.remote, d.data);
  }

  void FlushSends() {
    for (auto& [ep, s] : sockets_) {
      if (s->pending_sends() == 0) continue;
      s->FlushSends([this](const Endpoint& local, const Endpoint& remote, int err) {
        NoteSendFailure(local, remote, std::strerror(err));
      });
    }
  }

  void NoteSendFailure(const Endpoint& local, const Endpoint& remote, const std::string& why) {
    ++send_errors_;
    // Rate-limit: the first error and then every 1000th.
    if (send_errors_ % 1000 == 1) {
      logger_.Line("%IKEPULSE-4-SEND_FAILED: cannot send to " + remote.ToString() + " from " +
                   local.ToString() + ": " + why);
    }
  }

  // --- Receiving under load: from wakeups to the timer grid -----------------------------
  // A readable socket wakes the loop for every datagram that arrives on its own. At 100,000
  // SAs with keepalive 10, ten thousand R-U-THERE-ACKs a second arrive spread out, and such a
  // wakeup (two context switches) costs more than the engine's work on the datagram. So a
  // socket that becomes readable again within one timer grid (kTimerGrid) of its last
  // wakeup leaves epoll and is read on the grid instead: at each timer wakeup, before the
  // engine's timeouts of that instant, so a datagram that arrived before a deadline is seen
  // before it. A datagram waits at most one grid (4 ms) more. The socket goes back to epoll
  // when a tick finds it empty (the load is gone) or full (a tick's bound read: then every
  // wakeup carries full batches anyway, and polling would cap the rate). Not the NAT-T
  // socket while the data plane runs: ESP-in-UDP shares it and is never delayed.
  struct RxPoll {
    std::optional<TimePoint> last_ready;  // the last epoll wakeup for this socket
    bool pollable = true;
    bool polled = false;  // out of epoll, read on the grid
  };
  static constexpr int kPollBatches = 8;  // per socket per tick: 256 datagrams

  TimePoint RxPollDeadline() const {
    return rx_polled_ > 0 ? MonoNow() + Micros(1) : kNever;  // the next grid tick
  }

  // Watched by epoll: readiness wakes the loop.
  void WatchSocket(UdpSocket* s) {
    loop_->Watch(s->fd(), EPOLLIN, [this, s](uint32_t) { OnReadable(s); });
  }

  void OnReadable(UdpSocket* s) {
    const TimePoint now = MonoNow();
    Receive(s, 2);
    auto it = rx_poll_.find(s);
    if (it == rx_poll_.end()) return;
    RxPoll& p = it->second;
    const bool again = p.last_ready && now - *p.last_ready < kTimerGrid;
    p.last_ready = now;
    if (!again || !p.pollable) return;
    loop_->Unwatch(s->fd());
    p.polled = true;
    ++rx_polled_;
    ++rx_poll_entries_;
    Rearm();
  }

  // The timer's first step: reads the polled sockets.
  void PollSockets() {
    if (rx_polled_ == 0) return;
    for (auto& [s, p] : rx_poll_) {
      if (!p.polled) continue;
      const size_t n = Receive(s, kPollBatches);
      if (n != 0 && n < kPollBatches * UdpSocket::kBatch) continue;
      p.polled = false;
      p.last_ready.reset();
      --rx_polled_;
      WatchSocket(s);
    }
  }

  // Reads and handles up to `batches` batches of UdpSocket::kBatch datagrams (one recvmmsg
  // each; the datagrams are views into the socket's own buffers); returns how many were read.
  // Bounded: a socket with more is read again at the next wakeup (epoll is level-triggered)
  // or tick.
  size_t Receive(UdpSocket* s, int batches) {
    size_t got = 0;
    ike::Outbox& out = rx_out_;
    for (int batch = 0; batch < batches; ++batch) {
      if (s->ReceiveBatch(rx_batch_) != UdpSocket::RecvStatus::kOk) break;
      got += rx_batch_.size();
      for (const UdpSocket::Received& r : rx_batch_) {
        if (r.truncated) {
          ++rx_truncated_;
          if (node_.debug())
            logger_.Line("%IKEPULSE-7-DROP: datagram from " + r.remote.ToString() +
                         " longer than " + std::to_string(UdpSocket::kSlot) + " bytes dropped");
          continue;
        }
#ifdef IKEPULSE_HAVE_DATAPLANE
        if (tun_ && r.local.port == opts_.natt_port &&
            dataplane::ClassifyNattDatagram(r.data) == dataplane::NattKind::kEsp) {
          dp_.OnEspDatagram(MonoNow(), r.local, r.remote, r.data, dpo_);
          DrainDataplane();
          continue;
        }
#endif
        node_.OnDatagram(MonoNow(), r.local, r.remote, r.data, out);
        Flush(out, /*rearm=*/false);
      }
      if (rx_batch_.size() < UdpSocket::kBatch) break;
    }
    if (got != 0 && !in_timer_) Rearm();
    return got;
  }

  void OnTimer() {
    in_timer_ = true;
    PollSockets();
    const TimePoint now = MonoNow();
#ifdef IKEPULSE_HAVE_METRICS
    if (metrics_ && now >= metrics_->NextDeadline(now)) metrics_->Run();  // idle timeouts
#endif
    if (now >= node_.NextDeadline()) {
      node_.OnTimeout(now, timer_out_);
      Flush(timer_out_);
    }
#ifdef IKEPULSE_HAVE_PING
    OnPingTimer(now);
#endif
    in_timer_ = false;
    Rearm();
  }

  void OnSignal(int signo) {
    if (signo == SIGHUP) {
      logger_.Reopen();
      auto text = ReadWholeFile(opts_.config_path);
      if (!text) {
        logger_.Line("%IKEPULSE-3-CONFIG: cannot read " + opts_.config_path);
        return;
      }
      auto cfg = ParseStartupConfig(*text);
      if (!cfg.has_value()) {
        logger_.Line("%IKEPULSE-3-CONFIG: " + opts_.config_path + " " + cfg.error() +
                     " (configuration unchanged)");
        return;
      }
      backend_.ApplyConfig(*cfg);
      logger_.Line("%SYS-5-CONFIG_I: Configured from " + opts_.config_path + " (SIGHUP)");
      return;
    }
    logger_.Line("%IKEPULSE-5-STOPPING: signal " + std::to_string(signo) +
                 ", deleting all SAs");
    // First stop `keep-up` entries from coming back, then delete everything (Delete
    // notifications go out on the sockets before the loop ends).
    config::Config quiet = backend_.Running();
    for (size_t i = 0; i < quiet.crypto_maps.size(); ++i)
      if (quiet.crypto_maps[i].keep_up) quiet.crypto_maps.Mut(i).keep_up = false;
    ike::Outbox out;
    node_.SetConfig(quiet, MonoNow(), out);
    node_.Clear(MonoNow(), ike::ClearFilter{}, out);
    Flush(out);
    loop_->Stop();
  }

  std::vector<Endpoint> WantedEndpoints(const config::Config& c) const {
    std::vector<IpAddress> ips = opts_.listen;
    if (ips.empty()) {
      for (const config::Interface& i : c.interfaces) {
        if (i.address && !i.shutdown) ips.push_back(*i.address);
      }
    }
    if (ips.empty()) {
      IpAddress v6;
      v6.v6 = true;
      ips = {IpAddress{}, v6};
    }
    std::vector<Endpoint> out;
    for (const IpAddress& ip : ips) {
      out.push_back(Endpoint{ip, opts_.ike_port});
      if (opts_.natt_port != opts_.ike_port) out.push_back(Endpoint{ip, opts_.natt_port});
    }
    return out;
  }

  void ReconcileSockets(const config::Config& c) {
    ReconcileMetrics(c);
    dp_policy_changed_ = true;  // the data plane re-reads the crypto map ACLs at the next Flush
    FlushSends();  // what is queued leaves before a socket closes
    const std::vector<Endpoint> wanted = WantedEndpoints(c);
    for (auto it = sockets_.begin(); it != sockets_.end();) {
      bool keep = false;
      for (const Endpoint& w : wanted) keep |= w == it->first;
      if (keep) {
        ++it;
        continue;
      }
      loop_->Unwatch(it->second->fd());
      if (auto p = rx_poll_.find(it->second.get()); p != rx_poll_.end()) {
        if (p->second.polled) --rx_polled_;
        rx_poll_.erase(p);
      }
      it = sockets_.erase(it);
    }
    for (const Endpoint& w : wanted) {
      if (sockets_.count(w)) continue;
      auto s = UdpSocket::Open(w);
      if (!s.has_value()) {
        logger_.Line("%IKEPULSE-3-BIND: " + s.error());
        continue;
      }
      UdpSocket* raw = s.value().get();
      WatchSocket(raw);
      RxPoll p;
#ifdef IKEPULSE_HAVE_DATAPLANE
      p.pollable = !(tun_ && w.port == opts_.natt_port);
#endif
      rx_poll_.emplace(raw, p);
      sockets_.emplace(w, std::move(s).value());
    }
  }

  std::optional<std::string> StartControl() {
#ifdef IKEPULSE_HAVE_CONTROL
    if (opts_.socket_path.empty() || opts_.socket_path == "none") return std::nullopt;
    const size_t slash = opts_.socket_path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      mkdir(opts_.socket_path.substr(0, slash).c_str(), 0755);  // EEXIST is fine
    }
    ControlServer::Options co;
    co.socket_path = opts_.socket_path;
    co.json = [this](cli::Session&, std::string_view line) {
      ControlServer::JsonOutput o;
      o.text = cli::ShowJson(backend_, line);
      o.error = o.text.rfind("{\"error\"", 0) == 0;
      return o;
    };
    co.on_write_interest = [this](int fd, bool want) {
      loop_->Modify(fd, EPOLLIN | (want ? EPOLLOUT : 0u));
    };
    auto created = ControlServer::Create(
        std::move(co), [this] { return std::make_unique<cli::Session>(backend_); },
        [this](int fd, bool add) {
          if (add) {
            loop_->Watch(fd, EPOLLIN, [this, fd](uint32_t ev) { OnControl(fd, ev); });
          } else {
            loop_->Unwatch(fd);
          }
        });
    if (!created.has_value()) return "control socket: " + created.error();
    control_ = std::move(created).value();
    const int lfd = control_->listen_fd();
    loop_->Watch(lfd, EPOLLIN, [this, lfd](uint32_t) { control_->OnReadable(lfd); });
    logger_.set_monitor([this](std::string_view line) { control_->Broadcast(line); });
    // Streamed shows: a page per loop turn, between packets and timers.
    loop_->SetIdleWork([this] { return control_->StepStreams(); });
#endif
    return std::nullopt;
  }

#ifdef IKEPULSE_HAVE_CONTROL
  void OnControl(int fd, uint32_t ev) {
    if (ev & EPOLLOUT) control_->OnWritable(fd);
    // The fd may have been closed (and unwatched) by OnWritable.
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && loop_->watching(fd)) control_->OnReadable(fd);
  }
#endif

  DaemonOptions opts_;
  std::unique_ptr<EventLoop> loop_;
  Logger logger_;
  crypto::OpenSslRandom rng_;
  // The engine's draws (a message ID per R-U-THERE among them) come 4 KiB of DRBG output at
  // a time: a RAND_bytes call per message ID was 6 % of the gateway's CPU under DPD load.
  BufferedRandom node_rng_{rng_};
#ifdef IKEPULSE_HAVE_PING
  // Before backend_ and control_: a session closing at shutdown stops its ping here.
  PingService ping_{rng_};
  uint64_t ping_seen_ = 0;  // ping_.changes() when the sessions last heard of it
#endif
  ike::Node node_;
  BackendImpl backend_;
#ifdef IKEPULSE_HAVE_CONTROL
  std::unique_ptr<ControlServer> control_;
#endif
#ifdef IKEPULSE_HAVE_METRICS
  std::unique_ptr<MetricsServer> metrics_;
  std::optional<Endpoint> metrics_failed_;  // the endpoint that last failed (not retried)
#endif
  uint64_t metrics_scrapes_ = 0;
  std::map<Endpoint, std::unique_ptr<UdpSocket>> sockets_;
  std::vector<UdpSocket::Received> rx_batch_;
  uint64_t rx_truncated_ = 0;  // datagrams longer than a receive slot, dropped
  std::unordered_map<UdpSocket*, RxPoll> rx_poll_;  // one per socket in sockets_
  size_t rx_polled_ = 0;                            // sockets read on the grid now
  uint64_t rx_poll_entries_ = 0;                    // times a socket left epoll for the grid
  bool in_timer_ = false;  // OnTimer runs: it re-arms the timer once, at its end
  // The outboxes of the two busy paths, kept so that their vectors keep their capacity
  // (Flush empties them; neither path runs inside the other's Flush).
  ike::Outbox rx_out_, timer_out_;
  bool dp_config_changed_ = false;  // the data plane starts: a full Sync
  bool dp_policy_changed_ = false;  // a configuration change: policy and routes only
#ifdef IKEPULSE_HAVE_DATAPLANE
  crypto::OpenSslRandom dp_rng_;
  BufferedRandom iv_rng_{dp_rng_};
  dataplane::DataPlane dp_{iv_rng_};
  std::optional<dataplane::TunDevice> tun_;
  // Raw ESP over IPv4, over IPv6.
  std::optional<dataplane::RawEspSocket> raw_, raw6_;
  std::set<dataplane::TunRoute> routes_;  // installed in the TUN
  dataplane::TunRouteSet dp_routes_;      // wanted in the TUN
  dataplane::ChildSaChanges dp_changes_;  // pairs to re-read at the next sync
  dataplane::DataPlane::Out dpo_;
  Bytes tx_buf_;
  bool dp_draining_ = false;
#endif
  uint64_t send_errors_ = 0;
  int exit_code_ = 0;
};

Daemon::Daemon(std::unique_ptr<DaemonImpl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>, std::string> Daemon::Create(DaemonOptions opts,
                                                             config::Config initial) {
  auto loop = EventLoop::Create();
  if (!loop.has_value()) return Unexpected(loop.error());
  auto impl = std::make_unique<DaemonImpl>(std::move(opts), std::move(loop).value());
  if (auto err = impl->Init(initial)) return Unexpected(*err);
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

int Daemon::Run() { return impl_->Run(); }

}  // namespace ikepulse::daemon
