#include "daemon/backend_impl.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <chrono>
#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "daemon/atomic_file.h"
#include "daemon/real_clock.h"

namespace ikepulse::daemon {

std::string TransformText(config::EspCipher cipher, config::EspAuth auth) {
  std::string c;
  switch (cipher) {
    case config::EspCipher::kAes128:
      c = "esp-aes";
      break;
    case config::EspCipher::kAes192:
      c = "esp-aes 192";
      break;
    case config::EspCipher::kAes256:
      c = "esp-aes 256";
      break;
    case config::EspCipher::k3Des:
      c = "esp-3des";
      break;
    case config::EspCipher::kNull:
      c = "esp-null";
      break;
    case config::EspCipher::kAesGcm128:
      c = "esp-gcm";
      break;
    case config::EspCipher::kAesGcm256:
      c = "esp-gcm 256";
      break;
    case config::EspCipher::kNone:
      break;
  }
  std::string a;
  switch (auth) {
    case config::EspAuth::kMd5:
      a = "esp-md5-hmac";
      break;
    case config::EspAuth::kSha1:
      a = "esp-sha-hmac";
      break;
    case config::EspAuth::kSha256:
      a = "esp-sha256-hmac";
      break;
    case config::EspAuth::kSha384:
      a = "esp-sha384-hmac";
      break;
    case config::EspAuth::kSha512:
      a = "esp-sha512-hmac";
      break;
    case config::EspAuth::kNone:
      break;
  }
  if (c.empty()) return a;
  if (a.empty()) return c;
  return c + " " + a;
}

BackendImpl::BackendImpl(ike::Node& node, Context ctx) : node_(node), ctx_(std::move(ctx)) {}

std::optional<std::string> BackendImpl::ApplyConfig(const config::Config& config) {
  if (ctx_.before_apply) ctx_.before_apply(config);
  ike::Outbox out;
  node_.SetConfig(config, ctx_.now(), out);
  running_ = config;
  interface_index_valid_ = false;
  if (ctx_.logger) ctx_.logger->SetBuffer(config.logging_buffered, config.logging_buffer_size);
  ctx_.flush(out);
  return std::nullopt;
}

std::string BackendImpl::StartupConfigText() {
  if (ctx_.startup_config_path.empty()) return "";
  return ReadWholeFile(ctx_.startup_config_path).value_or("");
}

std::optional<std::string> BackendImpl::WriteStartupConfig(const std::string& text) {
  if (ctx_.startup_config_path.empty()) return std::string("no startup-config file (-f)");
  return WriteFileAtomically(ctx_.startup_config_path, text, 0600);
}

namespace {

std::string Capabilities(const ike::IsakmpSaSnapshot& s) {
  std::string cap;
  if (s.peer_supports_dpd) cap += 'D';
  if (s.nat_t) cap += 'N';
  return cap;
}

// The interface that carries crypto map `map_name` (IOS lists SAs under it).
IpAddress WildcardToMask(const IpAddress& wildcard) {
  return IpAddress::V4FromU32(~wildcard.V4ToU32());
}

// The interface with address `a` and a crypto map (IKE runs from crypto map interfaces).
cli::EspSaInfo Esp(const ike::ChildSaSnapshot& c, uint32_t spi) {
  cli::EspSaInfo e;
  e.spi = spi;
  e.transform = TransformText(c.cipher, c.auth);
  e.tunnel = true;
  e.conn_id = static_cast<uint32_t>(c.ike_sa);
  e.remaining_s = c.lifetime_left_s;
  e.remaining_kb = c.lifetime_kb;
  e.status = "ACTIVE";
  return e;
}

}  // namespace

namespace {

cli::IsakmpSaInfo IsakmpInfo(const ike::IsakmpSaSnapshot& s) {
  cli::IsakmpSaInfo i;
  i.dst = s.remote.ip;
  i.src = s.local.ip;
  i.local_port = s.local.port;
  i.remote_port = s.remote.port;
  i.state = s.state;
  i.conn_id = static_cast<uint32_t>(s.conn_id);
  i.status = "ACTIVE";
  i.encryption = s.encryption;
  i.hash = s.hash;
  i.auth = s.auth;
  i.group = s.group;
  i.lifetime_left_s = s.lifetime_left_s;
  i.capabilities = Capabilities(s);
  i.dpd.enabled = s.dpd_enabled;
  i.dpd.active = s.dpd_active;
  i.dpd.mode = s.dpd_periodic ? config::DpdMode::kPeriodic : config::DpdMode::kOnDemand;
  i.dpd.interval_s = s.dpd_interval_s;
  i.dpd.retry_s = s.dpd_retry_s;
  i.dpd.peer_supports = s.peer_supports_dpd;
  i.dpd.last_heard_s_ago =
      s.dpd_last_heard_ms_ago < 0 ? -1 : s.dpd_last_heard_ms_ago / 1000;
  i.dpd.probing = s.dpd_probing;
  i.dpd.outstanding = s.dpd_outstanding;
  i.dpd.next_seq = s.dpd_next_seq;
  return i;
}

}  // namespace

std::vector<cli::IsakmpSaInfo> BackendImpl::IsakmpSas() {
  std::vector<cli::IsakmpSaInfo> out;
  for (const ike::IsakmpSaSnapshot& s : node_.IsakmpSas(ctx_.now())) out.push_back(IsakmpInfo(s));
  return out;
}

std::vector<uint32_t> BackendImpl::IsakmpSaIds() {
  std::vector<uint32_t> out;
  for (ike::SaId id : node_.SaIds()) out.push_back(static_cast<uint32_t>(id));
  return out;
}

std::vector<cli::IsakmpSaInfo> BackendImpl::IsakmpSasById(std::span<const uint32_t> conn_ids) {
  const std::vector<ike::SaId> ids(conn_ids.begin(), conn_ids.end());
  std::vector<cli::IsakmpSaInfo> out;
  for (const ike::IsakmpSaSnapshot& s : node_.IsakmpSas(ctx_.now(), ids))
    out.push_back(IsakmpInfo(s));
  return out;
}

const std::string& BackendImpl::InterfaceOf(const std::string& map_name) {
  IndexInterfaces();
  static const std::string kNone;
  auto it = interface_by_map_.find(map_name);
  return it == interface_by_map_.end() ? kNone : it->second;
}

const std::string& BackendImpl::InterfaceWithAddress(const IpAddress& a) {
  IndexInterfaces();
  static const std::string kNone;
  auto it = interface_by_address_.find(a);
  return it == interface_by_address_.end() ? kNone : it->second;
}

void BackendImpl::IndexInterfaces() {
  if (interface_index_valid_) return;
  interface_by_map_.clear();
  interface_by_address_.clear();
  // The first interface wins, as a scan in configuration order would find it.
  for (const config::Interface& i : running_.interfaces) {
    if (i.crypto_map.empty()) continue;
    interface_by_map_.emplace(i.crypto_map, i.name);
    if (i.address) interface_by_address_.emplace(*i.address, i.name);
  }
  interface_index_valid_ = true;
}

const config::CryptoMapEntry* BackendImpl::EntryOf(const std::string& map_name, uint32_t seq) const {
  const auto& v = running_.crypto_maps;  // ordered by (map_name, seq)
  auto it = std::lower_bound(v.begin(), v.end(), std::tie(map_name, seq),
                             [](const config::CryptoMapEntry& e, const auto& k) {
                               return std::tie(e.map_name, e.seq) < k;
                             });
  return it != v.end() && it->map_name == map_name && it->seq == seq ? &*it : nullptr;
}

std::vector<cli::IpsecSaInfo> BackendImpl::Flows(const std::vector<ike::ChildSaSnapshot>& children) {
  // One flow per (map, seq, proxy identities), in that order.
  using Key = std::tuple<std::string, uint32_t, IpAddress, IpAddress, IpAddress, IpAddress>;
  std::map<Key, cli::IpsecSaInfo> flows;
  for (const ike::ChildSaSnapshot& c : children) {
    const Key key{c.map_name, c.map_seq, c.local_net, c.local_mask, c.remote_net, c.remote_mask};
    cli::IpsecSaInfo& f = flows[key];
    if (f.map_name.empty()) {
      f.map_name = c.map_name;
      f.seq = c.map_seq;
      f.interface = InterfaceOf(c.map_name);
      f.local_addr = c.local.ip;
      f.local_ident = {c.local_net, c.local_mask, c.protocol, 0};
      f.remote_ident = {c.remote_net, c.remote_mask, c.protocol, 0};
      f.current_peer = c.remote.ip;
      f.peer_port = c.remote.port;
      if (const config::CryptoMapEntry* e = EntryOf(c.map_name, c.map_seq)) {
        f.pfs_group = e->pfs_group;
      }
    }
    f.pkts_encaps += c.pkts_out;
    f.pkts_decaps += c.pkts_in;
    f.bytes_out += c.bytes_out;
    f.bytes_in += c.bytes_in;
    // The flow's most recent packet each way, over its SAs (old and new during a rekey).
    auto ago = [now = ctx_.now()](const std::optional<TimePoint>& t, int64_t prev) {
      if (!t) return prev;
      const int64_t s = std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::seconds>(now - *t).count());
      return prev < 0 ? s : std::min(prev, s);
    };
    f.last_in_s_ago = ago(c.last_in, f.last_in_s_ago);
    f.last_out_s_ago = ago(c.last_out, f.last_out_s_ago);
    f.inbound.push_back(Esp(c, c.spi_in));
    f.outbound.push_back(Esp(c, c.spi_out));
  }
  std::vector<cli::IpsecSaInfo> out;
  out.reserve(flows.size());
  for (auto& [key, f] : flows) out.push_back(std::move(f));
  return out;
}

