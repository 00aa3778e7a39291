// ISAKMP codec benchmarks: parse + serialize of a Main Mode 1 message (header, SA with one
// phase-1 proposal, two vendor IDs) and of an RFC 3706 R-U-THERE informational plaintext body
// (HASH(1) + NOTIFY). Run: build-*/bench/isakmp_bench
#include <benchmark/benchmark.h>

#include "common/bytes.h"
#include "isakmp/header.h"
#include "isakmp/payloads.h"

namespace ikepulse::isakmp {
namespace {

// Same bytes as the golden message in src/isakmp/isakmp_test_util.h.
const Bytes& Mm1() {
  static const Bytes b = HexOrDie(
      "0102030405060708 0000000000000000 01 10 02 00 00000000 00000080"
      "0d00003c 00000001 00000001 00000030 01 01 00 01 00000028 01 01 0000"
      "80010007 800e0080 80020002 80030001 8004000e 800b0001 000c0004 00015180"
      "0d000014 afcad71368a1f1c96b8696fc77570100"
      "00000014 4a131c81070358455c5728f20e95452f");
  return b;
}

// HASH(1) (20 bytes) then N(R-U-THERE, proto ISAKMP, SPI = cookies, seq 0x1234abcd).
const Bytes& DpdBody() {
  static const Bytes b = HexOrDie(
      "0b000018 000102030405060708090a0b0c0d0e0f10111213"
      "00000020 00000001 01 10 8d28 0102030405060708 a1a2a3a4a5a6a7a8 1234abcd");
  return b;
}

void BM_Mm1Parse(benchmark::State& state) {
  const Bytes& msg = Mm1();
  for (auto _ : state) {
    auto h = ParseHeader(msg);
    auto chain = ParsePayloads(h->next_payload, ByteSpan(msg).subspan(kHeaderSize), kHeaderSize);
    benchmark::DoNotOptimize(chain);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(msg.size()));
}
BENCHMARK(BM_Mm1Parse);

void BM_Mm1ParseSerialize(benchmark::State& state) {
  const Bytes& msg = Mm1();
  for (auto _ : state) {
    auto h = ParseHeader(msg);
    auto chain = ParsePayloads(h->next_payload, ByteSpan(msg).subspan(kHeaderSize), kHeaderSize);
    Bytes out = BuildMessage(*h, SerializePayloads(*chain));
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(msg.size()));
}
BENCHMARK(BM_Mm1ParseSerialize);

void BM_Mm1Serialize(benchmark::State& state) {
  const Bytes& msg = Mm1();
  auto h = ParseHeader(msg);
  auto chain = ParsePayloads(h->next_payload, ByteSpan(msg).subspan(kHeaderSize), kHeaderSize);
  for (auto _ : state) {
    Bytes out = BuildMessage(*h, SerializePayloads(*chain));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Mm1Serialize);

void BM_DpdBodyParse(benchmark::State& state) {
  const Bytes& body = DpdBody();
  for (auto _ : state) {
    auto chain = ParsePayloads(PayloadType::kHash, body, kHeaderSize);
    benchmark::DoNotOptimize(chain);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_DpdBodyParse);

void BM_DpdBodyParseSerialize(benchmark::State& state) {
  const Bytes& body = DpdBody();
  for (auto _ : state) {
    auto chain = ParsePayloads(PayloadType::kHash, body, kHeaderSize);
    Bytes out = SerializePayloads(*chain);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_DpdBodyParseSerialize);

}  // namespace
}  // namespace ikepulse::isakmp

BENCHMARK_MAIN();
