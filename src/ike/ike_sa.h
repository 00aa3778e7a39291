// IkeSa: one ISAKMP SA and what hangs off it (its Quick Modes in flight and its IPsec SAs):
// the protocol-neutral SaBase that the engine core reads, and the IKEv1 rest (DESIGN.md §6.2).
// Plain state with explicit enums; the exchange logic is Ikev1Session's (ikev1_session.h, and
// its per-exchange files main_mode.cc, quick_mode.cc, informational.cc), which owns the record
// and is its only IKEv1 writer. The session is held by NodeImpl's SA table; the record is
// referred to everywhere else by SaId.
#pragma once

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clone_ptr.h"
#include "common/endpoint.h"
#include "common/time.h"
#include "crypto/crypto.h"
#include "crypto/ikev1_keys.h"
#include "ike/algorithms.h"
#include "ike/dpd_monitor.h"
#include "ike/entry_ref.h"
#include "ike/message_id_window.h"
#include "ike/outbox.h"
#include "isakmp/header.h"
#include "isakmp/payloads.h"

namespace ikepulse::ike {

// Main Mode states, named as IOS shows them (MM_NO_STATE / MM_SA_SETUP / MM_KEY_EXCH /
// QM_IDLE).
enum class P1State : uint8_t {
  kInitSentMm1,   // I: MM1 sent, waiting for MM2
  kInitSentMm3,   // I: MM3 sent, waiting for MM4
  kInitSentMm5,   // I: MM5 sent, waiting for MM6
  kRespSentMm2,   // R: MM2 sent, waiting for MM3
  kRespSentMm4,   // R: MM4 sent, waiting for MM5
  kEstablished,   // QM_IDLE
  kDead,          // deleted; erased by NodeImpl after the call returns
};
const char* IosStateName(P1State s);

// The retransmission state of one exchange's last sent message.
struct Retransmit {
  Bytes packet;            // exactly what was sent last (marker included on 4500)
  Endpoint local, remote;
  TimePoint next = kNever;  // when to resend (jittered); kNever = not retransmitting
  // The unjittered instant of the next retransmission or of the give-up (node.cc,
  // RetransmitGap): the schedule runs on these, so jitter never shifts the give-up.
  TimePoint due = kNever;
  int attempts = 0;        // retransmissions so far
  bool responder = false;  // NodeOptions::responder_retransmit, not ::retransmit
};

// The crypto map entries of one ISAKMP SA (IkeSa::entries), in the order they were added:
// the first, nearly always the only one, is held inline; from the second on they go to a
// vector. 16 bytes and no block of its own for one entry.
class EntryRefs {
 public:
  const EntryRef* begin() const { return more_ ? more_->data() : &one_; }
  const EntryRef* end() const {
    return more_ ? more_->data() + more_->size() : &one_ + (one_.map != kNone ? 1 : 0);
  }
  bool empty() const { return begin() == end(); }
  const EntryRef& front() const { return *begin(); }
  void push_back(EntryRef r) {
    if (more_) {
      more_->push_back(r);
    } else if (one_.map == kNone) {
      one_ = r;
    } else {
      more_ = std::make_unique<std::vector<EntryRef>>(std::vector<EntryRef>{one_, r});
      one_ = EntryRef{kNone, 0};
    }
  }

 private:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;  // never a map name's number
  EntryRef one_{kNone, 0};                // the only entry, when more_ is null
  ClonePtr<std::vector<EntryRef>> more_;  // two or more, in order
};

// An IPsec SA pair negotiated by a Quick Mode.
struct ChildKeys {
  SecretBytes enc_in, auth_in, enc_out, auth_out;
};

struct ChildSa {
  // Members are ordered so that the record has no padding to speak of (the static_assert
  // after IkeSa): one per IPsec SA pair.
  uint32_t spi_in = 0;   // ours (the peer sends with it)
  uint32_t spi_out = 0;  // the peer's
  Phase2Algs algs;
  // The IPsec keys, until the data plane has installed them (Node::HandOverChildKeys): then
  // released here (wiped) and keys_handed_over set, so the data plane holds the only copy.
  ClonePtr<ChildKeys> keys;
  EntryRef entry;  // the crypto map entry it was negotiated for
  IpAddress local_net, local_mask, remote_net, remote_mask;
  uint8_t protocol = 0;
  // The flags are bit-fields: with them the record is 192 bytes instead of 200.
  bool keys_handed_over : 1 = false;
  bool initiator : 1 = false;
  bool rekeyed : 1 = false;  // a replacement was started
  // The peer deleted this SA while our half of its replacement (QM2 sent, QM3 not yet in)
  // was pending: it goes when the replacement is installed or fails, not before, so the
  // entry is never left without an SA when QM3 is lost.
  bool delete_on_replace : 1 = false;
  TimePoint created;
  TimePoint expires = kNever;
  TimePoint rekey_at = kNever;  // initiator only
  uint64_t pkts_in = 0, pkts_out = 0, bytes_in = 0, bytes_out = 0;
  TimePoint last_in = kNever, last_out = kNever;  // last packet each way (kNever: none yet)
};

enum class QmState : uint8_t { kInitSentQm1, kRespSentQm2, kDone };

// One Quick Mode exchange in flight, by message ID.
struct QuickMode {
  QuickMode() = default;
  QuickMode(QuickMode&&) = default;
  QuickMode& operator=(QuickMode&&) = default;
  QuickMode(const QuickMode&) = default;  // with its SA (IkeSa::Clone) only
  ~QuickMode() {  // an exchange that fails or is abandoned leaves no nonce behind either
    WipeAndFree(ni);
    WipeAndFree(nr);
    WipeAndFree(peer_ke);
  }

