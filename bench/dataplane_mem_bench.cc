// dataplane_mem_bench: the data plane's memory per IPsec SA pair at N = 1,000, 10,000 and
// 100,000 pairs, for AES-128-CBC/HMAC-SHA1-96 and AES-256-CBC/HMAC-SHA-256-128.
//
// Each benchmark builds N ike::ChildSaSnapshot pairs (outside the measurement), takes a
// baseline, syncs them into a fresh SaDb or DataPlane, and reports per SA pair:
//   heap_B   live bytes allocated with operator new (this file replaces the global operator
//            new/delete), counted as malloc_usable_size of each block: the request rounded up
//            to glibc's 16-byte granule (no 16-byte header of our own, so RSS is not inflated)
//   heap_blk live operator-new blocks (each also costs glibc's 8-byte chunk header)
//   ossl_B   live bytes allocated by OpenSSL (CRYPTO_set_mem_functions, installed first thing
//            in main(), before OpenSSL allocates anything), counted the same way
//   ossl_blk live OpenSSL blocks
//   total_B  heap_B + ossl_B + 8 * (heap_blk + ossl_blk): the malloc chunks, i.e. what the
//            pairs cost the malloc heap
//   mallinfo_B  mallinfo2() uordblks + hblkhd delta (the whole malloc heap in use)
//   rss_B    /proc/self/statm resident delta, after malloc_trim(0) on both sides
// Snapshots and the config are built before the baseline and stay alive until after the
// measurement, so they are not counted. One iteration per benchmark (a 100,000-pair build
// takes about a second); run one N per process for the cleanest RSS figure.
//
// BM_SaDb: SaDb::Sync only (the SA pairs: ChildSa, two EspSa with their OpenSSL contexts,
// the key copies kept to compare snapshots, the std::map / index nodes).
// BM_DataPlane: DataPlane::Sync with N crypto map entries, each with a one-line ACL, one SA
// pair per entry (as bench/esp_bench.cc's ScaleFixture): SaDb plus Policy.
// BM_EspContext: N EspCryptoContext::Create (one SA direction) -> bytes per context.
// BM_OsslObject: the OpenSSL objects one context holds, built directly as esp_crypto.cc
// does: a keyed EVP_CIPHER_CTX (step 0: EVP_CIPHER_CTX_new only, 1: + EVP_CipherInit_ex2 with
// the key) and a keyed HMAC EVP_MAC_CTX (2: EVP_MAC_CTX_new only, 3: + EVP_MAC_init).
//
// Usage: dataplane_mem_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "crypto/esp_crypto.h"
#include "common/buffered_random.h"
#include "dataplane/dataplane.h"
#include "dataplane/sa_db.h"
#include "dataplane_scale.h"
#include "replace_global_new.h"

// --- Allocation accounting (single-threaded use; benchmarks run on the main thread) --------
namespace mem_acct {
int64_t g_heap = 0, g_heap_blocks = 0;  // operator new
int64_t g_ossl = 0, g_ossl_blocks = 0;  // OpenSSL's CRYPTO_malloc family
}  // namespace mem_acct

static void* AcctNew(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  mem_acct::g_heap += static_cast<int64_t>(malloc_usable_size(p));
  ++mem_acct::g_heap_blocks;
  return p;
}
static void AcctDelete(void* p) noexcept {
  if (!p) return;
  mem_acct::g_heap -= static_cast<int64_t>(malloc_usable_size(p));
  --mem_acct::g_heap_blocks;
  std::free(p);
}
IKEPULSE_REPLACE_GLOBAL_NEW(AcctNew, AcctDelete)

static void* OsslMalloc(std::size_t n, const char*, int) {
  void* p = std::malloc(n ? n : 1);
  if (!p) return nullptr;
  mem_acct::g_ossl += static_cast<int64_t>(malloc_usable_size(p));
  ++mem_acct::g_ossl_blocks;
  return p;
}
static void OsslFree(void* p, const char*, int) {
  if (!p) return;
  mem_acct::g_ossl -= static_cast<int64_t>(malloc_usable_size(p));
  --mem_acct::g_ossl_blocks;
  std::free(p);
}
static void* OsslRealloc(void* p, std::size_t n, const char* f, int l) {
  if (!p) return OsslMalloc(n, f, l);
  if (n == 0) {
    OsslFree(p, f, l);
    return nullptr;
  }
  const auto old = static_cast<int64_t>(malloc_usable_size(p));
  void* np = std::realloc(p, n);
  if (!np) return nullptr;
  mem_acct::g_ossl += static_cast<int64_t>(malloc_usable_size(np)) - old;
  return np;
}

