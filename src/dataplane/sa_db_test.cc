// SaDb: sync keeps replay windows and sequence counters, rebuilds changed pairs, picks the
// newest outbound SA per entry, kilobyte lifetimes and sequence exhaustion; the incremental
// Update gives the same state as a full Sync.
#include "dataplane/sa_db.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "dataplane/dataplane_test_util.h"

namespace ikepulse::dataplane {
namespace {

using testing::AesSha1Sas;

const EntryKey kGreen{"green", 10};

TEST(SaDbTest, SyncKeepsStateOfUnchangedPairs) {
  SeededRandom rng(1);
  auto p = AesSha1Sas(rng);
  SaDb db;
  auto r = db.Sync({p.a});
  EXPECT_EQ(r.added, 1u);
  ChildSa* sa = db.FindInbound(p.a.spi_in);
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->spi_out(), p.a.spi_out);
  EXPECT_EQ(*db.NextSeqOut(*sa), 1u);
  EXPECT_EQ(*db.NextSeqOut(*sa), 2u);
  sa->in.replay.Accept(42);
  (void)db.RecordOut(*sa, FromMicros(5), 100);

  // Same pair again, with a floated endpoint: state kept, endpoint refreshed.
  ike::ChildSaSnapshot moved = p.a;
  moved.remote.port = 30000;
  r = db.Sync({moved});
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.added, 0u);
  sa = db.FindInbound(p.a.spi_in);
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->remote.port, 30000);
  EXPECT_EQ(sa->in.replay.top(), 42u);
  EXPECT_EQ(*db.NextSeqOut(*sa), 3u);
  EXPECT_EQ(sa->stats.bytes_out, 100u);

  // Different keys under the same SPI: rebuilt from scratch.
  ike::ChildSaSnapshot rekeyed = p.a;
  rekeyed.enc_key_out = SecretBytes(Bytes(16, 7));
  r = db.Sync({rekeyed});
  EXPECT_EQ(r.added, 1u);
  sa = db.FindInbound(p.a.spi_in);
  EXPECT_EQ(sa->in.replay.top(), 0u);
  EXPECT_EQ(*db.NextSeqOut(*sa), 1u);

  r = db.Sync({});
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(db.FindInbound(p.a.spi_in), nullptr);
  EXPECT_EQ(db.size(), 0u);
}

TEST(SaDbTest, RejectsUnsupportedOrBadKeys) {
  SeededRandom rng(2);
  auto p = AesSha1Sas(rng);
  ike::ChildSaSnapshot none = p.a;
  none.cipher = config::EspCipher::kNone;
  ike::ChildSaSnapshot short_key = p.a;
  short_key.spi_in += 1;
  short_key.auth_key_in = SecretBytes(Bytes(12));
  ike::ChildSaSnapshot zero_spi = p.a;
  zero_spi.spi_in = 0;
  SaDb db;
  auto r = db.Sync({none, short_key, zero_spi});
  EXPECT_EQ(r.rejected, 3u);
  EXPECT_EQ(db.size(), 0u);
}

TEST(SaDbTest, CurrentOutboundIsTheNewestPerEntry) {
  SeededRandom rng(3);
  auto old_sa = AesSha1Sas(rng).a;
  auto new_sa = AesSha1Sas(rng).a;
  auto other = AesSha1Sas(rng).a;
  other.map_seq = 20;
  SaDb db;
  (void)db.Sync({old_sa});
  EXPECT_EQ(db.CurrentOutbound(kGreen)->spi_out(), old_sa.spi_out);
  // The rekeyed SA appears (its snapshot may sort first): it becomes current.
  (void)db.Sync({new_sa, old_sa, other});
  EXPECT_EQ(db.CurrentOutbound(kGreen)->spi_out(), new_sa.spi_out);
  EXPECT_EQ(db.CurrentOutbound(EntryKey{"green", 20})->spi_out(), other.spi_out);
  EXPECT_EQ(db.CurrentOutbound(EntryKey{"green", 30}), nullptr);
  // The old one still receives.
  EXPECT_NE(db.FindInbound(old_sa.spi_in), nullptr);

  // First seen together (a restart): the one with more lifetime left wins.
  SaDb db2;
  old_sa.lifetime_left_s = 100;
  new_sa.lifetime_left_s = 3500;
  (void)db2.Sync({new_sa, old_sa});
  EXPECT_EQ(db2.CurrentOutbound(kGreen)->spi_out(), new_sa.spi_out);
  SaDb db3;
  (void)db3.Sync({old_sa, new_sa});
  EXPECT_EQ(db3.CurrentOutbound(kGreen)->spi_out(), new_sa.spi_out);
}

