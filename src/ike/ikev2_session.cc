// Ikev2Session (ikev2_session.h). Layout: helpers (the proposals and selectors are in
// ikev2_proposals.cc), then the session: setup (IKE_SA_INIT, IKE_AUTH), message IDs and
// retransmission, INFORMATIONAL (liveness, Delete), endings, read-only views.
#include "ike/ikev2_session.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "ike/ikev2_proposals.h"
#include "ikev2/message.h"

namespace ikepulse::ike {

using ikev2::ExchangeType;
using ikev2::NotifyType;
using ikev2::Payload;
using ikev2::PayloadType;
using ikev2::TransformType;
using namespace v2;  // proposals and selectors (ikev2_proposals.h)

namespace {

constexpr size_t kNonceSize = 32;

// ---- Misc ------------------------------------------------------------------------------

Bytes NatHash(const ikev2::Spi& spi_i, const ikev2::Spi& spi_r, const Endpoint& ep) {
  const uint8_t port[2] = {uint8_t(ep.port >> 8), uint8_t(ep.port)};
  return crypto::Hash(crypto::HashAlg::kSha1, {spi_i, spi_r, ep.ip.span(), port});
}

Bytes Digest(ByteSpan msg) { return crypto::Hash(crypto::HashAlg::kSha1, {msg}); }

ikev2::IdPayload IdOf(const IpAddress& a) {
  ikev2::IdPayload id;
  id.id_type = uint8_t(ikev2::IdType::kIpv4Addr);
  id.data.assign(a.span().begin(), a.span().end());
  return id;
}

// Our IDi/IDr under profile `p`: ID_FQDN when `identity local fqdn` is set, else ID_IPV4_ADDR
// of `identity local address` or of the local address.
ikev2::IdPayload LocalIdOf(const config::Ikev2Profile& p, const IpAddress& local) {
  if (p.identity_local_fqdn.empty()) return IdOf(p.identity_local.value_or(local));
  ikev2::IdPayload id;
  id.id_type = uint8_t(ikev2::IdType::kFqdn);
  id.data.assign(p.identity_local_fqdn.begin(), p.identity_local_fqdn.end());
  return id;
}

// The peer's ID_FQDN as text, or nullopt for any other type or a length no configured name can
// have (the ID is peer input: only its length is trusted, and only up to kMaxFqdnLength).
std::optional<std::string_view> FqdnOf(const ikev2::IdPayload& id) {
  if (id.id_type != uint8_t(ikev2::IdType::kFqdn) || id.data.empty() ||
      id.data.size() > config::kMaxFqdnLength)
    return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(id.data.data()), id.data.size());
}

// The keyring peer of profile `p` whose key authenticates the peer at `peer`. With the peer's
// ID (`id`, the responder's case) a keyring peer with `identity fqdn` is chosen by that ID
// alone; without it (the initiator, before IDr is known) every keyring peer is chosen by
// address. Keyring peers without `identity fqdn` are always chosen by address.
const config::Ikev2KeyringPeer* KeyFor(const config::Config& cfg, const config::Ikev2Profile& p,
                                       const IpAddress& peer,
                                       const ikev2::IdPayload* id = nullptr) {
  const config::Ikev2Keyring* kr = cfg.FindIkev2Keyring(p.keyring_local);
  if (!kr) return nullptr;
  if (id) {
    if (const auto fqdn = FqdnOf(*id))
      for (const auto& kp : kr->peers)
        if (!kp.identity_fqdn.empty() && config::FqdnEquals(kp.identity_fqdn, *fqdn)) return &kp;
  }
  for (const auto& kp : kr->peers)
    if ((!id || kp.identity_fqdn.empty()) && kp.Matches(peer)) return &kp;
  return nullptr;
}

bool IdentityMatches(const config::Ikev2Profile& p, const ikev2::IdPayload& id) {
  if (p.match_identity_remote.empty()) return true;
  using Kind = config::Ikev2IdentityMatch::Kind;
  if (const auto fqdn = FqdnOf(id)) {
    for (const auto& m : p.match_identity_remote) {
      if (m.kind == Kind::kFqdn && config::FqdnEquals(*fqdn, m.fqdn)) return true;
      if (m.kind == Kind::kFqdnDomain && config::FqdnInDomain(*fqdn, m.fqdn)) return true;
    }
    return false;
  }
  if (id.id_type != uint8_t(ikev2::IdType::kIpv4Addr) || id.data.size() != 4) return false;
  const IpAddress a = IpAddress::V4(id.data[0], id.data[1], id.data[2], id.data[3]);
  for (const auto& m : p.match_identity_remote) {
    if (m.kind != Kind::kAddress) continue;
    const uint32_t mask = m.mask ? m.mask->V4ToU32() : 0xffffffffu;
    if ((a.V4ToU32() & mask) == (m.address.V4ToU32() & mask)) return true;
  }
  return false;
}

bool ListsPeer(const config::CryptoMapEntry& e, const IpAddress& peer) {
  for (const auto& p : e.peers)
    if (p.address && *p.address == peer) return true;
  return false;
}

const config::KeepaliveConfig& DpdConfig(const config::Config& cfg, const std::string& profile) {
  const config::Ikev2Profile* p = cfg.FindIkev2Profile(profile);
  return p && p->dpd.enabled ? p->dpd : cfg.ikev2_dpd;
}

// The Child SA selectors in their 4-byte form (Ikev2V4), as v2::ToNet.
bool ToNet(const Range& r, Ikev2V4& net, Ikev2V4& mask) {
  IpAddress n = net, m = mask;
  const bool ok = v2::ToNet(r, n, m);
  net = n;
  mask = m;
  return ok;
}

uint8_t FirstType(const std::vector<Payload>& inner) {
  return inner.empty() ? uint8_t(PayloadType::kNone) : uint8_t(inner.front().type);
}

}  // namespace

// ===========================================================================================

Ikev2KeyBlock::Ikev2KeyBlock(const crypto::IkeSaKeys& k)
    : d_(static_cast<uint8_t>(k.sk_d.size())),
      a_(static_cast<uint8_t>(k.sk_ai.size())),
      e_(static_cast<uint8_t>(k.sk_ei.size())) {
  p_ = std::make_unique<uint8_t[]>(size());
  uint8_t* p = p_.get();
  for (const SecretBytes* part : {&k.sk_d, &k.sk_ai, &k.sk_ar, &k.sk_ei, &k.sk_er}) {
    if (!part->empty()) std::memcpy(p, part->data(), part->size());
    p += part->size();
  }
}

void Ikev2KeyBlock::CopyFrom(const Ikev2KeyBlock& o) {
  d_ = o.d_;
  a_ = o.a_;
  e_ = o.e_;
  if (!o.p_) return;
  p_ = std::make_unique<uint8_t[]>(size());
  std::memcpy(p_.get(), o.p_.get(), size());
}

void Ikev2KeyBlock::Free() {
  if (p_) SecureWipe(p_.get(), size());
  p_.reset();
  d_ = a_ = e_ = 0;
}

crypto::SkKeys Ikev2KeyBlock::For(const crypto::IkeSuite& s, bool sender_is_initiator) const {
  crypto::SkKeys out;
  out.encr = s.encr;
  out.integ = s.integ;
  out.encr_key = sender_is_initiator ? sk_ei() : sk_er();
  out.integ_key = sender_is_initiator ? sk_ai() : sk_ar();
  return out;
}

ClonePtr<Ikev2Session::ChildKeys> Ikev2Session::KeysOf(crypto::ChildSaKeys& k,
                                                       bool we_initiated) {
  auto keys = std::make_unique<ChildKeys>();
  keys->enc_out = std::move(we_initiated ? k.encr_i : k.encr_r);
  keys->auth_out = std::move(we_initiated ? k.integ_i : k.integ_r);
  keys->enc_in = std::move(we_initiated ? k.encr_r : k.encr_i);
  keys->auth_in = std::move(we_initiated ? k.integ_r : k.integ_i);
  return keys;
}

Ikev2Session::Negotiation::~Negotiation() {
  WipeAndFree(ni);
  WipeAndFree(nr);
  WipeAndFree(init_request);
  WipeAndFree(init_response);
}

Ikev2Session::Ikev2Session(SaId id, Ikev2Options opts)
    : id_(id), opts_(std::make_shared<const Ikev2Options>(opts)) {}
Ikev2Session::Ikev2Session(SaId id, std::shared_ptr<const Ikev2Options> opts)
    : id_(id), opts_(opts ? std::move(opts) : std::make_shared<const Ikev2Options>()) {}
Ikev2Session::~Ikev2Session() = default;

std::unique_ptr<Session> Ikev2Session::Clone() const {
  return std::unique_ptr<Session>(new Ikev2Session(*this));
}

std::string Ikev2Session::Tag() const { return "IKEv2:(SA ID = " + std::to_string(id_) + "):"; }

void Ikev2Session::Dbg(SessionHost& host, std::string_view text) const {
  if (!host.DebugOn()) return;
  host.Debug(Tag() + std::string(text));
}

ikev2::Header Ikev2Session::MakeHeader(ExchangeType x, bool response, uint32_t mid) const {
  ikev2::Header h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange = x;
  h.flags = static_cast<uint8_t>((initiator_ ? ikev2::kFlagInitiator : 0) |
                                 (response ? ikev2::kFlagResponse : 0));
  h.message_id = mid;
  return h;
}

void Ikev2Session::SendWire(SessionHost& host, const Bytes& wire) {
  if (host.DebugOn())
    host.Debug(Tag() + "Sending Packet [To " + remote_.ToString() + "/From " +
               local_.ToString() + "]");
  if (floated()) {
    Bytes d(4, 0);
    d.insert(d.end(), wire.begin(), wire.end());
    host.Send(local_, remote_, std::move(d));
  } else {
    host.Send(local_, remote_, wire);
  }
}

void Ikev2Session::SendRequest(SessionHost& host, ReqKind kind, Bytes wire,
                               uint32_t child_spi_in) {
  Outstanding o;
  o.kind = kind;
  o.mid = next_mid_++;
  o.wire = std::move(wire);
  o.child_spi_in = child_spi_in;
  if (kind != ReqKind::kLiveness) {
    o.due = host.Now() + RetransmitGap(opts_->retransmit, 1);
    o.send_at = o.due - RetransmitJitter(opts_->retransmit, 1, host.Rng());
  }
  out_ = std::make_unique<Outstanding>(std::move(o));
  SendWire(host, out_->wire);
}

void Ikev2Session::SendResponse(SessionHost& host, Bytes wire, ByteSpan request,
                                bool empty_informational) {
  const Bytes d = Digest(request);
  std::copy_n(d.begin(), std::min(d.size(), last_request_digest_.size()),
              last_request_digest_.begin());
  ++peer_next_mid_;
  SendWire(host, wire);
  if (empty_informational) {
    cached_.reset();
    answer_ = Answer::kEmptyInformational;
    return;
  }
  if (!cached_) cached_ = std::make_unique<CachedResponse>();
  WipeAndFree(cached_->wire);
  cached_->wire = std::move(wire);
  cached_->until = host.Now() + opts_->response_cache_lifetime;
  cached_->until_heard = false;
  answer_ = Answer::kCached;
}

void Ikev2Session::ForgetResponse() {
  cached_.reset();
  answer_ = Answer::kNone;
  last_request_digest_.fill(0);
}

std::optional<Bytes> Ikev2Session::Seal(SessionHost& host, ExchangeType x, bool response,
                                        uint32_t mid, const std::vector<Payload>& inner) {
  return SealAs(host, spi_i_, spi_r_, initiator_, suite_, keys_, x, response, mid, inner);
}

std::optional<Bytes> Ikev2Session::SealAs(SessionHost& host, const ikev2::Spi& spi_i,
                                          const ikev2::Spi& spi_r, bool initiator,
                                          const crypto::IkeSuite& suite,
                                          const Ikev2KeyBlock& keys, ExchangeType x,
                                          bool response, uint32_t mid,
                                          const std::vector<Payload>& inner) {
  ikev2::Header h;
  h.spi_i = spi_i;
  h.spi_r = spi_r;
  h.exchange = x;
  h.flags = static_cast<uint8_t>((initiator ? ikev2::kFlagInitiator : 0) |
                                 (response ? ikev2::kFlagResponse : 0));
  h.message_id = mid;
  h.next_payload = PayloadType::kSk;
  Bytes prefix;
  ByteWriter w(prefix);
  ikev2::SerializeHeader(h, w);
  w.U8(FirstType(inner));
  w.U8(0);
  w.U16(0);
  const Bytes body = ikev2::SerializePayloads(inner);
  auto r = crypto::ProtectSk(keys.For(suite, initiator), prefix, body,
                             host.Rng());
  if (!r) return std::nullopt;
  return std::move(*r);
}

std::optional<std::vector<Payload>> Ikev2Session::Open(SessionHost& host,
                                                       const std::vector<Payload>& outer,
                                                       ByteSpan msg) {
  return OpenAs(host, suite_, keys_, !initiator_, outer, msg);
}

std::optional<std::vector<Payload>> Ikev2Session::OpenAs(SessionHost& host,
                                                         const crypto::IkeSuite& suite,
                                                         const Ikev2KeyBlock& keys,
                                                         bool peer_initiator,
                                                         const std::vector<Payload>& outer,
                                                         ByteSpan msg) {
  const Payload* sk = ikev2::FindType(outer, PayloadType::kSk);
  if (!sk) {
    host.Drop("dropped_state", "IKEv2 message without an Encrypted payload");
    return std::nullopt;
  }
  auto plain =
      crypto::UnprotectSk(keys.For(suite, peer_initiator), msg, sk->offset);
  if (!plain) {
    host.Drop("dropped_auth", plain.error().detail);
    return std::nullopt;
  }
  const auto* enc = std::get_if<ikev2::EncryptedPayload>(&sk->body);
  auto inner = ikev2::ParsePayloads(enc ? enc->inner_next : PayloadType::kNone, *plain, 0,
                                    ikev2::ChainKind::kInner);
  if (!inner) {
    host.Drop("dropped_malformed", inner.error().detail);
    return std::nullopt;
  }
  return std::move(*inner);
}

// ---- Initiator: IKE_SA_INIT ------------------------------------------------------------

void Ikev2Session::Initiate(SessionHost& host, const config::CryptoMapEntry& entry,
                            const Endpoint& local, const Endpoint& remote) {
  if (state_ != State::kIdle) return;
  initiator_ = true;
  local_ = local;
  remote_ = remote;
  SetNames(entry.map_name, entry.ikev2_profile);
  map_seq_ = entry.seq;
  const config::Config& cfg = host.Cfg();
  const config::Ikev2Profile* prof = cfg.FindIkev2Profile(profile());
  if (!prof) return Fail(host, "crypto map entry has no usable ikev2-profile");
  lifetime_s_ = prof->lifetime_s;
  keeps_up_ = true;
  host.Rng().Fill(spi_i_);
  if (std::all_of(spi_i_.begin(), spi_i_.end(), [](uint8_t b) { return b == 0; })) spi_i_[0] = 1;
  neg_ = std::make_unique<Negotiation>();
  neg_->offered = OurIkeProposals(cfg, local.ip);
  if (neg_->offered.proposals.empty()) return Fail(host, "no complete IKEv2 proposal");
  for (const auto& t : neg_->offered.proposals.front().transforms)
    if (t.type == uint8_t(TransformType::kDh)) {
      group_ = t.id;
      break;
    }
  neg_->ni.resize(kNonceSize);
  host.Rng().Fill(neg_->ni);
  if (!BuildAndSendInit(host)) return Fail(host, "cannot generate a DH key pair");
  state_ = State::kInitSent;
}

