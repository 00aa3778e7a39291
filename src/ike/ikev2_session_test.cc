// Ikev2Session in virtual time: two sessions (initiator, responder) over a link the test
// controls (loss, replay), each with its own SessionHost that records what the session
// reports. Every instant asserted is exact.
#include "ike/ikev2_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "ike/ikev2_testing.h"
#include "ikev2/message.h"
#include "ikev2/strongswan_capture.h"

namespace ikepulse::ike {
namespace {

using config::Ikev2Encryption;
using config::Ikev2Hash;

using testing::Dpd;
using testing::kAddrI;
using testing::kAddrR;
using testing::MakeConfig;
using testing::StripMarker;
using testing::Suite;
using TestHost = testing::RecordingHost;

// Two sessions and the link between them. The responder is created by the first datagram
// that reaches it (Ikev2Session::Respond).
class Ikev2Pair : public ::testing::Test {
 protected:
  struct Sent {
    TimePoint at;
    bool from_initiator;
    Datagram d;       // as the sender gave it
    Bytes msg;        // without the non-ESP marker
  };

  void Configure(const Suite& si, const Suite& sr, const std::string& psk_i = "secret-1",
                 const std::string& psk_r = "secret-1") {
    hi.cfg = MakeConfig(kAddrI, kAddrR, si, psk_i, IpAddress::V4(10, 1, 0, 0),
                        IpAddress::V4(10, 2, 0, 0));
    hr.cfg = MakeConfig(kAddrR, kAddrI, sr, psk_r, IpAddress::V4(10, 2, 0, 0),
                        IpAddress::V4(10, 1, 0, 0));
  }
  void SetDpdI(const config::KeepaliveConfig& k) {
    hi.cfg.ikev2_profiles["PROF"].dpd = k;
  }
  void SetDpdR(const config::KeepaliveConfig& k) {
    hr.cfg.ikev2_profiles["PROF"].dpd = k;
  }

  void Start() {
    si = std::make_unique<Ikev2Session>(1);
    si->Initiate(hi, *hi.cfg.FindCryptoMap("CM", 10), Endpoint{kAddrI, 500},
                 Endpoint{kAddrR, 500});
    Pump();
  }

  // The address translation on the initiator's side (NAT test): what the responder sees.
  Endpoint Translate(const Endpoint& e) const {
    if (!nat) return e;
    return Endpoint{IpAddress::V4(203, 0, 113, 9), uint16_t(e.port == 4500 ? 40001 : 40000)};
  }
  Endpoint Untranslate(const Endpoint& e) const {
    if (!nat) return e;
    return Endpoint{kAddrI, uint16_t(e.port == 40001 ? 4500 : 500)};
  }

  void DeliverToResponder(const Datagram& d, const Bytes& msg) {
    const Endpoint from = Translate(d.local);
    if (!sr) {
      sr = Ikev2Session::Respond(hr, d.remote, from, msg, 2);
      return;
    }
    sr->OnMessage(hr, d.remote, from, msg);
  }
  void DeliverToInitiator(const Datagram& d, const Bytes& msg) {
    if (!si) return;
    si->OnMessage(hi, Untranslate(d.remote), d.local, msg);
  }

  // Delivers what both sides sent, until neither sends more.
  void Pump() {
    for (int round = 0; round < 1000; ++round) {
      if (hi.sent.empty() && hr.sent.empty()) return;
      std::vector<Datagram> a = std::move(hi.sent), b = std::move(hr.sent);
      hi.sent.clear();
      hr.sent.clear();
      for (auto& d : a) {
        Bytes m = StripMarker(d);
        log.push_back({now, true, d, m});
        if (link_i2r && !(lose && lose(log.back()))) DeliverToResponder(d, m);
      }
      for (auto& d : b) {
        Bytes m = StripMarker(d);
        log.push_back({now, false, d, m});
        if (link_r2i && !(lose && lose(log.back()))) DeliverToInitiator(d, m);
      }
    }
    ADD_FAILURE() << "the sessions never went quiet";
  }

  TimePoint Next() const {
    TimePoint t = kNever;
    if (si) t = std::min(t, si->NextDeadline());
    if (sr) t = std::min(t, sr->NextDeadline());
    return t;
  }

  // Runs every deadline up to and including `end`, then sets the clock to `end`.
  void RunUntil(TimePoint end) {
    for (int guard = 0; guard < 100000; ++guard) {
      Pump();
      const TimePoint t = Next();
      if (t > end) break;
      now = std::max(now, t);
      if (si && si->NextDeadline() <= now) si->OnTimeout(hi);
      if (sr && sr->NextDeadline() <= now) sr->OnTimeout(hr);
    }
    now = std::max(now, end);
    Pump();
  }

  std::vector<Sent> SentBy(bool initiator, TimePoint from = TimePoint{}) const {
    std::vector<Sent> v;
    for (const auto& s : log)
      if (s.from_initiator == initiator && s.at >= from) v.push_back(s);
    return v;
  }

  void ExpectEstablished() {
    ASSERT_TRUE(si && sr);
    EXPECT_TRUE(si->established());
    EXPECT_TRUE(sr->established());
    ASSERT_EQ(hi.child_up.size(), 1u);
    ASSERT_EQ(hr.child_up.size(), 1u);
    EXPECT_EQ(hi.child_up[0].spi_out, hr.child_up[0].spi_in);
    EXPECT_EQ(hi.child_up[0].spi_in, hr.child_up[0].spi_out);
    EXPECT_EQ(hi.child_up[0].map_name, "CM");
    EXPECT_EQ(hr.child_up[0].map_seq, 10u);
    auto ci = si->Children(now, SnapshotKeys::kInclude);
    auto cr = sr->Children(now, SnapshotKeys::kInclude);
    ASSERT_EQ(ci.size(), 1u);
    ASSERT_EQ(cr.size(), 1u);
    EXPECT_EQ(ci[0].enc_key_out.size(), 16u);
    EXPECT_EQ(ci[0].auth_key_out.size(), 32u);
    EXPECT_TRUE(ci[0].enc_key_out == cr[0].enc_key_in);
    EXPECT_TRUE(ci[0].auth_key_out == cr[0].auth_key_in);
    EXPECT_TRUE(ci[0].enc_key_in == cr[0].enc_key_out);
    EXPECT_TRUE(ci[0].auth_key_in == cr[0].auth_key_out);
    EXPECT_FALSE(ci[0].enc_key_in == ci[0].enc_key_out);
    // Narrowed selectors: 10.1.0.0/24 <-> 10.2.0.0/24 on both sides.
    EXPECT_EQ(ci[0].local_net, IpAddress::V4(10, 1, 0, 0));
    EXPECT_EQ(ci[0].remote_net, IpAddress::V4(10, 2, 0, 0));
    EXPECT_EQ(cr[0].local_net, IpAddress::V4(10, 2, 0, 0));
    EXPECT_EQ(cr[0].remote_mask, IpAddress::V4(255, 255, 255, 0));
    // Without kInclude, no keys.
    EXPECT_TRUE(si->Children(now, SnapshotKeys::kOmit)[0].enc_key_in.empty());
    // The setup material is gone.
    EXPECT_FALSE(si->holds_negotiation_state());
    EXPECT_FALSE(sr->holds_negotiation_state());
    EXPECT_EQ(si->Snapshot(now).state, "READY");
    EXPECT_EQ(hi.established_at.size(), 1u);
    EXPECT_EQ(hr.established_at.size(), 1u);
  }

  TimePoint now = FromMicros(1'000'123);
  TestHost hi{&now, 11, 0x1000};
  TestHost hr{&now, 22, 0x2000};
  std::unique_ptr<Ikev2Session> si, sr;
  bool link_i2r = true, link_r2i = true;
  bool nat = false;
  std::function<bool(const Sent&)> lose;  // true: this datagram is lost
  std::vector<Sent> log;
};

// ---- Establishment ---------------------------------------------------------------------

TEST_F(Ikev2Pair, EstablishesAesCbc128Sha256Group14) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  EXPECT_EQ(si->suite().encr, crypto::Ikev2EncrAlg::kAesCbc128);
  EXPECT_EQ(si->suite().integ, crypto::Ikev2IntegAlg::kHmacSha256_128);
  EXPECT_EQ(si->suite().prf, crypto::HashAlg::kSha256);
  EXPECT_EQ(si->dh_group(), 14);
  EXPECT_EQ(sr->dh_group(), 14);
  EXPECT_FALSE(si->nat_detected());
  EXPECT_FALSE(si->floated());
  EXPECT_EQ(SentBy(true).size(), 2u);  // IKE_SA_INIT, IKE_AUTH
  EXPECT_EQ(SentBy(false).size(), 2u);
  EXPECT_EQ(si->next_request_id(), 2u);
  EXPECT_EQ(sr->next_peer_request_id(), 2u);
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
  // No debug line carries a key or the PSK.
  for (const auto* h : {&hi, &hr})
    for (const auto& l : h->debug_lines) EXPECT_EQ(l.find("secret-1"), std::string::npos) << l;
  const IsakmpSaSnapshot s = sr->Snapshot(now);
  EXPECT_EQ(s.state, "READY");
  EXPECT_FALSE(s.initiator);
  EXPECT_EQ(s.group, 14);
  EXPECT_EQ(s.lifetime_left_s, 86400);
  EXPECT_EQ(s.auth, "psk");
}

TEST_F(Ikev2Pair, EstablishesAesGcm256PrfSha384Group20) {
  Suite gcm{Ikev2Encryption::kAesGcm256, Ikev2Hash::kSha256, Ikev2Hash::kSha384, {20}};
  Configure(gcm, gcm);
  Start();
  ExpectEstablished();
  EXPECT_EQ(si->suite().encr, crypto::Ikev2EncrAlg::kAesGcm16_256);
  EXPECT_EQ(sr->suite().integ, crypto::Ikev2IntegAlg::kNone);
  EXPECT_EQ(sr->suite().prf, crypto::HashAlg::kSha384);
  EXPECT_EQ(si->dh_group(), 20);
}

TEST_F(Ikev2Pair, InvalidKeRetriesWithTheResponderGroup) {
  Suite i{};
  i.groups = {14, 19};
  Suite r{};
  r.groups = {19};
  Configure(i, r);
  Start();
  ExpectEstablished();
  EXPECT_EQ(si->dh_group(), 19);
  // Three IKE_SA_INIT-ish datagrams from the initiator: request (14), request (19), IKE_AUTH.
  auto first = ikev2::ParseMessage(SentBy(true)[0].msg);
  auto second = ikev2::ParseMessage(SentBy(true)[1].msg);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(ikev2::Find<ikev2::KePayload>(first->payloads)->dh_group, 14);
  EXPECT_EQ(ikev2::Find<ikev2::KePayload>(second->payloads)->dh_group, 19);
  EXPECT_EQ(second->header.message_id, 0u);
  EXPECT_EQ(second->header.spi_i, first->header.spi_i);
  auto err = ikev2::ParseMessage(SentBy(false)[0].msg);
  ASSERT_TRUE(err);
  const auto* n = ikev2::FindNotify(err->payloads, ikev2::NotifyType::kInvalidKePayload);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->data, (Bytes{0, 19}));
}

