// Robustness: malformed and out-of-state datagrams reach a Node that holds an established SA
// (and one in the middle of Main Mode). Each one is dropped with its counter (and a kDrop
// event, plus a debug line when debug is on), nothing crashes, and the established SA is
// unaffected: same ISAKMP SA, same IPsec SAs, and DPD still works on it afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/check.h"
#include "isakmp/header.h"
#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ::testing::SizeIs;
using ike::EventKind;
using sim::PacketFate;

constexpr uint8_t kMainMode = 2;
constexpr uint8_t kInformational = 5;
constexpr uint8_t kQuickMode = 32;

// The shared two sites with keepalive 10 2 periodic.
SiteSpec DpdSite(SiteSpec s) {
  s.keepalive = Keepalive(10, 2, true);
  return s;
}

// Counter deltas of one node between two moments.
struct Snap {
  ike::NodeCounters c;
  size_t events = 0;
};

class Robustness : public ::testing::Test {
 protected:
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  sim::Link& link = sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
  TimePoint t0;
  std::vector<ike::IsakmpSaSnapshot> ike_a0, ike_b0;
  std::vector<ike::ChildSaSnapshot> ch_a0, ch_b0;

  void SetUp() override {
    a.SetConfig(MakeConfig(DpdSite(SiteA())));
    b.SetConfig(MakeConfig(DpdSite(SiteB())));
    a.SetDebug(true);
    b.SetDebug(true);
    t0 = sim.now();
  }

  // A initiates; runs until both sides have their IPsec SA; remembers the state.
  void Establish() {
    a.Initiate("green", 1);
    ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, t0 + Seconds(5)));
    ike_a0 = a.IsakmpSas();
    ike_b0 = b.IsakmpSas();
    ch_a0 = a.ChildSas();
    ch_b0 = b.ChildSas();
    ASSERT_THAT(ike_a0, SizeIs(1));
    ASSERT_THAT(ike_b0, SizeIs(1));
  }

  // The n-th (1-based) datagram `from` sent with exchange type `xchg` (payload included).
  ike::Datagram SentBy(const sim::SimNode& from, uint8_t xchg, size_t n) {
    auto v = sim::FindPackets(sim, PacketFate::kSent, [&](const sim::PacketRecord& r) {
      return r.datagram.local.ip == from.address() && sim::IsakmpExchangeType(r.datagram) == xchg;
    });
    IKEPULSE_CHECK(v.size() >= n);
    return v[n - 1]->datagram;
  }

  // Injects `data` to `to`, as if sent by the other node from port 500 to `port`.
  void Send(const sim::SimNode& to, Bytes data, uint16_t port = 500) {
    const sim::SimNode& from = &to == &a ? b : a;
    ike::Datagram d{Endpoint{from.address(), 500}, Endpoint{to.address(), port}, std::move(data)};
    sim.Inject(std::move(d), from.id());
  }

  // The ISAKMP header of the established SA (cookies from A's MM5), with the given fields.
  Bytes Header(uint8_t xchg, uint8_t flags, uint32_t mid, uint8_t next_payload, size_t body) {
    const ike::Datagram mm5 = SentBy(a, kMainMode, 3);
    Bytes h(mm5.data.begin(), mm5.data.begin() + 16);
    h.push_back(next_payload);
    h.push_back(0x10);
    h.push_back(xchg);
    h.push_back(flags);
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(mid >> s));
    const uint32_t len = static_cast<uint32_t>(28 + body);
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<uint8_t>(len >> s));
    return h;
  }

  // Both sides still hold exactly the SAs they had after Establish(), nothing went down, and
  // DPD still round-trips on the ISAKMP SA (its keys and IVs are intact on both sides).
  void ExpectUnaffected() {
    sim.RunFor(Millis(20));
    auto ia = a.IsakmpSas(), ib = b.IsakmpSas();
    ASSERT_EQ(ia.size(), 1u);
    ASSERT_EQ(ib.size(), 1u);
    EXPECT_EQ(ia[0].conn_id, ike_a0[0].conn_id);
    EXPECT_EQ(ib[0].conn_id, ike_b0[0].conn_id);
    EXPECT_EQ(ia[0].state, "QM_IDLE");
    EXPECT_EQ(ib[0].state, "QM_IDLE");
    auto ca = a.ChildSas(), cb = b.ChildSas();
    ASSERT_EQ(ca.size(), ch_a0.size());
    ASSERT_EQ(cb.size(), ch_b0.size());
    for (size_t i = 0; i < ca.size(); ++i) EXPECT_EQ(ca[i].spi_in, ch_a0[i].spi_in);
    for (size_t i = 0; i < cb.size(); ++i) EXPECT_EQ(cb[i].spi_in, ch_b0[i].spi_in);
    for (auto k : {EventKind::kIkeSaDown, EventKind::kChildSaDown, EventKind::kPeerDead}) {
      EXPECT_TRUE(OfKind(a.events(), k).empty()) << sim::KindName(k);
      EXPECT_TRUE(OfKind(b.events(), k).empty()) << sim::KindName(k);
    }
    EXPECT_EQ(a.ike_sa_count(), 1u);
    EXPECT_EQ(b.ike_sa_count(), 1u);
    // DPD: both sides probe every 10 s; within 25 s each has answered the other's R-U-THERE
    // (so each decrypted and authenticated the other's Informational) and nobody died.
    const uint64_t acks_a = a.counters().dpd_acks_sent;
    const uint64_t acks_b = b.counters().dpd_acks_sent;
    const uint64_t auth_a = a.counters().dropped_auth, auth_b = b.counters().dropped_auth;
    sim.RunFor(Seconds(25));
    EXPECT_GT(a.counters().dpd_acks_sent, acks_a) << "A no longer answers DPD";
    EXPECT_GT(b.counters().dpd_acks_sent, acks_b) << "B no longer answers DPD";
    EXPECT_EQ(a.counters().dropped_auth, auth_a) << "A rejects genuine traffic now";
    EXPECT_EQ(b.counters().dropped_auth, auth_b) << "B rejects genuine traffic now";
    EXPECT_EQ(a.counters().peers_dead + b.counters().peers_dead, 0u);
  }
};

