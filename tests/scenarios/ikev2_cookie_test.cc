// IKEv2 COOKIE (RFC 7296 §2.6) and the bounded, evicting IKEv2 half-open table (DESIGN.md
// §6.6), in virtual time: a forged IKE_SA_INIT flood from many sources never holds more than
// the bound, costs no DH once cookies are demanded and does not block IKEv1's half-open table;
// a real initiator completes through the cookie during the flood; an established SA's liveness
// timeline is exactly the one without the flood; replayed cookies (another address, another
// SPI, two secret generations old) are refused; half-open sessions still end after 30 s.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/check.h"
#include "crypto/crypto.h"
#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ike::EventKind;
using sim::PacketFate;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint8_t kIkeSaInit = 34;
constexpr size_t kHeader = 28;
// N(COOKIE) as the first payload: generic header (4), protocol, SPI size, type (4), data.
constexpr size_t kCookieData = kHeader + 8;
constexpr uint16_t kCookieType = 16390;

bool IsInit(const ike::Datagram& d) { return sim::IsakmpExchangeType(d) == kIkeSaInit; }

// The first payload of an IKEv2 message is a N(COOKIE) (next payload 41 in the header, and
// the notify type 16390).
bool StartsWithCookie(const Bytes& m) {
  return m.size() > kCookieData && m[16] == 41 &&
         ((m[kHeader + 6] << 8) | m[kHeader + 7]) == kCookieType;
}
Bytes CookieOf(const Bytes& m) {
  const size_t len = ((m[kHeader + 2] << 8) | m[kHeader + 3]) - 8;
  return Bytes(m.begin() + kCookieData, m.begin() + kCookieData + static_cast<ptrdiff_t>(len));
}

class Ikev2Cookie : public ::testing::Test {
 public:
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  sim::SimNode c{sim, "C", {Ip("192.0.2.3")}, 33};
  sim::SimNode d{sim, "D", {Ip("192.0.2.4")}, 44};  // an IKEv1 initiator
  TimePoint t0;

  void SetUp() override {
    sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
    sim.Connect(Ip("192.0.2.3"), Ip("192.0.2.2"), Millis(5));
    sim.Connect(Ip("192.0.2.4"), Ip("192.0.2.2"), Millis(5));
    sim.EnableDefaultLink(Millis(5));  // forged sources reach B; answers to them go nowhere
    sim.set_record_payloads(true);
    SiteSpec sa = SiteA(), sc = SiteA(), sd = SiteA();
    sc.self = Ip("192.0.2.3");
    sd.self = Ip("192.0.2.4");
    config::Config ca = MakeConfig(sa);
    AddFlex(ca, sa.peers, sa.psk, Keepalive(10, 2, true));
    a.SetConfig(ca);
    config::Config cc = MakeConfig(sc);
    AddFlex(cc, sc.peers, sc.psk);
    c.SetConfig(cc);
    d.SetConfig(MakeConfig(sd));  // IKEv1
    b.SetConfig(BConfig(0, 0));
    t0 = sim.now();
  }

  // B answers A and C over IKEv2 (and D over IKEv1 Main Mode: its key is the wildcard).
  static config::Config BConfig(uint32_t limit, uint32_t cookie_challenge) {
    SiteSpec sb = SiteB();
    sb.peers = {Ip("192.0.2.1"), Ip("192.0.2.3")};
    config::Config cb = MakeConfig(sb);
    AddFlex(cb, sb.peers, sb.psk);
    cb.ikev2_max_in_negotiation_sa = limit;
    cb.ikev2_cookie_challenge = cookie_challenge;
    return cb;
  }

  std::vector<const sim::PacketRecord*> Sent(const IpAddress& from, const IpAddress& to,
                                             bool (*pred)(const ike::Datagram&)) const {
    return sim::FindPackets(sim, PacketFate::kSent, [&](const sim::PacketRecord& r) {
      return r.datagram.local.ip == from && r.datagram.remote.ip == to && pred(r.datagram);
    });
  }

