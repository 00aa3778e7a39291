// Informational exchanges (RFC 2409 §5.7) and DPD on the wire (RFC 3706 §5):
//   HDR*, HASH(1), N/D      HASH(1) = prf(SKEYID_a, M-ID | N/D)
// Every informational has a fresh random M-ID and IV = hash(last phase-1 block | M-ID); it
// never touches the phase-1 chain or any Quick Mode chain (DESIGN.md §2.3). R-U-THERE and
// R-U-THERE-ACK are each their own one-message exchange. The DpdMonitor decides when to
// probe; this file turns its verdicts into packets and teardown.
// Liveness: only a message that is authenticated AND new counts as "heard from the peer"
// (NodeImpl::HeardFromPeer). An on-path attacker can replay the peer's old datagrams byte for
// byte after the peer died; they still authenticate. So an Informational whose M-ID is in the
// SA's MessageIdWindow is dropped before any payload is acted on (except that the peer's last
// R-U-THERE, retransmitted, is ACKed again a few times without counting), an R-U-THERE counts
// only with a sequence number newer than the last one, and an R-U-THERE-ACK only for a seq we
// sent in the round still open or the one that ended last, once per seq (DpdMonitor::OnAck,
// OnLateAck).
#include <algorithm>

#include "ike/ikev1_session.h"
#include "ike/protect.h"

namespace ikepulse::ike {

namespace {

using isakmp::MakePayload;
using isakmp::Payload;

std::string Hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%X", v);
  return b;
}

Bytes U32Bytes(uint32_t s) {
  return {static_cast<uint8_t>(s >> 24), static_cast<uint8_t>(s >> 16),
          static_cast<uint8_t>(s >> 8), static_cast<uint8_t>(s)};
}

uint32_t BytesU32(const Bytes& b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

Bytes CookieSpi(const IkeSa& sa) {
  Bytes spi(sa.icookie.begin(), sa.icookie.end());
  spi.insert(spi.end(), sa.rcookie.begin(), sa.rcookie.end());
  return spi;
}

isakmp::NotificationPayload DpdNotify(const IkeSa& sa, isakmp::NotifyType t, uint32_t seq) {
  isakmp::NotificationPayload n;
  n.doi = isakmp::kDoiIpsec;
  n.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp);
  n.spi = CookieSpi(sa);
  n.type = static_cast<uint16_t>(t);
  n.data = U32Bytes(seq);
  return n;
}

}  // namespace

void Ikev1Session::SendInformational(SessionHost& c, std::vector<Payload> payloads) {
  IkeSa& sa = sa_;
  const crypto::CipherAlg cipher = sa.algs.cipher();
  const crypto::HashAlg prf = sa.algs.prf();
  const uint32_t mid = c.Rng().NonZeroU32();
  const Bytes iv = crypto::Phase2Iv(prf, sa.keys.last_block(), mid, crypto::BlockSize(cipher));
  const ByteSpan skeyid_a = sa.keys.skeyid_a();
  Bytes plain = BuildHashedChain(payloads, crypto::HashLength(prf), [&](ByteSpan after) {
    return crypto::InformationalHash(prf, skeyid_a, mid, after);
  });
  const isakmp::Header h = sa.Phase2Header(isakmp::ExchangeType::kInformational, mid);
  Bytes m = SealMessage(h, plain, cipher, sa.keys.enc_key(), iv, nullptr);
  if (c.DebugOn()) c.DebugEngine("set new node " + std::to_string(int32_t(mid)) + " to QM_IDLE");
  Send(c, m);
  if (c.DebugOn()) c.Debug("purging node " + std::to_string(int32_t(mid)));
}

void Ikev1Session::SendDeleteIsakmp(SessionHost& c) {
  IkeSa& sa = sa_;
  isakmp::DeletePayload d;
  d.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp);
  d.spi_size = 16;
  d.spis.push_back(CookieSpi(sa));
  std::vector<Payload> p;
  p.push_back(MakePayload(std::move(d)));
  SendInformational(c, std::move(p));
}

void Ikev1Session::SendDeleteChildren(SessionHost& c, const std::vector<uint32_t>& spis_in) {
  isakmp::DeletePayload d;
  d.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kEsp);
  d.spi_size = 4;
  for (uint32_t s : spis_in) d.spis.push_back(U32Bytes(s));
  std::vector<Payload> p;
  p.push_back(MakePayload(std::move(d)));
  SendInformational(c, std::move(p));
}