// Every kDrop event carries the reason; with debug on there is also a debug line.
void ExpectDropLines(const sim::SimNode& n, size_t drops) {
  auto d = OfKind(n.events(), EventKind::kDrop);
  EXPECT_EQ(d.size(), drops);
  size_t lines = 0;
  for (const auto& e : n.events())
    if (e.kind == EventKind::kDebug && e.text.find("dropping packet from") != std::string::npos)
      ++lines;
  EXPECT_EQ(lines, drops);
  for (const auto& e : d) EXPECT_FALSE(e.text.empty());
}

TEST_F(Robustness, TruncatedHeadersAreDroppedAsMalformed) {
  Establish();
  const Bytes real = SentBy(a, kMainMode, 3).data;
  for (size_t n = 0; n < isakmp::kHeaderSize; ++n) Send(b, Bytes(real.begin(), real.begin() + n));
  // A header whose length claims more than the datagram holds (the tail cut off).
  for (size_t cut : {1u, 4u, 16u, 40u}) Send(b, Bytes(real.begin(), real.end() - cut));
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.counters().dropped_malformed, 32u);
  EXPECT_EQ(b.counters().dropped, 32u);
  // Only the handshake's own messages were accepted: MM1, MM3, MM5, QM1, QM3.
  EXPECT_EQ(b.counters().rx_datagrams - b.counters().dropped, 5u);
  ExpectDropLines(b, 32);
  auto drops = OfKind(b.events(), EventKind::kDrop);
  EXPECT_EQ(drops[0].text, "Unable to read ISAKMP header.");
  EXPECT_EQ(drops[28].text, "Message length past end of datagram.");
  ExpectUnaffected();
}

TEST_F(Robustness, WrongMajorVersionIsDroppedAsMalformed) {
  Establish();
  const ike::Datagram rut = SentBy(a, kMainMode, 3);
  for (uint8_t v : {0x00, 0x20, 0x21, 0xf0, 0x2f}) {
    Bytes m = rut.data;
    m[17] = v;
    Send(b, m);
  }
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.counters().dropped_malformed, 5u);
  EXPECT_EQ(b.counters().dropped, 5u);
  auto drops = OfKind(b.events(), EventKind::kDrop);
  ASSERT_THAT(drops, SizeIs(5));
  EXPECT_EQ(drops[0].text, "Unsupported major version.");
  ExpectUnaffected();
}