void BackendImpl::IdleEntry(const std::string& map_name, uint32_t seq,
                            std::optional<IpAddress> current_peer,
                            std::vector<cli::IpsecSaInfo>& out) {
  cli::IpsecSaInfo f;
  f.map_name = map_name;
  f.seq = seq;
  f.interface = InterfaceOf(map_name);
  if (auto local = running_.LocalAddressFor(map_name)) f.local_addr = *local;
  f.current_peer = current_peer;
  // No SA yet: IOS lists the proxy identities of each permit line of the entry's ACL.
  const config::CryptoMapEntry* entry = EntryOf(map_name, seq);
  const config::AccessList* acl = entry ? running_.FindAcl(entry->match_address) : nullptr;
  bool any = false;
  for (const config::AclEntry& a : acl ? acl->entries : std::vector<config::AclEntry>{}) {
    if (!a.permit) continue;
    cli::IpsecSaInfo line = f;
    line.local_ident = {a.src, WildcardToMask(a.src_wildcard), a.protocol, 0};
    line.remote_ident = {a.dst, WildcardToMask(a.dst_wildcard), a.protocol, 0};
    out.push_back(std::move(line));
    any = true;
  }
  if (!any) out.push_back(std::move(f));
}

std::vector<cli::IpsecSaInfo> BackendImpl::IpsecSas() {
  // Crypto map entries without SAs are listed too, after the flows.
  std::vector<cli::IpsecSaInfo> out = Flows(node_.ChildSas(ctx_.now()));
  std::set<std::pair<std::string, uint32_t>> listed;
  for (const cli::IpsecSaInfo& f : out) listed.emplace(f.map_name, f.seq);
  for (const ike::Node::EntryState& e : node_.Entries()) {
    if (listed.count({e.map_name, e.seq})) continue;
    IdleEntry(e.map_name, e.seq, e.current_peer, out);
  }
  return out;
}

