// Main Mode responder before the peer has proved it receives our packets (issue #10):
// MM1 creates only a half-open entry (ike/half_open.h) and sends MM2; a duplicate MM1 gets the
// same MM2 again; MM3 carrying our responder cookie, from the address MM1 came from, turns the
// entry into a full IkeSa, on which main_mode.cc continues. An MM1 whose proposals match no
// policy is answered with an unauthenticated NO_PROPOSAL_CHOSEN notify, rate-limited.
#include <algorithm>

#include "ike/node_impl.h"
#include "ike/vendor_ids.h"

namespace ikepulse::ike {

namespace {

using isakmp::MakePayload;
using isakmp::Payload;

// The half-open entry's lifetime as an SA once promoted: as before, counted from MM1.
constexpr Duration kNegotiationLimit = Seconds(120);
// Unauthenticated NO_PROPOSAL_CHOSEN answers: a token bucket of kNoProposalBurst answers,
// refilled at kNoProposalPerSecond (thousandths of a token per millisecond = per second).
constexpr int64_t kNoProposalPerSecond = 5;
constexpr int64_t kNoProposalBurst = 5;

const Payload* FindSa(const std::vector<Payload>& chain) {
  for (const auto& p : chain)
    if (p.type == isakmp::PayloadType::kSa) return &p;
  return nullptr;
}

}  // namespace

void NodeImpl::OnMainModeWithoutSa(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                                   const Endpoint& remote, ByteSpan msg) {
  static const isakmp::Cookie kZero{};
  if (h.rcookie == kZero) {
    OnMainMode1(c, h, local, remote, msg);
    return;
  }
  // MM3 to a half-open negotiation: it becomes a full SA now, and MM3 is processed on it.
  IkeSa* promoted = PromoteHalfOpen(c, h, local, remote);
  if (!promoted) {
    Drop(c, counters_.dropped_unknown_sa, "Main Mode for an unknown SA", remote);
    return;
  }
  Ikev1Host host(*this, c, promoted);
  SessionOf(*promoted).OnIkev1Message(host, h, local, remote, msg);
  if (!promoted->dead()) Rearm(*promoted);
}

void NodeImpl::OnMainMode1(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                           const Endpoint& remote, ByteSpan msg) {
  static const isakmp::Cookie kZero{};
  if (h.encrypted() || h.message_id != 0 || h.icookie == kZero) {
    Drop(c, counters_.dropped_unknown_sa, "Main Mode for an unknown SA", remote);
    return;
  }
  const Bytes digest = crypto::Hash(crypto::HashAlg::kSha1, {msg});
  // A retransmitted MM1 belongs to the negotiation it started, from that peer: MM2 again.
  if (const HalfOpen* ho = half_open_.FindByMm1(h.icookie, remote.ip)) {
    if (digest.size() == ho->mm1_digest.size() &&
        std::equal(digest.begin(), digest.end(), ho->mm1_digest.begin())) {
      ++counters_.duplicates_answered;
      Debug(c, nullptr, "retransmission detected, resending MM2 to " + remote.ToString());
      c.out.datagrams.push_back(Datagram{ho->local, ho->remote, ho->mm2});
      ++counters_.tx_datagrams;
    } else {
      Drop(c, counters_.dropped_state, "MM1 for a negotiation already started", remote);
    }
    return;
  }
  const ByteSpan body = msg.subspan(isakmp::kHeaderSize);
  auto chain = isakmp::ParsePayloads(h.next_payload, body, isakmp::kHeaderSize);
  if (!chain) {
    Drop(c, counters_.dropped_malformed, chain.error().detail, remote);
    return;
  }
  const Payload* sap = FindSa(*chain);
  const config::PresharedKey* key = PresharedKeyFor(remote.ip);
  if (!sap || !key) {
    Drop(c, counters_.dropped_state, sap ? "no pre-shared key for peer" : "MM1 without SA", remote);
    return;
  }
  const ByteSpan sai = sap->BodyIn(body);
  if (sai.size() > HalfOpenTable::kMaxSaBody) {
    half_open_.CountRejected();
    Drop(c, counters_.dropped_state, "MM1 SA payload too large", remote);
    return;
  }
  const auto& offered = std::get<isakmp::SaPayload>(sap->body);
  auto choice = SelectPhase1(offered, cfg_);
  if (!choice) {
    Log(c, "%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed with peer at " +
               remote.ip.ToString() + " (no acceptable isakmp policy)");
    Drop(c, counters_.dropped_state, "NO_PROPOSAL_CHOSEN", remote);
    SendNoProposalChosen(c, h, local, remote);
    return;
  }
  HalfOpen e;
  e.icookie = h.icookie;
  do {
    rng_->Fill(e.rcookie);
  } while (e.rcookie == kZero);
  e.local = local;
  e.remote = remote;
  e.algs = choice->algs;
  e.sai_b.assign(sai.begin(), sai.end());
  std::copy_n(digest.begin(), std::min(digest.size(), e.mm1_digest.size()), e.mm1_digest.begin());
  for (const auto& p : *chain) {
    const auto* v = std::get_if<isakmp::VendorIdPayload>(&p.body);
    if (!v) continue;
    const VendorKind k = ClassifyVendorId(v->data);
    Debug(c, nullptr, " processing vendor id payload");
    Debug(c, nullptr, " " + VendorIdDebugText(k, v->data));
    if (k == VendorKind::kDpd) e.peer_dpd = true;
    if (k == VendorKind::kNatTRfc) e.peer_natt_rfc = true;
    if (k == VendorKind::kNatTDraft) e.peer_natt_draft = true;
  }
  Debug(c, nullptr, "atts are acceptable. Next payload is 0");
  // MM2: our single choice, echoed as received.
  isakmp::SaPayload reply;
  reply.doi = offered.doi;
  reply.situation = offered.situation;
  isakmp::Proposal prop;
  prop.number = choice->proposal_number;
  prop.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp);
  prop.transforms.push_back(choice->transform);
  reply.proposals.push_back(std::move(prop));
  std::vector<Payload> out;
  out.push_back(MakePayload(std::move(reply)));
  out.push_back(MakePayload(isakmp::VendorIdPayload{CiscoUnityVendorId()}));
  out.push_back(MakePayload(isakmp::VendorIdPayload{DpdVendorId()}));
  out.push_back(MakePayload(isakmp::VendorIdPayload{XauthVendorId()}));
  if (e.peer_natt_rfc) out.push_back(MakePayload(isakmp::VendorIdPayload{NatTRfcVendorId()}));
  isakmp::Header rh = h;
  rh.rcookie = e.rcookie;
  rh.next_payload = isakmp::PayloadType::kSa;
  rh.flags = 0;
  e.mm2 = isakmp::BuildMessage(rh, isakmp::SerializePayloads(out));
  c.out.datagrams.push_back(Datagram{local, remote, e.mm2});
  ++counters_.tx_datagrams;
  if (*debug_)
    Debug(c, nullptr,
          " sending packet to " + remote.ip.ToString() + " my_port " + std::to_string(local.port) +
              " peer_port " + std::to_string(remote.port) + " (R) MM_SA_SETUP");
  Debug(c, nullptr, "Old State = IKE_READY  New State = IKE_R_MM2");
  half_open_.Insert(std::move(e), c.now);
}