TEST(SaDbTest, KilobyteLifetimeSoftThenHard) {
  SeededRandom rng(4);
  auto s = AesSha1Sas(rng).a;
  s.lifetime_kb = 10;  // 10240 bytes: soft at 9216, hard at 10240
  SaDb db;
  (void)db.Sync({s});
  ChildSa* sa = db.FindInbound(s.spi_in);
  const TimePoint t = FromMicros(1);
  EXPECT_EQ(db.RecordOut(*sa, t, 9000), LifetimeEvent::kNone);
  EXPECT_EQ(db.RecordIn(*sa, t, 9215), LifetimeEvent::kNone);
  EXPECT_EQ(db.RecordIn(*sa, t, 1), LifetimeEvent::kSoft);
  EXPECT_EQ(db.RecordOut(*sa, t, 100), LifetimeEvent::kNone);  // reported once
  EXPECT_NE(db.CurrentOutbound(kGreen), nullptr);
  EXPECT_EQ(db.RecordOut(*sa, t, 1140), LifetimeEvent::kHard);
  EXPECT_TRUE(sa->expired);
  EXPECT_EQ(db.CurrentOutbound(kGreen), nullptr);
  EXPECT_EQ(db.RecordOut(*sa, t, 1), LifetimeEvent::kNone);
  EXPECT_EQ(sa->stats.pkts_out, 4u);
  EXPECT_EQ(sa->stats.last_out, t);
  // Zero = no volume limit.
  s.lifetime_kb = 0;
  s.spi_in += 1;
  (void)db.Sync({s});
  sa = db.FindInbound(s.spi_in);
  EXPECT_EQ(db.RecordOut(*sa, t, uint64_t{1} << 40), LifetimeEvent::kNone);
}

TEST(SaDbTest, SequenceNumbersNeverWrap) {
  SeededRandom rng(5);
  auto s = AesSha1Sas(rng).a;
  SaDb db;
  (void)db.Sync({s});
  ChildSa* sa = db.FindInbound(s.spi_in);
  sa->last_seq_out = UINT32_MAX - 1;
  EXPECT_EQ(*db.NextSeqOut(*sa), UINT32_MAX);
  EXPECT_FALSE(db.NextSeqOut(*sa).has_value());
  EXPECT_TRUE(sa->expired);
  EXPECT_EQ(db.CurrentOutbound(kGreen), nullptr);
}

TEST(SaDbTest, UpdateAddsKeepsRebuildsAndRemoves) {
  SeededRandom rng(6);
  auto a = AesSha1Sas(rng).a;
  auto b = AesSha1Sas(rng).a;
  b.map_seq = 20;
  SaDb db;
  auto r = db.Update({a, b}, {});
  EXPECT_EQ(r.added, 2u);
  ChildSa* sa = db.FindInbound(a.spi_in);
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(*db.NextSeqOut(*sa), 1u);
  EXPECT_EQ(db.InboundSpisOf(1).size(), 2u);

  // Same pair (endpoint floated): kept with its state; b untouched.
  ike::ChildSaSnapshot moved = a;
  moved.remote.port = 30000;
  r = db.Update({moved}, {});
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.added + r.removed, 0u);
  sa = db.FindInbound(a.spi_in);
  EXPECT_EQ(sa->remote.port, 30000);
  EXPECT_EQ(*db.NextSeqOut(*sa), 2u);
  EXPECT_NE(db.FindInbound(b.spi_in), nullptr);

  // Re-homed onto IKE SA 2 (a phase-1 rekey): the same keys, so kept with its state (its
  // outbound sequence numbers go on: restarting them under the same key would replay), and
  // indexed under the new IKE SA.
  ike::ChildSaSnapshot rehomed = moved;
  rehomed.ike_sa = 2;
  r = db.Update({rehomed}, {});
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.added + r.removed, 0u);
  EXPECT_EQ(*db.NextSeqOut(*db.FindInbound(a.spi_in)), 3u);
  EXPECT_EQ(db.InboundSpisOf(1), std::vector<uint32_t>{b.spi_in});
  EXPECT_EQ(db.InboundSpisOf(2), std::vector<uint32_t>{a.spi_in});

  // Changed into something unsupported: the old pair goes, nothing replaces it.
  ike::ChildSaSnapshot bad = rehomed;
  bad.cipher = config::EspCipher::kNone;
  r = db.Update({bad}, {});
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(db.FindInbound(a.spi_in), nullptr);
  EXPECT_TRUE(db.InboundSpisOf(2).empty());

  const uint32_t unknown = b.spi_in + 1;
  r = db.Update({}, std::vector<uint32_t>{b.spi_in, unknown});
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(db.size(), 0u);
  EXPECT_TRUE(db.InboundSpisOf(1).empty());
}

