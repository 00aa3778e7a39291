// Ikev2Session: one IKEv2 SA (RFC 7296) behind the Session interface (session.h, DESIGN.md
// §6.2), for both roles, with pre-shared keys and one Child SA (ESP, tunnel mode) created in
// IKE_AUTH. Sans-IO: the time comes from SessionHost::Now(), datagrams go out through
// SessionHost::Send, and every datagram the session refuses goes to SessionHost::Drop with a
// counter name and a reason (never an exception).
//
// Roles:
//   initiator   Ikev2Session s(id); s.Initiate(host, entry, local, remote);
//   responder   auto s = Ikev2Session::Respond(host, local, remote, ike_sa_init_request, id);
//               nullptr when no SA results: the request was dropped, or answered statelessly
//               with NO_PROPOSAL_CHOSEN or INVALID_KE_PAYLOAD (RFC 7296 §1.2, §2.7).
//
// Configuration (IOS XE FlexVPN, config.h):
// - IKE proposals: the `crypto ikev2 policy` objects in name order whose `match address local`
//   is empty or lists our address, each contributing its proposals in order (duplicates once);
//   when no policy applies, every configured proposal in name order. Only complete proposals.
//   A proposal with several algorithms per type is sent as one SA proposal listing them all.
//   (IOS's own policy selection, e.g. by VRF, is not modelled.) Responder: the peer's
//   proposals in the peer's order, the first one that one of ours covers; within it, for each
//   transform type the peer's first choice that ours lists.
// - Initiator: the profile is the crypto map entry's `set ikev2-profile`; its keyring's first
//   peer matching the remote address gives the keys (LocalKey signs, RemoteKey verifies).
//   Responder: the first crypto map entry with a `set ikev2-profile` that lists the peer's
//   address as a `set peer`, whose profile's `match identity remote address` covers IDi, and
//   whose keyring key verifies the peer's AUTH. The candidates come from
//   SessionHost::EntriesFor (the node's index by peer): O(entries listing the peer), not
//   O(entries).
// - IDi/IDr: ID_IPV4_ADDR of the profile's `identity local address`, else our address.
// - Child SA: ESP, one proposal per transform set of the entry, no ESN; traffic selectors from
//   the entry's ACL (its first permit line), as the IKEv1 proxy identities. The responder
//   narrows the peer's selectors to its ACL (largest intersection); no intersection is
//   TS_UNACCEPTABLE, and the IKE SA is then set up without a Child SA. Our initiator keeps an
//   IKE SA whose Child SA the peer refused with an error notify (TS_UNACCEPTABLE,
//   NO_PROPOSAL_CHOSEN) and no SA payload, as the responder does (RFC 7296 §2.21.2; Libreswan
//   4.10 answers so when it cannot install its kernel SA): liveness and Delete run on it, no
//   traffic is protected, and no Child SA is requested later (no CREATE_CHILD_SA yet). A
//   response whose Child SA we cannot accept (wrong proposal, selectors not within ours) ends
//   the IKE SA at once (Delete, GaveUp).
//
// Message IDs and retransmission (RFC 7296 §2.1-2.3): window size 1 both ways. Our request
// is cached as sent and retransmitted byte-identical on `retransmit` (RetransmitPolicy, node.h);
// giving up before the SA is established is SessionHost::GaveUp, after it a teardown like a
// dead peer (PeerDead). The liveness probe (empty INFORMATIONAL) is not on that schedule: the
// DpdMonitor (dpd_monitor.h) decides when it goes out and when it is resent (same bytes, same
// message ID) and when the peer is dead. A response counts only if it carries the message ID
// of our outstanding request. A request with the next expected ID is processed and answered,
// and the answer cached; a byte-identical copy of the last request answered gets the cached
// answer again (not liveness); anything else is dropped (`dropped_replay` for older IDs). The
// cache is bounded (DESIGN.md, "IKEv2's answer to a retransmitted request"): the IKE_AUTH
// answer goes with the peer's first authenticated message after it, any answer after
// Ikev2Options::response_cache_lifetime, and an empty INFORMATIONAL answer is sealed again
// for a retransmission instead of kept; a forgotten answer's request is then a replay.
//
// Liveness: `dpd` of the profile, else `crypto ikev2 dpd`; DpdMonitor's rules with an empty
// INFORMATIONAL as the probe. `dpd 10 2 periodic`, last fresh message from the peer at T0:
// probe at T0+10, the same datagram again at +12, +14, +16, +18, PeerDead at T0+20. A probe
// due while another request of ours is outstanding is that request, resent. No Delete is sent
// for a dead peer (the window holds the unanswered probe).
//
// NAT (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP in IKE_SA_INIT (the
// responder answers with them only when asked); when a NAT is detected (or
// `ikepulse nat-t force-encapsulation`) the initiator moves to the NAT-T port from IKE_AUTH on,
// and the responder follows an authenticated request that came on it. On the NAT-T port the
// session prepends the 4-byte non-ESP marker to what it gives SessionHost::Send (as Datagram
// in outbox.h: the UDP payload as on the wire); OnMessage takes messages without it.
//
// INITIAL_CONTACT in an authenticated IKE_AUTH request: SessionHost::InitialContact once the SA
// is established (the core deletes the other IKE SAs to that peer address, no Delete sent).
// We never send it.
//
// Reports: every end of a session calls SessionHost::Deleted exactly once, as its last report;
// GaveUp or PeerDead come first when they apply; ChildDown for each installed Child SA.
//
// COOKIE (RFC 7296 §2.6): the responder side is the core's (node.cc, V2CookieAdmits: a request
// reaches Respond only when no cookie is demanded or its cookie verified). Initiator: an
// IKE_SA_INIT response with N(COOKIE) to our outstanding IKE_SA_INIT (message ID 0, our SPIi,
// SPIr zero, a cookie of 1-64 bytes) makes us send the request again with that N(COOKIE) first
// and the same SPIi, nonce and KE (at most `max_cookie_rounds` times); INVALID_KE_PAYLOAD
// after it keeps the cookie (§2.6.1). The new request is what AUTH signs and what is
// retransmitted.
//
// CREATE_CHILD_SA (RFC 7296 §1.3, §2.8, §2.17, §2.18; DESIGN.md §6.6):
// - Child SA rekey, both roles: N(REKEY_SA) naming the old SA, SA with the new SPI, Ni, KEi
//   when the entry has `set pfs groupN`, TSi/TSr as the old Child SA's. The new pair is
//   reported (ChildUp) before the old one goes (ChildDown); the rekey initiator deletes the old
//   pair with an INFORMATIONAL Delete. A collision (both sides rekey one Child SA): the
//   exchange holding the lowest of the four nonces made the redundant pair, which its
//   initiator deletes.
// - IKE SA rekey, both roles: the same session object takes the new SPIs and keys
//   (SKEYSEED = prf_old(SK_d old, g^ir | Ni | Nr)), message IDs restart at 0, the Child SAs and
//   the liveness timeline stay; the old SA is kept (OldIkeSa, bounded in time) only to take or
//   send its Delete (it answers other INFORMATIONAL requests empty, and a CREATE_CHILD_SA
//   request with TEMPORARY_FAILURE). The I flag follows the rekey initiator. A peer's IKE
//   rekey that arrives while another request of ours (not an IKE rekey) is outstanding, or
//   while a replaced SA is still being deleted, is answered TEMPORARY_FAILURE.
// - IKE SA collision (both sides rekey it at once): both requests are answered, so two new
//   SAs exist; the one whose exchange holds the lowest of the four nonces is redundant and its
//   initiator deletes it, the other initiator deletes the old SA. We decide when our own
//   response arrives (PeerIkeRekey holds the peer's new SA until then).
// - A request that is not a rekey (an additional Child SA) is accepted for the first crypto
//   map entry of this IKE SA's profile that lists the peer and whose ACL (narrowed as in
//   IKE_AUTH) and transform sets (and PFS) accept it; otherwise TS_UNACCEPTABLE when no
//   entry's selectors fit, the first fitting entry's refusal, or NO_ADDITIONAL_SAS when the
//   profile has no other entry for the peer. AddChild sends such a request for an entry:
//   the core does so for a second entry to the peer with the same profile (DESIGN.md §6.6).
// - Lifetimes: the side that initiated the IKE SA for its crypto map entry rekeys it at the
//   profile's `lifetime` minus NodeOptions::isakmp_rekey_margin (9/10 of a short lifetime),
//   as IKEv1 re-establishes phase 1; the same side rekeys each Child SA at its lifetime minus
//   ipsec_rekey_margin. Both sides delete at the hard lifetime.
//
// Not yet:
// IKEv2 fragmentation, certificates, IPv6 selectors.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/clone_ptr.h"
#include "common/endpoint.h"
#include "common/time.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "crypto/ikev2_keys.h"
#include "ike/algorithms.h"
#include "ike/dpd_monitor.h"
#include "ike/ikev2_snapshot.h"
#include "ike/node.h"
#include "ike/session.h"
#include "ikev2/header.h"
#include "ikev2/payloads.h"