TEST_F(Robustness, GarbagePayloadChainsInAnMm1AreDroppedWithoutCreatingState) {
  Establish();
  // A fresh initiator cookie, R = 0, unencrypted Main Mode, first payload SA: an MM1 shape.
  auto mm1 = [&](uint8_t np, Bytes body) {
    Bytes m = {1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, np, 0x10, kMainMode, 0, 0, 0, 0, 0};
    const uint32_t len = static_cast<uint32_t>(28 + body.size());
    for (int s = 24; s >= 0; s -= 8) m.push_back(static_cast<uint8_t>(len >> s));
    m.insert(m.end(), body.begin(), body.end());
    return m;
  };
  const std::vector<Bytes> chains = {
      mm1(1, {}),                                    // SA announced, no bytes
      mm1(1, {0, 0, 0}),                             // 3 bytes of a generic header
      mm1(1, {0, 0, 0, 2}),                          // payload length 2 (< 4)
      mm1(1, {0, 0, 0xff, 0xff, 0, 0, 0, 1}),        // payload length past the end
      mm1(1, {13, 0, 0, 4, 0, 0, 0, 4}),             // SA of length 4, then a VID of length 4..
      mm1(1, {0, 0, 0, 8, 0, 0, 0, 1}),              // SA body shorter than DOI + situation
      mm1(1, {0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1}), // SA with no proposal
      mm1(13, {1, 0, 0, 4}),                         // VID then an SA that is not there
      mm1(99, {0, 0, 0, 4}),                         // an unknown payload type only
      mm1(4, {0, 0, 0, 8, 1, 2, 3, 4}),              // KE in an MM1, no SA
  };
  for (const Bytes& m : chains) Send(b, m);
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.counters().dropped, chains.size());
  EXPECT_EQ(b.counters().dropped_malformed + b.counters().dropped_state, chains.size());
  EXPECT_GE(b.counters().dropped_malformed, 6u);
  EXPECT_EQ(b.counters().tx_datagrams, 4u) << "no MM2 for garbage: only MM2, MM4, MM6, QM2";
  ExpectDropLines(b, chains.size());
  ExpectUnaffected();
}

TEST_F(Robustness, ValidHeaderWithRandomEncryptedBodyIsDroppedAsAuthFailure) {
  Establish();
  SeededRandom rng(99);
  size_t n_info = 0, n_qm = 0, n_mm = 0;
  for (int i = 0; i < 60; ++i) {
    const uint8_t xchg = i % 3 == 0 ? kInformational : i % 3 == 1 ? kQuickMode : kMainMode;
    size_t len = 16 * (1 + rng.Uniform(12));
    if (i % 5 == 4) len += 1 + rng.Uniform(15);  // not a whole number of blocks
    Bytes body(len);
    rng.Fill(body);
    Bytes m = Header(xchg, 0x01, rng.NonZeroU32(), 8, len);
    m.insert(m.end(), body.begin(), body.end());
    Send(b, m);
    (xchg == kInformational ? n_info : xchg == kQuickMode ? n_qm : n_mm)++;
  }
  sim.RunFor(Millis(10));
  // Informational and Quick Mode bodies are decrypted and fail (parse or HASH): auth; an
  // encrypted Main Mode message for an established SA is out of state.
  EXPECT_EQ(b.counters().dropped_auth, n_info + n_qm);
  EXPECT_EQ(b.counters().dropped_state, n_mm);
  EXPECT_EQ(b.counters().dropped, 60u);
  EXPECT_EQ(b.counters().dpd_acks_sent, 0u);
  ExpectDropLines(b, 60);
  ExpectUnaffected();
}

TEST_F(Robustness, QuickModeForUnknownCookiesIsDropped) {
  Establish();
  Bytes m = Header(kQuickMode, 0x01, 0x01020304, 8, 64);
  m[0] ^= 0x5a;  // an initiator cookie nobody has
  m.resize(m.size() + 64, 0xab);
  Send(b, m);
  Bytes m2 = Header(kQuickMode, 0x01, 0x01020304, 8, 64);
  m2[12] ^= 0x5a;  // the right initiator cookie, a wrong responder cookie
  m2.resize(m2.size() + 64, 0xab);
  Send(b, m2);
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.counters().dropped_unknown_sa, 2u);
  EXPECT_EQ(b.counters().dropped, 2u);
  EXPECT_THAT(OfKind(b.events(), EventKind::kDrop)[0].text,
              "Quick Mode without an established ISAKMP SA");
  ExpectUnaffected();
}

