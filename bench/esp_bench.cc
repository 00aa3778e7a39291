// ESP codec throughput: Encapsulate and Decapsulate (ICV check, decrypt, unpad, replay
// window) per cipher/integrity pair and inner packet size, and the DataPlane paths at 1,
// 1,000 and 100,000 crypto map entries / SA pairs: outbound (policy lookup + SA selection +
// ESP), outbound with a new flow every packet, and inbound (SPI lookup + ESP + inner check).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "common/buffered_random.h"
#include "dataplane/dataplane.h"
#include "dataplane/esp.h"
#include "dataplane_scale.h"

namespace ikepulse::dataplane {
namespace {

using crypto::EspEncAlg;
using crypto::EspIntegAlg;

struct Suite {
  EspEncAlg enc;
  EspIntegAlg integ;
};
constexpr Suite kSuites[] = {{EspEncAlg::kAes128Cbc, EspIntegAlg::kHmacSha1_96},
                             {EspEncAlg::kAes256Cbc, EspIntegAlg::kHmacSha256_128},
                             {EspEncAlg::k3DesCbc, EspIntegAlg::kHmacMd5_96}};

EspSa Sa(const Suite& s) {
  return EspSa::Create(0x1000, s.enc, Bytes(crypto::EspEncKeyLength(s.enc), 1), s.integ,
                       Bytes(crypto::EspIntegKeyLength(s.integ), 2))
      .value();
}

Bytes Inner(size_t n) {
  Bytes b(n, 0x5a);
  b[0] = 0x45;
  return b;
}

void BM_Encapsulate(benchmark::State& state) {
  const Suite& s = kSuites[state.range(0)];
  const EspSa sa = Sa(s);
  const Bytes inner = Inner(static_cast<size_t>(state.range(1)));
  crypto::OpenSslRandom os_rng;
  BufferedRandom buffered(os_rng);
  Random& rng = state.range(2) ? static_cast<Random&>(buffered) : os_rng;
  uint32_t seq = 0;
  for (auto _ : state) benchmark::DoNotOptimize(Encapsulate(sa, ++seq, inner, rng));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * inner.size()));
  state.SetLabel(std::string(crypto::EspEncName(s.enc)) + "/" + crypto::EspIntegName(s.integ) +
                 (state.range(2) ? " buffered-iv" : " rand-per-iv"));
}