namespace ikepulse::ike {

struct Ikev2Options {
  uint16_t natt_port = 4500;
  // Requests other than the liveness probe: 1, 2, 4, 8 s gaps (sent at 0, 1, 3, 7, 15 s),
  // given up at 23 s.
  RetransmitPolicy retransmit{Seconds(1), Seconds(8), 4, 0};
  // A responder whose IKE_AUTH request does not come ends after this long.
  Duration half_open_lifetime = Seconds(30);
  // INVALID_KE_PAYLOAD answers the initiator follows before it gives up.
  int max_invalid_ke = 2;
  // Tests only (ikepulse never sets it): the initiator's IKE_AUTH request carries
  // INITIAL_CONTACT, as Libreswan's with `initial-contact=yes` and strongSwan's do.
  bool send_initial_contact = false;
  // N(COOKIE) answers the initiator follows (RFC 7296 §2.6) before it gives up.
  int max_cookie_rounds = 3;
  // How long our answer to the peer's last request is kept for its retransmissions at most
  // (longer than a peer's whole retransmission schedule: strongSwan's default gives up after
  // about 165 s). The IKE_AUTH answer goes earlier, with the peer's first authenticated
  // message after it.
  Duration response_cache_lifetime = Seconds(180);
};

// The keys an IKE SA keeps for its life, SK_d | SK_ai | SK_ar | SK_ei | SK_er, in one block
// sized by the suite (one allocation instead of five, 32 bytes of header instead of 5 x 24),
// wiped when replaced or freed (SecretBytes). SK_pi and SK_pr are not in it: only the setup
// needs them (Ikev2Session::Negotiation).
class Ikev2KeyBlock {
 public:
  Ikev2KeyBlock() = default;
  explicit Ikev2KeyBlock(const crypto::IkeSaKeys& k);
  Ikev2KeyBlock(const Ikev2KeyBlock& o) { CopyFrom(o); }
  Ikev2KeyBlock& operator=(const Ikev2KeyBlock& o) {
    if (this != &o) {
      Free();
      CopyFrom(o);
    }
    return *this;
  }
  Ikev2KeyBlock(Ikev2KeyBlock&& o) noexcept
      : p_(std::move(o.p_)), d_(o.d_), a_(o.a_), e_(o.e_) {
    o.d_ = o.a_ = o.e_ = 0;
  }
  Ikev2KeyBlock& operator=(Ikev2KeyBlock&& o) noexcept {
    if (this == &o) return *this;
    Free();  // ours is wiped
    p_ = std::move(o.p_);
    d_ = o.d_;
    a_ = o.a_;
    e_ = o.e_;
    o.d_ = o.a_ = o.e_ = 0;
    return *this;
  }
  ~Ikev2KeyBlock() { Free(); }
  ByteSpan sk_d() const { return Part(0, d_); }
  ByteSpan sk_ai() const { return Part(d_, a_); }
  ByteSpan sk_ar() const { return Part(d_ + a_, a_); }
  ByteSpan sk_ei() const { return Part(d_ + 2 * a_, e_); }
  ByteSpan sk_er() const { return Part(d_ + 2 * a_ + e_, e_); }
  // The keys of the messages the initiator (sender_is_initiator) or the responder sends.
  crypto::SkKeys For(const crypto::IkeSuite& s, bool sender_is_initiator) const;