TEST_F(Robustness, QuickModeWithMessageIdZeroOrUnencryptedIsDropped) {
  Establish();
  Bytes m = Header(kQuickMode, 0x01, 0, 8, 64);
  m.resize(m.size() + 64, 0xab);
  Send(b, m);
  Bytes m2 = Header(kQuickMode, 0x00, 77, 8, 64);
  m2.resize(m2.size() + 64, 0xab);
  Send(b, m2);
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.counters().dropped_state, 2u);
  EXPECT_EQ(b.counters().dropped, 2u);
  ExpectUnaffected();
}

TEST_F(Robustness, UnencryptedInformationalAfterPhase1IsDroppedAsAuth) {
  Establish();
  // A clear R-U-THERE (notify 36136, DOI 1, protocol 1, SPI = cookies, seq 7) and a clear
  // Delete of the ISAKMP SA: both would be honoured if the engine trusted clear text.
  Bytes h = Header(kInformational, 0, 0x11223344, 0, 0);
  Bytes spi(h.begin(), h.begin() + 16);
  Bytes notify = {0, 0, 0, 32, 0, 0, 0, 1, 1, 16, 0x8d, 0x28};
  notify.insert(notify.end(), spi.begin(), spi.end());
  notify.insert(notify.end(), {0, 0, 0, 7});
  Bytes del = {0, 0, 0, 28, 0, 0, 0, 1, 1, 16, 0, 1};
  del.insert(del.end(), spi.begin(), spi.end());
  for (auto [np, body] : {std::pair<uint8_t, Bytes>{11, notify}, {12, del}}) {
    Bytes m = Header(kInformational, 0, 0x11223344, np, body.size());
    m.insert(m.end(), body.begin(), body.end());
    Send(b, m);
    Send(a, m);
  }
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.counters().dropped_auth, 2u);
  EXPECT_EQ(a.counters().dropped_auth, 2u);
  EXPECT_EQ(b.counters().dropped, 2u);
  EXPECT_EQ(b.counters().dpd_acks_sent, 0u);
  EXPECT_EQ(OfKind(b.events(), EventKind::kDrop)[0].text,
            "unencrypted Informational after phase 1");
  ExpectUnaffected();
}

// B's first R-U-THERE (A's link drops it), as sent.
class RobustnessDpd : public Robustness {
 protected:
  ike::Datagram rut;
  uint32_t seq = 0;
  void CaptureRUThere() {
    Establish();
    link.DropIf([&](const ike::Datagram& d) {
      return d.local.ip == b.address() && sim::IsakmpExchangeType(d) == kInformational;
    });
    ASSERT_TRUE(sim.RunUntil([&] { return !OfKind(b.events(), EventKind::kDpdSent).empty(); },
                             sim.now() + Seconds(15)));
    link.ClearDropIf();
    rut = SentBy(b, kInformational, 1);
    seq = static_cast<uint32_t>(OfKind(b.events(), EventKind::kDpdSent)[0].value);
  }
  size_t AcksFor(uint32_t s) const {
    size_t n = 0;
    for (const auto& e : OfKind(a.events(), EventKind::kDpdAckSent)) n += e.value == s;
    return n;
  }
};

TEST_F(RobustnessDpd, RUThereWithABadHashIsDroppedAndNotAcked) {
  CaptureRUThere();
  // Flip a byte in the last cipher block: only that block's plaintext changes (CBC), so the
  // chain still parses and HASH(1) no longer matches. And one in the middle of the body.
  Bytes tail = rut.data;
  tail.back() ^= 0x01;
  Send(a, tail);
  sim.RunFor(Millis(10));
  EXPECT_EQ(a.counters().dropped_auth, 1u);
  EXPECT_EQ(AcksFor(seq), 0u);
  auto drops = OfKind(a.events(), EventKind::kDrop);
  ASSERT_THAT(drops, SizeIs(1));
  EXPECT_EQ(drops[0].text, "Informational HASH(1) mismatch");
  Bytes mid = rut.data;
  mid[40] ^= 0x80;
  Send(a, mid);
  sim.RunFor(Millis(10));
  EXPECT_EQ(a.counters().dropped_auth, 2u);
  EXPECT_EQ(AcksFor(seq), 0u);
  // The genuine one is still answered afterwards.
  Send(a, rut.data);
  sim.RunFor(Millis(10));
  EXPECT_EQ(AcksFor(seq), 1u);
  ExpectUnaffected();
}

