#include "dataplane/sa_db.h"

#include <algorithm>
#include <array>

#include "crypto/crypto.h"

namespace ikepulse::dataplane {

std::optional<crypto::EspEncAlg> ToEspEncAlg(config::EspCipher c) {
  switch (c) {
    case config::EspCipher::kAes128: return crypto::EspEncAlg::kAes128Cbc;
    case config::EspCipher::kAes192: return crypto::EspEncAlg::kAes192Cbc;
    case config::EspCipher::kAes256: return crypto::EspEncAlg::kAes256Cbc;
    case config::EspCipher::k3Des: return crypto::EspEncAlg::k3DesCbc;
    case config::EspCipher::kNull: return crypto::EspEncAlg::kNull;
    case config::EspCipher::kAesGcm128: return crypto::EspEncAlg::kAes128Gcm16;
    case config::EspCipher::kAesGcm256: return crypto::EspEncAlg::kAes256Gcm16;
    case config::EspCipher::kNone: break;
  }
  return std::nullopt;
}

crypto::EspIntegAlg ToEspIntegAlg(config::EspAuth a) {
  switch (a) {
    case config::EspAuth::kMd5: return crypto::EspIntegAlg::kHmacMd5_96;
    case config::EspAuth::kSha1: return crypto::EspIntegAlg::kHmacSha1_96;
    case config::EspAuth::kSha256: return crypto::EspIntegAlg::kHmacSha256_128;
    case config::EspAuth::kSha384: return crypto::EspIntegAlg::kHmacSha384_192;
    case config::EspAuth::kSha512: return crypto::EspIntegAlg::kHmacSha512_256;
    case config::EspAuth::kNone: break;
  }
  return crypto::EspIntegAlg::kNone;
}

void SaDb::Refresh(ChildSa& sa, const ike::ChildSaSnapshot& s) {
  sa.ike_sa = s.ike_sa;
  sa.entry = EntryKey{s.map_name, s.map_seq};
  sa.local = s.local;
  sa.remote = s.remote;
  sa.udp_encap = s.udp_encap;
  sa.local_net = s.local_net;
  sa.local_mask = s.local_mask;
  sa.remote_net = s.remote_net;
  sa.remote_mask = s.remote_mask;
  sa.protocol = s.protocol;
  sa.lifetime_kb = s.lifetime_kb;
}

std::unique_ptr<ChildSa> SaDb::Build(const ike::ChildSaSnapshot& s) {
  const auto enc = ToEspEncAlg(s.cipher);
  if (!enc || s.spi_in == 0 || s.spi_out == 0 || s.keys_handed_over) return nullptr;
  const auto integ = ToEspIntegAlg(s.auth);
  auto in = EspSa::Create(s.spi_in, *enc, s.enc_key_in.span(), integ, s.auth_key_in.span());
  auto out = EspSa::Create(s.spi_out, *enc, s.enc_key_out.span(), integ, s.auth_key_out.span());
  if (!in || !out) return nullptr;
  auto sa = std::make_unique<ChildSa>();
  Refresh(*sa, s);
  sa->in = std::move(*in);
  sa->out = std::move(*out);
  return sa;
}

// SHA-256(len | enc_in | len | auth_in | len | enc_out | len | auth_out), lengths as 4 bytes.
Bytes SaDb::KeyDigest(const ike::ChildSaSnapshot& s) {
  auto len = [](const SecretBytes& k) {
    const uint32_t n = static_cast<uint32_t>(k.size());
    return std::array<uint8_t, 4>{static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                                  static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  };
  const auto l1 = len(s.enc_key_in), l2 = len(s.auth_key_in), l3 = len(s.enc_key_out),
             l4 = len(s.auth_key_out);
  return crypto::Hash(crypto::HashAlg::kSha256,
                      {l1, s.enc_key_in.span(), l2, s.auth_key_in.span(), l3,
                       s.enc_key_out.span(), l4, s.auth_key_out.span()});
}

bool SaDb::Same(const Stored& st, const ike::ChildSaSnapshot& s) {
  // The same keys and SPIs: the pair is kept (with its replay windows and counters) even if
  // it moved to another ISAKMP SA (re-homed after a phase-1 rekey); Refresh updates that.
  // Keys already handed over (the engine wiped its copy) are the ones installed here: an
  // inbound SPI is ours and unique while its pair lives, so they cannot have changed.
  return st.spi_out == s.spi_out && st.cipher == s.cipher && st.auth == s.auth &&
         (s.keys_handed_over || st.key_digest == KeyDigest(s));
}

namespace {
// New pairs get generations in order of lifetime left (older first), so that among SAs
// first seen together the freshest is the current outbound one.
std::vector<const ike::ChildSaSnapshot*> ByLifetimeLeft(
    const std::vector<ike::ChildSaSnapshot>& snapshots) {
  std::vector<const ike::ChildSaSnapshot*> order;
  order.reserve(snapshots.size());
  for (const auto& s : snapshots) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->lifetime_left_s < b->lifetime_left_s;
  });
  return order;
}
}  // namespace