// Once the engine has handed the keys over, its snapshots carry none: an installed pair is
// kept as it is (Sync and Update alike), and a pair the data plane does not hold cannot be
// built from such a snapshot.
TEST(SaDbTest, SnapshotsWithoutHandedOverKeysKeepInstalledPairs) {
  SeededRandom rng(8);
  auto a = AesSha1Sas(rng).a;
  auto b = AesSha1Sas(rng).a;
  b.map_seq = 20;
  SaDb db;
  ASSERT_EQ(db.Update({a}, {}).added, 1u);
  ASSERT_EQ(*db.NextSeqOut(*db.FindInbound(a.spi_in)), 1u);
  auto keyless = [](ike::ChildSaSnapshot s) {
    s.enc_key_in = s.auth_key_in = s.enc_key_out = s.auth_key_out = SecretBytes();
    s.keys_handed_over = true;
    return s;
  };
  auto r = db.Update({keyless(a)}, {});
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.added + r.removed + r.rejected, 0u);
  EXPECT_EQ(*db.NextSeqOut(*db.FindInbound(a.spi_in)), 2u);  // the same pair, state kept
  r = db.Sync({keyless(a), keyless(b)});
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.rejected, 1u);  // b was never installed: nothing to build it from
  EXPECT_EQ(db.FindInbound(b.spi_in), nullptr);
  EXPECT_EQ(*db.NextSeqOut(*db.FindInbound(a.spi_in)), 3u);
}

// What identifies a pair's state, for comparing two SaDbs.
using PairState = std::tuple<uint32_t, uint32_t, uint64_t, ike::SaId, std::string, uint32_t,
                             uint16_t, uint32_t, uint64_t, bool>;
std::vector<PairState> StateOf(const SaDb& db) {
  std::vector<PairState> out;
  for (const ChildSa* sa : db.All())
    out.emplace_back(sa->spi_in(), sa->spi_out(), sa->generation, sa->ike_sa,
                     sa->entry.map_name, sa->entry.seq, sa->remote.port, sa->last_seq_out,
                     sa->stats.bytes_out, sa->expired);
  return out;
}

// The engine's SA list in the randomized tests below, by inbound SPI, and what one step
// changed: Add/Changed/Remove record it, Delta gives what the daemon passes to SaDb::Update
// (the engine's current snapshot of each SPI touched, and the SPIs gone), All the full list.
struct EngineModel {
  std::map<uint32_t, ike::ChildSaSnapshot> sas;
  std::vector<ike::ChildSaSnapshot> changed;
  std::vector<uint32_t> removed;

  void BeginStep() {
    changed.clear();
    removed.clear();
  }
  // A new pair, unless its SPI is taken.
  void Add(const ike::ChildSaSnapshot& s) {
    if (sas.count(s.spi_in)) return;
    sas[s.spi_in] = s;
    changed.push_back(s);
  }
  std::map<uint32_t, ike::ChildSaSnapshot>::iterator Pick(Random& rng) {
    auto it = sas.begin();
    std::advance(it, rng.U32() % sas.size());
    return it;
  }
  void Remove(std::map<uint32_t, ike::ChildSaSnapshot>::iterator it) {
    removed.push_back(it->first);
    sas.erase(it);
  }
  void Changed(const ike::ChildSaSnapshot& s) { changed.push_back(s); }
  std::pair<std::vector<ike::ChildSaSnapshot>, std::vector<uint32_t>> Delta() const {
    std::map<uint32_t, bool> touched;
    for (const auto& s : changed) touched[s.spi_in] = true;
    std::vector<ike::ChildSaSnapshot> now_changed;
    std::vector<uint32_t> now_removed;
    for (const auto& [spi, t] : touched)
      if (sas.count(spi)) now_changed.push_back(sas.at(spi));
    for (uint32_t spi : removed)
      if (!sas.count(spi)) now_removed.push_back(spi);
    return {std::move(now_changed), std::move(now_removed)};
  }
  std::vector<ike::ChildSaSnapshot> All() const {
    std::vector<ike::ChildSaSnapshot> all;
    for (const auto& [spi, s] : sas) all.push_back(s);
    return all;
  }
};

