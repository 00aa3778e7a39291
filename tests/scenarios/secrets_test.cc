// Key material lifetime: what an ISAKMP SA and its Quick Modes still hold once they are no
// longer negotiating (ike::Node::SecretsHeldBy, sizes only), and that `show` snapshots carry
// no keys.
//
// Timeline over a 5 ms link (t0 = A initiates): B gets MM3 at 15 ms (keys derived), MM5 at
// 25 ms (B established, MM6 sent); A gets MM6 at 30 ms (A established, QM1 sent); A installs
// its IPsec SA on QM2 at 40 ms, B on QM3 at 45 ms.
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

ike::SecretsHeld Held(const sim::SimNode& n) {
  auto sas = n.IsakmpSas();
  EXPECT_THAT(sas, SizeIs(1));
  if (sas.empty()) return {};
  auto h = n.node().SecretsHeldBy(sas[0].conn_id);
  EXPECT_TRUE(h.has_value());
  return h.value_or(ike::SecretsHeld{});
}

// An established ISAKMP SA keeps SKEYID_d (KEYMAT), SKEYID_a (phase-2 hashes), the encryption
// key and the base of phase-2 IVs; nothing else of Main Mode (AES-128, SHA-1, group 14).
void ExpectOnlyPhase2Keys(const ike::SecretsHeld& h, const char* who) {
  SCOPED_TRACE(who);
  EXPECT_EQ(h.skeyid_d, 20u);
  EXPECT_EQ(h.skeyid_a, 20u);
  EXPECT_EQ(h.enc_key, 16u);
  EXPECT_EQ(h.p1_last_block, 16u);
  EXPECT_FALSE(h.dh);
  EXPECT_EQ(h.psk, 0u);
  EXPECT_EQ(h.gxy, 0u);
  EXPECT_EQ(h.gxi, 0u);
  EXPECT_EQ(h.gxr, 0u);
  EXPECT_EQ(h.ni, 0u);
  EXPECT_EQ(h.nr, 0u);
  EXPECT_EQ(h.sai_b, 0u);
  EXPECT_EQ(h.skeyid, 0u);
  EXPECT_EQ(h.skeyid_e, 0u);
  EXPECT_EQ(h.p1_iv, 0u);
}

// A finished Quick Mode (kept 30 s to answer duplicates) keeps no nonce and no PFS value.
void ExpectFinishedQuickModeHoldsNoSecret(const ike::SecretsHeld& h, const char* who) {
  SCOPED_TRACE(who);
  EXPECT_EQ(h.quick_modes, 1u);
  EXPECT_EQ(h.qm_dh, 0u);
  EXPECT_EQ(h.qm_ni, 0u);
  EXPECT_EQ(h.qm_nr, 0u);
  EXPECT_EQ(h.qm_peer_ke, 0u);
}

TEST(Secrets, EstablishedSasHoldOnlyWhatPhase2Needs) {
  SiteSpec sa = SiteA(), sb = SiteB();
  sa.pfs = sb.pfs = 14;
  Pair p(sa, sb);
  const TimePoint t0 = p.sim.now();
  p.a.Initiate("green", 1);

  // B has derived the keys from MM3: the PSK copy, g^xy and SKEYID_e are gone already;
  // SKEYID and the values HASH_I/HASH_R cover are still needed for MM5.
  p.sim.RunUntil(t0 + Millis(17));
  {
    const ike::SecretsHeld h = Held(p.b);
    EXPECT_EQ(h.psk, 0u);
    EXPECT_EQ(h.gxy, 0u);
    EXPECT_EQ(h.skeyid_e, 0u);
    EXPECT_FALSE(h.dh);
    EXPECT_EQ(h.skeyid, 20u);
    EXPECT_EQ(h.enc_key, 16u);
    EXPECT_EQ(h.gxi, 256u);
    EXPECT_EQ(h.gxr, 256u);
    EXPECT_GT(h.sai_b, 0u);
    EXPECT_GT(h.p1_rtx_packet, 0u);  // MM4, for a duplicate MM3
  }

  ASSERT_TRUE(p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); }, t0 + Seconds(5)));
  ASSERT_EQ(p.sim.now(), t0 + Millis(45));
  const ike::SecretsHeld ha = Held(p.a), hb = Held(p.b);
  ExpectOnlyPhase2Keys(ha, "initiator");
  ExpectOnlyPhase2Keys(hb, "responder");
  ExpectFinishedQuickModeHoldsNoSecret(ha, "initiator");
  ExpectFinishedQuickModeHoldsNoSecret(hb, "responder");
  // The responder still has MM6 to answer a duplicate MM5; the initiator has nothing to resend.
  EXPECT_GT(hb.p1_rtx_packet, 0u);
  EXPECT_EQ(ha.p1_rtx_packet, 0u);

  // 30 s after establishment the last Main Mode reply and digest go, and so do the finished
  // Quick Modes; the phase-2 keys stay.
  p.sim.RunUntil(t0 + Millis(25) + Seconds(30) - Micros(1));
  EXPECT_GT(Held(p.b).p1_rtx_packet, 0u);
  EXPECT_TRUE(Held(p.b).main_mode_state);
  p.sim.RunUntil(t0 + Millis(30) + Seconds(30));
  for (const sim::SimNode* n : {&p.a, &p.b}) {
    const ike::SecretsHeld h = Held(*n);
    ExpectOnlyPhase2Keys(h, n == &p.a ? "initiator, later" : "responder, later");
    EXPECT_EQ(h.p1_rtx_packet, 0u);
    EXPECT_EQ(h.p1_last_rx_hash, 0u);
    // The Main Mode block itself is released: an established SA does not carry it.
    EXPECT_FALSE(h.main_mode_state);
  }
  p.sim.RunUntil(t0 + Millis(45) + Seconds(30));
  EXPECT_EQ(Held(p.a).quick_modes, 0u);
  EXPECT_EQ(Held(p.b).quick_modes, 0u);
  // Still up, and nothing went wrong on the way.
  EXPECT_TRUE(HasChild(p.a) && HasChild(p.b));
  EXPECT_EQ(p.a.counters().dropped + p.b.counters().dropped, 0u);
}