SaDb::SyncReport SaDb::Sync(const std::vector<ike::ChildSaSnapshot>& snapshots) {
  SyncReport report;
  std::map<uint32_t, Stored> next;
  for (const auto* s : ByLifetimeLeft(snapshots)) {
    if (next.count(s->spi_in)) continue;  // duplicate inbound SPI: keep the first
    auto it = sas_.find(s->spi_in);
    if (it != sas_.end() && Same(it->second, *s)) {
      Refresh(*it->second.sa, *s);
      next.emplace(s->spi_in, std::move(it->second));
      sas_.erase(it);
      ++report.kept;
      continue;
    }
    auto sa = Build(*s);
    if (!sa) {
      ++report.rejected;
      continue;
    }
    sa->generation = next_generation_++;
    Stored st{std::move(sa), s->spi_out, s->cipher, s->auth, KeyDigest(*s)};
    next.emplace(s->spi_in, std::move(st));
    ++report.added;
  }
  report.removed = sas_.size();
  sas_ = std::move(next);
  by_ike_.clear();
  for (const auto& [spi, st] : sas_) by_ike_.emplace(st.sa->ike_sa, spi);
  RebuildIndex();
  return report;
}

void SaDb::IndexAdd(ChildSa* sa) {
  std::vector<ChildSa*>& v = by_entry_[sa->entry];
  // Usually appended (a new pair has the largest generation); a re-indexed kept pair may
  // belong further back.
  auto pos = std::upper_bound(v.begin(), v.end(), sa->generation,
                              [](uint64_t g, const ChildSa* x) { return g < x->generation; });
  v.insert(pos, sa);
}

void SaDb::IndexRemove(ChildSa* sa) {
  auto it = by_entry_.find(sa->entry);
  if (it == by_entry_.end()) return;
  std::vector<ChildSa*>& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), sa), v.end());
  if (v.empty()) by_entry_.erase(it);
}

void SaDb::RebuildIndex() {
  by_entry_.clear();
  for (const auto& [spi, st] : sas_) by_entry_[st.sa->entry].push_back(st.sa.get());
  for (auto& [key, v] : by_entry_)
    std::sort(v.begin(), v.end(),
              [](const ChildSa* a, const ChildSa* b) { return a->generation < b->generation; });
}

bool SaDb::Add(const ike::ChildSaSnapshot& s) {
  auto sa = Build(s);
  if (!sa) return false;
  sa->generation = next_generation_++;
  by_ike_.emplace(s.ike_sa, s.spi_in);
  IndexAdd(sa.get());
  Stored st{std::move(sa), s.spi_out, s.cipher, s.auth, KeyDigest(s)};
  sas_.emplace(s.spi_in, std::move(st));
  return true;
}

void SaDb::Erase(std::map<uint32_t, Stored>::iterator it) {
  by_ike_.erase({it->second.sa->ike_sa, it->first});
  IndexRemove(it->second.sa.get());
  sas_.erase(it);
}