std::vector<cli::CryptoMapKey> BackendImpl::IpsecSaEntries() {
  std::vector<cli::CryptoMapKey> out;
  out.reserve(running_.crypto_maps.size());
  for (const config::CryptoMapEntry& e : running_.crypto_maps) out.push_back({e.map_name, e.seq});
  return out;
}

std::vector<cli::IpsecSaInfo> BackendImpl::IpsecSasOf(std::span<const cli::CryptoMapKey> entries) {
  std::vector<cli::IpsecSaInfo> out;
  const TimePoint now = ctx_.now();
  for (const cli::CryptoMapKey& k : entries) {
    const config::CryptoMapEntry* e = EntryOf(k.map_name, k.seq);
    const auto state = node_.EntryStateOf(k.map_name, k.seq);
    if (!e || !state) continue;  // removed since the show started
    // The entry's SAs are to its peers (the one in use and the others of its `set peer` list,
    // which may still hold SAs of a failover in progress).
    std::vector<IpAddress> peers;
    if (state->current_peer) peers.push_back(*state->current_peer);
    for (const config::CryptoMapPeer& p : e->peers)
      if (p.address) peers.push_back(*p.address);
    std::sort(peers.begin(), peers.end());
    peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
    std::vector<ike::SaId> ids;
    for (const IpAddress& p : peers) {
      const std::vector<ike::SaId> to = node_.SaIdsTo(p);
      ids.insert(ids.end(), to.begin(), to.end());
      const std::vector<ike::SaId> to_v2 = node_.Ikev2SaIdsTo(p);  // FlexVPN entries' SAs
      ids.insert(ids.end(), to_v2.begin(), to_v2.end());
    }
    std::sort(ids.begin(), ids.end());
    std::vector<ike::ChildSaSnapshot> children;
    for (ike::ChildSaSnapshot& c : node_.ChildSasOf(now, ids))
      if (c.map_name == k.map_name && c.map_seq == k.seq) children.push_back(std::move(c));
    std::vector<cli::IpsecSaInfo> flows = Flows(children);
    if (flows.empty()) {
      IdleEntry(k.map_name, k.seq, state->current_peer, out);
      continue;
    }
    for (cli::IpsecSaInfo& f : flows) out.push_back(std::move(f));
  }
  return out;
}

