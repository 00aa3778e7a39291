// Forger (see forger.h). Key schedule and hashes: RFC 2409 §5 (pre-shared keys), §5.5 (Quick
// Mode HASH(1)/(2)/(3)), §5.7 (Informational HASH(1)), Appendix B (IVs).
#include "forger.h"

#include <algorithm>
#include <utility>

#include "ike/protect.h"
#include "isakmp/payloads.h"

namespace ikepulse::fuzz {
namespace {

using isakmp::ExchangeType;

constexpr size_t kMaxSas = 64;
constexpr size_t kMaxExchanges = 256;

// The ISAKMP message inside a datagram: after the non-ESP marker, up to the header length.
std::optional<std::pair<isakmp::Header, ByteSpan>> Message(ByteSpan data) {
  if (data.size() >= 4 && !data[0] && !data[1] && !data[2] && !data[3]) data = data.subspan(4);
  auto h = isakmp::ParseHeader(data);
  if (!h) return std::nullopt;
  return std::make_pair(*h, data.first(h->length));
}

Bytes NonceOf(ByteSpan plain_or_body, isakmp::PayloadType first) {
  auto chain = isakmp::ParsePayloads(first, plain_or_body);
  if (!chain) return {};
  const auto* n = isakmp::Find<isakmp::NoncePayload>(*chain);
  return n ? n->data : Bytes{};
}

}  // namespace

Forger::Forger(std::string psk, crypto::HashAlg prf, crypto::CipherAlg cipher, uint16_t group)
    : psk_(std::move(psk)), prf_(prf), cipher_(cipher) {
  // Both nodes hold the same fixed key pair, so g^xy is that key with itself.
  auto dh = crypto::DhKeyPair::Generate(group);
  if (dh) {
    auto s = dh->ComputeShared(dh->public_value());
    if (s) gxy_ = std::move(*s);
  }
}

Forger::Phase1* Forger::FindSa(const isakmp::Cookie& icookie) {
  for (auto& p : sas_)
    if (p.icookie == icookie) return &p;
  return nullptr;
}

void Forger::Record(const IpAddress& from, ByteSpan data) {
  auto m = Message(data);
  if (!m) return;
  const isakmp::Header& h = m->first;
  const ByteSpan msg = m->second;
  Phase1* p = FindSa(h.icookie);
  if (h.exchange == ExchangeType::kIdentityProtection) {
    if (!p) {
      if (sas_.size() >= kMaxSas || h.rcookie != isakmp::Cookie{}) return;
      sas_.push_back(Phase1{});
      p = &sas_.back();
      p->icookie = h.icookie;
      p->initiator = from;
      return;
    }
    if (p->keys) return;  // complete
    if (h.rcookie != isakmp::Cookie{}) p->rcookie = h.rcookie;
    if (p->initiator != from) p->responder = from;
    if (!h.encrypted()) {
      Bytes n = NonceOf(msg.subspan(isakmp::kHeaderSize), h.next_payload);
      if (!n.empty()) (from == p->initiator ? p->ni : p->nr) = std::move(n);
      return;
    }
    const size_t bs = crypto::BlockSize(cipher_);
    if (from == p->initiator || msg.size() < isakmp::kHeaderSize + bs) return;
    // The responder's encrypted message is MM6: its last block seeds every phase-2 IV.
    p->last_block.assign(msg.end() - static_cast<ptrdiff_t>(bs), msg.end());
    if (p->ni.empty() || p->nr.empty() || gxy_.empty()) return;
    p->keys = crypto::DerivePhase1Psk(
        prf_, ByteSpan(reinterpret_cast<const uint8_t*>(psk_.data()), psk_.size()), p->ni, p->nr,
        gxy_.span(), p->icookie, p->rcookie, crypto::KeyLength(cipher_));
    complete_.push_back(static_cast<size_t>(p - sas_.data()));
    return;
  }
  if ((h.exchange != ExchangeType::kQuickMode && h.exchange != ExchangeType::kInformational) ||
      !h.encrypted() || !p || !p->keys) {
    return;
  }
  const size_t sa = static_cast<size_t>(p - sas_.data());
  Exchange* e = nullptr;
  for (auto& x : exchanges_)
    if (x.sa == sa && x.mid == h.message_id) e = &x;
  if (!e) {
    if (exchanges_.size() >= kMaxExchanges) return;
    exchanges_.push_back(Exchange{sa, h.message_id, h.exchange, {}, {}});
    e = &exchanges_.back();
  }
  for (const Bytes& old : e->messages)
    if (std::equal(old.begin(), old.end(), msg.begin(), msg.end())) return;  // retransmission
  if (e->messages.size() >= 8) return;
  e->messages.emplace_back(msg.begin(), msg.end());
  e->senders.push_back(from);
}

Bytes Forger::Cookies(size_t sa) const {
  if (complete_.empty()) return {};
  const Phase1& p = sas_[complete_[sa % complete_.size()]];
  Bytes out(p.icookie.begin(), p.icookie.end());
  out.insert(out.end(), p.rcookie.begin(), p.rcookie.end());
  return out;
}

std::vector<Bytes> Forger::Open(const Exchange& e, Bytes* iv) const {
  const Phase1& p = sas_[e.sa];
  *iv = crypto::Phase2Iv(prf_, p.last_block, e.mid, crypto::BlockSize(cipher_));
  std::vector<Bytes> plains;
  for (const Bytes& m : e.messages) {
    auto h = isakmp::ParseHeader(m);
    if (!h) break;
    Bytes last;
    auto plain = ike::OpenMessage(m, h->length, cipher_, p.keys->enc_key.span(), *iv, &last);
    if (!plain) break;
    plains.push_back(std::move(*plain));
    *iv = last;
  }
  return plains;
}

// hash_kind 1: prf(SKEYID_a, M-ID | covered)  (QM HASH(1), Informational HASH(1))
//           2: prf(SKEYID_a, M-ID | Ni_b | covered)                  (QM HASH(2))
//           3: prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)                  (QM HASH(3))
Bytes Forger::Seal(const Phase1& p, ExchangeType x, uint32_t mid, ByteSpan iv, uint8_t next,
                   ByteSpan tail, int hash_kind, ByteSpan ni, ByteSpan nr) {
  const size_t hlen = crypto::HashLength(prf_);
  const size_t len = isakmp::kGenericHeaderSize + hlen;
  Bytes plain = {next, 0, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  plain.resize(len, 0);
  plain.insert(plain.end(), tail.begin(), tail.end());
  // Cover exactly what the receiver will: the chain as it parses, padding excluded.
  auto chain = isakmp::ParsePayloads(isakmp::PayloadType::kHash, plain);
  const Bytes covered =
      chain ? ike::BytesCoveredByHash(*chain, plain) : Bytes(tail.begin(), tail.end());
  const ByteSpan skeyid_a = p.keys->skeyid_a.span();
  SecretBytes hash;
  if (hash_kind == 2) {
    hash = crypto::QuickModeHash2(prf_, skeyid_a, mid, ni, covered);
  } else if (hash_kind == 3) {
    hash = crypto::QuickModeHash3(prf_, skeyid_a, mid, ni, nr);
  } else if (x == ExchangeType::kQuickMode) {
    hash = crypto::QuickModeHash1(prf_, skeyid_a, mid, covered);
  } else {
    hash = crypto::InformationalHash(prf_, skeyid_a, mid, covered);
  }
  std::copy(hash.data(), hash.data() + std::min(hash.size(), hlen), plain.begin() + 4);
  isakmp::Header h;
  h.icookie = p.icookie;
  h.rcookie = p.rcookie;
  h.next_payload = isakmp::PayloadType::kHash;
  h.exchange = x;
  h.flags = isakmp::kFlagEncryption;
  h.message_id = mid;
  return ike::SealMessage(h, plain, cipher_, p.keys->enc_key.span(), iv, nullptr);
}

std::optional<Forged> Forger::NewExchange(size_t sa, bool from_initiator, ExchangeType x,
                                          uint32_t mid, uint8_t next, ByteSpan tail) {
  if (complete_.empty()) return std::nullopt;
  const Phase1& p = sas_[complete_[sa % complete_.size()]];
  const Bytes iv = crypto::Phase2Iv(prf_, p.last_block, mid, crypto::BlockSize(cipher_));
  Forged f{Seal(p, x, mid, iv, next, tail, 1, {}, {}), from_initiator ? p.responder : p.initiator};
  Record(from_initiator ? p.initiator : p.responder, f.data);
  return f;
}

std::optional<Forged> Forger::Continue(size_t index, uint8_t next, ByteSpan tail) {
  if (exchanges_.empty()) return std::nullopt;
  const Exchange& e = exchanges_[index % exchanges_.size()];
  Bytes iv;
  const std::vector<Bytes> plains = Open(e, &iv);
  if (plains.size() != e.messages.size()) return std::nullopt;
  Bytes ni, nr;
  if (!plains.empty()) ni = NonceOf(plains[0], isakmp::PayloadType::kHash);
  if (plains.size() > 1) nr = NonceOf(plains[1], isakmp::PayloadType::kHash);
  const int kind = e.type != ExchangeType::kQuickMode ? 1 : plains.size() == 1 ? 2 : 3;
  const Phase1& p = sas_[e.sa];
  const IpAddress to = e.senders.back();
  const IpAddress from = to == p.initiator ? p.responder : p.initiator;
  Forged f{Seal(p, e.type, e.mid, iv, next, tail, kind, ni, nr), to};
  Record(from, f.data);
  return f;
}

std::optional<Bytes> Forger::FirstTail(size_t index, uint8_t* next, ExchangeType* x, uint32_t* mid,
                                       size_t* sa) const {
  if (exchanges_.empty()) return std::nullopt;
  const Exchange& e = exchanges_[index % exchanges_.size()];
  Bytes iv;
  std::vector<Bytes> plains = Open(e, &iv);
  if (plains.empty() || plains[0].size() < isakmp::kGenericHeaderSize) return std::nullopt;
  const Bytes& plain = plains[0];
  const size_t hash_len = size_t{plain[2]} << 8 | plain[3];
  if (hash_len < isakmp::kGenericHeaderSize || hash_len > plain.size()) return std::nullopt;
  *next = plain[0];
  *x = e.type;
  *mid = e.mid;
  *sa =
      static_cast<size_t>(std::find(complete_.begin(), complete_.end(), e.sa) - complete_.begin());
  // Up to the end of the chain when it parses (the encryption padding left out).
  auto chain = isakmp::ParsePayloads(isakmp::PayloadType::kHash, plain);
  const size_t end = chain && !chain->empty() ? ike::ChainEnd(*chain) : plain.size();
  return Bytes(plain.begin() + static_cast<ptrdiff_t>(hash_len),
               plain.begin() + static_cast<ptrdiff_t>(std::max(end, hash_len)));
}

}  // namespace ikepulse::fuzz