TEST_F(RobustnessDpd, FloodOfIdenticalRUTheresIsRateLimited) {
  CaptureRUThere();
  const uint64_t acks0 = a.counters().dpd_acks_sent;
  for (int i = 0; i < 1000; ++i) Send(a, rut.data);
  sim.RunFor(Millis(10));
  // The first copy is new, the next three are answered (a lost ACK), the rest dropped.
  EXPECT_EQ(AcksFor(seq), 4u);
  EXPECT_LE(a.counters().dpd_acks_sent - acks0, 4u);
  EXPECT_EQ(a.counters().dropped_rate_limited, 996u);
  EXPECT_EQ(a.counters().dropped, 996u);
  auto sent_by_a = sim::FindPackets(sim, PacketFate::kSent, [&](const sim::PacketRecord& r) {
    return r.datagram.local.ip == a.address() && r.at == sim.now() - Millis(5);
  });
  EXPECT_LE(sent_by_a.size(), 4u) << "no amplification";
  ExpectUnaffected();
}

TEST_F(Robustness, Mm5ReplayedAfterEstablishmentIsAnsweredOnceAndChangesNothing) {
  Establish();
  sim.RunFor(Seconds(3));
  const ike::Datagram mm5 = SentBy(a, kMainMode, 3);
  const ike::Datagram mm6 = SentBy(b, kMainMode, 3);
  const uint64_t a_tx = a.counters().tx_datagrams;
  Send(b, mm5.data);
  sim.RunFor(Millis(10));
  // A byte-identical MM5 is what an initiator that lost MM6 sends: the responder resends
  // MM6, byte for byte (DESIGN.md §2.9), and nothing else changes.
  EXPECT_EQ(b.counters().duplicates_answered, 1u);
  EXPECT_EQ(SentBy(b, kMainMode, 4).data, mm6.data);
  // A's side: the resent MM6 for an established SA is a duplicate of its last phase-1
  // message; it answers nothing.
  EXPECT_EQ(a.counters().tx_datagrams, a_tx);
  // A modified MM5 (one bit) is an encrypted Main Mode message out of state: dropped.
  Bytes bad = mm5.data;
  bad[bad.size() - 3] ^= 0x10;
  Send(b, bad);
  sim.RunFor(Millis(10));
  EXPECT_EQ(b.counters().dropped_state, 1u);
  EXPECT_EQ(b.counters().dropped, 1u);
  ExpectUnaffected();
}

// Regression (fixed in node.cc): a replayed MM1 must not create a fresh half-open responder SA
// (a DH key pair and an MM2 each); otherwise an off-path attacker who saw one MM1 could grow
// the table.
TEST_F(Robustness, Mm1ReplayedAfterEstablishmentCreatesNoSecondSa) {
  Establish();
  sim.RunFor(Seconds(3));
  const ike::Datagram mm1 = SentBy(a, kMainMode, 1);
  const uint64_t tx0 = b.counters().tx_datagrams;
  for (int i = 0; i < 10; ++i) Send(b, mm1.data);
  sim.RunFor(Millis(10));
  // DESIGN.md §2.8: an MM1 with the CKY-I of an existing SA and R = 0 belongs to that SA
  // (a retransmission): it is answered with the previous MM2 or discarded, never a new SA.
  EXPECT_EQ(b.ike_sa_count(), 1u) << "a replayed MM1 created responder state";
  EXPECT_EQ(b.counters().dropped + b.counters().duplicates_answered, 10u);
  EXPECT_LE(b.counters().tx_datagrams - tx0, 10u);
  ExpectUnaffected();
}

