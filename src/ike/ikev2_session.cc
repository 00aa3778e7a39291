// Ikev2Session (ikev2_session.h). Layout: helpers (the proposals and selectors are in
// ikev2_proposals.cc), then the session: setup (IKE_SA_INIT, IKE_AUTH), message IDs and
// retransmission, INFORMATIONAL (liveness, Delete), endings, read-only views.
#include "ike/ikev2_session.h"

#include <algorithm>
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

const config::Ikev2KeyringPeer* KeyFor(const config::Config& cfg, const config::Ikev2Profile& p,
                                       const IpAddress& peer) {
  const config::Ikev2Keyring* kr = cfg.FindIkev2Keyring(p.keyring_local);
  if (!kr) return nullptr;
  for (const auto& kp : kr->peers)
    if (kp.Matches(peer)) return &kp;
  return nullptr;
}

bool IdentityMatches(const config::Ikev2Profile& p, const ikev2::IdPayload& id) {
  if (p.match_identity_remote.empty()) return true;
  if (id.id_type != uint8_t(ikev2::IdType::kIpv4Addr) || id.data.size() != 4) return false;
  const IpAddress a = IpAddress::V4(id.data[0], id.data[1], id.data[2], id.data[3]);
  for (const auto& m : p.match_identity_remote) {
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

uint8_t FirstType(const std::vector<Payload>& inner) {
  return inner.empty() ? uint8_t(PayloadType::kNone) : uint8_t(inner.front().type);
}

}  // namespace

// ===========================================================================================

Ikev2Session::Negotiation::~Negotiation() {
  WipeAndFree(ni);
  WipeAndFree(nr);
  WipeAndFree(init_request);
  WipeAndFree(init_response);
}

Ikev2Session::Ikev2Session(SaId id, Ikev2Options opts) : id_(id), opts_(opts) {}
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
    o.due = host.Now() + RetransmitGap(opts_.retransmit, 1);
    o.send_at = o.due - RetransmitJitter(opts_.retransmit, 1, host.Rng());
  }
  out_ = std::move(o);
  SendWire(host, out_->wire);
}

void Ikev2Session::SendResponse(SessionHost& host, Bytes wire, ByteSpan request) {
  last_request_digest_ = Digest(request);
  last_response_ = std::move(wire);
  ++peer_next_mid_;
  SendWire(host, last_response_);
}

std::optional<Bytes> Ikev2Session::Seal(SessionHost& host, ExchangeType x, bool response,
                                        uint32_t mid, const std::vector<Payload>& inner) {
  ikev2::Header h = MakeHeader(x, response, mid);
  h.next_payload = PayloadType::kSk;
  Bytes prefix;
  ByteWriter w(prefix);
  ikev2::SerializeHeader(h, w);
  w.U8(FirstType(inner));
  w.U8(0);
  w.U16(0);
  const Bytes body = ikev2::SerializePayloads(inner);
  auto r = crypto::ProtectSk(crypto::SkKeysFor(suite_, keys_, initiator_), prefix, body,
                             host.Rng());
  if (!r) return std::nullopt;
  return std::move(*r);
}