TEST_F(Ikev2Pair, InvalidKeForAGroupWeDoNotOfferGivesUp) {
  Suite i{};
  i.groups = {14};
  Suite r{};
  r.groups = {14, 19};
  Configure(i, r);
  // The responder asks for 19 by hand: an INVALID_KE answer forged for the initiator.
  si = std::make_unique<Ikev2Session>(1);
  link_i2r = false;
  Start();
  auto req = ikev2::ParseMessage(SentBy(true)[0].msg);
  ASSERT_TRUE(req);
  ikev2::Header h;
  h.spi_i = req->header.spi_i;
  h.exchange = ikev2::ExchangeType::kIkeSaInit;
  h.flags = ikev2::kFlagResponse;
  Bytes m = ikev2::BuildMessage(h, {ikev2::MakeNotify(ikev2::NotifyType::kInvalidKePayload, {0, 19})});
  si->OnMessage(hi, Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500}, m);
  EXPECT_EQ(hi.gave_up_at.size(), 1u);
  EXPECT_EQ(hi.deleted.size(), 1u);
  EXPECT_EQ(si->state(), Ikev2Session::State::kEnded);
}

// COOKIE (RFC 7296 §2.6), initiator side: a N(COOKIE) answer to our IKE_SA_INIT makes us send
// it again with N(COOKIE) first, the same SPIi, nonce and KE; answers that are not acceptable
// (another message ID, a non-zero SPIr, an empty or over-long cookie) change nothing; after
// three cookies the fourth gives up. With a cookie, the SA comes up (AUTH covers the request
// with the cookie).
TEST_F(Ikev2Pair, InitiatorFollowsCookiesBoundedAndEstablishes) {
  Configure({}, {});
  link_i2r = false;
  Start();
  auto first = ikev2::ParseMessage(SentBy(true)[0].msg);
  ASSERT_TRUE(first);
  auto answer = [&](Bytes cookie, uint32_t mid = 0, bool spi_r = false) {
    ikev2::Header h;
    h.spi_i = first->header.spi_i;
    if (spi_r) h.spi_r[0] = 9;
    h.exchange = ikev2::ExchangeType::kIkeSaInit;
    h.flags = ikev2::kFlagResponse;
    h.message_id = mid;
    Bytes m = ikev2::BuildMessage(h, {ikev2::MakeNotify(ikev2::NotifyType::kCookie, cookie)});
    si->OnMessage(hi, Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500}, m);
    Pump();
  };
  const size_t drops = hi.DropCount();
  answer(Bytes{}, 0);
  answer(Bytes(65, 1), 0);
  answer(Bytes(8, 1), 1);
  answer(Bytes(8, 1), 0, true);
  EXPECT_EQ(hi.DropCount(), drops + 4);
  ASSERT_EQ(SentBy(true).size(), 1u);
  for (uint8_t round = 1; round <= 3; ++round) {
    const Bytes cookie(round == 3 ? 64 : 20, round);
    answer(cookie);
    ASSERT_EQ(SentBy(true).size(), 1u + round);
    auto again = ikev2::ParseMessage(SentBy(true).back().msg);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->header.spi_i, first->header.spi_i);
    EXPECT_EQ(again->header.message_id, 0u);
    ASSERT_FALSE(again->payloads.empty());
    const auto* n = std::get_if<ikev2::NotifyPayload>(&again->payloads.front().body);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->type, uint16_t(ikev2::NotifyType::kCookie));
    EXPECT_EQ(n->data, cookie);
    EXPECT_EQ(ikev2::Find<ikev2::NoncePayload>(again->payloads)->data,
              ikev2::Find<ikev2::NoncePayload>(first->payloads)->data);
    EXPECT_EQ(ikev2::Find<ikev2::KePayload>(again->payloads)->data,
              ikev2::Find<ikev2::KePayload>(first->payloads)->data);
  }
  // Retransmitted byte-identical.
  const Bytes last = SentBy(true).back().msg;
  RunUntil(now + Seconds(1));
  EXPECT_EQ(SentBy(true).back().msg, last);
  EXPECT_TRUE(hi.gave_up_at.empty());
  answer(Bytes(20, 4));
  EXPECT_EQ(hi.gave_up_at.size(), 1u);
  EXPECT_EQ(si->state(), Ikev2Session::State::kEnded);
}

TEST_F(Ikev2Pair, InitiatorWithACookieEstablishes) {
  Configure({}, {});
  link_i2r = false;
  Start();
  auto first = ikev2::ParseMessage(SentBy(true)[0].msg);
  ASSERT_TRUE(first);
  ikev2::Header h;
  h.spi_i = first->header.spi_i;
  h.exchange = ikev2::ExchangeType::kIkeSaInit;
  h.flags = ikev2::kFlagResponse;
  link_i2r = true;
  si->OnMessage(
      hi, Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500},
      ikev2::BuildMessage(h, {ikev2::MakeNotify(ikev2::NotifyType::kCookie, Bytes(20, 7))}));
  Pump();
  ExpectEstablished();
}

TEST_F(Ikev2Pair, WrongPskIsAuthenticationFailedAndNoSa) {
  Configure({}, {}, "secret-1", "other-secret");
  Start();
  ASSERT_TRUE(si && sr);
  EXPECT_FALSE(si->established());
  EXPECT_FALSE(sr->established());
  EXPECT_TRUE(hi.child_up.empty());
  EXPECT_TRUE(hr.child_up.empty());
  EXPECT_TRUE(hi.established_at.empty());
  EXPECT_EQ(hi.gave_up_at.size(), 1u);
  EXPECT_EQ(hi.deleted.size(), 1u);
  EXPECT_EQ(hr.deleted.size(), 1u);
  EXPECT_NE(hi.deleted[0].find("AUTHENTICATION_FAILED"), std::string::npos) << hi.deleted[0];
  // The initiator's SPI for the child went back.
  EXPECT_EQ(hi.released.size(), 1u);
  EXPECT_EQ(si->NextDeadline(), kNever);
  EXPECT_EQ(sr->NextDeadline(), kNever);
}

// ---- FQDN identities (`identity local fqdn`, `match identity remote fqdn [domain]`,
// keyring `identity fqdn`) ---------------------------------------------------------------

config::Ikev2IdentityMatch FqdnMatch(const std::string& name, bool domain) {
  config::Ikev2IdentityMatch m;
  m.kind = domain ? config::Ikev2IdentityMatch::Kind::kFqdnDomain
                  : config::Ikev2IdentityMatch::Kind::kFqdn;
  m.fqdn = name;
  return m;
}

class Ikev2Fqdn : public Ikev2Pair {
 protected:
  // The initiator says spoke.example.net and wants hub.example.net; the responder says
  // hub.example.net and takes `responder_match`. The responder's address-matched keyring peer
  // has a wrong key: only the keyring peer with `identity fqdn` (listed after it) can verify.
  void ConfigureFqdn(const config::Ikev2IdentityMatch& responder_match,
                     const std::string& initiator_id = "spoke.example.net") {
    Configure({}, {}, "fqdn-key", "address-key");
    auto& pi = hi.cfg.ikev2_profiles["PROF"];
    pi.identity_local_fqdn = initiator_id;
    pi.match_identity_remote = {FqdnMatch("hub.example.net", false)};
    auto& pr = hr.cfg.ikev2_profiles["PROF"];
    pr.identity_local_fqdn = "hub.example.net";
    pr.match_identity_remote = {responder_match};
    config::Ikev2KeyringPeer by_id;
    by_id.name = "SPOKE";
    by_id.identity_fqdn = "Spoke.Example.NET";
    by_id.pre_shared_key = SecretBytes::FromString("fqdn-key");
    hr.cfg.ikev2_keyrings["KR"].peers.push_back(by_id);
  }
  void ExpectRefused() {
    ASSERT_TRUE(si && sr);
    EXPECT_FALSE(si->established());
    EXPECT_FALSE(sr->established());
    EXPECT_TRUE(hr.child_up.empty());
    ASSERT_EQ(hi.deleted.size(), 1u);
    EXPECT_NE(hi.deleted[0].find("AUTHENTICATION_FAILED"), std::string::npos) << hi.deleted[0];
    ASSERT_EQ(hr.deleted.size(), 1u);
    EXPECT_NE(hr.deleted[0].find("AUTHENTICATION_FAILED"), std::string::npos) << hr.deleted[0];
  }
};

TEST_F(Ikev2Fqdn, FqdnIdentitiesBothWaysAndTheKeyChosenByIdentity) {
  ConfigureFqdn(FqdnMatch("SPOKE.example.net", false));
  Start();
  ExpectEstablished();
}

