// Crypto cost of DPD and of a key exchange.
//
//   Protect:   what sending one R-U-THERE costs: the per-M-ID IV (RFC 2409 Appendix B),
//              HASH(1) = prf(SKEYID_a, M-ID | N) over the 32-byte notify (RFC 2409 §5.7), and
//              CBC encryption of HASH payload + notify, zero-padded to the block size.
//   Unprotect: the receiving side: IV, CBC decryption, HASH(1) recomputed and compared.
//   Dh:        one key exchange half: generate a key pair and compute g^xy with a peer value.
//
// Run: build-crypto/bench/crypto_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstring>

#include "crypto/crypto.h"
#include "crypto/ikev1_keys.h"

namespace ikepulse::crypto {
namespace {

struct Suite {
  CipherAlg cipher;
  HashAlg hash;
};
constexpr Suite kSuites[] = {{CipherAlg::kAes128Cbc, HashAlg::kSha1},
                             {CipherAlg::kAes256Cbc, HashAlg::kSha256}};

// Keys and the 32-byte R-U-THERE notify payload (generic header, DOI, protocol, SPI size 16,
// type 36136, the cookie pair as SPI, 4-byte sequence number).
struct DpdFixture {
  explicit DpdFixture(const Suite& s) : suite(s) {
    Bytes psk(16, 0x42), ni(16, 1), nr(16, 2), gxy(256, 3), cky_i(8, 4), cky_r(8, 5);
    keys = DerivePhase1Psk(s.hash, psk, ni, nr, gxy, cky_i, cky_r, KeyLength(s.cipher));
    last_phase1_block = Bytes(BlockSize(s.cipher), 0x77);
    notify = HexOrDie(
        "00000020"
        "00000001"
        "01108d28"
        "0404040404040404"
        "0505050505050505"
        "12345678");
  }

  // HDR* | HASH(1) | N, the encrypted part: HASH payload + notify, zero-padded.
  Bytes Body(ByteSpan hash) const {
    const size_t hash_len = 4 + hash.size();
    const size_t bs = BlockSize(suite.cipher);
    Bytes body((hash_len + notify.size() + bs - 1) / bs * bs, 0);  // zero padding
    body[0] = 11;                                                  // next payload: N
    body[2] = static_cast<uint8_t>(hash_len >> 8);
    body[3] = static_cast<uint8_t>(hash_len);
    std::memcpy(body.data() + 4, hash.data(), hash.size());
    std::memcpy(body.data() + hash_len, notify.data(), notify.size());
    return body;
  }

  Suite suite;
  Phase1Keys keys;
  Bytes last_phase1_block;
  Bytes notify;
};

void BM_ProtectDpd(benchmark::State& state) {
  const DpdFixture f(kSuites[state.range(0)]);
  uint32_t mid = 0x10000000;
  size_t bytes = 0;
  for (auto _ : state) {
    ++mid;
    Bytes iv = Phase2Iv(f.suite.hash, f.last_phase1_block, mid, BlockSize(f.suite.cipher));
    SecretBytes hash = InformationalHash(f.suite.hash, f.keys.skeyid_a.span(), mid, f.notify);
    Bytes body = f.Body(hash.span());
    auto enc = CbcEncrypt(f.suite.cipher, f.keys.enc_key.span(), iv, body);
    bytes = enc->size();
    benchmark::DoNotOptimize(enc);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
  state.SetLabel(std::string(CipherName(f.suite.cipher)) + "/" + HashName(f.suite.hash));
}

void BM_UnprotectDpd(benchmark::State& state) {
  const DpdFixture f(kSuites[state.range(0)]);
  const uint32_t mid = 0x1234abcd;
  const size_t bs = BlockSize(f.suite.cipher);
  const Bytes iv0 = Phase2Iv(f.suite.hash, f.last_phase1_block, mid, bs);
  const SecretBytes hash0 = InformationalHash(f.suite.hash, f.keys.skeyid_a.span(), mid, f.notify);
  const Bytes wire = *CbcEncrypt(f.suite.cipher, f.keys.enc_key.span(), iv0, f.Body(hash0.span()));
  const size_t hash_len = HashLength(f.suite.hash);
  for (auto _ : state) {
    Bytes iv = Phase2Iv(f.suite.hash, f.last_phase1_block, mid, bs);
    auto plain = CbcDecrypt(f.suite.cipher, f.keys.enc_key.span(), iv, wire);
    const ByteSpan p(*plain);
    const ByteSpan received = p.subspan(4, hash_len);
    const ByteSpan after_hash = p.subspan(4 + hash_len, f.notify.size());
    SecretBytes computed = InformationalHash(f.suite.hash, f.keys.skeyid_a.span(), mid, after_hash);
    const bool ok = computed == SecretBytes(received);
    if (!ok) state.SkipWithError("HASH(1) mismatch");
    benchmark::DoNotOptimize(ok);
  }
  state.SetLabel(std::string(CipherName(f.suite.cipher)) + "/" + HashName(f.suite.hash));
}

void BM_Dh(benchmark::State& state) {
  const auto group = static_cast<uint16_t>(state.range(0));
  auto peer = DhKeyPair::Generate(group);
  if (peer == nullptr) {
    state.SkipWithError("unsupported group");
    return;
  }
  const Bytes peer_public = peer->public_value();
  for (auto _ : state) {
    auto mine = DhKeyPair::Generate(group);
    auto shared = mine->ComputeShared(peer_public);
    if (!shared) state.SkipWithError(shared.error().detail);
    benchmark::DoNotOptimize(shared);
  }
}

void BM_Phase1Derivation(benchmark::State& state) {
  const Bytes psk(16, 0x42), ni(16, 1), nr(16, 2), gxy(256, 3), cky_i(8, 4), cky_r(8, 5);
  for (auto _ : state) {
    Phase1Keys k = DerivePhase1Psk(HashAlg::kSha1, psk, ni, nr, gxy, cky_i, cky_r, 32);
    benchmark::DoNotOptimize(k);
  }
  state.SetLabel("sha1, aes-256 (expanded)");
}

BENCHMARK(BM_ProtectDpd)->Arg(0)->Arg(1);
BENCHMARK(BM_UnprotectDpd)->Arg(0)->Arg(1);
BENCHMARK(BM_Dh)
    ->ArgName("group")
    ->Arg(1)
    ->Arg(2)
    ->Arg(5)
    ->Arg(14)
    ->Arg(15)
    ->Arg(16)
    ->Arg(19)
    ->Arg(20)
    ->Arg(21)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Phase1Derivation);

}  // namespace
}  // namespace ikepulse::crypto

BENCHMARK_MAIN();