TEST_F(Robustness, TenThousandRandomDatagramsAreAllCountedAndChangeNothing) {
  Establish();
  const ike::NodeCounters c0 = b.counters();
  SeededRandom rng(2024);
  const Bytes hdr = Header(kInformational, 1, 1, 8, 0);
  uint64_t keepalives = 0;
  constexpr int kN = 10'000;
  for (int i = 0; i < kN; ++i) {
    const uint32_t kind = rng.Uniform(4);
    Bytes m(rng.Uniform(kind == 0 ? 64 : 600));
    rng.Fill(m);
    if (kind == 1 || kind == 2) {
      // A plausible header: version 1.0 and a length that fits; kind 1 with the SA's cookies.
      if (m.size() < 28) m.resize(28 + rng.Uniform(100));
      if (kind == 1) std::copy(hdr.begin(), hdr.begin() + 16, m.begin());
      const uint8_t xs[] = {kMainMode, kInformational, kQuickMode, 1, 4, 6, 33, 255};
      m[17] = 0x10;
      m[18] = xs[rng.Uniform(8)];
      const uint32_t len = static_cast<uint32_t>(m.size() - rng.Uniform(4));
      for (int k = 0; k < 4; ++k) m[24 + k] = static_cast<uint8_t>(len >> (24 - 8 * k));
    }
    uint16_t port = 500;
    if (kind == 3) {
      port = 4500;  // NAT-T port: ESP, non-ESP marker + ISAKMP, or a keepalive
      if (m.size() == 1) m[0] = 0xff;
      if (m.size() > 4 && rng.Uniform(2)) m[0] = m[1] = m[2] = m[3] = 0;
      if (m.size() == 1) ++keepalives;
    }
    Send(b, std::move(m), port);
    if (i % 100 == 99) sim.RunFor(Millis(1));
  }
  sim.RunFor(Millis(10));
  const ike::NodeCounters& c = b.counters();
  EXPECT_EQ(c.rx_datagrams - c0.rx_datagrams, static_cast<uint64_t>(kN));
  // Every datagram is counted as dropped, except NAT-T keepalives (handled silently).
  EXPECT_EQ(c.dropped - c0.dropped + keepalives, static_cast<uint64_t>(kN));
  // And each drop under exactly one reason.
  EXPECT_EQ(c.dropped_malformed + c.dropped_unknown_sa + c.dropped_auth + c.dropped_state +
                c.dropped_rate_limited,
            c.dropped);
  EXPECT_GT(c.dropped_malformed, 0u);
  EXPECT_GT(c.dropped_auth, 0u);
  EXPECT_GT(c.dropped_unknown_sa, 0u);
  EXPECT_GT(c.dropped_state, 0u);
  EXPECT_EQ(c.dpd_acks_sent, c0.dpd_acks_sent);
  EXPECT_EQ(c.duplicates_answered, 0u);
  ExpectUnaffected();
}

TEST_F(Robustness, GarbageInTheMiddleOfMainModeDoesNotDelayIt) {
  a.Initiate("green", 1);
  // At t0+15 ms B has answered MM3 with MM4 (MM_KEY_EXCH, expecting an encrypted MM5).
  sim.RunUntil(t0 + Millis(15));
  const ike::Datagram mm3 = SentBy(a, kMainMode, 2);
  auto with = [&](uint8_t xchg, uint8_t flags, size_t body_len, uint8_t fill) {
    Bytes m(mm3.data.begin(), mm3.data.begin() + 28);
    m[18] = xchg;
    m[19] = flags;
    const uint32_t len = static_cast<uint32_t>(28 + body_len);
    for (int k = 0; k < 4; ++k) m[24 + k] = static_cast<uint8_t>(len >> (24 - 8 * k));
    m.resize(28 + body_len, fill);
    return m;
  };
  std::vector<Bytes> junk = {
      Bytes(mm3.data.begin(), mm3.data.begin() + 20),  // truncated header
      with(kMainMode, 0x01, 64, 0x42),                  // an "MM5" that does not decrypt
      with(kMainMode, 0x01, 61, 0x42),                  // not a whole number of blocks
      with(kMainMode, 0x00, 40, 0x00),                  // clear MM after the key exchange
      with(kInformational, 0x00, 12, 0x00),             // clear notify during phase 1
      with(kInformational, 0x01, 32, 0x17),             // encrypted notify before phase 1 done
      with(kQuickMode, 0x01, 64, 0x99),                 // Quick Mode before phase 1 done
  };
  Bytes vers = mm3.data;
  vers[17] = 0x20;
  junk.push_back(vers);
  for (const Bytes& m : junk) Send(b, m);
  for (const Bytes& m : junk) Send(a, m);  // and into the initiator, waiting for MM4
  sim.RunFor(Seconds(30));
  EXPECT_EQ(b.counters().dropped, junk.size());
  EXPECT_EQ(a.counters().dropped, junk.size());
  auto up_a = OfKind(a.events(), EventKind::kChildSaUp);
  auto up_b = OfKind(b.events(), EventKind::kChildSaUp);
  ASSERT_THAT(up_a, SizeIs(1));
  ASSERT_THAT(up_b, SizeIs(1));
  EXPECT_EQ(up_a[0].at, t0 + Millis(40));
  EXPECT_EQ(up_b[0].at, t0 + Millis(45));
  EXPECT_EQ(a.counters().retransmits + b.counters().retransmits, 0u);
  EXPECT_EQ(a.ike_sa_count(), 1u);
  EXPECT_EQ(b.ike_sa_count(), 1u);
}

}  // namespace
}  // namespace ikepulse::scenario