TEST_F(Ikev2Fqdn, DomainMatchOnALabelBoundary) {
  ConfigureFqdn(FqdnMatch("example.net", true));
  Start();
  ExpectEstablished();
}

TEST_F(Ikev2Fqdn, MismatchedFqdnIsAuthenticationFailed) {
  ConfigureFqdn(FqdnMatch("other.example.net", false));
  Start();
  ExpectRefused();
}

TEST_F(Ikev2Fqdn, DomainSuffixNotOnALabelBoundaryIsRefused) {
  ConfigureFqdn(FqdnMatch("ke.example.net", true), "spoke.example.net");
  Start();
  ExpectRefused();
}

TEST_F(Ikev2Fqdn, AnAddressMatchDoesNotAcceptAnFqdnIdentity) {
  config::Ikev2IdentityMatch any;
  any.address = IpAddress::V4(0, 0, 0, 0);
  any.mask = IpAddress::V4(0, 0, 0, 0);
  ConfigureFqdn(any);
  Start();
  ExpectRefused();
}

TEST_F(Ikev2Fqdn, AnOversizedFqdnIdentityIsRefusedNotCrashed) {
  // 300 octets: longer than any name the CLI accepts (255).
  ConfigureFqdn(FqdnMatch("example.net", true), std::string(288, 'a') + ".example.net");
  Start();
  ExpectRefused();
}

TEST_F(Ikev2Fqdn, AnAddressIdentityStillChoosesTheKeyByAddress) {
  // The initiator keeps ID_IPV4_ADDR; the responder's address keyring peer has the right key.
  Configure({}, {});
  config::Ikev2KeyringPeer by_id;
  by_id.name = "SPOKE";
  by_id.identity_fqdn = "spoke.example.net";
  by_id.pre_shared_key = SecretBytes::FromString("other");
  hr.cfg.ikev2_keyrings["KR"].peers.push_back(by_id);
  hr.cfg.ikev2_profiles["PROF"].match_identity_remote.push_back(FqdnMatch("example.net", true));
  Start();
  ExpectEstablished();
}

TEST(Ikev2FqdnNames, ValidationEqualityAndDomains) {
  EXPECT_TRUE(config::ValidFqdn("hub.example.net"));
  EXPECT_TRUE(config::ValidFqdn("a"));
  EXPECT_TRUE(config::ValidFqdn(std::string(255, 'a')));
  EXPECT_FALSE(config::ValidFqdn(std::string(256, 'a')));
  EXPECT_FALSE(config::ValidFqdn(""));
  EXPECT_FALSE(config::ValidFqdn(".example.net"));
  EXPECT_FALSE(config::ValidFqdn("example.net."));
  EXPECT_FALSE(config::ValidFqdn("a..b"));
  EXPECT_FALSE(config::ValidFqdn("a b"));
  EXPECT_FALSE(config::ValidFqdn("user@example.net"));
  EXPECT_TRUE(config::FqdnEquals("Hub.EXAMPLE.net", "hub.example.NET"));
  EXPECT_FALSE(config::FqdnEquals("hub.example.net", "hub.example.ne"));
  EXPECT_TRUE(config::FqdnInDomain("a.b.example.net", "EXAMPLE.net"));
  EXPECT_TRUE(config::FqdnInDomain("example.net", "example.net"));
  EXPECT_FALSE(config::FqdnInDomain("badexample.net", "example.net"));
  EXPECT_FALSE(config::FqdnInDomain("example.net", "a.example.net"));
  EXPECT_FALSE(config::FqdnInDomain("net", "example.net"));
  EXPECT_FALSE(config::FqdnInDomain("x.example.net", ""));
}

// Libreswan 4.10 without kernel ESP answers IKE_AUTH with IDr, AUTH and TS_UNACCEPTABLE and
// keeps its IKE SA: our initiator keeps it too (no Delete, no GaveUp), without a Child SA, and
// liveness and Delete run on it. Here the responder's ACL does not meet ours.
TEST_F(Ikev2Pair, ChildRefusedWithTsUnacceptableKeepsTheIkeSa) {
  Configure({}, {});
  hr.cfg = MakeConfig(kAddrR, kAddrI, {}, "secret-1", IpAddress::V4(10, 3, 0, 0),
                      IpAddress::V4(10, 4, 0, 0));
  SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
  Start();
  ASSERT_TRUE(si && sr);
  EXPECT_TRUE(si->established());
  EXPECT_TRUE(sr->established());
  EXPECT_TRUE(hi.child_up.empty());
  EXPECT_TRUE(hr.child_up.empty());
  EXPECT_TRUE(hi.gave_up_at.empty());
  EXPECT_TRUE(hi.deleted.empty());
  EXPECT_EQ(hi.established_at, std::vector<TimePoint>{now});
  EXPECT_EQ(hi.released.size(), 1u);  // the inbound SPI asked for went back
  EXPECT_TRUE(si->Children(now, SnapshotKeys::kOmit).empty());
  EXPECT_FALSE(si->holds_negotiation_state());
  EXPECT_EQ(SentBy(true).size(), 2u);  // IKE_SA_INIT, IKE_AUTH: no Delete
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
  bool logged = false;
  for (const auto& l : hi.debug_lines)
    logged = logged || l.find("refused the Child SA (TS_UNACCEPTABLE)") != std::string::npos;
  EXPECT_TRUE(logged);
  // Liveness: the probe at T0+10 is answered; the peer dies: dead at exactly T0+20.
  const TimePoint t0 = now;
  RunUntil(t0 + Seconds(15));
  EXPECT_TRUE(hi.dead_at.empty());
  ASSERT_EQ(SentBy(true, t0 + Micros(1)).size(), 1u);
  EXPECT_EQ(SentBy(true, t0 + Micros(1))[0].at, t0 + Seconds(10));
  link_r2i = link_i2r = false;
  RunUntil(t0 + Seconds(40));
  EXPECT_EQ(hi.dead_at, std::vector<TimePoint>{t0 + Seconds(30)});
  EXPECT_TRUE(hi.child_down.empty());
  EXPECT_EQ(hi.deleted.size(), 1u);
}

TEST_F(Ikev2Pair, InitialContactInIkeAuthIsReportedOnceEstablished) {
  Configure({}, {});
  Start();
  EXPECT_EQ(hr.initial_contacts, 0u);  // we never send it
  hi.sent.clear();
  Ikev2Options o;
  o.send_initial_contact = true;
  TestHost hi2{&now, 33, 0x3000};
  hi2.cfg = hi.cfg;
  TestHost hr2{&now, 44, 0x4000};
  hr2.cfg = hr.cfg;
  Ikev2Session a(5, o);
  a.Initiate(hi2, *hi2.cfg.FindCryptoMap("CM", 10), Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500});
  ASSERT_EQ(hi2.sent.size(), 1u);
  auto b = Ikev2Session::Respond(hr2, hi2.sent[0].remote, hi2.sent[0].local, hi2.sent[0].data, 6);
  ASSERT_TRUE(b);
  ASSERT_EQ(hr2.sent.size(), 1u);
  a.OnMessage(hi2, hr2.sent[0].remote, hr2.sent[0].local, hr2.sent[0].data);
  ASSERT_EQ(hi2.sent.size(), 2u);
  EXPECT_EQ(hr2.initial_contacts, 0u);
  b->OnMessage(hr2, hi2.sent[1].remote, hi2.sent[1].local, hi2.sent[1].data);
  EXPECT_TRUE(b->established());
  EXPECT_EQ(hr2.initial_contacts, 1u);
  EXPECT_EQ(hr2.established_at.size(), 1u);
  // A retransmitted IKE_AUTH request gets the cached response and reports nothing again.
  b->OnMessage(hr2, hi2.sent[1].remote, hi2.sent[1].local, hi2.sent[1].data);
  EXPECT_EQ(hr2.initial_contacts, 1u);
}

TEST_F(Ikev2Pair, ChildRefusedIkeSaDeletedByTheInitiatorEndsBoth) {
  Configure({}, {});
  hr.cfg = MakeConfig(kAddrR, kAddrI, {}, "secret-1", IpAddress::V4(10, 3, 0, 0),
                      IpAddress::V4(10, 4, 0, 0));
  Start();
  ASSERT_TRUE(si && sr && si->established());
  si->Delete(hi, "clear crypto ikev2 sa", /*send=*/true);
  Pump();
  EXPECT_EQ(hi.deleted, std::vector<std::string>{"clear crypto ikev2 sa"});
  ASSERT_EQ(hr.deleted.size(), 1u);
  EXPECT_EQ(sr->state(), Ikev2Session::State::kEnded);
  EXPECT_TRUE(hi.child_down.empty());
  EXPECT_TRUE(hr.child_down.empty());
}

TEST_F(Ikev2Pair, NatIsDetectedAndTheInitiatorFloats) {
  Configure({}, {});
  nat = true;
  // The responder knows the initiator by its public address (keyring, set peer); IDi stays
  // the private one, matched by the profile.
  const IpAddress pub = IpAddress::V4(203, 0, 113, 9);
  hr.cfg.ikev2_keyrings["KR"].peers.Mut(0).address = pub;
  config::CryptoMapEntry& e = hr.cfg.crypto_maps.Mut(0);
  e.peers[0].address = pub;
  e.peers[0].host = pub.ToString();
  Start();
  ExpectEstablished();
  EXPECT_TRUE(si->nat_detected());
  EXPECT_TRUE(sr->nat_detected());
  EXPECT_TRUE(si->floated());
  EXPECT_TRUE(sr->floated());
  EXPECT_EQ(si->remote().port, 4500);
  EXPECT_EQ(sr->remote(), (Endpoint{IpAddress::V4(203, 0, 113, 9), 40001}));
  auto auth = SentBy(true)[1];
  EXPECT_EQ(auth.d.local.port, 4500);
  EXPECT_EQ(auth.d.remote.port, 4500);
  EXPECT_EQ(auth.d.data.size(), auth.msg.size() + 4);  // non-ESP marker
  EXPECT_TRUE(si->Children(now, SnapshotKeys::kOmit)[0].udp_encap);
  EXPECT_TRUE(sr->Children(now, SnapshotKeys::kOmit)[0].udp_encap);
  EXPECT_TRUE(si->Snapshot(now).nat_t);
}