void Ikev1Session::SendRUThere(SessionHost& c, uint32_t seq, uint32_t error_count) {
  IkeSa& sa = sa_;
  std::vector<Payload> p;
  p.push_back(MakePayload(DpdNotify(sa, isakmp::NotifyType::kRUThere, seq)));
  SendInformational(c, std::move(p));
  c.Count(&NodeCounters::dpd_sent);
  c.Emit(EventKind::kDpdSent, seq, error_count);
  c.Debug(error_count == 0 ? "Input = IKE_MSG_FROM_TIMER, IKE_TIMER_IM_ALIVE"
                           : "Input = IKE_MSG_FROM_TIMER, IKE_TIMER_PEERS_ALIVE");
  c.Debug("Old State = IKE_P1_COMPLETE  New State = IKE_P1_COMPLETE");
}

void Ikev1Session::RunDpd(SessionHost& c) {
  IkeSa& sa = sa_;
  if (!sa.dpd || sa.replaced || !sa.established()) return;
  const TimePoint now = c.Now();
  for (int guard = 0; guard < 8 && sa.dpd->NextDeadline() <= now; ++guard) {
    const DpdAction a = sa.dpd->OnTimeout(now);
    if (a.kind == DpdAction::Kind::kNone) return;
    if (a.error_count > 0) c.Debug("incrementing error counter on sa: PEERS_ALIVE_TIMER");
    if (a.kind == DpdAction::Kind::kSendRUThere) {
      if (a.retransmission) c.Count(&NodeCounters::dpd_retries);
      SendRUThere(c, a.seq, a.error_count);
      continue;
    }
    // kPeerDead: "peer not responding!" (the seed's trace), then delete everything we hold
    // with that peer, Delete notifications included, and fail over.
    if (c.DebugOn()) {
      c.Debug("peer " + sa.remote.ip.ToString() + " not responding!");
      c.Debug("peer does not do paranoid keepalives.");
    }
    c.PeerDead();
    return;
  }
}