std::vector<cli::CryptoSessionInfo> BackendImpl::CryptoSessions() {
  const TimePoint now = ctx_.now();
  return Sessions(node_.IsakmpSas(now), node_.ChildSas(now));
}

std::vector<IpAddress> BackendImpl::SessionPeers() { return node_.Peers(); }

std::vector<cli::CryptoSessionInfo> BackendImpl::CryptoSessionsOf(
    std::span<const IpAddress> peers) {
  std::vector<ike::SaId> ids;
  for (const IpAddress& p : peers) {
    const std::vector<ike::SaId> to = node_.SaIdsTo(p);
    ids.insert(ids.end(), to.begin(), to.end());
  }
  const TimePoint now = ctx_.now();
  return Sessions(node_.IsakmpSas(now, ids), node_.ChildSasOf(now, ids));
}

std::vector<cli::CryptoSessionInfo> BackendImpl::Sessions(
    const std::vector<ike::IsakmpSaSnapshot>& ike_sas,
    const std::vector<ike::ChildSaSnapshot>& children) {
  std::map<IpAddress, cli::CryptoSessionInfo> by_peer;
  std::map<IpAddress, bool> established;
  for (const ike::IsakmpSaSnapshot& s : ike_sas) {
    cli::CryptoSessionInfo& ses = by_peer[s.remote.ip];
    ses.peer = s.remote.ip;
    ses.peer_port = s.remote.port;
    ses.phase1_id = s.remote.ip.ToString();
    // Before any IPsec SA (Main Mode running): the interface whose local address the IKE SA
    // uses (the crypto map interface it was started from).
    if (ses.interface.empty()) ses.interface = InterfaceWithAddress(s.local.ip);
    cli::CryptoSessionInfo::IkeSa ike;
    ike.local = s.local.ip;
    ike.local_port = s.local.port;
    ike.remote = s.remote.ip;
    ike.remote_port = s.remote.port;
    ike.state = s.established ? "Active" : "Negotiating";
    ike.capabilities = Capabilities(s);
    ike.conn_id = static_cast<uint32_t>(s.conn_id);
    ike.lifetime_left_s = s.lifetime_left_s;
    ses.ike_sas.push_back(ike);
    established[s.remote.ip] = established[s.remote.ip] || s.established;
  }
  std::map<IpAddress, uint32_t> child_count;
  for (const ike::ChildSaSnapshot& c : children) {
    cli::CryptoSessionInfo& ses = by_peer[c.remote.ip];
    ses.peer = c.remote.ip;
    ses.peer_port = c.remote.port;
    if (ses.interface.empty()) ses.interface = InterfaceOf(c.map_name);
    ++child_count[c.remote.ip];
    cli::CryptoSessionInfo::Flow fl;
    fl.description = "permit ip " + c.local_net.ToString() + "/" + c.local_mask.ToString() + " " +
                     c.remote_net.ToString() + "/" + c.remote_mask.ToString();
    fl.active_sas = 2;
    fl.pkts_decrypted = c.pkts_in;
    fl.pkts_encrypted = c.pkts_out;
    fl.life_kb = c.lifetime_kb;
    fl.life_s = c.lifetime_left_s;
    ses.flows.push_back(std::move(fl));
  }
  std::vector<cli::CryptoSessionInfo> out;
  for (auto& [peer, ses] : by_peer) {
    const bool ike_up = established[peer];
    const bool has_ike = !ses.ike_sas.empty();
    const bool has_child = child_count[peer] > 0;
    if (ike_up && has_child) {
      ses.status = "UP-ACTIVE";
    } else if (ike_up) {
      ses.status = "UP-IDLE";
    } else if (has_child) {
      ses.status = "UP-NO-IKE";
    } else if (has_ike) {
      ses.status = "DOWN-NEGOTIATING";
    } else {
      ses.status = "DOWN";
    }
    out.push_back(std::move(ses));
  }
  return out;
}

