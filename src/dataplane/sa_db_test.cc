// SaDb: sync keeps replay windows and sequence counters, rebuilds changed pairs, picks the
// newest outbound SA per entry, kilobyte lifetimes and sequence exhaustion.
#include "dataplane/sa_db.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ikepulse::dataplane