  // A forged IKE_SA_INIT: `init` with initiator SPI number `n`, from forged source `src`.
  void Forge(const Bytes& init, uint32_t n, const IpAddress& src) {
    Bytes m = init;
    m[0] = 0xf0;
    for (int i = 0; i < 4; ++i) m[4 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
    sim.Inject(ike::Datagram{Endpoint{src, 500}, Endpoint{b.address(), 500}, std::move(m)});
  }

  // A's first IKE_SA_INIT request (without a cookie), captured while A's link is down.
  Bytes CaptureInit() {
    sim::Link* l = sim.FindLink(Ip("192.0.2.1"), Ip("192.0.2.2"));
    l->DropAll();
    a.Initiate("green", 1);
    sim.RunFor(Millis(1));
    auto v = Sent(a.address(), b.address(), IsInit);
    IKEPULSE_CHECK(!v.empty());
    Bytes init = v.front()->datagram.data;
    a.Clear(ike::ClearFilter{});
    l->Restore();
    sim.RunFor(Millis(10));
    sim.ClearRecords();  // the tests see only what follows
    return init;
  }

  size_t HalfOpen() const { return b.node().CallAdmission().ikev2_half_open; }
};

// The default cookie threshold is the bound: forged requests fill the table to the bound,
// then get only N(COOKIE), without a session or a DH. C, a real initiator, starts in the
// middle of the flood and is up one round trip (10 ms) later than without it; D's IKEv1 Main
// Mode is served by IKEv1's own half-open table. A-B's liveness timeline is the one of a run
// without the flood, to the microsecond.
TEST_F(Ikev2Cookie, ForgedFloodIsBoundedCostsNoDhAndRealPeersGetIn) {
  constexpr uint32_t kLimit = 50;
  b.SetConfig(BConfig(kLimit, 0));
  const Bytes init = CaptureInit();
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, sim.now() + Seconds(5)));
  const TimePoint up = OfKind(a.events(), EventKind::kChildSaUp).at(0).at;
  EXPECT_EQ(HalfOpen(), 0u);

  // 10,000 forged requests in 10 s from 500 forged sources; C starts at +5 s, D at +6 s.
  uint64_t dh_at_bound = 0;
  TimePoint c_start{}, d_start{};
  size_t peak = 0;
  uint32_t n = 0;
  for (int ms = 0; ms < 10000; ++ms, ++n) {
    Forge(init, n,
          IpAddress::V4(10, 66, static_cast<uint8_t>(n % 500 / 250),
                        static_cast<uint8_t>(n % 250 + 1)));
    if (ms == 5000) {
      c_start = sim.now();
      c.Initiate("green", 1);
    }
    if (ms == 6000) {
      d_start = sim.now();
      d.Initiate("green", 1);
    }
    sim.RunFor(Millis(1));
    peak = std::max(peak, HalfOpen());
    if (dh_at_bound == 0 && HalfOpen() == kLimit) dh_at_bound = crypto::DhKeyPair::Generated();
    if (ms == 4999) {
      // Nothing but the forged flood so far: not one DH since the bound was reached.
      EXPECT_EQ(crypto::DhKeyPair::Generated(), dh_at_bound);
    }
    if (ms == 5999) {
      // C's key pair and B's for C; and once C's SA is up (one half-open fewer) B's for the
      // next forged request, admitted without a cookie below the bound.
      EXPECT_EQ(crypto::DhKeyPair::Generated(), dh_at_bound + 3);
    }
  }
  sim.RunFor(Millis(100));
  EXPECT_EQ(peak, kLimit);
  const ike::NodeCounters& k = b.counters();
  // The forged ones over the bound but one (admitted when C's SA came up), and C's first.
  EXPECT_EQ(k.ikev2_cookies_sent, 10000u - kLimit - 1u + 1u);
  EXPECT_EQ(k.ikev2_cookies_valid, 1u);  // C's second request
  EXPECT_EQ(k.ikev2_cookies_invalid, 0u);
  EXPECT_EQ(k.ikev2_half_open_evicted, 1u);  // the oldest forged one, for C
  // C's and D's key pairs, B's for them and for the one forged request: the only ones after
  // the bound was reached.
  EXPECT_EQ(crypto::DhKeyPair::Generated() - dh_at_bound, 5u);
  // C: IKE_SA_INIT, COOKIE, IKE_SA_INIT with the cookie, response, IKE_AUTH, response.
  auto c_up = OfKind(c.events(), EventKind::kIkeSaUp);
  ASSERT_THAT(c_up, SizeIs(1));
  EXPECT_EQ(c_up[0].at, c_start + Millis(30));
  EXPECT_TRUE(HasChild(c));
  // D (IKEv1): its ISAKMP SA came up in six messages, as without a flood.
  auto d_up = OfKind(d.events(), EventKind::kIkeSaUp);
  ASSERT_THAT(d_up, SizeIs(1));
  EXPECT_EQ(d_up[0].at, d_start + Millis(30));
  // A-B: no death, and A's probes to B exactly those of the run without a flood below.
  EXPECT_EQ(a.counters().peers_dead + b.counters().peers_dead, 0u);
  EXPECT_THAT(OfKind(a.events(), EventKind::kIkeSaDown), IsEmpty());
  // The forged half-open sessions end 30 s after their request; the table empties.
  sim.RunFor(Seconds(31));
  EXPECT_EQ(HalfOpen(), 0u);
  EXPECT_EQ(b.node().Ikev2Sas(sim.now()).size(), 2u);  // A's and C's
  std::vector<Duration> probes;
  for (const auto* r : Sent(a.address(), b.address(), [](const ike::Datagram& x) {
         return sim::IsakmpExchangeType(x) == 37;
       }))
    probes.push_back(r->at - up);
  ASSERT_GE(probes.size(), 4u);

  // The reference: the same A-B without any flood (a fresh simulator, same seeds).
  struct Ref : Ikev2Cookie {
    void TestBody() override {}
  } ref;
  ref.SetUp();
  ref.b.SetConfig(BConfig(kLimit, 0));
  ref.CaptureInit();
  ref.a.Initiate("green", 1);
  ASSERT_TRUE(ref.sim.RunUntil([&] { return HasChild(ref.a) && HasChild(ref.b); },
                               ref.sim.now() + Seconds(5)));
  const TimePoint ref_up = OfKind(ref.a.events(), EventKind::kChildSaUp).at(0).at;
  ref.sim.RunUntil(ref_up + (sim.now() - up));
  std::vector<Duration> ref_probes;
  for (const auto* r : ref.Sent(ref.a.address(), ref.b.address(), [](const ike::Datagram& x) {
         return sim::IsakmpExchangeType(x) == 37;
       }))
    ref_probes.push_back(r->at - ref_up);
  EXPECT_EQ(probes, ref_probes);
}