 private:
  size_t size() const { return size_t(d_) + 2 * size_t(a_) + 2 * size_t(e_); }
  ByteSpan Part(size_t at, size_t n) const { return p_ ? ByteSpan(p_.get() + at, n) : ByteSpan(); }
  void CopyFrom(const Ikev2KeyBlock& o);
  void Free();

  std::unique_ptr<uint8_t[]> p_;   // SK_d | SK_ai | SK_ar | SK_ei | SK_er
  uint8_t d_ = 0, a_ = 0, e_ = 0;  // lengths (PRF output <= 64, integrity key <= 64, key <= 36)
};

// An IPv4 address in 4 bytes (host order), for the Child SA selectors, which are IPv4 only
// (v2::Range, ikev2_proposals.h); converts to and from IpAddress.
struct Ikev2V4 {
  uint32_t v = 0;
  Ikev2V4() = default;
  Ikev2V4(const IpAddress& a) : v(a.V4ToU32()) {}  // NOLINT(google-explicit-constructor)
  operator IpAddress() const { return IpAddress::V4FromU32(v); }  // NOLINT
};

// A vector that holds no block while empty, and is one pointer wide (8 bytes instead of
// std::vector's 24): for the state only a rekey makes (Ikev2Session's old IKE SAs, rekey
// records, pending deletes), which an SA lives most of its life without. The storage goes
// when the last element does. The part of std::vector's interface the session uses.
template <class T>
class LazyVector {
 public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;
  iterator begin() { return v().begin(); }
  iterator end() { return v().end(); }
  const_iterator begin() const { return v().begin(); }
  const_iterator end() const { return v().end(); }
  bool empty() const { return !p_ || p_->empty(); }
  size_t size() const { return p_ ? p_->size() : 0; }
  T& operator[](size_t i) { return (*p_)[i]; }
  T& front() { return p_->front(); }
  T& back() { return p_->back(); }
  void push_back(T x) {
    if (!p_) p_ = std::make_unique<std::vector<T>>();
    p_->push_back(std::move(x));
  }
  iterator erase(const_iterator it) { return erase(it, it + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    if (!p_) return end();
    iterator r = p_->erase(first, last);
    if (!p_->empty()) return r;
    p_.reset();
    return end();
  }
  void clear() { p_.reset(); }

 private:
  std::vector<T>& v() const {
    static std::vector<T> none;  // never written: only its empty range is used
    return p_ ? *p_ : none;
  }
  ClonePtr<std::vector<T>> p_;
};

class Ikev2Session final : public Session {
 public:
  enum class State : uint8_t {
    kIdle,          // constructed, not started
    kInitSent,      // initiator: IKE_SA_INIT request outstanding
    kAuthSent,      // initiator: IKE_AUTH request outstanding
    kInitAnswered,  // responder: IKE_SA_INIT answered, waiting for IKE_AUTH
    kEstablished,
    kEnded,         // Deleted reported; every input is dropped
  };