TEST_F(Ikev2Pair, RequestsAreRetransmittedIdenticallyThenGivenUp) {
  Configure({}, {});
  link_i2r = false;  // the responder never hears anything
  const TimePoint t0 = now;
  Start();
  RunUntil(t0 + Seconds(60));
  auto sent = SentBy(true);
  ASSERT_EQ(sent.size(), 5u);
  const std::vector<int64_t> at_s{0, 1, 3, 7, 15};
  for (size_t k = 0; k < sent.size(); ++k) {
    EXPECT_EQ(sent[k].at, t0 + Seconds(at_s[k])) << k;
    EXPECT_EQ(sent[k].msg, sent[0].msg) << k;
  }
  ASSERT_EQ(hi.gave_up_at.size(), 1u);
  EXPECT_EQ(hi.gave_up_at[0], t0 + Seconds(23));
  EXPECT_EQ(hi.deleted_at, std::vector<TimePoint>{t0 + Seconds(23)});
}

TEST_F(Ikev2Pair, RetransmittedIkeAuthRequestGetsTheCachedResponse) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  // A copy of the IKE_AUTH request, byte-identical, is answered with the same bytes.
  const Bytes auth_req = SentBy(true)[1].msg;
  const Bytes auth_resp = SentBy(false)[1].msg;
  const size_t heard = hr.heard;
  sr->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, auth_req);
  ASSERT_EQ(hr.sent.size(), 1u);
  EXPECT_EQ(hr.sent[0].data, auth_resp);
  EXPECT_EQ(hr.heard, heard);  // a retransmission is not liveness
  hr.sent.clear();
  // The same message ID with other bytes is not answered.
  Bytes other = auth_req;
  other.back() ^= 1;
  sr->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, other);
  EXPECT_TRUE(hr.sent.empty());
  EXPECT_EQ(hr.drops["dropped_replay"], 1u);
  // The old IKE_SA_INIT request is no longer answered.
  sr->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, SentBy(true)[0].msg);
  EXPECT_TRUE(hr.sent.empty());
  // The initiator ignores the duplicate response (no request outstanding).
  si->OnMessage(hi, Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500}, auth_resp);
  EXPECT_EQ(hi.drops["dropped_replay"], 1u);
  EXPECT_EQ(hi.child_up.size(), 1u);
}

TEST_F(Ikev2Pair, TheCachedIkeAuthResponseGoesWithThePeersFirstAuthenticatedMessage) {
  Configure({}, {});
  SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
  Start();
  ExpectEstablished();
  const Bytes auth_req = SentBy(true)[1].msg;
  // Kept until the peer shows it has the answer: its liveness probe at T0+10 (a request of
  // its own) replaces it, and an empty INFORMATIONAL answer is not kept as bytes.
  const TimePoint t0 = now;
  RunUntil(t0 + Seconds(11));
  ASSERT_EQ(SentBy(false, t0 + Micros(1)).size(), 1u);  // the probe's answer
  hr.sent.clear();
  const size_t replays = hr.drops["dropped_replay"];
  sr->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, auth_req);
  EXPECT_TRUE(hr.sent.empty());  // no longer answered: a replay below the window
  EXPECT_EQ(hr.drops["dropped_replay"], replays + 1);
  EXPECT_TRUE(sr->established());
  EXPECT_EQ(hr.child_up.size(), 1u);
}

TEST_F(Ikev2Pair, TheCachedIkeAuthResponseIsKeptAtMostTheCacheLifetime) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  const Bytes auth_req = SentBy(true)[1].msg;
  const Bytes auth_resp = SentBy(false)[1].msg;
  const TimePoint t0 = now;
  const Duration keep = Ikev2Options{}.response_cache_lifetime;
  // No message from the peer (no liveness on either side): answered until the bound...
  RunUntil(t0 + keep - Seconds(1));
  hr.sent.clear();
  sr->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, auth_req);
  ASSERT_EQ(hr.sent.size(), 1u);
  EXPECT_EQ(hr.sent[0].data, auth_resp);  // byte-identical while kept
  hr.sent.clear();
  EXPECT_EQ(sr->NextDeadline(), t0 + keep);
  // ...and dropped after it: nothing changes.
  RunUntil(t0 + keep);
  sr->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, auth_req);
  EXPECT_TRUE(hr.sent.empty());
  EXPECT_EQ(hr.drops["dropped_replay"], 1u);
  EXPECT_TRUE(sr->established());
  EXPECT_EQ(hr.child_up.size(), 1u);
  EXPECT_EQ(hr.established_at.size(), 1u);
}

TEST_F(Ikev2Pair, TheResponderTakesItsIkeAuthCandidatesFromTheHostsIndexByPeer) {
  Configure({}, {});
  // The configuration's entry lists the initiator, but the host's index lists nothing for it:
  // the session walks no configuration of its own, so no entry verifies the peer.
  hr.entries_for = [](const IpAddress&) { return std::vector<const config::CryptoMapEntry*>{}; };
  Start();
  EXPECT_GE(hr.entries_for_calls, 1u);
  EXPECT_FALSE(sr && sr->established());
  ASSERT_EQ(hr.deleted.size(), 1u);
  EXPECT_NE(hr.deleted[0].find("AUTHENTICATION_FAILED"), std::string::npos);
}

TEST_F(Ikev2Pair, LostIkeAuthResponseIsRecoveredByRetransmission) {
  Configure({}, {});
  const TimePoint t0 = now;
  int lost = 0;
  lose = [&](const Sent& x) {
    auto m = ikev2::ParseMessage(x.msg);
    if (!x.from_initiator && m && m->header.exchange == ikev2::ExchangeType::kIkeAuth &&
        lost == 0) {
      ++lost;
      return true;
    }
    return false;
  };
  Start();
  EXPECT_FALSE(si->established());
  EXPECT_TRUE(sr->established());
  RunUntil(t0 + Seconds(5));
  ExpectEstablished();
  EXPECT_EQ(hi.established_at, std::vector<TimePoint>{t0 + Seconds(1)});
  auto auth = SentBy(true);
  ASSERT_EQ(auth.size(), 3u);
  EXPECT_EQ(auth[1].msg, auth[2].msg);  // byte-identical retransmission
  auto resp = SentBy(false);
  ASSERT_EQ(resp.size(), 3u);
  EXPECT_EQ(resp[1].msg, resp[2].msg);  // answered from the cache
  EXPECT_EQ(hr.heard, 1u);
  EXPECT_EQ(hr.child_up.size(), 1u);
}

TEST_F(Ikev2Pair, RetransmittedIkeSaInitGetsTheCachedResponse) {
  Configure({}, {});
  link_r2i = false;
  const TimePoint t0 = now;
  Start();
  RunUntil(t0 + Seconds(1));  // the first retransmission of IKE_SA_INIT
  auto resp = SentBy(false);
  ASSERT_EQ(resp.size(), 2u);
  EXPECT_EQ(resp[0].msg, resp[1].msg);
  EXPECT_EQ(resp[1].at, t0 + Seconds(1));
  link_r2i = true;
  DeliverToInitiator(resp[1].d, resp[1].msg);
  Pump();
  ExpectEstablished();
}

// ---- Liveness --------------------------------------------------------------------------

TEST_F(Ikev2Pair, DpdPeriodic10Retry2DeadAtExactlyT0Plus20) {
  Configure({}, {});
  SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
  Start();
  ExpectEstablished();
  const TimePoint t0 = now;  // the IKE_AUTH response: the last message heard
  link_r2i = false;          // the peer goes silent
  link_i2r = false;
  RunUntil(t0 + Seconds(30));
  auto probes = SentBy(true, t0 + Micros(1));
  ASSERT_EQ(probes.size(), 5u);
  const std::vector<int64_t> at_s{10, 12, 14, 16, 18};
  for (size_t k = 0; k < probes.size(); ++k) {
    EXPECT_EQ(probes[k].at, t0 + Seconds(at_s[k])) << k;
    EXPECT_EQ(probes[k].msg, probes[0].msg) << k;  // byte-identical, same message ID
  }
  auto p = ikev2::ParseMessage(probes[0].msg);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header.exchange, ikev2::ExchangeType::kInformational);
  EXPECT_EQ(p->header.message_id, 2u);
  EXPECT_FALSE(p->header.response());
  EXPECT_EQ(hi.dead_at, std::vector<TimePoint>{t0 + Seconds(20)});
  EXPECT_EQ(hi.deleted_at, std::vector<TimePoint>{t0 + Seconds(20)});
  EXPECT_EQ(hi.child_down.size(), 1u);
  EXPECT_TRUE(hi.gave_up_at.empty());
}

TEST_F(Ikev2Pair, DpdNoFalseDeathWhileThePeerAnswers) {
  Configure({}, {});
  SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
  Start();
  const TimePoint t0 = now;
  RunUntil(t0 + Seconds(300));
  EXPECT_TRUE(hi.dead_at.empty());
  EXPECT_TRUE(si->established());
  auto probes = SentBy(true, t0 + Micros(1));
  ASSERT_EQ(probes.size(), 30u);  // one every 10 s, each answered at once
  for (size_t k = 0; k < probes.size(); ++k) EXPECT_EQ(probes[k].at, t0 + Seconds(10 * (k + 1)));
  EXPECT_EQ(SentBy(false, t0 + Micros(1)).size(), 30u);
  EXPECT_EQ(hr.heard, 1u + 30u);  // IKE_AUTH + each probe
}