std::optional<IpAddress> BackendImpl::CurrentPeer(const std::string& map_name, uint32_t seq) {
  const auto e = node_.EntryStateOf(map_name, seq);
  return e ? e->current_peer : std::nullopt;
}

void BackendImpl::ClearWith(const ike::ClearFilter& f) {
  ike::Outbox out;
  node_.Clear(ctx_.now(), f, out);
  ctx_.flush(out);
}

void BackendImpl::ClearCryptoSession(const cli::ClearSessionFilter& filter) {
  // No VRFs in ikepulse: every SA is in the global table, so fvrf/ivrf other than the global
  // one match nothing.
  if ((filter.fvrf && !filter.fvrf->empty()) || (filter.ivrf && !filter.ivrf->empty())) return;
  ike::ClearFilter f;
  f.local = filter.local;
  f.local_port = filter.local_port;
  f.remote = filter.remote;
  f.remote_port = filter.remote_port;
  ClearWith(f);
}

void BackendImpl::ClearCryptoSa(const cli::ClearSaFilter& filter) {
  ike::ClearFilter f;
  f.ipsec_only = true;
  if (filter.kind == cli::ClearSaFilter::Kind::kPeer) f.remote = filter.peer;
  if (filter.kind == cli::ClearSaFilter::Kind::kMap) f.map_name = filter.map_name;
  ClearWith(f);
}

void BackendImpl::ClearCryptoIsakmp(std::optional<uint32_t> conn_id) {
  ike::ClearFilter f;
  if (conn_id) f.conn_id = *conn_id;
  f.ikev2 = false;  // IKEv1's SAs only
  ClearWith(f);
}

std::vector<ike::Ikev2SaSnapshot> BackendImpl::Ikev2Sas() const {
  return node_.Ikev2Sas(ctx_.now());
}