  // Child SAs one IKE SA holds at most (a rekey's new pair may exceed it for the moment the old
  // one takes to go): a peer's request for one more is answered NO_ADDITIONAL_SAS, and we ask
  // for none. An authenticated peer cannot grow the SA's state without bound.
  static constexpr size_t kMaxChildSas = 64;

  explicit Ikev2Session(SaId id, Ikev2Options opts = {});
  // The same options shared by every session of a node (NodeImpl::V2Options): one pointer
  // per session instead of a copy.
  Ikev2Session(SaId id, std::shared_ptr<const Ikev2Options> opts);
  ~Ikev2Session() override;

  // The responder side for an IKE_SA_INIT request (see the file comment).
  static std::unique_ptr<Ikev2Session> Respond(SessionHost& host, const Endpoint& local,
                                               const Endpoint& remote,
                                               ByteSpan ike_sa_init_request, SaId id,
                                               Ikev2Options opts = {});
  static std::unique_ptr<Ikev2Session> Respond(SessionHost& host, const Endpoint& local,
                                               const Endpoint& remote,
                                               ByteSpan ike_sa_init_request, SaId id,
                                               std::shared_ptr<const Ikev2Options> opts);

  // Session.
  std::unique_ptr<Session> Clone() const override;
  uint8_t version() const override { return 2; }
  bool established() const override { return state_ == State::kEstablished; }
  const Endpoint& local() const override { return local_; }
  const Endpoint& remote() const override { return remote_; }
  void Initiate(SessionHost& host, const config::CryptoMapEntry& entry, const Endpoint& local,
                const Endpoint& remote) override;
  void OnMessage(SessionHost& host, const Endpoint& local, const Endpoint& remote,
                 ByteSpan msg) override;
  void OnTimeout(SessionHost& host) override;
  TimePoint NextDeadline() const override;
  // Another entry's Child SA over this IKE SA (CREATE_CHILD_SA); nothing when a request of
  // ours is outstanding (the core queues the entry and asks again when CanStartChild()).
  void AddChild(SessionHost& host, const config::CryptoMapEntry& entry) override;
  bool ChildInFlight(const SessionHost& host, EntryRef entry) const override;
  // An IPsec SA for crypto map entry (map, seq) is up over this IKE SA (not one being
  // replaced), or is being negotiated: by the IKE_AUTH this initiator sends for it, or by a
  // CREATE_CHILD_SA of ours.
  bool CarriesEntry(std::string_view map, uint32_t seq) const;
  // The data plane's kilobyte lifetime signal for the Child SA with our inbound SPI `spi_in`
  // (either side; `set security-association lifetime kilobytes`): soft rekeys it (now, or when
  // the exchange in flight is done); hard ends it (Delete) unless its rekey is in flight, and
  // returns its entry's (map name, seq) so that a kept-up entry comes back at once.
  std::optional<std::pair<std::string, uint32_t>> OnChildVolume(SessionHost& host,
                                                                uint32_t spi_in, bool hard);
  // `clear crypto sa [map NAME]`: ends this SA's Child SAs (those of map `map` when given)
  // with Deletes, one exchange at a time; the IKE SA stays. Returns how many.
  size_t ClearChildren(SessionHost& host, const std::string* map);
  // A CREATE_CHILD_SA of ours for a new Child SA can start now.
  bool CanStartChild() const {
    return state_ == State::kEstablished && !out_ && children_.size() < kMaxChildSas;
  }
  // The IKEv2 profile (initiator: its entry's; responder: the one IKE_AUTH matched).
  std::string_view profile_name() const {
    const size_t at = names_.find('\0');
    return at == std::string::npos ? std::string_view() : std::string_view(names_).substr(at + 1);
  }
  void OnChildTraffic(SessionHost& host, uint32_t spi_in, bool inbound,
                      uint64_t bytes) override;
  void Delete(SessionHost& host, std::string_view reason, bool send) override;
  IsakmpSaSnapshot Snapshot(TimePoint now) const override;
  std::vector<ChildSaSnapshot> Children(TimePoint now, SnapshotKeys keys) const override;
  // `show crypto ikev2 sa [detailed]` (ikev2_snapshot.h).
  Ikev2SaSnapshot Ikev2Snapshot(TimePoint now) const;