bool Ikev2Session::BuildAndSendInit(SessionHost& host, bool keep_dh) {
  if (!keep_dh || !neg_->dh) neg_->dh = crypto::DhKeyPair::Generate(group_);
  if (!neg_->dh) return false;
  std::vector<Payload> p;
  if (!neg_->cookie.empty())
    p.push_back(ikev2::MakeNotify(NotifyType::kCookie, neg_->cookie));  // first (§2.6)
  p.push_back(ikev2::MakePayload(neg_->offered));
  p.push_back(ikev2::MakePayload(ikev2::KePayload{group_, neg_->dh->public_value()}));
  p.push_back(ikev2::MakePayload(ikev2::NoncePayload{neg_->ni}));
  const ikev2::Spi zero{};
  p.push_back(ikev2::MakeNotify(NotifyType::kNatDetectionSourceIp, NatHash(spi_i_, zero, local_)));
  p.push_back(
      ikev2::MakeNotify(NotifyType::kNatDetectionDestinationIp, NatHash(spi_i_, zero, remote_)));
  Bytes m = ikev2::BuildMessage(MakeHeader(ExchangeType::kIkeSaInit, false, 0), p);
  neg_->init_request = m;
  next_mid_ = 0;
  if (host.DebugOn())
    host.Debug(Tag() + "Sending IKE_SA_INIT request, DH group " + std::to_string(group_));
  SendRequest(host, ReqKind::kInit, std::move(m));
  return true;
}

bool Ikev2Session::OnCookieResponse(SessionHost& host, const ikev2::Header& h,
                                    const std::vector<Payload>& payloads) {
  const auto* n = ikev2::FindNotify(payloads, NotifyType::kCookie);
  if (!n) return false;
  constexpr size_t kMaxCookie = 64;  // RFC 7296 §2.6: 1 to 64 octets
  if (h.message_id != 0 || h.spi_r != ikev2::Spi{} || state_ != State::kInitSent ||
      n->data.empty() || n->data.size() > kMaxCookie) {
    host.Drop("dropped_malformed", "IKEv2 COOKIE response not acceptable");
    return true;
  }
  if (neg_->cookie_rounds >= opts_->max_cookie_rounds) {
    Fail(host, "the responder keeps asking for a COOKIE");
    return true;
  }
  ++neg_->cookie_rounds;
  neg_->cookie = n->data;
  Dbg(host, "Received COOKIE (" + std::to_string(n->data.size()) +
                " bytes): sending IKE_SA_INIT again with it");
  out_.reset();
  if (!BuildAndSendInit(host, /*keep_dh=*/true)) Fail(host, "cannot generate a DH key pair");
  return true;
}

void Ikev2Session::OnInitResponse(SessionHost& host, const ikev2::Header& h,
                                  const std::vector<Payload>& payloads, ByteSpan msg) {
  if (OnCookieResponse(host, h, payloads)) return;
  if (const auto* n = ikev2::FindNotify(payloads, NotifyType::kInvalidKePayload)) {
    uint16_t g = n->data.size() == 2 ? uint16_t((n->data[0] << 8) | n->data[1]) : 0;
    bool allowed = false;
    for (const auto& p : neg_->offered.proposals)
      for (const auto& t : p.transforms)
        if (t.type == uint8_t(TransformType::kDh) && t.id == g) allowed = true;
    if (!allowed || g == group_ || neg_->invalid_ke >= opts_->max_invalid_ke) {
      return Fail(host, "INVALID_KE_PAYLOAD asks for a group we do not offer");
    }
    ++neg_->invalid_ke;
    Dbg(host, "INVALID_KE_PAYLOAD: retrying with DH group " + std::to_string(g));
    group_ = g;
    out_.reset();
    if (!BuildAndSendInit(host)) return Fail(host, "cannot generate a DH key pair");
    return;
  }
  for (const auto& p : payloads)
    if (const auto* n = std::get_if<ikev2::NotifyPayload>(&p.body); n && n->is_error()) {
      return Fail(host, std::string("IKE_SA_INIT refused: ") + ikev2::NotifyTypeName(n->type));
    }
  const auto* sa = ikev2::Find<ikev2::SaPayload>(payloads);
  const auto* ke = ikev2::Find<ikev2::KePayload>(payloads);
  const auto* nr = ikev2::Find<ikev2::NoncePayload>(payloads);
  const ikev2::Spi zero{};
  if (!sa || !ke || !nr || h.spi_r == zero) {
    host.Drop("dropped_malformed", "IKE_SA_INIT response without SA, KE, Nr or SPIr");
    return;
  }
  if (sa->proposals.size() != 1) {
    host.Drop("dropped_malformed", "IKE_SA_INIT response must accept one proposal");
    return;
  }
  auto choice = SuiteOf(sa->proposals.front());
  bool offered = false;
  if (choice)
    for (const auto& p : neg_->offered.proposals)
      if (p.number == sa->proposals.front().number &&
          std::all_of(choice->reply.transforms.begin(), choice->reply.transforms.end(),
                      [&](const auto& t) { return Lists(p, t); }))
        offered = true;
  if (!choice || !offered || choice->group != group_ || ke->dh_group != group_) {
    host.Drop("dropped_malformed", "IKE_SA_INIT response chose what we did not offer");
    return;
  }
  auto shared = neg_->dh->ComputeShared(ke->data);
  if (!shared) {
    host.Drop("dropped_malformed", "IKE_SA_INIT response: bad KE data");
    return;
  }
  suite_ = choice->suite;
  spi_r_ = h.spi_r;
  neg_->nr = nr->data;
  const SecretBytes skeyseed = crypto::Skeyseed(suite_.prf, neg_->ni, neg_->nr, shared->span());
  auto keys = crypto::DeriveIkeSaKeys(suite_, skeyseed.span(), neg_->ni, neg_->nr, spi_i_, spi_r_);
  if (!keys) return Fail(host, "IKE SA key derivation failed");
  keys_ = Ikev2KeyBlock(*keys);
  neg_->sk_pi = std::move(keys->sk_pi);
  neg_->sk_pr = std::move(keys->sk_pr);
  neg_->dh = nullptr;
  neg_->init_response.assign(msg.begin(), msg.end());
  // NAT detection (RFC 7296 §2.23): hashes over the SPIs of this message's header.
  const auto* src = ikev2::FindNotify(payloads, NotifyType::kNatDetectionSourceIp);
  bool dst_ok = false;
  for (const auto& p : payloads)
    if (const auto* n = std::get_if<ikev2::NotifyPayload>(&p.body);
        n && n->type == uint16_t(NotifyType::kNatDetectionDestinationIp) &&
        n->data == NatHash(spi_i_, spi_r_, local_))
      dst_ok = true;
  if (src) {
    bool src_ok = false;
    for (const auto& p : payloads)
      if (const auto* n = std::get_if<ikev2::NotifyPayload>(&p.body);
          n && n->type == uint16_t(NotifyType::kNatDetectionSourceIp) &&
          n->data == NatHash(spi_i_, spi_r_, remote_))
        src_ok = true;
    nat_detected_ = !src_ok || !dst_ok;
  }
  if (nat_detected_ || host.Cfg().force_encapsulation) {
    Dbg(host, nat_detected_ ? "NAT detected, floating to the NAT-T port"
                            : "forced encapsulation, floating to the NAT-T port");
    local_.port = opts_->natt_port;
    remote_.port = opts_->natt_port;
  }
  out_.reset();
  if (!SendAuth(host)) return;
  state_ = State::kAuthSent;
}

// ---- Initiator: IKE_AUTH ---------------------------------------------------------------

bool Ikev2Session::SendAuth(SessionHost& host) {
  const config::Config& cfg = host.Cfg();
  const config::Ikev2Profile* prof = cfg.FindIkev2Profile(profile());
  const config::CryptoMapEntry* e = cfg.FindCryptoMap(map_name(), map_seq_);
  if (!prof || !e) {
    Fail(host, "crypto map entry or ikev2-profile removed");
    return false;
  }
  const config::Ikev2KeyringPeer* kp = KeyFor(cfg, *prof, remote_.ip);
  if (!kp || kp->LocalKey().empty()) {
    Fail(host, "no pre-shared key for the peer in the profile's keyring");
    return false;
  }
  const config::AclEntry* acl = FirstPermit(cfg.FindAcl(e->match_address));
  if (!acl || acl->src.v6 || acl->dst.v6) {
    Fail(host, "match address has no IPv4 permit entry");
    return false;
  }
  const uint32_t spi_in = host.AllocateSpiIn();
  ikev2::SaPayload esp = OurEspProposals(cfg, *e, spi_in);
  if (esp.proposals.empty()) {
    host.ReleaseSpiIn(spi_in);
    Fail(host, "no usable transform set");
    return false;
  }
  neg_->child_spi_in = spi_in;
  neg_->ts_i = ToTs(FromNet(acl->src, Invert(acl->src_wildcard), acl->protocol));
  neg_->ts_r = ToTs(FromNet(acl->dst, Invert(acl->dst_wildcard), acl->protocol));
  const ikev2::IdPayload idi = LocalIdOf(*prof, local_.ip);
  const SecretBytes auth = crypto::PskAuth(suite_.prf, kp->LocalKey().span(), neg_->init_request,
                                           neg_->nr, neg_->sk_pi.span(), ikev2::SerializeBody(idi));
  std::vector<Payload> inner;
  inner.push_back(ikev2::MakePayload(PayloadType::kIdi, idi));
  if (opts_->send_initial_contact) inner.push_back(ikev2::MakeNotify(NotifyType::kInitialContact));
  inner.push_back(ikev2::MakePayload(
      ikev2::AuthPayload{uint8_t(ikev2::AuthMethod::kSharedKey), Bytes(auth.span().begin(),
                                                                       auth.span().end())}));
  inner.push_back(ikev2::MakePayload(std::move(esp)));
  inner.push_back(ikev2::MakePayload(PayloadType::kTsi, ikev2::TsPayload{{neg_->ts_i}}));
  inner.push_back(ikev2::MakePayload(PayloadType::kTsr, ikev2::TsPayload{{neg_->ts_r}}));
  next_mid_ = 1;
  auto wire = Seal(host, ExchangeType::kIkeAuth, false, 1, inner);
  // The AUTH value went into `inner` as a plain copy: wipe it.
  for (auto& p : inner)
    if (auto* a = std::get_if<ikev2::AuthPayload>(&p.body)) WipeAndFree(a->data);
  if (!wire) {
    Fail(host, "cannot protect IKE_AUTH");
    return false;
  }
  Dbg(host, "Sending IKE_AUTH request");
  SendRequest(host, ReqKind::kAuth, std::move(*wire));
  return true;
}

void Ikev2Session::OnAuthResponse(SessionHost& host, const std::vector<Payload>& inner) {
  out_.reset();
  host.Heard();
  // An error notify the responder sends when it refuses the Child SA but sets up the IKE SA
  // (RFC 7296 §1.2, §2.21.2; Libreswan 4.10 with no kernel ESP: TS_UNACCEPTABLE).
  const ikev2::NotifyPayload* child_refused = nullptr;
  for (const auto& p : inner)
    if (const auto* n = std::get_if<ikev2::NotifyPayload>(&p.body); n && n->is_error()) {
      if (n->type != uint16_t(NotifyType::kTsUnacceptable) &&
          n->type != uint16_t(NotifyType::kNoProposalChosen))
        return Fail(host, std::string("IKE_AUTH refused by the peer: ") +
                              ikev2::NotifyTypeName(n->type));
      if (!child_refused) child_refused = n;
    }
  const config::Config& cfg = host.Cfg();
  const config::Ikev2Profile* prof = cfg.FindIkev2Profile(profile());
  const config::Ikev2KeyringPeer* kp = prof ? KeyFor(cfg, *prof, remote_.ip) : nullptr;
  const Payload* idr = ikev2::FindType(inner, PayloadType::kIdr);
  const auto* auth = ikev2::Find<ikev2::AuthPayload>(inner);
  const auto* idr_body = idr ? std::get_if<ikev2::IdPayload>(&idr->body) : nullptr;
  if (!kp || !idr_body || !auth || auth->method != uint8_t(ikev2::AuthMethod::kSharedKey) ||
      !crypto::VerifyPskAuth(suite_.prf, kp->RemoteKey().span(), neg_->init_response, neg_->ni,
                             neg_->sk_pr.span(), ikev2::SerializeBody(*idr_body), auth->data)) {
    return Fail(host, "the peer's AUTH does not verify");
  }
  // The Child SA.
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  const Payload* tsi = ikev2::FindType(inner, PayloadType::kTsi);
  const Payload* tsr = ikev2::FindType(inner, PayloadType::kTsr);
  if (child_refused && !sa) {
    // The peer authenticated and keeps the IKE SA without a Child SA: so do we (a childless
    // IKE SA: liveness and Delete work on it; no traffic is protected until a Child SA exists,
    // and we do not create one later, see the header).
    host.ReleaseSpiIn(neg_->child_spi_in);
    neg_->child_spi_in = 0;
    Dbg(host, std::string("The peer refused the Child SA (") +
                  ikev2::NotifyTypeName(child_refused->type) + "): IKE SA without a Child SA");
    BecomeEstablished(host);
    return;
  }
  const config::CryptoMapEntry* e = cfg.FindCryptoMap(map_name(), map_seq_);
  std::optional<Phase2Algs> algs;
  uint32_t peer_spi = 0;
  if (sa && sa->proposals.size() == 1 && e) {
    for (const auto& name : e->transform_sets) {
      const config::TransformSet* ts = cfg.FindTransformSet(name);
      auto ids = ts ? EspIdsOf(*ts) : std::nullopt;
      if (ids && EspMatches(sa->proposals.front(), *ids, true)) {
        algs = AlgsOf(*ts, *e);
        peer_spi = SpiValue(sa->proposals.front().spi);
        break;
      }
    }
  }
  const auto* tsi_b = tsi ? std::get_if<ikev2::TsPayload>(&tsi->body) : nullptr;
  const auto* tsr_b = tsr ? std::get_if<ikev2::TsPayload>(&tsr->body) : nullptr;
  std::optional<Range> ri, rr;
  if (tsi_b && tsr_b && !tsi_b->selectors.empty() && !tsr_b->selectors.empty()) {
    ri = FromTs(tsi_b->selectors.front());
    rr = FromTs(tsr_b->selectors.front());
    if (ri && !Within(*ri, *FromTs(neg_->ts_i))) ri.reset();
    if (rr && !Within(*rr, *FromTs(neg_->ts_r))) rr.reset();
  }
  if (!algs || !ri || !rr) {
    // Authenticated, but without the Child SA we asked for: end the IKE SA.
    if (auto d = Seal(host, ExchangeType::kInformational, false, next_mid_,
                      {ikev2::MakePayload(ikev2::DeletePayload{uint8_t(ikev2::ProtocolId::kIke), 0, {}})}))
      SendWire(host, *d);
    return Fail(host, "IKE_AUTH response without an acceptable Child SA");
  }
  Child ch;
  ch.spi_in = neg_->child_spi_in;
  ch.spi_out = peer_spi;
  ch.algs = *algs;
  ch.algs.udp_encap = floated();
  ch.map_seq = map_seq_;
  ch.protocol = ri->proto;
  // Selectors that are not a prefix are shown as what we asked for.
  if (!ToNet(*ri, ch.local_net, ch.local_mask))
    ToNet(*FromTs(neg_->ts_i), ch.local_net, ch.local_mask);
  if (!ToNet(*rr, ch.remote_net, ch.remote_mask))
    ToNet(*FromTs(neg_->ts_r), ch.remote_net, ch.remote_mask);
  crypto::ChildSaKeys k = crypto::DeriveChildSaKeys(suite_.prf, keys_.sk_d(), std::nullopt,
                                                    neg_->ni, neg_->nr, ch.algs.EncKeyLength(),
                                                    ch.algs.AuthKeyLength());
  ch.keys = KeysOf(k, /*we_initiated=*/true);
  SetChildTimers(host, ch);
  neg_->child_spi_in = 0;  // installed
  children_.push_back(std::move(ch));
  BecomeEstablished(host);
  host.ChildUp(ChildSaUp{children_.back().spi_in, children_.back().spi_out, map_name(), map_seq_});
}