void BackendImpl::ClearCryptoIkev2Sa(const cli::ClearIkev2SaFilter& filter) {
  ike::ClearFilter f;
  f.local = filter.local;
  f.remote = filter.remote;
  f.ikev1 = false;  // IKEv2's SAs (and their Child SAs) only
  ClearWith(f);
}

cli::CallAdmissionInfo BackendImpl::CallAdmission() {
  const ike::CallAdmissionSnapshot s = node_.CallAdmission();
  cli::CallAdmissionInfo i;
  i.max_in_negotiation = s.limit;
  i.limit_configured = s.limit_configured;
  i.ike_sas = s.ike_sas;
  i.active = s.ike_sas_active;
  i.negotiating = s.ike_sas_negotiating;
  i.half_open = s.half_open;
  i.half_open_peak = s.half_open_peak;
  i.incoming = s.accepted + s.rejected;
  i.rejected = s.rejected;
  i.promoted = s.promoted;
  i.evicted = s.evicted_total;
  i.evicted_per_source = s.evicted_source;
  i.expired = s.expired;
  i.no_proposal_sent = node_.counters().no_proposal_sent;
  i.no_proposal_suppressed = node_.counters().no_proposal_suppressed;
  i.mm2_resent = s.mm2_resent;
  i.mm2_resends_suppressed = s.mm2_resends_suppressed;
  i.ikev2_half_open = s.ikev2_half_open;
  i.ikev2_limit = s.ikev2_limit;
  i.ikev2_cookie_threshold = s.ikev2_cookie_threshold;
  i.ikev2_cookies_sent = s.ikev2_cookies_sent;
  i.ikev2_cookies_valid = s.ikev2_cookies_valid;
  i.ikev2_cookies_invalid = s.ikev2_cookies_invalid;
  i.ikev2_evicted = s.ikev2_evicted;
  return i;
}

int64_t BackendImpl::UptimeSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(ctx_.now() - ctx_.started_at).count();
}

int64_t BackendImpl::WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(WallNow().time_since_epoch())
      .count();
}

cli::LogBufferInfo BackendImpl::LogBuffer() {
  cli::LogBufferInfo info;
  info.enabled = running_.logging_buffered;
  info.size = running_.logging_buffer_size;
  if (!ctx_.logger) return info;
  info.logged = ctx_.logger->buffered_count();
  info.lines.assign(ctx_.logger->buffered().begin(), ctx_.logger->buffered().end());
  return info;
}

void BackendImpl::ClearLogging() {
  if (ctx_.logger) ctx_.logger->ClearBuffer();
}

std::optional<cli::LinkState> BackendImpl::InterfaceState(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<cli::LinkState> st;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_name || name != a->ifa_name) continue;
    if (!st) {
      st.emplace();
      st->admin_up = (a->ifa_flags & IFF_UP) != 0;
      st->running = (a->ifa_flags & IFF_RUNNING) != 0;
    }
    if (!st->address && a->ifa_addr && a->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      st->address = IpAddress::V4FromU32(ntohl(sin->sin_addr.s_addr));
    }
  }
  freeifaddrs(list);
  return st;
}

std::vector<uint64_t> BackendImpl::AclMatches(const std::string& name) {
  if (!ctx_.acl_matches) return {};
  return ctx_.acl_matches(name);
}

Result<uint64_t, std::string> BackendImpl::StartPing(const cli::PingRequest& request) {
  if (!ctx_.start_ping) return cli::Backend::StartPing(request);
  return ctx_.start_ping(request);
}

std::optional<cli::PingStatus> BackendImpl::PingProgress(uint64_t handle) {
  if (!ctx_.ping_progress) return std::nullopt;
  return ctx_.ping_progress(handle);
}

void BackendImpl::StopPing(uint64_t handle) {
  if (ctx_.stop_ping) ctx_.stop_ping(handle);
}

}  // namespace ikepulse::daemon