  uint32_t message_id = 0;
  QmState state = QmState::kInitSentQm1;
  Bytes iv;  // CBC chain of this exchange
  // ni, nr, dh and peer_ke are wiped once the IPsec SA's keys are derived (InstallChild); a
  // finished exchange keeps only what answers a duplicate (rtx.packet, last_rx_hash).
  Bytes ni, nr;
  uint32_t spi_in = 0;
  uint32_t spi_out = 0;
  Phase2Algs algs;
  ClonePtr<crypto::DhKeyPair> dh;
  Bytes peer_ke;
  std::optional<SecretBytes> pfs_shared;  // g^xy of the PFS exchange, once computed
  isakmp::IdPayload idci, idcr;
  bool have_ids = false;
  EntryRef entry;  // the crypto map entry
  uint32_t replaces_spi_in = 0;  // rekey: the old SA to delete when this one is up
  Retransmit rtx;
  Bytes last_rx_hash;  // digest of the last received message of this exchange (duplicates)
  TimePoint started;
  // A finished exchange is kept this long to recognise (and answer) duplicates, then erased.
  TimePoint forget_at = kNever;
};

// The Quick Modes of one ISAKMP SA, by message ID: a std::map allocated only while at least
// one exchange is in flight or kept for duplicates (an established SA in the steady state has
// none, so it carries 8 bytes here instead of an empty map's 48). The subset of std::map that
// the engine uses, with the same iterators. While empty, begin() == end() == find(x) is the
// end of one shared empty map that is never written; erase() releases the map once the last
// exchange goes, and then returns end().
class QuickModeTable {
 public:
  using Map = std::map<uint32_t, QuickMode>;
  using iterator = Map::iterator;
  using const_iterator = Map::const_iterator;

  iterator begin() { return m_ ? m_->begin() : Empty().end(); }
  iterator end() { return m_ ? m_->end() : Empty().end(); }
  const_iterator begin() const { return m_ ? m_->cbegin() : Empty().cend(); }
  const_iterator end() const { return m_ ? m_->cend() : Empty().cend(); }
  bool empty() const { return !m_; }
  size_t size() const { return m_ ? m_->size() : 0; }
  iterator find(uint32_t mid) { return m_ ? m_->find(mid) : Empty().end(); }
  const_iterator find(uint32_t mid) const { return m_ ? m_->find(mid) : Empty().cend(); }
  size_t count(uint32_t mid) const { return m_ ? m_->count(mid) : 0; }
  std::pair<iterator, bool> emplace(uint32_t mid, QuickMode&& qm) {
    if (!m_) m_ = std::make_unique<Map>();
    return m_->emplace(mid, std::move(qm));
  }
  iterator erase(iterator it) {
    iterator next = m_->erase(it);
    if (!m_->empty()) return next;
    m_.reset();
    return Empty().end();
  }
  size_t erase(uint32_t mid) {
    if (!m_) return 0;
    const size_t n = m_->erase(mid);
    if (m_->empty()) m_.reset();
    return n;
  }
  void clear() { m_.reset(); }