// The engine's SA list changes at random (new pairs, rekeys in place, re-homes, floats,
// removals, unsupported pairs, several changes at once); one SaDb gets a full Sync of the
// whole list after each step, the other an Update with only what changed. Traffic between
// steps (sequence numbers, byte counts) goes to the same pairs in both.
TEST(SaDbTest, UpdateGivesTheSameStateAsSync) {
  SeededRandom rng(7);
  EngineModel engine;
  SaDb full, inc;
  size_t rounds_with_changes = 0;
  for (int step = 0; step < 400; ++step) {
    engine.BeginStep();
    const int n = 1 + static_cast<int>(rng.U32() % 4);
    for (int k = 0; k < n; ++k) {
      const uint32_t op = rng.U32() % 10;
      if (op < 4 || engine.sas.empty()) {  // a new pair
        auto s = AesSha1Sas(rng).a;
        s.ike_sa = 1 + rng.U32() % 3;
        s.map_seq = 10 * (1 + rng.U32() % 3);
        s.lifetime_left_s = rng.U32() % 3600;
        if (rng.U32() % 20 == 0) s.cipher = config::EspCipher::kNone;  // rejected
        engine.Add(s);
        continue;
      }
      auto it = engine.Pick(rng);
      ike::ChildSaSnapshot& s = it->second;
      if (op < 6) {  // removed
        engine.Remove(it);
      } else if (op == 6) {  // re-homed onto another IKE SA
        s.ike_sa = 1 + rng.U32() % 3;
        engine.Changed(s);
      } else if (op == 7) {  // endpoint floated
        s.remote.port = static_cast<uint16_t>(1024 + rng.U32() % 1000);
        engine.Changed(s);
      } else if (op == 8) {  // new keys under the same SPI
        s.enc_key_out = SecretBytes(Bytes(16, static_cast<uint8_t>(rng.U32())));
        engine.Changed(s);
      } else {  // reported changed, but nothing did
        engine.Changed(s);
      }
    }
    // What the daemon does: the SPIs touched, then the engine's current snapshot of each.
    auto [now_changed, now_removed] = engine.Delta();
    std::vector<ike::ChildSaSnapshot> all = engine.All();
    // The engine's list order (by IKE SA then SPI) for the full Sync, as Node::ChildSas.
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return std::tie(a.ike_sa, a.spi_in) < std::tie(b.ike_sa, b.spi_in);
    });
    std::sort(now_changed.begin(), now_changed.end(), [](const auto& a, const auto& b) {
      return std::tie(a.ike_sa, a.spi_in) < std::tie(b.ike_sa, b.spi_in);
    });
    const auto rf = full.Sync(all);
    const auto ri = inc.Update(now_changed, now_removed);
    EXPECT_EQ(rf.added, ri.added) << "step " << step;
    EXPECT_EQ(rf.removed, ri.removed) << "step " << step;
    rounds_with_changes += ri.added + ri.removed > 0;
    ASSERT_EQ(StateOf(full), StateOf(inc)) << "step " << step;
    for (uint32_t seq : {10u, 20u, 30u, 40u}) {
      ChildSa* f = full.CurrentOutbound(EntryKey{"green", seq});
      ChildSa* i = inc.CurrentOutbound(EntryKey{"green", seq});
      ASSERT_EQ(f == nullptr, i == nullptr);
      if (!f) continue;
      EXPECT_EQ(f->spi_in(), i->spi_in());
      // Traffic: the same on both.
      (void)full.NextSeqOut(*f);
      (void)inc.NextSeqOut(*i);
      (void)full.RecordOut(*f, FromMicros(step), 100);
      (void)inc.RecordOut(*i, FromMicros(step), 100);
    }
    for (ike::SaId id : {1, 2, 3}) {
      std::vector<uint32_t> want;
      for (const ChildSa* sa : full.All())
        if (sa->ike_sa == id) want.push_back(sa->spi_in());
      EXPECT_EQ(inc.InboundSpisOf(id), want);
    }
  }
  EXPECT_GT(rounds_with_changes, 300u);
  EXPECT_GT(full.size(), 10u);
}

// The straightforward CurrentOutbound: scan every pair, the largest generation among the
// entry's pairs not expired.
const ChildSa* OracleCurrentOutbound(const SaDb& db, const EntryKey& entry) {
  const ChildSa* best = nullptr;
  for (const ChildSa* sa : db.All()) {
    if (sa->expired || sa->entry != entry) continue;
    if (!best || sa->generation > best->generation) best = sa;
  }
  return best;
}