namespace ikepulse::dataplane {
namespace {

size_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}
size_t MallinfoInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

struct Snapshot {
  int64_t heap, heap_blocks, ossl, ossl_blocks;
  size_t mallinfo, rss;
  static Snapshot Take() {
    malloc_trim(0);
    return {mem_acct::g_heap, mem_acct::g_heap_blocks, mem_acct::g_ossl, mem_acct::g_ossl_blocks,
            MallinfoInUse(), RssBytes()};
  }
};

// Per-unit counters from the delta b - a.
void Report(benchmark::State& state, const Snapshot& a, const Snapshot& b, double units) {
  const double heap = double(b.heap - a.heap), ossl = double(b.ossl - a.ossl);
  const double hblk = double(b.heap_blocks - a.heap_blocks);
  const double oblk = double(b.ossl_blocks - a.ossl_blocks);
  state.counters["heap_B"] = heap / units;
  state.counters["heap_blk"] = hblk / units;
  state.counters["ossl_B"] = ossl / units;
  state.counters["ossl_blk"] = oblk / units;
  state.counters["total_B"] = (heap + ossl + 8 * (hblk + oblk)) / units;
  state.counters["mallinfo_B"] = (double(b.mallinfo) - double(a.mallinfo)) / units;
  state.counters["rss_B"] = (double(b.rss) - double(a.rss)) / units;
}

struct Suite {
  config::EspCipher cipher;
  config::EspAuth auth;
  crypto::EspEncAlg enc;
  crypto::EspIntegAlg integ;
  const char* ossl_cipher;
  const char* ossl_digest;
  const char* name;
};
const Suite kSuites[] = {
    {config::EspCipher::kAes128, config::EspAuth::kSha1, crypto::EspEncAlg::kAes128Cbc,
     crypto::EspIntegAlg::kHmacSha1_96, "AES-128-CBC", "SHA1", "aes128-cbc/hmac-sha1-96"},
    {config::EspCipher::kAes256, config::EspAuth::kSha256, crypto::EspEncAlg::kAes256Cbc,
     crypto::EspIntegAlg::kHmacSha256_128, "AES-256-CBC", "SHA2-256",
     "aes256-cbc/hmac-sha256-128"},
};

// N crypto map entries green 1..N with one-line ACLs and one SA pair each, distinct keys per
// pair and direction (as the engine would have). Same shape as esp_bench's ScaleFixture.
struct Input {
  config::Config cfg;
  std::vector<ike::ChildSaSnapshot> sas;
  Input(const Suite& su, uint32_t n, bool with_config) {
    const size_t ek = crypto::EspEncKeyLength(su.enc), ak = crypto::EspIntegKeyLength(su.integ);
    sas.reserve(n);
    for (uint32_t seq = 1; seq <= n; ++seq) {
      if (with_config) AddScaleEntry(cfg, seq);
      auto key = [&](size_t len, uint8_t tag) {
        Bytes b(len);
        for (size_t i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(seq * 7 + i * 13 + tag);
        return SecretBytes(b);
      };
      sas.push_back(
          ScaleSnapshot(seq, su.cipher, su.auth, key(ek, 1), key(ak, 2), key(ek, 3), key(ak, 4)));
    }
  }
};

void Label(benchmark::State& state, const Suite& su) { state.SetLabel(su.name); }

void BM_SaDb(benchmark::State& state) {
  const Suite& su = kSuites[state.range(0)];
  const auto n = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) {
    state.PauseTiming();
    const Input in(su, n, false);
    auto db = std::make_unique<SaDb>();
    const Snapshot a = Snapshot::Take();
    state.ResumeTiming();
    const auto r = db->Sync(in.sas);
    state.PauseTiming();
    if (r.added != n) state.SkipWithError("not every pair was added");
    const Snapshot b = Snapshot::Take();
    Report(state, a, b, n);
    db.reset();
    state.ResumeTiming();
  }
  Label(state, su);
}

void BM_DataPlane(benchmark::State& state) {
  const Suite& su = kSuites[state.range(0)];
  const auto n = static_cast<uint32_t>(state.range(1));
  crypto::OpenSslRandom os_rng;
  for (auto _ : state) {
    state.PauseTiming();
    const Input in(su, n, true);
    auto rng = std::make_unique<BufferedRandom>(os_rng);
    auto dp = std::make_unique<DataPlane>(*rng);
    DataPlane::Out out;
    const Snapshot a = Snapshot::Take();
    state.ResumeTiming();
    const auto r = dp->Sync(FromMicros(0), in.cfg, in.sas, out);
    state.PauseTiming();
    if (r.added != n || dp->policy().entry_count() != n)
      state.SkipWithError("not every pair/entry was added");
    const Snapshot b = Snapshot::Take();
    Report(state, a, b, n);
    dp.reset();
    state.ResumeTiming();
  }
  Label(state, su);
}

void BM_EspContext(benchmark::State& state) {
  const Suite& su = kSuites[state.range(0)];
  const auto n = static_cast<uint32_t>(state.range(1));
  const Bytes ek(crypto::EspEncKeyLength(su.enc), 1), ak(crypto::EspIntegKeyLength(su.integ), 2);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::unique_ptr<crypto::EspCryptoContext>> v;
    v.reserve(n);
    const Snapshot a = Snapshot::Take();
    state.ResumeTiming();
    for (uint32_t i = 0; i < n; ++i)
      v.push_back(std::move(crypto::EspCryptoContext::Create(su.enc, ek, su.integ, ak).value()));
    state.PauseTiming();
    const Snapshot b = Snapshot::Take();
    Report(state, a, b, n);
    v.clear();
    state.ResumeTiming();
  }
  Label(state, su);
}

