// Pinger: one echo at a time, '!' on the matching reply with its round-trip time, '.' after
// exactly kEchoTimeout, the repeat cap, the bounds on concurrent pings, and a ping through two
// DataPlanes (the echo classified and encrypted, the reply decrypted and consumed).
#include "dataplane/pinger.h"

#include <gtest/gtest.h>

#include <set>

#include "dataplane/dataplane.h"
#include "dataplane/dataplane_test_util.h"
#include "dataplane/icmp_echo.h"

namespace ikepulse::dataplane {
namespace {

using testing::Ip;

TimePoint T(int64_t ms) { return FromMicros(ms * 1000); }

// The answer of the host at the echo's destination.
Bytes Answer(ByteSpan request) {
  Bytes p(request.begin(), request.end());
  for (int i = 0; i < 4; ++i) std::swap(p[12 + i], p[16 + i]);
  p[10] = p[11] = 0;
  const uint16_t ip_sum = InternetChecksum(ByteSpan(p.data(), 20));
  p[10] = static_cast<uint8_t>(ip_sum >> 8);
  p[11] = static_cast<uint8_t>(ip_sum);
  p[20] = 0;
  p[22] = p[23] = 0;
  const uint16_t sum = InternetChecksum(ByteSpan(p.data() + 20, p.size() - 20));
  p[22] = static_cast<uint8_t>(sum >> 8);
  p[23] = static_cast<uint8_t>(sum);
  return p;
}

uint16_t Seq(const Bytes& echo) { return static_cast<uint16_t>((echo[26] << 8) | echo[27]); }
uint16_t Ident(const Bytes& echo) { return static_cast<uint16_t>((echo[24] << 8) | echo[25]); }

Pinger::Params Params(uint32_t repeat = 5, uint32_t size = 100) {
  Pinger::Params p;
  p.src = Ip("198.51.100.1");
  p.dst = Ip("203.0.113.10");
  p.repeat = repeat;
  p.size = size;
  return p;
}

class PingerTest : public ::testing::Test {
 protected:
  SeededRandom rng_{5};
  Pinger pinger_{rng_};
  std::vector<Bytes> send_;
};

TEST_F(PingerTest, AnsweredEchoesOneAfterTheOther) {
  auto h = pinger_.Start(T(0), Params(3), send_);
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(send_.size(), 1u);  // one echo at a time
  EXPECT_EQ(send_[0].size(), 100u);
  EXPECT_EQ(Seq(send_[0]), 0);
  EXPECT_EQ(pinger_.NextDeadline(), T(2000));
  const uint16_t ident = Ident(send_[0]);

  std::vector<Bytes> next;
  EXPECT_TRUE(pinger_.OnPacket(T(3), Answer(send_[0]), next));
  ASSERT_EQ(next.size(), 1u);  // the answer sends the next echo at once
  EXPECT_EQ(Seq(next[0]), 1);
  EXPECT_EQ(Ident(next[0]), ident);
  EXPECT_EQ(pinger_.NextDeadline(), T(2003));
  const Bytes second = next[0];
  next.clear();
  EXPECT_TRUE(pinger_.OnPacket(T(10), Answer(second), next));
  ASSERT_EQ(next.size(), 1u);
  const Bytes third = next[0];
  next.clear();
  // A duplicate of the second answer: consumed, not counted.
  EXPECT_TRUE(pinger_.OnPacket(T(11), Answer(second), next));
  EXPECT_TRUE(next.empty());
  EXPECT_EQ(pinger_.Find(*h)->marks, "!!");
  EXPECT_TRUE(pinger_.OnPacket(T(12), Answer(third), next));
  EXPECT_TRUE(next.empty());  // done: nothing more to send

  const Pinger::Status* st = pinger_.Find(*h);
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(st->done);
  EXPECT_EQ(st->marks, "!!!");
  ASSERT_EQ(st->rtts.size(), 3u);
  EXPECT_EQ(st->rtts[0], Millis(3));
  EXPECT_EQ(st->rtts[1], Millis(7));
  EXPECT_EQ(st->rtts[2], Millis(2));
  // Kept for kKeepFinished, then forgotten.
  EXPECT_EQ(pinger_.NextDeadline(), T(12) + Pinger::kKeepFinished);
  pinger_.OnTimer(T(12) + Pinger::kKeepFinished - Micros(1), next);
  EXPECT_NE(pinger_.Find(*h), nullptr);
  pinger_.OnTimer(T(12) + Pinger::kKeepFinished, next);
  EXPECT_EQ(pinger_.Find(*h), nullptr);
  EXPECT_EQ(pinger_.NextDeadline(), kNever);
}

TEST_F(PingerTest, TimeoutIsExactlyTwoSeconds) {
  auto h = pinger_.Start(T(0), Params(2), send_);
  ASSERT_TRUE(h.has_value());
  std::vector<Bytes> next;
  pinger_.OnTimer(T(1999), next);
  EXPECT_TRUE(next.empty());
  EXPECT_EQ(pinger_.Find(*h)->marks, "");
  pinger_.OnTimer(T(2000), next);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(Seq(next[0]), 1);
  EXPECT_EQ(pinger_.Find(*h)->marks, ".");
  // The late answer to the first echo is consumed but does not count for the second.
  std::vector<Bytes> more;
  EXPECT_TRUE(pinger_.OnPacket(T(2100), Answer(send_[0]), more));
  EXPECT_TRUE(more.empty());
  EXPECT_EQ(pinger_.Find(*h)->marks, ".");
  EXPECT_TRUE(pinger_.OnPacket(T(2500), Answer(next[0]), more));
  EXPECT_EQ(pinger_.Find(*h)->marks, ".!");
  EXPECT_TRUE(pinger_.Find(*h)->done);
  EXPECT_EQ(pinger_.Find(*h)->rtts, std::vector<Duration>{Millis(500)});
}

TEST_F(PingerTest, OnlyRepliesOfOurPingAreConsumed) {
  auto h = pinger_.Start(T(0), Params(1), send_);
  ASSERT_TRUE(h.has_value());
  std::vector<Bytes> next;
  Bytes other_ident = send_[0];
  other_ident[24] ^= 0xff;  // another identifier (a host's own ping)
  other_ident[22] ^= 0xff;  // keep the ICMP checksum right
  EXPECT_FALSE(pinger_.OnPacket(T(1), Answer(other_ident), next));
  // From someone else than the target.
  Bytes from_other = Answer(send_[0]);
  from_other[15] ^= 1;
  from_other[10] = from_other[11] = 0;
  const uint16_t s = InternetChecksum(ByteSpan(from_other.data(), 20));
  from_other[10] = static_cast<uint8_t>(s >> 8);
  from_other[11] = static_cast<uint8_t>(s);
  EXPECT_FALSE(pinger_.OnPacket(T(1), from_other, next));
  EXPECT_FALSE(pinger_.OnPacket(T(1), send_[0], next));  // a request is not a reply
  EXPECT_EQ(pinger_.Find(*h)->marks, "");
  pinger_.Stop(*h);
  EXPECT_EQ(pinger_.Find(*h), nullptr);
  EXPECT_FALSE(pinger_.OnPacket(T(2), Answer(send_[0]), next));  // stopped: not ours any more
  EXPECT_EQ(pinger_.size(), 0u);
}

TEST_F(PingerTest, RepeatAndSizeAreBounded) {
  auto h = pinger_.Start(T(0), Params(2147483647, 18024), send_);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(pinger_.Find(*h)->params.repeat, Pinger::kMaxRepeat);
  EXPECT_EQ(send_[0].size(), 18024u);
  auto h2 = pinger_.Start(T(0), Params(0, 1), send_);
  ASSERT_TRUE(h2.has_value());
  EXPECT_EQ(pinger_.Find(*h2)->params.repeat, 1u);
  EXPECT_EQ(send_[1].size(), 36u);
  // All timeouts: kMaxRepeat echoes, then done; each timeout exactly 2 s after its echo.
  std::vector<Bytes> next;
  for (uint32_t i = 1; i <= Pinger::kMaxRepeat; ++i) pinger_.OnTimer(T(2000 * int64_t{i}), next);
  EXPECT_EQ(next.size(), Pinger::kMaxRepeat - 1);
  EXPECT_EQ(pinger_.Find(*h)->marks, std::string(Pinger::kMaxRepeat, '.'));
  EXPECT_TRUE(pinger_.Find(*h)->done);
  EXPECT_EQ(Seq(next.back()), Pinger::kMaxRepeat - 1);
}

TEST_F(PingerTest, AtMostMaxPingsRun) {
  std::vector<uint64_t> handles;
  for (size_t i = 0; i < Pinger::kMaxPings; ++i) {
    auto h = pinger_.Start(T(0), Params(1), send_);
    ASSERT_TRUE(h.has_value());
    handles.push_back(*h);
  }
  // Distinct identifiers.
  std::set<uint16_t> idents;
  for (const Bytes& e : send_) idents.insert(Ident(e));
  EXPECT_EQ(idents.size(), Pinger::kMaxPings);
  EXPECT_FALSE(pinger_.Start(T(0), Params(1), send_).has_value());
  // One finishes: a new ping evicts it.
  std::vector<Bytes> next;
  ASSERT_TRUE(pinger_.OnPacket(T(5), Answer(send_[3]), next));
  EXPECT_TRUE(pinger_.Find(handles[3])->done);
  EXPECT_TRUE(pinger_.Start(T(6), Params(1), send_).has_value());
  EXPECT_EQ(pinger_.Find(handles[3]), nullptr);
  EXPECT_EQ(pinger_.size(), Pinger::kMaxPings);
  EXPECT_FALSE(pinger_.Start(T(7), Params(1), send_).has_value());
  Pinger::Params v6 = Params(1);
  v6.dst = Ip("2001:db8::1");
  pinger_.Stop(handles[0]);
  EXPECT_FALSE(pinger_.Start(T(7), v6, send_).has_value());
}

// Gateway A pings a host behind gateway B through ESP: the echo is classified by A's crypto
// map and encrypted; the host's answer comes back encrypted and A's pinger consumes it.
TEST(PingerDataPlaneTest, ThroughTheTunnel) {
  SeededRandom rng(9);
  DataPlane a(rng), b(rng);
  testing::SnapshotPair sas = testing::AesSha1Sas(rng);
  DataPlane::Out out_a, out_b;
  a.Sync(T(0), testing::GatewayConfig(true), {sas.a}, out_a);
  b.Sync(T(0), testing::GatewayConfig(false), {sas.b}, out_b);
  Pinger pinger(rng);
  std::vector<Bytes> send;
  auto h = pinger.Start(T(1), Params(2), send);
  ASSERT_TRUE(h.has_value());
  for (int echo = 0; echo < 2; ++echo) {
    ASSERT_EQ(send.size(), 1u);
    out_a.Clear();
    out_b.Clear();
    a.OnTunPacket(T(10 + echo), send[0], out_a);
    ASSERT_EQ(out_a.esp_datagrams.size(), 1u);
    b.OnEspDatagram(T(11 + echo), sas.b.local, sas.b.remote, out_a.esp_datagrams[0].data, out_b);
    ASSERT_EQ(out_b.to_tun.size(), 1u);
    EXPECT_EQ(out_b.to_tun[0], send[0]);
    b.OnTunPacket(T(12 + echo), Answer(out_b.to_tun[0]), out_b);
    ASSERT_EQ(out_b.esp_datagrams.size(), 1u);
    out_a.Clear();
    a.OnEspDatagram(T(13 + echo), sas.a.local, sas.a.remote, out_b.esp_datagrams[0].data,
                    out_a);
    ASSERT_EQ(out_a.to_tun.size(), 1u);
    send.clear();
    EXPECT_TRUE(pinger.OnPacket(T(13 + echo), out_a.to_tun[0], send));
  }
  EXPECT_TRUE(send.empty());
  EXPECT_EQ(pinger.Find(*h)->marks, "!!");
  EXPECT_TRUE(pinger.Find(*h)->done);
  EXPECT_EQ(a.counters().encrypted, 2u);
  EXPECT_EQ(a.counters().decrypted, 2u);
}

}  // namespace
}  // namespace ikepulse::dataplane