  // Deletes the Child SA with our inbound SPI `spi_in` (INFORMATIONAL with a Delete; ChildDown
  // when the peer answers). False if there is no such Child SA or a request is outstanding.
  bool DeleteChild(SessionHost& host, uint32_t spi_in);
  // The data plane holds the keys of the Child SA with our inbound SPI `spi_in`: the session
  // wipes its copy (Node::HandOverChildKeys); snapshots then carry keys_handed_over, no keys.
  void HandOverChildKeys(uint32_t spi_in);

  // Read-only state (tests, the core's routing).
  SaId id() const { return id_; }
  State state() const { return state_; }
  bool initiator() const { return initiator_; }
  const ikev2::Spi& spi_i() const { return spi_i_; }
  const ikev2::Spi& spi_r() const { return spi_r_; }
  // After an IKE rekey, until their Deletes are done: the initiator SPIs of the replaced IKE
  // SAs (the core indexes them too). At most two: the old SA and, after a collision, the
  // redundant new one.
  std::vector<ikev2::Spi> old_spis_i() const {
    std::vector<ikev2::Spi> v;
    for (const auto& o : old_ike_) v.push_back(o.spi_i);
    return v;
  }
  // Whether a message with these SPIs is this session's (the current or a replaced IKE SA).
  bool Owns(const ikev2::Spi& spi_i, const ikev2::Spi& spi_r) const {
    if (spi_i == spi_i_ && spi_r == spi_r_) return true;
    for (const auto& o : old_ike_)
      if (spi_i == o.spi_i && spi_r == o.spi_r) return true;
    return false;
  }
  uint32_t ike_rekeys() const { return ike_rekeys_; }
  // Starts a rekey now (tests); false if one cannot start now (a request of ours outstanding,
  // no such Child SA, an IKE rekey's replaced SA still being deleted).
  bool RekeyChild(SessionHost& host, uint32_t spi_in);
  bool RekeyIke(SessionHost& host);
  bool nat_detected() const { return nat_detected_; }
  bool floated() const { return local_.port == opts_->natt_port; }
  uint16_t dh_group() const { return group_; }
  const crypto::IkeSuite& suite() const { return suite_; }
  uint32_t next_request_id() const { return next_mid_; }
  uint32_t next_peer_request_id() const { return peer_next_mid_; }
  bool request_outstanding() const { return static_cast<bool>(out_); }
  const std::optional<DpdMonitor>& dpd() const { return dpd_; }
  // Whether the IKE_SA_INIT material (DH, nonces, the two messages) is still held.
  bool holds_negotiation_state() const { return static_cast<bool>(neg_); }

 private:
  enum class ReqKind : uint8_t {
    kInit, kAuth, kLiveness, kDeleteChild, kRekeyChild, kNewChild, kRekeyIke, kDeleteOldIke };

  // Our CREATE_CHILD_SA request's own material (kRekeyChild, kRekeyIke).
  struct RekeyExchange {
    ClonePtr<crypto::DhKeyPair> dh;
    Bytes ni;
    uint32_t old_spi_in = 0;   // Child rekey: the pair being replaced
    uint32_t new_spi_in = 0;   // Child rekey: our inbound SPI of the new pair
    ikev2::Spi new_spi{};      // IKE rekey: our SPI of the new IKE SA
    ikev2::SaPayload offered;
    std::string map_name;  // new Child SA: its crypto map entry and the selectors asked for
    uint32_t map_seq = 0;
    ikev2::TrafficSelector ts_i, ts_r;
    ~RekeyExchange();
    RekeyExchange() = default;
    RekeyExchange(const RekeyExchange&) = default;
  };

  // What only the setup needs; freed once the SA is established or has failed.
  struct Negotiation {
    ClonePtr<crypto::DhKeyPair> dh;
    Bytes ni, nr;
    SecretBytes sk_pi, sk_pr;  // for AUTH (MACedIDForI / MACedIDForR)
    Bytes init_request;   // the IKE_SA_INIT request as last sent / received
    Bytes init_response;  // the IKE_SA_INIT response as sent / received
    ikev2::SaPayload offered;  // initiator: our IKE proposals
    int invalid_ke = 0;
    // Initiator: the responder's cookie, sent first in every IKE_SA_INIT request from then on
    // (also after INVALID_KE_PAYLOAD, §2.6.1), and how many cookies were followed.
    Bytes cookie;
    int cookie_rounds = 0;
    TimePoint expires = kNever;  // responder: IKE_AUTH must come before
    // Initiator: the Child SA requested in IKE_AUTH.
    uint32_t child_spi_in = 0;
    ikev2::TrafficSelector ts_i, ts_r;
    ~Negotiation();
    Negotiation() = default;
    Negotiation(const Negotiation&) = default;
  };

