// A long `show` on a gateway with many SAs, streamed a page at a time between the engine's
// events (as the daemon's event loop runs it), leaves every DPD timeline exact: the gateway's
// events are the same, to the microsecond, as in the same run without the show; live peers
// are probed 10 s after their last answer, killed ones are declared dead 20 s after their
// last message, and the show lists each SA at most once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cli/session.h"
#include "daemon/backend_impl.h"
#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;

constexpr uint32_t kPeers = 600;
constexpr uint32_t kKilled = 6;  // peers 1..6: 1 %

IpAddress PeerIp(uint32_t i) { return IpAddress::V4FromU32((100u << 24 | 64u << 16) + i); }
const IpAddress kGw = Ip("192.0.2.1");

// The gateway: `gw 1..kPeers`, entry i toward PeerIp(i), kept up, keepalive 10 2 periodic.
config::Config GatewayConfig() {
  SiteSpec spec;
  spec.self = kGw;
  spec.peers = {PeerIp(1)};
  spec.group = 19;
  spec.keep_up = true;
  spec.keepalive = Keepalive(10, 2, true);
  config::Config c = MakeConfig(spec);
  ReplicateFirstEntry(c, 1, kPeers, PeerIp);
  return c;
}

config::Config PeerConfig(const IpAddress& self) {
  SiteSpec spec = SiteB();
  spec.self = self;
  spec.peers = {kGw};
  spec.group = 19;
  return MakeConfig(spec);
}

using EventKey = std::tuple<TimePoint, EventKind, ike::SaId, IpAddress, uint64_t, uint64_t,
                            std::string>;

struct World {
  sim::Simulator sim{7};
  sim::SimNode gw{sim, "GW", {kGw}, 1};
  std::vector<std::unique_ptr<sim::SimNode>> peers;
  ike::Outbox* current = nullptr;  // the outbox of the sim.Call running the backend
  int stray_flushes = 0;           // a flush outside a sim.Call: a show that sent something
  daemon::BackendImpl backend{gw.node(), Context()};
  TimePoint t_kill;

  World() {
    sim.EnableDefaultLink(Millis(5));
    for (uint32_t i = 1; i <= kPeers; ++i) {
      peers.push_back(std::make_unique<sim::SimNode>(sim, "P" + std::to_string(i),
                                                     std::vector<IpAddress>{PeerIp(i)}, 100 + i));
      peers.back()->SetConfig(PeerConfig(PeerIp(i)));
    }
    const config::Config cfg = GatewayConfig();
    sim.Call(gw.id(), [&](TimePoint, ike::Outbox& out) {
      current = &out;
      EXPECT_EQ(backend.ApplyConfig(cfg), std::nullopt);
      current = nullptr;
    });
    EXPECT_TRUE(sim.RunUntil([&] { return gw.ChildSas().size() == kPeers; },
                             sim.now() + Seconds(60)));
    sim.RunFor(Seconds(3));
    t_kill = sim.now();
    for (uint32_t i = 1; i <= kKilled; ++i) peers[i - 1]->Kill();
  }

  daemon::BackendImpl::Context Context() {
    daemon::BackendImpl::Context c;
    c.now = [this] { return sim.now(); };
    c.flush = [this](ike::Outbox& out) {
      if (!current) {
        stray_flushes += out.datagrams.empty() ? 0 : 1;
      } else {
        for (auto& d : out.datagrams) current->datagrams.push_back(std::move(d));
        for (auto& e : out.events) current->events.push_back(std::move(e));
      }
      out.Clear();
    };
    c.started_at = sim.now();
    return c;
  }

  std::vector<EventKey> GwEvents() const {
    std::vector<EventKey> out;
    for (const ike::Event& e : gw.events())
      out.emplace_back(e.at, e.kind, e.sa, e.peer, e.value, e.value2, e.text);
    return out;
  }
};