void Ikev2Session::BecomeEstablished(SessionHost& host) {
  state_ = State::kEstablished;
  established_at_ = host.Now();
  SetIkeTimers(host);
  neg_ = nullptr;  // nonces, DH, the IKE_SA_INIT messages, SK_pi and SK_pr
  dpd_.emplace(DpdConfig(host.Cfg(), profile()), host.Rng());
  dpd_->OnEstablished(host.Now(), /*peer_supports_dpd=*/true);
  Dbg(host, "IKE SA established (" + std::string(crypto::Ikev2EncrName(suite_.encr)) + ", " +
                crypto::HashName(suite_.prf) + ", DH group " + std::to_string(group_) + ")");
  host.Established();
}

// ---- Responder -------------------------------------------------------------------------

namespace {
// A stateless IKE_SA_INIT error response (SPIr zero).
void SendInitError(SessionHost& host, const Endpoint& local, const Endpoint& remote,
                   const ikev2::Header& req, NotifyType type, Bytes data) {
  ikev2::Header h;
  h.spi_i = req.spi_i;
  h.exchange = ExchangeType::kIkeSaInit;
  h.flags = ikev2::kFlagResponse;
  h.message_id = 0;
  Bytes m = ikev2::BuildMessage(h, {ikev2::MakeNotify(type, std::move(data))});
  if (host.DebugOn())
    host.Debug(std::string("IKEv2:Sending IKE_SA_INIT error ") + ikev2::NotifyTypeName(uint16_t(type)) +
               " to " + remote.ToString());
  host.Send(local, remote, std::move(m));
}
}  // namespace

std::unique_ptr<Ikev2Session> Ikev2Session::Respond(SessionHost& host, const Endpoint& local,
                                                    const Endpoint& remote, ByteSpan request,
                                                    SaId id, Ikev2Options opts) {
  return Respond(host, local, remote, request, id, std::make_shared<const Ikev2Options>(opts));
}

std::unique_ptr<Ikev2Session> Ikev2Session::Respond(SessionHost& host, const Endpoint& local,
                                                    const Endpoint& remote, ByteSpan request,
                                                    SaId id,
                                                    std::shared_ptr<const Ikev2Options> opts) {
  auto m = ikev2::ParseMessage(request);
  if (!m) {
    host.Drop("dropped_malformed", m.error().detail);
    return nullptr;
  }
  const ikev2::Header& h = m->header;
  const ikev2::Spi zero{};
  if (h.exchange != ExchangeType::kIkeSaInit || !h.initiator() || h.response() ||
      h.message_id != 0 || h.spi_r != zero || h.spi_i == zero) {
    host.Drop("dropped_state", "not an IKE_SA_INIT request");
    return nullptr;
  }
  const auto* sa = ikev2::Find<ikev2::SaPayload>(m->payloads);
  const auto* ke = ikev2::Find<ikev2::KePayload>(m->payloads);
  const auto* ni = ikev2::Find<ikev2::NoncePayload>(m->payloads);
  if (!sa || !ke || !ni) {
    host.Drop("dropped_malformed", "IKE_SA_INIT request without SA, KE or Ni");
    return nullptr;
  }
  const config::Config& cfg = host.Cfg();
  auto choice = SelectIke(*sa, OurIkeProposals(cfg, local.ip));
  if (!choice) {
    SendInitError(host, local, remote, h, NotifyType::kNoProposalChosen, {});
    return nullptr;
  }
  if (ke->dh_group != choice->group) {
    SendInitError(host, local, remote, h, NotifyType::kInvalidKePayload,
                  Bytes{uint8_t(choice->group >> 8), uint8_t(choice->group)});
    return nullptr;
  }
  std::unique_ptr<Ikev2Session> s(new Ikev2Session(id, std::move(opts)));
  s->initiator_ = false;
  s->local_ = local;
  s->remote_ = remote;
  s->spi_i_ = h.spi_i;
  host.Rng().Fill(s->spi_r_);
  if (s->spi_r_ == zero) s->spi_r_[0] = 1;
  s->suite_ = choice->suite;
  s->group_ = choice->group;
  s->neg_ = std::make_unique<Negotiation>();
  Negotiation& n = *s->neg_;
  std::unique_ptr<crypto::DhKeyPair> dh = crypto::DhKeyPair::Generate(s->group_);
  if (!dh) {
    host.Drop("dropped_state", "cannot generate a DH key pair");
    return nullptr;
  }
  auto shared = dh->ComputeShared(ke->data);
  if (!shared) {
    host.Drop("dropped_malformed", "IKE_SA_INIT request: bad KE data");
    return nullptr;
  }
  n.ni = ni->data;
  n.nr.resize(kNonceSize);
  host.Rng().Fill(n.nr);
  const SecretBytes skeyseed = crypto::Skeyseed(s->suite_.prf, n.ni, n.nr, shared->span());
  auto keys =
      crypto::DeriveIkeSaKeys(s->suite_, skeyseed.span(), n.ni, n.nr, s->spi_i_, s->spi_r_);
  if (!keys) {
    host.Drop("dropped_state", "IKE SA key derivation failed");
    return nullptr;
  }
  s->keys_ = Ikev2KeyBlock(*keys);
  n.sk_pi = std::move(keys->sk_pi);
  n.sk_pr = std::move(keys->sk_pr);
  // NAT detection: the request's hashes are over SPIi | 0.
  std::vector<Payload> out;
  out.push_back(ikev2::MakePayload(ikev2::SaPayload{{choice->reply}}));
  out.push_back(ikev2::MakePayload(ikev2::KePayload{s->group_, dh->public_value()}));
  out.push_back(ikev2::MakePayload(ikev2::NoncePayload{n.nr}));
  if (ikev2::FindNotify(m->payloads, NotifyType::kNatDetectionSourceIp)) {
    const auto* dst = ikev2::FindNotify(m->payloads, NotifyType::kNatDetectionDestinationIp);
    bool src_ok = false;
    for (const auto& p : m->payloads)
      if (const auto* nt = std::get_if<ikev2::NotifyPayload>(&p.body);
          nt && nt->type == uint16_t(NotifyType::kNatDetectionSourceIp) &&
          nt->data == NatHash(h.spi_i, zero, remote))
        src_ok = true;
    const bool dst_ok = dst && dst->data == NatHash(h.spi_i, zero, local);
    s->nat_detected_ = !src_ok || !dst_ok;
    out.push_back(ikev2::MakeNotify(NotifyType::kNatDetectionSourceIp,
                                    NatHash(s->spi_i_, s->spi_r_, local)));
    out.push_back(ikev2::MakeNotify(NotifyType::kNatDetectionDestinationIp,
                                    NatHash(s->spi_i_, s->spi_r_, remote)));
  }
  Bytes resp = ikev2::BuildMessage(s->MakeHeader(ExchangeType::kIkeSaInit, true, 0), out);
  const ByteSpan req = request.first(h.length);
  n.init_request.assign(req.begin(), req.end());
  n.init_response = resp;
  n.expires = host.Now() + s->opts_->half_open_lifetime;
  s->state_ = State::kInitAnswered;
  s->peer_next_mid_ = 0;
  if (host.DebugOn())
    host.Debug(s->Tag() + "Received IKE_SA_INIT request from " + remote.ToString() +
               ", chose " + crypto::Ikev2EncrName(s->suite_.encr) + " " +
               crypto::HashName(s->suite_.prf) + " DH group " + std::to_string(s->group_) +
               (s->nat_detected_ ? ", NAT detected" : ""));
  s->SendResponse(host, std::move(resp), req);
  return s;
}

void Ikev2Session::OnAuthRequest(SessionHost& host, const std::vector<Payload>& inner,
                                 const Endpoint& local, const Endpoint& remote, ByteSpan msg) {
  host.Heard();
  if (local.port == opts_->natt_port && !floated()) {  // the initiator floated (§2.23)
    local_ = local;
    remote_ = remote;
  }
  const config::Config& cfg = host.Cfg();
  const Payload* idi_p = ikev2::FindType(inner, PayloadType::kIdi);
  const auto* idi = idi_p ? std::get_if<ikev2::IdPayload>(&idi_p->body) : nullptr;
  const auto* auth = ikev2::Find<ikev2::AuthPayload>(inner);
  const config::CryptoMapEntry* entry = nullptr;
  const config::Ikev2Profile* prof = nullptr;
  const config::Ikev2KeyringPeer* key = nullptr;
  if (idi && auth && auth->method == uint8_t(ikev2::AuthMethod::kSharedKey)) {
    const Bytes idi_body = ikev2::SerializeBody(*idi);
    size_t tried = 0;
    for (const config::CryptoMapEntry* listed : host.EntriesFor(remote_.ip)) {  // in order
      const config::CryptoMapEntry& e = *listed;
      if (e.ikev2_profile.empty() || !ListsPeer(e, remote_.ip)) continue;
      if (++tried > 64) break;  // bounded: AUTH is an HMAC per candidate
      const config::Ikev2Profile* p = cfg.FindIkev2Profile(e.ikev2_profile);
      if (!p || !IdentityMatches(*p, *idi)) continue;
      const config::Ikev2KeyringPeer* kp = KeyFor(cfg, *p, remote_.ip, idi);
      if (!kp || kp->RemoteKey().empty()) continue;
      if (crypto::VerifyPskAuth(suite_.prf, kp->RemoteKey().span(), neg_->init_request,
                                neg_->nr, neg_->sk_pi.span(), idi_body, auth->data)) {
        entry = &e;
        prof = p;
        key = kp;
        break;
      }
    }
  }
  if (!entry || key->LocalKey().empty()) {
    if (auto w = Seal(host, ExchangeType::kIkeAuth, true, peer_next_mid_,
                      {ikev2::MakeNotify(NotifyType::kAuthenticationFailed)}))
      SendResponse(host, std::move(*w), msg);
    return Fail(host, "AUTHENTICATION_FAILED: no profile and key verify the peer");
  }
  SetNames(entry->map_name, entry->ikev2_profile);
  map_seq_ = entry->seq;
  lifetime_s_ = prof->lifetime_s;
  const ikev2::IdPayload idr = LocalIdOf(*prof, local_.ip);
  const SecretBytes our_auth =
      crypto::PskAuth(suite_.prf, key->LocalKey().span(), neg_->init_response, neg_->ni,
                      neg_->sk_pr.span(), ikev2::SerializeBody(idr));
  std::vector<Payload> out;
  out.push_back(ikev2::MakePayload(PayloadType::kIdr, idr));
  out.push_back(ikev2::MakePayload(ikev2::AuthPayload{
      uint8_t(ikev2::AuthMethod::kSharedKey), Bytes(our_auth.span().begin(), our_auth.span().end())}));
  // The Child SA: ESP proposal and selectors narrowed to the entry's ACL.
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  const Payload* tsi = ikev2::FindType(inner, PayloadType::kTsi);
  const Payload* tsr = ikev2::FindType(inner, PayloadType::kTsr);
  const auto* tsi_b = tsi ? std::get_if<ikev2::TsPayload>(&tsi->body) : nullptr;
  const auto* tsr_b = tsr ? std::get_if<ikev2::TsPayload>(&tsr->body) : nullptr;
  const config::AclEntry* acl = FirstPermit(cfg.FindAcl(entry->match_address));
  std::optional<EspChoice> esp = sa ? SelectEsp(*sa, cfg, *entry) : std::nullopt;
  std::optional<Range> ri, rr;  // the peer's side (TSi), ours (TSr)
  if (acl && !acl->src.v6 && !acl->dst.v6 && tsi_b && tsr_b) {
    ri = Narrow(*tsi_b, FromNet(acl->dst, Invert(acl->dst_wildcard), acl->protocol));
    rr = Narrow(*tsr_b, FromNet(acl->src, Invert(acl->src_wildcard), acl->protocol));
  }
  std::optional<Child> child;
  if (!esp) {
    out.push_back(ikev2::MakeNotify(NotifyType::kNoProposalChosen));
  } else if (!ri || !rr) {
    out.push_back(ikev2::MakeNotify(NotifyType::kTsUnacceptable));
  } else {
    child.emplace();
    Child& ch = *child;
    ch.spi_in = host.AllocateSpiIn();
    ch.spi_out = esp->peer_spi;
    ch.algs = esp->algs;
    ch.algs.udp_encap = floated() || nat_detected_;
      ch.map_seq = map_seq_;
    ch.protocol = rr->proto;
    const Range our_local = FromNet(acl->src, Invert(acl->src_wildcard), acl->protocol);
    const Range our_remote = FromNet(acl->dst, Invert(acl->dst_wildcard), acl->protocol);
    if (!ToNet(*rr, ch.local_net, ch.local_mask)) ToNet(our_local, ch.local_net, ch.local_mask);
    if (!ToNet(*ri, ch.remote_net, ch.remote_mask)) ToNet(our_remote, ch.remote_net, ch.remote_mask);
    crypto::ChildSaKeys k = crypto::DeriveChildSaKeys(suite_.prf, keys_.sk_d(), std::nullopt,
                                                      neg_->ni, neg_->nr, ch.algs.EncKeyLength(),
                                                      ch.algs.AuthKeyLength());
    ch.keys = KeysOf(k, /*we_initiated=*/false);
    SetChildTimers(host, ch);
    ikev2::Proposal reply = esp->reply;
    reply.spi = SpiBytes(ch.spi_in);
    out.push_back(ikev2::MakePayload(ikev2::SaPayload{{reply}}));
    out.push_back(ikev2::MakePayload(PayloadType::kTsi, ikev2::TsPayload{{ToTs(*ri)}}));
    out.push_back(ikev2::MakePayload(PayloadType::kTsr, ikev2::TsPayload{{ToTs(*rr)}}));
  }
  auto wire = Seal(host, ExchangeType::kIkeAuth, true, peer_next_mid_, out);
  for (auto& p : out)
    if (auto* a = std::get_if<ikev2::AuthPayload>(&p.body)) WipeAndFree(a->data);
  if (!wire) {
    if (child) host.ReleaseSpiIn(child->spi_in);
    return Fail(host, "cannot protect IKE_AUTH response");
  }
  Dbg(host, "Sending IKE_AUTH response");
  SendResponse(host, std::move(*wire), msg);
  cached_->until_heard = true;
  if (child) children_.push_back(std::move(*child));
  BecomeEstablished(host);
  // INITIAL_CONTACT (RFC 7296 §2.4): the peer holds no other IKE SA with us, so ours go (after
  // BecomeEstablished: the tunnel stays UP). A peer that drops its SAs silently (Libreswan with
  // no kernel ESP) leaves none behind then.
  if (ikev2::FindNotify(inner, NotifyType::kInitialContact)) {
    Dbg(host, "Received INITIAL_CONTACT: the peer's other IKE SAs with us go");
    host.InitialContact();
  }
  if (!children_.empty())
    host.ChildUp(ChildSaUp{children_.back().spi_in, children_.back().spi_out, map_name(), map_seq_});
}