std::optional<std::vector<Payload>> Ikev2Session::Open(SessionHost& host,
                                                       const std::vector<Payload>& outer,
                                                       ByteSpan msg) {
  const Payload* sk = ikev2::FindType(outer, PayloadType::kSk);
  if (!sk) {
    host.Drop("dropped_state", "IKEv2 message without an Encrypted payload");
    return std::nullopt;
  }
  auto plain =
      crypto::UnprotectSk(crypto::SkKeysFor(suite_, keys_, !initiator_), msg, sk->offset);
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
  map_name_ = entry.map_name;
  map_seq_ = entry.seq;
  profile_ = entry.ikev2_profile;
  const config::Config& cfg = host.Cfg();
  const config::Ikev2Profile* prof = cfg.FindIkev2Profile(profile_);
  if (!prof) return Fail(host, "crypto map entry has no usable ikev2-profile");
  lifetime_s_ = prof->lifetime_s;
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

bool Ikev2Session::BuildAndSendInit(SessionHost& host) {
  neg_->dh = crypto::DhKeyPair::Generate(group_);
  if (!neg_->dh) return false;
  std::vector<Payload> p;
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

void Ikev2Session::OnInitResponse(SessionHost& host, const ikev2::Header& h,
                                  const std::vector<Payload>& payloads, ByteSpan msg) {
  if (const auto* n = ikev2::FindNotify(payloads, NotifyType::kInvalidKePayload)) {
    uint16_t g = n->data.size() == 2 ? uint16_t((n->data[0] << 8) | n->data[1]) : 0;
    bool allowed = false;
    for (const auto& p : neg_->offered.proposals)
      for (const auto& t : p.transforms)
        if (t.type == uint8_t(TransformType::kDh) && t.id == g) allowed = true;
    if (!allowed || g == group_ || neg_->invalid_ke >= opts_.max_invalid_ke) {
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
  keys_ = std::move(*keys);
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
    local_.port = opts_.natt_port;
    remote_.port = opts_.natt_port;
  }
  out_.reset();
  if (!SendAuth(host)) return;
  state_ = State::kAuthSent;
}

// ---- Initiator: IKE_AUTH ---------------------------------------------------------------

bool Ikev2Session::SendAuth(SessionHost& host) {
  const config::Config& cfg = host.Cfg();
  const config::Ikev2Profile* prof = cfg.FindIkev2Profile(profile_);
  const config::CryptoMapEntry* e = cfg.FindCryptoMap(map_name_, map_seq_);
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
  const ikev2::IdPayload idi = IdOf(prof->identity_local.value_or(local_.ip));
  const SecretBytes auth = crypto::PskAuth(suite_.prf, kp->LocalKey().span(), neg_->init_request,
                                           neg_->nr, keys_.sk_pi.span(), ikev2::SerializeBody(idi));
  std::vector<Payload> inner;
  inner.push_back(ikev2::MakePayload(PayloadType::kIdi, idi));
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
  for (const auto& p : inner)
    if (const auto* n = std::get_if<ikev2::NotifyPayload>(&p.body);
        n && n->is_error() && n->type != uint16_t(NotifyType::kTsUnacceptable) &&
        n->type != uint16_t(NotifyType::kNoProposalChosen)) {
      return Fail(host, std::string("IKE_AUTH refused by the peer: ") +
                            ikev2::NotifyTypeName(n->type));
    }
  const config::Config& cfg = host.Cfg();
  const config::Ikev2Profile* prof = cfg.FindIkev2Profile(profile_);
  const config::Ikev2KeyringPeer* kp = prof ? KeyFor(cfg, *prof, remote_.ip) : nullptr;
  const Payload* idr = ikev2::FindType(inner, PayloadType::kIdr);
  const auto* auth = ikev2::Find<ikev2::AuthPayload>(inner);
  const auto* idr_body = idr ? std::get_if<ikev2::IdPayload>(&idr->body) : nullptr;
  if (!kp || !idr_body || !auth || auth->method != uint8_t(ikev2::AuthMethod::kSharedKey) ||
      !crypto::VerifyPskAuth(suite_.prf, kp->RemoteKey().span(), neg_->init_response, neg_->ni,
                             keys_.sk_pr.span(), ikev2::SerializeBody(*idr_body), auth->data)) {
    return Fail(host, "the peer's AUTH does not verify");
  }
  // The Child SA.
  const auto* sa = ikev2::Find<ikev2::SaPayload>(inner);
  const Payload* tsi = ikev2::FindType(inner, PayloadType::kTsi);
  const Payload* tsr = ikev2::FindType(inner, PayloadType::kTsr);
  const config::CryptoMapEntry* e = cfg.FindCryptoMap(map_name_, map_seq_);
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
  ch.map_name = map_name_;
  ch.map_seq = map_seq_;
  ch.protocol = ri->proto;
  // Selectors that are not a prefix are shown as what we asked for.
  if (!ToNet(*ri, ch.local_net, ch.local_mask))
    ToNet(*FromTs(neg_->ts_i), ch.local_net, ch.local_mask);
  if (!ToNet(*rr, ch.remote_net, ch.remote_mask))
    ToNet(*FromTs(neg_->ts_r), ch.remote_net, ch.remote_mask);
  crypto::ChildSaKeys k = crypto::DeriveChildSaKeys(suite_.prf, keys_.sk_d.span(), std::nullopt,
                                                    neg_->ni, neg_->nr, ch.algs.EncKeyLength(),
                                                    ch.algs.AuthKeyLength());
  ch.enc_out = std::move(k.encr_i);
  ch.auth_out = std::move(k.integ_i);
  ch.enc_in = std::move(k.encr_r);
  ch.auth_in = std::move(k.integ_r);
  ch.created = host.Now();
  ch.expires = host.Now() + Seconds(ch.algs.lifetime_s);
  neg_->child_spi_in = 0;  // installed
  children_.push_back(std::move(ch));
  BecomeEstablished(host);
  host.ChildUp(ChildSaUp{children_.back().spi_in, children_.back().spi_out, map_name_, map_seq_});
}

void Ikev2Session::BecomeEstablished(SessionHost& host) {
  state_ = State::kEstablished;
  established_at_ = host.Now();
  neg_ = nullptr;  // nonces, DH, the IKE_SA_INIT messages
  keys_.sk_pi = SecretBytes();  // AUTH is done: only SK_d, SK_a and SK_e stay
  keys_.sk_pr = SecretBytes();
  dpd_.emplace(DpdConfig(host.Cfg(), profile_), host.Rng());
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
  std::unique_ptr<Ikev2Session> s(new Ikev2Session(id, opts));
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
  s->keys_ = std::move(*keys);
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
  n.expires = host.Now() + opts.half_open_lifetime;
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
  if (local.port == opts_.natt_port && !floated()) {  // the initiator floated (§2.23)
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
    for (const auto& e : cfg.crypto_maps) {
      if (e.ikev2_profile.empty() || !ListsPeer(e, remote_.ip)) continue;
      if (++tried > 64) break;  // bounded: AUTH is an HMAC per candidate
      const config::Ikev2Profile* p = cfg.FindIkev2Profile(e.ikev2_profile);
      if (!p || !IdentityMatches(*p, *idi)) continue;
      const config::Ikev2KeyringPeer* kp = KeyFor(cfg, *p, remote_.ip);
      if (!kp || kp->RemoteKey().empty()) continue;
      if (crypto::VerifyPskAuth(suite_.prf, kp->RemoteKey().span(), neg_->init_request,
                                neg_->nr, keys_.sk_pi.span(), idi_body, auth->data)) {
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
  map_name_ = entry->map_name;
  map_seq_ = entry->seq;
  profile_ = entry->ikev2_profile;
  lifetime_s_ = prof->lifetime_s;
  const ikev2::IdPayload idr = IdOf(prof->identity_local.value_or(local_.ip));
  const SecretBytes our_auth =
      crypto::PskAuth(suite_.prf, key->LocalKey().span(), neg_->init_response, neg_->ni,
                      keys_.sk_pr.span(), ikev2::SerializeBody(idr));
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
    ch.map_name = map_name_;
    ch.map_seq = map_seq_;
    ch.protocol = rr->proto;
    const Range our_local = FromNet(acl->src, Invert(acl->src_wildcard), acl->protocol);
    const Range our_remote = FromNet(acl->dst, Invert(acl->dst_wildcard), acl->protocol);
    if (!ToNet(*rr, ch.local_net, ch.local_mask)) ToNet(our_local, ch.local_net, ch.local_mask);
    if (!ToNet(*ri, ch.remote_net, ch.remote_mask)) ToNet(our_remote, ch.remote_net, ch.remote_mask);
    crypto::ChildSaKeys k = crypto::DeriveChildSaKeys(suite_.prf, keys_.sk_d.span(), std::nullopt,
                                                      neg_->ni, neg_->nr, ch.algs.EncKeyLength(),
                                                      ch.algs.AuthKeyLength());
    ch.enc_in = std::move(k.encr_i);
    ch.auth_in = std::move(k.integ_i);
    ch.enc_out = std::move(k.encr_r);
    ch.auth_out = std::move(k.integ_r);
    ch.created = host.Now();
    ch.expires = host.Now() + Seconds(ch.algs.lifetime_s);
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
  if (child) children_.push_back(std::move(*child));
  BecomeEstablished(host);
  if (!children_.empty())
    host.ChildUp(ChildSaUp{children_.back().spi_in, children_.back().spi_out, map_name_, map_seq_});
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
  const ExchangeType want = kind == ReqKind::kInit   ? ExchangeType::kIkeSaInit
                            : kind == ReqKind::kAuth ? ExchangeType::kIkeAuth
                                                     : ExchangeType::kInformational;
  if (h.exchange != want) {
    host.Drop("dropped_state", "IKEv2 response of another exchange");
    return;
  }
  if (kind == ReqKind::kInit) return OnInitResponse(host, h, outer, msg);
  auto inner = Open(host, outer, msg);
  if (!inner) return;
  if (kind == ReqKind::kAuth) return OnAuthResponse(host, *inner);
  OnInformationalResponse(host, *inner);
}

void Ikev2Session::HandleRequest(SessionHost& host, const ikev2::Header& h,
                                 const std::vector<Payload>& outer, const Endpoint& local,
                                 const Endpoint& remote, ByteSpan msg) {
  if (h.message_id != peer_next_mid_) {
    if (!last_request_digest_.empty() && h.message_id + 1 == peer_next_mid_ &&
        Digest(msg) == last_request_digest_) {
      Dbg(host, "retransmitted request " + std::to_string(h.message_id) +
                    ": sending the cached response");
      host.Emit(EventKind::kRetransmit, h.message_id, 0, "response");
      SendWire(host, last_response_);
      return;
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
    host.Heard();
    if (dpd_) dpd_->OnInboundAuthenticated(host.Now());
    Dbg(host, "CREATE_CHILD_SA not supported yet: NO_ADDITIONAL_SAS");
    if (auto w = Seal(host, ExchangeType::kCreateChildSa, true, peer_next_mid_,
                      {ikev2::MakeNotify(NotifyType::kNoAdditionalSas)}))
      SendResponse(host, std::move(*w), msg);
    return;
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
  if (auto w = Seal(host, ExchangeType::kInformational, true, peer_next_mid_, reply))
    SendResponse(host, std::move(*w), msg);
  if (delete_ike) return End(host, "peer deleted the IKE SA");
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
    for (auto it = children_.begin(); it != children_.end(); ++it)
      if (it->spi_in == o.child_spi_in) {
        const uint32_t in = it->spi_in, out = it->spi_out;
        children_.erase(it);
        host.ChildDown(in, out);
        host.ReleaseSpiIn(in);
        break;
      }
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

// ---- Timers ----------------------------------------------------------------------------

TimePoint Ikev2Session::NextDeadline() const {
  if (state_ == State::kEnded || state_ == State::kIdle) return kNever;
  TimePoint t = kNever;
  if (out_) t = std::min(t, out_->send_at);
  if (dpd_) t = std::min(t, dpd_->NextDeadline());
  if (neg_ && !initiator_) t = std::min(t, neg_->expires);
  return t;
}

void Ikev2Session::OnTimeout(SessionHost& host) {
  const TimePoint now = host.Now();
  if (state_ == State::kEnded || state_ == State::kIdle) return;
  if (neg_ && !initiator_ && now >= neg_->expires)
    return Fail(host, "IKE_AUTH request did not come");
  if (out_ && now >= out_->send_at) {
    Retransmit(host);
    if (state_ == State::kEnded) return;
  }
  if (dpd_ && now >= dpd_->NextDeadline()) DpdTick(host);
}

void Ikev2Session::Retransmit(SessionHost& host) {
  Outstanding& o = *out_;
  if (o.next > opts_.retransmit.tries) {
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
  o.due += RetransmitGap(opts_.retransmit, o.next);
  o.send_at = o.due - RetransmitJitter(opts_.retransmit, o.next, host.Rng());
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
  keys_ = crypto::IkeSaKeys{};
  for (auto& ch : children_) {
    ch.enc_in.Wipe();
    ch.auth_in.Wipe();
    ch.enc_out.Wipe();
    ch.auth_out.Wipe();
  }
}

void Ikev2Session::End(SessionHost& host, std::string_view reason) {
  if (state_ == State::kEnded) return;
  state_ = State::kEnded;
  for (const auto& ch : children_) {
    host.ChildDown(ch.spi_in, ch.spi_out);
    host.ReleaseSpiIn(ch.spi_in);
  }
  if (neg_ && neg_->child_spi_in) host.ReleaseSpiIn(neg_->child_spi_in);
  WipeKeys();
  children_.clear();
  neg_ = nullptr;
  out_.reset();
  dpd_.reset();
  WipeAndFree(last_response_);
  last_request_digest_.clear();
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
  if (host.DebugOn())
    host.Debug(Tag() + "CREATE_CHILD_SA not supported yet: crypto map " + entry.map_name + " " +
               std::to_string(entry.seq) + " gets no additional Child SA");
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
  if (dpd_) {
    const DpdMonitor& m = *dpd_;
    s.dpd_enabled = m.config().enabled;
    s.dpd_active = m.Active();
    s.dpd_periodic = m.mode() == config::DpdMode::kPeriodic;
    s.dpd_interval_s = m.config().interval_s;
    s.dpd_retry_s = m.retry_s();
    if (m.last_rx() != kNever)
      s.dpd_last_heard_ms_ago =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - m.last_rx()).count();
    s.dpd_probing = m.probing();
    s.dpd_outstanding = m.outstanding();
    s.dpd_next_seq = next_mid_;
  }
  return s;
}

std::vector<ChildSaSnapshot> Ikev2Session::Children(TimePoint now, SnapshotKeys keys) const {
  std::vector<ChildSaSnapshot> v;
  v.reserve(children_.size());
  for (const auto& ch : children_) {
    ChildSaSnapshot s;
    s.ike_sa = id_;
    s.map_name = ch.map_name;
    s.map_seq = ch.map_seq;
    s.local = local_;
    s.remote = remote_;
    s.udp_encap = ch.algs.udp_encap;
    s.spi_in = ch.spi_in;
    s.spi_out = ch.spi_out;
    s.cipher = ch.algs.cipher;
    s.auth = ch.algs.auth;
    s.keys_handed_over = ch.keys_handed_over;
    if (keys == SnapshotKeys::kInclude && !ch.keys_handed_over) {
      s.enc_key_in = ch.enc_in;
      s.auth_key_in = ch.auth_in;
      s.enc_key_out = ch.enc_out;
      s.auth_key_out = ch.auth_out;
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
    // Assigning an empty SecretBytes wipes the old bytes and frees them.
    ch.enc_in = SecretBytes();
    ch.auth_in = SecretBytes();
    ch.enc_out = SecretBytes();
    ch.auth_out = SecretBytes();
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
  s.map_name = map_name_;
  s.map_seq = map_seq_;
  s.profile = profile_;
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