// Runs three streamed shows in three sessions, one page of each every 500 ms of virtual time
// (32 keys a page: 19 pages, 9.5 s), then again, within 40 s. Returns their outputs.
std::vector<std::string> RunShows(World& w) {
  const char* lines[] = {"show crypto isakmp sa detail", "show crypto session detail",
                         "show crypto ipsec sa"};
  std::vector<std::unique_ptr<cli::Session>> sessions;
  std::vector<std::string> outputs(3);
  std::vector<cli::Session::Reply> replies(3);
  const TimePoint end = w.t_kill + Seconds(40);
  int started[3] = {0, 0, 0};
  while (w.sim.now() < end) {
    for (size_t i = 0; i < 3; ++i) {
      if (sessions.size() <= i) {
        sessions.push_back(std::make_unique<cli::Session>(w.backend));
        sessions[i]->set_streaming(true);
        sessions[i]->set_stream_page(32);
        sessions[i]->Execute("enable");
      }
      if (!sessions[i]->running()) {
        if (started[i] == 2) continue;  // each show twice
        ++started[i];
        outputs[i] += "=== " + std::string(lines[i]) + "\n";
        replies[i] = sessions[i]->Execute(lines[i]);
        EXPECT_TRUE(replies[i].pending);
        outputs[i] += replies[i].output;
        continue;
      }
      replies[i] = sessions[i]->Continue();
      outputs[i] += replies[i].output;
    }
    w.sim.RunFor(Millis(500));
  }
  return outputs;
}

TEST(ShowStreamScenario, ALongShowLeavesEveryDpdTimelineExact) {
  World with_show;
  World without_show;
  ASSERT_EQ(with_show.GwEvents(), without_show.GwEvents());  // identical up to the kill
  const std::vector<std::string> out = RunShows(with_show);
  without_show.sim.RunUntil(without_show.t_kill + Seconds(40));
  EXPECT_EQ(with_show.stray_flushes, 0);

  // 1. The show changed nothing the gateway did, to the microsecond.
  const std::vector<EventKey> a = with_show.GwEvents(), b = without_show.GwEvents();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(a == b);

  // 2. The seed's timeline for every SA. Per SA: the last message heard (QM2 = child up, or an
  // R-U-THERE-ACK), each new round's R-U-THERE exactly 10 s after it, death 20 s after it.
  const World& w = with_show;
  std::map<ike::SaId, TimePoint> heard;
  std::set<IpAddress> dead;
  int rounds = 0;
  for (const ike::Event& e : w.gw.events()) {
    switch (e.kind) {
      case EventKind::kChildSaUp:
        if (!heard.count(e.sa)) heard[e.sa] = e.at;
        break;
      case EventKind::kDpdAckReceived:
        heard[e.sa] = e.at;
        break;
      case EventKind::kDpdSent:
        ASSERT_TRUE(heard.count(e.sa));
        EXPECT_EQ(e.at - heard[e.sa], Seconds(10) + Seconds(2) * static_cast<int64_t>(e.value2))
            << e.peer.ToString();
        rounds += e.value2 == 0 ? 1 : 0;
        break;
      case EventKind::kPeerDead:
        ASSERT_TRUE(heard.count(e.sa));
        EXPECT_EQ(e.at - heard[e.sa], Seconds(20)) << e.peer.ToString();
        dead.insert(e.peer);
        break;
      default:
        break;
    }
  }
  std::set<IpAddress> killed;
  for (uint32_t i = 1; i <= kKilled; ++i) killed.insert(PeerIp(i));
  EXPECT_EQ(dead, killed);  // each killed peer declared dead; no live one
  EXPECT_GE(rounds, static_cast<int>(kPeers - kKilled) * 4);

  // 3. The shows: each ran twice to its end; no SA listed twice in one run.
  for (const std::string& o : out) {
    int runs = 0;
    for (size_t p = o.find("=== show"); p != std::string::npos; p = o.find("=== show", p + 1))
      ++runs;
    EXPECT_EQ(runs, 2) << o.substr(0, 200);
  }
  std::string isakmp = out[0].substr(0, out[0].find("=== ", 4));
  std::multiset<std::string> ids;
  for (size_t p = isakmp.find("SW:"); p != std::string::npos; p = isakmp.find("SW:", p + 1))
    ids.insert(isakmp.substr(p, isakmp.find('\n', p) - p));
  EXPECT_GE(ids.size(), kPeers - kKilled);
  EXPECT_LE(ids.size(), kPeers);
  for (const std::string& id : ids) EXPECT_EQ(ids.count(id), 1u) << id;
  EXPECT_THAT(out[1], ::testing::HasSubstr("Session status: UP-ACTIVE"));
  EXPECT_THAT(out[2], ::testing::HasSubstr("Crypto map tag: green"));
}

}  // namespace
}  // namespace ikepulse::scenario