// ---- Dispatch --------------------------------------------------------------------------

void Ikev2Session::OnMessage(SessionHost& host, const Endpoint& local, const Endpoint& remote,
                             ByteSpan msg) {
  if (state_ == State::kEnded || state_ == State::kIdle) {
    host.Drop("dropped_state", "IKEv2 SA not running");
    return;
  }
  auto m = ikev2::ParseMessage(msg);
  if (!m) {
    host.Drop("dropped_malformed", m.error().detail);
    return;
  }
  const ikev2::Header& h = m->header;
  const ByteSpan whole = msg.first(h.length);
  for (auto& o : old_ike_)
    if (h.spi_i == o.spi_i && h.spi_r == o.spi_r) {
      if (h.initiator() == o.initiator) {
        host.Drop("dropped_state", "IKEv2 Initiator flag of the wrong side");
        return;
      }
      return OnOldIkeMessage(host, o, h, m->payloads, whole);
    }
  // SPIr is still zero in a (retransmitted) IKE_SA_INIT request and in an error response
  // to ours.
  const bool spi_ok = h.spi_i == spi_i_ &&
                      (h.spi_r == spi_r_ || (h.exchange == ExchangeType::kIkeSaInit &&
                                             (initiator_ ? state_ == State::kInitSent
                                                         : h.spi_r == ikev2::Spi{})));
  if (!spi_ok) {
    host.Drop("dropped_unknown_sa", "IKEv2 SPIs do not match the SA");
    return;
  }
  if (h.initiator() == initiator_) {
    host.Drop("dropped_state", "IKEv2 Initiator flag of the wrong side");
    return;
  }
  if (h.response()) {
    HandleResponse(host, h, m->payloads, whole);
  } else {
    HandleRequest(host, h, m->payloads, local, remote, whole);
  }
}

void Ikev2Session::HandleResponse(SessionHost& host, const ikev2::Header& h,
                                  const std::vector<Payload>& outer, ByteSpan msg) {
  if (!out_ || h.message_id != out_->mid) {
    host.Drop(h.message_id < next_mid_ ? "dropped_replay" : "dropped_state",
              "IKEv2 response to no outstanding request");
    return;
  }
  const ReqKind kind = out_->kind;
  const bool create =
      kind == ReqKind::kRekeyChild || kind == ReqKind::kNewChild || kind == ReqKind::kRekeyIke;
  const ExchangeType want = kind == ReqKind::kInit   ? ExchangeType::kIkeSaInit
                            : kind == ReqKind::kAuth ? ExchangeType::kIkeAuth
                            : create                 ? ExchangeType::kCreateChildSa
                                                     : ExchangeType::kInformational;
  if (h.exchange != want) {
    host.Drop("dropped_state", "IKEv2 response of another exchange");
    return;
  }
  if (kind == ReqKind::kInit) return OnInitResponse(host, h, outer, msg);
  auto inner = Open(host, outer, msg);
  if (!inner) return;
  // The peer has our IKE_AUTH answer: it sends on the IKE SA only once that answer came.
  if (cached_ && cached_->until_heard) ForgetResponse();
  if (kind == ReqKind::kAuth) return OnAuthResponse(host, *inner);
  if (create) {
    Outstanding o = std::move(*out_);
    out_.reset();
    host.Heard();
    if (dpd_) dpd_->OnInboundAuthenticated(host.Now());
    if (kind == ReqKind::kRekeyChild || kind == ReqKind::kNewChild)
      OnRekeyChildResponse(host, std::move(o), *inner);
    else
      OnRekeyIkeResponse(host, std::move(o), *inner);
  } else {
    OnInformationalResponse(host, *inner);
  }
  if (state_ == State::kEstablished) StartPending(host);
}

void Ikev2Session::HandleRequest(SessionHost& host, const ikev2::Header& h,
                                 const std::vector<Payload>& outer, const Endpoint& local,
                                 const Endpoint& remote, ByteSpan msg) {
  if (h.message_id != peer_next_mid_) {
    if (answer_ != Answer::kNone && h.message_id + 1 == peer_next_mid_) {
      const Bytes d = Digest(msg);
      if (std::equal(d.begin(), d.end(), last_request_digest_.begin(),
                     last_request_digest_.end())) {
        Dbg(host, "retransmitted request " + std::to_string(h.message_id) +
                      ": sending the cached response");
        host.Emit(EventKind::kRetransmit, h.message_id, 0, "response");
        if (answer_ == Answer::kCached) {
          SendWire(host, cached_->wire);
        } else if (auto w = Seal(host, ExchangeType::kInformational, true, h.message_id, {})) {
          SendWire(host, *w);
        }
        return;
      }
    }
    host.Drop(h.message_id < peer_next_mid_ ? "dropped_replay" : "dropped_state",
              "IKEv2 request with an unexpected message ID");
    return;
  }
  if (h.exchange == ExchangeType::kIkeAuth && state_ == State::kInitAnswered) {
    auto inner = Open(host, outer, msg);
    if (!inner) return;
    return OnAuthRequest(host, *inner, local, remote, msg);
  }
  if (state_ != State::kEstablished) {
    host.Drop("dropped_state", "IKEv2 request out of state");
    return;
  }
  if (h.exchange == ExchangeType::kInformational) {
    auto inner = Open(host, outer, msg);
    if (!inner) return;
    return OnInformationalRequest(host, *inner, msg);
  }
  if (h.exchange == ExchangeType::kCreateChildSa) {
    auto inner = Open(host, outer, msg);
    if (!inner) return;
    return OnCreateChildRequest(host, *inner, msg);
  }
  host.Drop("dropped_state", "IKEv2 request of an unknown exchange");
}

// ---- INFORMATIONAL ---------------------------------------------------------------------

void Ikev2Session::OnInformationalRequest(SessionHost& host, const std::vector<Payload>& inner,
                                          ByteSpan msg) {
  host.Heard();
  if (dpd_) dpd_->OnInboundAuthenticated(host.Now());
  bool delete_ike = false;
  std::vector<Bytes> ours;
  std::vector<std::pair<uint32_t, uint32_t>> down;
  for (const auto& p : inner) {
    const auto* d = std::get_if<ikev2::DeletePayload>(&p.body);
    if (!d) continue;
    if (d->protocol_id == uint8_t(ikev2::ProtocolId::kIke)) delete_ike = true;
    if (d->protocol_id != uint8_t(ikev2::ProtocolId::kEsp)) continue;
    for (const auto& spi : d->spis) {
      const uint32_t out_spi = SpiValue(spi);
      for (const auto& ch : children_)
        if (ch.spi_out == out_spi && out_spi != 0 &&
            std::find(down.begin(), down.end(), std::make_pair(ch.spi_in, ch.spi_out)) == down.end()) {
          down.emplace_back(ch.spi_in, ch.spi_out);
          ours.push_back(SpiBytes(ch.spi_in));
        }
    }
  }
  std::vector<Payload> reply;
  if (!delete_ike && !ours.empty())
    reply.push_back(ikev2::MakePayload(
        ikev2::DeletePayload{uint8_t(ikev2::ProtocolId::kEsp), 4, std::move(ours)}));
  if (host.DebugOn())
    host.Debug(Tag() + (delete_ike ? "Received DELETE for the IKE SA"
                        : down.empty() ? "Received INFORMATIONAL request, answering"
                                       : "Received DELETE for Child SAs"));
  const bool empty = reply.empty();
  if (auto w = Seal(host, ExchangeType::kInformational, true, peer_next_mid_, reply))
    SendResponse(host, std::move(*w), msg, empty);
  if (delete_ike) {
    // A kept-up entry at this peer comes back (the core does it once this SA has ended).
    host.BringUpKeptUpAt(remote_.ip);
    return End(host, "peer deleted the IKE SA");
  }
  for (const auto& [in, out] : down) {
    const uint32_t gone = in;  // clang 14 cannot capture a structured binding in a lambda
    children_.erase(std::remove_if(children_.begin(), children_.end(),
                                   [gone](const Child& c) { return c.spi_in == gone; }),
                    children_.end());
    host.ChildDown(in, out);
    host.ReleaseSpiIn(in);
  }
}

void Ikev2Session::OnInformationalResponse(SessionHost& host, const std::vector<Payload>& inner) {
  const Outstanding o = std::move(*out_);
  out_.reset();
  host.Heard();
  if (dpd_) dpd_->OnInboundAuthenticated(host.Now());
  if (o.kind == ReqKind::kLiveness) {
    Dbg(host, "Received liveness response");
    return;
  }
  if (o.kind == ReqKind::kDeleteChild) {
    (void)inner;
    ChildGone(host, o.child_spi_in);
  }
}

bool Ikev2Session::DeleteChild(SessionHost& host, uint32_t spi_in) {
  if (state_ != State::kEstablished || out_) return false;
  bool found = false;
  for (const auto& ch : children_) found = found || ch.spi_in == spi_in;
  if (!found) return false;
  auto w = Seal(host, ExchangeType::kInformational, false, next_mid_,
                {ikev2::MakePayload(ikev2::DeletePayload{uint8_t(ikev2::ProtocolId::kEsp), 4,
                                                         {SpiBytes(spi_in)}})});
  if (!w) return false;
  SendRequest(host, ReqKind::kDeleteChild, std::move(*w), spi_in);
  return true;
}

// ---- CREATE_CHILD_SA: rekeying (RFC 7296 §1.3, §2.8, §2.17, §2.18) --------------------

namespace {

constexpr size_t kMaxRekeyLog = 8;

// The lower of two nonces as byte strings (a prefix is lower), as the collision rules compare.
const Bytes& LowerNonce(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()) ? a : b;
}
bool Lower(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

// A proposal without its D-H transforms, and what they were.
ikev2::Proposal WithoutDh(const ikev2::Proposal& p, std::vector<uint16_t>& groups) {
  ikev2::Proposal q = p;
  q.transforms.clear();
  for (const auto& t : p.transforms) {
    if (t.type == uint8_t(TransformType::kDh))
      groups.push_back(t.id);
    else
      q.transforms.push_back(t);
  }
  return q;
}

ikev2::Transform DhTransform(uint16_t group) {
  ikev2::Transform t;
  t.type = uint8_t(TransformType::kDh);
  t.id = group;
  return t;
}

ikev2::Spi RandomIkeSpi(Random& rng) {
  ikev2::Spi s{};
  rng.Fill(s);
  if (std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; })) s[0] = 1;
  return s;
}

// The rekey margin policy IKEv1 uses for phase 1 and phase 2 (main_mode.cc, quick_mode.cc):
// `margin` before the end, or at 9/10 of a lifetime shorter than twice the margin.
Duration SoftLifetime(Duration life, Duration margin) {
  return life > 2 * margin ? life - margin : life * 9 / 10;
}

}  // namespace

Ikev2Session::RekeyExchange::~RekeyExchange() { WipeAndFree(ni); }

void Ikev2Session::SetChildTimers(SessionHost& host, Child& ch) const {
  const Duration life = Seconds(ch.algs.lifetime_s);
  ch.created = host.Now();
  ch.expires = host.Now() + life;
  ch.rekey_at =
      keeps_up_ ? host.Now() + SoftLifetime(life, host.Options().ipsec_rekey_margin) : kNever;
}

void Ikev2Session::SetIkeTimers(SessionHost& host) {
  const Duration life = Seconds(lifetime_s_);
  ike_expires_ = host.Now() + life;
  ike_rekey_at_ =
      keeps_up_ ? host.Now() + SoftLifetime(life, host.Options().isakmp_rekey_margin) : kNever;
}

void Ikev2Session::ChildGone(SessionHost& host, uint32_t spi_in) {
  for (auto it = children_.begin(); it != children_.end(); ++it)
    if (it->spi_in == spi_in) {
      const uint32_t in = it->spi_in, out = it->spi_out;
      children_.erase(it);
      host.ChildDown(in, out);
      host.ReleaseSpiIn(in);
      return;
    }
}

void Ikev2Session::StartPending(SessionHost& host) {
  if (state_ != State::kEstablished) return;
  while (!out_ && !pending_deletes_.empty()) {
    const uint32_t spi = pending_deletes_.front();
    pending_deletes_.erase(pending_deletes_.begin());
    if (host.DebugOn())
      host.Debug(Tag() + "Deleting the replaced Child SA, SPI " + std::to_string(spi));
    DeleteChild(host, spi);
  }
  if (out_) return;
  const TimePoint now = host.Now();
  if (keeps_up_ && old_ike_.empty() && now >= ike_rekey_at_) {
    if (RekeyIke(host)) return;
    ike_rekey_at_ = kNever;  // cannot rekey (configuration gone): the hard lifetime ends it
  }
  for (auto& ch : children_) {
    if (ch.rekeying || ch.replaced || now < ch.rekey_at) continue;
    if (RekeyChild(host, ch.spi_in)) return;
    ch.rekey_at = kNever;
  }
}

void Ikev2Session::RekeyFailed(SessionHost& host, const Outstanding& o, bool temporary) {
  // TEMPORARY_FAILURE: again after a short random delay (§2.25); another refusal: in 10 s,
  // while the hard lifetime allows.
  const Duration wait = temporary ? Seconds(1) + Micros(int64_t(host.Rng().Uniform(2'000'000)))
                                  : Seconds(10);
  if (o.kind == ReqKind::kNewChild) {
    if (o.rekey->new_spi_in) host.ReleaseSpiIn(o.rekey->new_spi_in);
    if (host.DebugOn())
      host.Debug(Tag() + "crypto map " + o.rekey->map_name + " " +
                 std::to_string(o.rekey->map_seq) + " gets no Child SA over this IKE SA");
    host.ChildRefused(o.rekey->map_name, o.rekey->map_seq);
  } else if (o.kind == ReqKind::kRekeyChild) {
    if (o.rekey->new_spi_in) host.ReleaseSpiIn(o.rekey->new_spi_in);
    for (auto& ch : children_)
      if (ch.spi_in == o.rekey->old_spi_in) {
        ch.rekeying = false;
        ch.rekey_at = keeps_up_ ? host.Now() + wait : kNever;
      }
  } else if (keeps_up_) {
    ike_rekey_at_ = host.Now() + wait;
  }
}