// `crypto ikev2 cookie-challenge 1`: with one half-open responder, A's IKE_SA_INIT gets a
// COOKIE; A sends it again with N(COOKIE) first and the same SPIi, nonce and KE; AUTH covers
// that request (B verifies it) and its retransmission is byte-identical.
TEST_F(Ikev2Cookie, CookieChallengeOneAndTheInitiatorsSecondRequest) {
  b.SetConfig(BConfig(0, 1));
  b.SetDebug(true);
  const Bytes init = CaptureInit();
  Forge(init, 1, Ip("10.66.0.1"));
  sim.RunFor(Millis(10));
  ASSERT_EQ(HalfOpen(), 1u);
  // B's first answer to A's request with the cookie is lost: A resends it after 1 s.
  int answers = 0;
  sim.FindLink(Ip("192.0.2.1"), Ip("192.0.2.2"))->DropIf([&](const ike::Datagram& x) {
    return x.local.ip == Ip("192.0.2.2") && IsInit(x) && !StartsWithCookie(x.data) &&
           ++answers == 1;
  });
  const TimePoint start = sim.now();
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, start + Seconds(5)));
  auto reqs = Sent(a.address(), b.address(), IsInit);
  ASSERT_THAT(reqs, SizeIs(3));
  const Bytes& r1 = reqs[0]->datagram.data;
  const Bytes& r2 = reqs[1]->datagram.data;
  EXPECT_FALSE(StartsWithCookie(r1));
  ASSERT_TRUE(StartsWithCookie(r2));
  EXPECT_EQ(reqs[2]->datagram.data, r2);              // the retransmission: the same bytes
  EXPECT_GT(reqs[2]->at - reqs[1]->at, Millis(500));  // the first retransmission, at about 1 s
  EXPECT_LE(reqs[2]->at - reqs[1]->at, Seconds(1));
  EXPECT_TRUE(std::equal(r1.begin(), r1.begin() + 8, r2.begin()));  // SPIi
  // The rest of the first request (SA, KE, Ni, NAT notifies) follows the cookie unchanged.
  ASSERT_GT(r2.size(), r1.size());
  EXPECT_TRUE(std::equal(r1.begin() + kHeader, r1.end(), r2.end() - (r1.size() - kHeader)));
  auto cookies = Sent(b.address(), a.address(),
                      [](const ike::Datagram& x) { return IsInit(x) && StartsWithCookie(x.data); });
  ASSERT_THAT(cookies, SizeIs(1));
  const Bytes& cm = cookies[0]->datagram.data;
  EXPECT_EQ(cm.size(), kCookieData + 20);  // only N(COOKIE)
  EXPECT_EQ(cm[16], 41);
  EXPECT_EQ(cm[kHeader], 0);  // no next payload
  EXPECT_TRUE(std::all_of(cm.begin() + 8, cm.begin() + 16, [](uint8_t x) { return x == 0; }));
  EXPECT_EQ(CookieOf(r2), CookieOf(cm));
  EXPECT_EQ(b.counters().ikev2_cookies_sent, 1u);
  EXPECT_EQ(b.counters().ikev2_cookies_valid, 1u);
  EXPECT_EQ(b.counters().ikev2_half_open_evicted, 0u);
  EXPECT_EQ(b.node().CallAdmission().ikev2_cookie_threshold, 1u);
  std::vector<std::string> lines;
  for (const auto& e : OfKind(b.events(), EventKind::kDebug))
    if (e.text.find("COOKIE") != std::string::npos) lines.push_back(e.text);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "IKEv2:Sending COOKIE to 192.0.2.1:500 (1 half-open)",
                       "IKEv2:Received IKE_SA_INIT with a valid COOKIE from 192.0.2.1:500"}));
}

