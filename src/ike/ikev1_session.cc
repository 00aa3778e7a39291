// Ikev1Session (ikev1_session.h): the Session interface over the IKEv1 record, and what of
// IKEv1 is not one exchange's: dispatch by exchange type, retransmissions, lifetimes, rekeys,
// NAT keepalives, the end of Quick Modes and IPsec SAs. The exchanges are in main_mode.cc,
// quick_mode.cc and informational.cc.
#include "ike/ikev1_session.h"

#include <algorithm>

#include "ike/node_impl.h"  // NodeImpl::BaseSnapshot (a pure function of the base record)

namespace ikepulse::ike {

void Ikev1Session::Initiate(SessionHost& host, const config::CryptoMapEntry& entry,
                            const Endpoint& local, const Endpoint& remote) {
  (void)local;
  (void)remote;
  StartMainModeOn(host, BuildPhase1Sa(host.Cfg()), entry.map_name, entry.seq);
}

void Ikev1Session::OnMessage(SessionHost& host, const Endpoint& local, const Endpoint& remote,
                             ByteSpan msg) {
  auto h = isakmp::ParseHeader(msg);
  if (!h) {
    host.DropFrom(remote, &NodeCounters::dropped_malformed, h.error().detail);
    return;
  }
  Ikev1OnMessage(host, *h, local, remote, msg.first(h->length));
}

void Ikev1Session::OnChildTraffic(SessionHost& host, uint32_t spi_in, bool inbound,
                                 uint64_t /*bytes: the core counts IKEv1's*/) {
  for (const ChildSa& ch : sa_.children) {
    if (ch.spi_in != spi_in) continue;
    if (inbound)
      sa_.dpd->OnInboundTraffic(host.Now());
    else
      sa_.dpd->OnOutboundTraffic(host.Now());
    return;
  }
}

IsakmpSaSnapshot Ikev1Session::Snapshot(TimePoint now) const {
  IsakmpSaSnapshot s = NodeImpl::BaseSnapshot(sa_, now);
  Ikev1Snapshot(sa_, s);
  return s;
}

// What the record still holds of its negotiation (sizes only; Node::SecretsHeldBy, a test hook).
SecretsHeld Ikev1Session::Secrets() const {
  const IkeSa& sa = sa_;
  SecretsHeld h;
  if (sa.mm) {
    const MainModeState& m = *sa.mm;
    h.dh = m.dh != nullptr;
    h.psk = m.psk.size();
    h.gxy = m.gxy.size();
    h.gxi = m.gxi.size();
    h.gxr = m.gxr.size();
    h.ni = m.ni.size();
    h.nr = m.nr.size();
    h.sai_b = m.sai_b.size();
    h.p1_iv = m.iv.size();
    h.p1_rtx_packet = m.rtx.packet.size();
    h.p1_last_rx_hash = m.last_rx_hash.size();
  }
  h.main_mode_state = sa.mm != nullptr;
  h.skeyid = sa.mm ? sa.mm->skeyid.size() : 0;
  h.skeyid_d = sa.keys.skeyid_d().size();
  h.skeyid_a = sa.keys.skeyid_a().size();
  h.skeyid_e = 0;  // never kept: the encryption key is derived from it at once
  h.enc_key = sa.keys.enc_key().size();
  h.p1_last_block = sa.keys.last_block().size();
  for (const auto& [mid, qm] : sa.quick_modes) {
    ++h.quick_modes;
    h.qm_dh += qm.dh != nullptr;
    h.qm_ni += qm.ni.size();
    h.qm_nr += qm.nr.size();
    h.qm_peer_ke += qm.peer_ke.size();
  }
  for (const auto& ch : sa.children)
    if (ch.keys)
      h.child_keys += ch.keys->enc_in.size() + ch.keys->auth_in.size() + ch.keys->enc_out.size() +
                      ch.keys->auth_out.size();
  return h;
}

std::vector<ChildSaSnapshot> Ikev1Session::Children(TimePoint now, SnapshotKeys keys) const {
  (void)now;
  (void)keys;
  return {};
}

Bytes Ikev1Session::Send(SessionHost& c, ByteSpan msg) {
  IkeSa& sa = sa_;
  Bytes wire;
  if (sa.natt_float) {
    wire.assign(4, 0);
    wire.insert(wire.end(), msg.begin(), msg.end());
  } else {
    wire.assign(msg.begin(), msg.end());
  }
  c.Send(sa.local, sa.remote, wire);
  if (c.DebugOn())
    c.Debug(" sending packet to " + sa.remote.ip.ToString() + " my_port " +
            std::to_string(sa.local.port) + " peer_port " + std::to_string(sa.remote.port) + " (" +
            (sa.initiator ? "I" : "R") + ") " + IosStateName(sa.state));
  return wire;
}

void Ikev1Session::StartRetransmit(SessionHost& c, Retransmit& r, Bytes packet, bool responder) {
  const IkeSa& sa = sa_;
  r.responder = responder;
  r.packet = std::move(packet);
  r.local = sa.local;
  r.remote = sa.remote;
  r.attempts = 0;
  r.due = c.Now();
  ScheduleRetransmit(r, c.Options(), c.Rng());
}

void Ikev1Session::ScheduleRetransmit(Retransmit& r, const NodeOptions& opts, Random& rng) {
  const int k = r.attempts + 1;  // the retransmission (or, past `tries`, the give-up) next
  const RetransmitPolicy& p = r.responder ? opts.responder_retransmit : opts.retransmit;
  r.due += RetransmitGap(p, k);
  r.next = r.due - RetransmitJitter(p, k, rng);
}

// One datagram for an SA of ours (DESIGN.md §6.2: the session's OnMessage).
void Ikev1Session::Ikev1OnMessage(SessionHost& c, const isakmp::Header& h, const Endpoint& local,
                                  const Endpoint& remote, ByteSpan msg) {
  IkeSa& sa = sa_;
  switch (h.exchange) {
    case isakmp::ExchangeType::kIdentityProtection:
      OnMainMode(c, h, local, remote, msg);
      break;
    case isakmp::ExchangeType::kQuickMode:
      if (!sa.established()) {
        c.DropFrom(remote, &NodeCounters::dropped_state,
                   "Quick Mode without an established ISAKMP SA");
        break;
      }
      OnQuickMode(c, h, msg);
      break;
    case isakmp::ExchangeType::kInformational:
      OnInformational(c, h, msg, remote);
      break;
    default:
      c.DropFrom(remote, &NodeCounters::dropped_state, "unsupported exchange type");
      break;
  }
}

// The SA's deadline has come (DESIGN.md §6.2: the session's OnTimeout): retransmissions,
// lifetimes, re-establishment, rekeys, NAT keepalive, DPD.
// The core's services come through `host` (SessionHost), as in every IKEv1 function that
// takes one (DESIGN.md §6.5).
void Ikev1Session::Ikev1OnTimeout(SessionHost& host) {
  IkeSa* sa = &sa_;
  const TimePoint now = host.Now();
  const NodeOptions& opts = host.Options();
  auto tries = [&](const Retransmit& r) {
    return (r.responder ? opts.responder_retransmit : opts.retransmit).tries;
  };
  // Phase-1 retransmission.
  if (sa->mm && sa->mm->rtx.next <= now) {
    Retransmit& r = sa->mm->rtx;
    if (r.attempts >= tries(r)) {
      r.next = kNever;
      host.GaveUpBecause("Death by retransmission P1");
      return;
    }
    ++r.attempts;
    host.Count(&NodeCounters::retransmits);
    host.Send(r.local, r.remote, r.packet);
    host.Emit(EventKind::kRetransmit, r.attempts);
    if (host.DebugOn())
      host.Debug("retransmitting phase 1 " + std::string(IosStateName(sa->state)) + "...");
    ScheduleRetransmit(r, opts, host.Rng());
  }
  // An established SA's last Main Mode reply and digest are kept only for a while.
  if (sa->p1_forget_at <= now) {
    sa->p1_forget_at = kNever;
    sa->mm.reset();
  }
  // Finished Quick Modes kept for duplicates are forgotten after a while.
  for (auto q = sa->quick_modes.begin(); q != sa->quick_modes.end();) {
    if (q->second.forget_at <= now)
      q = sa->quick_modes.erase(q);
    else
      ++q;
  }
  // Quick Mode retransmissions.
  std::vector<uint32_t> failed;
  for (auto& [mid, qm] : sa->quick_modes) {
    if (qm.rtx.next > now) continue;
    if (qm.rtx.attempts >= tries(qm.rtx)) {
      qm.rtx.next = kNever;
      failed.push_back(mid);
      continue;
    }
    ++qm.rtx.attempts;
    host.Count(&NodeCounters::retransmits);
    host.Send(qm.rtx.local, qm.rtx.remote, qm.rtx.packet);
    host.Emit(EventKind::kRetransmit, qm.rtx.attempts);
    if (host.DebugOn())
      host.Debug("retransmitting phase 2 QM_IDLE " + std::to_string(int32_t(mid)) + " ...");
    ScheduleRetransmit(qm.rtx, opts, host.Rng());
  }
  for (uint32_t mid : failed) AbandonQuickMode(host, mid, "Death by retransmission P2");
  // Kept-up entries whose Quick Mode failed on this SA: try again (BringUp skips an entry
  // that has an SA or a Quick Mode in flight by now).
  if (sa->qm_retry_at <= now) {
    sa->qm_retry_at = kNever;
    if (sa->established() && !sa->replaced) host.BringUpKeptUpListing(sa->remote.ip);
  }
  if (sa->dead()) return;
  // ISAKMP SA lifetime.
  if (sa->expires <= now) {
    host.DeleteMe("Lifetime expired", true, false);
    return;
  }
  if (sa->reestablish_at <= now) {
    sa->reestablish_at = kNever;
    if (!sa->entries.empty() && !sa->replaced) host.ReplaceMe();
  }
  // NAT-T keepalive (RFC 3948 §2.3): one 0xFF byte, no marker, keeps the NAT mapping.
  if (sa->nat_keepalive_at <= now) {
    host.Send(sa->local, sa->remote, Bytes{0xff});
    const uint32_t every = host.Cfg().nat_keepalive_s;
    sa->nat_keepalive_at = every ? now + Seconds(every) : kNever;
  }
  // IPsec SA lifetimes and rekeys.
  std::vector<uint32_t> expired;
  for (auto& ch : sa->children) {
    if (ch.expires <= now) {
      expired.push_back(ch.spi_in);
    } else if (!ch.rekeyed && ch.rekey_at <= now) {
      ch.rekeyed = true;
      // An entry changed to `set ikev2-profile` is not rekeyed by IKEv1 (AddChild).
      if (const config::CryptoMapEntry* e = host.Entry(ch.entry); e && e->ikev2_profile.empty())
        StartQuickMode(host, *e, ch.spi_in);
    }
  }
  for (uint32_t spi : expired) DeleteChild(host, spi, true);
  // DPD.
  RunDpd(host);
}

void Ikev1Session::AbandonQuickMode(SessionHost& c, uint32_t mid, const std::string& reason) {
  IkeSa& sa = sa_;
  auto it = sa.quick_modes.find(mid);
  if (it == sa.quick_modes.end()) return;
  c.Debug("deleting node " + std::to_string(int32_t(mid)) + " error TRUE reason \"" + reason +
          "\"");
  c.Emit(EventKind::kGiveUp, mid);
  const QuickMode& qm = it->second;
  if (c.EntryKeptUp(qm.entry))
    sa.qm_retry_at = std::min(sa.qm_retry_at, c.Now() + kKeepUpQuickModeRetry);
  std::vector<uint32_t> deferred;
  for (const auto& ch : sa.children)
    if (ch.delete_on_replace && ch.entry == qm.entry) deferred.push_back(ch.spi_in);
  const uint32_t spi_in = qm.spi_in;
  sa.quick_modes.erase(it);
  c.ReleaseSpiIn(spi_in);
  for (uint32_t spi : deferred) DeleteChild(c, spi, false);
}

void Ikev1Session::DeleteChild(SessionHost& c, uint32_t spi_in, bool send_delete) {
  IkeSa& sa = sa_;
  auto it = std::find_if(sa.children.begin(), sa.children.end(),
                         [&](const ChildSa& ch) { return ch.spi_in == spi_in; });
  if (it == sa.children.end()) return;
  if (send_delete && sa.established()) SendDeleteChildren(c, {spi_in});
  c.ChildDown(it->spi_in, it->spi_out);  // the event, and the SPI's index row
  sa.children.erase(it);
}

}  // namespace ikepulse::ike