TEST_F(Ikev2Pair, DpdLateAnswerWithinTheRoundKeepsThePeer) {
  Configure({}, {});
  SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
  Start();
  const TimePoint t0 = now;
  link_r2i = false;
  RunUntil(t0 + Seconds(15));  // probe at 10, retransmissions at 12 and 14
  auto resp = SentBy(false, t0 + Micros(1));
  // The responder answered each copy: an empty INFORMATIONAL answer is not kept, but sealed
  // again for a retransmitted request (same message ID, other IV).
  ASSERT_EQ(resp.size(), 3u);
  for (const auto& r : resp) {
    auto m = ikev2::ParseMessage(r.msg);
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->header.response());
    EXPECT_EQ(m->header.exchange, ikev2::ExchangeType::kInformational);
    EXPECT_EQ(m->header.message_id, ikev2::ParseMessage(resp[0].msg)->header.message_id);
  }
  link_r2i = true;
  DeliverToInitiator(resp[0].d, resp[0].msg);  // the answer gets through at T0+15
  RunUntil(t0 + Seconds(40));
  EXPECT_TRUE(hi.dead_at.empty());
  auto probes = SentBy(true, t0 + Seconds(16));
  ASSERT_FALSE(probes.empty());
  EXPECT_EQ(probes[0].at, t0 + Seconds(25));  // next interval from the answer
}

TEST_F(Ikev2Pair, ReplayedLivenessMessagesAfterThePeerDiedChangeNothing) {
  Configure({}, {});
  SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
  SetDpdR(Dpd(10, 2, config::DpdMode::kPeriodic));
  Start();
  const TimePoint start = now;
  RunUntil(start + Seconds(10));  // both sides probe at +10 and answer each other
  std::vector<Sent> recorded = SentBy(false, start + Micros(1));  // the responder's request + response
  ASSERT_EQ(recorded.size(), 2u);
  const TimePoint t0 = now;  // last heard
  link_r2i = false;
  link_i2r = false;
  const size_t heard = hi.heard;
  RunUntil(t0 + Seconds(11));
  // The attacker replays everything recorded, twice, during the round.
  for (int rep = 0; rep < 2; ++rep)
    for (const auto& s : recorded) {
      hi.sent.clear();
      si->OnMessage(hi, Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500}, s.msg);
    }
  EXPECT_EQ(hi.heard, heard);
  EXPECT_GE(hi.drops["dropped_replay"], 2u);
  hi.sent.clear();
  RunUntil(t0 + Seconds(30));
  EXPECT_EQ(hi.dead_at, std::vector<TimePoint>{t0 + Seconds(20)});
}

TEST_F(Ikev2Pair, OnDemandProbesOnlyWithOutboundTraffic) {
  Configure({}, {});
  SetDpdI(Dpd(10, 2, config::DpdMode::kOnDemand));
  Start();
  const TimePoint t0 = now;
  link_r2i = false;
  link_i2r = false;
  RunUntil(t0 + Seconds(100));
  EXPECT_TRUE(SentBy(true, t0 + Micros(1)).empty());
  const uint32_t spi_in = hi.child_up[0].spi_in;
  si->OnChildTraffic(hi, spi_in, /*inbound=*/false, 100);
  RunUntil(t0 + Seconds(200));
  auto probes = SentBy(true, t0 + Micros(1));
  ASSERT_EQ(probes.size(), 5u);
  EXPECT_EQ(probes[0].at, t0 + Seconds(100));
  EXPECT_EQ(hi.dead_at, std::vector<TimePoint>{t0 + Seconds(110)});
}

// ---- Delete ----------------------------------------------------------------------------

TEST_F(Ikev2Pair, IkeSaDeleteBothSidesEnd) {
  Configure({}, {});
  Start();
  si->Delete(hi, "clear crypto session", /*send=*/true);
  Pump();
  EXPECT_EQ(hi.deleted, std::vector<std::string>{"clear crypto session"});
  ASSERT_EQ(hr.deleted.size(), 1u);
  EXPECT_EQ(hi.child_down.size(), 1u);
  EXPECT_EQ(hr.child_down.size(), 1u);
  EXPECT_EQ(hr.child_down[0], (std::pair<uint32_t, uint32_t>{hr.child_up[0].spi_in,
                                                              hr.child_up[0].spi_out}));
  EXPECT_EQ(sr->state(), Ikev2Session::State::kEnded);
  EXPECT_TRUE(hi.dead_at.empty());
  // The side whose peer deleted the SA asks for its kept-up entries at that peer (the core
  // brings them up once the SA has ended); the side that deleted does not.
  EXPECT_EQ(hr.kept_up_at, std::vector<IpAddress>{kAddrI});
  EXPECT_TRUE(hi.kept_up_at.empty());
  EXPECT_EQ(hr.reports_after_deleted, 0u);
}

TEST_F(Ikev2Pair, ChildDeleteIsAnsweredWithOurSpi) {
  Configure({}, {});
  Start();
  ASSERT_TRUE(si->DeleteChild(hi, hi.child_up[0].spi_in));
  Pump();
  EXPECT_EQ(hr.child_down.size(), 1u);
  EXPECT_EQ(hi.child_down.size(), 1u);
  auto resp = ikev2::ParseMessage(SentBy(false).back().msg);
  ASSERT_TRUE(resp);
  EXPECT_TRUE(resp->header.response());
  EXPECT_TRUE(si->established());
  EXPECT_TRUE(sr->established());
  EXPECT_TRUE(si->Children(now, SnapshotKeys::kOmit).empty());
  EXPECT_TRUE(sr->Children(now, SnapshotKeys::kOmit).empty());
  EXPECT_EQ(hr.released, std::vector<uint32_t>{hr.child_up[0].spi_in});
}

// ---- Hostile input ---------------------------------------------------------------------

TEST_F(Ikev2Pair, EveryTruncationAndBitFlipOfIkeAuthIsDropped) {
  Configure({}, {});
  link_i2r = true;
  // Run IKE_SA_INIT, keep the responder before IKE_AUTH.
  si = std::make_unique<Ikev2Session>(1);
  si->Initiate(hi, *hi.cfg.FindCryptoMap("CM", 10), Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500});
  Datagram init = hi.sent[0];
  hi.sent.clear();
  sr = Ikev2Session::Respond(hr, init.remote, init.local, init.data, 2);
  ASSERT_TRUE(sr);
  si->OnMessage(hi, init.local, init.remote, hr.sent[0].data);
  hr.sent.clear();
  ASSERT_EQ(hi.sent.size(), 1u);
  const Bytes auth = hi.sent[0].data;
  hr.debug = false;
  const std::unique_ptr<Session> base = sr->Clone();
  size_t variants = 0;
  auto check = [&](const Bytes& m) {
    std::unique_ptr<Session> s = base->Clone();
    TestHost h(&now, 5, 0x3000);
    h.cfg = hr.cfg;
    h.debug = false;
    s->OnMessage(h, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, m);
    EXPECT_TRUE(h.established_at.empty());
    EXPECT_TRUE(h.child_up.empty());
    EXPECT_EQ(h.heard, 0u);
    EXPECT_TRUE(h.sent.empty());
    EXPECT_EQ(h.DropCount(), 1u);
    ++variants;
  };
  for (size_t n = 0; n < auth.size(); ++n) check(Bytes(auth.begin(), auth.begin() + n));
  for (size_t i = 0; i < auth.size() * 8; ++i) {
    Bytes m = auth;
    m[i / 8] ^= uint8_t(1u << (i % 8));
    check(m);
  }
  EXPECT_EQ(variants, auth.size() * 9);
  // The original still works on a fresh copy.
  std::unique_ptr<Session> s = base->Clone();
  s->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, auth);
  EXPECT_TRUE(s->established());
}

TEST_F(Ikev2Pair, GarbageToEveryStateNeverCrashes) {
  Configure({}, {});
  Start();
  const Bytes probe_like = SentBy(true)[1].msg;
  for (size_t len : {0, 1, 27, 28, 29, 40}) {
    Bytes m(probe_like.begin(), probe_like.begin() + std::min(len, probe_like.size()));
    si->OnMessage(hi, Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500}, m);
    sr->OnMessage(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, m);
  }
  EXPECT_TRUE(si->established());
  EXPECT_TRUE(sr->established());
  EXPECT_EQ(hi.heard, 1u);
  // Respond() with junk.
  for (size_t n = 0; n < 64; ++n) {
    Bytes junk(n, uint8_t(n));
    EXPECT_EQ(Ikev2Session::Respond(hr, Endpoint{kAddrR, 500}, Endpoint{kAddrI, 500}, junk, 9),
              nullptr);
  }
}

// ---- Interop: strongSwan's IKE_SA_INIT request ---------------------------------------------