// A cookie replayed from another address or with another SPIi is refused (a fresh cookie is
// sent, no session); one of the previous secret generation is accepted, one from two
// generations ago is not.
TEST_F(Ikev2Cookie, ReplayedCookiesAreRefused) {
  b.SetConfig(BConfig(0, 1));
  const Bytes init = CaptureInit();
  Forge(init, 1, Ip("10.66.0.1"));  // one half-open: cookies are demanded
  sim.RunFor(Millis(10));
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, sim.now() + Seconds(5)));
  auto reqs = Sent(a.address(), b.address(), IsInit);
  ASSERT_THAT(reqs, SizeIs(2));
  const Bytes r2 = reqs[1]->datagram.data;
  ASSERT_TRUE(StartsWithCookie(r2));
  const size_t sessions = b.node().Ikev2Sas(sim.now()).size();
  auto inject = [&](Bytes m, const IpAddress& src) {
    sim.Inject(ike::Datagram{Endpoint{src, 500}, Endpoint{b.address(), 500}, std::move(m)});
    sim.RunFor(Millis(10));
  };
  // From another address.
  const IpAddress y = Ip("10.77.0.9");
  inject(r2, y);
  EXPECT_EQ(b.counters().ikev2_cookies_invalid, 1u);
  EXPECT_EQ(b.node().Ikev2Sas(sim.now()).size(), sessions);
  auto to_y = Sent(b.address(), y, IsInit);
  ASSERT_THAT(to_y, SizeIs(1));
  ASSERT_TRUE(StartsWithCookie(to_y[0]->datagram.data));
  const Bytes y_cookie = CookieOf(to_y[0]->datagram.data);  // Y's own, for A's SPIi and Ni
  // With another SPIi, from A's address.
  Bytes other_spi = r2;
  other_spi[7] ^= 0x5a;
  inject(other_spi, a.address());
  EXPECT_EQ(b.counters().ikev2_cookies_invalid, 2u);
  EXPECT_EQ(b.node().Ikev2Sas(sim.now()).size(), sessions);
  // Y's cookie, used by Y 70 s later (the previous generation; a forged request first so
  // that cookies are demanded again): accepted, a session.
  Bytes from_y = r2;
  std::copy(y_cookie.begin(), y_cookie.end(), from_y.begin() + kCookieData);
  const TimePoint issued = to_y[0]->at;
  sim.RunUntil(issued + Seconds(70));
  Forge(init, 2, Ip("10.66.0.2"));
  sim.RunFor(Millis(10));
  ASSERT_GE(HalfOpen(), 1u);
  inject(from_y, y);
  EXPECT_EQ(b.counters().ikev2_cookies_valid, 2u);  // A's, then Y's
  // A's, the second forged one and Y's (the first forged one ended at 30 s).
  EXPECT_EQ(b.node().Ikev2Sas(sim.now()).size(), 3u);
  // Two generations later (the secret rotates every 60 s from the first cookie): refused.
  sim.RunUntil(issued + Seconds(125));
  Forge(init, 3, Ip("10.66.0.3"));
  sim.RunFor(Millis(10));
  ASSERT_GE(HalfOpen(), 1u);
  const uint64_t valid = b.counters().ikev2_cookies_valid;
  inject(from_y, y);
  EXPECT_EQ(b.counters().ikev2_cookies_valid, valid);
  EXPECT_EQ(b.counters().ikev2_cookies_invalid, 3u);
}

