// Quick Mode, initiator and responder (RFC 2409 §5.5; DESIGN.md §2.6):
//   QM1 I->R  HDR*, HASH(1), SA, Ni [, KE], IDci, IDcr
//   QM2 R->I  HDR*, HASH(2), SA, Nr [, KE], IDci, IDcr
//   QM3 I->R  HDR*, HASH(3)
// IVs: hash(last phase-1 block | M-ID), then chained on the last block of each message of the
// exchange. KEYMAT per direction with the SPI chosen by that direction's receiver.
#include <algorithm>

#include "ike/ikev1_session.h"
#include "ike/protect.h"

namespace ikepulse::ike {

namespace {

using isakmp::MakePayload;
using isakmp::Payload;

constexpr size_t kNonceSize = 32;

Bytes Digest(ByteSpan msg) { return crypto::Hash(crypto::HashAlg::kSha1, {msg}); }

Bytes SpiBytes(uint32_t s) {
  return {static_cast<uint8_t>(s >> 24), static_cast<uint8_t>(s >> 16),
          static_cast<uint8_t>(s >> 8), static_cast<uint8_t>(s)};
}

IpAddress Invert(const IpAddress& w) {
  IpAddress m = w;
  for (auto& b : m.bytes) b = static_cast<uint8_t>(~b);
  if (!m.v6)
    for (size_t i = 4; i < 16; ++i) m.bytes[i] = 0;
  return m;
}

bool AllOnes(const IpAddress& m) {
  for (size_t i = 0; i < (m.v6 ? 16u : 4u); ++i)
    if (m.bytes[i] != 0xff) return false;
  return true;
}

// The ID payload for a protected network (address + mask).
isakmp::IdPayload NetId(const IpAddress& net, const IpAddress& mask, uint8_t proto) {
  isakmp::IdPayload id;
  id.protocol = proto;
  id.port = 0;
  ByteSpan a = net.span();
  id.data.assign(a.begin(), a.end());
  if (AllOnes(mask)) {
    id.id_type = static_cast<uint8_t>(net.v6 ? isakmp::IdType::kIpv6Addr : isakmp::IdType::kIpv4Addr);
  } else {
    id.id_type =
        static_cast<uint8_t>(net.v6 ? isakmp::IdType::kIpv6Subnet : isakmp::IdType::kIpv4Subnet);
    ByteSpan m = mask.span();
    id.data.insert(id.data.end(), m.begin(), m.end());
  }
  return id;
}

// Address + mask of an ID payload (address or subnet IDs only).
bool IdToNet(const isakmp::IdPayload& id, IpAddress& net, IpAddress& mask) {
  net = IpAddress{};
  mask = IpAddress{};
  switch (static_cast<isakmp::IdType>(id.id_type)) {
    case isakmp::IdType::kIpv4Addr:
      if (id.data.size() != 4) return false;
      std::copy(id.data.begin(), id.data.end(), net.bytes.begin());
      for (int i = 0; i < 4; ++i) mask.bytes[i] = 0xff;
      return true;
    case isakmp::IdType::kIpv4Subnet:
      if (id.data.size() != 8) return false;
      std::copy(id.data.begin(), id.data.begin() + 4, net.bytes.begin());
      std::copy(id.data.begin() + 4, id.data.end(), mask.bytes.begin());
      return true;
    case isakmp::IdType::kIpv6Addr:
      if (id.data.size() != 16) return false;
      net.v6 = mask.v6 = true;
      std::copy(id.data.begin(), id.data.end(), net.bytes.begin());
      mask.bytes.fill(0xff);
      return true;
    case isakmp::IdType::kIpv6Subnet:
      if (id.data.size() != 32) return false;
      net.v6 = mask.v6 = true;
      std::copy(id.data.begin(), id.data.begin() + 16, net.bytes.begin());
      std::copy(id.data.begin() + 16, id.data.end(), mask.bytes.begin());
      return true;
    default:
      return false;
  }
}

// Is net/mask inside the ACL side acl_net/acl_wild?
bool Within(const IpAddress& net, const IpAddress& mask, const IpAddress& acl_net,
            const IpAddress& acl_wild) {
  if (net.v6 != acl_net.v6) return false;
  const IpAddress acl_mask = Invert(acl_wild);
  for (size_t i = 0; i < (net.v6 ? 16u : 4u); ++i) {
    if ((mask.bytes[i] & acl_mask.bytes[i]) != acl_mask.bytes[i]) return false;  // wider
    if ((net.bytes[i] & acl_mask.bytes[i]) != (acl_net.bytes[i] & acl_mask.bytes[i])) return false;
  }
  return true;
}

const config::AclEntry* FirstPermit(const config::AccessList* acl) {
  if (!acl) return nullptr;
  for (const auto& e : acl->entries)
    if (e.permit) return &e;
  return nullptr;
}

std::vector<const isakmp::IdPayload*> Ids(const std::vector<Payload>& chain) {
  std::vector<const isakmp::IdPayload*> ids;
  for (const auto& p : chain)
    if (const auto* id = std::get_if<isakmp::IdPayload>(&p.body)) ids.push_back(id);
  return ids;
}

Bytes ToBytes(const SecretBytes& s) { return Bytes(s.data(), s.data() + s.size()); }

}  // namespace

bool Ikev1Session::ChildInFlight(const SessionHost& host, EntryRef entry) const {
  (void)host;
  // In flight only: a finished exchange kept to answer duplicates (kDone) brings nothing,
  // so it must not hold back a new one when the SA it made is gone (hard lifetime, Delete).
  return std::any_of(sa_.quick_modes.begin(), sa_.quick_modes.end(), [&](const auto& kv) {
    return kv.second.state != QmState::kDone && kv.second.entry == entry;
  });
}

void Ikev1Session::StartQuickMode(SessionHost& c, const config::CryptoMapEntry& e,
                                  uint32_t replaces_spi_in) {
  IkeSa& sa = sa_;
  const config::AclEntry* acl = FirstPermit(c.Cfg().FindAcl(e.match_address));
  if (!acl) {
    c.Log("%CRYPTO-4-IKMP_NO_ACL: crypto map " + e.map_name + " " + std::to_string(e.seq) +
          ": match address " + e.match_address + " has no permit entry");
    return;
  }
  QuickMode qm;
  do {
    qm.message_id = c.Rng().NonZeroU32();
  } while (sa.quick_modes.count(qm.message_id));
  const crypto::CipherAlg cipher = sa.algs.cipher();
  const crypto::HashAlg prf = sa.algs.prf();
  qm.iv = crypto::Phase2Iv(prf, sa.keys.last_block(), qm.message_id, crypto::BlockSize(cipher));
  qm.ni.resize(kNonceSize);
  c.Rng().Fill(qm.ni);
  qm.spi_in = c.AllocateSpiIn();
  isakmp::SaPayload sap = BuildPhase2Sa(c.Cfg(), e, qm.spi_in, sa.natt_float, !sa.peer_natt_rfc);
  if (sap.proposals.empty()) {
    c.ReleaseSpiIn(qm.spi_in);
    c.Log("%CRYPTO-4-IKMP_NO_TRANSFORM: crypto map " + e.map_name + " " + std::to_string(e.seq) +
          " has no usable transform set");
    return;
  }
  std::vector<Payload> rest;
  rest.push_back(MakePayload(std::move(sap)));
  rest.push_back(MakePayload(isakmp::NoncePayload{qm.ni}));
  if (e.pfs_group) {
    qm.dh = crypto::DhKeyPair::Generate(*e.pfs_group);
    if (!qm.dh) {
      c.ReleaseSpiIn(qm.spi_in);
      return;
    }
    rest.push_back(MakePayload(isakmp::KeyExchangePayload{qm.dh->public_value()}));
  }
  qm.idci = NetId(acl->src, Invert(acl->src_wildcard), acl->protocol);
  qm.idcr = NetId(acl->dst, Invert(acl->dst_wildcard), acl->protocol);
  qm.have_ids = true;
  rest.push_back(MakePayload(qm.idci));
  rest.push_back(MakePayload(qm.idcr));
  const uint32_t mid = qm.message_id;
  const ByteSpan skeyid_a = sa.keys.skeyid_a();
  Bytes plain = BuildHashedChain(rest, crypto::HashLength(prf), [&](ByteSpan after) {
    return crypto::QuickModeHash1(prf, skeyid_a, mid, after);
  });
  const isakmp::Header h = sa.Phase2Header(isakmp::ExchangeType::kQuickMode, mid);
  Bytes last;
  Bytes m = SealMessage(h, plain, cipher, sa.keys.enc_key(), qm.iv, &last);
  qm.iv = last;
  qm.state = QmState::kInitSentQm1;
  qm.entry = c.Ref(e.map_name, e.seq);
  qm.replaces_spi_in = replaces_spi_in;
  qm.started = c.Now();
  c.Debug("beginning Quick Mode exchange, M-ID of " + std::to_string(int32_t(mid)));
  Bytes wire = Send(c, m);
  StartRetransmit(c, qm.rtx, std::move(wire));
  sa.quick_modes.emplace(mid, std::move(qm));
  c.Rearm();
}

void Ikev1Session::OnQuickMode(SessionHost& c, const isakmp::Header& h, ByteSpan msg) {
  IkeSa& sa = sa_;
  const uint32_t mid = h.message_id;
  if (mid == 0 || !h.encrypted()) {
    c.DropFrom(sa.remote, &NodeCounters::dropped_state, "Quick Mode with M-ID 0 or unencrypted");
    return;
  }
  const Bytes digest = Digest(msg);
  auto it = sa.quick_modes.find(mid);
  if (it != sa.quick_modes.end() && digest == it->second.last_rx_hash) {
    if (!it->second.rtx.packet.empty()) {
      c.Count(&NodeCounters::duplicates_answered);
      c.Send(sa.local, sa.remote, it->second.rtx.packet);
    }
    return;
  }
  const crypto::CipherAlg cipher = sa.algs.cipher();
  const crypto::HashAlg prf = sa.algs.prf();
  const size_t bs = crypto::BlockSize(cipher);
  const Bytes iv = it == sa.quick_modes.end()
                       ? crypto::Phase2Iv(prf, sa.keys.last_block(), mid, bs)
                       : it->second.iv;
  Bytes last;
  auto opened = OpenMessage(msg, h.length, cipher, sa.keys.enc_key(), iv, &last);
  if (!opened) {
    c.DropFrom(sa.remote, &NodeCounters::dropped_auth, opened.error().detail);
    return;
  }
  const Bytes plain = std::move(*opened);
  auto chain = isakmp::ParsePayloads(h.next_payload, plain);
  if (!chain || chain->empty() || chain->front().type != isakmp::PayloadType::kHash) {
    c.DropFrom(sa.remote, &NodeCounters::dropped_auth,
               chain ? "Quick Mode without HASH first" : chain.error().detail);
    return;
  }
  const Bytes got = std::get<isakmp::HashPayload>(chain->front().body).data;
  const Bytes covered = BytesCoveredByHash(*chain, plain);
  const ByteSpan skeyid_a = sa.keys.skeyid_a();
  c.Debug(" processing HASH payload. message ID = " + std::to_string(int32_t(mid)));

  if (it == sa.quick_modes.end()) {
    // QM1: we are the responder.
    if (SecretBytes(got) != crypto::QuickModeHash1(prf, skeyid_a, mid, covered)) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_auth, "QM1 HASH(1) mismatch");
      return;
    }
    // A QM1 proves nothing about freshness (an old one, replayed after its exchange was
    // forgotten, authenticates too): a known M-ID is dropped, and a new one counts as
    // liveness only when its QM3, which binds our fresh Nr, arrives.
    if (!sa.peer_mids.Remember(mid)) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_replay, "replayed QM1 (M-ID already seen)");
      return;
    }
    const auto* sap = isakmp::Find<isakmp::SaPayload>(*chain);
    const auto* nonce = isakmp::Find<isakmp::NoncePayload>(*chain);
    const auto* ke = isakmp::Find<isakmp::KeyExchangePayload>(*chain);
    auto ids = Ids(*chain);
    if (!sap || !nonce || ids.size() != 2) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_state, "QM1 without SA, nonce or both IDs");
      return;
    }
    IpAddress ci_net, ci_mask, cr_net, cr_mask;
    if (!IdToNet(*ids[0], ci_net, ci_mask) || !IdToNet(*ids[1], cr_net, cr_mask)) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_state, "QM1 proxy IDs of an unsupported type");
      return;
    }
    // Find the crypto map entry: the peer is one of its peers, and the peer's proxies mirror
    // its ACL (their IDcr inside our source, their IDci inside our destination).
    const config::CryptoMapEntry* entry = nullptr;
    std::optional<Phase2Choice> choice;
    bool proxies_match = false;  // some entry's ACL mirrors the proxies (then: proposals)
    for (const config::CryptoMapEntry* listed : c.EntriesFor(sa.remote.ip)) {  // in order
      const config::CryptoMapEntry& e = *listed;
      if (!e.ikev2_profile.empty()) continue;  // an IKEv2 entry: never by IKEv1
      const config::AccessList* acl = c.Cfg().FindAcl(e.match_address);
      if (!acl) continue;
      bool match = false;
      for (const auto& a : acl->entries)
        if (a.permit && Within(cr_net, cr_mask, a.src, a.src_wildcard) &&
            Within(ci_net, ci_mask, a.dst, a.dst_wildcard))
          match = true;
      if (!match) continue;
      proxies_match = true;
      choice = SelectPhase2(*sap, c.Cfg(), e);
      if (choice) {
        entry = &e;
        break;
      }
    }
    if (!entry) {
      c.Log("%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at " +
            sa.remote.ip.ToString() +
            (proxies_match ? " (no acceptable proposal)" : " (proxy identities not supported)"));
      c.DropFrom(sa.remote, &NodeCounters::dropped_state, "QM1: no crypto map entry matches");
      // Tell the peer (authenticated Informational), as IOS does, so that it stops
      // retransmitting: NO_PROPOSAL_CHOSEN when an entry's ACL matched the proxies but none
      // of its transform sets did, INVALID_ID_INFORMATION when no ACL matched. The SPI is the
      // initiator's (its first proposal's), so it can tell which exchange failed.
      isakmp::NotificationPayload n;
      n.doi = isakmp::kDoiIpsec;
      n.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kEsp);
      if (!sap->proposals.empty() && sap->proposals.front().spi.size() == 4)
        n.spi = sap->proposals.front().spi;
      const isakmp::NotifyType type = proxies_match ? isakmp::NotifyType::kNoProposalChosen
                                                    : isakmp::NotifyType::kInvalidIdInformation;
      n.type = static_cast<uint16_t>(type);
      c.Debug("sending NOTIFY " + std::string(isakmp::NotifyTypeName(n.type)) +
              " protocol 3 (QM1 message ID " + std::to_string(int32_t(mid)) + ")");
      std::vector<isakmp::Payload> p;
      p.push_back(isakmp::MakePayload(std::move(n)));
      SendInformational(c, std::move(p));
      return;
    }
    QuickMode qm;
    qm.message_id = mid;
    qm.ni = nonce->data;
    qm.nr.resize(kNonceSize);
    c.Rng().Fill(qm.nr);
    if (qm.algs = choice->algs; qm.algs.pfs_group && !ke) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_state, "QM1 with PFS but no KE");
      return;
    }
    qm.spi_in = c.AllocateSpiIn();
    qm.spi_out = choice->peer_spi;
    qm.idci = *ids[0];
    qm.idcr = *ids[1];
    qm.have_ids = true;
    qm.entry = c.Ref(entry->map_name, entry->seq);
    qm.started = c.Now();
    std::vector<Payload> rest;
    isakmp::SaPayload reply;
    reply.doi = sap->doi;
    reply.situation = sap->situation;
    isakmp::Proposal prop = choice->proposal;
    prop.spi = SpiBytes(qm.spi_in);
    reply.proposals.push_back(std::move(prop));
    rest.push_back(MakePayload(std::move(reply)));
    rest.push_back(MakePayload(isakmp::NoncePayload{qm.nr}));
    if (qm.algs.pfs_group) {
      qm.dh = crypto::DhKeyPair::Generate(*qm.algs.pfs_group);
      if (!qm.dh) {
        c.ReleaseSpiIn(qm.spi_in);
        return;
      }
      qm.peer_ke = ke->data;
      rest.push_back(MakePayload(isakmp::KeyExchangePayload{qm.dh->public_value()}));
    }
    rest.push_back(MakePayload(qm.idci));
    rest.push_back(MakePayload(qm.idcr));
    const Bytes ni = qm.ni;
    Bytes out_plain = BuildHashedChain(rest, crypto::HashLength(prf), [&](ByteSpan after) {
      return crypto::QuickModeHash2(prf, skeyid_a, mid, ni, after);
    });
    isakmp::Header oh = h;
    oh.next_payload = isakmp::PayloadType::kHash;
    Bytes last2;
    Bytes m = SealMessage(oh, out_plain, cipher, sa.keys.enc_key(), last, &last2);
    qm.iv = last2;
    qm.state = QmState::kRespSentQm2;
    qm.last_rx_hash = digest;
    Bytes wire = Send(c, m);
    // Resent until QM3 comes, on the initiator's (fast) schedule, not IOS's 10 s one: while
    // QM3 is missing the initiator already sends on the new SA that we have not installed,
    // so a slow resend would black-hole its traffic for 10 s.
    StartRetransmit(c, qm.rtx, std::move(wire));
    sa.quick_modes.emplace(mid, std::move(qm));
    return;
  }

  QuickMode& qm = it->second;
  if (qm.state == QmState::kInitSentQm1) {
    // QM2.
    if (SecretBytes(got) != crypto::QuickModeHash2(prf, skeyid_a, mid, qm.ni, covered)) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_auth, "QM2 HASH(2) mismatch");
      return;
    }
    c.Heard();  // HASH(2) binds our Ni: fresh
    const auto* sap = isakmp::Find<isakmp::SaPayload>(*chain);
    const auto* nonce = isakmp::Find<isakmp::NoncePayload>(*chain);
    const auto* ke = isakmp::Find<isakmp::KeyExchangePayload>(*chain);
    if (!sap || !nonce || sap->proposals.size() != 1) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_state, "QM2 without one proposal or nonce");
      return;
    }
    Phase2Algs algs;
    // Everything is checked before QM3 goes out: no QM3 ever leaves for an SA we refuse.
    std::string refused = CheckQm2(c.Cfg(), c.Entry(qm.entry), *sap, ke != nullptr,
                                   qm.dh != nullptr, Ids(*chain), qm.idci, qm.idcr, algs);
    std::optional<SecretBytes> shared;
    if (refused.empty() && qm.dh) {
      auto s = qm.dh->ComputeShared(ke->data);
      if (s) shared = std::move(*s);
      else refused = "PFS key exchange failed";
    }
    if (!refused.empty()) {
      RefuseQm2(c, mid, sap->proposals[0].spi, refused);
      return;
    }
    qm.peer_ke = ke ? ke->data : Bytes{};
    qm.pfs_shared = std::move(shared);
    const auto& spi = sap->proposals[0].spi;
    qm.spi_out = (uint32_t{spi[0]} << 24) | (uint32_t{spi[1]} << 16) | (uint32_t{spi[2]} << 8) | spi[3];
    qm.algs = algs;
    qm.nr = nonce->data;
    SecretBytes h3 = crypto::QuickModeHash3(prf, skeyid_a, mid, qm.ni, qm.nr);
    std::vector<Payload> out;
    out.push_back(MakePayload(isakmp::HashPayload{ToBytes(h3)}));
    isakmp::Header oh = h;
    oh.next_payload = isakmp::PayloadType::kHash;
    Bytes last2;
    Bytes m = SealMessage(oh, isakmp::SerializePayloads(out), cipher, sa.keys.enc_key(),
                          last, &last2);
    qm.iv = last2;
    qm.last_rx_hash = digest;
    qm.rtx.packet = Send(c, m);  // kept to answer a duplicate QM2
    qm.rtx.next = kNever;
    qm.state = QmState::kDone;
    InstallChild(c, qm);
    return;
  }
  if (qm.state == QmState::kRespSentQm2) {
    // QM3.
    if (SecretBytes(got) != crypto::QuickModeHash3(prf, skeyid_a, mid, qm.ni, qm.nr)) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_auth, "QM3 HASH(3) mismatch");
      return;
    }
    c.Heard();  // HASH(3) binds our Nr: fresh
    qm.state = QmState::kDone;
    qm.rtx = Retransmit{};
    qm.last_rx_hash = digest;
    InstallChild(c, qm);
    return;
  }
  c.DropFrom(sa.remote, &NodeCounters::dropped_state, "Quick Mode message for a finished exchange");
}

