// Main Mode + Quick Mode between two ikepulse nodes, both roles, several proposals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

using ::testing::SizeIs;

struct Pair {
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  sim::Link& link = sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));

  Pair(SiteSpec sa, SiteSpec sb) {
    a.SetConfig(MakeConfig(sa));
    b.SetConfig(MakeConfig(sb));
  }
};

TEST(Establish, MainModeAndQuickModeBringBothSidesUp) {
  Pair p(SiteA(), SiteB());
  const TimePoint t0 = p.sim.now();
  p.a.Initiate("green", 1);
  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); }, t0 + Seconds(5)));
  // 6 Main Mode + 3 Quick Mode messages over a 5 ms link: up at 9 x 5 ms.
  EXPECT_EQ(p.sim.now(), t0 + Millis(45));
  auto sa_a = p.a.IsakmpSas();
  auto sa_b = p.b.IsakmpSas();
  ASSERT_THAT(sa_a, SizeIs(1));
  ASSERT_THAT(sa_b, SizeIs(1));
  EXPECT_EQ(sa_a[0].state, "QM_IDLE");
  EXPECT_TRUE(sa_a[0].initiator);
  EXPECT_FALSE(sa_b[0].initiator);
  auto ch_a = p.a.ChildSasWithKeys();
  auto ch_b = p.b.ChildSasWithKeys();
  ASSERT_THAT(ch_a, SizeIs(1));
  ASSERT_THAT(ch_b, SizeIs(1));
  // Each side's outbound SPI is the other's inbound, with the same keys.
  EXPECT_EQ(ch_a[0].spi_out, ch_b[0].spi_in);
  EXPECT_EQ(ch_a[0].spi_in, ch_b[0].spi_out);
  EXPECT_TRUE(ch_a[0].enc_key_out == ch_b[0].enc_key_in);
  EXPECT_TRUE(ch_a[0].auth_key_in == ch_b[0].auth_key_out);
  EXPECT_EQ(ch_a[0].enc_key_out.size(), 16u);
  EXPECT_EQ(ch_a[0].auth_key_out.size(), 20u);
  EXPECT_EQ(ch_a[0].local_net, Ip("198.51.100.0"));
  EXPECT_EQ(ch_b[0].local_net, Ip("203.0.113.0"));
  EXPECT_EQ(ch_b[0].map_name, "green");
  // The UP log line on both sides.
  auto logs = OfKind(p.a.events(), ike::EventKind::kLog);
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs[0].text,
            "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP. Peer 192.0.2.2:500 Id: 192.0.2.2");
}

// `set ikev2-profile` makes an entry IKEv2-only: it comes up with IKEv2 (no Main Mode is
// sent), and its Child SA carries the entry's traffic. (This replaces the test of the time
// when the engine refused such an entry; ikev2_test.cc has the IKEv2 scenarios.)
TEST(Establish, AnEntryWithAnIkev2ProfileComesUpWithIkev2) {
  Pair p(SiteA(), SiteB());
  config::Config ca = MakeConfig(SiteA());
  AddFlex(ca, SiteA().peers, SiteA().psk);
  config::Config cb = MakeConfig(SiteB());
  AddFlex(cb, SiteB().peers, SiteB().psk);
  p.a.SetConfig(ca);
  p.b.SetConfig(cb);
  EXPECT_THAT(OfKind(p.a.events(), ike::EventKind::kLog), SizeIs(0));

  const TimePoint t0 = p.sim.now();
  p.a.Initiate("green", 1);
  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); }, t0 + Seconds(5)));
  for (const auto& r : p.sim.packets()) {
    EXPECT_FALSE(sim::IsakmpExchangeType(r.datagram) == 2);
  }
  EXPECT_TRUE(p.a.IsakmpSas().empty());  // `show crypto isakmp sa` lists IKEv1 SAs only
  EXPECT_EQ(p.a.ike_sa_count(), 1u);
  ASSERT_THAT(p.a.ChildSas(), SizeIs(1));
  EXPECT_EQ(p.a.ChildSas()[0].map_name, "green");
  EXPECT_EQ(p.a.ChildSas()[0].spi_in, p.b.ChildSas()[0].spi_out);
}

struct Proposal {
  config::Encryption enc;
  config::Hash hash;
  uint16_t group;
};

class EstablishProposals : public ::testing::TestWithParam<Proposal> {};