 private:
  static Map& Empty() {
    static Map empty;  // never inserted into: stands for the table while it has no map
    return empty;
  }
  ClonePtr<Map> m_;  // nullptr while empty; Node::Clone copies the exchanges deeply
};

// The keying material an established ISAKMP SA keeps, in one wiped block (one allocation
// instead of four): SKEYID_d (KEYMAT), SKEYID_a (phase-2 hashes), the encryption key, and the
// last phase-1 CBC block (the base of phase-2 IVs).
class Phase2Base {
 public:
  void SetKeys(ByteSpan skeyid_d, ByteSpan skeyid_a, ByteSpan enc_key) {
    Assemble(skeyid_d, skeyid_a, enc_key, last_block());
  }
  void SetLastBlock(ByteSpan block) { Assemble(skeyid_d(), skeyid_a(), enc_key(), block); }
  ByteSpan skeyid_d() const { return blob_.span().subspan(0, d_); }
  ByteSpan skeyid_a() const { return blob_.span().subspan(d_, a_); }
  ByteSpan enc_key() const { return blob_.span().subspan(d_ + a_, e_); }
  ByteSpan last_block() const { return blob_.span().subspan(d_ + a_ + e_, iv_); }

 private:
  void Assemble(ByteSpan d, ByteSpan a, ByteSpan e, ByteSpan iv) {
    SecretBytes next(d.size() + a.size() + e.size() + iv.size());
    uint8_t* p = next.data();
    for (ByteSpan part : {d, a, e, iv}) {
      if (!part.empty()) std::memcpy(p, part.data(), part.size());
      p += part.size();
    }
    d_ = static_cast<uint8_t>(d.size());
    a_ = static_cast<uint8_t>(a.size());
    e_ = static_cast<uint8_t>(e.size());
    iv_ = static_cast<uint8_t>(iv.size());
    blob_ = std::move(next);  // the old block is wiped
  }

  SecretBytes blob_;
  uint8_t d_ = 0, a_ = 0, e_ = 0, iv_ = 0;  // lengths (hash output <= 64, key <= 32, block 16)
};

// Main Mode state of one ISAKMP SA. Secret lifetime: psk, gxy and the DH key pair are wiped as
// soon as the keys are derived (MM3/MM4); sai_b, gxi, gxr, ni, nr and iv once HASH_I/HASH_R
// is verified and ours sent (IkeSa::ForgetMainModeSecrets); rtx and last_rx_hash answer a
// duplicate of the peer's last message until IkeSa::p1_forget_at, then the whole is freed.
struct MainModeState {
  MainModeState() = default;
  MainModeState(const MainModeState&) = default;  // with its SA (IkeSa::Clone) only
  MainModeState& operator=(const MainModeState&) = delete;
  ~MainModeState() {
    WipeAndFree(ni);
    WipeAndFree(nr);
    WipeAndFree(gxi);
    WipeAndFree(gxr);
    WipeAndFree(sai_b);
    WipeAndFree(iv);
  }

  Bytes sai_b;  // the initiator's whole SA payload body (for HASH_I/HASH_R)
  ClonePtr<crypto::DhKeyPair> dh;
  Bytes gxi, gxr, ni, nr;
  SecretBytes gxy;
  SecretBytes psk;
  SecretBytes skeyid;  // for HASH_I / HASH_R
  Bytes iv;  // phase-1 CBC chain
  Retransmit rtx;
  Bytes last_rx_hash;
};

// What the core knows of an SA's progress, whatever its protocol: negotiating (any state of
// its opening exchanges), established, or deleted (erased by NodeImpl after the call returns).
enum class SaStatus : uint8_t { kNegotiating, kEstablished, kDead };

// The part of an IKE SA that the engine core reads for every protocol (DESIGN.md §6.2): the
// dispatcher (the SPI pair), the SA table and its indexes (id, peer, the IPsec SAs by inbound
// SPI), the crypto-map entry manager and failover (entries, initiator, status), liveness (the
// monitor, last_rx) and the protocol-neutral parts of `show`. The protocol's own state is the
// rest of the record (IkeSa for IKEv1), which only that protocol's code writes.
struct SaBase {
  // Members are ordered so that the record has no padding to speak of (the small fields
  // last, where the protocol's own small fields follow them; the static_assert after IkeSa).
  SaId id = kNoSa;
  Endpoint local, remote;
  // The SPI pair of the header (IKEv1 cookies; IKEv2 SPIs are eight-byte pairs too): the
  // dispatcher finds an SA by its initiator's (NodeImpl::by_icookie_).
  isakmp::Cookie icookie{}, rcookie{};
  // The crypto map entries this SA was started for (initiator) or matched (responder).
  EntryRefs entries;
  // Lifetime.
  TimePoint created;
  TimePoint established_at = kNever;
  TimePoint expires = kNever;
  std::vector<ChildSa> children;
  // Liveness (DPD for IKEv1).
  std::optional<DpdMonitor> dpd;  // held by value (no allocation per SA)
  TimePoint last_rx = kNever;  // the last time we heard from the peer (NodeImpl::HeardFromPeer)
  // Replacement of an SA by a newer one to the same peer (re-establishment, or the peer's).
  SaId replaces = kNoSa;  // the older SA this one replaces (deleted when up)
  bool initiator = false;
  SaStatus status = SaStatus::kNegotiating;
  bool replaced = false;  // a newer SA to the same peer is up (liveness runs on the newest only)

