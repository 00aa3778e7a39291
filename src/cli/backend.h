// cli::Backend: the narrow interface between a CLI session and the daemon (DESIGN.md §1.1).
// The session reads plain snapshots for `show`, and asks for changes (`clear`, `debug`,
// configuration) by value. It never sees a live SA. The daemon implements it; tests use
// FakeBackend (fake_backend.h). Single-threaded: called from the daemon's event loop only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/result.h"
#include "config/config.h"
#include "ike/ikev2_snapshot.h"

namespace ikepulse::cli {

// The DPD (RFC 3706) state of one IKE SA, for `show crypto isakmp sa detail`.
struct DpdInfo {
  bool enabled = false;              // keepalive configured (what `crypto isakmp keepalive` says)
  bool active = false;               // DPD runs on this SA: established, the peer announced
                                     // DPD, not declared dead
  config::DpdMode mode = config::DpdMode::kOnDemand;
  uint32_t interval_s = 0;
  uint32_t retry_s = 0;
  bool peer_supports = false;        // the peer sent the RFC 3706 vendor ID
  int64_t last_heard_s_ago = -1;     // seconds since the last authenticated message; -1 never
  bool probing = false;              // an R-U-THERE is outstanding (retry phase)
  uint32_t outstanding = 0;          // R-U-THEREs sent and not yet acknowledged
  uint32_t next_seq = 0;             // the next R-U-THERE sequence number
  bool operator==(const DpdInfo&) const = default;
};

// One IKE (ISAKMP) SA.
struct IsakmpSaInfo {
  IpAddress dst;                     // the peer, as IOS lists it (dst = remote for initiator)
  IpAddress src;                     // the local address
  uint16_t local_port = 500;
  uint16_t remote_port = 500;
  std::string state = "QM_IDLE";     // IOS state name: MM_NO_STATE, MM_SA_SETUP, ..., QM_IDLE
  uint32_t conn_id = 0;
  std::string status = "ACTIVE";     // ACTIVE | (deleted)
  std::string encryption = "aes";    // IOS abbreviations: des, 3des, aes, aes:192, aes:256
  std::string hash = "sha";          // md5, sha, sha256, sha384, sha512
  std::string auth = "psk";          // psk, rsig
  uint16_t group = 14;
  int64_t lifetime_left_s = 0;
  std::string capabilities;          // IOS "Cap." letters, e.g. "D" (DPD), "DN" (DPD + NAT-T)
  std::string fvrf;                  // empty = (none)
  std::string ivrf;
  DpdInfo dpd;
};

struct IpsecIdent {
  IpAddress addr;
  IpAddress mask;
  uint8_t protocol = 0;
  uint16_t port = 0;
  bool operator==(const IpsecIdent&) const = default;
};

// One ESP SA pair member.
struct EspSaInfo {
  uint32_t spi = 0;
  std::string transform = "esp-aes esp-sha-hmac";  // as IOS lists it
  bool tunnel = true;
  uint32_t conn_id = 0;
  uint64_t remaining_kb = 0;
  int64_t remaining_s = 0;
  std::string status = "ACTIVE";
};

// One IPsec flow (crypto map entry + ACL line) and its SAs, for `show crypto ipsec sa`.
struct IpsecSaInfo {
  std::string map_name;
  uint32_t seq = 0;
  std::string interface;
  IpAddress local_addr;
  std::string fvrf;                  // empty = (none)
  IpsecIdent local_ident;
  IpsecIdent remote_ident;
  std::optional<IpAddress> current_peer;
  uint16_t peer_port = 500;
  uint64_t pkts_encaps = 0, pkts_decaps = 0;
  uint64_t bytes_out = 0, bytes_in = 0;
  // Seconds since the last packet through this flow's SAs in each direction (-1: none yet).
  int64_t last_in_s_ago = -1, last_out_s_ago = -1;
  uint64_t send_errors = 0, recv_errors = 0;
  std::optional<uint16_t> pfs_group;
  std::vector<EspSaInfo> inbound;
  std::vector<EspSaInfo> outbound;
};

// One crypto session (a peer: its IKE SA and IPsec flows), for `show crypto session`.
struct CryptoSessionInfo {
  std::string interface;
  std::string status = "UP-ACTIVE";  // UP-ACTIVE | UP-IDLE | UP-NO-IKE | DOWN-NEGOTIATING | DOWN
  IpAddress peer;
  uint16_t peer_port = 500;
  std::string fvrf, ivrf;            // empty = (none)
  std::string phase1_id;
  int64_t uptime_s = 0;
  struct IkeSa {
    IpAddress local;
    uint16_t local_port = 500;
    IpAddress remote;
    uint16_t remote_port = 500;
    std::string state = "Active";
    std::string capabilities;
    uint32_t conn_id = 0;
    int64_t lifetime_left_s = 0;
  };
  std::vector<IkeSa> ike_sas;
  struct Flow {
    std::string description;         // "permit ip 10.1.0.0/255.255.0.0 10.2.0.0/255.255.0.0"
    uint32_t active_sas = 0;
    std::string origin = "crypto map";
    uint64_t pkts_decrypted = 0, pkts_encrypted = 0, drops_in = 0, drops_out = 0;
    uint64_t life_kb = 0;
    int64_t life_s = 0;
    // false: a flow the CLI took from an IKEv2 SA's Child SA (selectors only, no counters or
    // lifetimes: its Inbound/Outbound lines are left out).
    bool has_counters = true;
  };
  std::vector<Flow> flows;
  // The IKEv2 SAs to this peer (`IKEv2 SA:` lines). The backend's sessions list IKEv1 SAs; the
  // CLI adds the IKEv2 SAs of Backend::Ikev2Sas to the session of their peer (show_ikev2_sa.cc,
  // AttachIkev2), making one for a peer that has none.
  std::vector<ike::Ikev2SaSnapshot> ikev2_sas;
};

// `clear crypto session [local A [port P]] [remote A [port P]] [fvrf N] [ivrf N]`: the given
// filters are ANDed; none given = every session.
struct ClearSessionFilter {
  std::optional<IpAddress> local;
  std::optional<uint16_t> local_port;
  std::optional<IpAddress> remote;
  std::optional<uint16_t> remote_port;
  std::optional<std::string> fvrf;
  std::optional<std::string> ivrf;
  bool operator==(const ClearSessionFilter&) const = default;
};

// `clear crypto ikev2 sa [local A | remote A]`: IKEv2 SAs only (and their Child SAs); none
// given = every IKEv2 SA.
struct ClearIkev2SaFilter {
  std::optional<IpAddress> local;
  std::optional<IpAddress> remote;
  bool operator==(const ClearIkev2SaFilter&) const = default;
};

// `clear crypto sa [peer A | map NAME]`.
struct ClearSaFilter {
  enum class Kind : uint8_t { kAll = 0, kPeer = 1, kMap = 2 };
  Kind kind = Kind::kAll;
  IpAddress peer;
  std::string map_name;
  bool operator==(const ClearSaFilter&) const = default;
};

// `show crypto call admission statistics`: IKE SAs, and Main Mode responder negotiations
// waiting for MM3 (half-open) with their limit.
struct CallAdmissionInfo {
  uint64_t max_in_negotiation = 0;    // the limit in force
  bool limit_configured = false;      // `crypto call admission limit ike in-negotiation-sa`
  uint64_t ike_sas = 0, active = 0, negotiating = 0;
  uint64_t half_open = 0, half_open_peak = 0;
  uint64_t incoming = 0;              // MM1s that started a negotiation
  uint64_t rejected = 0;              // MM1s refused (oversized SA payload)
  uint64_t promoted = 0;              // half-open negotiations that reached MM3
  uint64_t evicted = 0;               // the oldest half-open, evicted at the total limit
  uint64_t evicted_per_source = 0;    // ... at the per-source limit
  uint64_t expired = 0;               // half-open negotiations that timed out
  uint64_t no_proposal_sent = 0, no_proposal_suppressed = 0;
  uint64_t mm2_resent = 0, mm2_resends_suppressed = 0;  // half-open MM2 resends, over budget
  // IKEv2 responders not yet established, their bound (`crypto ikev2 limit
  // max-in-negotation-sa`) and the count from which cookies are demanded (`crypto ikev2
  // cookie-challenge`, else the bound); COOKIE answers sent, cookies that verified / did not;
  // half-open IKEv2 responders evicted at the bound.
  uint64_t ikev2_half_open = 0, ikev2_limit = 0, ikev2_cookie_threshold = 0;
  uint64_t ikev2_cookies_sent = 0, ikev2_cookies_valid = 0, ikev2_cookies_invalid = 0;
  uint64_t ikev2_evicted = 0;
  bool operator==(const CallAdmissionInfo&) const = default;
};

// The in-memory log buffer (`logging buffered`), for `show logging`.
struct LogBufferInfo {
  bool enabled = true;
  uint32_t size = 4096;             // bytes
  uint64_t logged = 0;              // lines logged since start (or `clear logging`)
  std::vector<std::string> lines;   // oldest first, each with its IOS timestamp
};

// The Linux state of an interface named in the configuration, for `show ip interface brief`.
struct LinkState {
  bool admin_up = false;            // IFF_UP
  bool running = false;             // IFF_RUNNING (carrier)
  std::optional<IpAddress> address; // the first IPv4 address on the link, if any
};

// `ping A [source B|IF] [repeat N] [size S]`.
struct PingRequest {
  IpAddress target;
  std::optional<IpAddress> source;  // nullopt: the backend picks one
  uint32_t repeat = 5;
  uint32_t size = 100;              // the IP datagram, as IOS counts it
  bool operator==(const PingRequest&) const = default;
};

// A ping in progress or finished.
struct PingStatus {
  IpAddress source;                 // the source address the echoes carry
  uint32_t repeat = 0;              // echoes it sends (the request's, capped by the backend)
  uint32_t size = 0;
  std::string marks;                // one per echo resolved: '!' answered, '.' timed out
  std::vector<uint32_t> rtt_ms;     // round-trip times of the answered echoes
  bool done = false;
  bool operator==(const PingStatus&) const = default;
};

// A crypto map entry, (map name, sequence number).
struct CryptoMapKey {
  std::string map_name;
  uint32_t seq = 0;
  auto operator<=>(const CryptoMapKey&) const = default;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Configuration.
  virtual const config::Config& Running() = 0;
  // Applies a whole new running configuration. nullopt = applied; otherwise the reason it was
  // refused (shown to the user as is, the running configuration unchanged).
  virtual std::optional<std::string> ApplyConfig(const config::Config& config) = 0;
  // The stored startup-config text ("" when there is none).
  virtual std::string StartupConfigText() = 0;
  // Persists `text` as the startup-config (atomically). nullopt = written.
  virtual std::optional<std::string> WriteStartupConfig(const std::string& text) = 0;