TEST_P(EstablishProposals, EveryProposalComesUp) {
  SiteSpec sa = SiteA(), sb = SiteB();
  sa.enc = sb.enc = GetParam().enc;
  sa.hash = sb.hash = GetParam().hash;
  sa.group = sb.group = GetParam().group;
  sa.pfs = sb.pfs = GetParam().group;
  Pair p(sa, sb);
  p.b.Initiate("green", 1);  // the other role this time
  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); },
                             p.sim.now() + Seconds(5)));
  EXPECT_TRUE(p.a.ChildSasWithKeys()[0].enc_key_in == p.b.ChildSasWithKeys()[0].enc_key_out);
}

INSTANTIATE_TEST_SUITE_P(
    All, EstablishProposals,
    ::testing::Values(Proposal{config::Encryption::kAes128, config::Hash::kSha1, 14},
                      Proposal{config::Encryption::kAes256, config::Hash::kSha256, 14},
                      Proposal{config::Encryption::kAes128, config::Hash::kSha256, 19},
                      Proposal{config::Encryption::kAes192, config::Hash::kSha384, 20},
                      Proposal{config::Encryption::kAes256, config::Hash::kSha512, 21},
                      Proposal{config::Encryption::k3Des, config::Hash::kMd5, 2},
                      Proposal{config::Encryption::k3Des, config::Hash::kSha1, 5}));

TEST(Establish, WrongPreSharedKeyNeverComesUpAndIsCounted) {
  SiteSpec sa = SiteA(), sb = SiteB();
  sb.psk = "not-the-same";
  Pair p(sa, sb);
  p.a.Initiate("green", 1);
  p.sim.RunFor(Seconds(10));
  EXPECT_TRUE(p.a.ChildSas().empty());
  EXPECT_GT(p.b.counters().dropped_auth, 0u);
}

TEST(Establish, MismatchedPolicyIsRefused) {
  SiteSpec sa = SiteA(), sb = SiteB();
  sb.group = 5;
  Pair p(sa, sb);
  p.a.Initiate("green", 1);
  p.sim.RunFor(Seconds(10));
  EXPECT_TRUE(p.a.IsakmpSas().empty() || p.a.IsakmpSas()[0].state != "QM_IDLE");
  EXPECT_GT(p.b.counters().dropped_state, 0u);
}

// Quick Mode refused by the responder (phase 1 is up): it answers with an authenticated
// error notify, as IOS does, and the initiator ends that Quick Mode at once instead of
// retransmitting it for 23 s ("Death by retransmission P2").
TEST(Establish, RejectedQuickModeIsNotifiedAndEndsAtOnce) {
  struct Case {
    const char* name;
    bool transform_mismatch;  // else: proxy identities B's ACL does not mirror
    const char* b_log;  // B's IKMP_MODE_FAILURE reason (NO_PROPOSAL_CHOSEN / INVALID_ID_INFO)
  };
  for (const Case& k : {Case{"transform", true, "(no acceptable proposal)"},
                        Case{"proxies", false, "(proxy identities not supported)"}}) {
    SCOPED_TRACE(k.name);
    SiteSpec sb = SiteB();
    if (!k.transform_mismatch) sb.remote_lan = "198.18.0.0";
    Pair p(SiteA(), sb);
    if (k.transform_mismatch) {
      config::Config cb = MakeConfig(sb);
      cb.transform_sets["Trans1"].cipher = config::EspCipher::k3Des;
      p.b.SetConfig(cb);
    }
    const TimePoint t0 = p.sim.now();
    p.a.Initiate("green", 1);
    // MM6 reaches A at 30 ms (6 x 5 ms), QM1 reaches B at 35, its notify A at 40: A ends the
    // Quick Mode then.
    p.sim.RunFor(Seconds(30));
    EXPECT_TRUE(p.a.ChildSas().empty());
    EXPECT_TRUE(p.b.ChildSas().empty());
    const auto give_up = OfKind(p.a.events(), ike::EventKind::kGiveUp);
    ASSERT_THAT(give_up, SizeIs(1));
    EXPECT_EQ(give_up[0].at, t0 + Millis(40));
    EXPECT_EQ(p.a.counters().retransmits, 0u);
    ASSERT_THAT(p.a.IsakmpSas(), SizeIs(1));
    EXPECT_EQ(p.a.IsakmpSas()[0].state, "QM_IDLE");  // phase 1 stays
    bool logged = false;
    for (const auto& e : OfKind(p.b.events(), ike::EventKind::kLog))
      logged |= e.text.find("IKMP_MODE_FAILURE") != std::string::npos &&
                e.text.find(k.b_log) != std::string::npos;
    EXPECT_TRUE(logged);
  }
}

