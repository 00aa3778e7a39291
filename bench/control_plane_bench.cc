// control_plane_bench: the control plane with 100,000 crypto map entries and 100,000
// pre-shared keys (a hub with one entry and one key per branch): what one configuration
// change costs the engine, what a PSK lookup costs, how long `show crypto map` and a
// startup-config of that size take.
//
// Usage: control_plane_bench [--benchmark_filter=...]   (N = 100000 unless given as the arg)
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "cli/cli.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "config/config.h"
#include "config/key_index.h"
#include "ike/node.h"
#include "scenarios/site_config.h"

namespace ikepulse {
namespace {

IpAddress PeerIp(uint32_t i) {
  return IpAddress::V4(100, static_cast<uint8_t>(64 + (i >> 16)), static_cast<uint8_t>(i >> 8),
                       static_cast<uint8_t>(i));
}

// The gateway of bench/scale_bench.cc: n entries, one peer each, one ACL; plus one host key
// per peer and a wildcard key. IOS numbers a crypto map's entries 1-65535, so the entries are
// `gw0 1..50000`, `gw1 1..50000`, ... (one map per interface).
config::Config Hub(uint32_t n) {
  scenario::SiteSpec spec;
  spec.self = scenario::Ip("10.0.0.1");
  spec.peers = {PeerIp(1)};
  spec.keepalive = scenario::Keepalive(10, 2, true);
  config::Config c = scenario::MakeConfig(spec);
  const config::CryptoMapEntry first = c.crypto_maps.front();
  c.crypto_maps.clear();
  c.crypto_maps.reserve(n);
  c.keys.clear();
  c.keys.reserve(n + 1);
  for (uint32_t i = 1; i <= n; ++i) {
    config::CryptoMapEntry e = first;
    e.map_name = "gw" + std::to_string((i - 1) / 50000);
    e.seq = (i - 1) % 50000 + 1;
    e.peers.front().host = PeerIp(i).ToString();
    e.peers.front().address = PeerIp(i);
    c.crypto_maps.push_back(std::move(e));
    config::PresharedKey k;
    k.key = SecretBytes::FromString("branch-" + std::to_string(i));
    k.address = PeerIp(i);
    k.mask = IpAddress::V4(255, 255, 255, 255);
    c.keys.push_back(std::move(k));
  }
  config::PresharedKey any;
  any.key = SecretBytes::FromString("wildcard");
  any.address = IpAddress::V4(0, 0, 0, 0);
  any.mask = IpAddress::V4(0, 0, 0, 0);
  c.keys.push_back(std::move(any));
  if (!c.interfaces.empty()) {
    const config::Interface tmpl = c.interfaces.front();
    c.interfaces.clear();
    for (uint32_t m = 0; m <= (n - 1) / 50000; ++m) {
      config::Interface i = tmpl;
      i.name = "GigabitEthernet" + std::to_string(m + 1);
      i.crypto_map = "gw" + std::to_string(m);
      if (m > 0) i.address = IpAddress::V4(10, 0, static_cast<uint8_t>(m), 1);
      c.interfaces.push_back(std::move(i));
    }
  }
  return c;
}

const config::Config& CachedHub(uint32_t n) {
  static std::unique_ptr<config::Config> c;
  static uint32_t built = 0;
  if (!c || built != n) {
    c = std::make_unique<config::Config>(Hub(n));
    built = n;
  }
  return *c;
}

// One entry added, then removed, on a Node that holds the whole configuration: SetConfig's
// cost for a one-entry change (what every `crypto map gw N` / `no crypto map gw N` costs the
// engine). The copies of the configuration are made outside the timing.
void BM_SetConfigOneEntryChange(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const config::Config& base = CachedHub(n);
  config::Config plus = base;
  config::CryptoMapEntry e = plus.crypto_maps.back();
  e.seq += 1;
  e.peers.front().address = PeerIp(n + 1);
  e.peers.front().host = PeerIp(n + 1).ToString();
  plus.crypto_maps.push_back(e);
  SeededRandom rng(1);
  ike::Node node(rng);
  ike::Outbox out;
  TimePoint now = TimePoint(Seconds(1000));
  node.SetConfig(base, now, out);
  bool add = true;
  for (auto _ : state) {
    node.SetConfig(add ? plus : base, now, out);
    out.Clear();
    add = !add;
  }
  state.SetLabel(std::to_string(n) + " entries");
}
BENCHMARK(BM_SetConfigOneEntryChange)->Arg(1000)->Arg(10000)->Arg(100000)
    ->Unit(benchmark::kMillisecond);

// What a configuration line costs besides the engine: copying the whole configuration (the
// CLI edits a copy of the running configuration) and comparing it with the running one.
void BM_ConfigCopyAndCompare(benchmark::State& state) {
  const config::Config& base = CachedHub(static_cast<uint32_t>(state.range(0)));
  for (auto _ : state) {
    config::Config scratch = base;
    benchmark::DoNotOptimize(scratch == base);
  }
}
BENCHMARK(BM_ConfigCopyAndCompare)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

// The PSK lookup of every Main Mode 1 (responder) and of every initiation: the engine's
// longest-prefix index, and the linear scan it replaced (Config::FindKey, kept for the CLI).
void BM_KeyIndexFind(benchmark::State& state) {
  const config::Config& base = CachedHub(static_cast<uint32_t>(state.range(0)));
  config::KeyIndex idx;
  idx.Build(base.keys);
  uint32_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(idx.Find(base.keys, PeerIp(1 + (i++ % 1000) * 97)));
  }
}
BENCHMARK(BM_KeyIndexFind)->Arg(1000)->Arg(100000);

void BM_FindKeyLinearScan(benchmark::State& state) {
  const config::Config& base = CachedHub(static_cast<uint32_t>(state.range(0)));
  uint32_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(base.FindKey(PeerIp(1 + (i++ % 1000) * 97)));
  }
}
BENCHMARK(BM_FindKeyLinearScan)->Arg(1000)->Arg(100000);

// A startup-config of N entries and keys through the real parser, and rendered back.
void BM_StartupConfigParse(benchmark::State& state) {
  const std::string text = cli::RenderRunningConfig(CachedHub(static_cast<uint32_t>(state.range(0))));
  for (auto _ : state) {
    auto parsed = cli::ParseConfigText(text);
    if (!parsed.has_value()) state.SkipWithError("the rendered configuration does not parse");
    benchmark::DoNotOptimize(parsed);
  }
  state.SetLabel(std::to_string(text.size() / 1024) + " KiB");
}
BENCHMARK(BM_StartupConfigParse)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_RenderRunningConfig(benchmark::State& state) {
  const config::Config& base = CachedHub(static_cast<uint32_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(cli::RenderRunningConfig(base));
}
BENCHMARK(BM_RenderRunningConfig)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ikepulse

BENCHMARK_MAIN();