void BM_Decapsulate(benchmark::State& state) {
  const Suite& s = kSuites[state.range(0)];
  const EspSa out = Sa(s);
  EspSa in = Sa(s);
  const Bytes inner = Inner(static_cast<size_t>(state.range(1)));
  crypto::OpenSslRandom rng;
  // A ring of pre-built packets with increasing sequence numbers; the window is reset
  // whenever the ring wraps (outside the timed region) so every packet passes.
  constexpr uint32_t kRing = 1024;
  std::vector<Bytes> pkts;
  for (uint32_t i = 1; i <= kRing; ++i) pkts.push_back(*Encapsulate(out, i, inner, rng));
  uint32_t i = 0;
  for (auto _ : state) {
    if (i == kRing) {
      state.PauseTiming();
      in.replay = ReplayWindow();
      i = 0;
      state.ResumeTiming();
    }
    auto r = Decapsulate(in, pkts[i++]);
    if (!r) state.SkipWithError("decapsulate failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * inner.size()));
  state.SetLabel(std::string(crypto::EspEncName(s.enc)) + "/" + crypto::EspIntegName(s.integ));
}

void Args(benchmark::internal::Benchmark* b) {
  for (int64_t suite = 0; suite < 3; ++suite)
    for (int64_t size : {64, 512, 1400}) b->Args({suite, size});
}
// Third argument: 0 = RAND_bytes per IV, 1 = BufferedRandom.
void EncArgs(benchmark::internal::Benchmark* b) {
  for (int64_t suite = 0; suite < 3; ++suite)
    for (int64_t size : {64, 512, 1400})
      for (int64_t buffered : {0, 1}) b->Args({suite, size, buffered});
}
BENCHMARK(BM_Encapsulate)->Apply(EncArgs);
BENCHMARK(BM_Decapsulate)->Apply(Args);

// The DataPlane at scale: N crypto map entries (map "green", seq 1..N), each with its own
// one-line ACL (198.51.100.0/24 -> 10.a.b.c/32, a distinct host per entry) and its own SA
// pair (udp_encap, AES-128/SHA-1, lifetime_kb 0). The packets belong to the LAST entry in
// lookup order (seq N), the worst case for a linear walk. Built once per N and shared by the
// benchmarks (a 100,000-entry setup takes seconds); only one N is kept alive at a time.
struct ScaleFixture {
  explicit ScaleFixture(int64_t n) : rng(os_rng), dp(rng) {
    const SecretBytes enc_key(Bytes(16, 1)), auth_key(Bytes(20, 2));
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t seq = static_cast<uint32_t>(i + 1);
      AddScaleEntry(cfg, seq);
      sas.push_back(ScaleSnapshot(seq, config::EspCipher::kAes128, config::EspAuth::kSha1, enc_key,
                                  auth_key, enc_key, auth_key));
    }
    DataPlane::Out out;
    const auto r = dp.Sync(FromMicros(0), cfg, sas, out);
    if (r.added != static_cast<size_t>(n) || dp.policy().entry_count() != static_cast<size_t>(n))
      std::abort();
    last = sas.back();
    // The peer's view of the last pair, to build inbound ESP.
    peer_out = EspSa::Create(last.spi_in, EspEncAlg::kAes128Cbc, last.enc_key_in.span(),
                             EspIntegAlg::kHmacSha1_96, last.auth_key_in.span())
                   .value();
  }
  // A 1400-byte IPv4/UDP packet src -> dst.
  static Bytes Packet(const IpAddress& src, const IpAddress& dst) {
    Bytes pkt(1400, 0);
    pkt[0] = 0x45;
    pkt[2] = 1400 >> 8;
    pkt[3] = 1400 & 0xff;
    pkt[9] = 17;
    std::copy_n(src.bytes.begin(), 4, pkt.begin() + 12);
    std::copy_n(dst.bytes.begin(), 4, pkt.begin() + 16);
    return pkt;
  }

  crypto::OpenSslRandom os_rng;
  BufferedRandom rng;
  DataPlane dp;
  config::Config cfg;
  std::vector<ike::ChildSaSnapshot> sas;
  ike::ChildSaSnapshot last;
  EspSa peer_out;
};

ScaleFixture& Fixture(int64_t n) {
  static std::unique_ptr<ScaleFixture> f;
  static int64_t f_n = -1;
  if (f_n != n) {
    f.reset();
    f = std::make_unique<ScaleFixture>(n);
    f_n = n;
  }
  return *f;
}

void ScaleArgs(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1, 1000, 100000}) b->Arg(n);
  b->ArgName("entries");
}

// TUN packet -> policy lookup -> the entry's current SA -> ESP, always the same flow.
void BM_DataPlaneOutbound(benchmark::State& state) {
  ScaleFixture& f = Fixture(state.range(0));
  const Bytes pkt = ScaleFixture::Packet(IpAddress::V4(198, 51, 100, 10), f.last.remote_net);
  DataPlane::Out out;
  const uint64_t encrypted = f.dp.counters().encrypted;
  int64_t t = 1;
  for (auto _ : state) {
    out.Clear();
    f.dp.OnTunPacket(FromMicros(++t), pkt, out);
    benchmark::DoNotOptimize(out.esp_datagrams.data());
  }
  if (f.dp.counters().encrypted - encrypted != static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("packet not encrypted");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * pkt.size()));
}
BENCHMARK(BM_DataPlaneOutbound)->Apply(ScaleArgs);

