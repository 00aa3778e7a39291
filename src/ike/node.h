// ike::Node: the whole keying daemon minus I/O. It is fed datagrams, data-plane signals and
// `now`; it never reads a clock or touches a socket. Output goes to an Outbox. The daemon is
// Node + UDP sockets + epoll + a real clock; the simulator is N x Node + virtual links + a
// virtual clock.
//
// Contract for hosts: after every call, re-read NextDeadline() and call OnTimeout(now) when
// now >= NextDeadline(). Calls are single-threaded. `rng` is not owned and must outlive the
// Node.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "ike/ikev2_snapshot.h"
#include "ike/outbox.h"

namespace ikepulse::ike {

// Exchange retransmission policy. Nominal schedule: gap k (k >= 1) is
//   g(k) = min(initial * 2^(k-1), max_interval),
// retransmission k is due g(1) + ... + g(k) after the first send, and after `tries`
// retransmissions without an answer the exchange gives up at g(1) + ... + g(tries + 1). With
// the defaults: sends at 0, 1, 3, 7, 15 s, give-up at 23 s.
// Jitter: retransmission k goes out up to jitter_percent % of g(k) before it is due (uniform,
// from the Node's Random), so SAs that fail together do not retransmit in lockstep; the next
// gap still counts from the due instant, so the give-up instant is exact (never jittered).
struct RetransmitPolicy {
  Duration initial = Seconds(1);
  Duration max_interval = Seconds(8);
  int tries = 4;
  int jitter_percent = 10;  // 0..50; 0 = the exact nominal schedule
};
// g(k) above.
Duration RetransmitGap(const RetransmitPolicy& p, int k);
// How much earlier than due retransmission k goes out: uniform in
// [0, g(k) * jitter_percent / 100] (microseconds); 0 for the give-up (k > tries).
Duration RetransmitJitter(const RetransmitPolicy& p, int k, Random& rng);

struct NodeOptions {
  uint16_t ike_port = 500;
  uint16_t natt_port = 4500;
  RetransmitPolicy retransmit;
  // A Main Mode responder's last reply (MM4; MM2 lives in the half-open table with the same
  // schedule) when the initiator's next message does not come: IOS's schedule, the reply
  // again every 10 s, 5 times, and the exchange given up 60 s after the first reply. Fixed
  // gaps, no jitter: responders answer peers whose own timing already spreads them. (QM2 is
  // resent on `retransmit`: see quick_mode.cc.)
  RetransmitPolicy responder_retransmit{Seconds(10), Seconds(10), 5, 0};
  // Rekey margins: IPsec SAs are rekeyed this long before their lifetime ends; the ISAKMP SA
  // is re-established this long before its own.
  Duration ipsec_rekey_margin = Seconds(30);
  Duration isakmp_rekey_margin = Seconds(60);
};

// Counters (monotonic) for `show` and tests.
struct NodeCounters {
  uint64_t rx_datagrams = 0;
  uint64_t tx_datagrams = 0;
  uint64_t dropped = 0;              // all drops
  uint64_t dropped_malformed = 0;    // parse errors
  uint64_t dropped_unknown_sa = 0;   // no SA for the cookies
  uint64_t dropped_auth = 0;         // bad HASH / decryption
  uint64_t dropped_state = 0;        // out of state / unexpected exchange
  uint64_t dropped_rate_limited = 0; // DPD duplicate flood
  uint64_t dropped_replay = 0;       // authenticated but old: a replayed M-ID or DPD seq
  uint64_t retransmits = 0;
  uint64_t duplicates_answered = 0;
  uint64_t dpd_sent = 0;
  uint64_t dpd_acks_received = 0;
  uint64_t dpd_acks_sent = 0;
  uint64_t dpd_retries = 0;  // R-U-THEREs resent in a round (dpd_sent includes them)
  uint64_t peers_dead = 0;
  uint64_t failovers = 0;    // crypto map entries moved to their next `set peer`
  // MM1 whose proposals match no policy: unauthenticated NO_PROPOSAL_CHOSEN sent, or not sent
  // because of the rate limit.
  uint64_t no_proposal_sent = 0;
  uint64_t no_proposal_suppressed = 0;
  // IKEv2 COOKIE (RFC 7296 §2.6): stateless N(COOKIE) answers sent; IKE_SA_INIT requests whose
  // cookie verified / did not (those got a fresh cookie while cookies were demanded).
  uint64_t ikev2_cookies_sent = 0;
  uint64_t ikev2_cookies_valid = 0;
  uint64_t ikev2_cookies_invalid = 0;
  // IKEv2 half-open responders ended to admit a request with a valid cookie at the bound.
  uint64_t ikev2_half_open_evicted = 0;
};

// `show crypto call admission statistics`: Main Mode responder negotiations before MM3
// (half-open; see ike/half_open.h) and their limit.
struct CallAdmissionSnapshot {
  uint64_t limit = 0;               // in-negotiation-sa limit in force
  bool limit_configured = false;    // false: the built-in default
  uint64_t half_open = 0;           // responder negotiations waiting for MM3 now
  uint64_t half_open_peak = 0;
  uint64_t ike_sas = 0;             // ISAKMP SAs (every state)
  uint64_t ike_sas_active = 0;      // established
  uint64_t ike_sas_negotiating = 0; // past MM3 (responder) or initiated, not established
  uint64_t accepted = 0, evicted_total = 0, evicted_source = 0, expired = 0, promoted = 0,
           rejected = 0;
  uint64_t mm2_resent = 0, mm2_resends_suppressed = 0;  // half-open MM2 resends (and over budget)
  // IKEv2 responders not yet established, and their own bound (`crypto ikev2 limit
  // max-in-negotation-sa`, default 1000) and cookie threshold (`crypto ikev2
  // cookie-challenge`, default: the bound).
  uint64_t ikev2_half_open = 0;
  uint64_t ikev2_limit = 0;
  bool ikev2_limit_configured = false;
  uint64_t ikev2_cookie_threshold = 0;
  bool ikev2_cookie_configured = false;
  uint64_t ikev2_cookies_sent = 0, ikev2_cookies_valid = 0, ikev2_cookies_invalid = 0,
           ikev2_evicted = 0;
};

// A read-only view of one ISAKMP SA for `show crypto isakmp sa [detail]`.
struct IsakmpSaSnapshot {
  SaId conn_id = kNoSa;
  Endpoint local;
  Endpoint remote;
  std::string state;  // IOS names: MM_NO_STATE, MM_SA_SETUP, MM_KEY_EXCH, QM_IDLE, MM_NO_STATE
  bool initiator = false;
  bool established = false;
  std::string encryption, hash, auth;  // "aes", "sha", "psk"
  uint16_t group = 0;
  int64_t lifetime_left_s = 0;
  bool peer_supports_dpd = false;
  bool nat_t = false;
  // DPD state
  bool dpd_enabled = false;  // `crypto isakmp keepalive` configured for this SA
  bool dpd_active = false;   // DPD runs on this SA (established, peer announced DPD, not dead)
  bool dpd_periodic = false;
  uint32_t dpd_interval_s = 0;
  uint32_t dpd_retry_s = 0;
  int64_t dpd_last_heard_ms_ago = -1;
  bool dpd_probing = false;
  uint32_t dpd_outstanding = 0;
  uint32_t dpd_next_seq = 0;
  uint32_t dpd_peer_last_seq = 0;
};

// One IPsec SA pair (inbound + outbound), for `show crypto ipsec sa` and the data plane. The
// keys are filled in only when asked for (SnapshotKeys::kInclude: the data plane's install
// path); every other snapshot (show, tests) leaves them empty. Keys are secrets: never logged.
// Once the data plane has installed a pair and said so (Node::HandOverChildKeys), the engine
// keeps no copy: its snapshots then carry keys_handed_over and no keys, even with kInclude.
enum class SnapshotKeys : uint8_t { kOmit, kInclude };
struct ChildSaSnapshot {
  SaId ike_sa = kNoSa;
  std::string map_name;
  uint32_t map_seq = 0;
  Endpoint local;
  Endpoint remote;
  bool udp_encap = false;
  uint32_t spi_in = 0;
  uint32_t spi_out = 0;
  config::EspCipher cipher = config::EspCipher::kNone;
  config::EspAuth auth = config::EspAuth::kNone;
  SecretBytes enc_key_in, auth_key_in, enc_key_out, auth_key_out;  // empty unless kInclude
  bool keys_handed_over = false;  // the data plane holds the keys; the engine wiped its copy
  // proxy identities (local/remote protected networks)
  IpAddress local_net, local_mask, remote_net, remote_mask;
  uint8_t protocol = 0;
  int64_t lifetime_left_s = 0;
  uint64_t lifetime_kb = 0;
  uint64_t pkts_in = 0, pkts_out = 0, bytes_in = 0, bytes_out = 0;
  // When the data plane last reported a packet each way (OnChildTraffic); unset: none yet.
  std::optional<TimePoint> last_in, last_out;
};

// Test introspection of what an ISAKMP SA still holds of its negotiation: sizes in bytes,
// never the bytes themselves.
struct SecretsHeld {
  bool dh = false;  // a phase-1 DH private value
  size_t psk = 0, gxy = 0, gxi = 0, gxr = 0, ni = 0, nr = 0, sai_b = 0;
  size_t skeyid = 0, skeyid_d = 0, skeyid_a = 0, skeyid_e = 0, enc_key = 0;
  size_t p1_iv = 0, p1_last_block = 0;
  size_t p1_rtx_packet = 0, p1_last_rx_hash = 0;
  bool main_mode_state = false;  // the Main Mode block itself (released after p1_forget_at)
  // Summed over the Quick Modes the SA keeps (in flight, or finished and kept for duplicates).
  size_t quick_modes = 0, qm_dh = 0, qm_ni = 0, qm_nr = 0, qm_peer_ke = 0;
  // The IPsec keys of its child SAs still in the engine (0 once handed to the data plane).
  size_t child_keys = 0;
};

// `clear crypto session` filters, ANDed; unset = any.
struct ClearFilter {
  std::optional<IpAddress> local;
  std::optional<uint16_t> local_port;
  std::optional<IpAddress> remote;
  std::optional<uint16_t> remote_port;
  std::optional<std::string> map_name;  // clear crypto sa map NAME
  std::optional<SaId> conn_id;          // clear crypto isakmp CONN-ID
  bool ipsec_only = false;              // clear crypto sa: IPsec SAs only
  // Which versions' SAs (`clear crypto isakmp`: IKEv1's; `clear crypto ikev2 sa`: IKEv2's;
  // `clear crypto session`: both). With map_name / ipsec_only an IKEv2 SA stays and only its
  // Child SAs go.
  bool ikev1 = true;
  bool ikev2 = true;
};

class NodeImpl;

class Node {
 public:
  explicit Node(Random& rng, NodeOptions opts = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // A deep copy of this engine in its current state (configuration, SAs, exchanges in
  // flight, timers, counters) that draws from `rng` from now on: a snapshot to run
  // several futures from (the engine fuzz target starts each input from one).
  std::unique_ptr<Node> Clone(Random& rng) const;

  // Applies a configuration. Live-change rules: keepalive changes apply to established SAs
  // from their next interval; a removed crypto map entry or peer tears down what depended on
  // it; PSK changes apply to new negotiations; kept-up entries are brought up.
  void SetConfig(const config::Config& cfg, TimePoint now, Outbox& out);

  // One received UDP datagram (payload as on the wire; on natt_port with non-ESP marker).
  void OnDatagram(TimePoint now, const Endpoint& local, const Endpoint& remote, ByteSpan data,
                  Outbox& out);
  void OnTimeout(TimePoint now, Outbox& out);
  TimePoint NextDeadline() const;

  // Data-plane signals. Outbound traffic for a peer (on-demand DPD) and for a crypto map
  // entry (brings the tunnel up if it is down, as IOS does with interesting traffic).
  void OnOutboundTraffic(TimePoint now, const std::string& map_name, uint32_t seq, Outbox& out);
  // Traffic on the IPsec SA with our inbound SPI `spi_in` (in both directions: the peers'
  // outbound SPIs are not unique, ours are), `inbound` telling the direction.
  void OnChildTraffic(TimePoint now, uint32_t spi_in, bool inbound, uint64_t bytes,
                      Outbox& out);
  // The data plane's kilobyte lifetime accounting for the IPsec SA with inbound SPI `spi_in`:
  // soft (90 %) starts a rekey if we initiated it; hard deletes it (Delete sent).
  void OnChildLifetime(TimePoint now, uint32_t spi_in, bool hard, Outbox& out);

  // Operations.
  void Initiate(TimePoint now, const std::string& map_name, uint32_t seq, Outbox& out);
  void Clear(TimePoint now, const ClearFilter& filter, Outbox& out);
  void SetDebug(bool on) { debug_ = on; }
  bool debug() const { return debug_; }

  // Snapshots (copies, never live objects).
  std::vector<IsakmpSaSnapshot> IsakmpSas(TimePoint now) const;
  // `show crypto ikev2 sa`: every IKEv2 SA, ascending by SA id (Tunnel-id).
  std::vector<Ikev2SaSnapshot> Ikev2Sas(TimePoint now) const;
  std::vector<ChildSaSnapshot> ChildSas(TimePoint now,
                                        SnapshotKeys keys = SnapshotKeys::kOmit) const;
  // The same snapshots for just the IPsec SA pairs with these inbound SPIs (the data plane's
  // incremental sync after kChildSaUp / kChildSaDown / kIkeSaUp / kIkeSaDown); SPIs the Node
  // no longer has are left out. In (ike_sa, spi_in) order, as ChildSas.
  std::vector<ChildSaSnapshot> ChildSas(TimePoint now, std::span<const uint32_t> spis_in,
                                        SnapshotKeys keys = SnapshotKeys::kOmit) const;
  // Paged snapshots, for `show` over 100,000 SAs a page per event-loop turn: list the ids
  // once (cheap: integers), then snapshot a page of them at a time. SaIds: every live ISAKMP
  // SA, ascending (conn-id order, as IsakmpSas); SaIdsTo: those to `peer`, ascending; Peers:
  // every peer with an SA, ascending. IsakmpSas(ids) / ChildSasOf(ids) skip ids that are gone
  // and keep the order given (children in (ike_sa, spi_in) order within each SA).
  // SaIds/SaIdsTo/IsakmpSas list IKEv1 SAs (`show crypto isakmp sa`); Ikev2SaIdsTo lists the
  // live IKEv2 SAs to `peer`, ascending, and ChildSasOf takes ids of either version (the
  // Child SAs of an IKEv2 SA for `show crypto ipsec sa`).
  std::vector<SaId> SaIds() const;
  std::vector<SaId> SaIdsTo(const IpAddress& peer) const;
  std::vector<SaId> Ikev2SaIdsTo(const IpAddress& peer) const;
  std::vector<IpAddress> Peers() const;
  std::vector<IsakmpSaSnapshot> IsakmpSas(TimePoint now, std::span<const SaId> ids) const;
  std::vector<ChildSaSnapshot> ChildSasOf(TimePoint now, std::span<const SaId> ids,
                                          SnapshotKeys keys = SnapshotKeys::kOmit) const;
  // The data plane has installed the pairs with these inbound SPIs: wipe the engine's copies
  // of their keys (the data plane keeps the only one). Unknown SPIs are ignored.
  void HandOverChildKeys(std::span<const uint32_t> spis_in);
  // Tests only: what ISAKMP SA `ike_sa` still holds (nullopt: no such SA).
  std::optional<SecretsHeld> SecretsHeldBy(SaId ike_sa) const;
  // The inbound SPIs of the IPsec SAs an ISAKMP SA carries (after kIkeSaUp: those re-homed
  // onto it by an ISAKMP re-establishment). Empty for an unknown or dead SA.
  std::vector<uint32_t> ChildSpis(SaId ike_sa) const;
  // The peer each crypto map entry currently uses (map, seq) -> peer index and address.
  struct EntryState {
    std::string map_name;
    uint32_t seq = 0;
    size_t peer_index = 0;
    std::optional<IpAddress> current_peer;
    bool up = false;
  };
  std::vector<EntryState> Entries() const;
  // The same for one entry (nullopt: no such entry), without building the whole list.
  std::optional<EntryState> EntryStateOf(const std::string& map_name, uint32_t seq) const;
  // The crypto map entries that list `peer`, in configuration order: the order in which a
  // Quick Mode from that peer is matched against them.
  std::vector<std::pair<std::string, uint32_t>> EntriesOfPeer(const IpAddress& peer) const;
  const NodeCounters& counters() const;
  size_t ike_sa_count() const;
  CallAdmissionSnapshot CallAdmission() const;

 private:
  Node() = default;  // Clone's: the engine is copied in, nothing drawn from a Random
  std::unique_ptr<NodeImpl> impl_;
  bool debug_ = false;
};

}  // namespace ikepulse::ike
