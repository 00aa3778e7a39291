// IKEv2 proposals and traffic selectors (ikev2_proposals.h).
#include "ike/ikev2_proposals.h"

#include <algorithm>

namespace ikepulse::ike::v2 {

using ikev2::TransformType;

// ---- Algorithms ----------------------------------------------------------------------------

namespace {

struct EncrInfo {
  uint16_t id;
  uint16_t bits;
  crypto::Ikev2EncrAlg alg;
};
EncrInfo Encr(config::Ikev2Encryption e) {
  switch (e) {
    case config::Ikev2Encryption::kAesCbc128:
      return {uint16_t(ikev2::EncrId::kAesCbc), 128, crypto::Ikev2EncrAlg::kAesCbc128};
    case config::Ikev2Encryption::kAesCbc256:
      return {uint16_t(ikev2::EncrId::kAesCbc), 256, crypto::Ikev2EncrAlg::kAesCbc256};
    case config::Ikev2Encryption::kAesGcm128:
      return {uint16_t(ikev2::EncrId::kAesGcm16), 128, crypto::Ikev2EncrAlg::kAesGcm16_128};
    case config::Ikev2Encryption::kAesGcm256:
      return {uint16_t(ikev2::EncrId::kAesGcm16), 256, crypto::Ikev2EncrAlg::kAesGcm16_256};
  }
  return {0, 0, crypto::Ikev2EncrAlg::kAesCbc128};
}
uint16_t PrfIdOf(config::Ikev2Hash h) {
  switch (h) {
    case config::Ikev2Hash::kSha1:
      return uint16_t(ikev2::PrfId::kHmacSha1);
    case config::Ikev2Hash::kSha256:
      return uint16_t(ikev2::PrfId::kHmacSha2_256);
    case config::Ikev2Hash::kSha384:
      return uint16_t(ikev2::PrfId::kHmacSha2_384);
    case config::Ikev2Hash::kSha512:
      return uint16_t(ikev2::PrfId::kHmacSha2_512);
  }
  return 0;
}
uint16_t IntegIdOf(config::Ikev2Hash h) {
  switch (h) {
    case config::Ikev2Hash::kSha1:
      return uint16_t(ikev2::IntegId::kHmacSha1_96);
    case config::Ikev2Hash::kSha256:
      return uint16_t(ikev2::IntegId::kHmacSha2_256_128);
    case config::Ikev2Hash::kSha384:
      return uint16_t(ikev2::IntegId::kHmacSha2_384_192);
    case config::Ikev2Hash::kSha512:
      return uint16_t(ikev2::IntegId::kHmacSha2_512_256);
  }
  return 0;
}

// Wire transform -> crypto enums (nullopt: not supported).
std::optional<crypto::Ikev2EncrAlg> EncrFromWire(const ikev2::Transform& t) {
  if (t.id == uint16_t(ikev2::EncrId::kAesCbc)) {
    if (t.key_length() == 128) return crypto::Ikev2EncrAlg::kAesCbc128;
    if (t.key_length() == 256) return crypto::Ikev2EncrAlg::kAesCbc256;
  } else if (t.id == uint16_t(ikev2::EncrId::kAesGcm16)) {
    if (t.key_length() == 128) return crypto::Ikev2EncrAlg::kAesGcm16_128;
    if (t.key_length() == 256) return crypto::Ikev2EncrAlg::kAesGcm16_256;
  }
  return std::nullopt;
}
std::optional<crypto::HashAlg> PrfFromWire(uint16_t id) {
  switch (static_cast<ikev2::PrfId>(id)) {
    case ikev2::PrfId::kHmacSha1:
      return crypto::HashAlg::kSha1;
    case ikev2::PrfId::kHmacSha2_256:
      return crypto::HashAlg::kSha256;
    case ikev2::PrfId::kHmacSha2_384:
      return crypto::HashAlg::kSha384;
    case ikev2::PrfId::kHmacSha2_512:
      return crypto::HashAlg::kSha512;
    default:
      return std::nullopt;
  }
}
std::optional<crypto::Ikev2IntegAlg> IntegFromWire(uint16_t id) {
  switch (static_cast<ikev2::IntegId>(id)) {
    case ikev2::IntegId::kNone:
      return crypto::Ikev2IntegAlg::kNone;
    case ikev2::IntegId::kHmacSha1_96:
      return crypto::Ikev2IntegAlg::kHmacSha1_96;
    case ikev2::IntegId::kHmacSha2_256_128:
      return crypto::Ikev2IntegAlg::kHmacSha256_128;
    case ikev2::IntegId::kHmacSha2_384_192:
      return crypto::Ikev2IntegAlg::kHmacSha384_192;
    case ikev2::IntegId::kHmacSha2_512_256:
      return crypto::Ikev2IntegAlg::kHmacSha512_256;
    default:
      return std::nullopt;
  }
}

ikev2::Transform MakeTransform(TransformType type, uint16_t id, uint16_t key_bits = 0) {
  ikev2::Transform t;
  t.type = static_cast<uint8_t>(type);
  t.id = id;
  if (key_bits) t.attributes.push_back(ikev2::Attribute::KeyLength(key_bits));
  return t;
}
bool SameTransform(const ikev2::Transform& a, const ikev2::Transform& b) {
  return a.type == b.type && a.id == b.id && a.key_length() == b.key_length();
}

}  // namespace

bool Lists(const ikev2::Proposal& p, const ikev2::Transform& t) {
  for (const auto& x : p.transforms)
    if (SameTransform(x, t)) return true;
  return false;
}

// The IKE proposals of the configuration (see the header comment).
ikev2::SaPayload OurIkeProposals(const config::Config& cfg, const IpAddress& local) {
  std::vector<const config::Ikev2Proposal*> chosen;
  auto add = [&](const config::Ikev2Proposal* p) {
    if (p && p->Complete() && std::find(chosen.begin(), chosen.end(), p) == chosen.end())
      chosen.push_back(p);
  };
  for (const auto& [name, pol] : cfg.ikev2_policies) {
    const auto& m = pol.match_address_local;
    if (!m.empty() && std::find(m.begin(), m.end(), local) == m.end()) continue;
    for (const auto& pn : pol.proposals) add(cfg.FindIkev2Proposal(pn));
  }
  if (chosen.empty())
    for (const auto& [name, p] : cfg.ikev2_proposals) add(&p);

  ikev2::SaPayload sa;
  for (const config::Ikev2Proposal* p : chosen) {
    if (sa.proposals.size() >= 60) break;
    ikev2::Proposal out;
    out.number = static_cast<uint8_t>(sa.proposals.size() + 1);
    out.protocol_id = static_cast<uint8_t>(ikev2::ProtocolId::kIke);
    for (auto e : p->encryption) {
      const EncrInfo ei = Encr(e);
      out.transforms.push_back(MakeTransform(TransformType::kEncr, ei.id, ei.bits));
    }
    const bool aead = p->HasAead();
    const auto& prfs = p->prf.empty() ? p->integrity : p->prf;
    for (auto h : prfs) out.transforms.push_back(MakeTransform(TransformType::kPrf, PrfIdOf(h)));
    if (!aead)
      for (auto h : p->integrity)
        out.transforms.push_back(MakeTransform(TransformType::kInteg, IntegIdOf(h)));
    bool group = false;
    for (uint16_t g : p->groups) {
      if (!crypto::IsSupportedGroup(g)) continue;
      out.transforms.push_back(MakeTransform(TransformType::kDh, g));
      group = true;
    }
    if (group && out.transforms.size() <= 60) sa.proposals.push_back(std::move(out));
  }
  return sa;
}

// The suite of a proposal that has exactly the transforms it needs (a reply), or nullopt.
std::optional<IkeChoice> SuiteOf(const ikev2::Proposal& p) {
  IkeChoice c;
  c.reply = p;
  int n_encr = 0, n_prf = 0, n_integ = 0, n_dh = 0;
  bool ok = true;
  for (const auto& t : p.transforms) {
    switch (static_cast<TransformType>(t.type)) {
      case TransformType::kEncr: {
        auto e = EncrFromWire(t);
        ok = ok && e.has_value();
        if (e) c.suite.encr = *e;
        ++n_encr;
        break;
      }
      case TransformType::kPrf: {
        auto h = PrfFromWire(t.id);
        ok = ok && h.has_value();
        if (h) c.suite.prf = *h;
        ++n_prf;
        break;
      }
      case TransformType::kInteg: {
        auto i = IntegFromWire(t.id);
        ok = ok && i.has_value();
        if (i) c.suite.integ = *i;
        ++n_integ;
        break;
      }
      case TransformType::kDh:
        c.group = t.id;
        ++n_dh;
        break;
      default:
        ok = false;
    }
  }
  if (!ok || n_encr != 1 || n_prf != 1 || n_dh != 1 || n_integ > 1) return std::nullopt;
  if (n_integ == 0) c.suite.integ = crypto::Ikev2IntegAlg::kNone;
  if (!crypto::CheckSuite(c.suite) || !crypto::IsSupportedGroup(c.group)) return std::nullopt;
  return c;
}

// Responder: the peer's proposals in its order, the first one that one of ours covers.
std::optional<IkeChoice> SelectIke(const ikev2::SaPayload& offered, const ikev2::SaPayload& ours) {
  for (const auto& p : offered.proposals) {
    if (p.protocol_id != static_cast<uint8_t>(ikev2::ProtocolId::kIke) || !p.spi.empty()) continue;
    for (const auto& q : ours.proposals) {
      ikev2::Proposal reply;
      reply.number = p.number;
      reply.protocol_id = p.protocol_id;
      bool missing = false;
      for (TransformType type :
           {TransformType::kEncr, TransformType::kPrf, TransformType::kInteg, TransformType::kDh}) {
        const ikev2::Transform* pick = nullptr;
        bool any = false;
        for (const auto& t : p.transforms) {
          if (t.type != static_cast<uint8_t>(type)) continue;
          any = true;
          if (Lists(q, t)) {
            pick = &t;
            break;
          }
        }
        const bool we_have = std::any_of(q.transforms.begin(), q.transforms.end(),
                                         [&](const auto& t) { return t.type == uint8_t(type); });
        if (pick) {
          reply.transforms.push_back(MakeTransform(type, pick->id, pick->key_length()));
        } else if (any || we_have) {
          // INTEG NONE offered with an AEAD cipher is the same as no INTEG.
          const bool integ_none_only =
              type == TransformType::kInteg && !we_have &&
              std::all_of(p.transforms.begin(), p.transforms.end(), [](const auto& t) {
                return t.type != uint8_t(TransformType::kInteg) || t.id == 0;
              });
          if (!integ_none_only) missing = true;
        }
      }
      if (missing) continue;
      if (auto c = SuiteOf(reply)) return c;
    }
  }
  return std::nullopt;
}

// ---- ESP -------------------------------------------------------------------------------

std::optional<EspIds> EspIdsOf(const config::TransformSet& ts) {
  EspIds ids;
  switch (ts.cipher) {
    case config::EspCipher::kAes128:
      ids = {uint16_t(ikev2::EncrId::kAesCbc), 128, 0};
      break;
    case config::EspCipher::kAes192:
      ids = {uint16_t(ikev2::EncrId::kAesCbc), 192, 0};
      break;
    case config::EspCipher::kAes256:
      ids = {uint16_t(ikev2::EncrId::kAesCbc), 256, 0};
      break;
    case config::EspCipher::k3Des:
      ids = {uint16_t(ikev2::EncrId::k3des), 0, 0};
      break;
    case config::EspCipher::kAesGcm128:
    case config::EspCipher::kAesGcm256:
      if (ts.auth != config::EspAuth::kNone) return std::nullopt;
      return EspIds{uint16_t(ikev2::EncrId::kAesGcm16),
                    uint16_t(ts.cipher == config::EspCipher::kAesGcm128 ? 128 : 256), 0};
    default:
      return std::nullopt;
  }
  switch (ts.auth) {
    case config::EspAuth::kMd5:
      ids.integ = uint16_t(ikev2::IntegId::kHmacMd5_96);
      break;
    case config::EspAuth::kSha1:
      ids.integ = uint16_t(ikev2::IntegId::kHmacSha1_96);
      break;
    case config::EspAuth::kSha256:
      ids.integ = uint16_t(ikev2::IntegId::kHmacSha2_256_128);
      break;
    case config::EspAuth::kSha384:
      ids.integ = uint16_t(ikev2::IntegId::kHmacSha2_384_192);
      break;
    case config::EspAuth::kSha512:
      ids.integ = uint16_t(ikev2::IntegId::kHmacSha2_512_256);
      break;
    case config::EspAuth::kNone:
      return std::nullopt;
  }
  return ids;
}

Bytes SpiBytes(uint32_t spi) {
  Bytes b;
  ByteWriter w(b);
  w.U32(spi);
  return b;
}
uint32_t SpiValue(ByteSpan b) {
  return b.size() == 4
             ? (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3]
             : 0;
}

Phase2Algs AlgsOf(const config::TransformSet& ts, const config::CryptoMapEntry& e) {
  Phase2Algs a;
  a.cipher = ts.cipher;
  a.auth = ts.auth;
  a.mode = config::IpsecMode::kTunnel;
  a.lifetime_s = e.lifetime_s.value_or(config::kDefaultIpsecLifetimeS);
  a.lifetime_kb = e.lifetime_kb.value_or(config::kDefaultIpsecLifetimeKb);
  return a;
}

ikev2::SaPayload OurEspProposals(const config::Config& cfg, const config::CryptoMapEntry& e,
                                 uint32_t spi_in) {
  ikev2::SaPayload sa;
  for (const auto& name : e.transform_sets) {
    const config::TransformSet* ts = cfg.FindTransformSet(name);
    if (!ts) continue;
    auto ids = EspIdsOf(*ts);
    if (!ids || sa.proposals.size() >= 60) continue;
    ikev2::Proposal p;
    p.number = static_cast<uint8_t>(sa.proposals.size() + 1);
    p.protocol_id = static_cast<uint8_t>(ikev2::ProtocolId::kEsp);
    p.spi = SpiBytes(spi_in);
    p.transforms.push_back(MakeTransform(TransformType::kEncr, ids->encr, ids->bits));
    if (ids->integ != 0) p.transforms.push_back(MakeTransform(TransformType::kInteg, ids->integ));
    p.transforms.push_back(MakeTransform(TransformType::kEsn, uint16_t(ikev2::EsnId::kNoEsn)));
    sa.proposals.push_back(std::move(p));
  }
  return sa;
}

// Does proposal `p` (offered, or a reply) carry transform set `ts`? `exact`: p must hold
// nothing else (a reply).
bool EspMatches(const ikev2::Proposal& p, const EspIds& ids, bool exact) {
  if (p.protocol_id != static_cast<uint8_t>(ikev2::ProtocolId::kEsp) || p.spi.size() != 4 ||
      SpiValue(p.spi) == 0)
    return false;
  bool encr = false, integ = false, esn_ok = true;
  for (const auto& t : p.transforms) {
    switch (static_cast<TransformType>(t.type)) {
      case TransformType::kEncr:
        if (t.id == ids.encr && t.key_length() == ids.bits)
          encr = true;
        else if (exact)
          return false;
        break;
      case TransformType::kInteg:
        if (ids.integ == 0) {
          // AEAD: an INTEG transform other than NONE makes this a different proposal.
          if (t.id != 0) return false;
        } else if (t.id == ids.integ) {
          integ = true;
        } else if (exact) {
          return false;
        }
        break;
      case TransformType::kEsn:
        if (t.id == uint16_t(ikev2::EsnId::kNoEsn))
          esn_ok = true;
        else if (exact)
          return false;
        break;
      default:
        if (exact) return false;
    }
  }
  return encr && (integ || ids.integ == 0) && esn_ok;
}

std::optional<EspChoice> SelectEsp(const ikev2::SaPayload& offered, const config::Config& cfg,
                                   const config::CryptoMapEntry& e) {
  for (const auto& p : offered.proposals) {
    for (const auto& name : e.transform_sets) {
      const config::TransformSet* ts = cfg.FindTransformSet(name);
      if (!ts) continue;
      auto ids = EspIdsOf(*ts);
      if (!ids) continue;
      // Offered ESN transforms must include "no ESN" (or be absent).
      bool esn_any = false, esn_none = false;
      for (const auto& t : p.transforms)
        if (t.type == uint8_t(TransformType::kEsn)) {
          esn_any = true;
          esn_none = esn_none || t.id == uint16_t(ikev2::EsnId::kNoEsn);
        }
      if (esn_any && !esn_none) continue;
      if (!EspMatches(p, *ids, false)) continue;
      EspChoice c;
      c.peer_spi = SpiValue(p.spi);
      c.algs = AlgsOf(*ts, e);
      c.reply.number = p.number;
      c.reply.protocol_id = p.protocol_id;
      c.reply.transforms.push_back(MakeTransform(TransformType::kEncr, ids->encr, ids->bits));
      if (ids->integ != 0)
        c.reply.transforms.push_back(MakeTransform(TransformType::kInteg, ids->integ));
      if (esn_any)
        c.reply.transforms.push_back(
            MakeTransform(TransformType::kEsn, uint16_t(ikev2::EsnId::kNoEsn)));
      return c;
    }
  }
  return std::nullopt;
}

// ---- Traffic selectors -----------------------------------------------------------------

IpAddress Invert(const IpAddress& w) {
  IpAddress m = w;
  const size_t n = w.v6 ? 16 : 4;  // the bytes the address uses; the rest stay zero
  for (size_t i = 0; i < n; ++i) m.bytes[i] = static_cast<uint8_t>(~m.bytes[i]);
  return m;
}

const config::AclEntry* FirstPermit(const config::AccessList* acl) {
  if (!acl) return nullptr;
  for (const auto& e : acl->entries)
    if (e.permit) return &e;
  return nullptr;
}

Range FromNet(const IpAddress& net, const IpAddress& mask, uint8_t proto) {
  const uint32_t n = net.V4ToU32(), m = mask.V4ToU32();
  return Range{n & m, (n & m) | ~m, proto, 0, 0xffff};
}

std::optional<Range> FromTs(const ikev2::TrafficSelector& t) {
  if (t.ts_type != uint8_t(ikev2::TsType::kIpv4AddrRange) || t.start_address.size() != 4 ||
      t.end_address.size() != 4)
    return std::nullopt;
  Range r;
  r.lo = SpiValue(t.start_address);
  r.hi = SpiValue(t.end_address);
  r.proto = t.ip_protocol;
  r.plo = t.start_port;
  r.phi = t.end_port;
  if (r.lo > r.hi || r.plo > r.phi) return std::nullopt;
  return r;
}

ikev2::TrafficSelector ToTs(const Range& r) {
  ikev2::TrafficSelector t;
  t.ts_type = uint8_t(ikev2::TsType::kIpv4AddrRange);
  t.ip_protocol = r.proto;
  t.start_port = r.plo;
  t.end_port = r.phi;
  t.start_address = SpiBytes(r.lo);
  t.end_address = SpiBytes(r.hi);
  return t;
}

namespace {

std::optional<Range> Intersect(const Range& a, const Range& b) {
  Range r;
  r.lo = std::max(a.lo, b.lo);
  r.hi = std::min(a.hi, b.hi);
  r.plo = std::max(a.plo, b.plo);
  r.phi = std::min(a.phi, b.phi);
  if (a.proto == kTsAllProtocols)
    r.proto = b.proto;
  else if (b.proto == kTsAllProtocols || b.proto == a.proto)
    r.proto = a.proto;
  else
    return std::nullopt;
  if (r.lo > r.hi || r.plo > r.phi) return std::nullopt;
  return r;
}

}  // namespace
bool Within(const Range& inner, const Range& outer) {
  auto i = Intersect(inner, outer);
  return i && i->lo == inner.lo && i->hi == inner.hi && i->plo == inner.plo &&
         i->phi == inner.phi && i->proto == inner.proto;
}

// The largest intersection of any selector of `offered` with `ours`.
std::optional<Range> Narrow(const ikev2::TsPayload& offered, const Range& ours) {
  std::optional<Range> best;
  for (const auto& t : offered.selectors) {
    auto r = FromTs(t);
    if (!r) continue;
    auto i = Intersect(*r, ours);
    if (i && (!best || uint64_t(i->hi - i->lo) > uint64_t(best->hi - best->lo))) best = i;
  }
  return best;
}

// net/mask of a range that is a prefix; false otherwise.
bool ToNet(const Range& r, IpAddress& net, IpAddress& mask) {
  const uint64_t size = uint64_t(r.hi) - r.lo + 1;
  if ((size & (size - 1)) != 0 || (r.lo & uint32_t(size - 1)) != 0) return false;
  net = IpAddress::V4FromU32(r.lo);
  mask = IpAddress::V4FromU32(size == (uint64_t(1) << 32) ? 0 : ~uint32_t(size - 1));
  return true;
}

}  // namespace ikepulse::ike::v2