IkeSa* NodeImpl::PromoteHalfOpen(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                                 const Endpoint& remote) {
  (void)local;
  if (h.encrypted() || h.message_id != 0) return nullptr;
  auto e = half_open_.Take(h.icookie, h.rcookie, remote.ip);
  if (!e) return nullptr;
  const config::PresharedKey* key = PresharedKeyFor(remote.ip);
  if (!key) return nullptr;  // the key was removed since MM1
  IkeSa& r = NewSa(c, false, e->local, e->remote);
  r.icookie = e->icookie;
  r.rcookie = e->rcookie;
  IndexCookie(r);
  r.mm->psk = key->key;
  r.algs = e->algs;
  r.mm->sai_b = std::move(e->sai_b);
  r.created = e->created;
  r.expires = e->created + kNegotiationLimit;
  r.last_rx = c.now;
  r.peer_dpd = e->peer_dpd;
  r.peer_natt_rfc = e->peer_natt_rfc;
  r.peer_natt_draft = e->peer_natt_draft;
  r.SetState(P1State::kRespSentMm2);
  r.mm->last_rx_hash.assign(e->mm1_digest.begin(), e->mm1_digest.end());
  r.mm->rtx.packet = std::move(e->mm2);
  Debug(c, &r, "MM3 from " + remote.ToString() + " carries our cookie: negotiation admitted");
  return &r;
}

