#include "ike/algorithms.h"

namespace ikepulse::ike {

using isakmp::Attribute;
using isakmp::P1Attr;
using isakmp::P2Attr;

namespace {

uint16_t U(P1Attr a) { return static_cast<uint16_t>(a); }
uint16_t U(P2Attr a) { return static_cast<uint16_t>(a); }

// IPsec DOI ESP transform ID ESP_AES_GCM_16 (RFC 4106 §8.1; 12 is ESP_AES_CBC).
constexpr uint8_t kEspAesGcm16 = 20;

std::optional<config::Encryption> EncryptionFrom(uint16_t alg, uint16_t keylen) {
  switch (static_cast<isakmp::P1Encryption>(alg)) {
    case isakmp::P1Encryption::k3Des: return config::Encryption::k3Des;
    case isakmp::P1Encryption::kAes:
      if (keylen == 128) return config::Encryption::kAes128;
      if (keylen == 192) return config::Encryption::kAes192;
      if (keylen == 256) return config::Encryption::kAes256;
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::optional<config::Hash> HashFrom(uint16_t h) {
  switch (static_cast<isakmp::P1Hash>(h)) {
    case isakmp::P1Hash::kMd5: return config::Hash::kMd5;
    case isakmp::P1Hash::kSha1: return config::Hash::kSha1;
    case isakmp::P1Hash::kSha256: return config::Hash::kSha256;
    case isakmp::P1Hash::kSha384: return config::Hash::kSha384;
    case isakmp::P1Hash::kSha512: return config::Hash::kSha512;
    default: return std::nullopt;
  }
}

uint16_t HashToWire(config::Hash h) {
  switch (h) {
    case config::Hash::kMd5: return 1;
    case config::Hash::kSha1: return 2;
    case config::Hash::kSha256: return 4;
    case config::Hash::kSha384: return 5;
    case config::Hash::kSha512: return 6;
  }
  return 2;
}

uint16_t KeyBits(config::Encryption e) {
  switch (e) {
    case config::Encryption::kAes128: return 128;
    case config::Encryption::kAes192: return 192;
    case config::Encryption::kAes256: return 256;
    default: return 0;
  }
}

bool GroupSupported(uint16_t g) { return crypto::IsSupportedGroup(g); }

uint16_t EspAuthToWire(config::EspAuth a) {
  switch (a) {
    case config::EspAuth::kMd5: return 1;
    case config::EspAuth::kSha1: return 2;
    case config::EspAuth::kSha256: return 5;
    case config::EspAuth::kSha384: return 6;
    case config::EspAuth::kSha512: return 7;
    case config::EspAuth::kNone: return 0;
  }
  return 0;
}

std::optional<config::EspAuth> EspAuthFrom(uint16_t v) {
  switch (v) {
    case 1: return config::EspAuth::kMd5;
    case 2: return config::EspAuth::kSha1;
    case 5: return config::EspAuth::kSha256;
    case 6: return config::EspAuth::kSha384;
    case 7: return config::EspAuth::kSha512;
    default: return std::nullopt;
  }
}

}  // namespace

crypto::CipherAlg Phase1Algs::cipher() const {
  switch (encryption) {
    case config::Encryption::k3Des: return crypto::CipherAlg::k3DesCbc;
    case config::Encryption::kAes192: return crypto::CipherAlg::kAes192Cbc;
    case config::Encryption::kAes256: return crypto::CipherAlg::kAes256Cbc;
    default: return crypto::CipherAlg::kAes128Cbc;
  }
}

crypto::HashAlg Phase1Algs::prf() const {
  switch (hash) {
    case config::Hash::kMd5: return crypto::HashAlg::kMd5;
    case config::Hash::kSha1: return crypto::HashAlg::kSha1;
    case config::Hash::kSha256: return crypto::HashAlg::kSha256;
    case config::Hash::kSha384: return crypto::HashAlg::kSha384;
    case config::Hash::kSha512: return crypto::HashAlg::kSha512;
  }
  return crypto::HashAlg::kSha1;
}

bool EncryptionSupported(config::Encryption e) { return e != config::Encryption::kDes; }

const char* EncryptionName(config::Encryption e) {
  switch (e) {
    case config::Encryption::kDes: return "des";
    case config::Encryption::k3Des: return "3des";
    case config::Encryption::kAes128: return "aes";
    case config::Encryption::kAes192: return "aes192";
    case config::Encryption::kAes256: return "aes256";
  }
  return "?";
}

const char* HashName(config::Hash h) {
  switch (h) {
    case config::Hash::kMd5: return "md5";
    case config::Hash::kSha1: return "sha";
    case config::Hash::kSha256: return "sha256";
    case config::Hash::kSha384: return "sha384";
    case config::Hash::kSha512: return "sha512";
  }
  return "?";
}

isakmp::SaPayload BuildPhase1Sa(const config::Config& cfg) {
  isakmp::SaPayload sa;
  isakmp::Proposal p;
  p.number = 1;
  p.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp);
  uint8_t n = 1;
  for (const auto& [prio, pol] : cfg.policies) {
    if (pol.authentication != config::AuthMethod::kPreShare) continue;
    if (!EncryptionSupported(pol.encryption) || !GroupSupported(pol.group)) continue;
    isakmp::Transform t;
    t.number = n++;
    t.id = isakmp::kTransformKeyIke;
    const bool aes = KeyBits(pol.encryption) != 0;
    t.attributes.push_back(Attribute::Tv(
        U(P1Attr::kEncryptionAlgorithm),
        static_cast<uint16_t>(aes ? isakmp::P1Encryption::kAes : isakmp::P1Encryption::k3Des)));
    if (aes) t.attributes.push_back(Attribute::Tv(U(P1Attr::kKeyLength), KeyBits(pol.encryption)));
    t.attributes.push_back(Attribute::Tv(U(P1Attr::kHashAlgorithm), HashToWire(pol.hash)));
    t.attributes.push_back(Attribute::Tv(
        U(P1Attr::kAuthenticationMethod), static_cast<uint16_t>(isakmp::P1Auth::kPreSharedKey)));
    t.attributes.push_back(Attribute::Tv(U(P1Attr::kGroupDescription), pol.group));
    t.attributes.push_back(Attribute::Tv(U(P1Attr::kLifeType),
                                         static_cast<uint16_t>(isakmp::LifeType::kSeconds)));
    t.attributes.push_back(Attribute::Integer(U(P1Attr::kLifeDuration), pol.lifetime_s));
    p.transforms.push_back(std::move(t));
  }
  sa.proposals.push_back(std::move(p));
  return sa;
}

std::optional<Phase1Algs> ParsePhase1Transform(const isakmp::Transform& t) {
  if (t.id != isakmp::kTransformKeyIke) return std::nullopt;
  uint16_t enc = 0, keylen = 0, hash = 0, auth = 0, group = 0;
  uint64_t life_s = 86400;
  uint16_t life_type = 0;
  for (const auto& a : t.attributes) {
    auto v = a.AsInteger();
    if (!v) return std::nullopt;
    switch (static_cast<P1Attr>(a.type)) {
      case P1Attr::kEncryptionAlgorithm: enc = static_cast<uint16_t>(*v); break;
      case P1Attr::kKeyLength: keylen = static_cast<uint16_t>(*v); break;
      case P1Attr::kHashAlgorithm: hash = static_cast<uint16_t>(*v); break;
      case P1Attr::kAuthenticationMethod: auth = static_cast<uint16_t>(*v); break;
      case P1Attr::kGroupDescription: group = static_cast<uint16_t>(*v); break;
      case P1Attr::kLifeType: life_type = static_cast<uint16_t>(*v); break;
      case P1Attr::kLifeDuration:
        if (life_type == static_cast<uint16_t>(isakmp::LifeType::kSeconds))
          life_s = *v;  // kilobyte lifetimes are accepted and ignored for phase 1
        break;
      default:
        return std::nullopt;  // PRF, group type, ...: not supported
    }
  }
  if (enc == static_cast<uint16_t>(isakmp::P1Encryption::kAes) && keylen == 0) keylen = 128;
  auto e = EncryptionFrom(enc, keylen);
  auto h = HashFrom(hash);
  if (!e || !h || auth != static_cast<uint16_t>(isakmp::P1Auth::kPreSharedKey) ||
      !GroupSupported(group) || life_s == 0)
    return std::nullopt;
  Phase1Algs a;
  a.encryption = *e;
  a.hash = *h;
  a.group = group;
  a.lifetime_s = life_s > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(life_s);
  return a;
}

std::optional<Phase1Choice> SelectPhase1(const isakmp::SaPayload& offered,
                                         const config::Config& cfg) {
  for (const auto& prop : offered.proposals) {
    if (prop.protocol_id != static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp)) continue;
    for (const auto& t : prop.transforms) {
      auto algs = ParsePhase1Transform(t);
      if (!algs) continue;
      for (const auto& [prio, pol] : cfg.policies) {
        if (pol.authentication != config::AuthMethod::kPreShare) continue;
        if (pol.encryption != algs->encryption || pol.hash != algs->hash ||
            pol.group != algs->group || algs->lifetime_s > pol.lifetime_s)
          continue;
        return Phase1Choice{t, prop.number, *algs};
      }
    }
  }
  return std::nullopt;
}

size_t Phase2Algs::EncKeyLength() const {
  switch (cipher) {
    case config::EspCipher::kAes128: return 16;
    case config::EspCipher::kAes192: return 24;
    case config::EspCipher::kAes256: return 32;
    case config::EspCipher::k3Des: return 24;
    // RFC 4106 §8.1 (IKEv1) / RFC 5282 §7.1 (IKEv2 Child SAs): the key, then a 4-byte salt.
    case config::EspCipher::kAesGcm128: return 16 + 4;
    case config::EspCipher::kAesGcm256: return 32 + 4;
    default: return 0;
  }
}

size_t Phase2Algs::AuthKeyLength() const {
  switch (auth) {
    case config::EspAuth::kMd5: return 16;
    case config::EspAuth::kSha1: return 20;
    case config::EspAuth::kSha256: return 32;
    case config::EspAuth::kSha384: return 48;
    case config::EspAuth::kSha512: return 64;
    case config::EspAuth::kNone: return 0;
  }
  return 0;
}

std::string Phase2Algs::TransformName() const {
  std::string s;
  switch (cipher) {
    case config::EspCipher::kAes128: s = "esp-aes"; break;
    case config::EspCipher::kAes192: s = "esp-aes 192"; break;
    case config::EspCipher::kAes256: s = "esp-aes 256"; break;
    case config::EspCipher::k3Des: s = "esp-3des"; break;
    case config::EspCipher::kNull: s = "esp-null"; break;
    case config::EspCipher::kAesGcm128: s = "esp-gcm"; break;
    case config::EspCipher::kAesGcm256: s = "esp-gcm 256"; break;
    case config::EspCipher::kNone: s = ""; break;
  }
  switch (auth) {
    case config::EspAuth::kMd5: s += " esp-md5-hmac"; break;
    case config::EspAuth::kSha1: s += " esp-sha-hmac"; break;
    case config::EspAuth::kSha256: s += " esp-sha256-hmac"; break;
    case config::EspAuth::kSha384: s += " esp-sha384-hmac"; break;
    case config::EspAuth::kSha512: s += " esp-sha512-hmac"; break;
    case config::EspAuth::kNone: break;
  }
  return s;
}

crypto::CipherAlg EspCipherAlg(config::EspCipher c) {
  switch (c) {
    case config::EspCipher::kAes192: return crypto::CipherAlg::kAes192Cbc;
    case config::EspCipher::kAes256: return crypto::CipherAlg::kAes256Cbc;
    case config::EspCipher::k3Des: return crypto::CipherAlg::k3DesCbc;
    default: return crypto::CipherAlg::kAes128Cbc;
  }
}

namespace {

std::optional<isakmp::Transform> BuildEspTransform(const config::TransformSet& ts,
                                                   const config::CryptoMapEntry& e,
                                                   bool udp_encap, bool draft_natt) {
  isakmp::Transform t;
  t.number = 1;
  uint16_t keybits = 0;
  switch (ts.cipher) {
    case config::EspCipher::kAes128: t.id = 12; keybits = 128; break;
    case config::EspCipher::kAes192: t.id = 12; keybits = 192; break;
    case config::EspCipher::kAes256: t.id = 12; keybits = 256; break;
    case config::EspCipher::k3Des: t.id = 3; break;
    case config::EspCipher::kNull: t.id = 11; break;
    // ESP_AES_GCM_16 (RFC 4106 §8.1): Key Length attribute, no Authentication Algorithm.
    case config::EspCipher::kAesGcm128: t.id = kEspAesGcm16; keybits = 128; break;
    case config::EspCipher::kAesGcm256: t.id = kEspAesGcm16; keybits = 256; break;
    case config::EspCipher::kNone: return std::nullopt;
  }
  const uint32_t life_s = e.lifetime_s.value_or(config::kDefaultIpsecLifetimeS);
  const uint64_t life_kb = e.lifetime_kb.value_or(config::kDefaultIpsecLifetimeKb);
  t.attributes.push_back(Attribute::Tv(U(P2Attr::kSaLifeType), 1));
  t.attributes.push_back(Attribute::Integer(U(P2Attr::kSaLifeDuration), life_s));
  t.attributes.push_back(Attribute::Tv(U(P2Attr::kSaLifeType), 2));
  t.attributes.push_back(Attribute::Integer(U(P2Attr::kSaLifeDuration), life_kb));
  if (e.pfs_group) t.attributes.push_back(Attribute::Tv(U(P2Attr::kGroupDescription), *e.pfs_group));
  uint16_t mode = ts.mode == config::IpsecMode::kTunnel ? 1 : 2;
  if (udp_encap) {
    if (ts.mode == config::IpsecMode::kTunnel) mode = draft_natt ? 61443 : 3;
    else mode = draft_natt ? 61444 : 4;
  }
  t.attributes.push_back(Attribute::Tv(U(P2Attr::kEncapsulationMode), mode));
  if (ts.auth != config::EspAuth::kNone)
    t.attributes.push_back(Attribute::Tv(U(P2Attr::kAuthenticationAlgorithm), EspAuthToWire(ts.auth)));
  if (keybits) t.attributes.push_back(Attribute::Tv(U(P2Attr::kKeyLength), keybits));
  return t;
}

}  // namespace

isakmp::SaPayload BuildPhase2Sa(const config::Config& cfg, const config::CryptoMapEntry& e,
                                uint32_t spi_in, bool udp_encap, bool draft_natt) {
  isakmp::SaPayload sa;
  uint8_t n = 1;
  Bytes spi = {static_cast<uint8_t>(spi_in >> 24), static_cast<uint8_t>(spi_in >> 16),
               static_cast<uint8_t>(spi_in >> 8), static_cast<uint8_t>(spi_in)};
  for (const auto& name : e.transform_sets) {
    const config::TransformSet* ts = cfg.FindTransformSet(name);
    if (!ts) continue;
    auto t = BuildEspTransform(*ts, e, udp_encap, draft_natt);
    if (!t) continue;
    isakmp::Proposal p;
    p.number = n++;
    p.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kEsp);
    p.spi = spi;
    p.transforms.push_back(std::move(*t));
    sa.proposals.push_back(std::move(p));
  }
  return sa;
}