void Ikev1Session::RefuseQm2(SessionHost& c, uint32_t mid, const Bytes& peer_spi,
                             const std::string& why) {
  IkeSa& sa = sa_;
  c.Log("%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at " +
        sa.remote.ip.ToString() + " (QM2 refused: " + why + ")");
  c.DropFrom(sa.remote, &NodeCounters::dropped_state, "QM2 refused");
  // Tell the peer (authenticated Informational) so that it drops its half of the exchange.
  isakmp::NotificationPayload n;
  n.doi = isakmp::kDoiIpsec;
  n.protocol_id = static_cast<uint8_t>(isakmp::ProtocolId::kEsp);
  if (peer_spi.size() == 4) n.spi = peer_spi;
  n.type = static_cast<uint16_t>(isakmp::NotifyType::kNoProposalChosen);
  std::vector<isakmp::Payload> p;
  p.push_back(isakmp::MakePayload(std::move(n)));
  SendInformational(c, std::move(p));
  AbandonQuickMode(c, mid, "QM2 refused: " + why);
}

void Ikev1Session::InstallChild(SessionHost& c, QuickMode& qm) {
  IkeSa& sa = sa_;
  const crypto::HashAlg prf = sa.algs.prf();
  ChildSa ch;
  ch.spi_in = qm.spi_in;
  ch.spi_out = qm.spi_out;
  ch.algs = qm.algs;
  ch.algs.udp_encap = ch.algs.udp_encap || sa.natt_float;
  ch.initiator = qm.state == QmState::kDone && !qm.rtx.packet.empty();
  ch.entry = qm.entry;
  SecretBytes gqm;
  std::optional<ByteSpan> gqm_span;
  if (qm.pfs_shared) {
    gqm = std::move(*qm.pfs_shared);
    qm.pfs_shared.reset();
    gqm_span = gqm.span();
  } else if (qm.dh) {
    auto s = qm.dh->ComputeShared(qm.peer_ke);
    if (!s) {
      c.DropFrom(sa.remote, &NodeCounters::dropped_auth, "PFS DH failed");
      const uint32_t spi_in = qm.spi_in;
      sa.quick_modes.erase(qm.message_id);
      c.ReleaseSpiIn(spi_in);
      return;
    }
    gqm = std::move(*s);
    gqm_span = gqm.span();
  }
  const size_t ek = ch.algs.EncKeyLength(), ak = ch.algs.AuthKeyLength();
  const uint8_t esp = static_cast<uint8_t>(isakmp::ProtocolId::kEsp);
  SecretBytes kin = crypto::QuickModeKeymat(prf, sa.keys.skeyid_d(), gqm_span, esp,
                                            SpiBytes(ch.spi_in), qm.ni, qm.nr, ek + ak);
  SecretBytes kout = crypto::QuickModeKeymat(prf, sa.keys.skeyid_d(), gqm_span, esp,
                                             SpiBytes(ch.spi_out), qm.ni, qm.nr, ek + ak);
  ch.keys = std::make_unique<ChildKeys>();
  ch.keys->enc_in = SecretBytes(kin.span().first(ek));
  ch.keys->auth_in = SecretBytes(kin.span().subspan(ek));
  ch.keys->enc_out = SecretBytes(kout.span().first(ek));
  ch.keys->auth_out = SecretBytes(kout.span().subspan(ek));
  IpAddress ci_net, ci_mask, cr_net, cr_mask;
  IdToNet(qm.idci, ci_net, ci_mask);
  IdToNet(qm.idcr, cr_net, cr_mask);
  if (ch.initiator) {
    ch.local_net = ci_net, ch.local_mask = ci_mask, ch.remote_net = cr_net, ch.remote_mask = cr_mask;
  } else {
    ch.local_net = cr_net, ch.local_mask = cr_mask, ch.remote_net = ci_net, ch.remote_mask = ci_mask;
  }
  ch.protocol = qm.idci.protocol;
  ch.created = c.Now();
  const Duration life = Seconds(ch.algs.lifetime_s);
  ch.expires = c.Now() + life;
  if (ch.initiator) {
    const Duration margin = c.Options().ipsec_rekey_margin;
    ch.rekey_at = c.Now() + (life > 2 * margin ? life - margin : life * 9 / 10);
  }
  c.Debug("IPSEC(create_sa): sa created, (sa) sa_dest= " + sa.remote.ip.ToString() +
          ", sa_proto= 50, sa_spi= 0x" + ToHex(SpiBytes(ch.spi_out)) +
          ", sa_trans= " + ch.algs.TransformName());
  c.ChildUp(ChildSaUp{ch.spi_in, ch.spi_out, c.MapName(ch.entry), ch.entry.seq});
  const uint32_t replaces = qm.replaces_spi_in;
  const uint32_t mid = qm.message_id;
  const EntryRef qm_entry = qm.entry;
  sa.children.push_back(std::move(ch));
  // The finished exchange is kept for 30 s to recognise duplicates (several may be in flight
  // on one ISAKMP SA), then forgotten by OnTimeout.
  if (auto q = sa.quick_modes.find(mid); q != sa.quick_modes.end()) {
    QuickMode& done = q->second;
    done.forget_at = c.Now() + Seconds(30);
    // The keys are derived: the nonces and the PFS values are not needed again.
    done.dh.reset();
    WipeAndFree(done.peer_ke);
    WipeAndFree(done.ni);
    WipeAndFree(done.nr);
  }
  // (The finished exchange itself is kept: a duplicate QM2 gets QM3 again; a duplicate QM3 is
  // recognised and ignored.)
  if (replaces) DeleteChild(c, replaces, true);
  std::vector<uint32_t> deferred;
  for (const auto& old : sa.children)
    if (old.delete_on_replace && old.entry == qm_entry)
      deferred.push_back(old.spi_in);
  for (uint32_t spi : deferred) DeleteChild(c, spi, false);
}

}  // namespace ikepulse::ike