  bool established() const { return status == SaStatus::kEstablished; }
  bool dead() const { return status == SaStatus::kDead; }
};

// One ISAKMP SA: the base record and the IKEv1 rest.
struct IkeSa : SaBase {
  IkeSa() = default;
  IkeSa& operator=(const IkeSa&) = delete;
  // Only whole-engine snapshots copy an SA (Node::Clone); never by accident.
  std::unique_ptr<IkeSa> Clone() const { return std::unique_ptr<IkeSa>(new IkeSa(*this)); }
  ~IkeSa() { ForgetMainModeSecrets(); }  // also when deleted before it was established

  // Members are ordered so that the record has no padding to speak of (the small fields
  // first, after the base's; the static_assert after the struct): one per ISAKMP SA.
  P1State state = P1State::kInitSentMm1;  // set with SetState (it keeps `status` in step)
  // What the peer announced.
  bool peer_dpd = false;
  bool peer_natt_rfc = false;
  bool peer_natt_draft = false;
  bool natd_sent = false;
  bool nat_detected = false;
  bool natt_float = false;  // IKE on 4500 with the non-ESP marker
  bool initial_contact_seen = false;
  bool peer_dpd_seen = false;  // (DPD, below)

  // Phase-1 negotiation.
  Phase1Algs algs;
  // What only Main Mode needs (allocated with the SA; secrets wiped when it is established,
  // the rest released at p1_forget_at: an established SA does not carry it).
  ClonePtr<MainModeState> mm;
  // What the SA keeps for its life: SKEYID_d, SKEYID_a, the encryption key (from MM3/MM4)
  // and the last phase-1 CBC block (from MM5/MM6). SKEYID lives in `mm`; SKEYID_e is never kept.
  Phase2Base keys;

  // Lifetime (created, established_at and expires are in the base).
  TimePoint reestablish_at = kNever;  // initiator with a crypto map entry
  TimePoint nat_keepalive_at = kNever;  // RFC 3948 keepalive (0xFF on 4500) when floated

  // Once established: when `mm` (our last Main Mode message, kept to answer a duplicate of
  // the peer's, and that message's digest) is released.
  TimePoint p1_forget_at = kNever;
  QuickModeTable quick_modes;
  // A Quick Mode for a kept-up entry failed (peer's error notify or retransmissions
  // exhausted): when to try the kept-up entries on this SA again.
  TimePoint qm_retry_at = kNever;

  // DPD (the monitor and last_rx are in the base).
  uint32_t peer_dpd_dups = 0;
  uint32_t peer_dpd_last_mid = 0;  // M-ID of the peer's last R-U-THERE (a retransmission)
  uint32_t peer_dpd_last_seq = 0;
  // The M-IDs of the peer's recent Informational and Quick Mode exchanges: a replayed one is
  // dropped before it reaches liveness, failover or Quick Mode state.
  MessageIdWindow peer_mids;

  // The Main Mode state, and the base's status with it.
  void SetState(P1State s) {
    state = s;
    status = s == P1State::kEstablished ? SaStatus::kEstablished
             : s == P1State::kDead      ? SaStatus::kDead
                                        : SaStatus::kNegotiating;
  }
  std::string Tag() const;  // "ISAKMP:(1001):"
  // The header of a phase-2 / informational message on this SA, HASH payload first.
  isakmp::Header Phase2Header(isakmp::ExchangeType exchange, uint32_t message_id) const {
    isakmp::Header h;
    h.icookie = icookie;
    h.rcookie = rcookie;
    h.next_payload = isakmp::PayloadType::kHash;
    h.exchange = exchange;
    h.message_id = message_id;
    return h;
  }
  // Main Mode is authenticated both ways: wipes what only the exchange needed (above).
  void ForgetMainModeSecrets();
  TimePoint NextDeadline() const;

 private:
  friend class Ikev1Session;  // holds one by value (Ikev1Session::Clone)
  IkeSa(const IkeSa&) = default;
};


// The per-SA records are the engine's memory per established SA (docs/PERFORMANCE.md, "Engine
// memory per established SA"): keep them from growing by accident.
#if defined(__x86_64__) || defined(__aarch64__)
static_assert(sizeof(ChildSa) <= 192, "ChildSa grew: check its member order (pahole)");
static_assert(sizeof(IkeSa) <= 488, "IkeSa grew: check its member order (pahole)");
#endif

}  // namespace ikepulse::ike