TEST(Secrets, ShowSnapshotsCarryNoKeysOnlyTheDataPlaneGetsThem) {
  Pair p(SiteA(), SiteB());
  p.a.Initiate("green", 1);
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); }, p.sim.now() + Seconds(5)));
  for (const sim::SimNode* n : {&p.a, &p.b}) {
    // What `show crypto ipsec sa` reads: ChildSas(now) with the default kOmit.
    const auto show = n->node().ChildSas(p.sim.now());
    ASSERT_THAT(show, SizeIs(1));
    EXPECT_TRUE(show[0].enc_key_in.empty());
    EXPECT_TRUE(show[0].auth_key_in.empty());
    EXPECT_TRUE(show[0].enc_key_out.empty());
    EXPECT_TRUE(show[0].auth_key_out.empty());
    const uint32_t spi = show[0].spi_in;
    const auto show_one = n->node().ChildSas(p.sim.now(), std::span<const uint32_t>(&spi, 1));
    ASSERT_THAT(show_one, SizeIs(1));
    EXPECT_TRUE(show_one[0].enc_key_in.empty() && show_one[0].auth_key_out.empty());
    // The data plane's install path asks for them.
    const auto dp = n->node().ChildSas(p.sim.now(), ike::SnapshotKeys::kInclude);
    ASSERT_THAT(dp, SizeIs(1));
    EXPECT_EQ(dp[0].enc_key_in.size(), 16u);
    EXPECT_EQ(dp[0].auth_key_in.size(), 20u);
    EXPECT_EQ(dp[0].enc_key_out.size(), 16u);
    EXPECT_EQ(dp[0].auth_key_out.size(), 20u);
  }
}

// The data plane keeps the only copy of the IPsec keys: once it has installed a pair and
// said so, the engine wipes its own, and snapshots (even for the install path) carry none.
TEST(Secrets, ChildKeysLeaveTheEngineOnceTheDataPlaneHasThem) {
  Pair p(SiteA(), SiteB());
  p.a.Initiate("green", 1);
  ASSERT_TRUE(
      p.sim.RunUntil([&] { return HasChild(p.a) && HasChild(p.b); }, p.sim.now() + Seconds(5)));
  sim::SimNode& n = p.a;
  EXPECT_EQ(Held(n).child_keys, 2u * (16 + 20));
  const auto dp = n.node().ChildSas(p.sim.now(), ike::SnapshotKeys::kInclude);
  ASSERT_THAT(dp, SizeIs(1));
  EXPECT_FALSE(dp[0].keys_handed_over);
  const uint32_t spi = dp[0].spi_in;
  n.node().HandOverChildKeys(std::span<const uint32_t>(&spi, 1));
  EXPECT_EQ(Held(n).child_keys, 0u);
  const auto again = n.node().ChildSas(p.sim.now(), ike::SnapshotKeys::kInclude);
  ASSERT_THAT(again, SizeIs(1));
  EXPECT_TRUE(again[0].keys_handed_over);
  EXPECT_TRUE(again[0].enc_key_in.empty() && again[0].auth_key_in.empty() &&
              again[0].enc_key_out.empty() && again[0].auth_key_out.empty());
  // The SA itself goes on: DPD, show and the rest do not need the keys.
  p.sim.RunFor(Seconds(60));
  EXPECT_TRUE(HasChild(p.a) && HasChild(p.b));
}

}  // namespace
}  // namespace ikepulse::scenario
