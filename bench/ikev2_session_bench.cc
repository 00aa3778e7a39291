// IKEv2 session costs, both sides in one thread (Google Benchmark):
//   Ikev2Setup/<suite>     one IKE_SA_INIT + IKE_AUTH with one Child SA between two
//                          Ikev2Sessions (4 messages), from Initiate to both established;
//   Ikev2Liveness/<suite>  one liveness exchange on an established pair (`dpd 10 2 periodic`:
//                          the empty INFORMATIONAL probe and its answer, sealed and opened).
// The sessions talk directly (no simulator, no sockets), so the figures are the protocol's own
// CPU: DH, key derivation, AUTH, the SK payload, parsing and the session logic. The IKEv1
// figures to put beside them come from setup_bench (Main Mode + Quick Mode) and scale_bench
// (a DPD exchange); docs/PERFORMANCE.md has both and the commands.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "ike/ikev2_session.h"
#include "ike/ikev2_testing.h"

namespace {

using namespace ikepulse;
using namespace ikepulse::ike;
using namespace ikepulse::ike::testing;

struct Pair {
  explicit Pair(const Suite& s) {
    hi.cfg = MakeConfig(kAddrI, kAddrR, s, "bench-psk", IpAddress::V4(10, 1, 0, 0),
                        IpAddress::V4(10, 2, 0, 0));
    hr.cfg = MakeConfig(kAddrR, kAddrI, s, "bench-psk", IpAddress::V4(10, 2, 0, 0),
                        IpAddress::V4(10, 1, 0, 0));
    hi.cfg.ikev2_profiles["PROF"].dpd = Dpd(10, 2, config::DpdMode::kPeriodic);
    for (RecordingHost* h : {&hi, &hr}) {
      h->debug = false;
      h->keep_debug_lines = false;
    }
  }

  // Delivers what both sides sent until neither sends more (bounded).
  void Pump() {
    for (int round = 0; round < 64; ++round) {
      if (hi.sent.empty() && hr.sent.empty()) return;
      std::vector<Datagram> a = std::move(hi.sent), b = std::move(hr.sent);
      hi.sent.clear();
      hr.sent.clear();
      for (const Datagram& d : a) {
        const Bytes m = StripMarker(d);
        if (!sr) {
          sr = Ikev2Session::Respond(hr, d.remote, d.local, m, 2);
        } else {
          sr->OnMessage(hr, d.remote, d.local, m);
        }
      }
      for (const Datagram& d : b) si->OnMessage(hi, d.remote, d.local, StripMarker(d));
    }
  }

  void Establish() {
    si = std::make_unique<Ikev2Session>(1);
    si->Initiate(hi, *hi.cfg.FindCryptoMap("CM", 10), Endpoint{kAddrI, 500},
                 Endpoint{kAddrR, 500});
    Pump();
  }

  bool Up() const { return si && sr && si->established() && sr->established(); }

  void ForgetReports() {
    for (RecordingHost* h : {&hi, &hr}) {
      h->events.clear();
      h->child_up.clear();
      h->established_at.clear();
    }
  }

  TimePoint now = TimePoint{} + Seconds(1000);
  RecordingHost hi{&now, 11, 0x1000}, hr{&now, 22, 0x2000};
  std::unique_ptr<Ikev2Session> si, sr;
};

Suite CbcSuite(uint16_t group) {
  Suite s;
  s.groups = {group};
  return s;
}

Suite GcmSuite(uint16_t group) {
  Suite s;
  s.enc = config::Ikev2Encryption::kAesGcm256;
  s.prf = config::Ikev2Hash::kSha384;
  s.groups = {group};
  return s;
}

void RunSetup(benchmark::State& state, const Suite& suite) {
  for (auto _ : state) {
    state.PauseTiming();
    auto p = std::make_unique<Pair>(suite);
    state.ResumeTiming();
    p->Establish();
    if (!p->Up()) {
      state.SkipWithError("the pair did not come up");
      return;
    }
    state.PauseTiming();
    p.reset();
    state.ResumeTiming();
  }
  state.counters["setups/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

void RunLiveness(benchmark::State& state, const Suite& suite) {
  Pair p(suite);
  p.Establish();
  if (!p.Up()) {
    state.SkipWithError("the pair did not come up");
    return;
  }
  for (auto _ : state) {
    p.now += Seconds(10);  // the probe is due 10 s after the last message heard
    p.si->OnTimeout(p.hi);
    if (p.hi.sent.empty()) {
      state.SkipWithError("no probe");
      return;
    }
    p.Pump();
    p.ForgetReports();
  }
  if (p.hi.heard < static_cast<size_t>(state.iterations()) || !p.Up())
    state.SkipWithError("a probe went unanswered");
}

void BM_Ikev2Setup_Cbc128Sha256_G14(benchmark::State& s) { RunSetup(s, CbcSuite(14)); }
void BM_Ikev2Setup_Cbc128Sha256_G19(benchmark::State& s) { RunSetup(s, CbcSuite(19)); }
void BM_Ikev2Setup_Gcm256Sha384_G19(benchmark::State& s) { RunSetup(s, GcmSuite(19)); }
void BM_Ikev2Liveness_Cbc128Sha256(benchmark::State& s) { RunLiveness(s, CbcSuite(19)); }
void BM_Ikev2Liveness_Gcm256Sha384(benchmark::State& s) { RunLiveness(s, GcmSuite(19)); }

BENCHMARK(BM_Ikev2Setup_Cbc128Sha256_G14)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ikev2Setup_Cbc128Sha256_G19)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ikev2Setup_Gcm256Sha384_G19)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ikev2Liveness_Cbc128Sha256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Ikev2Liveness_Gcm256Sha384)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