  // Snapshots for `show`.
  virtual std::vector<IsakmpSaInfo> IsakmpSas() = 0;
  virtual std::vector<IpsecSaInfo> IpsecSas() = 0;
  virtual std::vector<CryptoSessionInfo> CryptoSessions() = 0;
  // Every IKEv2 SA, by ascending tunnel id (one-shot: IKEv2 shows are not paged yet).
  virtual std::vector<ike::Ikev2SaSnapshot> Ikev2Sas() const = 0;
  // Streaming `show` (cli/show_stream.h): the keys of what a show lists, taken once when it
  // starts, then the details a page of keys at a time, so that each page costs in proportion
  // to its size and a show over 100,000 SAs never holds the daemon's event loop for long. A
  // key whose object is gone by the time its page comes is skipped. The defaults filter the
  // one-shot snapshots above (O(everything) per page: for tests and small backends).
  virtual std::vector<uint32_t> IsakmpSaIds();  // conn-ids, ascending (IsakmpSas's order)
  virtual std::vector<IsakmpSaInfo> IsakmpSasById(std::span<const uint32_t> conn_ids);
  virtual std::vector<IpAddress> SessionPeers();  // CryptoSessions's order
  virtual std::vector<CryptoSessionInfo> CryptoSessionsOf(std::span<const IpAddress> peers);
  // The crypto map entries `show crypto ipsec sa` lists, in its order; IpsecSasOf gives
  // their flows (an entry with several flows: all of them, contiguous).
  virtual std::vector<CryptoMapKey> IpsecSaEntries();
  virtual std::vector<IpsecSaInfo> IpsecSasOf(std::span<const CryptoMapKey> entries);