SaDb::SyncReport SaDb::Update(const std::vector<ike::ChildSaSnapshot>& changed,
                              std::span<const uint32_t> removed) {
  SyncReport report;
  for (uint32_t spi : removed) {
    auto it = sas_.find(spi);
    if (it == sas_.end()) continue;
    Erase(it);
    ++report.removed;
  }
  std::set<uint32_t> seen;
  for (const auto* s : ByLifetimeLeft(changed)) {
    if (!seen.insert(s->spi_in).second) continue;  // duplicate inbound SPI: keep the first
    auto it = sas_.find(s->spi_in);
    if (it != sas_.end()) {
      if (Same(it->second, *s)) {
        ChildSa* sa = it->second.sa.get();
        if (sa->ike_sa != s->ike_sa) {  // re-homed
          by_ike_.erase({sa->ike_sa, s->spi_in});
          by_ike_.emplace(s->ike_sa, s->spi_in);
        }
        if (sa->entry != EntryKey{s->map_name, s->map_seq}) {  // re-indexed under its new entry
          IndexRemove(sa);
          Refresh(*sa, *s);
          IndexAdd(sa);
        } else {
          Refresh(*sa, *s);
        }
        ++report.kept;
        continue;
      }
      Erase(it);  // rebuilt below, or gone if rejected (as Sync does)
      ++report.removed;
    }
    if (Add(*s)) {
      ++report.added;
    } else {
      ++report.rejected;
    }
  }
  return report;
}

std::vector<uint32_t> SaDb::InboundSpisOf(ike::SaId ike_sa) const {
  std::vector<uint32_t> out;
  for (auto it = by_ike_.lower_bound({ike_sa, 0}); it != by_ike_.end() && it->first == ike_sa;
       ++it)
    out.push_back(it->second);
  return out;
}

ChildSa* SaDb::FindInbound(uint32_t spi_in) {
  auto it = sas_.find(spi_in);
  return it == sas_.end() ? nullptr : it->second.sa.get();
}

ChildSa* SaDb::CurrentOutbound(const EntryKey& entry) {
  // The entry's pairs in ascending generation: the newest one not expired.
  auto it = by_entry_.find(entry);
  if (it == by_entry_.end()) return nullptr;
  for (auto sa = it->second.rbegin(); sa != it->second.rend(); ++sa)
    if (!(*sa)->expired) return *sa;
  return nullptr;
}

std::vector<const ChildSa*> SaDb::All() const {
  std::vector<const ChildSa*> out;
  for (const auto& [spi, st] : sas_) out.push_back(st.sa.get());
  return out;
}

LifetimeEvent SaDb::Check(ChildSa& sa) {
  if (sa.lifetime_kb == 0 || sa.expired) return LifetimeEvent::kNone;
  const uint64_t used = std::max(sa.stats.bytes_in, sa.stats.bytes_out);
  const uint64_t limit = sa.lifetime_kb * 1024;
  if (used >= limit) {
    sa.expired = true;
    return LifetimeEvent::kHard;
  }
  if (!sa.soft_reported && used >= limit / 10 * 9) {
    sa.soft_reported = true;
    return LifetimeEvent::kSoft;
  }
  return LifetimeEvent::kNone;
}

LifetimeEvent SaDb::RecordIn(ChildSa& sa, TimePoint now, size_t bytes) {
  ++sa.stats.pkts_in;
  sa.stats.bytes_in += bytes;
  sa.stats.last_in = now;
  return Check(sa);
}

LifetimeEvent SaDb::RecordOut(ChildSa& sa, TimePoint now, size_t bytes) {
  ++sa.stats.pkts_out;
  sa.stats.bytes_out += bytes;
  sa.stats.last_out = now;
  return Check(sa);
}

std::optional<uint32_t> SaDb::NextSeqOut(ChildSa& sa) {
  if (sa.last_seq_out == UINT32_MAX) {
    sa.expired = true;
    return std::nullopt;
  }
  return ++sa.last_seq_out;
}

}  // namespace ikepulse::dataplane