// COOKIE, then INVALID_KE_PAYLOAD: the initiator keeps the cookie in the request with the
// group the responder asked for (RFC 7296 §2.6.1), and the SA comes up.
TEST_F(Ikev2Cookie, CookieThenInvalidKeKeepsTheCookie) {
  config::Config cb = BConfig(0, 1);
  cb.ikev2_proposals["P1"].groups = {19};
  b.SetConfig(cb);
  config::Config ca = MakeConfig(SiteA());
  AddFlex(ca, SiteA().peers, SiteA().psk);
  ca.ikev2_proposals["P1"].groups = {19};
  a.SetConfig(ca);
  const Bytes init = CaptureInit();  // group 19: B accepts it
  ca.ikev2_proposals["P1"].groups = {14, 19};
  a.SetConfig(ca);
  Forge(init, 1, Ip("10.66.0.1"));
  sim.RunFor(Millis(10));
  ASSERT_EQ(HalfOpen(), 1u);
  a.Initiate("green", 1);
  ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); }, sim.now() + Seconds(5)));
  auto reqs = Sent(a.address(), b.address(), IsInit);
  ASSERT_THAT(reqs, SizeIs(3));
  EXPECT_FALSE(StartsWithCookie(reqs[0]->datagram.data));
  ASSERT_TRUE(StartsWithCookie(reqs[1]->datagram.data));
  ASSERT_TRUE(StartsWithCookie(reqs[2]->datagram.data));
  EXPECT_EQ(CookieOf(reqs[1]->datagram.data), CookieOf(reqs[2]->datagram.data));
  EXPECT_EQ(b.counters().ikev2_cookies_sent, 1u);
  EXPECT_EQ(b.counters().ikev2_cookies_valid, 2u);
  EXPECT_EQ(a.node().Ikev2Sas(sim.now()).at(0).dh_group, 19);
}

// The bound without a flood of cookies: a lowered `crypto ikev2 limit` with the default
// threshold; the forged half-open sessions beyond it are never created, and those admitted
// end 30 s after their request.
TEST_F(Ikev2Cookie, HalfOpenSessionsEndAfter30Seconds) {
  b.SetConfig(BConfig(3, 0));
  const Bytes init = CaptureInit();
  const TimePoint start = sim.now();
  for (uint32_t n = 1; n <= 10; ++n) Forge(init, n, Ip("10.66.0.1"));
  sim.RunFor(Millis(100));
  EXPECT_EQ(HalfOpen(), 3u);
  EXPECT_EQ(b.counters().ikev2_cookies_sent, 7u);
  EXPECT_EQ(b.ike_sa_count(), 3u);
  sim.RunUntil(start + Seconds(29) + Millis(900));
  EXPECT_EQ(HalfOpen(), 3u);
  sim.RunUntil(start + Seconds(30) + Millis(100));
  EXPECT_EQ(HalfOpen(), 0u);
  EXPECT_EQ(b.ike_sa_count(), 0u);
}

}  // namespace
}  // namespace ikepulse::scenario