void BM_OsslObject(benchmark::State& state) {
  const Suite& su = kSuites[state.range(0)];
  const int64_t step = state.range(1);
  constexpr uint32_t n = 10000;
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, su.ossl_cipher, nullptr);
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  const Bytes ek(crypto::EspEncKeyLength(su.enc), 1), ak(crypto::EspIntegKeyLength(su.integ), 2);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<EVP_CIPHER_CTX*> cctx;
    std::vector<EVP_MAC_CTX*> mctx;
    cctx.reserve(n);
    mctx.reserve(n);
    const Snapshot a = Snapshot::Take();
    state.ResumeTiming();
    for (uint32_t i = 0; i < n; ++i) {
      if (step <= 1) {
        EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
        if (step == 1 && EVP_CipherInit_ex2(c, cipher, ek.data(), nullptr, 1, nullptr) != 1)
          state.SkipWithError("cipher init");
        cctx.push_back(c);
      } else {
        EVP_MAC_CTX* m = EVP_MAC_CTX_new(hmac);
        if (step == 3) {
          const OSSL_PARAM params[] = {
              OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               const_cast<char*>(su.ossl_digest), 0),
              OSSL_PARAM_construct_end()};
          if (EVP_MAC_init(m, ak.data(), ak.size(), params) != 1) state.SkipWithError("mac init");
        }
        mctx.push_back(m);
      }
    }
    state.PauseTiming();
    const Snapshot b = Snapshot::Take();
    Report(state, a, b, n);
    for (auto* c : cctx) EVP_CIPHER_CTX_free(c);
    for (auto* m : mctx) EVP_MAC_CTX_free(m);
    state.ResumeTiming();
  }
  EVP_CIPHER_free(cipher);
  EVP_MAC_free(hmac);
  static const char* const kStep[] = {"EVP_CIPHER_CTX_new", "+ EVP_CipherInit_ex2 (key)",
                                      "EVP_MAC_CTX_new(HMAC)", "+ EVP_MAC_init (digest, key)"};
  state.SetLabel(std::string(su.name) + ": " + kStep[step]);
}

void ScaleArgs(benchmark::internal::Benchmark* b) {
  for (int64_t s : {0, 1})
    for (int64_t n : {1000, 10000, 100000}) b->Args({s, n});
  b->ArgNames({"suite", "pairs"})->Iterations(1)->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_SaDb)->Apply(ScaleArgs);
BENCHMARK(BM_DataPlane)->Apply(ScaleArgs);
BENCHMARK(BM_EspContext)
    ->Args({0, 10000})
    ->Args({1, 10000})
    ->ArgNames({"suite", "n"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OsslObject)
    ->ArgsProduct({{0, 1}, {0, 1, 2, 3}})
    ->ArgNames({"suite", "step"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ikepulse::dataplane

int main(int argc, char** argv) {
  // Before anything calls into OpenSSL, so every OpenSSL block is counted on both sides.
  if (!CRYPTO_set_mem_functions(OsslMalloc, OsslRealloc, OsslFree))
    std::fprintf(stderr, "dataplane_mem_bench: OpenSSL allocations are not tracked\n");
  // Warm-up outside any measurement: OpenSSL's one-time provider/algorithm setup and
  // esp_crypto.cc's fetched algorithms (built on first use).
  for (const auto& su : ikepulse::dataplane::kSuites) {
    const ikepulse::Bytes ek(ikepulse::crypto::EspEncKeyLength(su.enc), 1);
    const ikepulse::Bytes ak(ikepulse::crypto::EspIntegKeyLength(su.integ), 2);
    (void)ikepulse::crypto::EspCryptoContext::Create(su.enc, ek, su.integ, ak).value();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