  // The peer a crypto map entry currently uses (stateless failover index), if any.
  virtual std::optional<IpAddress> CurrentPeer(const std::string& map_name, uint32_t seq) = 0;

  // Operations. ClearCryptoSession and ClearCryptoSa cover the SAs of both IKE versions;
  // ClearCryptoIsakmp only IKEv1's, ClearCryptoIkev2Sa only IKEv2's.
  virtual void ClearCryptoSession(const ClearSessionFilter& filter) = 0;
  virtual void ClearCryptoSa(const ClearSaFilter& filter) = 0;
  virtual void ClearCryptoIsakmp(std::optional<uint32_t> conn_id) = 0;
  virtual void ClearCryptoIkev2Sa(const ClearIkev2SaFilter& filter) = 0;
  // `debug crypto isakmp` / `debug crypto ikev2`. A backend may serve both from one engine
  // flag (then turning either on shows both on).
  virtual void SetDebugIsakmp(bool on) = 0;
  virtual bool DebugIsakmp() = 0;
  virtual void SetDebugIkev2(bool on) = 0;
  virtual bool DebugIkev2() = 0;

  virtual CallAdmissionInfo CallAdmission() { return {}; }

  // For `show version`: seconds since the daemon started.
  virtual int64_t UptimeSeconds() { return 0; }

  // For `show clock`: the wall clock, in milliseconds since the Unix epoch.
  virtual int64_t WallClockMs() { return 0; }
  // `show logging` / `clear logging`.
  virtual LogBufferInfo LogBuffer() { return {}; }
  virtual void ClearLogging() {}
  // `show ip interface brief`: nullopt when the interface does not exist on this host.
  virtual std::optional<LinkState> InterfaceState(const std::string& name) {
    (void)name;
    return std::nullopt;
  }
  // `show access-lists`: packets the data plane matched against each line of ACL `name`, in
  // entry order (empty when the data plane has not classified against it).
  virtual std::vector<uint64_t> AclMatches(const std::string& name) {
    (void)name;
    return {};
  }

  // `ping`: an asynchronous operation. StartPing returns a handle (or the error to show);
  // the session then polls PingProgress until done and releases it with StopPing (also to
  // abandon it). PingProgress is nullopt for an unknown handle.
  virtual Result<uint64_t, std::string> StartPing(const PingRequest& request) {
    (void)request;
    return MakeUnexpected(std::string("% Ping is not available"));
  }
  virtual std::optional<PingStatus> PingProgress(uint64_t handle) {
    (void)handle;
    return std::nullopt;
  }
  virtual void StopPing(uint64_t handle) { (void)handle; }
};

}  // namespace ikepulse::cli
