// The IKEv2 operational commands: show crypto ikev2 sa [local A | remote A] [detailed],
// show crypto ikev2 session [detailed], clear crypto ikev2 sa [local A | remote A],
// debug crypto ikev2 (no debug / undebug crypto ikev2), and the IKEv2 SAs of
// `show crypto session [detail]`.
//
// IOS XE's layout for the fields an IKEv2 SA snapshot has (ike/ikev2_snapshot.h); the lines IOS
// prints for what ikepulse does not have (CE id, identities, fragmentation, ...) are left out.
// One ikepulse line is added to `detailed`: the DPD mode and state, as `show crypto isakmp sa
// detail` has. A "session" is the IKEv2 SAs to one peer address; its Session-id is the lowest
// tunnel id among them (ikepulse has no separate session object).
#include <algorithm>
#include <map>

#include "cli/command_tree.h"
#include "cli/config_util.h"
#include "cli/show.h"
#include "cli/show_format.h"

namespace ikepulse::cli {

namespace {

using Sa = ike::Ikev2SaSnapshot;
using Reply = std::optional<std::string>;

const char* Known(const std::string& s) { return s.empty() ? "Unknown - 0" : s.c_str(); }

std::string Addr(const Endpoint& e) { return e.ip.ToString() + "/" + std::to_string(e.port); }

std::string Vrf(const std::string& v) { return v.empty() ? "none" : v; }

// The last address of a network (net | ~mask), IPv4.
IpAddress Last(const IpAddress& net, const IpAddress& mask) {
  return IpAddress::V4FromU32(net.V4ToU32() | ~mask.V4ToU32());
}

std::string TableHeader() {
  return Fmt("%-10s%-22s%-22s%-21s%s\n", "Tunnel-id", "Local", "Remote", "fvrf/ivrf", "Status");
}

// The table row and the lines under it, `detailed` or not.
std::string SaBlock(const Sa& sa, bool detailed) {
  std::string out = TableHeader();
  const std::string vrfs = Vrf(sa.fvrf) + "/" + Vrf(sa.ivrf);
  out += Fmt("%-10llu%-22s%-22s%-21s%s\n", static_cast<unsigned long long>(sa.tunnel_id),
             Addr(sa.local).c_str(), Addr(sa.remote).c_str(), vrfs.c_str(),
             ike::Ikev2StatusName(sa.status));
  out += Fmt("      Encr: %s", Known(sa.encryption));
  if (sa.key_size != 0) out += Fmt(", keysize: %u", static_cast<unsigned>(sa.key_size));
  out += Fmt(", PRF: %s, Hash: %s, DH Grp:%u, Auth sign: %s, Auth verify: %s\n", Known(sa.prf),
             Known(sa.integrity), static_cast<unsigned>(sa.dh_group), Known(sa.auth_sign),
             Known(sa.auth_verify));
  out += Fmt("      Life/Active Time: %u/%lld sec\n", sa.lifetime_s,
             static_cast<long long>(sa.active_time_s));
  if (!detailed) return out;
  if (sa.status == Sa::Status::kReady) out += "      Status Description: Negotiation done\n";
  out += Fmt("      Local spi: %016llX       Remote spi: %016llX\n",
             static_cast<unsigned long long>(sa.spi_local),
             static_cast<unsigned long long>(sa.spi_remote));
  out += Fmt("      Local next msg id: %-15uRemote next msg id: %u\n", sa.next_request_id,
             sa.next_peer_request_id);
  // ikepulse keeps one request in flight each way (window size 1).
  out += Fmt("      Local window:      %-15uRemote window:      %u\n", 1u, 1u);
  out += Fmt("      DPD configured for %u seconds, retry %u\n",
             sa.dpd_enabled ? sa.dpd_interval_s : 0u, sa.dpd_enabled ? sa.dpd_retry_s : 0u);
  if (sa.dpd_enabled) {
    out += Fmt("      DPD mode: %s, state: ", sa.dpd_periodic ? "periodic" : "on-demand");
    if (!sa.dpd_active)
      out += "not running";
    else if (sa.dpd_probing)
      out += Fmt("probing, probe sent %u times", sa.dpd_probe_sends);
    else
      out += "idle";
    if (sa.dpd_active)
      out += sa.dpd_last_heard_s_ago < 0
                 ? std::string(", never heard from peer")
                 : Fmt(", last heard %lld s ago", static_cast<long long>(sa.dpd_last_heard_s_ago));
    out += "\n";
  }
  if (!sa.nat_detected) {
    out += "      NAT-T is not detected\n";
  } else {
    out += "      NAT-T is detected";
    if (sa.nat_local) out += " inside";
    if (sa.nat_remote) out += " outside";
    out += "\n";
  }
  out += std::string("      Initiator of SA : ") + (sa.initiator ? "Yes" : "No") + "\n";
  return out;
}

std::string ChildLines(const ike::Ikev2ChildSnapshot& c, bool detailed) {
  std::string out;
  out += Fmt("Child sa: local selector  %s/0 - %s/65535\n", c.local_net.ToString().c_str(),
             Last(c.local_net, c.local_mask).ToString().c_str());
  out += Fmt("          remote selector %s/0 - %s/65535\n", c.remote_net.ToString().c_str(),
             Last(c.remote_net, c.remote_mask).ToString().c_str());
  out += Fmt("          ESP spi in/out: 0x%X/0x%X\n", c.spi_in, c.spi_out);
  if (!detailed) return out;
  out += "          AH spi in/out: 0x0/0x0\n";
  out += "          CPI in/out: 0x0/0x0\n";
  out += Fmt("          Encr: %s", Known(c.encryption));
  if (c.key_size != 0) out += Fmt(", keysize: %u", static_cast<unsigned>(c.key_size));
  out += Fmt(", esp_hmac: %s\n", Known(c.esp_hmac));
  out += "          ah_hmac: None, comp: IPCOMP_NONE, mode tunnel\n";
  return out;
}

// IOS crypto session status from what a peer has (as the daemon's IKEv1 sessions).
std::string SessionStatus(bool ike_up, bool has_child, bool has_ike) {
  if (ike_up && has_child) return "UP-ACTIVE";
  if (ike_up) return "UP-IDLE";
  if (has_child) return "UP-NO-IKE";
  if (has_ike) return "DOWN-NEGOTIATING";
  return "DOWN";
}

bool AnyReady(const std::vector<Sa>& sas) {
  return std::any_of(sas.begin(), sas.end(),
                     [](const Sa& s) { return s.status == Sa::Status::kReady; });
}

size_t ChildCount(const std::vector<Sa>& sas) {
  size_t n = 0;
  for (const Sa& s : sas) n += s.children.size();
  return n;
}

// The IKEv2 sessions: the SAs to each peer, in order of their lowest tunnel id.
std::vector<std::vector<Sa>> Sessions(std::vector<Sa> sas) {
  std::sort(sas.begin(), sas.end(),
            [](const Sa& a, const Sa& b) { return a.tunnel_id < b.tunnel_id; });
  std::vector<std::vector<Sa>> out;
  std::map<IpAddress, size_t> index;
  for (Sa& sa : sas) {
    auto [it, added] = index.emplace(sa.remote.ip, out.size());
    if (added) out.emplace_back();
    out[it->second].push_back(std::move(sa));
  }
  return out;
}

std::string Capabilities(const Sa& sa) {
  std::string cap;
  if (sa.dpd_enabled) cap += 'D';
  if (sa.nat_detected) cap += 'N';
  return cap;
}

void JsonSa(const Sa& sa, JsonWriter& w) {
  w.BeginObject()
      .Field("tunnel_id", static_cast<uint64_t>(sa.tunnel_id))
      .Field("local", sa.local.ip.ToString())
      .Field("local_port", sa.local.port)
      .Field("remote", sa.remote.ip.ToString())
      .Field("remote_port", sa.remote.port)
      .Field("status", ike::Ikev2StatusName(sa.status))
      .Field("role", sa.initiator ? "initiator" : "responder")
      .Field("map_name", sa.map_name)
      .Field("map_seq", sa.map_seq)
      .Field("profile", sa.profile)
      .Field("encryption", sa.encryption)
      .Field("key_size", sa.key_size)
      .Field("prf", sa.prf)
      .Field("integrity", sa.integrity)
      .Field("dh_group", sa.dh_group)
      .Field("auth_sign", sa.auth_sign)
      .Field("auth_verify", sa.auth_verify)
      .Field("lifetime_s", sa.lifetime_s)
      .Field("active_time_s", sa.active_time_s)
      .Field("spi_local", Fmt("%016llX", static_cast<unsigned long long>(sa.spi_local)))
      .Field("spi_remote", Fmt("%016llX", static_cast<unsigned long long>(sa.spi_remote)))
      .Field("next_request_id", sa.next_request_id)
      .Field("next_peer_request_id", sa.next_peer_request_id)
      .Field("nat_detected", sa.nat_detected)
      .Field("nat_local", sa.nat_local)
      .Field("nat_remote", sa.nat_remote)
      .Field("floated", sa.floated)
      .Field("fvrf", sa.fvrf)
      .Field("ivrf", sa.ivrf);
  w.Key("dpd")
      .BeginObject()
      .Field("enabled", sa.dpd_enabled)
      .Field("mode", sa.dpd_periodic ? "periodic" : "on-demand")
      .Field("interval_s", sa.dpd_interval_s)
      .Field("retry_s", sa.dpd_retry_s)
      .Field("active", sa.dpd_active)
      .Field("probing", sa.dpd_probing)
      .Field("probe_sends", sa.dpd_probe_sends)
      .Field("last_heard_s_ago", sa.dpd_last_heard_s_ago)
      .EndObject();
  w.Key("children").BeginArray();
  for (const auto& c : sa.children)
    w.BeginObject()
        .Field("local_net", c.local_net.ToString())
        .Field("local_mask", c.local_mask.ToString())
        .Field("remote_net", c.remote_net.ToString())
        .Field("remote_mask", c.remote_mask.ToString())
        .Field("protocol", static_cast<uint32_t>(c.protocol))
        .Field("spi_in", c.spi_in)
        .Field("spi_out", c.spi_out)
        .Field("encryption", c.encryption)
        .Field("key_size", c.key_size)
        .Field("esp_hmac", c.esp_hmac)
        .EndObject();
  w.EndArray().EndObject();
}

// The interface an IKEv2 SA runs on: the one its crypto map is applied to, else the crypto
// map interface with its local address ("" if none).
std::string InterfaceOf(const config::Config& c, const Sa& sa) {
  if (!sa.map_name.empty())
    for (const auto& i : c.interfaces)
      if (i.crypto_map == sa.map_name) return i.name;
  for (const auto& i : c.interfaces)
    if (!i.crypto_map.empty() && i.address && *i.address == sa.local.ip) return i.name;
  return "";
}

// Adds `sas` (to s.peer) to session `s`, and recomputes its status for both versions.
void Attach(CryptoSessionInfo& s, const std::vector<Sa>& sas, const config::Config& c) {
  s.ikev2_sas = sas;
  if (s.interface.empty()) s.interface = InterfaceOf(c, sas.front());
  if (s.ike_sas.empty() && s.flows.empty()) {  // IKEv2 only: the rest comes from the SAs
    s.peer_port = sas.front().remote.port;
    s.phase1_id = s.peer.ToString();
    for (const Sa& sa : sas) s.uptime_s = std::max(s.uptime_s, sa.active_time_s);
  }
  if (s.flows.empty()) {
    // The daemon lists no flow for this peer: the IKEv2 SAs' Child SAs, selectors only.
    for (const Sa& sa : sas) {
      for (const auto& ch : sa.children) {
        CryptoSessionInfo::Flow f;
        f.description = std::string("permit ") +
                        (ch.protocol == 0 ? std::string("ip") : std::to_string(ch.protocol)) + " " +
                        ch.local_net.ToString() + "/" + ch.local_mask.ToString() + " " +
                        ch.remote_net.ToString() + "/" + ch.remote_mask.ToString();
        f.active_sas = 2;
        f.has_counters = false;
        s.flows.push_back(std::move(f));
      }
    }
  }
  const bool v1_up =
      std::any_of(s.ike_sas.begin(), s.ike_sas.end(),
                  [](const CryptoSessionInfo::IkeSa& i) { return i.state == "Active"; });
  s.status = SessionStatus(v1_up || AnyReady(sas), !s.flows.empty() || ChildCount(sas) > 0, true);
}

Reply ShowIkev2Sa(CommandContext& ctx) {
  std::vector<Sa> sas = ctx.backend->Ikev2Sas();
  std::optional<IpAddress> local, remote;
  if (ctx.args.Has("v2-sa-local")) local = V4(ctx.args.Get("v2-sa-local"));
  if (ctx.args.Has("v2-sa-remote")) remote = V4(ctx.args.Get("v2-sa-remote"));
  std::erase_if(sas, [&](const Sa& sa) {
    return (local && sa.local.ip != *local) || (remote && sa.remote.ip != *remote);
  });
  if (ctx.json) {
    JsonWriter w;
    JsonIkev2Sas(sas, w);
    ctx.out += w.Take();
  } else {
    ctx.out += FormatIkev2Sas(sas, ctx.args.Has("detailed"));
  }
  return std::nullopt;
}

Reply ShowIkev2Session(CommandContext& ctx) {
  const std::vector<Sa> sas = ctx.backend->Ikev2Sas();
  if (ctx.json) {
    JsonWriter w;
    JsonIkev2Sessions(sas, w);
    ctx.out += w.Take();
  } else {
    ctx.out += FormatIkev2Sessions(sas, ctx.args.Has("detailed"));
  }
  return std::nullopt;
}

Reply ClearIkev2Sa(CommandContext& ctx) {
  ClearIkev2SaFilter f;
  if (ctx.args.Has("v2-clear-local")) f.local = V4(ctx.args.Get("v2-clear-local"));
  if (ctx.args.Has("v2-clear-remote")) f.remote = V4(ctx.args.Get("v2-clear-remote"));
  ctx.backend->ClearCryptoIkev2Sa(f);
  return std::nullopt;
}

}  // namespace

std::string FormatIkev2Sas(const std::vector<ike::Ikev2SaSnapshot>& sas, bool detailed) {
  std::string out = " IPv4 Crypto IKEv2  SA\n\n";
  for (const Sa& sa : sas) {
    if (sa.remote.ip.v6) continue;
    out += SaBlock(sa, detailed) + "\n";
  }
  return out + " IPv6 Crypto IKEv2  SA\n\n";
}

void JsonIkev2Sas(const std::vector<ike::Ikev2SaSnapshot>& sas, JsonWriter& w) {
  w.BeginObject().Key("ikev2_sas").BeginArray();
  for (const Sa& sa : sas) JsonSa(sa, w);
  w.EndArray().EndObject();
}

std::string FormatIkev2Sessions(const std::vector<ike::Ikev2SaSnapshot>& sas, bool detailed) {
  std::string out = " IPv4 Crypto IKEv2 Session\n\n";
  for (const std::vector<Sa>& ses : Sessions(sas)) {
    if (ses.front().remote.ip.v6) continue;
    out += Fmt("Session-id:%llu, Status:%s, IKE count:%zu, CHILD count:%zu\n\n",
               static_cast<unsigned long long>(ses.front().tunnel_id),
               SessionStatus(AnyReady(ses), ChildCount(ses) > 0, true).c_str(), ses.size(),
               ChildCount(ses));
    for (const Sa& sa : ses) out += SaBlock(sa, detailed);
    for (const Sa& sa : ses)
      for (const auto& c : sa.children) out += ChildLines(c, detailed);
    out += "\n";
  }
  return out + " IPv6 Crypto IKEv2 Session\n\n";
}

void JsonIkev2Sessions(const std::vector<ike::Ikev2SaSnapshot>& sas, JsonWriter& w) {
  w.BeginObject().Key("ikev2_sessions").BeginArray();
  for (const std::vector<Sa>& ses : Sessions(sas)) {
    w.BeginObject()
        .Field("session_id", static_cast<uint64_t>(ses.front().tunnel_id))
        .Field("peer", ses.front().remote.ip.ToString())
        .Field("status", SessionStatus(AnyReady(ses), ChildCount(ses) > 0, true))
        .Field("ike_count", static_cast<uint64_t>(ses.size()))
        .Field("child_count", static_cast<uint64_t>(ChildCount(ses)))
        .Key("sas")
        .BeginArray();
    for (const Sa& sa : ses) JsonSa(sa, w);
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
}

Ikev2ByPeer Ikev2SasByPeer(std::vector<ike::Ikev2SaSnapshot> sas) {
  Ikev2ByPeer out;
  for (std::vector<Sa>& ses : Sessions(std::move(sas))) {
    const IpAddress peer = ses.front().remote.ip;
    out.emplace(peer, std::move(ses));
  }
  return out;
}

void AttachIkev2(std::vector<CryptoSessionInfo>& sessions, std::span<const IpAddress> peers,
                 const Ikev2ByPeer& v2, const config::Config& c) {
  if (v2.empty()) return;
  for (CryptoSessionInfo& s : sessions) {
    auto it = v2.find(s.peer);
    if (it != v2.end()) Attach(s, it->second, c);
  }
  for (const IpAddress& p : peers) {
    auto it = v2.find(p);
    if (it == v2.end()) continue;
    const bool listed = std::any_of(sessions.begin(), sessions.end(),
                                    [&](const CryptoSessionInfo& s) { return s.peer == p; });
    if (listed) continue;
    CryptoSessionInfo s;
    s.peer = p;
    Attach(s, it->second, c);
    sessions.push_back(std::move(s));
  }
}

std::vector<CryptoSessionInfo> MergeIkev2Sessions(std::vector<CryptoSessionInfo> sessions,
                                                  std::vector<ike::Ikev2SaSnapshot> sas,
                                                  const config::Config& c) {
  const Ikev2ByPeer v2 = Ikev2SasByPeer(std::move(sas));
  std::vector<IpAddress> peers;
  for (const auto& [peer, list] : v2) peers.push_back(peer);
  AttachIkev2(sessions, peers, v2, c);
  return sessions;
}

std::string Ikev2SessionLines(const CryptoSessionInfo& s, bool detail) {
  if (s.ikev2_sas.empty()) return "";
  std::string out =
      Fmt("  Session ID: %llu\n", static_cast<unsigned long long>(s.ikev2_sas.front().tunnel_id));
  for (const Sa& sa : s.ikev2_sas) {
    const char* state = sa.status == Sa::Status::kReady   ? "Active"
                        : sa.status == Sa::Status::kInNeg ? "Negotiating"
                                                          : "Inactive";
    out += Fmt("  IKEv2 SA: local %s remote %s %s\n", Addr(sa.local).c_str(),
               Addr(sa.remote).c_str(), state);
    if (detail) {
      const std::string cap = Capabilities(sa);
      out +=
          Fmt("          Capabilities:%s connid:%llu lifetime:%s\n",
              cap.empty() ? "(none)" : cap.c_str(), static_cast<unsigned long long>(sa.tunnel_id),
              HhMmSs(static_cast<int64_t>(sa.lifetime_s) - sa.active_time_s).c_str());
    }
  }
  return out;
}

void JsonIkev2SessionSas(const CryptoSessionInfo& s, JsonWriter& w) {
  w.Key("ikev2_sas").BeginArray();
  for (const Sa& sa : s.ikev2_sas)
    w.BeginObject()
        .Field("local", sa.local.ip.ToString())
        .Field("local_port", sa.local.port)
        .Field("remote", sa.remote.ip.ToString())
        .Field("remote_port", sa.remote.port)
        .Field("status", ike::Ikev2StatusName(sa.status))
        .Field("capabilities", Capabilities(sa))
        .Field("tunnel_id", static_cast<uint64_t>(sa.tunnel_id))
        .Field("lifetime_left_s", static_cast<int64_t>(sa.lifetime_s) - sa.active_time_s)
        .EndObject();
  w.EndArray();
}

void AddIkev2OperCommands(Grammar& g) {
  Node* priv = g.root(Mode::kPrivExec);

  // show crypto ikev2 sa [local A | remote A] [detailed]
  Node* show = g.Kw(priv, "show", "Show running system information");
  Node* ikev2 = g.Kw(g.Kw(show, "crypto", "Encryption module"), "ikev2", "Shows ikev2 information");
  Node* sa = g.Kw(ikev2, "sa", "Shows ikev2 SAs");
  sa->handler = ShowIkev2Sa;
  Node* detailed = g.Kw(sa, "detailed", "detail ikev2 SA information");
  detailed->handler = ShowIkev2Sa;
  Node* local = g.Kw(sa, "local", "Local Address");
  Node* laddr = g.Ip(local, "A.B.C.D", "Local IPv4 address", "v2-sa-local");
  Node* remote = g.Kw(sa, "remote", "Remote Address");
  Node* raddr = g.Ip(remote, "A.B.C.D", "Remote IPv4 address", "v2-sa-remote");
  for (Node* n : {laddr, raddr}) {
    n->handler = ShowIkev2Sa;
    Grammar::Link(n, detailed);
  }

  // show crypto ikev2 session [detailed]
  Node* session = g.Kw(ikev2, "session", "Shows ikev2 active session");
  session->handler = ShowIkev2Session;
  g.Kw(session, "detailed", "detail ikev2 session information")->handler = ShowIkev2Session;

  // clear crypto ikev2 sa [local A | remote A]
  Node* clear = g.Kw(priv, "clear", "Reset functions");
  Node* cv2 = g.Kw(g.Kw(clear, "crypto", "Clear crypto information"), "ikev2", "Clear IKEv2");
  Node* csa = g.Kw(cv2, "sa", "Clear IKEv2 SAs");
  csa->handler = ClearIkev2Sa;
  g.Ip(g.Kw(csa, "local", "Local Address"), "A.B.C.D", "Local IPv4 address", "v2-clear-local")
      ->handler = ClearIkev2Sa;
  g.Ip(g.Kw(csa, "remote", "Remote Address"), "A.B.C.D", "Remote IPv4 address", "v2-clear-remote")
      ->handler = ClearIkev2Sa;

  // debug crypto ikev2 / no debug crypto ikev2 / undebug crypto ikev2
  auto on = [](CommandContext& ctx) -> Reply {
    ctx.backend->SetDebugIkev2(true);
    ctx.out += "IKEv2 default debugging is on\n";
    return std::nullopt;
  };
  auto off = [](CommandContext& ctx) -> Reply {
    ctx.backend->SetDebugIkev2(false);
    ctx.out += "IKEv2 default debugging is off\n";
    return std::nullopt;
  };
  Node* debug = g.Kw(priv, "debug", "Debugging functions (see also 'undebug')");
  Node* dv2 = g.Kw(g.Kw(debug, "crypto", "Cryptographic subsystem"), "ikev2", "IKEv2 debug");
  dv2->handler = on;
  dv2->no_handler = off;
  Node* undebug = g.Kw(priv, "undebug", "Disable debugging functions (see also 'debug')");
  g.Kw(g.Kw(undebug, "crypto", "Cryptographic subsystem"), "ikev2", "IKEv2 debug")->handler = off;
}

}  // namespace ikepulse::cli