bool Ikev2Session::RekeyChild(SessionHost& host, uint32_t spi_in) {
  if (state_ != State::kEstablished || out_) return false;
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const Child& c) { return c.spi_in == spi_in; });
  if (it == children_.end() || it->rekeying || it->replaced) return false;
  const config::Config& cfg = host.Cfg();
  const config::CryptoMapEntry* e = cfg.FindCryptoMap(MapOf(*it), it->map_seq);
  if (!e) return false;
  auto rx = std::make_unique<RekeyExchange>();
  rx->old_spi_in = spi_in;
  rx->new_spi_in = host.AllocateSpiIn();
  rx->offered = OurEspProposals(cfg, *e, rx->new_spi_in);
  if (e->pfs_group) {
    for (auto& p : rx->offered.proposals) p.transforms.push_back(DhTransform(*e->pfs_group));
    rx->dh = crypto::DhKeyPair::Generate(*e->pfs_group);
  }
  if (rx->offered.proposals.empty() || (e->pfs_group && !rx->dh)) {
    host.ReleaseSpiIn(rx->new_spi_in);
    return false;
  }
  rx->ni.resize(kNonceSize);
  host.Rng().Fill(rx->ni);
  ikev2::NotifyPayload rekey_sa;
  rekey_sa.protocol_id = uint8_t(ikev2::ProtocolId::kEsp);
  rekey_sa.spi = SpiBytes(spi_in);
  rekey_sa.type = uint16_t(NotifyType::kRekeySa);
  std::vector<Payload> inner;
  inner.push_back(ikev2::MakePayload(rekey_sa));
  inner.push_back(ikev2::MakePayload(rx->offered));
  inner.push_back(ikev2::MakePayload(ikev2::NoncePayload{rx->ni}));
  if (rx->dh)
    inner.push_back(ikev2::MakePayload(ikev2::KePayload{*e->pfs_group, rx->dh->public_value()}));
  inner.push_back(ikev2::MakePayload(
      PayloadType::kTsi,
      ikev2::TsPayload{{ToTs(FromNet(it->local_net, it->local_mask, it->protocol))}}));
  inner.push_back(ikev2::MakePayload(
      PayloadType::kTsr,
      ikev2::TsPayload{{ToTs(FromNet(it->remote_net, it->remote_mask, it->protocol))}}));
  auto w = Seal(host, ExchangeType::kCreateChildSa, false, next_mid_, inner);
  if (!w) {
    host.ReleaseSpiIn(rx->new_spi_in);
    return false;
  }
  if (host.DebugOn())
    host.Debug(Tag() + "Sending CREATE_CHILD_SA request to rekey Child SA " +
               std::to_string(spi_in) + ", message ID " + std::to_string(next_mid_));
  it->rekeying = true;
  SendRequest(host, ReqKind::kRekeyChild, std::move(*w));
  out_->rekey = std::move(rx);
  return true;
}

void Ikev2Session::OnRekeyChildResponse(SessionHost& host, Outstanding o,
                                        const std::vector<Payload>& inner) {
  RekeyExchange& rx = *o.rekey;
  auto old = std::find_if(children_.begin(), children_.end(),
                          [&](const Child& c) { return c.spi_in == rx.old_spi_in; });
  if (old != children_.end()) old->rekeying = false;
  for (const auto& p : inner)
    if (const auto* n = std::get_if<ikev2::NotifyPayload>(&p.body); n && n->is_error()) {
      if (host.DebugOn())
        host.Debug(Tag() + (o.kind == ReqKind::kNewChild ? "New Child SA refused: "
                                                          : "Child SA rekey refused: ") +
                   ikev2::NotifyTypeName(n->type));
      return RekeyFailed(host, o, n->type == uint16_t(NotifyType::kTemporaryFailure));
    }
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  const auto* nr = ikev2::Find<ikev2::NoncePayload>(inner);
  const auto* ke = ikev2::Find<ikev2::KePayload>(inner);
  const config::Config& cfg = host.Cfg();
  const bool is_new = rx.old_spi_in == 0;  // an additional Child SA (AddChild)
  const config::CryptoMapEntry* e =
      is_new                   ? cfg.FindCryptoMap(rx.map_name, rx.map_seq)
      : old != children_.end() ? cfg.FindCryptoMap(MapOf(*old), old->map_seq)
                               : nullptr;
  // A new Child SA's selectors: the responder's TSi/TSr, within what we asked for.
  std::optional<Range> ri, rr;
  if (is_new) {
    const Payload* tsi = ikev2::FindType(inner, PayloadType::kTsi);
    const Payload* tsr = ikev2::FindType(inner, PayloadType::kTsr);
    const auto* tsi_b = tsi ? std::get_if<ikev2::TsPayload>(&tsi->body) : nullptr;
    const auto* tsr_b = tsr ? std::get_if<ikev2::TsPayload>(&tsr->body) : nullptr;
    if (tsi_b && tsr_b && !tsi_b->selectors.empty() && !tsr_b->selectors.empty()) {
      ri = FromTs(tsi_b->selectors.front());
      rr = FromTs(tsr_b->selectors.front());
      if (ri && !Within(*ri, *FromTs(rx.ts_i))) ri.reset();
      if (rr && !Within(*rr, *FromTs(rx.ts_r))) rr.reset();
    }
    if (!ri || !rr) e = nullptr;
  }
  std::optional<Phase2Algs> algs;
  uint32_t peer_spi = 0;
  std::optional<SecretBytes> shared;
  if (sa && nr && e && sa->proposals.size() == 1) {
    std::vector<uint16_t> groups;
    const ikev2::Proposal reply = WithoutDh(sa->proposals.front(), groups);
    const bool dh_ok = rx.dh ? (groups.size() == 1 && groups[0] == rx.dh->group() && ke &&
                                ke->dh_group == rx.dh->group())
                             : (groups.empty() && !ke);
    if (dh_ok && rx.dh) {
      auto sh = rx.dh->ComputeShared(ke->data);
      if (sh) shared = std::move(*sh);
    }
    if (dh_ok && (!rx.dh || shared))
      for (const auto& name : e->transform_sets) {
        const config::TransformSet* ts = cfg.FindTransformSet(name);
        auto ids = ts ? EspIdsOf(*ts) : std::nullopt;
        if (ids && EspMatches(reply, *ids, true)) {
          algs = AlgsOf(*ts, *e);
          peer_spi = SpiValue(reply.spi);
          break;
        }
      }
  }
  if (!algs) {
    Dbg(host, "CREATE_CHILD_SA response without an acceptable Child SA");
    return RekeyFailed(host, o, false);
  }
  Child ch;
  ch.spi_in = rx.new_spi_in;
  ch.spi_out = peer_spi;
  ch.algs = *algs;
  if (is_new) {
    ch.algs.udp_encap = floated() || nat_detected_;
    SetMap(ch, rx.map_name);
    ch.map_seq = rx.map_seq;
    ch.protocol = ri->proto;
    if (!ToNet(*ri, ch.local_net, ch.local_mask))
      ToNet(*FromTs(rx.ts_i), ch.local_net, ch.local_mask);
    if (!ToNet(*rr, ch.remote_net, ch.remote_mask))
      ToNet(*FromTs(rx.ts_r), ch.remote_net, ch.remote_mask);
  } else {
    ch.algs.udp_encap = old->algs.udp_encap;
    ch.map_name = old->map_name;
    ch.map_seq = old->map_seq;
    ch.local_net = old->local_net;
    ch.local_mask = old->local_mask;
    ch.remote_net = old->remote_net;
    ch.remote_mask = old->remote_mask;
    ch.protocol = old->protocol;
    old->replaced = true;
  }
  crypto::ChildSaKeys k = crypto::DeriveChildSaKeys(
      suite_.prf, keys_.sk_d(),
      shared ? std::optional<ByteSpan>(shared->span()) : std::nullopt, rx.ni, nr->data,
      ch.algs.EncKeyLength(), ch.algs.AuthKeyLength());
  ch.keys = KeysOf(k, /*we_initiated=*/true);
  SetChildTimers(host, ch);
  rx.new_spi_in = 0;  // installed
  children_.push_back(std::move(ch));
  const Child& nc = children_.back();
  if (host.DebugOn())
    host.Debug(Tag() + (is_new ? "New Child SA up (crypto map " + MapOf(nc) + " " +
                                     std::to_string(nc.map_seq) + "): SPI "
                               : "Child SA rekeyed: SPI " + std::to_string(rx.old_spi_in) +
                                     " -> ") +
               std::to_string(nc.spi_in));
  host.ChildUp(ChildSaUp{nc.spi_in, nc.spi_out, MapOf(nc), nc.map_seq});
  if (is_new) return;
  RecordRekey(host, RekeyRecord{rx.old_spi_in, nc.spi_in, rx.ni, nr->data, true});
}

void Ikev2Session::RecordRekey(SessionHost& host, RekeyRecord r) {
  for (auto it = rekey_log_.begin(); it != rekey_log_.end(); ++it) {
    if (it->old_spi_in != r.old_spi_in || it->ours == r.ours) continue;
    // A collision (§2.8.1): both sides rekeyed one pair. The exchange holding the lowest of
    // the four nonces made the redundant pair; its initiator deletes that pair, and the other
    // side deletes the old one.
    const RekeyRecord& mine = r.ours ? r : *it;
    const RekeyRecord& theirs = r.ours ? *it : r;
    const bool we_lose = Lower(LowerNonce(mine.ni, mine.nr), LowerNonce(theirs.ni, theirs.nr));
    if (host.DebugOn())
      host.Debug(Tag() + "Child SA rekey collision on SPI " + std::to_string(r.old_spi_in) +
                 (we_lose ? ": our new pair is redundant, deleting it"
                          : ": the peer's new pair is redundant, the peer deletes it"));
    if (we_lose) {
      pending_deletes_.erase(
          std::remove(pending_deletes_.begin(), pending_deletes_.end(), r.old_spi_in),
          pending_deletes_.end());
      pending_deletes_.push_back(mine.new_spi_in);
    } else if (r.ours) {
      pending_deletes_.push_back(r.old_spi_in);
    }
    rekey_log_.erase(it);
    return;
  }
  if (r.ours) pending_deletes_.push_back(r.old_spi_in);
  rekey_log_.push_back(std::move(r));
  if (rekey_log_.size() > kMaxRekeyLog) rekey_log_.erase(rekey_log_.begin());
}

void Ikev2Session::OnCreateChildRequest(SessionHost& host, const std::vector<Payload>& inner,
                                        ByteSpan msg) {
  host.Heard();
  if (dpd_) dpd_->OnInboundAuthenticated(host.Now());
  if (const auto* n = ikev2::FindNotify(inner, NotifyType::kRekeySa))
    return AnswerChildRekey(host, inner, *n, msg);
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  if (sa && !sa->proposals.empty() &&
      sa->proposals.front().protocol_id == uint8_t(ikev2::ProtocolId::kIke))
    return AnswerIkeRekey(host, inner, msg);
  AnswerNewChild(host, inner, msg);
}

// The answer to a CREATE_CHILD_SA request for a Child SA of `entry` (a rekey or a new one):
// the ESP proposal and PFS as the entry says, the selectors narrowed to its ACL. On success
// `ch` holds the new pair (our SPI allocated, keys derived, timers set) and `reply` the
// response payloads; otherwise `err` (and `err_data`) says why.
bool Ikev2Session::BuildChildAnswer(SessionHost& host, const config::CryptoMapEntry& entry,
                                    const std::vector<Payload>& inner, bool udp_encap,
                                    Child& ch, std::vector<Payload>& reply, ChildRefusal& err) {
  const config::Config& cfg = host.Cfg();
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  const auto* ni = ikev2::Find<ikev2::NoncePayload>(inner);
  const auto* ke = ikev2::Find<ikev2::KePayload>(inner);
  const Payload* tsi = ikev2::FindType(inner, PayloadType::kTsi);
  const Payload* tsr = ikev2::FindType(inner, PayloadType::kTsr);
  const auto* tsi_b = tsi ? std::get_if<ikev2::TsPayload>(&tsi->body) : nullptr;
  const auto* tsr_b = tsr ? std::get_if<ikev2::TsPayload>(&tsr->body) : nullptr;
  if (!sa || !ni || !tsi_b || !tsr_b) {
    err = {NotifyType::kInvalidSyntax, {}, "SA, Ni, TSi or TSr missing"};
    return false;
  }
  const config::AclEntry* acl = FirstPermit(cfg.FindAcl(entry.match_address));
  std::optional<Range> ri, rr;
  if (acl && !acl->src.v6 && !acl->dst.v6) {
    ri = Narrow(*tsi_b, FromNet(acl->dst, Invert(acl->dst_wildcard), acl->protocol));
    rr = Narrow(*tsr_b, FromNet(acl->src, Invert(acl->src_wildcard), acl->protocol));
  }
  if (!ri || !rr) {
    err = {NotifyType::kTsUnacceptable, {}, "selectors outside the ACL"};
    return false;
  }
  // PFS as the entry says: with `set pfs groupN` the proposal must offer group N and KEi must
  // carry it; without, no D-H transform (other than none) and no KEi.
  std::optional<EspChoice> esp;
  for (const auto& p : sa->proposals) {
    std::vector<uint16_t> groups;
    ikev2::SaPayload one{{WithoutDh(p, groups)}};
    const bool none_ok = groups.empty() || std::count(groups.begin(), groups.end(), 0) > 0;
    if (entry.pfs_group ? std::count(groups.begin(), groups.end(), *entry.pfs_group) == 0
                        : !none_ok)
      continue;
    esp = SelectEsp(one, cfg, entry);
    if (esp) break;
  }
  if (!esp || (!entry.pfs_group && ke)) {
    err = {NotifyType::kNoProposalChosen, {}, "no acceptable proposal"};
    return false;
  }
  if (entry.pfs_group && (!ke || ke->dh_group != *entry.pfs_group)) {
    err = {NotifyType::kInvalidKePayload,
           Bytes{uint8_t(*entry.pfs_group >> 8), uint8_t(*entry.pfs_group)},
           "KEi of another group"};
    return false;
  }
  std::unique_ptr<crypto::DhKeyPair> dh;
  std::optional<SecretBytes> shared;
  if (entry.pfs_group) {
    dh = crypto::DhKeyPair::Generate(*entry.pfs_group);
    if (!dh) {
      err = {NotifyType::kNoProposalChosen, {}, "cannot generate a DH key pair"};
      return false;
    }
    auto sh = dh->ComputeShared(ke->data);
    if (!sh) {
      err = {NotifyType::kInvalidSyntax, {}, "bad KE data"};
      return false;
    }
    shared = std::move(*sh);
  }
  Bytes nr(kNonceSize);
  host.Rng().Fill(nr);
  ch.spi_in = host.AllocateSpiIn();
  ch.spi_out = esp->peer_spi;
  ch.algs = esp->algs;
  ch.algs.udp_encap = udp_encap;
  SetMap(ch, entry.map_name);
  ch.map_seq = entry.seq;
  ch.protocol = rr->proto;
  const Range our_local = FromNet(acl->src, Invert(acl->src_wildcard), acl->protocol);
  const Range our_remote = FromNet(acl->dst, Invert(acl->dst_wildcard), acl->protocol);
  if (!ToNet(*rr, ch.local_net, ch.local_mask)) ToNet(our_local, ch.local_net, ch.local_mask);
  if (!ToNet(*ri, ch.remote_net, ch.remote_mask)) ToNet(our_remote, ch.remote_net, ch.remote_mask);
  crypto::ChildSaKeys k = crypto::DeriveChildSaKeys(
      suite_.prf, keys_.sk_d(),
      shared ? std::optional<ByteSpan>(shared->span()) : std::nullopt, ni->data, nr,
      ch.algs.EncKeyLength(), ch.algs.AuthKeyLength());
  ch.keys = KeysOf(k, /*we_initiated=*/false);
  SetChildTimers(host, ch);
  ikev2::Proposal rp = esp->reply;
  rp.spi = SpiBytes(ch.spi_in);
  if (entry.pfs_group) rp.transforms.push_back(DhTransform(*entry.pfs_group));
  reply.push_back(ikev2::MakePayload(ikev2::SaPayload{{rp}}));
  reply.push_back(ikev2::MakePayload(ikev2::NoncePayload{nr}));
  if (dh)
    reply.push_back(ikev2::MakePayload(ikev2::KePayload{*entry.pfs_group, dh->public_value()}));
  reply.push_back(ikev2::MakePayload(PayloadType::kTsi, ikev2::TsPayload{{ToTs(*ri)}}));
  reply.push_back(ikev2::MakePayload(PayloadType::kTsr, ikev2::TsPayload{{ToTs(*rr)}}));
  return true;
}