  struct Outstanding {
    ReqKind kind = ReqKind::kInit;
    uint32_t mid = 0;
    Bytes wire;            // as sent (without the non-ESP marker)
    int next = 1;          // the next retransmission's number (RetransmitPolicy)
    TimePoint due = kNever;       // nominal instant of event `next`
    TimePoint send_at = kNever;   // due minus jitter; kNever: DPD-driven (liveness)
    uint32_t child_spi_in = 0;    // kDeleteChild
    ClonePtr<RekeyExchange> rekey;  // kRekeyChild, kRekeyIke
  };

  // The IKE SA an IKE rekey replaced, kept until its Delete is answered (or sent and
  // answered), at most until `expires`.
  struct OldIkeSa {
    ikev2::Spi spi_i{}, spi_r{};
    crypto::IkeSuite suite;
    Ikev2KeyBlock keys;
    bool initiator = false;
    uint32_t next_mid = 0, peer_next_mid = 0;
    Bytes last_response, last_request_digest;
    std::optional<Outstanding> out;  // our Delete (we initiated the rekey)
    TimePoint expires = kNever;
  };

  // The new IKE SA a peer's rekey made while our own IKE rekey was outstanding (a collision).
  struct PeerIkeRekey {
    ikev2::Spi spi_i{}, spi_r{};
    crypto::IkeSuite suite;
    uint16_t group = 0;
    crypto::IkeSaKeys keys;
    Bytes ni, nr;
  };

  // A Child SA rekey exchange that completed (ours or the peer's): what a collision needs.
  struct RekeyRecord {
    uint32_t old_spi_in = 0, new_spi_in = 0;
    Bytes ni, nr;
    bool ours = false;
  };

  // A Child SA's IPsec keys, in their own block: released once the data plane holds them
  // (HandOverChildKeys), wiped when freed.
  struct ChildKeys {
    SecretBytes enc_in, auth_in, enc_out, auth_out;
  };
  // `we_initiated`: the exchange that made the pair was ours (our outbound keys are _i).
  static ClonePtr<ChildKeys> KeysOf(crypto::ChildSaKeys& k, bool we_initiated);

  struct Child {
    uint32_t spi_in = 0, spi_out = 0;
    Phase2Algs algs;
    ClonePtr<ChildKeys> keys;  // null once handed over (or wiped at the end)
    ClonePtr<std::string> map_name;  // null: the IKE SA's own (names_), the usual case
    uint32_t map_seq = 0;
    Ikev2V4 local_net, local_mask, remote_net, remote_mask;
    uint8_t protocol = 0;
    TimePoint created, expires = kNever;
    TimePoint last_in = kNever, last_out = kNever;
    uint64_t pkts_in = 0, pkts_out = 0, bytes_in = 0, bytes_out = 0;  // `show crypto ipsec sa`
    TimePoint rekey_at = kNever;  // the side that keeps the IKE SA up for its entry
    bool rekeying = false;        // our rekey of this pair is in flight
    bool replaced = false;        // a new pair replaced it: it goes (Delete) or is going
    bool keys_handed_over = false;
  };

  Ikev2Session(const Ikev2Session&) = default;

  // Setup.
  // A fresh DH key pair unless `keep_dh` (a COOKIE answer: the same SPIi, nonce and KE).
  bool BuildAndSendInit(SessionHost& host, bool keep_dh = false);
  // The responder asked for a cookie: true if the response was one (handled or dropped).
  bool OnCookieResponse(SessionHost& host, const ikev2::Header& h,
                        const std::vector<ikev2::Payload>& payloads);
  void OnInitResponse(SessionHost& host, const ikev2::Header& h,
                      const std::vector<ikev2::Payload>& payloads, ByteSpan msg);
  bool SendAuth(SessionHost& host);
  void OnAuthResponse(SessionHost& host, const std::vector<ikev2::Payload>& inner);
  void OnAuthRequest(SessionHost& host, const std::vector<ikev2::Payload>& inner,
                     const Endpoint& local, const Endpoint& remote, ByteSpan msg_digest_src);
  void BecomeEstablished(SessionHost& host);