std::optional<Phase2Algs> ParsePhase2Proposal(const isakmp::Proposal& p,
                                              Phase2LifetimeAttrs* given) {
  if (p.protocol_id != static_cast<uint8_t>(isakmp::ProtocolId::kEsp) || p.spi.size() != 4 ||
      p.transforms.empty())
    return std::nullopt;
  const isakmp::Transform& t = p.transforms.front();
  Phase2Algs a;
  uint16_t keybits = 0;
  uint16_t life_type = 0;
  bool have_auth = false;
  for (const auto& attr : t.attributes) {
    auto v = attr.AsInteger();
    if (!v) return std::nullopt;
    switch (static_cast<P2Attr>(attr.type)) {
      case P2Attr::kSaLifeType: life_type = static_cast<uint16_t>(*v); break;
      case P2Attr::kSaLifeDuration:
        if (life_type == 1) {
          a.lifetime_s = static_cast<uint32_t>(std::min<uint64_t>(*v, UINT32_MAX));
          if (given) given->seconds = true;
        } else if (life_type == 2) {
          a.lifetime_kb = *v;
          if (given) given->kilobytes = true;
        }
        break;
      case P2Attr::kGroupDescription: a.pfs_group = static_cast<uint16_t>(*v); break;
      case P2Attr::kEncapsulationMode:
        switch (*v) {
          case 1: a.mode = config::IpsecMode::kTunnel; break;
          case 2: a.mode = config::IpsecMode::kTransport; break;
          case 3: case 61443: a.mode = config::IpsecMode::kTunnel; a.udp_encap = true; break;
          case 4: case 61444: a.mode = config::IpsecMode::kTransport; a.udp_encap = true; break;
          default: return std::nullopt;
        }
        break;
      case P2Attr::kAuthenticationAlgorithm: {
        auto au = EspAuthFrom(static_cast<uint16_t>(*v));
        if (!au) return std::nullopt;
        a.auth = *au;
        have_auth = true;
        break;
      }
      case P2Attr::kKeyLength: keybits = static_cast<uint16_t>(*v); break;
      default: return std::nullopt;
    }
  }
  if (!have_auth) a.auth = config::EspAuth::kNone;
  switch (t.id) {
    case 12:
      if (keybits == 0 || keybits == 128) a.cipher = config::EspCipher::kAes128;
      else if (keybits == 192) a.cipher = config::EspCipher::kAes192;
      else if (keybits == 256) a.cipher = config::EspCipher::kAes256;
      else return std::nullopt;
      break;
    case 3: a.cipher = config::EspCipher::k3Des; break;
    case 11: a.cipher = config::EspCipher::kNull; break;
    case kEspAesGcm16:
      // RFC 4106 §8.1: the Key Length attribute is required; AES-GCM authenticates itself,
      // so an Authentication Algorithm attribute makes the proposal unacceptable.
      if (have_auth) return std::nullopt;
      if (keybits == 128) a.cipher = config::EspCipher::kAesGcm128;
      else if (keybits == 256) a.cipher = config::EspCipher::kAesGcm256;
      else return std::nullopt;
      break;
    default: return std::nullopt;
  }
  return a;
}