void Ikev1Session::OnInformational(SessionHost& c, const isakmp::Header& h, ByteSpan msg,
                                   const Endpoint& remote) {
  IkeSa* sa = &sa_;
  if (!h.encrypted()) {
    if (sa->established()) {
      c.DropFrom(remote, &NodeCounters::dropped_auth, "unencrypted Informational after phase 1");
      return;
    }
    // Phase 1 not done: a clear notify (e.g. NO-PROPOSAL-CHOSEN answering MM1). Log only.
    auto chain = isakmp::ParsePayloads(h.next_payload, msg.subspan(isakmp::kHeaderSize),
                                       isakmp::kHeaderSize);
    if (chain)
      for (const auto& p : *chain)
        if (const auto* n = std::get_if<isakmp::NotificationPayload>(&p.body))
          c.Debug(" processing NOTIFY " + std::string(isakmp::NotifyTypeName(n->type)) +
                  " protocol " + std::to_string(n->protocol_id) + " (unauthenticated)");
    c.DropFrom(remote, &NodeCounters::dropped_state,
               "unauthenticated Informational during phase 1");
    return;
  }
  if (!sa->established()) {
    c.DropFrom(remote, &NodeCounters::dropped_state,
               "encrypted Informational before phase 1 completed");
    return;
  }
  const crypto::CipherAlg cipher = sa->algs.cipher();
  const crypto::HashAlg prf = sa->algs.prf();
  const Bytes iv =
      crypto::Phase2Iv(prf, sa->keys.last_block(), h.message_id, crypto::BlockSize(cipher));
  auto opened = OpenMessage(msg, h.length, cipher, sa->keys.enc_key(), iv, nullptr);
  if (!opened) {
    c.DropFrom(remote, &NodeCounters::dropped_auth, opened.error().detail);
    return;
  }
  const Bytes plain = std::move(*opened);
  auto chain = isakmp::ParsePayloads(h.next_payload, plain);
  if (!chain) {
    c.DropFrom(remote, &NodeCounters::dropped_auth, chain.error().detail);
    return;
  }
  const auto* hash = isakmp::Find<isakmp::HashPayload>(*chain);
  if (!hash) {
    c.DropFrom(remote, &NodeCounters::dropped_auth, "Informational without HASH(1)");
    return;
  }
  if (chain->front().type != isakmp::PayloadType::kHash)
    c.Debug("Informational with NOTIFY before HASH (tolerated)");
  const Bytes covered = BytesCoveredByHash(*chain, plain);
  if (SecretBytes(hash->data) !=
      crypto::InformationalHash(prf, sa->keys.skeyid_a(), h.message_id, covered)) {
    c.DropFrom(remote, &NodeCounters::dropped_auth, "Informational HASH(1) mismatch");
    return;
  }
  // Authenticated.
  if (c.DebugOn()) {
    c.DebugEngine("(0:" + std::to_string(sa->id) + "): received packet from " +
                  remote.ip.ToString() + " dport " + std::to_string(sa->local.port) + " sport " +
                  std::to_string(remote.port) + " Global (" + (sa->initiator ? "I" : "R") +
                  ") QM_IDLE");
    c.DebugEngine("set new node " + std::to_string(int32_t(h.message_id)) + " to QM_IDLE");
    c.Debug(" processing HASH payload. message ID = " + std::to_string(int32_t(h.message_id)));
  }
  if (!sa->peer_mids.Remember(h.message_id)) {
    // Seen before: a replay, or the peer retransmitting. Only the peer's last R-U-THERE is
    // answered again (its ACK may have been lost), a few times, and never counts as liveness.
    const bool last_rut = sa->peer_dpd_seen && h.message_id == sa->peer_dpd_last_mid;
    if (last_rut && ++sa->peer_dpd_dups > 3) {
      c.DropFrom(remote, &NodeCounters::dropped_rate_limited, "duplicate R-U-THERE flood");
      return;
    }
    if (last_rut) {
      c.Debug(" DPD/R_U_THERE retransmitted by peer " + sa->remote.ip.ToString() + ", sequence " +
              Hex32(sa->peer_dpd_last_seq) + ": ACK again");
      std::vector<Payload> ack;
      ack.push_back(
          MakePayload(DpdNotify(*sa, isakmp::NotifyType::kRUThereAck, sa->peer_dpd_last_seq)));
      SendInformational(c, std::move(ack));
      c.Count(&NodeCounters::dpd_acks_sent);
      c.Emit(EventKind::kDpdAckSent, sa->peer_dpd_last_seq);
      return;
    }
    c.DropFrom(remote, &NodeCounters::dropped_replay, "replayed Informational (M-ID already seen)");
    return;
  }
  const IpAddress peer = sa->remote.ip;
  const SaId id = sa->id;
  bool keepup_check = false;
  bool acted = false;  // a Delete or error notify changed our state (then: liveness)
  for (const auto& p : *chain) {
    if (p.type == isakmp::PayloadType::kHash) continue;
    if (const auto* n = std::get_if<isakmp::NotificationPayload>(&p.body)) {
      if (c.DebugOn())
        c.Debug(" processing NOTIFY " + std::string(isakmp::NotifyTypeName(n->type)) +
                " protocol " + std::to_string(n->protocol_id) +
                (n->spi.size() == 4 ? " spi " + std::to_string(BytesU32(n->spi))
                                    : " spi size " + std::to_string(n->spi.size())));
      const bool dpd = n->type == static_cast<uint16_t>(isakmp::NotifyType::kRUThere) ||
                       n->type == static_cast<uint16_t>(isakmp::NotifyType::kRUThereAck);
      if (!dpd) {
        if (n->type >= 1 && n->type < 8192) {
          // An error notify (RFC 2408 §3.14.1) for a Quick Mode we started: the peer rejected
          // it (NO_PROPOSAL_CHOSEN, INVALID_ID_INFORMATION, ...). End it now instead of
          // retransmitting until "Death by retransmission P2". With an ESP SPI, only the
          // exchange that proposed it; without one (strongSwan sends SPI 0), every Quick
          // Mode we are waiting on.
          const uint32_t spi =
              n->protocol_id == static_cast<uint8_t>(isakmp::ProtocolId::kEsp) &&
                      n->spi.size() == 4
                  ? BytesU32(n->spi)
                  : 0;
          const bool by_spi = spi != 0;
          std::vector<uint32_t> rejected;
          for (const auto& [qmid, qm] : sa->quick_modes)
            if (qm.state == QmState::kInitSentQm1 && (!by_spi || qm.spi_in == spi))
              rejected.push_back(qmid);
          for (uint32_t qmid : rejected)
            AbandonQuickMode(c, qmid, "peer sent " + std::string(isakmp::NotifyTypeName(n->type)));
          if (!rejected.empty()) acted = true;
        }
        continue;
      }
      if (n->data.size() != 4) continue;  // the codec already enforces this
      const uint32_t seq = BytesU32(n->data);
      const Bytes ours = CookieSpi(*sa);
      if (n->spi != ours) {
        Bytes swapped(sa->rcookie.begin(), sa->rcookie.end());
        swapped.insert(swapped.end(), sa->icookie.begin(), sa->icookie.end());
        c.Debug(n->spi == swapped ? "DPD SPI has swapped cookies (tolerated)"
                                  : "DPD SPI does not match the cookies (tolerated)");
      }
      if (n->type == static_cast<uint16_t>(isakmp::NotifyType::kRUThere)) {
        if (c.DebugOn())
          c.Debug(" DPD/R_U_THERE received from peer " + peer.ToString() + ", sequence " +
                  Hex32(seq));
        if (sa->peer_dpd_seen && seq == sa->peer_dpd_last_seq) {
          // A duplicate: answer a few (a lost ACK), then stop (RFC 3706 §7 replay intent).
          // Not liveness: the same sequence number proves nothing new.
          if (++sa->peer_dpd_dups > 3) {
            c.DropFrom(remote, &NodeCounters::dropped_rate_limited, "duplicate R-U-THERE flood");
            continue;
          }
        } else if (sa->peer_dpd_seen && static_cast<int32_t>(seq - sa->peer_dpd_last_seq) < 0) {
          // Older than the last one (RFC 3706 §7: the sequence number is the replay check):
          // neither ACKed nor liveness, and the expected sequence number never moves back.
          c.DropFrom(remote, &NodeCounters::dropped_replay,
                     "R-U-THERE with an old sequence number");
          continue;
        } else {
          c.Heard();
          sa->peer_dpd_seen = true;
          sa->peer_dpd_last_seq = seq;
          sa->peer_dpd_dups = 0;
        }
        sa->peer_dpd_last_mid = h.message_id;
        std::vector<Payload> ack;
        ack.push_back(MakePayload(DpdNotify(*sa, isakmp::NotifyType::kRUThereAck, seq)));
        SendInformational(c, std::move(ack));
        c.Count(&NodeCounters::dpd_acks_sent);
        c.Emit(EventKind::kDpdAckSent, seq);
      } else {
        if (sa->dpd->OnAck(seq, c.Now())) {
          c.Heard();  // answers a round still open: fresh
          c.Count(&NodeCounters::dpd_acks_received);
          if (c.DebugOn())
            c.Debug(" DPD/R_U_THERE_ACK received from peer " + peer.ToString() + ", sequence " +
                    Hex32(seq));
          c.Emit(EventKind::kDpdAckReceived, seq);
        } else if (const DpdMonitor::LateAck late = sa->dpd->OnLateAck(seq, c.Now());
                   late != DpdMonitor::LateAck::kNotOurs) {
          // Genuine, but its round already ended (e.g. the peer's own R-U-THERE crossed it).
          // The first ACK of each seq is a fresh message from the peer; a repeat is not.
          const bool fresh = late == DpdMonitor::LateAck::kCounted;
          if (fresh) c.Heard();
          c.Count(&NodeCounters::dpd_acks_received);
          if (c.DebugOn())
            c.Debug(" DPD/R_U_THERE_ACK received from peer " + peer.ToString() + ", sequence " +
                    Hex32(seq) + (fresh ? "" : ": already acknowledged"));
          c.Emit(EventKind::kDpdAckReceived, seq, /*late=*/1);
        } else {
          if (c.DebugOn())
            c.Debug(" DPD/R_U_THERE_ACK received from peer " + peer.ToString() + ", sequence " +
                    Hex32(seq) + ": unexpected sequence, ignored");
        }
      }
      if (c.DebugOn())
        c.Debug("deleting node " + std::to_string(int32_t(h.message_id)) +
                " error FALSE reason \"Informational (in) state 1\"");
      continue;
    }
    if (const auto* d = std::get_if<isakmp::DeletePayload>(&p.body)) {
      c.Debug(" processing DELETE payload. message ID = " + std::to_string(int32_t(h.message_id)));
      c.Debug("peer does not do paranoid keepalives.");
      if (d->protocol_id == static_cast<uint8_t>(isakmp::ProtocolId::kIsakmp)) {
        for (const auto& spi : d->spis) {
          if (spi != CookieSpi(*sa)) continue;
          c.PeerDeleted();
          acted = true;
          keepup_check = true;
        }
      } else if (d->protocol_id == static_cast<uint8_t>(isakmp::ProtocolId::kEsp) ||
                 d->protocol_id == static_cast<uint8_t>(isakmp::ProtocolId::kAh)) {
        for (const auto& spi : d->spis) {
          if (spi.size() != 4) continue;
          const uint32_t s = BytesU32(spi);
          for (auto& ch : sa->children)
            if (ch.spi_out == s || ch.spi_in == s) {
              const bool replacement_pending = std::any_of(
                  sa->quick_modes.begin(), sa->quick_modes.end(), [&](const auto& kv) {
                    return kv.second.state == QmState::kRespSentQm2 &&
                           kv.second.entry == ch.entry;
                  });
              if (replacement_pending) {
                ch.delete_on_replace = true;
                acted = true;
                c.Debug("IPsec SA delete deferred until its replacement is installed");
              } else {
                DeleteChild(c, ch.spi_in, false);
                keepup_check = true;
                acted = true;
              }
              break;
            }
        }
      }
      if (sa->state == P1State::kDead) break;
      continue;
    }
  }
  (void)id;
  // A non-DPD Informational is liveness only when it acted on state we hold (a Delete of an SA
  // we have, an error notify that ended a Quick Mode in flight). The M-ID window remembers
  // only the last few exchanges: a replay older than that which changes nothing (a Delete of
  // an SA long gone, a status notify) must not keep a dead peer alive.
  if (acted && sa->state != P1State::kDead) c.Heard();
  if (keepup_check) c.BringUpKeptUpAt(peer);
}