// The entry index gives the scan's answer for every entry after random Syncs and Updates:
// new pairs (several per entry, in several maps), removals, rekeys in place (rebuilt: a new
// generation), kept pairs moved to another crypto map entry, unsupported pairs, and pairs
// expiring by volume or sequence space between steps.
TEST(SaDbTest, EntryIndexMatchesTheScan) {
  SeededRandom rng(8);
  EngineModel engine;
  SaDb full, inc;
  std::vector<EntryKey> keys;
  for (const char* m : {"green", "blue"})
    for (uint32_t seq : {10u, 20u, 30u, 40u}) keys.push_back(EntryKey{m, seq});
  auto random_entry = [&](ike::ChildSaSnapshot& s) {
    const EntryKey& k = keys[rng.U32() % (keys.size() - 1)];  // the last one stays empty
    s.map_name = k.map_name;
    s.map_seq = k.seq;
  };
  size_t found = 0, moved = 0, expired = 0;
  for (int step = 0; step < 500; ++step) {
    engine.BeginStep();
    const int n = 1 + static_cast<int>(rng.U32() % 4);
    for (int k = 0; k < n; ++k) {
      const uint32_t op = rng.U32() % 10;
      if (op < 4 || engine.sas.empty()) {
        auto s = AesSha1Sas(rng).a;
        random_entry(s);
        s.lifetime_left_s = rng.U32() % 3600;
        s.lifetime_kb = rng.U32() % 4 == 0 ? 1 : 0;
        if (rng.U32() % 20 == 0) s.cipher = config::EspCipher::kNone;
        engine.Add(s);
        continue;
      }
      auto it = engine.Pick(rng);
      ike::ChildSaSnapshot& s = it->second;
      if (op < 6) {
        engine.Remove(it);
      } else if (op < 8) {  // same keys, another entry: kept, re-indexed
        random_entry(s);
        engine.Changed(s);
        ++moved;
      } else if (op == 8) {  // rekeyed in place: rebuilt
        s.enc_key_out = SecretBytes(Bytes(16, static_cast<uint8_t>(rng.U32())));
        engine.Changed(s);
      } else {
        engine.Changed(s);
      }
    }
    const auto [now_changed, now_removed] = engine.Delta();
    (void)full.Sync(engine.All());
    (void)inc.Update(now_changed, now_removed);
    for (SaDb* db : {&full, &inc}) {
      for (const EntryKey& k : keys) {
        const ChildSa* want = OracleCurrentOutbound(*db, k);
        ChildSa* got = db->CurrentOutbound(k);
        ASSERT_EQ(got, want) << "step " << step << " " << k.map_name << " " << k.seq;
        found += got != nullptr;
      }
      // Traffic: sometimes enough to expire the current SA of an entry.
      const EntryKey& k = keys[rng.U32() % keys.size()];
      if (ChildSa* sa = db->CurrentOutbound(k)) {
        if (rng.U32() % 4 == 0) {
          sa->last_seq_out = UINT32_MAX;
          (void)db->NextSeqOut(*sa);
        } else {
          (void)db->RecordOut(*sa, FromMicros(step), 600);
        }
        expired += sa->expired;
        ASSERT_EQ(db->CurrentOutbound(k), OracleCurrentOutbound(*db, k));
      }
    }
  }
  EXPECT_GT(found, 1000u);
  EXPECT_GT(moved, 100u);
  EXPECT_GT(expired, 50u);
}

// A kept pair that moves to another entry leaves the old entry's index and joins the new one,
// by Sync and by Update; removal takes it out of the index.
TEST(SaDbTest, EntryIndexFollowsMovesAndRemovals) {
  SeededRandom rng(9);
  auto a = AesSha1Sas(rng).a;
  for (bool incremental : {false, true}) {
    SaDb db;
    (void)(incremental ? db.Update({a}, {}) : db.Sync({a}));
    EXPECT_EQ(db.CurrentOutbound(kGreen)->spi_in(), a.spi_in);
    ike::ChildSaSnapshot moved = a;
    moved.map_seq = 20;
    const auto r = incremental ? db.Update({moved}, {}) : db.Sync({moved});
    EXPECT_EQ(r.kept, 1u);
    EXPECT_EQ(db.CurrentOutbound(kGreen), nullptr);
    ASSERT_NE(db.CurrentOutbound(EntryKey{"green", 20}), nullptr);
    EXPECT_EQ(db.CurrentOutbound(EntryKey{"green", 20})->spi_in(), a.spi_in);
    (void)(incremental ? db.Update({}, std::vector<uint32_t>{a.spi_in}) : db.Sync({}));
    EXPECT_EQ(db.CurrentOutbound(EntryKey{"green", 20}), nullptr);
  }
}

}  // namespace
}  // namespace ikepulse::dataplane