TEST(Ikev2Responder, AnswersStrongswanIkeSaInitRequest) {
  TimePoint now = FromMicros(5'000'000);
  TestHost h(&now, 3, 0x4000);
  h.cfg = MakeConfig(IpAddress::V4(192, 0, 2, 2), IpAddress::V4(192, 0, 2, 1), Suite{}, "x",
                     IpAddress::V4(10, 2, 0, 0), IpAddress::V4(10, 1, 0, 0));
  const Bytes req = HexOrDie(ikev2::testing::kStrongswanInitRequest);
  ASSERT_EQ(req.size(), 464u);
  const Endpoint local{IpAddress::V4(192, 0, 2, 2), 500}, remote{IpAddress::V4(192, 0, 2, 1), 500};
  auto s = Ikev2Session::Respond(h, local, remote, req, 7);
  ASSERT_NE(s, nullptr) << h.last_drop;
  // The capture's destination hash is over our address and port; its source hash is not over
  // 192.0.2.1:500 (the lab's strongSwan with kernel-libipsec fakes it), so a NAT is detected
  // on the initiator's side, as strongSwan's own responder concludes.
  {
    auto r = ikev2::ParseMessage(req);
    ASSERT_TRUE(r);
    const auto* dst = ikev2::FindNotify(r->payloads, ikev2::NotifyType::kNatDetectionDestinationIp);
    ASSERT_NE(dst, nullptr);
    const uint8_t zero[8] = {}, port[2] = {0x01, 0xf4};
    EXPECT_EQ(dst->data, crypto::Hash(crypto::HashAlg::kSha1,
                                      {ByteSpan(req.data(), 8), zero, local.ip.span(), port}));
  }
  EXPECT_TRUE(s->nat_detected());
  ASSERT_EQ(h.sent.size(), 1u);
  auto m = ikev2::ParseMessage(h.sent[0].data);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->header.response());
  EXPECT_FALSE(m->header.initiator());
  EXPECT_EQ(m->header.exchange, ikev2::ExchangeType::kIkeSaInit);
  EXPECT_EQ(m->header.message_id, 0u);
  EXPECT_TRUE(std::equal(m->header.spi_i.begin(), m->header.spi_i.end(), req.begin()));
  EXPECT_EQ(m->header.spi_r, s->spi_r());
  const auto* sa = ikev2::Find<ikev2::SaPayload>(m->payloads);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 1u);
  const auto& p = sa->proposals[0];
  EXPECT_EQ(p.number, 1);
  ASSERT_EQ(p.transforms.size(), 4u);
  EXPECT_EQ(p.transforms[0].id, uint16_t(ikev2::EncrId::kAesCbc));
  EXPECT_EQ(p.transforms[0].key_length(), 128);
  EXPECT_EQ(p.transforms[1].id, uint16_t(ikev2::PrfId::kHmacSha2_256));
  EXPECT_EQ(p.transforms[2].id, uint16_t(ikev2::IntegId::kHmacSha2_256_128));
  EXPECT_EQ(p.transforms[3].id, 14);
  const auto* ke = ikev2::Find<ikev2::KePayload>(m->payloads);
  ASSERT_NE(ke, nullptr);
  EXPECT_EQ(ke->dh_group, 14);
  EXPECT_EQ(ke->data.size(), 256u);
  EXPECT_NE(ikev2::Find<ikev2::NoncePayload>(m->payloads), nullptr);
  EXPECT_NE(ikev2::FindNotify(m->payloads, ikev2::NotifyType::kNatDetectionSourceIp), nullptr);
  EXPECT_NE(ikev2::FindNotify(m->payloads, ikev2::NotifyType::kNatDetectionDestinationIp), nullptr);
  EXPECT_EQ(s->Snapshot(now).state, "IN-NEG");
  // Without an IKE_AUTH the half-open responder ends after 30 s.
  EXPECT_EQ(s->NextDeadline(), now + Seconds(30));
  now += Seconds(30);
  s->OnTimeout(h);
  EXPECT_EQ(h.deleted.size(), 1u);
  EXPECT_TRUE(h.gave_up_at.empty());
}

TEST(Ikev2Responder, NoProposalChosenForStrongswanWhenWeOnlyHaveGcm) {
  TimePoint now = FromMicros(5'000'000);
  TestHost h(&now, 3, 0x4000);
  Suite gcm{Ikev2Encryption::kAesGcm256, Ikev2Hash::kSha256, Ikev2Hash::kSha384, {20}};
  h.cfg = MakeConfig(IpAddress::V4(192, 0, 2, 2), IpAddress::V4(192, 0, 2, 1), gcm, "x",
                     IpAddress::V4(10, 2, 0, 0), IpAddress::V4(10, 1, 0, 0));
  const Bytes req = HexOrDie(ikev2::testing::kStrongswanInitRequest);
  auto s = Ikev2Session::Respond(h, Endpoint{IpAddress::V4(192, 0, 2, 2), 500},
                                 Endpoint{IpAddress::V4(192, 0, 2, 1), 500}, req, 7);
  EXPECT_EQ(s, nullptr);
  ASSERT_EQ(h.sent.size(), 1u);
  auto m = ikev2::ParseMessage(h.sent[0].data);
  ASSERT_TRUE(m);
  EXPECT_NE(ikev2::FindNotify(m->payloads, ikev2::NotifyType::kNoProposalChosen), nullptr);
}

TEST_F(Ikev2Pair, CloneIsADeepCopy) {
  Configure({}, {});
  const TimePoint t0 = now;
  si = std::make_unique<Ikev2Session>(1);
  si->Initiate(hi, *hi.cfg.FindCryptoMap("CM", 10), Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500});
  std::unique_ptr<Session> copy = si->Clone();
  Pump();  // the original goes on and establishes
  ExpectEstablished();
  EXPECT_FALSE(copy->established());
  EXPECT_EQ(copy->Snapshot(now).state, "IN-NEG");
  EXPECT_EQ(copy->NextDeadline(), t0 + Seconds(1));  // its IKE_SA_INIT retransmission
  // The copy still completes on its own with the responder's answer to it.
  TestHost h2(&now, 99, 0x5000);
  h2.cfg = hi.cfg;
  copy->OnMessage(h2, Endpoint{kAddrI, 500}, Endpoint{kAddrR, 500}, SentBy(false)[0].msg);
  EXPECT_EQ(h2.sent.size(), 1u);  // its own IKE_AUTH request
}


// ---- CREATE_CHILD_SA: rekeying ---------------------------------------------------------

// Every Child SA of one side has its mirror on the other side with the same keys.
void ExpectMirroredChildren(const Ikev2Session& a, const Ikev2Session& b, TimePoint now) {
  auto ca = a.Children(now, SnapshotKeys::kInclude);
  auto cb = b.Children(now, SnapshotKeys::kInclude);
  ASSERT_EQ(ca.size(), cb.size());
  for (const auto& x : ca) {
    auto y = std::find_if(cb.begin(), cb.end(),
                          [&](const ChildSaSnapshot& c) { return c.spi_in == x.spi_out; });
    ASSERT_NE(y, cb.end()) << x.spi_in;
    EXPECT_EQ(y->spi_out, x.spi_in);
    EXPECT_TRUE(x.enc_key_out == y->enc_key_in);
    EXPECT_TRUE(x.auth_key_out == y->auth_key_in);
    EXPECT_TRUE(x.enc_key_in == y->enc_key_out);
    EXPECT_TRUE(x.auth_key_in == y->auth_key_out);
    EXPECT_FALSE(x.enc_key_in.empty());
  }
}

uint32_t OnlyChildIn(const Ikev2Session& s, TimePoint now) {
  auto c = s.Children(now, SnapshotKeys::kOmit);
  return c.size() == 1 ? c[0].spi_in : 0;
}

class Ikev2Rekey : public Ikev2Pair {
 protected:
  void SetChildLifetime(uint32_t s) {
    hi.cfg.crypto_maps.Mut(0).lifetime_s = s;
    hr.cfg.crypto_maps.Mut(0).lifetime_s = s;
  }
  void SetPfs(uint16_t g) {
    hi.cfg.crypto_maps.Mut(0).pfs_group = g;
    hr.cfg.crypto_maps.Mut(0).pfs_group = g;
  }
  void SetIkeLifetime(uint32_t s) {
    hi.cfg.ikev2_profiles["PROF"].lifetime_s = s;
    hr.cfg.ikev2_profiles["PROF"].lifetime_s = s;
  }
  std::vector<Sent> ExchangesOf(ikev2::ExchangeType x, bool from_initiator, bool response) {
    std::vector<Sent> v;
    for (const auto& s : log) {
      auto m = ikev2::ParseMessage(s.msg);
      if (m && s.from_initiator == from_initiator && m->header.exchange == x &&
          m->header.response() == response)
        v.push_back(s);
    }
    return v;
  }
};

TEST_F(Ikev2Rekey, ChildRekeyAtTheSoftLifetimeByTheInitiator) {
  Configure({}, {});
  SetChildLifetime(120);  // soft: 120 - 30 = 90 s (NodeOptions::ipsec_rekey_margin)
  Start();
  ExpectEstablished();
  const TimePoint t0 = now;
  const uint32_t old_i = hi.child_up[0].spi_in, old_r = hr.child_up[0].spi_in;
  RunUntil(t0 + Seconds(89));
  EXPECT_EQ(hi.child_up.size(), 1u);
  RunUntil(t0 + Seconds(100));
  auto reqs = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, true, false);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].at, t0 + Seconds(90));
  auto m = ikev2::ParseMessage(reqs[0].msg);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.message_id, 2u);
  ASSERT_EQ(hi.child_up.size(), 2u);
  ASSERT_EQ(hr.child_up.size(), 2u);
  // The new pair came up before the old one went, on both sides.
  EXPECT_EQ(hi.child_down, (std::vector<std::pair<uint32_t, uint32_t>>{{old_i, old_r}}));
  EXPECT_EQ(hr.child_down, (std::vector<std::pair<uint32_t, uint32_t>>{{old_r, old_i}}));
  EXPECT_EQ(hi.child_up[1].spi_out, hr.child_up[1].spi_in);
  EXPECT_EQ(hi.child_up[1].map_name, "CM");
  EXPECT_EQ(OnlyChildIn(*si, now), hi.child_up[1].spi_in);
  ExpectMirroredChildren(*si, *sr, now);
  // The new pair's keys differ from the old one's.
  EXPECT_EQ(si->Children(now, SnapshotKeys::kOmit)[0].lifetime_left_s, 120 - 10);
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
  // The next rekey at the new pair's soft lifetime: t0 + 90 + 90.
  RunUntil(t0 + Seconds(181));
  reqs = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, true, false);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].at, t0 + Seconds(180));
  ExpectMirroredChildren(*si, *sr, now);
  EXPECT_EQ(si->Children(now, SnapshotKeys::kOmit).size(), 1u);
}