void NodeImpl::SendNoProposalChosen(Ctx& c, const isakmp::Header& h, const Endpoint& local,
                                    const Endpoint& remote) {
  // Token bucket in thousandths of a token, driven by `now`.
  constexpr int64_t kFull = kNoProposalBurst * 1000;
  if (!no_proposal_primed_) {
    no_proposal_primed_ = true;
    no_proposal_tokens_ = kFull;
    no_proposal_refill_ = c.now;
  }
  if (c.now > no_proposal_refill_) {
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(c.now - no_proposal_refill_).count();
    no_proposal_tokens_ = std::min(kFull, no_proposal_tokens_ + ms * kNoProposalPerSecond);
    no_proposal_refill_ = c.now;
  }
  if (no_proposal_tokens_ < 1000) {
    ++counters_.no_proposal_suppressed;
    return;
  }
  no_proposal_tokens_ -= 1000;
  // Unauthenticated (no keys yet) Informational with the initiator's cookie and a zero
  // responder cookie, so that the initiator finds the negotiation it started.
  isakmp::NotificationPayload n;
  n.doi = isakmp::kDoiIpsec;
  n.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp);
  n.spi.assign(h.icookie.begin(), h.icookie.end());
  n.spi.resize(2 * isakmp::kCookieSize, 0);
  n.type = static_cast<uint16_t>(isakmp::NotifyType::kNoProposalChosen);
  std::vector<Payload> out;
  out.push_back(MakePayload(std::move(n)));
  isakmp::Header nh;
  nh.icookie = h.icookie;
  nh.next_payload = isakmp::PayloadType::kNotification;
  nh.exchange = isakmp::ExchangeType::kInformational;
  nh.message_id = rng_->NonZeroU32();
  Debug(c, nullptr, "sending NOTIFY NO_PROPOSAL_CHOSEN protocol 1 to " + remote.ToString());
  c.out.datagrams.push_back(
      Datagram{local, remote, isakmp::BuildMessage(nh, isakmp::SerializePayloads(out))});
  ++counters_.tx_datagrams;
  ++counters_.no_proposal_sent;
}

CallAdmissionSnapshot NodeImpl::CallAdmission() const {
  CallAdmissionSnapshot s;
  s.limit = half_open_.limit();
  s.limit_configured = cfg_.cac_in_negotiation_sa != 0;
  s.half_open = half_open_.size();
  s.half_open_peak = half_open_.peak();
  for (const auto& [id, sa] : sas_) {
    if (sa->state == P1State::kDead) continue;
    ++s.ike_sas;
    if (sa->established())
      ++s.ike_sas_active;
    else
      ++s.ike_sas_negotiating;
  }
  const HalfOpenStats& st = half_open_.stats();
  s.accepted = st.accepted;
  s.evicted_total = st.evicted_total;
  s.evicted_source = st.evicted_source;
  s.expired = st.expired;
  s.promoted = st.promoted;
  s.rejected = st.rejected;
  s.mm2_resent = st.retransmits;
  s.mm2_resends_suppressed = st.retransmits_suppressed;
  s.ikev2_half_open = v2_half_open_.size();
  s.ikev2_limit = V2HalfOpenLimit();
  s.ikev2_limit_configured = cfg_.ikev2_max_in_negotiation_sa != 0;
  s.ikev2_cookie_threshold = V2CookieThreshold();
  s.ikev2_cookie_configured = cfg_.ikev2_cookie_challenge != 0;
  s.ikev2_cookies_sent = counters_.ikev2_cookies_sent;
  s.ikev2_cookies_valid = counters_.ikev2_cookies_valid;
  s.ikev2_cookies_invalid = counters_.ikev2_cookies_invalid;
  s.ikev2_evicted = counters_.ikev2_half_open_evicted;
  return s;
}

}  // namespace ikepulse::ike