  // CREATE_CHILD_SA and lifetimes.
  void OnCreateChildRequest(SessionHost& host, const std::vector<ikev2::Payload>& inner,
                            ByteSpan msg);
  void AnswerChildRekey(SessionHost& host, const std::vector<ikev2::Payload>& inner,
                        const ikev2::NotifyPayload& rekey_sa, ByteSpan msg);
  void AnswerNewChild(SessionHost& host, const std::vector<ikev2::Payload>& inner,
                      ByteSpan msg);
  void AnswerIkeRekey(SessionHost& host, const std::vector<ikev2::Payload>& inner,
                      ByteSpan msg);
  struct ChildRefusal {
    ikev2::NotifyType type = ikev2::NotifyType::kNoProposalChosen;
    Bytes data;
    const char* why = "";
  };
  bool BuildChildAnswer(SessionHost& host, const config::CryptoMapEntry& entry,
                        const std::vector<ikev2::Payload>& inner, bool udp_encap, Child& ch,
                        std::vector<ikev2::Payload>& reply, ChildRefusal& err);
  void RefuseChild(SessionHost& host, const ChildRefusal& r, ByteSpan msg);
  bool InstallAnsweredChild(SessionHost& host, Child ch,
                            const std::vector<ikev2::Payload>& reply, ByteSpan msg);
  void OnRekeyChildResponse(SessionHost& host, Outstanding o,
                            const std::vector<ikev2::Payload>& inner);
  void OnRekeyIkeResponse(SessionHost& host, Outstanding o,
                          const std::vector<ikev2::Payload>& inner);
  // Makes the new IKE SA current (the old one becomes old_ike_).
  void SwitchIkeSa(SessionHost& host, bool we_initiated, const ikev2::Spi& spi_i,
                   const ikev2::Spi& spi_r, const crypto::IkeSuite& suite, uint16_t group,
                   crypto::IkeSaKeys keys);
  void OnOldIkeMessage(SessionHost& host, OldIkeSa& o, const ikev2::Header& h,
                       const std::vector<ikev2::Payload>& outer, ByteSpan msg);
  // Keeps a replaced IKE SA until its Delete is done; `send_delete`: we delete it.
  void Retire(SessionHost& host, OldIkeSa o, bool send_delete);
  // A Child SA rekey completed: a collision with the other side's is resolved here.
  void RecordRekey(SessionHost& host, RekeyRecord r);
  void SetChildTimers(SessionHost& host, Child& ch) const;
  // names_.
  std::string map_name() const { return names_.substr(0, names_.find('\0')); }
  std::string profile() const {
    const size_t at = names_.find('\0');
    return at == std::string::npos ? std::string() : names_.substr(at + 1);
  }
  void SetNames(const std::string& map, const std::string& profile) {
    names_ = map;
    names_.push_back('\0');
    names_ += profile;
  }
  // A Child SA's crypto map name (Child::map_name).
  std::string MapOf(const Child& ch) const { return ch.map_name ? *ch.map_name : map_name(); }
  void SetMap(Child& ch, const std::string& map) const {
    if (map == map_name()) ch.map_name = nullptr;
    else ch.map_name = std::make_unique<std::string>(map);
  }
  bool StartNewChild(SessionHost& host, const config::CryptoMapEntry& e);
  void SetIkeTimers(SessionHost& host);
  void RekeyFailed(SessionHost& host, const Outstanding& o, bool temporary);
  // Queued work that waits for our request window (deletes, rekeys due): started when free.
  void StartPending(SessionHost& host);
  void ChildGone(SessionHost& host, uint32_t spi_in);

  // Exchanges after setup.
  void OnInformationalRequest(SessionHost& host, const std::vector<ikev2::Payload>& inner,
                              ByteSpan msg);
  void OnInformationalResponse(SessionHost& host, const std::vector<ikev2::Payload>& inner);

  // Messages.
  void HandleRequest(SessionHost& host, const ikev2::Header& h,
                     const std::vector<ikev2::Payload>& outer, const Endpoint& local,
                     const Endpoint& remote, ByteSpan msg);
  void HandleResponse(SessionHost& host, const ikev2::Header& h,
                      const std::vector<ikev2::Payload>& outer, ByteSpan msg);
  // Checks and decrypts the SK payload of a message from the peer.
  std::optional<std::vector<ikev2::Payload>> Open(SessionHost& host,
                                                  const std::vector<ikev2::Payload>& outer,
                                                  ByteSpan msg);
  // An encrypted message from us.
  std::optional<Bytes> Seal(SessionHost& host, ikev2::ExchangeType x, bool response,
                            uint32_t mid, const std::vector<ikev2::Payload>& inner);
  // The same with another IKE SA's SPIs and keys (the old one after a rekey).
  std::optional<Bytes> SealAs(SessionHost& host, const ikev2::Spi& spi_i,
                              const ikev2::Spi& spi_r, bool initiator,
                              const crypto::IkeSuite& suite, const Ikev2KeyBlock& keys,
                              ikev2::ExchangeType x, bool response, uint32_t mid,
                              const std::vector<ikev2::Payload>& inner);
  std::optional<std::vector<ikev2::Payload>> OpenAs(SessionHost& host,
                                                    const crypto::IkeSuite& suite,
                                                    const Ikev2KeyBlock& keys,
                                                    bool peer_initiator,
                                                    const std::vector<ikev2::Payload>& outer,
                                                    ByteSpan msg);
  ikev2::Header MakeHeader(ikev2::ExchangeType x, bool response, uint32_t mid) const;
  void SendWire(SessionHost& host, const Bytes& wire);
  void SendRequest(SessionHost& host, ReqKind kind, Bytes wire, uint32_t child_spi_in = 0);
  // Sends our response to the peer's current request and caches it for retransmissions (see
  // cached_). `empty_informational`: the response is an empty INFORMATIONAL answer, which is
  // not kept but sealed again for a retransmitted request.
  void SendResponse(SessionHost& host, Bytes wire, ByteSpan request,
                    bool empty_informational = false);
  // Forgets the answer to the peer's last request (bytes wiped, digest cleared): a copy of
  // that request is a replay from then on.
  void ForgetResponse();
  void Retransmit(SessionHost& host);
  void DpdTick(SessionHost& host);