std::string CheckQm2(const config::Config& cfg, const config::CryptoMapEntry* e,
                     const isakmp::SaPayload& sap, bool ke, bool have_dh,
                     const std::vector<const isakmp::IdPayload*>& ids,
                     const isakmp::IdPayload& idci, const isakmp::IdPayload& idcr,
                     Phase2Algs& algs) {
  if (!e) return "crypto map entry gone";
  if (sap.proposals.size() != 1) return "not exactly one proposal";
  Phase2LifetimeAttrs given;
  auto parsed = ParsePhase2Proposal(sap.proposals[0], &given);
  if (!parsed) return "unparsable proposal";
  const auto& spi = sap.proposals[0].spi;
  const uint32_t spi_out =
      (uint32_t{spi[0]} << 24) | (uint32_t{spi[1]} << 16) | (uint32_t{spi[2]} << 8) | spi[3];
  if (spi_out < 256) return "reserved SPI";  // 0 is invalid, 1-255 are reserved (RFC 4303)
  bool offered = false;
  for (const auto& name : e->transform_sets)
    if (const auto* ts = cfg.FindTransformSet(name))
      if (ts->cipher == parsed->cipher && ts->auth == parsed->auth && ts->mode == parsed->mode)
        offered = true;
  if (!offered) return "transform not offered";
  // Lifetimes: the responder may shorten ours, never lengthen them, and never make them
  // unlimited (0). An absent attribute means ours.
  const uint32_t our_s = e->lifetime_s.value_or(config::kDefaultIpsecLifetimeS);
  const uint64_t our_kb = e->lifetime_kb.value_or(config::kDefaultIpsecLifetimeKb);
  if (!given.seconds) parsed->lifetime_s = our_s;
  if (!given.kilobytes) parsed->lifetime_kb = our_kb;
  if (parsed->lifetime_s == 0 || parsed->lifetime_s > our_s) return "lifetime (seconds)";
  if (parsed->lifetime_kb == 0 || parsed->lifetime_kb > our_kb) return "lifetime (kilobytes)";
  // PFS: the group we asked for with a KE, or neither.
  if (parsed->pfs_group != e->pfs_group) return "PFS group";
  if (e->pfs_group && (!ke || !have_dh)) return "PFS without KE";
  if (!e->pfs_group && ke) return "KE without PFS";
  // Proxy identities: as we sent them.
  if (ids.size() != 2 || *ids[0] != idci || *ids[1] != idcr) return "proxy identities";
  algs = *parsed;
  return "";
}

