// setup_bench: Main Mode + Quick Mode establishments per second between two ike::Nodes in the
// virtual-time simulator (pure CPU: both sides' DH, PRF, HASH, encryption, codec, plus the
// simulator), per Diffie-Hellman group.
//
// One iteration = one fresh pair of Nodes (built outside the timed region), A initiates crypto
// map entry `green 1` toward B, and the iteration ends when both sides have the IPsec SA pair
// (9 messages). Phase 1: AES-128 / SHA-1 / pre-shared key, group = the argument; Phase 2:
// esp-aes esp-sha-hmac, no PFS (BM_Establish) or PFS with the same group (BM_EstablishPfs).
// Counter `est/s` is iterations per CPU second (the process is single-threaded).
//
//   build-bench/bench/setup_bench --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>

#include "common/endpoint.h"
#include "config/config.h"
#include "ike/node.h"
#include "sim/sim_node.h"
#include "scenarios/scenario_util.h"
#include "sim/simulator.h"

namespace ikepulse {
namespace {

using scenario::Ip;

// The two sites of tests/scenarios (one shared builder), with the group and PFS under test.
config::Config Site(const char* self, const char* peer, const char* local_lan,
                    const char* remote_lan, uint16_t group, std::optional<uint16_t> pfs) {
  scenario::SiteSpec spec;
  spec.self = Ip(self);
  spec.peers = {Ip(peer)};
  spec.local_lan = local_lan;
  spec.remote_lan = remote_lan;
  spec.group = group;
  spec.pfs = pfs;
  return scenario::MakeConfig(spec);
}

struct Pair {
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  Pair(uint16_t group, std::optional<uint16_t> pfs) {
    sim.set_record_events(false);
    sim.set_record_packets(false);
    sim.set_record_payloads(false);
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
    a.SetConfig(Site("192.0.2.1", "192.0.2.2", "198.51.100.0", "203.0.113.0", group, pfs));
    b.SetConfig(Site("192.0.2.2", "192.0.2.1", "203.0.113.0", "198.51.100.0", group, pfs));
  }
};

void Run(benchmark::State& state, bool pfs) {
  const auto group = static_cast<uint16_t>(state.range(0));
  const std::optional<uint16_t> pfs_group = pfs ? std::optional<uint16_t>(group) : std::nullopt;
  uint64_t failures = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto p = std::make_unique<Pair>(group, pfs_group);
    int up = 0;
    p->sim.SetEventObserver([&](sim::HostId, const ike::Event& e) {
      if (e.kind == ike::EventKind::kChildSaUp) ++up;
    });
    state.ResumeTiming();
    p->a.Initiate("green", 1);
    if (!p->sim.RunUntil([&] { return up >= 2; }, p->sim.now() + Seconds(5))) ++failures;
    state.PauseTiming();
    p.reset();
    state.ResumeTiming();
  }
  if (failures) state.SkipWithError("an establishment did not complete");
  state.counters["est/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
  state.SetLabel(pfs ? "MM+QM, PFS same group" : "MM+QM, no PFS");
}

void BM_Establish(benchmark::State& state) { Run(state, false); }
void BM_EstablishPfs(benchmark::State& state) { Run(state, true); }

BENCHMARK(BM_Establish)
    ->ArgName("group")
    ->Arg(2)
    ->Arg(5)
    ->Arg(14)
    ->Arg(15)
    ->Arg(16)
    ->Arg(19)
    ->Arg(20)
    ->Arg(21)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EstablishPfs)->ArgName("group")->Arg(14)->Arg(19)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ikepulse

BENCHMARK_MAIN();