  // Endings.
  void Fail(SessionHost& host, std::string_view reason);      // before established: GaveUp
  void PeerGone(SessionHost& host, std::string_view reason);  // after: PeerDead
  void End(SessionHost& host, std::string_view reason);       // children down, Deleted
  void WipeKeys();

  std::string Tag() const;  // "IKEv2:(SA ID = n):" for debug lines
  void Dbg(SessionHost& host, std::string_view text) const;

  // Our answer to the peer's last request (RFC 7296 §2.1), for its retransmissions: a
  // byte-identical copy of that request (SHA-1 of it in last_request_digest_) gets it again.
  // kCached: the bytes are in cached_, until cached_->until, or, for the IKE_AUTH answer, the
  // peer's first authenticated message after it (an initiator installs its IKE SA only with
  // that answer, so the peer has it). kEmptyInformational: an empty INFORMATIONAL answer (a
  // liveness probe's), not kept, sealed again for a retransmission. kNone: nothing is
  // answered again (a copy of the last request is dropped as a replay).
  enum class Answer : uint8_t { kNone, kCached, kEmptyInformational };
  struct CachedResponse {
    Bytes wire;  // as sent, without the non-ESP marker
    TimePoint until = kNever;
    bool until_heard = false;  // the IKE_AUTH answer: freed by the peer's next message
    ~CachedResponse() { WipeAndFree(wire); }
    CachedResponse() = default;
    CachedResponse(const CachedResponse&) = default;
  };

  // Members in order of alignment (no padding between them: this object exists per SA).
  SaId id_;
  std::shared_ptr<const Ikev2Options> opts_;  // never null; shared, never changed
  Ikev2KeyBlock keys_;
  // The crypto map entry's map name (initiator: given; responder: matched) and the IKEv2
  // profile's name, as "map\0profile" in one std::string: 32 bytes instead of 64, and no block
  // of its own while both names fit the string's inline buffer (15 characters in all).
  std::string names_;
  TimePoint established_at_ = kNever;
  ClonePtr<Negotiation> neg_;
  ClonePtr<Outstanding> out_;  // only while a request of ours is out
  ClonePtr<CachedResponse> cached_;  // only while answer_ is kCached
  std::optional<DpdMonitor> dpd_;
  std::vector<Child> children_;

  // Rekeying and lifetimes.
  TimePoint ike_rekey_at_ = kNever, ike_expires_ = kNever;
  LazyVector<OldIkeSa> old_ike_;  // at most 2
  ClonePtr<PeerIkeRekey> peer_ike_rekey_;
  LazyVector<RekeyRecord> rekey_log_;    // bounded (kMaxRekeyLog)
  LazyVector<uint32_t> pending_deletes_;  // Child SAs (our inbound SPIs) to delete

  uint32_t map_seq_ = 0;
  uint32_t lifetime_s_ = config::kDefaultIkev2LifetimeS;
  uint32_t next_mid_ = 0;       // our next request's message ID
  uint32_t peer_next_mid_ = 0;  // the message ID the peer's next request must carry
  uint32_t ike_rekeys_ = 0;
  Endpoint local_, remote_;
  ikev2::Spi spi_i_{}, spi_r_{};
  std::array<uint8_t, 20> last_request_digest_{};
  uint16_t group_ = 0;
  crypto::IkeSuite suite_;
  State state_ = State::kIdle;
  Answer answer_ = Answer::kNone;
  bool initiator_ = false;
  bool nat_detected_ = false;
  bool keeps_up_ = false;  // we initiated the IKE SA for our entry: we rekey on lifetimes
};

}  // namespace ikepulse::ike
