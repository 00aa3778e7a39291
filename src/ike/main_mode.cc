// Main Mode with pre-shared keys, initiator and responder (RFC 2409 §5; DESIGN.md §2):
//   MM1 I->R  HDR, SA, VID...            MM2 R->I  HDR, SA, VID...
//   MM3 I->R  HDR, KE, Ni [, NAT-D x2]   MM4 R->I  HDR, KE, Nr [, NAT-D x2]
//   MM5 I->R  HDR*, IDii, HASH_I [, N]   MM6 R->I  HDR*, IDir, HASH_R
#include <algorithm>

#include "ike/ikev1_session.h"
#include "ike/protect.h"
#include "ike/vendor_ids.h"

namespace ikepulse::ike {

namespace {

using isakmp::MakePayload;
using isakmp::Payload;

constexpr size_t kNonceSize = 32;
// How long an established SA keeps the responder's MM6 (to answer a duplicate MM5: the
// initiator lost MM6) and the digest of the last Main Mode message. Covers every
// retransmission of our own schedule (the last at +15 s) and the first three of
// strongSwan's default one.
constexpr Duration kMainModeReplyKept = Seconds(30);

Bytes Digest(ByteSpan msg) { return crypto::Hash(crypto::HashAlg::kSha1, {msg}); }

isakmp::IdPayload AddressId(const IpAddress& ip) {
  isakmp::IdPayload id;
  id.id_type = static_cast<uint8_t>(ip.v6 ? isakmp::IdType::kIpv6Addr : isakmp::IdType::kIpv4Addr);
  id.protocol = 17;  // IOS: UDP/500
  id.port = 500;
  ByteSpan s = ip.span();
  id.data.assign(s.begin(), s.end());
  return id;
}

Bytes RandomBytes(Random& rng, size_t n) {
  Bytes b(n);
  rng.Fill(b);
  return b;
}

const Payload* FindPayload(const std::vector<Payload>& chain, isakmp::PayloadType t) {
  for (const auto& p : chain)
    if (p.type == t) return &p;
  return nullptr;
}

}  // namespace

static void ProcessVendorIds(SessionHost& c, IkeSa& sa, const std::vector<Payload>& chain) {
  for (const auto& p : chain) {
    const auto* v = std::get_if<isakmp::VendorIdPayload>(&p.body);
    if (!v) continue;
    const VendorKind k = ClassifyVendorId(v->data);
    c.Debug(" processing vendor id payload");
    c.Debug(" " + VendorIdDebugText(k, v->data));
    switch (k) {
      case VendorKind::kDpd: sa.peer_dpd = true; break;
      case VendorKind::kNatTRfc: sa.peer_natt_rfc = true; break;
      case VendorKind::kNatTDraft: sa.peer_natt_draft = true; break;
      default: break;
    }
  }
}

static std::vector<Payload> NatDPayloads(const IkeSa& sa, bool force_encap) {
  std::vector<Payload> out;
  const crypto::HashAlg h = sa.algs.prf();
  // First NAT-D: the peer's address as we send to it; then our own (RFC 3947 §3.2).
  isakmp::NatDPayload dst{crypto::NatDHash(h, sa.icookie, sa.rcookie, sa.remote.ip.span(),
                                           sa.remote.port)};
  Bytes src_hash = crypto::NatDHash(h, sa.icookie, sa.rcookie, sa.local.ip.span(), sa.local.port);
  if (force_encap) {
    // Forced UDP encapsulation: a hash that cannot match makes both sides see a NAT, as
    // strongSwan does for kernel-libipsec. Derived from the cookies so that it is stable.
    src_hash = crypto::Hash(h, {sa.icookie, sa.rcookie, AsSpan(std::string("ikepulse-force-encap"))});
  }
  isakmp::NatDPayload src{std::move(src_hash)};
  const bool draft = !sa.peer_natt_rfc;
  out.push_back(MakePayload(std::move(dst), draft));
  out.push_back(MakePayload(std::move(src), draft));
  return out;
}

// RFC 3947 §3.2: is there a NAT between us? Returns true if either side is behind one.
static bool DetectNat(const IkeSa& sa, const std::vector<Payload>& chain) {
  std::vector<const isakmp::NatDPayload*> natd;
  for (const auto& p : chain)
    if (const auto* d = std::get_if<isakmp::NatDPayload>(&p.body)) natd.push_back(d);
  if (natd.empty()) return false;
  const crypto::HashAlg h = sa.algs.prf();
  const Bytes me = crypto::NatDHash(h, sa.icookie, sa.rcookie, sa.local.ip.span(), sa.local.port);
  const Bytes peer =
      crypto::NatDHash(h, sa.icookie, sa.rcookie, sa.remote.ip.span(), sa.remote.port);
  const bool me_ok = natd[0]->hash == me;
  bool peer_ok = false;
  for (size_t i = 1; i < natd.size(); ++i)
    if (natd[i]->hash == peer) peer_ok = true;
  return !me_ok || !peer_ok;
}

void Ikev1Session::StartMainModeOn(SessionHost& c, isakmp::SaPayload sap, const std::string& map,
                                   uint32_t seq) {
  IkeSa& sa = sa_;
  sa.mm->sai_b = isakmp::SerializeBody(sap);
  sa.expires = c.Now() + Seconds(120);  // half-open SA limit until established
  std::vector<Payload> chain;
  chain.push_back(MakePayload(std::move(sap)));
  chain.push_back(MakePayload(isakmp::VendorIdPayload{CiscoUnityVendorId()}));
  chain.push_back(MakePayload(isakmp::VendorIdPayload{DpdVendorId()}));
  chain.push_back(MakePayload(isakmp::VendorIdPayload{XauthVendorId()}));
  chain.push_back(MakePayload(isakmp::VendorIdPayload{NatTRfcVendorId()}));
  isakmp::Header h;
  h.icookie = sa.icookie;
  h.next_payload = isakmp::PayloadType::kSa;
  h.exchange = isakmp::ExchangeType::kIdentityProtection;
  sa.SetState(P1State::kInitSentMm1);
  c.Emit(EventKind::kInitiate, seq, 0, map);
  c.Debug("beginning Main Mode exchange");
  Bytes wire = Send(c, isakmp::BuildMessage(h, isakmp::SerializePayloads(chain)));
  StartRetransmit(c, sa.mm->rtx, std::move(wire));
  c.Debug("Old State = IKE_READY  New State = IKE_I_MM1");
  c.Rearm();
}

void Ikev1Session::OnMainMode(SessionHost& c, const isakmp::Header& h, const Endpoint& local,
                              const Endpoint& remote, ByteSpan msg) {
  IkeSa* sa = &sa_;
  const ByteSpan body = msg.subspan(isakmp::kHeaderSize);

  // A retransmitted copy of the last message we got: resend our last message.
  const Bytes digest = Digest(msg);
  if (!sa->mm) {  // established, and our last Main Mode message already released
    c.DropFrom(remote, &NodeCounters::dropped_state, "Main Mode message for an established SA");
    return;
  }
  if (digest == sa->mm->last_rx_hash) {
    if (!sa->mm->rtx.packet.empty()) {
      c.Count(&NodeCounters::duplicates_answered);
      c.Debug("retransmission detected, resending last packet");
      c.Send(sa->local, sa->remote, sa->mm->rtx.packet);
    }
    return;
  }

  const crypto::CipherAlg cipher = sa->algs.cipher();
  const size_t bs = crypto::BlockSize(cipher);
  Bytes plain_storage;
  ByteSpan plain = body;
  Bytes last_block;
  if (h.encrypted()) {
    if (sa->state != P1State::kRespSentMm4 && sa->state != P1State::kInitSentMm5) {
      c.DropFrom(remote, &NodeCounters::dropped_state, "encrypted Main Mode message out of state");
      return;
    }
    auto opened = OpenMessage(msg, h.length, cipher, sa->keys.enc_key(), sa->mm->iv, &last_block);
    if (!opened) {
      c.DropFrom(remote, &NodeCounters::dropped_auth, opened.error().detail);
      return;
    }
    plain_storage = std::move(*opened);
    plain = plain_storage;
  } else if (sa->state == P1State::kRespSentMm4 || sa->state == P1State::kInitSentMm5 ||
             sa->state == P1State::kEstablished) {
    c.DropFrom(remote, &NodeCounters::dropped_state,
               "unencrypted Main Mode message after key exchange");
    return;
  }
  auto chain = isakmp::ParsePayloads(h.next_payload, plain,
                                     h.encrypted() ? 0 : isakmp::kHeaderSize);
  if (!chain) {
    c.DropFrom(remote,
               h.encrypted() ? &NodeCounters::dropped_auth : &NodeCounters::dropped_malformed,
               chain.error().detail);
    return;
  }

  switch (sa->state) {
    case P1State::kInitSentMm1: {  // MM2
      const Payload* sap = FindPayload(*chain, isakmp::PayloadType::kSa);
      if (!sap) {
        c.DropFrom(remote, &NodeCounters::dropped_state, "MM2 without SA");
        return;
      }
      const auto& sp = std::get<isakmp::SaPayload>(sap->body);
      std::optional<Phase1Algs> algs;
      if (sp.proposals.size() == 1 && sp.proposals[0].transforms.size() == 1)
        algs = ParsePhase1Transform(sp.proposals[0].transforms[0]);
      bool offered = false;
      if (algs)
        for (const auto& [prio, pol] : c.Cfg().policies)
          if (pol.authentication == config::AuthMethod::kPreShare &&
              pol.encryption == algs->encryption && pol.hash == algs->hash &&
              pol.group == algs->group && algs->lifetime_s <= pol.lifetime_s)
            offered = true;
      if (!offered) {
        c.DropFrom(remote, &NodeCounters::dropped_state, "MM2 chose a transform we did not offer");
        return;
      }
      sa->rcookie = h.rcookie;
      sa->algs = *algs;
      sa->last_rx = c.Now();
      ProcessVendorIds(c, *sa, *chain);
      sa->mm->dh = crypto::DhKeyPair::Generate(sa->algs.group);
      if (!sa->mm->dh) {
        c.DeleteMe("DH group not supported", false, false);
        return;
      }
      sa->mm->gxi = sa->mm->dh->public_value();
      sa->mm->ni = RandomBytes(c.Rng(), kNonceSize);
      std::vector<Payload> out;
      out.push_back(MakePayload(isakmp::KeyExchangePayload{sa->mm->gxi}));
      out.push_back(MakePayload(isakmp::NoncePayload{sa->mm->ni}));
      if (sa->peer_natt_rfc || sa->peer_natt_draft) {
        for (auto& p : NatDPayloads(*sa, c.Cfg().force_encapsulation)) out.push_back(std::move(p));
        sa->natd_sent = true;
      }
      isakmp::Header oh = h;
      oh.next_payload = isakmp::PayloadType::kKeyExchange;
      oh.flags = 0;
      sa->SetState(P1State::kInitSentMm3);
      sa->mm->last_rx_hash = digest;
      Bytes wire = Send(c, isakmp::BuildMessage(oh, isakmp::SerializePayloads(out)));
      StartRetransmit(c, sa->mm->rtx, std::move(wire));
      c.Debug("Old State = IKE_I_MM1  New State = IKE_I_MM3");
      return;
    }
    case P1State::kRespSentMm2:    // MM3
    case P1State::kInitSentMm3: {  // MM4
      const bool responder = sa->state == P1State::kRespSentMm2;
      const auto* ke = isakmp::Find<isakmp::KeyExchangePayload>(*chain);
      const auto* nonce = isakmp::Find<isakmp::NoncePayload>(*chain);
      if (!ke || !nonce || nonce->data.size() < 8 || nonce->data.size() > 256) {
        c.DropFrom(remote, &NodeCounters::dropped_malformed, "KE or nonce missing or malformed");
        return;
      }
      if (responder) {
        sa->mm->dh = crypto::DhKeyPair::Generate(sa->algs.group);
        if (!sa->mm->dh) {
          c.DropFrom(remote, &NodeCounters::dropped_state, "DH group not supported");
          return;
        }
        sa->mm->gxi = ke->data;
        sa->mm->gxr = sa->mm->dh->public_value();
        sa->mm->ni = nonce->data;
        sa->mm->nr = RandomBytes(c.Rng(), kNonceSize);
      } else {
        sa->mm->gxr = ke->data;
        sa->mm->nr = nonce->data;
      }
      auto shared = sa->mm->dh->ComputeShared(ke->data);
      if (!shared) {
        c.DropFrom(remote, &NodeCounters::dropped_auth, shared.error().detail);
        return;
      }
      sa->mm->gxy = std::move(*shared);
      sa->mm->dh.reset();  // the private value is not needed again (forward secrecy, memory)
      {
        crypto::Phase1Keys k = crypto::DerivePhase1Psk(
            sa->algs.prf(), sa->mm->psk.span(), sa->mm->ni, sa->mm->nr, sa->mm->gxy.span(),
            sa->icookie, sa->rcookie, crypto::KeyLength(cipher));
        sa->mm->skeyid = std::move(k.skeyid);
        sa->keys.SetKeys(k.skeyid_d.span(), k.skeyid_a.span(), k.enc_key.span());
      }  // SKEYID_e (Ka is derived from it) and the copies in `k` are wiped here
      // Not needed again: the PSK copy and g^xy.
      sa->mm->psk.Wipe();
      sa->mm->gxy.Wipe();
      sa->mm->iv = crypto::Phase1Iv(sa->algs.prf(), sa->mm->gxi, sa->mm->gxr, bs);
      sa->last_rx = c.Now();
      ProcessVendorIds(c, *sa, *chain);
      sa->nat_detected = DetectNat(*sa, *chain);
      if (sa->nat_detected) c.Debug("NAT found, both nodes inside NAT");
      sa->mm->last_rx_hash = digest;
      if (responder) {
        std::vector<Payload> out;
        out.push_back(MakePayload(isakmp::KeyExchangePayload{sa->mm->gxr}));
        out.push_back(MakePayload(isakmp::NoncePayload{sa->mm->nr}));
        if (FindPayload(*chain, isakmp::PayloadType::kNatD) ||
            FindPayload(*chain, isakmp::PayloadType::kNatDDraft)) {
          for (auto& p : NatDPayloads(*sa, c.Cfg().force_encapsulation))
            out.push_back(std::move(p));
          sa->natd_sent = true;
          if (c.Cfg().force_encapsulation) sa->nat_detected = true;
        }
        isakmp::Header oh = h;
        oh.next_payload = isakmp::PayloadType::kKeyExchange;
        oh.flags = 0;
        sa->SetState(P1State::kRespSentMm4);
        // Resent on IOS's responder schedule until MM5 comes (and to a duplicate MM3).
        Bytes wire = Send(c, isakmp::BuildMessage(oh, isakmp::SerializePayloads(out)));
        StartRetransmit(c, sa->mm->rtx, std::move(wire), /*responder=*/true);
        c.Debug("Old State = IKE_R_MM3  New State = IKE_R_MM4");
        return;
      }
      // Initiator: float to 4500 when a NAT is seen (or encapsulation is forced).
      if (sa->natd_sent && (sa->nat_detected || c.Cfg().force_encapsulation)) {
        sa->natt_float = true;
        sa->local.port = c.Options().natt_port;
        sa->remote.port = c.Options().natt_port;
      }
      std::vector<Payload> out;
      out.push_back(MakePayload(AddressId(sa->local.ip)));
      const Bytes idii_b = isakmp::SerializeBody(out[0].body);
      SecretBytes hash_i = crypto::HashI(sa->algs.prf(), sa->mm->skeyid.span(), sa->mm->gxi, sa->mm->gxr,
                                         sa->icookie, sa->rcookie, sa->mm->sai_b, idii_b);
      out.push_back(MakePayload(isakmp::HashPayload{Bytes(hash_i.data(), hash_i.data() + hash_i.size())}));
      if (!c.PeerHasEstablishedSa(sa->remote.ip)) {
        isakmp::NotificationPayload ic;
        ic.protocol_id = 1;
        ic.spi.assign(sa->icookie.begin(), sa->icookie.end());
        ic.spi.insert(ic.spi.end(), sa->rcookie.begin(), sa->rcookie.end());
        ic.type = static_cast<uint16_t>(isakmp::NotifyType::kInitialContact);
        out.push_back(MakePayload(std::move(ic)));
      }
      isakmp::Header oh = h;
      oh.next_payload = isakmp::PayloadType::kId;
      Bytes last;
      Bytes m = SealMessage(oh, isakmp::SerializePayloads(out), cipher, sa->keys.enc_key(),
                            sa->mm->iv, &last);
      sa->mm->iv = last;
      sa->SetState(P1State::kInitSentMm5);
      Bytes wire = Send(c, m);
      StartRetransmit(c, sa->mm->rtx, std::move(wire));
      c.Debug("Old State = IKE_I_MM3  New State = IKE_I_MM5");
      return;
    }
    case P1State::kRespSentMm4:    // MM5
    case P1State::kInitSentMm5: {  // MM6
      const bool responder = sa->state == P1State::kRespSentMm4;
      const Payload* idp = FindPayload(*chain, isakmp::PayloadType::kId);
      const auto* hash = isakmp::Find<isakmp::HashPayload>(*chain);
      if (!idp || !hash) {
        c.DropFrom(remote, &NodeCounters::dropped_auth, "MM5/MM6 without ID or HASH");
        return;
      }
      const ByteSpan id_b = idp->BodyIn(plain);
      SecretBytes expect =
          responder ? crypto::HashI(sa->algs.prf(), sa->mm->skeyid.span(), sa->mm->gxi, sa->mm->gxr,
                                    sa->icookie, sa->rcookie, sa->mm->sai_b, id_b)
                    : crypto::HashR(sa->algs.prf(), sa->mm->skeyid.span(), sa->mm->gxi, sa->mm->gxr,
                                    sa->icookie, sa->rcookie, sa->mm->sai_b, id_b);
      if (SecretBytes(hash->data) != expect) {
        c.Log("%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from " + remote.ip.ToString() +
              " failed its sanity check or is malformed");
        c.DropFrom(remote, &NodeCounters::dropped_auth, "HASH mismatch (wrong pre-shared key?)");
        return;
      }
      sa->mm->iv = last_block;
      sa->last_rx = c.Now();
      sa->mm->last_rx_hash = digest;
      ProcessVendorIds(c, *sa, *chain);
      // Authenticated: follow the peer's endpoint (NAT-T float to 4500).
      if (remote != sa->remote || local.port != sa->local.port) {
        c.SetRemote(remote);
        sa->local.port = local.port;
        if (local.port == c.Options().natt_port) sa->natt_float = true;
      }
      for (const auto& p : *chain)
        if (const auto* n = std::get_if<isakmp::NotificationPayload>(&p.body))
          if (n->type == static_cast<uint16_t>(isakmp::NotifyType::kInitialContact))
            sa->initial_contact_seen = true;
      if (responder) {
        std::vector<Payload> out;
        out.push_back(MakePayload(AddressId(sa->local.ip)));
        const Bytes idir_b = isakmp::SerializeBody(out[0].body);
        SecretBytes hash_r = crypto::HashR(sa->algs.prf(), sa->mm->skeyid.span(), sa->mm->gxi,
                                           sa->mm->gxr, sa->icookie, sa->rcookie, sa->mm->sai_b, idir_b);
        out.push_back(MakePayload(isakmp::HashPayload{Bytes(hash_r.data(), hash_r.data() + hash_r.size())}));
        isakmp::Header oh = h;
        oh.next_payload = isakmp::PayloadType::kId;
        Bytes last;
        Bytes m = SealMessage(oh, isakmp::SerializePayloads(out), cipher,
                              sa->keys.enc_key(), sa->mm->iv, &last);
        sa->mm->iv = last;
        sa->keys.SetLastBlock(last);
        sa->SetState(P1State::kEstablished);
        sa->mm->rtx.packet = Send(c, m);
        sa->mm->rtx.next = kNever;
        c.Debug("Old State = IKE_R_MM5  New State = IKE_P1_COMPLETE");
      } else {
        sa->keys.SetLastBlock(last_block);
        sa->SetState(P1State::kEstablished);
        sa->mm->rtx = Retransmit{};  // done: never answer a duplicate MM6 with MM5
        c.Debug("Old State = IKE_I_MM5  New State = IKE_P1_COMPLETE");
      }
      sa->ForgetMainModeSecrets();
      sa->p1_forget_at = c.Now() + kMainModeReplyKept;
      if (sa->initial_contact_seen) c.InitialContact();
      OnPhase1Established(c);
      return;
    }
    case P1State::kEstablished:
    case P1State::kDead:
      c.DropFrom(remote, &NodeCounters::dropped_state, "Main Mode message for an established SA");
      return;
  }
}

void IkeSa::ForgetMainModeSecrets() {
  if (!mm) return;
  mm->skeyid.Wipe();
  mm->psk.Wipe();
  mm->gxy.Wipe();
  mm->dh.reset();
  WipeAndFree(mm->ni);
  WipeAndFree(mm->nr);
  WipeAndFree(mm->gxi);
  WipeAndFree(mm->gxr);
  WipeAndFree(mm->sai_b);
  WipeAndFree(mm->iv);  // phase-2 IVs start from keys.last_block()
}

void Ikev1Session::OnPhase1Established(SessionHost& c) {
  IkeSa& sa = sa_;
  sa.established_at = c.Now();
  const Duration life = Seconds(sa.algs.lifetime_s);
  sa.expires = c.Now() + life;
  if (sa.initiator && !sa.entries.empty()) {
    const Duration margin = c.Options().isakmp_rekey_margin;
    sa.reestablish_at = c.Now() + (life > 2 * margin ? life - margin : life * 9 / 10);
  }
  if (sa.natt_float && c.Cfg().nat_keepalive_s)
    sa.nat_keepalive_at = c.Now() + Seconds(c.Cfg().nat_keepalive_s);
  sa.dpd->OnEstablished(c.Now(), sa.peer_dpd);
  if (sa.dpd->Active()) {
    c.Debug("IKE_DPD is enabled, initializing timers");
  } else if (c.Cfg().keepalive.enabled && !sa.peer_dpd) {
    c.Debug("peer " + sa.remote.ip.ToString() +
            " did not announce DPD (RFC 3706 vendor ID): no keepalives sent");
  }
  c.Established();
  c.Rearm();
}

}  // namespace ikepulse::ike