// IKEv1's part of NodeImpl::DeleteSa, in its order: the debug line first, the Deletes (an
// established SA only), then the end of its exchanges in flight and of the SA itself.
void Ikev1Session::Ikev1Deleting(SessionHost& c, const std::string& reason) {
  IkeSa& sa = sa_;
  c.Debug("deleting SA reason \"" + reason + "\" state (" + (sa.initiator ? "I" : "R") + ") " +
          IosStateName(sa.state) + " (peer " + sa.remote.ip.ToString() + ") input queue 0");
}

void Ikev1Session::Ikev1SendDeletes(SessionHost& c) {
  IkeSa& sa = sa_;
  std::vector<uint32_t> spis;
  for (const auto& ch : sa.children) spis.push_back(ch.spi_in);
  if (!spis.empty()) SendDeleteChildren(c, spis);
  SendDeleteIsakmp(c);
}

void Ikev1Session::Ikev1Deleted(SessionHost& c) {
  IkeSa& sa = sa_;
  for (const auto& [mid, qm] : sa.quick_modes) c.ReleaseSpiIn(qm.spi_in);  // in flight
  sa.quick_modes.clear();
  sa.SetState(P1State::kDead);
}

// The IKEv1 part of `show crypto isakmp sa` (NodeImpl::BaseSnapshot has the rest).
void Ikev1Session::Ikev1Snapshot(const IkeSa& sa, IsakmpSaSnapshot& s) {
  s.state = IosStateName(sa.state);
  s.encryption = EncryptionName(sa.algs.encryption);
  s.hash = HashName(sa.algs.hash);
  s.auth = "psk";
  s.group = sa.algs.group;
  s.peer_supports_dpd = sa.peer_dpd;
  s.nat_t = sa.natt_float;
  s.dpd_peer_last_seq = sa.peer_dpd_last_seq;
}

}  // namespace ikepulse::ike
