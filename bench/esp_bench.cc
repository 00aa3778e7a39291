// ESP codec throughput: Encapsulate and Decapsulate (ICV check, decrypt, unpad, replay
// window) per cipher/integrity pair and inner packet size, and the DataPlane outbound path
// (policy lookup + SA selection + ESP).
#include <benchmark/benchmark.h>

#include "crypto/crypto.h"
#include "dataplane/buffered_random.h"
#include "dataplane/dataplane.h"
#include "dataplane/esp.h"

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

void BM_DataPlaneOutbound(benchmark::State& state) {
  crypto::OpenSslRandom os_rng;
  BufferedRandom rng(os_rng);
  DataPlane dp(rng);
  config::Config cfg;
  config::CryptoMapEntry e;
  e.map_name = "green";
  e.seq = 10;
  e.match_address = "101";
  cfg.crypto_maps.push_back(e);
  config::AclEntry line;
  line.src = IpAddress::V4(198, 51, 100, 0);
  line.src_wildcard = IpAddress::V4(0, 0, 0, 255);
  line.dst = IpAddress::V4(203, 0, 113, 0);
  line.dst_wildcard = IpAddress::V4(0, 0, 0, 255);
  cfg.acls["101"] = config::AccessList{"101", true, {line}};
  ike::ChildSaSnapshot s;
  s.map_name = "green";
  s.map_seq = 10;
  s.udp_encap = true;
  s.spi_in = 1;
  s.spi_out = 2;
  s.cipher = config::EspCipher::kAes128;
  s.auth = config::EspAuth::kSha1;
  s.enc_key_in = s.enc_key_out = SecretBytes(Bytes(16, 1));
  s.auth_key_in = s.auth_key_out = SecretBytes(Bytes(20, 2));
  DataPlane::Out out;
  (void)dp.Sync(FromMicros(0), cfg, {s}, out);
  Bytes pkt(1400, 0);
  pkt[0] = 0x45;
  pkt[2] = 1400 >> 8;
  pkt[3] = 1400 & 0xff;
  pkt[9] = 17;
  const uint8_t src[] = {198, 51, 100, 10}, dst[] = {203, 0, 113, 10};
  std::copy(src, src + 4, pkt.begin() + 12);
  std::copy(dst, dst + 4, pkt.begin() + 16);
  int64_t t = 1;
  for (auto _ : state) {
    out.Clear();
    dp.OnTunPacket(FromMicros(++t), pkt, out);
    benchmark::DoNotOptimize(out.esp_datagrams.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * pkt.size()));
}
BENCHMARK(BM_DataPlaneOutbound);

}  // namespace
}  // namespace ikepulse::dataplane

BENCHMARK_MAIN();
