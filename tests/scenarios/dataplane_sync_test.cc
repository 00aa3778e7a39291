// The data plane's incremental sync against the engine: a daemon-like host notes every event
// in a dataplane::ChildSaChanges and applies only the pairs it names (SaDb::Update,
// TunRouteSet::Upsert/Remove); a second SaDb gets a full Sync of Node::ChildSas after each
// step. Through setup, IPsec SA rekeys, ISAKMP re-establishment (re-homed pairs: kIkeSaUp on
// the side that re-establishes, a peer ISAKMP Delete on the other), `clear crypto session`
// and `clear crypto sa`, both sides' incremental state stays the full Sync's.
#include <gtest/gtest.h>

#include <tuple>

#include "dataplane/child_changes.h"
#include "dataplane/policy.h"
#include "dataplane/sa_db.h"
#include "scenarios/scenario_util.h"

namespace ikepulse::scenario {
namespace {

struct Pair {
  sim::Simulator sim{7};
  sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
  sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
  sim::Link& link = sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
};

using PairState = std::tuple<uint32_t, uint32_t, uint64_t, ike::SaId, Endpoint, Endpoint>;

std::vector<PairState> StateOf(const dataplane::SaDb& db) {
  std::vector<PairState> out;
  for (const dataplane::ChildSa* sa : db.All())
    out.emplace_back(sa->spi_in(), sa->spi_out(), sa->generation, sa->ike_sa, sa->local,
                     sa->remote);
  return out;
}

// One side's host: the incremental data plane and, beside it, a full Sync for reference.
struct Host {
  const char* name;
  const sim::SimNode& node;
  config::Config cfg;
  size_t seen = 0;  // events handled
  dataplane::ChildSaChanges changes;
  dataplane::SaDb inc, full;
  dataplane::TunRouteSet routes;
  size_t updates = 0, rehomed = 0;

  Host(const char* label, const sim::SimNode& n, config::Config c)
      : name(label), node(n), cfg(std::move(c)) {
    routes.Reset(cfg, {});
  }