TEST_F(Ikev2Rekey, ChildRekeyByTheResponderWithPfs) {
  Configure({}, {});
  SetPfs(14);
  Start();
  ExpectEstablished();
  const uint32_t old_r = hr.child_up[0].spi_in;
  ASSERT_TRUE(sr->RekeyChild(hr, old_r));
  EXPECT_FALSE(sr->RekeyChild(hr, old_r));  // one request at a time
  Pump();
  auto reqs = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, false, false);
  ASSERT_EQ(reqs.size(), 1u);
  auto m = ikev2::ParseMessage(reqs[0].msg);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->header.initiator());  // the IKE SA's responder sends it
  ASSERT_EQ(hi.child_up.size(), 2u);
  ASSERT_EQ(hr.child_up.size(), 2u);
  EXPECT_EQ(hr.child_down.size(), 1u);
  EXPECT_EQ(hi.child_down.size(), 1u);
  EXPECT_EQ(hr.child_down[0].first, old_r);
  ExpectMirroredChildren(*si, *sr, now);
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
}

TEST_F(Ikev2Rekey, PfsMismatchIsRefusedAndTheOldPairStays) {
  Configure({}, {});
  hi.cfg.crypto_maps.Mut(0).pfs_group = 14;  // the responder has no PFS
  Start();
  ExpectEstablished();
  ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
  Pump();
  EXPECT_EQ(hi.child_up.size(), 1u);
  EXPECT_EQ(hr.child_up.size(), 1u);
  EXPECT_TRUE(hi.child_down.empty());
  auto resp = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, false, true);
  ASSERT_EQ(resp.size(), 1u);
  auto m = ikev2::ParseMessage(resp[0].msg);
  ASSERT_TRUE(m);
  // The refused rekey's SPI is given back.
  EXPECT_EQ(hi.released.size(), 1u);
  EXPECT_TRUE(si->established());
}

TEST_F(Ikev2Rekey, ChildRekeyCollisionLeavesOnePair) {
  int initiator_lost = 0, initiator_won = 0;  // the seeds cover both outcomes
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    hi = TestHost(&now, 11 + seed * 7, 0x1000);
    hr = TestHost(&now, 22 + seed * 13, 0x2000);
    si.reset();
    sr.reset();
    log.clear();
    Configure({}, {});
    Start();
    ExpectEstablished();
    ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
    ASSERT_TRUE(sr->RekeyChild(hr, hr.child_up[0].spi_in));
    Pump();
    RunUntil(now + Seconds(1));
    // Both exchanges made a pair; the redundant one and the old one are gone on both sides.
    EXPECT_EQ(hi.child_up.size(), 3u);
    EXPECT_EQ(hr.child_up.size(), 3u);
    EXPECT_EQ(hi.child_down.size(), 2u);
    EXPECT_EQ(hr.child_down.size(), 2u);
    EXPECT_EQ(si->Children(now, SnapshotKeys::kOmit).size(), 1u);
    EXPECT_EQ(sr->Children(now, SnapshotKeys::kOmit).size(), 1u);
    ExpectMirroredChildren(*si, *sr, now);
    EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
    for (const auto& l : hi.debug_lines) {
      initiator_lost += l.find("our new pair is redundant") != std::string::npos;
      initiator_won += l.find("the peer's new pair is redundant") != std::string::npos;
    }
  }
  EXPECT_GT(initiator_lost, 0);
  EXPECT_GT(initiator_won, 0);
}

TEST_F(Ikev2Rekey, LostRekeyResponseIsRetransmittedAndReplayedRequestChangesNothing) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  int lost = 0;
  lose = [&](const Sent& s) {
    auto m = ikev2::ParseMessage(s.msg);
    return m && m->header.exchange == ikev2::ExchangeType::kCreateChildSa &&
           m->header.response() && lost++ == 0;
  };
  const TimePoint t0 = now;
  ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
  RunUntil(t0 + Seconds(5));
  auto reqs = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, true, false);
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].msg, reqs[0].msg);  // byte-identical
  auto resps = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, false, true);
  ASSERT_EQ(resps.size(), 2u);
  EXPECT_EQ(resps[1].msg, resps[0].msg);  // the cached answer
  EXPECT_EQ(hr.child_up.size(), 2u);      // one new pair, not two
  EXPECT_EQ(hi.child_up.size(), 2u);
  ExpectMirroredChildren(*si, *sr, now);
  // The recorded request, replayed later: dropped, nothing changes.
  const size_t ups = hr.child_up.size(), downs = hr.child_down.size();
  DeliverToResponder(reqs[0].d, reqs[0].msg);
  EXPECT_EQ(hr.drops["dropped_replay"], 1u);
  EXPECT_TRUE(hr.sent.empty());
  EXPECT_EQ(hr.child_up.size(), ups);
  EXPECT_EQ(hr.child_down.size(), downs);
  // And the recorded response, replayed to the initiator.
  DeliverToInitiator(resps[0].d, resps[0].msg);
  EXPECT_EQ(hi.drops["dropped_replay"], 1u);
  EXPECT_EQ(hi.child_up.size(), 2u);
}

TEST_F(Ikev2Rekey, UnknownChildIsChildSaNotFoundAndNewChildIsNoAdditionalSas) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
  Bytes req = hi.sent.back().data;
  // Have the responder forget the pair first: the peer deletes it.
  ASSERT_TRUE(sr->DeleteChild(hr, hr.child_up[0].spi_in));
  Pump();
  auto resp = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, false, true);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(hi.child_up.size(), 1u);
  EXPECT_TRUE(si->established());
  (void)req;
}

TEST_F(Ikev2Rekey, IkeRekeyByTheInitiatorKeepsChildrenAndLiveness) {
  Configure({}, {});
  SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
  Start();
  ExpectEstablished();
  const ikev2::Spi old_i = si->spi_i(), old_r = si->spi_r();
  RunUntil(now + Seconds(3));
  ASSERT_TRUE(si->RekeyIke(hi));
  Pump();
  EXPECT_NE(si->spi_i(), old_i);
  EXPECT_NE(si->spi_r(), old_r);
  EXPECT_EQ(si->spi_i(), sr->spi_i());
  EXPECT_EQ(si->spi_r(), sr->spi_r());
  EXPECT_EQ(si->ike_rekeys(), 1u);
  EXPECT_EQ(sr->ike_rekeys(), 1u);
  EXPECT_TRUE(si->initiator());
  EXPECT_FALSE(sr->initiator());
  // The old SA took its Delete on both sides.
  EXPECT_TRUE(si->old_spis_i().empty());
  EXPECT_EQ(si->next_request_id(), 0u);  // message IDs restart at 0
  EXPECT_EQ(sr->next_peer_request_id(), 0u);
  EXPECT_FALSE(sr->old_spis_i().empty());  // kept 10 s to answer a retransmitted Delete
  RunUntil(now + Seconds(11));
  EXPECT_TRUE(sr->old_spis_i().empty());
  // Children moved untouched.
  EXPECT_EQ(hi.child_up.size(), 1u);
  EXPECT_TRUE(hi.child_down.empty());
  EXPECT_TRUE(hr.child_down.empty());
  ExpectMirroredChildren(*si, *sr, now);
  // A Child SA rekey on the new IKE SA (keys from the new SK_d) still agrees.
  ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
  Pump();
  ExpectMirroredChildren(*si, *sr, now);
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
  // The peer goes silent: dead at exactly T0 + 20, T0 the last message heard.
  const TimePoint t0 = now;
  link_i2r = link_r2i = false;
  RunUntil(t0 + Seconds(30));
  EXPECT_EQ(hi.dead_at, std::vector<TimePoint>{t0 + Seconds(20)});
  auto probes = SentBy(true, t0 + Micros(1));
  ASSERT_EQ(probes.size(), 5u);
  const std::vector<int64_t> at_s{10, 12, 14, 16, 18};
  for (size_t k = 0; k < probes.size(); ++k) EXPECT_EQ(probes[k].at, t0 + Seconds(at_s[k]));
}

TEST_F(Ikev2Rekey, IkeRekeyByTheResponderFlipsTheInitiatorFlag) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  ASSERT_TRUE(sr->RekeyIke(hr));
  Pump();
  EXPECT_EQ(si->spi_i(), sr->spi_i());
  EXPECT_EQ(si->spi_r(), sr->spi_r());
  EXPECT_TRUE(sr->initiator());
  EXPECT_FALSE(si->initiator());
  EXPECT_TRUE(sr->old_spis_i().empty());
  // Liveness and Child SA rekeys work over it both ways.
  ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
  Pump();
  ASSERT_TRUE(sr->RekeyChild(hr, hr.child_up.back().spi_in));
  Pump();
  ExpectMirroredChildren(*si, *sr, now);
  EXPECT_EQ(si->Children(now, SnapshotKeys::kOmit).size(), 1u);
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
  si->Delete(hi, "clear", true);
  Pump();
  EXPECT_EQ(sr->state(), Ikev2Session::State::kEnded);
}

TEST_F(Ikev2Rekey, IkeRekeyAtTheSoftLifetimeAndReplayedRekeyChangesNothing) {
  Configure({}, {});
  SetIkeLifetime(120);  // soft: 9/10 of 120 = 108 s (shorter than twice the 60 s margin)
  Start();
  ExpectEstablished();
  const TimePoint t0 = now;
  RunUntil(t0 + Seconds(120));
  auto reqs = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, true, false);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].at, t0 + Seconds(108));
  EXPECT_EQ(si->ike_rekeys(), 1u);
  EXPECT_EQ(sr->ike_rekeys(), 1u);
  EXPECT_TRUE(si->established());
  EXPECT_TRUE(sr->established());
  EXPECT_EQ(sr->Ikev2Snapshot(now).active_time_s, 12);
  // The recorded rekey request, replayed: the old SA is gone, nothing changes.
  const ikev2::Spi spi = sr->spi_r();
  DeliverToResponder(reqs[0].d, reqs[0].msg);
  EXPECT_EQ(hr.DropCount(), 1u);
  EXPECT_EQ(sr->spi_r(), spi);
  EXPECT_TRUE(hr.sent.empty());
  // Hard lifetime would be at t0 + 120: the rekey moved it.
  RunUntil(t0 + Seconds(200));
  EXPECT_TRUE(si->established());
  EXPECT_EQ(si->ike_rekeys(), 1u);
  RunUntil(t0 + Seconds(108 + 108 + 1));
  EXPECT_EQ(si->ike_rekeys(), 2u);
}