// A kept-up entry whose Quick Mode was refused is tried again every 10 s on the same ISAKMP
// SA (kKeepUpQuickModeRetry), and comes up once the peer accepts.
TEST(Establish, KeptUpEntryRetriesARefusedQuickModeEvery10s) {
  SiteSpec sa = SiteA();
  sa.keep_up = true;
  const SiteSpec sb = SiteB();
  config::Config refusing = MakeConfig(sb);
  refusing.transform_sets["Trans1"].cipher = config::EspCipher::k3Des;
  Pair p(sa, sb);
  p.b.SetConfig(refusing);
  const TimePoint t0 = p.sim.now();
  p.sim.RunFor(Seconds(25));
  EXPECT_TRUE(p.a.ChildSas().empty());
  std::vector<Duration> at;
  for (const auto& e : OfKind(p.a.events(), ike::EventKind::kGiveUp)) at.push_back(e.at - t0);
  // Refused at 40 ms; each retry 10 s after the last refusal, refused 10 ms later (QM1 and
  // the notify over the 5 ms link).
  EXPECT_THAT(at, ::testing::ElementsAre(Millis(40), Millis(10050), Millis(20060)));
  EXPECT_EQ(p.a.counters().retransmits, 0u);
  ASSERT_THAT(p.a.IsakmpSas(), SizeIs(1));  // one ISAKMP SA throughout
  // B now accepts: the next retry (30.060 s) brings the IPsec SAs up, QM2 back at 30.070.
  p.b.SetConfig(MakeConfig(sb));
  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.a); }, t0 + Seconds(40)));
  EXPECT_EQ(p.sim.now(), t0 + Millis(30070));
}

TEST(Establish, ClearBringsAKeptUpTunnelBack) {
  SiteSpec sa = SiteA();
  sa.keep_up = true;
  Pair p(sa, SiteB());
  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.b); }, p.sim.now() + Seconds(5)));
  const uint32_t old_spi = p.b.ChildSas()[0].spi_in;
  p.a.Clear(ike::ClearFilter{});
  // B got the Deletes; A came back at once with a new SA.
  ASSERT_TRUE(p.sim.RunUntil(
      [&] { return HasChild(p.b) && p.b.ChildSas()[0].spi_in != old_spi; },
      p.sim.now() + Seconds(5)));
  EXPECT_THAT(p.b.IsakmpSas(), SizeIs(1));
}

// Forced UDP encapsulation (strongSwan's kernel-libipsec needs it): both sides float to 4500
// after MM4, the IPsec SAs are UDP-encapsulated, and `crypto isakmp nat keepalive 20` sends
// a 0xFF byte every 20 s.
TEST(Establish, ForcedEncapsulationFloatsTo4500AndSendsNatKeepalives) {
  config::Config ca = MakeConfig(SiteA());
  ca.force_encapsulation = true;
  ca.nat_keepalive_s = 20;
  Pair p(SiteA(), SiteB());
  p.a.SetConfig(ca);
  const TimePoint t0 = p.sim.now();
  p.a.Initiate("green", 1);
  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); }, t0 + Seconds(5)));
  EXPECT_TRUE(p.a.IsakmpSas()[0].nat_t);
  EXPECT_TRUE(p.b.IsakmpSas()[0].nat_t);
  EXPECT_EQ(p.a.IsakmpSas()[0].remote.port, 4500);
  EXPECT_TRUE(p.a.ChildSas()[0].udp_encap);
  EXPECT_TRUE(p.b.ChildSas()[0].udp_encap);
  // MM5 onwards on 4500 with the non-ESP marker.
  int on_4500 = 0;
  std::vector<TimePoint> keepalives;
  for (const auto& r : p.sim.packets()) {
    if (r.fate != sim::PacketFate::kSent) continue;
    if (r.datagram.remote.port == 4500) {
      ++on_4500;
      if (r.datagram.data == Bytes{0xff}) keepalives.push_back(r.at);
      else EXPECT_EQ(r.datagram.data[0] | r.datagram.data[1] | r.datagram.data[2] | r.datagram.data[3], 0);
    }
  }
  EXPECT_EQ(on_4500, 5);  // MM5, MM6, QM1, QM2, QM3
  const TimePoint up = OfKind(p.a.events(), ike::EventKind::kIkeSaUp).front().at;
  p.sim.RunFor(Seconds(61));
  keepalives.clear();
  for (const auto& r : p.sim.packets())
    if (r.fate == sim::PacketFate::kSent && r.datagram.data == Bytes{0xff} &&
        r.datagram.local.ip == Ip("192.0.2.1"))
      keepalives.push_back(r.at);
  EXPECT_THAT(keepalives, ::testing::ElementsAre(up + Seconds(20), up + Seconds(40), up + Seconds(60)));
}

}  // namespace
}  // namespace ikepulse::scenario