  void Step(TimePoint now) {
    const auto& ev = node.events();
    bool any = false;
    for (; seen < ev.size(); ++seen) any |= changes.Note(ev[seen], node.node(), inc);
    if (any) {
      std::vector<ike::ChildSaSnapshot> changed;
      std::vector<uint32_t> removed;
      changes.Resolve(node.node(), now, changed, removed);
      for (const auto& s : changed) {
        const dataplane::ChildSa* old = inc.FindInbound(s.spi_in);
        rehomed += old && old->ike_sa != s.ike_sa;
      }
      (void)inc.Update(changed, removed);
      std::vector<dataplane::TunRoute> touched;
      for (uint32_t spi : removed) routes.Remove(spi, touched);
      for (const auto& s : changed) routes.Upsert(s, touched);
      ++updates;
    }
    const std::vector<ike::ChildSaSnapshot> all = node.node().ChildSas(now, ike::SnapshotKeys::kInclude);
    (void)full.Sync(all);
    ASSERT_EQ(StateOf(inc), StateOf(full)) << name << " at " << ToMicros(now);
    ASSERT_EQ(routes.Wanted(), dataplane::TunRoutes(cfg, all)) << name;
  }
};

TEST(DataplaneSync, IncrementalUpdatesMatchAFullSyncThroughRekeysReestablishmentAndClears) {
  SiteSpec sa = SiteA(), sb = SiteB();
  sa.keep_up = true;
  sa.group = sb.group = 19;
  sa.isakmp_lifetime_s = sb.isakmp_lifetime_s = 600;
  sa.ipsec_lifetime_s = sb.ipsec_lifetime_s = 200;
  Pair p;
  p.a.SetConfig(MakeConfig(sa));
  p.b.SetConfig(MakeConfig(sb));
  Host ha("A", p.a, MakeConfig(sa)), hb("B", p.b, MakeConfig(sb));
  auto run = [&](Duration d) {
    const TimePoint end = p.sim.now() + d;
    while (p.sim.now() < end) {
      p.sim.RunFor(Millis(5));
      ha.Step(p.sim.now());
      hb.Step(p.sim.now());
      if (::testing::Test::HasFatalFailure()) return;
    }
  };
  run(Seconds(700));  // up, IPsec rekeys every ~170 s, ISAKMP re-establishment at ~540 s
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_GE(OfKind(p.a.events(), ike::EventKind::kIkeSaUp).size(), 2u);
  EXPECT_GT(ha.rehomed, 0u) << "A re-homes on its re-establishment (kIkeSaUp)";
  EXPECT_GT(hb.rehomed, 0u) << "B re-homes on A's ISAKMP Delete (kIkeSaDown)";
  EXPECT_GT(ha.inc.size(), 0u);
  p.a.Clear(ike::ClearFilter{});  // keep-up: comes straight back
  run(Seconds(5));
  ike::ClearFilter ipsec_only;
  ipsec_only.ipsec_only = true;
  p.b.Clear(ipsec_only);
  run(Seconds(60));
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_GT(ha.updates, 5u);
  EXPECT_GT(hb.updates, 5u);
}

// ESP AES-GCM-16 end to end in both IKE versions, each side initiating: the transform set
// `esp-gcm` / `esp-gcm 256` is negotiated, each side's KEYMAT gives key + salt (20 / 36
// bytes) and no integrity key, the SA databases build AES-GCM pairs, and a packet
// encapsulated by one side's outbound SA decapsulates at the other's inbound SA (and a
// replay of it is refused).
TEST(EspGcmEndToEnd, BothIkeVersionsBothInitiators) {
  for (bool v2 : {false, true}) {
    for (auto cipher : {config::EspCipher::kAesGcm128, config::EspCipher::kAesGcm256}) {
      for (bool a_initiates : {true, false}) {
        SCOPED_TRACE(std::string(v2 ? "IKEv2 " : "IKEv1 ") +
                     (cipher == config::EspCipher::kAesGcm128 ? "esp-gcm" : "esp-gcm 256") +
                     (a_initiates ? ", A initiates" : ", B initiates"));
        sim::Simulator sim{7};
        sim::SimNode a{sim, "A", {Ip("192.0.2.1")}, 11};
        sim::SimNode b{sim, "B", {Ip("192.0.2.2")}, 22};
        sim.Connect(Ip("192.0.2.1"), Ip("192.0.2.2"), Millis(5));
        auto cfg = [&](const SiteSpec& site) {
          config::Config c = MakeConfig(site);
          for (auto& [name, ts] : c.transform_sets) {
            ts.cipher = cipher;
            ts.auth = config::EspAuth::kNone;
          }
          if (v2) AddFlex(c, site.peers, site.psk);
          return c;
        };
        a.SetConfig(cfg(SiteA()));
        b.SetConfig(cfg(SiteB()));
        (a_initiates ? a : b).Initiate("green", 1);
        ASSERT_TRUE(sim.RunUntil([&] { return HasChild(a) && HasChild(b); },
                                 sim.now() + Seconds(5)));
        const auto ca = a.ChildSasWithKeys(), cb = b.ChildSasWithKeys();
        ASSERT_EQ(ca.size(), 1u);
        ASSERT_EQ(cb.size(), 1u);
        const size_t key_len = cipher == config::EspCipher::kAesGcm128 ? 20 : 36;
        for (const auto* c : {&ca[0], &cb[0]}) {
          EXPECT_EQ(c->cipher, cipher);
          EXPECT_EQ(c->auth, config::EspAuth::kNone);
          EXPECT_EQ(c->enc_key_in.size(), key_len);
          EXPECT_EQ(c->enc_key_out.size(), key_len);
          EXPECT_TRUE(c->auth_key_in.empty());
          EXPECT_TRUE(c->auth_key_out.empty());
        }
        EXPECT_EQ(ca[0].spi_out, cb[0].spi_in);
        EXPECT_TRUE(ca[0].enc_key_out == cb[0].enc_key_in);
        EXPECT_TRUE(ca[0].enc_key_in == cb[0].enc_key_out);
        dataplane::SaDb da, db;
        EXPECT_EQ(da.Sync(ca).added, 1u);
        EXPECT_EQ(db.Sync(cb).added, 1u);
        dataplane::ChildSa* sa = da.FindInbound(ca[0].spi_in);
        dataplane::ChildSa* sb = db.FindInbound(cb[0].spi_in);
        ASSERT_NE(sa, nullptr);
        ASSERT_NE(sb, nullptr);
        ASSERT_TRUE(sa->out.crypto->aead());
        const Bytes inner = HexOrDie("4500001c00010000400100007f0000017f0000010800f7ff00000000");
        SeededRandom rng(1);
        for (auto [from, to] : {std::pair{sa, sb}, std::pair{sb, sa}}) {
          auto pkt = dataplane::Encapsulate(from->out, 1, inner, rng);
          ASSERT_TRUE(pkt.has_value());
          auto d = dataplane::Decapsulate(to->in, *pkt);
          ASSERT_TRUE(d.has_value()) << d.error().detail;
          EXPECT_EQ(d->inner, inner);
          EXPECT_EQ(dataplane::Decapsulate(to->in, *pkt).error().code,
                    dataplane::EspErrorCode::kReplay);
        }
      }
    }
  }
}

}  // namespace
}  // namespace ikepulse::scenario