void Ikev2Session::RefuseChild(SessionHost& host, const ChildRefusal& r, ByteSpan msg) {
  if (host.DebugOn())
    host.Debug(Tag() + "CREATE_CHILD_SA refused: " + r.why + " (" +
               ikev2::NotifyTypeName(uint16_t(r.type)) + ")");
  if (auto w = Seal(host, ExchangeType::kCreateChildSa, true, peer_next_mid_,
                    {ikev2::MakeNotify(r.type, r.data)}))
    SendResponse(host, std::move(*w), msg);
}

// Sends the response and reports the new pair (after the response, so that a failure to
// protect it leaves nothing installed).
bool Ikev2Session::InstallAnsweredChild(SessionHost& host, Child ch,
                                        const std::vector<Payload>& reply, ByteSpan msg) {
  auto w = Seal(host, ExchangeType::kCreateChildSa, true, peer_next_mid_, reply);
  if (!w) {
    host.ReleaseSpiIn(ch.spi_in);
    return false;
  }
  SendResponse(host, std::move(*w), msg);
  children_.push_back(std::move(ch));
  const Child& nc = children_.back();
  host.ChildUp(ChildSaUp{nc.spi_in, nc.spi_out, MapOf(nc), nc.map_seq});
  return true;
}

void Ikev2Session::AnswerChildRekey(SessionHost& host, const std::vector<Payload>& inner,
                                    const ikev2::NotifyPayload& rekey_sa, ByteSpan msg) {
  const uint32_t old_out = rekey_sa.spi.size() == 4 ? SpiValue(rekey_sa.spi) : 0;
  auto old = std::find_if(children_.begin(), children_.end(), [&](const Child& c) {
    return old_out != 0 && c.spi_out == old_out;
  });
  if (rekey_sa.protocol_id != uint8_t(ikev2::ProtocolId::kEsp) || old == children_.end())
    return RefuseChild(host, {NotifyType::kChildSaNotFound, {}, "no such Child SA"}, msg);
  if (old->replaced)  // §2.25.1: a pair that is going
    return RefuseChild(host, {NotifyType::kTemporaryFailure, {}, "the Child SA is being deleted"},
                       msg);
  const config::CryptoMapEntry* entry = host.Cfg().FindCryptoMap(MapOf(*old), old->map_seq);
  if (!entry)
    return RefuseChild(host, {NotifyType::kNoProposalChosen, {}, "crypto map entry removed"}, msg);
  Child ch;
  std::vector<Payload> reply;
  ChildRefusal err;
  if (!BuildChildAnswer(host, *entry, inner, old->algs.udp_encap, ch, reply, err))
    return RefuseChild(host, err, msg);
  const uint32_t old_spi_in = old->spi_in, new_spi_in = ch.spi_in;
  const Bytes ni = ikev2::Find<ikev2::NoncePayload>(inner)->data;
  const auto* nr = ikev2::Find<ikev2::NoncePayload>(reply);
  const Bytes nr_copy = nr->data;
  if (host.DebugOn())
    host.Debug(Tag() + "Rekeying Child SA " + std::to_string(old_spi_in) +
               " for the peer: new SPI " + std::to_string(new_spi_in));
  if (!InstallAnsweredChild(host, std::move(ch), reply, msg)) return;
  RecordRekey(host, RekeyRecord{old_spi_in, new_spi_in, ni, nr_copy, false});
}

// A request for an additional Child SA (§1.3.1): the first crypto map entry of this IKE SA's
// profile that lists the peer and whose ACL and transform sets accept the request.
void Ikev2Session::AnswerNewChild(SessionHost& host, const std::vector<Payload>& inner,
                                  ByteSpan msg) {
  if (children_.size() >= kMaxChildSas)
    return RefuseChild(host, {NotifyType::kNoAdditionalSas, {}, "Child SA limit reached"}, msg);
  std::optional<ChildRefusal> first_err;
  size_t tried = 0;
  const std::string profile_name = profile();
  for (const config::CryptoMapEntry* listed : host.EntriesFor(remote_.ip)) {  // in order
    const config::CryptoMapEntry& e = *listed;
    if (e.ikev2_profile != profile_name || !ListsPeer(e, remote_.ip)) continue;
    if (++tried > 64) break;  // bounded per request
    Child ch;
    std::vector<Payload> reply;
    ChildRefusal err;
    if (BuildChildAnswer(host, e, inner, floated() || nat_detected_, ch, reply, err)) {
      if (host.DebugOn())
        host.Debug(Tag() + "New Child SA for the peer (crypto map " + e.map_name + " " +
                   std::to_string(e.seq) + "): SPI " + std::to_string(ch.spi_in));
      InstallAnsweredChild(host, std::move(ch), reply, msg);
      return;
    }
    // TS_UNACCEPTABLE only when no entry's selectors fit; otherwise why the first that did
    // refused.
    if (!first_err || (first_err->type == NotifyType::kTsUnacceptable &&
                       err.type != NotifyType::kTsUnacceptable))
      first_err = err;
  }
  if (!first_err) first_err = ChildRefusal{NotifyType::kNoAdditionalSas, {}, "no crypto map entry"};
  RefuseChild(host, *first_err, msg);
}

// ---- IKE SA rekey ----------------------------------------------------------------------

bool Ikev2Session::RekeyIke(SessionHost& host) {
  if (state_ != State::kEstablished || out_ || !old_ike_.empty()) return false;
  auto rx = std::make_unique<RekeyExchange>();
  rx->new_spi = RandomIkeSpi(host.Rng());
  rx->offered = OurIkeProposals(host.Cfg(), local_.ip);
  bool offers_group = false;
  for (auto& p : rx->offered.proposals) {
    p.spi.assign(rx->new_spi.begin(), rx->new_spi.end());
    for (const auto& t : p.transforms)
      offers_group = offers_group || (t.type == uint8_t(TransformType::kDh) && t.id == group_);
  }
  if (rx->offered.proposals.empty() || !offers_group) return false;
  rx->dh = crypto::DhKeyPair::Generate(group_);
  if (!rx->dh) return false;
  rx->ni.resize(kNonceSize);
  host.Rng().Fill(rx->ni);
  std::vector<Payload> inner;
  inner.push_back(ikev2::MakePayload(rx->offered));
  inner.push_back(ikev2::MakePayload(ikev2::NoncePayload{rx->ni}));
  inner.push_back(ikev2::MakePayload(ikev2::KePayload{group_, rx->dh->public_value()}));
  auto w = Seal(host, ExchangeType::kCreateChildSa, false, next_mid_, inner);
  if (!w) return false;
  if (host.DebugOn())
    host.Debug(Tag() + "Sending CREATE_CHILD_SA request to rekey the IKE SA, message ID " +
               std::to_string(next_mid_));
  SendRequest(host, ReqKind::kRekeyIke, std::move(*w));
  out_->rekey = std::move(rx);
  return true;
}

void Ikev2Session::OnRekeyIkeResponse(SessionHost& host, Outstanding o,
                                      const std::vector<Payload>& inner) {
  RekeyExchange& rx = *o.rekey;
  // A collision whose other half (the peer's rekey, answered) waits here: if ours fails, the
  // peer's new SA is the one (the peer deletes the old SA).
  auto adopt_peers = [&] {
    if (!peer_ike_rekey_) return;
    PeerIkeRekey p = std::move(*peer_ike_rekey_);
    peer_ike_rekey_.reset();
    Dbg(host, "IKE SA rekey collision: ours failed, the peer's new SA is kept");
    SwitchIkeSa(host, false, p.spi_i, p.spi_r, p.suite, p.group, std::move(p.keys));
  };
  if (const auto* n = ikev2::FindNotify(inner, NotifyType::kInvalidKePayload)) {
    const uint16_t g = n->data.size() == 2 ? uint16_t((n->data[0] << 8) | n->data[1]) : 0;
    for (const auto& p : rx.offered.proposals)
      for (const auto& t : p.transforms)
        if (t.type == uint8_t(TransformType::kDh) && t.id == g && g != group_) {
          Dbg(host, "IKE SA rekey: INVALID_KE_PAYLOAD, next try with DH group " +
                        std::to_string(g));
          group_ = g;
          RekeyFailed(host, o, true);
          return adopt_peers();
        }
  }
  for (const auto& p : inner)
    if (const auto* n = std::get_if<ikev2::NotifyPayload>(&p.body); n && n->is_error()) {
      if (host.DebugOn())
        host.Debug(Tag() + "IKE SA rekey refused: " + ikev2::NotifyTypeName(n->type));
      RekeyFailed(host, o, n->type == uint16_t(NotifyType::kTemporaryFailure));
      return adopt_peers();
    }
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  const auto* nr = ikev2::Find<ikev2::NoncePayload>(inner);
  const auto* ke = ikev2::Find<ikev2::KePayload>(inner);
  std::optional<IkeChoice> choice;
  if (sa && sa->proposals.size() == 1 && sa->proposals.front().spi.size() == 8)
    choice = SuiteOf(sa->proposals.front());
  bool offered = false;
  if (choice)
    for (const auto& p : rx.offered.proposals)
      if (p.number == sa->proposals.front().number &&
          std::all_of(choice->reply.transforms.begin(), choice->reply.transforms.end(),
                      [&](const auto& t) { return Lists(p, t); }))
        offered = true;
  std::optional<SecretBytes> shared;
  if (offered && nr && ke && choice->group == rx.dh->group() && ke->dh_group == choice->group)
    if (auto sh = rx.dh->ComputeShared(ke->data)) shared = std::move(*sh);
  ikev2::Spi peer_spi{};
  if (shared) std::copy_n(sa->proposals.front().spi.begin(), 8, peer_spi.begin());
  if (!shared || peer_spi == ikev2::Spi{}) {
    Dbg(host, "IKE SA rekey response chose what we did not offer");
    RekeyFailed(host, o, false);
    return adopt_peers();
  }
  const SecretBytes skeyseed =
      crypto::RekeySkeyseed(suite_.prf, keys_.sk_d(), shared->span(), rx.ni, nr->data);
  auto keys = crypto::DeriveIkeSaKeys(choice->suite, skeyseed.span(), rx.ni, nr->data,
                                      rx.new_spi, peer_spi);
  if (!keys) {
    RekeyFailed(host, o, false);
    return adopt_peers();
  }
  if (peer_ike_rekey_) {
    // §2.8.2: the new SA whose exchange holds the lowest of the four nonces is redundant; its
    // initiator deletes it, and the other initiator deletes the old SA.
    PeerIkeRekey p = std::move(*peer_ike_rekey_);
    peer_ike_rekey_.reset();
    const bool ours_redundant =
        Lower(LowerNonce(rx.ni, nr->data), LowerNonce(p.ni, p.nr));
    OldIkeSa redundant;
    if (ours_redundant) {
      redundant.spi_i = rx.new_spi;
      redundant.spi_r = peer_spi;
      redundant.suite = choice->suite;
      redundant.keys = Ikev2KeyBlock(*keys);
      redundant.initiator = true;
      Dbg(host, "IKE SA rekey collision: our new SA is redundant, keeping the peer's");
      SwitchIkeSa(host, false, p.spi_i, p.spi_r, p.suite, p.group, std::move(p.keys));
    } else {
      redundant.spi_i = p.spi_i;
      redundant.spi_r = p.spi_r;
      redundant.suite = p.suite;
      redundant.keys = Ikev2KeyBlock(p.keys);
      redundant.initiator = false;
      Dbg(host, "IKE SA rekey collision: the peer's new SA is redundant, keeping ours");
      SwitchIkeSa(host, true, rx.new_spi, peer_spi, choice->suite, choice->group,
                  std::move(*keys));
    }
    redundant.expires = host.Now() + opts_->half_open_lifetime;
    Retire(host, std::move(redundant), /*send_delete=*/ours_redundant);
    return;
  }
  SwitchIkeSa(host, true, rx.new_spi, peer_spi, choice->suite, choice->group, std::move(*keys));
}

void Ikev2Session::Retire(SessionHost& host, OldIkeSa o, bool send_delete) {
  if (send_delete) {
    // The rekey initiator deletes the old IKE SA (§2.18), retransmitted like any request.
    auto w = SealAs(host, o.spi_i, o.spi_r, o.initiator, o.suite, o.keys,
                    ExchangeType::kInformational, false, o.next_mid,
                    {ikev2::MakePayload(
                        ikev2::DeletePayload{uint8_t(ikev2::ProtocolId::kIke), 0, {}})});
    if (w) {
      Outstanding d;
      d.kind = ReqKind::kDeleteOldIke;
      d.mid = o.next_mid++;
      d.wire = std::move(*w);
      d.due = host.Now() + RetransmitGap(opts_->retransmit, 1);
      d.send_at = d.due - RetransmitJitter(opts_->retransmit, 1, host.Rng());
      o.out = std::move(d);
    }
  }
  old_ike_.push_back(std::move(o));
  if (old_ike_.back().out) {
    Dbg(host, "Sending DELETE for the replaced IKE SA");
    SendWire(host, old_ike_.back().out->wire);
  }
}