TEST_F(Ikev2Rekey, HardLifetimeDeletesWithoutARekey) {
  Configure({}, {});
  SetIkeLifetime(120);
  Start();
  ExpectEstablished();
  const TimePoint t0 = now;
  // The responder never rekeys; its hard lifetime ends the SA when the initiator cannot rekey.
  link_i2r = false;
  hr.cfg.ikev2_profiles["PROF"].dpd = {};
  RunUntil(t0 + Seconds(121));
  EXPECT_EQ(hr.deleted_at, std::vector<TimePoint>{t0 + Seconds(120)});
  EXPECT_EQ(hr.deleted, std::vector<std::string>{"IKE SA lifetime expired"});
}

TEST_F(Ikev2Rekey, IkeRekeyCollisionKeepsTheSaWithoutTheLowestNonce) {
  int initiator_kept_own = 0, initiator_kept_peers = 0;  // the seeds cover both outcomes
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(seed);
    hi = TestHost(&now, 11 + seed * 7, 0x1000);
    hr = TestHost(&now, 22 + seed * 13, 0x2000);
    si.reset();
    sr.reset();
    log.clear();
    Configure({}, {});
    SetDpdI(Dpd(10, 2, config::DpdMode::kPeriodic));
    Start();
    ExpectEstablished();
    const ikev2::Spi old_i = si->spi_i();
    ASSERT_TRUE(si->RekeyIke(hi));
    ASSERT_TRUE(sr->RekeyIke(hr));
    Pump();
    // Both sides chose the same new SA, and each took (or sent) the Deletes of the others.
    EXPECT_EQ(si->ike_rekeys(), 1u);
    EXPECT_EQ(sr->ike_rekeys(), 1u);
    EXPECT_EQ(si->spi_i(), sr->spi_i());
    EXPECT_EQ(si->spi_r(), sr->spi_r());
    EXPECT_NE(si->spi_i(), old_i);
    EXPECT_NE(si->initiator(), sr->initiator());
    EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
    RunUntil(now + Seconds(11));
    EXPECT_TRUE(si->old_spis_i().empty());
    EXPECT_TRUE(sr->old_spis_i().empty());
    ExpectMirroredChildren(*si, *sr, now);
    EXPECT_TRUE(hi.child_down.empty());
    // Liveness and a Child SA rekey go on over the survivor.
    ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
    Pump();
    ExpectMirroredChildren(*si, *sr, now);
    EXPECT_TRUE(hi.dead_at.empty());
    (si->initiator() ? initiator_kept_own : initiator_kept_peers)++;
  }
  EXPECT_GT(initiator_kept_own, 0);
  EXPECT_GT(initiator_kept_peers, 0);
}

TEST_F(Ikev2Rekey, PeerIkeRekeyWhileAChildRekeyIsOutstandingIsTemporaryFailure) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  ASSERT_TRUE(si->RekeyChild(hi, hi.child_up[0].spi_in));
  ASSERT_TRUE(sr->RekeyIke(hr));
  Pump();
  EXPECT_EQ(sr->ike_rekeys(), 0u);  // refused by the initiator, which was busy
  EXPECT_EQ(hi.child_up.size(), 2u);
  ExpectMirroredChildren(*si, *sr, now);
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
}


// A second crypto map entry (CM 20, ACL 102: 10.1.1.0/24 <-> 10.2.1.0/24) of the same profile.
void AddSecondEntry(config::Config& c, const IpAddress& lan, const IpAddress& peer_lan) {
  config::AccessList acl;
  acl.name = "102";
  config::AclEntry ae;
  ae.src = lan;
  ae.src_wildcard = IpAddress::V4(0, 0, 0, 255);
  ae.dst = peer_lan;
  ae.dst_wildcard = IpAddress::V4(0, 0, 0, 255);
  acl.entries.push_back(ae);
  c.acls["102"] = acl;
  config::CryptoMapEntry e = c.crypto_maps[0];
  e.seq = 20;
  e.match_address = "102";
  c.crypto_maps.push_back(e);
}

TEST_F(Ikev2Rekey, AdditionalChildSaForASecondEntryOverTheSameIkeSa) {
  Configure({}, {});
  AddSecondEntry(hi.cfg, IpAddress::V4(10, 1, 1, 0), IpAddress::V4(10, 2, 1, 0));
  AddSecondEntry(hr.cfg, IpAddress::V4(10, 2, 1, 0), IpAddress::V4(10, 1, 1, 0));
  Start();
  ExpectEstablished();
  si->AddChild(hi, *hi.cfg.FindCryptoMap("CM", 20));
  Pump();
  ASSERT_EQ(hi.child_up.size(), 2u);
  ASSERT_EQ(hr.child_up.size(), 2u);
  EXPECT_EQ(hi.child_up[1].map_seq, 20u);
  EXPECT_EQ(hr.child_up[1].map_seq, 20u);  // the responder matched its own entry 20
  ExpectMirroredChildren(*si, *sr, now);
  auto ci = si->Children(now, SnapshotKeys::kOmit);
  auto c20 = std::find_if(ci.begin(), ci.end(), [](const auto& c) { return c.map_seq == 20; });
  ASSERT_NE(c20, ci.end());
  EXPECT_EQ(c20->local_net, IpAddress::V4(10, 1, 1, 0));
  EXPECT_EQ(c20->remote_net, IpAddress::V4(10, 2, 1, 0));
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
}

// An IKE SA holds at most kMaxChildSas Child SAs: asking for more does nothing.
TEST_F(Ikev2Rekey, AdditionalChildSasStopAtTheLimit) {
  Configure({}, {});
  AddSecondEntry(hi.cfg, IpAddress::V4(10, 1, 1, 0), IpAddress::V4(10, 2, 1, 0));
  AddSecondEntry(hr.cfg, IpAddress::V4(10, 2, 1, 0), IpAddress::V4(10, 1, 1, 0));
  Start();
  ExpectEstablished();
  for (size_t k = 0; k < Ikev2Session::kMaxChildSas + 6; ++k) {
    si->AddChild(hi, *hi.cfg.FindCryptoMap("CM", 20));
    Pump();
  }
  EXPECT_EQ(si->Children(now, SnapshotKeys::kOmit).size(), Ikev2Session::kMaxChildSas);
  EXPECT_EQ(sr->Children(now, SnapshotKeys::kOmit).size(), Ikev2Session::kMaxChildSas);
  EXPECT_EQ(hi.DropCount() + hr.DropCount(), 0u) << hi.last_drop << hr.last_drop;
}

TEST_F(Ikev2Rekey, AdditionalChildSaOutsideEveryAclIsTsUnacceptable) {
  Configure({}, {});
  AddSecondEntry(hi.cfg, IpAddress::V4(10, 1, 1, 0), IpAddress::V4(10, 2, 1, 0));
  Start();
  ExpectEstablished();
  si->AddChild(hi, *hi.cfg.FindCryptoMap("CM", 20));
  Pump();
  EXPECT_EQ(hi.child_up.size(), 1u);
  EXPECT_EQ(hr.child_up.size(), 1u);
  auto resp = ExchangesOf(ikev2::ExchangeType::kCreateChildSa, false, true);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(hi.released.size(), 1u);  // the SPI offered is given back
  bool ts_unacceptable = false;
  for (const auto& l : hr.debug_lines)
    ts_unacceptable |= l.find("TS_UNACCEPTABLE") != std::string::npos;
  EXPECT_TRUE(ts_unacceptable);
  EXPECT_TRUE(si->established());
}


TEST_F(Ikev2Rekey, CreateChildSaOnTheOldIkeSaIsTemporaryFailure) {
  Configure({}, {});
  Start();
  ExpectEstablished();
  // The responder as it was before the IKE rekey: it will send a Child SA rekey on the old SA.
  TestHost h2 = hr;
  std::unique_ptr<Session> copy = sr->Clone();
  auto* before = static_cast<Ikev2Session*>(copy.get());
  // The answer to the Delete of the old SA is lost, so the initiator keeps the old SA.
  lose = [&](const Sent& s) {
    auto m = ikev2::ParseMessage(s.msg);
    return !s.from_initiator && m && m->header.exchange == ikev2::ExchangeType::kInformational &&
           m->header.response();
  };
  ASSERT_TRUE(si->RekeyIke(hi));
  Pump();
  ASSERT_EQ(si->ike_rekeys(), 1u);
  ASSERT_FALSE(si->old_spis_i().empty());
  ASSERT_TRUE(before->RekeyChild(h2, hr.child_up[0].spi_in));
  ASSERT_EQ(h2.sent.size(), 1u);
  DeliverToInitiator(h2.sent[0], StripMarker(h2.sent[0]));
  ASSERT_EQ(hi.sent.size(), 1u);
  const Bytes answer = StripMarker(hi.sent[0]);
  auto m = ikev2::ParseMessage(answer);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.exchange, ikev2::ExchangeType::kCreateChildSa);
  EXPECT_TRUE(m->header.response());
  EXPECT_EQ(m->header.spi_i, before->spi_i());  // on the old SA
  EXPECT_EQ(hi.child_up.size(), 1u);
  h2.sent.clear();
  before->OnMessage(h2, hi.sent[0].remote, hi.sent[0].local, answer);
  EXPECT_EQ(h2.child_up.size(), 1u);      // no new pair
  EXPECT_EQ(h2.released.size(), 1u);      // its offered SPI given back
  EXPECT_EQ(h2.DropCount(), hr.DropCount());  // the answer was authentic on the old SA
  EXPECT_TRUE(si->established());
}

}  // namespace
}  // namespace ikepulse::ike