std::optional<Phase2Choice> SelectPhase2(const isakmp::SaPayload& offered,
                                         const config::Config& cfg,
                                         const config::CryptoMapEntry& e) {
  for (const auto& prop : offered.proposals) {
    auto algs = ParsePhase2Proposal(prop);
    if (!algs) continue;
    if (algs->pfs_group != e.pfs_group) continue;
    // Zero would mean "never expires" (the data plane reads 0 kB as no volume limit).
    if (algs->lifetime_s == 0 || algs->lifetime_kb == 0) continue;
    for (const auto& name : e.transform_sets) {
      const config::TransformSet* ts = cfg.FindTransformSet(name);
      if (!ts || ts->cipher != algs->cipher || ts->auth != algs->auth || ts->mode != algs->mode)
        continue;
      // IOS takes the shorter of the two lifetimes.
      algs->lifetime_s = std::min(algs->lifetime_s, e.lifetime_s.value_or(config::kDefaultIpsecLifetimeS));
      algs->lifetime_kb = std::min(algs->lifetime_kb, e.lifetime_kb.value_or(config::kDefaultIpsecLifetimeKb));
      const uint32_t spi = (uint32_t{prop.spi[0]} << 24) | (uint32_t{prop.spi[1]} << 16) |
                           (uint32_t{prop.spi[2]} << 8) | prop.spi[3];
      return Phase2Choice{prop, *algs, spi};
    }
  }
  return std::nullopt;
}

}  // namespace ikepulse::ike