void Ikev2Session::AnswerIkeRekey(SessionHost& host, const std::vector<Payload>& inner,
                                  ByteSpan msg) {
  auto refuse = [&](NotifyType type, Bytes data, const char* why) {
    if (host.DebugOn())
      host.Debug(Tag() + "IKE SA rekey refused: " + why + " (" +
                 ikev2::NotifyTypeName(uint16_t(type)) + ")");
    if (auto w = Seal(host, ExchangeType::kCreateChildSa, true, peer_next_mid_,
                      {ikev2::MakeNotify(type, std::move(data))}))
      SendResponse(host, std::move(*w), msg);
  };
  // Another request of ours is outstanding, or a replaced SA is still being deleted: later
  // (§2.25). Our own IKE rekey outstanding is a collision (§2.8.2): answered below.
  const bool collision = out_ && out_->kind == ReqKind::kRekeyIke && !peer_ike_rekey_;
  if ((out_ && !collision) || !old_ike_.empty())
    return refuse(NotifyType::kTemporaryFailure, {}, "another exchange is in progress");
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  const auto* ni = ikev2::Find<ikev2::NoncePayload>(inner);
  const auto* ke = ikev2::Find<ikev2::KePayload>(inner);
  if (!sa || !ni || !ke) return refuse(NotifyType::kInvalidSyntax, {}, "SA, Ni or KEi missing");
  ikev2::SaPayload without_spis = *sa;  // SelectIke takes IKE_SA_INIT offers (no SPI)
  for (auto& p : without_spis.proposals)
    if (p.spi.size() == 8) p.spi.clear();
  auto choice = SelectIke(without_spis, OurIkeProposals(host.Cfg(), local_.ip));
  const ikev2::Proposal* chosen = nullptr;
  if (choice)
    for (const auto& p : sa->proposals)
      if (p.number == choice->reply.number && p.spi.size() == 8) chosen = &p;
  ikev2::Spi peer_spi{};
  if (chosen) std::copy_n(chosen->spi.begin(), 8, peer_spi.begin());
  if (!choice || !chosen || peer_spi == ikev2::Spi{})
    return refuse(NotifyType::kNoProposalChosen, {}, "no acceptable proposal");
  if (ke->dh_group != choice->group)
    return refuse(NotifyType::kInvalidKePayload,
                  Bytes{uint8_t(choice->group >> 8), uint8_t(choice->group)},
                  "KEi of another group");
  std::unique_ptr<crypto::DhKeyPair> dh = crypto::DhKeyPair::Generate(choice->group);
  if (!dh) return refuse(NotifyType::kNoProposalChosen, {}, "cannot generate a DH key pair");
  auto shared = dh->ComputeShared(ke->data);
  if (!shared) return refuse(NotifyType::kInvalidSyntax, {}, "bad KE data");
  Bytes nr(kNonceSize);
  host.Rng().Fill(nr);
  const ikev2::Spi our_spi = RandomIkeSpi(host.Rng());
  const SecretBytes skeyseed =
      crypto::RekeySkeyseed(suite_.prf, keys_.sk_d(), shared->span(), ni->data, nr);
  auto keys =
      crypto::DeriveIkeSaKeys(choice->suite, skeyseed.span(), ni->data, nr, peer_spi, our_spi);
  if (!keys) return refuse(NotifyType::kNoProposalChosen, {}, "key derivation failed");
  ikev2::Proposal reply = choice->reply;
  reply.spi.assign(our_spi.begin(), our_spi.end());
  std::vector<Payload> out;
  out.push_back(ikev2::MakePayload(ikev2::SaPayload{{reply}}));
  out.push_back(ikev2::MakePayload(ikev2::NoncePayload{nr}));
  out.push_back(ikev2::MakePayload(ikev2::KePayload{choice->group, dh->public_value()}));
  auto w = Seal(host, ExchangeType::kCreateChildSa, true, peer_next_mid_, out);
  if (!w) return;
  SendResponse(host, std::move(*w), msg);
  if (collision) {
    Dbg(host, "IKE SA rekey collision: answered the peer's, deciding when ours is answered");
    peer_ike_rekey_ = std::make_unique<PeerIkeRekey>(PeerIkeRekey{
        peer_spi, our_spi, choice->suite, choice->group, std::move(*keys), ni->data, nr});
    return;
  }
  Dbg(host, "Rekeying the IKE SA for the peer");
  SwitchIkeSa(host, false, peer_spi, our_spi, choice->suite, choice->group, std::move(*keys));
}

void Ikev2Session::SwitchIkeSa(SessionHost& host, bool we_initiated, const ikev2::Spi& spi_i,
                               const ikev2::Spi& spi_r, const crypto::IkeSuite& suite,
                               uint16_t group, crypto::IkeSaKeys keys) {
  OldIkeSa o;
  o.spi_i = spi_i_;
  o.spi_r = spi_r_;
  o.suite = suite_;
  o.keys = std::move(keys_);
  o.initiator = initiator_;
  o.next_mid = next_mid_;
  o.peer_next_mid = peer_next_mid_;
  if (answer_ == Answer::kCached) {
    o.last_response = std::move(cached_->wire);
  } else if (answer_ == Answer::kEmptyInformational) {
    if (auto w = Seal(host, ExchangeType::kInformational, true, peer_next_mid_ - 1, {}))
      o.last_response = std::move(*w);
  }
  if (!o.last_response.empty())
    o.last_request_digest.assign(last_request_digest_.begin(), last_request_digest_.end());
  ForgetResponse();
  o.expires = host.Now() + opts_->half_open_lifetime;
  spi_i_ = spi_i;
  spi_r_ = spi_r;
  initiator_ = we_initiated;
  suite_ = suite;
  group_ = group;
  keys_ = Ikev2KeyBlock(keys);  // no SK_pi, SK_pr: no AUTH in a rekeyed IKE SA
  next_mid_ = 0;
  peer_next_mid_ = 0;
  established_at_ = host.Now();
  SetIkeTimers(host);
  ++ike_rekeys_;
  if (host.DebugOn())
    host.Debug(Tag() + "IKE SA rekeyed (" + (we_initiated ? "by us" : "by the peer") +
               "): new SPIs " + ToHex(spi_i_) + "/" + ToHex(spi_r_));
  Retire(host, std::move(o), we_initiated);
}

void Ikev2Session::OnOldIkeMessage(SessionHost& host, OldIkeSa& o, const ikev2::Header& h,
                                   const std::vector<Payload>& outer, ByteSpan msg) {
  if (h.response()) {
    if (!o.out || h.message_id != o.out->mid || h.exchange != ExchangeType::kInformational) {
      host.Drop(h.message_id < o.next_mid ? "dropped_replay" : "dropped_state",
                "IKEv2 response on the old IKE SA to no outstanding request");
      return;
    }
    if (!OpenAs(host, o.suite, o.keys, !o.initiator, outer, msg)) return;
    host.Heard();
    if (dpd_) dpd_->OnInboundAuthenticated(host.Now());
    Dbg(host, "old IKE SA deleted");
    const ikev2::Spi gone = o.spi_i;
    old_ike_.erase(std::remove_if(old_ike_.begin(), old_ike_.end(),
                                  [&](const OldIkeSa& x) { return x.spi_i == gone; }),
                   old_ike_.end());
    return;
  }
  if (h.message_id != o.peer_next_mid) {
    if (!o.last_request_digest.empty() && h.message_id + 1 == o.peer_next_mid &&
        Digest(msg) == o.last_request_digest) {
      Dbg(host, "retransmitted request " + std::to_string(h.message_id) +
                    " on the old IKE SA: sending the cached response");
      host.Emit(EventKind::kRetransmit, h.message_id, 0, "response");
      SendWire(host, o.last_response);
      return;
    }
    host.Drop(h.message_id < o.peer_next_mid ? "dropped_replay" : "dropped_state",
              "IKEv2 request on the old IKE SA with an unexpected message ID");
    return;
  }
  const bool create = h.exchange == ExchangeType::kCreateChildSa;
  if (h.exchange != ExchangeType::kInformational && !create) {
    host.Drop("dropped_state", "the old IKE SA takes only INFORMATIONAL requests");
    return;
  }
  auto inner = OpenAs(host, o.suite, o.keys, !o.initiator, outer, msg);
  if (!inner) return;
  host.Heard();
  if (dpd_) dpd_->OnInboundAuthenticated(host.Now());
  bool delete_ike = false;
  for (const auto& p : *inner)
    if (const auto* d = std::get_if<ikev2::DeletePayload>(&p.body);
        d && d->protocol_id == uint8_t(ikev2::ProtocolId::kIke))
      delete_ike = true;
  // A CREATE_CHILD_SA the peer sent on the old SA before it learnt of the rekey: refused as
  // "later" (§2.25), so that the peer repeats it on the new SA.
  std::vector<Payload> reply;
  if (create) reply.push_back(ikev2::MakeNotify(NotifyType::kTemporaryFailure));
  auto w = SealAs(host, o.spi_i, o.spi_r, o.initiator, o.suite, o.keys, h.exchange, true,
                  o.peer_next_mid, reply);
  if (!w) return;
  o.last_request_digest = Digest(msg);
  o.last_response = std::move(*w);
  ++o.peer_next_mid;
  Dbg(host, delete_ike ? "Received DELETE for the old IKE SA"
            : create   ? "Received CREATE_CHILD_SA on the old IKE SA: TEMPORARY_FAILURE"
                       : "Received INFORMATIONAL request on the old IKE SA, answering");
  SendWire(host, o.last_response);
  // Kept a little longer than its Delete, to answer a retransmission of it.
  if (delete_ike) o.expires = std::min(o.expires, host.Now() + Seconds(10));
}

// ---- Timers ----------------------------------------------------------------------------

TimePoint Ikev2Session::NextDeadline() const {
  if (state_ == State::kEnded || state_ == State::kIdle) return kNever;
  TimePoint t = kNever;
  if (out_) t = std::min(t, out_->send_at);
  if (dpd_) t = std::min(t, dpd_->NextDeadline());
  if (neg_ && !initiator_) t = std::min(t, neg_->expires);
  if (cached_) t = std::min(t, cached_->until);
  if (state_ == State::kEstablished) {
    t = std::min(t, ike_expires_);
    for (const auto& ch : children_) t = std::min(t, ch.expires);
    if (!out_) {  // a rekey waits for our request window
      if (keeps_up_ && old_ike_.empty()) t = std::min(t, ike_rekey_at_);
      for (const auto& ch : children_)
        if (!ch.rekeying && !ch.replaced) t = std::min(t, ch.rekey_at);
    }
  }
  for (const auto& o : old_ike_) {
    t = std::min(t, o.expires);
    if (o.out) t = std::min(t, o.out->send_at);
  }
  return t;
}

void Ikev2Session::OnTimeout(SessionHost& host) {
  const TimePoint now = host.Now();
  if (state_ == State::kEnded || state_ == State::kIdle) return;
  if (neg_ && !initiator_ && now >= neg_->expires)
    return Fail(host, "IKE_AUTH request did not come");
  if (cached_ && now >= cached_->until) ForgetResponse();
  if (out_ && now >= out_->send_at) {
    Retransmit(host);
    if (state_ == State::kEnded) return;
  }
  if (dpd_ && now >= dpd_->NextDeadline()) DpdTick(host);
  if (state_ != State::kEstablished) return;
  for (size_t i = 0; i < old_ike_.size();) {
    OldIkeSa& o = old_ike_[i];
    if (now >= o.expires) {
      Dbg(host, "old IKE SA released (its Delete is done or timed out)");
      old_ike_.erase(old_ike_.begin() + long(i));
      continue;
    }
    if (o.out && now >= o.out->send_at) {
      Outstanding& r = *o.out;
      if (r.next > opts_->retransmit.tries) {
        Dbg(host, "Delete of the old IKE SA unanswered: old IKE SA released");
        old_ike_.erase(old_ike_.begin() + long(i));
        continue;
      } else {
        host.Emit(EventKind::kRetransmit, static_cast<uint64_t>(r.next), r.mid);
        SendWire(host, r.wire);
        ++r.next;
        r.due += RetransmitGap(opts_->retransmit, r.next);
        r.send_at = r.due - RetransmitJitter(opts_->retransmit, r.next, host.Rng());
      }
    }
    ++i;
  }
  if (now >= ike_expires_) return Delete(host, "IKE SA lifetime expired", true);
  for (size_t i = 0; i < children_.size();) {
    if (now < children_[i].expires) {
      ++i;
      continue;
    }
    // Hard lifetime: the pair goes now; the peer is told when our window is free.
    const uint32_t in = children_[i].spi_in;
    if (host.DebugOn()) host.Debug(Tag() + "Child SA lifetime expired, SPI " + std::to_string(in));
    if (!out_ && DeleteChild(host, in))
      out_->child_spi_in = 0;  // the answer finds nothing left to take down
    ChildGone(host, in);
  }
  StartPending(host);
}

void Ikev2Session::Retransmit(SessionHost& host) {
  Outstanding& o = *out_;
  if (o.next > opts_->retransmit.tries) {
    if (host.DebugOn())
      host.Debug(Tag() + "Retransmissions of message " + std::to_string(o.mid) + " exhausted");
    if (state_ == State::kEstablished) return PeerGone(host, "retransmissions exhausted");
    return Fail(host, "retransmissions exhausted");
  }
  host.Emit(EventKind::kRetransmit, static_cast<uint64_t>(o.next), o.mid);
  if (host.DebugOn())
    host.Debug(Tag() + "Retransmitting packet, message ID " + std::to_string(o.mid) +
               ", attempt " + std::to_string(o.next));
  SendWire(host, o.wire);
  ++o.next;
  o.due += RetransmitGap(opts_->retransmit, o.next);
  o.send_at = o.due - RetransmitJitter(opts_->retransmit, o.next, host.Rng());
}

void Ikev2Session::DpdTick(SessionHost& host) {
  const DpdAction a = dpd_->OnTimeout(host.Now());
  switch (a.kind) {
    case DpdAction::Kind::kNone:
      return;
    case DpdAction::Kind::kSendRUThere: {
      if (!out_) {
        auto w = Seal(host, ExchangeType::kInformational, false, next_mid_, {});
        if (!w) return;
        if (host.DebugOn())
          host.Debug(Tag() + "Sending liveness check, message ID " + std::to_string(next_mid_));
        SendRequest(host, ReqKind::kLiveness, std::move(*w));
      } else if (out_->kind != ReqKind::kLiveness && out_->next == 1 &&
                 out_->due - RetransmitGap(opts_->retransmit, 1) == host.Now()) {
        // The outstanding request left at this very instant (a CREATE_CHILD_SA started by the
        // same tick): it is the probe; the same bytes again now would only be a duplicate.
        if (host.DebugOn())
          host.Debug(Tag() + "Liveness check: message ID " + std::to_string(out_->mid) +
                     " just sent is the probe");
      } else {
        // The outstanding request is the probe: the same bytes again.
        if (host.DebugOn())
          host.Debug(Tag() + "Liveness retry " + std::to_string(a.error_count) +
                     ", retransmitting message ID " + std::to_string(out_->mid));
        SendWire(host, out_->wire);
      }
      host.Emit(EventKind::kDpdSent, out_->mid, a.error_count);
      return;
    }
    case DpdAction::Kind::kPeerDead:
      if (host.DebugOn()) host.Debug(Tag() + "peer " + remote_.ip.ToString() + " not responding!");
      return PeerGone(host, "peer not responding");
  }
}

// ---- Endings ---------------------------------------------------------------------------

void Ikev2Session::WipeKeys() {
  keys_ = Ikev2KeyBlock{};
  for (auto& ch : children_) ch.keys.reset();  // SecretBytes wipe themselves
}

void Ikev2Session::End(SessionHost& host, std::string_view reason) {
  if (state_ == State::kEnded) return;
  state_ = State::kEnded;
  for (const auto& ch : children_) {
    host.ChildDown(ch.spi_in, ch.spi_out);
    host.ReleaseSpiIn(ch.spi_in);
  }
  if (neg_ && neg_->child_spi_in) host.ReleaseSpiIn(neg_->child_spi_in);
  if (out_ && out_->rekey && out_->rekey->new_spi_in) host.ReleaseSpiIn(out_->rekey->new_spi_in);
  old_ike_.clear();
  peer_ike_rekey_.reset();
  pending_deletes_.clear();
  rekey_log_.clear();
  WipeKeys();
  children_.clear();
  neg_ = nullptr;
  out_.reset();
  dpd_.reset();
  ForgetResponse();
  if (host.DebugOn()) host.Debug(Tag() + "Deleting SA: " + std::string(reason));
  host.Deleted(reason);
}

void Ikev2Session::Fail(SessionHost& host, std::string_view reason) {
  if (state_ == State::kEnded) return;
  if (host.DebugOn()) host.Debug(Tag() + "negotiation failed: " + std::string(reason));
  if (initiator_) host.GaveUp();
  End(host, reason);
}

void Ikev2Session::PeerGone(SessionHost& host, std::string_view reason) {
  if (state_ == State::kEnded) return;
  host.PeerDead();
  End(host, reason);
}