// As BM_DataPlaneOutbound, but every packet is a new flow (source address cycling through
// 2^20 addresses of 198.48.0.0/12, all permitted by the last entry only): a flow cache in
// front of the policy lookup never hits, so this is the cost of a lookup from scratch.
void BM_DataPlaneOutboundNewFlows(benchmark::State& state) {
  ScaleFixture& f = Fixture(state.range(0));
  // Widen the last entry's ACL source to a /12 (a config change, so a full Sync).
  config::Config cfg = f.cfg;
  config::AclEntry& line = cfg.acls["acl" + std::to_string(f.last.map_seq)].entries.at(0);
  line.src = IpAddress::V4(198, 48, 0, 0);
  line.src_wildcard = IpAddress::V4(0, 15, 255, 255);
  DataPlane::Out out;
  (void)f.dp.Sync(FromMicros(1), cfg, f.sas, out);
  Bytes pkt = ScaleFixture::Packet(IpAddress::V4(198, 48, 0, 0), f.last.remote_net);
  const uint64_t encrypted = f.dp.counters().encrypted;
  uint32_t host = 0;
  int64_t t = 1;
  for (auto _ : state) {
    host = (host + 1) & 0xfffff;
    pkt[13] = static_cast<uint8_t>(48 | (host >> 16));
    pkt[14] = static_cast<uint8_t>(host >> 8);
    pkt[15] = static_cast<uint8_t>(host);
    out.Clear();
    f.dp.OnTunPacket(FromMicros(++t), pkt, out);
    benchmark::DoNotOptimize(out.esp_datagrams.data());
  }
  const bool ok =
      f.dp.counters().encrypted - encrypted == static_cast<uint64_t>(state.iterations());
  (void)f.dp.Sync(FromMicros(2), f.cfg, f.sas, out);  // back to the shared config
  if (!ok) state.SkipWithError("packet not encrypted");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * pkt.size()));
}
BENCHMARK(BM_DataPlaneOutboundNewFlows)->Apply(ScaleArgs);

// ESP datagram -> SPI lookup -> Decapsulate -> inner policy check -> TUN, for the last pair.
// A ring of 1024 packets with increasing sequence numbers, rebuilt (untimed) when it wraps.
void BM_DataPlaneInbound(benchmark::State& state) {
  ScaleFixture& f = Fixture(state.range(0));
  const Bytes inner = ScaleFixture::Packet(f.last.remote_net, IpAddress::V4(198, 51, 100, 10));
  static uint32_t next_seq = 0;  // the fixture's replay window outlives one run
  constexpr size_t kRing = 1024;
  std::vector<Bytes> ring;
  auto refill = [&] {
    ring.clear();
    for (size_t i = 0; i < kRing; ++i)
      ring.push_back(*Encapsulate(f.peer_out, ++next_seq, inner, f.rng));
  };
  if (next_seq > UINT32_MAX - (uint32_t{1} << 30)) state.SkipWithError("sequence space");
  refill();
  const Endpoint local{IpAddress::V4(192, 0, 2, 1), 4500};
  const Endpoint remote{IpAddress::V4(192, 0, 2, 2), 4500};
  DataPlane::Out out;
  const uint64_t decrypted = f.dp.counters().decrypted;
  size_t i = 0;
  for (auto _ : state) {
    if (i == kRing) {
      state.PauseTiming();
      refill();
      i = 0;
      state.ResumeTiming();
    }
    out.Clear();
    f.dp.OnEspDatagram(FromMicros(1), local, remote, ring[i++], out);
    benchmark::DoNotOptimize(out.to_tun.data());
  }
  if (f.dp.counters().decrypted - decrypted != static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("packet not decrypted");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * inner.size()));
}
BENCHMARK(BM_DataPlaneInbound)->Apply(ScaleArgs);

}  // namespace
}  // namespace ikepulse::dataplane

BENCHMARK_MAIN();