void Ikev2Session::Delete(SessionHost& host, std::string_view reason, bool send) {
  if (state_ == State::kEnded) return;
  if (send && state_ == State::kEstablished) {
    // One INFORMATIONAL with Delete(IKE), not retransmitted: the session ends now.
    if (auto w = Seal(host, ExchangeType::kInformational, false, next_mid_,
                      {ikev2::MakePayload(
                          ikev2::DeletePayload{uint8_t(ikev2::ProtocolId::kIke), 0, {}})})) {
      ++next_mid_;
      SendWire(host, *w);
    }
  }
  End(host, reason);
}

void Ikev2Session::AddChild(SessionHost& host, const config::CryptoMapEntry& entry) {
  if (StartNewChild(host, entry)) return;
  if (host.DebugOn())
    host.Debug(Tag() + "cannot start CREATE_CHILD_SA now: crypto map " + entry.map_name + " " +
               std::to_string(entry.seq) + " gets no additional Child SA");
}

bool Ikev2Session::ChildInFlight(const SessionHost& host, EntryRef entry) const {
  return out_ && out_->kind == ReqKind::kNewChild && out_->rekey &&
         out_->rekey->map_seq == entry.seq && host.MapName(entry) == out_->rekey->map_name;
}

bool Ikev2Session::CarriesEntry(std::string_view map, uint32_t seq) const {
  if (state_ == State::kEnded) return false;
  if (initiator_ && state_ != State::kEstablished && map_seq_ == seq && map_name() == map)
    return true;
  for (const Child& ch : children_)
    if (!ch.replaced && ch.map_seq == seq && MapOf(ch) == map) return true;
  return out_ && out_->kind == ReqKind::kNewChild && out_->rekey && out_->rekey->map_seq == seq &&
         out_->rekey->map_name == map;
}

bool Ikev2Session::StartNewChild(SessionHost& host, const config::CryptoMapEntry& e) {
  if (state_ != State::kEstablished || out_ || children_.size() >= kMaxChildSas) return false;
  const config::Config& cfg = host.Cfg();
  const config::AclEntry* acl = FirstPermit(cfg.FindAcl(e.match_address));
  if (!acl || acl->src.v6 || acl->dst.v6) return false;
  auto rx = std::make_unique<RekeyExchange>();
  rx->map_name = e.map_name;
  rx->map_seq = e.seq;
  rx->ts_i = ToTs(FromNet(acl->src, Invert(acl->src_wildcard), acl->protocol));
  rx->ts_r = ToTs(FromNet(acl->dst, Invert(acl->dst_wildcard), acl->protocol));
  rx->new_spi_in = host.AllocateSpiIn();
  rx->offered = OurEspProposals(cfg, e, rx->new_spi_in);
  if (e.pfs_group) {
    for (auto& p : rx->offered.proposals) p.transforms.push_back(DhTransform(*e.pfs_group));
    rx->dh = crypto::DhKeyPair::Generate(*e.pfs_group);
  }
  if (rx->offered.proposals.empty() || (e.pfs_group && !rx->dh)) {
    host.ReleaseSpiIn(rx->new_spi_in);
    return false;
  }
  rx->ni.resize(kNonceSize);
  host.Rng().Fill(rx->ni);
  std::vector<Payload> inner;
  inner.push_back(ikev2::MakePayload(rx->offered));
  inner.push_back(ikev2::MakePayload(ikev2::NoncePayload{rx->ni}));
  if (rx->dh)
    inner.push_back(ikev2::MakePayload(ikev2::KePayload{*e.pfs_group, rx->dh->public_value()}));
  inner.push_back(ikev2::MakePayload(PayloadType::kTsi, ikev2::TsPayload{{rx->ts_i}}));
  inner.push_back(ikev2::MakePayload(PayloadType::kTsr, ikev2::TsPayload{{rx->ts_r}}));
  auto w = Seal(host, ExchangeType::kCreateChildSa, false, next_mid_, inner);
  if (!w) {
    host.ReleaseSpiIn(rx->new_spi_in);
    return false;
  }
  if (host.DebugOn())
    host.Debug(Tag() + "Sending CREATE_CHILD_SA request for crypto map " + e.map_name + " " +
               std::to_string(e.seq) + ", message ID " + std::to_string(next_mid_));
  SendRequest(host, ReqKind::kNewChild, std::move(*w));
  out_->rekey = std::move(rx);
  return true;
}

std::optional<std::pair<std::string, uint32_t>> Ikev2Session::OnChildVolume(SessionHost& host,
                                                                           uint32_t spi_in,
                                                                           bool hard) {
  if (state_ != State::kEstablished) return std::nullopt;
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const Child& c) { return c.spi_in == spi_in; });
  if (it == children_.end() || it->replaced) return std::nullopt;
  if (!hard) {
    if (it->rekeying) return std::nullopt;
    if (host.DebugOn())
      host.Debug(Tag() + "Child SA " + std::to_string(spi_in) +
                 ": soft kilobyte lifetime reached, rekeying");
    it->rekey_at = host.Now();
    StartPending(host);
    return std::nullopt;
  }
  if (it->rekeying) return std::nullopt;  // its replacement is on the way
  if (host.DebugOn())
    host.Debug(Tag() + "Child SA " + std::to_string(spi_in) + ": kilobyte lifetime expired");
  it->replaced = true;
  std::pair<std::string, uint32_t> entry{MapOf(*it), it->map_seq};
  if (!DeleteChild(host, spi_in)) pending_deletes_.push_back(spi_in);
  return entry;
}

size_t Ikev2Session::ClearChildren(SessionHost& host, const std::string* map) {
  if (state_ != State::kEstablished) return 0;
  std::vector<uint32_t> spis;
  for (Child& ch : children_) {
    if (ch.replaced || (map && MapOf(ch) != *map)) continue;
    ch.replaced = true;
    spis.push_back(ch.spi_in);
  }
  for (uint32_t spi : spis) {
    if (host.DebugOn()) host.Debug(Tag() + "Manual clear of Child SA " + std::to_string(spi));
    if (!DeleteChild(host, spi)) pending_deletes_.push_back(spi);
  }
  return spis.size();
}

void Ikev2Session::OnChildTraffic(SessionHost& host, uint32_t spi_in, bool inbound,
                                  uint64_t bytes) {
  if (state_ != State::kEstablished) return;
  for (auto& ch : children_) {
    if (ch.spi_in != spi_in) continue;
    const TimePoint now = host.Now();
    if (inbound) {
      ch.last_in = now;
      ++ch.pkts_in;
      ch.bytes_in += bytes;
      if (dpd_) dpd_->OnInboundTraffic(now);
    } else {
      ch.last_out = now;
      ++ch.pkts_out;
      ch.bytes_out += bytes;
      if (dpd_) dpd_->OnOutboundTraffic(now);
    }
    return;
  }
}

// ---- Views -----------------------------------------------------------------------------

IsakmpSaSnapshot Ikev2Session::Snapshot(TimePoint now) const {
  IsakmpSaSnapshot s;
  s.conn_id = id_;
  s.local = local_;
  s.remote = remote_;
  s.state = state_ == State::kEstablished ? "READY" : state_ == State::kEnded ? "DELETE" : "IN-NEG";
  s.initiator = initiator_;
  s.established = established();
  s.encryption = crypto::Ikev2EncrName(suite_.encr);
  s.hash = crypto::IsAead(suite_.encr) ? crypto::HashName(suite_.prf)
                                       : crypto::Ikev2IntegName(suite_.integ);
  s.auth = "psk";
  s.group = group_;
  if (established_at_ != kNever)
    s.lifetime_left_s = std::chrono::duration_cast<std::chrono::seconds>(
                            established_at_ + Seconds(lifetime_s_) - now)
                            .count();
  s.peer_supports_dpd = true;  // every IKEv2 peer answers liveness checks
  s.nat_t = floated() || nat_detected_;
  if (dpd_) FillDpd(s, *dpd_, now, next_mid_);
  return s;
}

std::vector<ChildSaSnapshot> Ikev2Session::Children(TimePoint now, SnapshotKeys keys) const {
  std::vector<ChildSaSnapshot> v;
  v.reserve(children_.size());
  for (const auto& ch : children_) {
    ChildSaSnapshot s;
    s.ike_sa = id_;
    s.map_name = MapOf(ch);
    s.map_seq = ch.map_seq;
    s.local = local_;
    s.remote = remote_;
    s.udp_encap = ch.algs.udp_encap;
    s.spi_in = ch.spi_in;
    s.spi_out = ch.spi_out;
    s.cipher = ch.algs.cipher;
    s.auth = ch.algs.auth;
    s.keys_handed_over = ch.keys_handed_over;
    if (keys == SnapshotKeys::kInclude && !ch.keys_handed_over && ch.keys) {
      s.enc_key_in = ch.keys->enc_in;
      s.auth_key_in = ch.keys->auth_in;
      s.enc_key_out = ch.keys->enc_out;
      s.auth_key_out = ch.keys->auth_out;
    }
    s.local_net = ch.local_net;
    s.local_mask = ch.local_mask;
    s.remote_net = ch.remote_net;
    s.remote_mask = ch.remote_mask;
    s.protocol = ch.protocol;
    s.lifetime_left_s =
        std::chrono::duration_cast<std::chrono::seconds>(ch.expires - now).count();
    s.lifetime_kb = ch.algs.lifetime_kb;
    if (ch.last_in != kNever) s.last_in = ch.last_in;
    if (ch.last_out != kNever) s.last_out = ch.last_out;
    s.pkts_in = ch.pkts_in;
    s.pkts_out = ch.pkts_out;
    s.bytes_in = ch.bytes_in;
    s.bytes_out = ch.bytes_out;
    v.push_back(std::move(s));
  }
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.spi_in < b.spi_in; });
  return v;
}

namespace {
uint64_t SpiValue(const ikev2::Spi& s) {
  uint64_t v = 0;
  for (uint8_t b : s) v = v << 8 | b;
  return v;
}
const char* IosHashName(crypto::HashAlg h) {
  switch (h) {
    case crypto::HashAlg::kMd5: return "MD5";
    case crypto::HashAlg::kSha1: return "SHA1";
    case crypto::HashAlg::kSha256: return "SHA256";
    case crypto::HashAlg::kSha384: return "SHA384";
    case crypto::HashAlg::kSha512: return "SHA512";
  }
  return "SHA256";
}
const char* IosIntegName(crypto::Ikev2IntegAlg i) {
  switch (i) {
    case crypto::Ikev2IntegAlg::kNone: return "None";
    case crypto::Ikev2IntegAlg::kHmacSha1_96: return "SHA96";
    case crypto::Ikev2IntegAlg::kHmacSha256_128: return "SHA256";
    case crypto::Ikev2IntegAlg::kHmacSha384_192: return "SHA384";
    case crypto::Ikev2IntegAlg::kHmacSha512_256: return "SHA512";
  }
  return "None";
}
void EspNames(config::EspCipher c, config::EspAuth a, Ikev2ChildSnapshot& s) {
  switch (c) {
    case config::EspCipher::kAes128: s.encryption = "AES-CBC"; s.key_size = 128; break;
    case config::EspCipher::kAes192: s.encryption = "AES-CBC"; s.key_size = 192; break;
    case config::EspCipher::kAes256: s.encryption = "AES-CBC"; s.key_size = 256; break;
    case config::EspCipher::k3Des: s.encryption = "3DES"; s.key_size = 0; break;
    case config::EspCipher::kAesGcm128: s.encryption = "AES-GCM"; s.key_size = 128; break;
    case config::EspCipher::kAesGcm256: s.encryption = "AES-GCM"; s.key_size = 256; break;
    case config::EspCipher::kNull:
    case config::EspCipher::kNone: s.encryption = "NULL"; s.key_size = 0; break;
  }
  switch (a) {
    case config::EspAuth::kMd5: s.esp_hmac = "MD596"; break;
    case config::EspAuth::kSha1: s.esp_hmac = "SHA96"; break;
    case config::EspAuth::kSha256: s.esp_hmac = "SHA256"; break;
    case config::EspAuth::kSha384: s.esp_hmac = "SHA384"; break;
    case config::EspAuth::kSha512: s.esp_hmac = "SHA512"; break;
    case config::EspAuth::kNone: s.esp_hmac = "None"; break;
  }
}
}  // namespace

void Ikev2Session::HandOverChildKeys(uint32_t spi_in) {
  for (auto& ch : children_) {
    if (ch.spi_in != spi_in || ch.keys_handed_over) continue;
    ch.keys.reset();  // the block goes; its SecretBytes wipe themselves
    ch.keys_handed_over = true;
  }
}

Ikev2SaSnapshot Ikev2Session::Ikev2Snapshot(TimePoint now) const {
  Ikev2SaSnapshot s;
  s.tunnel_id = id_;
  s.local = local_;
  s.remote = remote_;
  s.status = state_ == State::kEstablished ? Ikev2SaSnapshot::Status::kReady
             : state_ == State::kEnded     ? Ikev2SaSnapshot::Status::kDelete
                                           : Ikev2SaSnapshot::Status::kInNeg;
  s.initiator = initiator_;
  s.map_name = map_name();
  s.map_seq = map_seq_;
  s.profile = profile();
  if (group_ != 0) {  // the suite is known once IKE_SA_INIT is answered
    const bool aead = crypto::IsAead(suite_.encr);
    s.encryption = aead ? "AES-GCM" : "AES-CBC";
    s.key_size = suite_.encr == crypto::Ikev2EncrAlg::kAesCbc256 ||
                         suite_.encr == crypto::Ikev2EncrAlg::kAesGcm16_256
                     ? 256
                     : 128;
    s.prf = IosHashName(suite_.prf);
    s.integrity = aead ? "None" : IosIntegName(suite_.integ);
    s.dh_group = group_;
  }
  s.lifetime_s = lifetime_s_;
  if (established_at_ != kNever && now > established_at_)
    s.active_time_s =
        std::chrono::duration_cast<std::chrono::seconds>(now - established_at_).count();
  s.spi_local = SpiValue(initiator_ ? spi_i_ : spi_r_);
  s.spi_remote = SpiValue(initiator_ ? spi_r_ : spi_i_);
  s.next_request_id = next_mid_;
  s.next_peer_request_id = peer_next_mid_;
  s.nat_detected = nat_detected_;
  s.floated = floated();
  if (dpd_) {
    const DpdMonitor& m = *dpd_;
    s.dpd_enabled = m.config().enabled;
    s.dpd_periodic = m.mode() == config::DpdMode::kPeriodic;
    s.dpd_interval_s = m.config().interval_s;
    s.dpd_retry_s = m.retry_s();
    s.dpd_active = m.Active();
    s.dpd_probing = m.probing();
    s.dpd_probe_sends = m.outstanding();
    if (m.last_rx() != kNever)
      s.dpd_last_heard_s_ago =
          std::chrono::duration_cast<std::chrono::seconds>(now - m.last_rx()).count();
  }
  for (const auto& ch : children_) {
    Ikev2ChildSnapshot c;
    c.local_net = ch.local_net;
    c.local_mask = ch.local_mask;
    c.remote_net = ch.remote_net;
    c.remote_mask = ch.remote_mask;
    c.protocol = ch.protocol;
    c.spi_in = ch.spi_in;
    c.spi_out = ch.spi_out;
    EspNames(ch.algs.cipher, ch.algs.auth, c);
    s.children.push_back(std::move(c));
  }
  return s;
}

}  // namespace ikepulse::ike
