// The `show` command tree (privileged EXEC; `show version` also in user EXEC), `show crypto
// map`, and the plain configuration shows (running-config, startup-config, version, debugging).
#include <cstdio>
#include <cstring>

#include "cli/cli.h"
#include "cli/command_tree.h"
#include "cli/config_util.h"
#include "cli/show.h"
#include "cli/show_stream.h"

namespace ikepulse::cli {

namespace {

using HandlerFn = std::optional<std::string> (*)(CommandContext&);

std::optional<std::string> Text(CommandContext& ctx, std::string text) {
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Field("text", text).EndObject();
    ctx.out += w.Take();
  } else {
    ctx.out += text;
  }
  return std::nullopt;
}

std::optional<std::string> ShowRunning(CommandContext& ctx) {
  const std::string cfg = RenderRunningConfig(ctx.backend->Running());
  if (ctx.json) return Text(ctx, cfg);
  ctx.out += "Building configuration...\n\nCurrent configuration : " +
             std::to_string(cfg.size()) + " bytes\n" + cfg;
  return std::nullopt;
}

std::optional<std::string> ShowStartup(CommandContext& ctx) {
  const std::string text = ctx.backend->StartupConfigText();
  if (text.empty()) return Text(ctx, "startup-config is not present\n");
  return Text(ctx, text);
}

std::string Uptime(int64_t s) {
  const int64_t weeks = s / 604800, days = s / 86400 % 7, hours = s / 3600 % 24,
                minutes = s / 60 % 60;
  std::string out;
  auto part = [&](int64_t v, const char* unit) {
    if (v == 0 && !(out.empty() && unit == std::string("minute"))) return;
    if (!out.empty()) out += ", ";
    out += std::to_string(v) + " " + unit + (v == 1 ? "" : "s");
  };
  part(weeks, "week");
  part(days, "day");
  part(hours, "hour");
  part(minutes, "minute");
  return out;
}

std::optional<std::string> ShowVersion(CommandContext& ctx) {
  const std::string host = ctx.backend->Running().hostname;
  const int64_t up = ctx.backend->UptimeSeconds();
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject()
        .Field("software", "ikepulse")
        .Field("version", IKEPULSE_VERSION)
        .Field("hostname", host)
        .Field("uptime_s", up)
        .EndObject();
    ctx.out += w.Take();
    return std::nullopt;
  }
  ctx.out += std::string("ikepulse IKEv1 (ISAKMP) keying daemon, Version ") + IKEPULSE_VERSION +
             "\nCisco IOS-style configuration; RFC 3706 Dead Peer Detection (on-demand and "
             "periodic)\n\n" +
             host + " uptime is " + Uptime(up) + "\n";
  return std::nullopt;
}

std::optional<std::string> ShowDebugging(CommandContext& ctx) {
  const bool on = ctx.backend->DebugIsakmp();
  const bool v2 = ctx.backend->DebugIkev2();
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject().Field("crypto_isakmp", on).Field("crypto_ikev2", v2).EndObject();
    ctx.out += w.Take();
    return std::nullopt;
  }
  if (on || v2) ctx.out += "Cryptographic Subsystem:\n";
  if (on) ctx.out += "  Crypto ISAKMP debugging is on\n";
  if (v2) ctx.out += "  IKEv2 default debugging is on\n";
  return std::nullopt;
}

std::optional<std::string> ShowIsakmpSa(CommandContext& ctx) {
  if (ctx.json) {
    JsonWriter w;
    JsonIsakmpSas(ctx.backend->IsakmpSas(), w);
    ctx.out += w.Take();
  } else {
    ctx.stream = StreamIsakmpSas(*ctx.backend, ctx.args.Has("detail"));
  }
  return std::nullopt;
}

std::optional<std::string> ShowIsakmpPolicy(CommandContext& ctx) {
  if (ctx.json) {
    JsonWriter w;
    JsonIsakmpPolicies(ctx.backend->Running(), w);
    ctx.out += w.Take();
  } else {
    ctx.out += FormatIsakmpPolicies(ctx.backend->Running());
  }
  return std::nullopt;
}

std::optional<std::string> ShowIsakmpKey(CommandContext& ctx) {
  if (ctx.json) return std::nullopt;  // no JSON form: keys stay out of machine output
  ctx.out += FormatIsakmpKeys(ctx.backend->Running());
  return std::nullopt;
}

std::optional<std::string> ShowIpsecSa(CommandContext& ctx) {
  std::optional<IpAddress> peer;
  if (ctx.args.Has("ipsecpeer")) peer = V4(ctx.args.Get("ipsecpeer"));
  if (ctx.json) {
    JsonWriter w;
    JsonIpsecSas(ctx.backend->IpsecSas(), peer, w);
    ctx.out += w.Take();
  } else {
    ctx.stream = StreamIpsecSas(*ctx.backend, peer);
  }
  return std::nullopt;
}

std::optional<std::string> ShowSession(CommandContext& ctx) {
  if (ctx.json) {
    JsonWriter w;
    JsonCryptoSessions(MergeIkev2Sessions(ctx.backend->CryptoSessions(), ctx.backend->Ikev2Sas(),
                                          ctx.backend->Running()),
                       w);
    ctx.out += w.Take();
  } else {
    ctx.stream = StreamCryptoSessions(*ctx.backend, ctx.args.Has("detail"));
  }
  return std::nullopt;
}

std::optional<std::string> ShowMap(CommandContext& ctx) {
  if (ctx.json) {
    JsonWriter w;
    JsonCryptoMaps(ctx.backend->Running(), *ctx.backend, w);
    ctx.out += w.Take();
  } else {
    ctx.out += FormatCryptoMaps(ctx.backend->Running(), *ctx.backend);
  }
  return std::nullopt;
}

std::string AclText(const config::AclEntry& e) {
  return std::string(e.permit ? "permit " : "deny ") + ProtocolName(e.protocol) + " " +
         AclOperand(e.src, e.src_wildcard) + " " + AclOperand(e.dst, e.dst_wildcard);
}

}  // namespace

std::string FormatCryptoMaps(const config::Config& c, Backend& backend) {
  std::string out;
  for (const auto& e : c.crypto_maps) {
    out += "Crypto Map IPv4 \"" + e.map_name + "\" " + std::to_string(e.seq) + " ipsec-isakmp\n";
    for (const auto& p : e.peers) {
      out += "\tPeer = " + p.host;
      if (p.dynamic) out += " (dynamic)";
      if (p.is_default) out += " (default)";
      out += "\n";
    }
    if (!e.ikev2_profile.empty()) out += "\tIKEv2 Profile: " + e.ikev2_profile + "\n";
    if (!e.match_address.empty()) {
      out += "\tExtended IP access list " + e.match_address + "\n";
      if (const auto* acl = c.FindAcl(e.match_address)) {
        for (const auto& a : acl->entries)
          out += "\t    access-list " + e.match_address + " " + AclText(a) + "\n";
      }
    }
    const auto current = backend.CurrentPeer(e.map_name, e.seq);
    out += "\tCurrent peer: " + (current ? current->ToString() : std::string("(none)")) + "\n";
    out += "\tSecurity association lifetime: " +
           std::to_string(e.lifetime_kb.value_or(config::kDefaultIpsecLifetimeKb)) +
           " kilobytes/" + std::to_string(e.lifetime_s.value_or(config::kDefaultIpsecLifetimeS)) +
           " seconds\n";
    out += "\tResponder-Only (Y/N): N\n";
    out += e.pfs_group ? "\tPFS (Y/N): Y\n\tDH group:  group" + std::to_string(*e.pfs_group) + "\n"
                       : std::string("\tPFS (Y/N): N\n");
    out += "\tMixed-mode : Disabled\n";
    out += "\tTransform sets={ \n";
    for (const auto& t : e.transform_sets) {
      const auto* ts = c.FindTransformSet(t);
      if (!ts) {
        out += "\t\t" + t + ":  { (not defined) } , \n";
        continue;
      }
      out += "\t\t" + t + ":  { " + EspCipherName(ts->cipher) + " " + EspAuthName(ts->auth) +
             "  } , \n";
    }
    out += "\t}\n";
    if (e.keep_up) out += "\tikepulse keep-up: enabled\n";
    out += "\tInterfaces using crypto map " + e.map_name + ":\n";
    for (const auto& i : c.interfaces)
      if (i.crypto_map == e.map_name) out += "\t\t" + i.name + "\n";
    out += "\n";
  }
  return out;
}

void JsonCryptoMaps(const config::Config& c, Backend& backend, JsonWriter& w) {
  w.BeginObject().Key("crypto_maps").BeginArray();
  for (const auto& e : c.crypto_maps) {
    w.BeginObject().Field("name", e.map_name).Field("seq", e.seq).Key("peers").BeginArray();
    for (const auto& p : e.peers)
      w.BeginObject()
          .Field("host", p.host)
          .Field("default", p.is_default)
          .Field("dynamic", p.dynamic)
          .EndObject();
    w.EndArray();
    const auto current = backend.CurrentPeer(e.map_name, e.seq);
    w.Key("current_peer");
    if (current) w.String(current->ToString());
    else w.Null();
    w.Key("transform_sets").BeginArray();
    for (const auto& t : e.transform_sets) w.String(t);
    w.EndArray()
        .Field("match_address", e.match_address)
        .Field("lifetime_s", e.lifetime_s.value_or(config::kDefaultIpsecLifetimeS))
        .Field("lifetime_kb", e.lifetime_kb.value_or(config::kDefaultIpsecLifetimeKb))
        .Key("pfs_group");
    if (e.pfs_group) w.UInt(*e.pfs_group);
    else w.Null();
    w.Field("keep_up", e.keep_up).Key("ikev2_profile");
    if (!e.ikev2_profile.empty())
      w.String(e.ikev2_profile);
    else
      w.Null();
    w.Key("interfaces").BeginArray();
    for (const auto& i : c.interfaces)
      if (i.crypto_map == e.map_name) w.String(i.name);
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
}

// IOS's table layout (rule, title, column widths) and its first three rows; IOS's Outgoing /
// Rejected IKE Requests rows and its IPsec block are not printed (ikepulse keeps no such
// counters); the half-open, NO_PROPOSAL_CHOSEN, MM2 and IKEv2 rows are ikepulse's.
std::optional<std::string> ShowCallAdmission(CommandContext& ctx) {
  const CallAdmissionInfo i = ctx.backend->CallAdmission();
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject()
        .Field("max_in_negotiation", i.max_in_negotiation)
        .Field("limit_configured", i.limit_configured)
        .Field("ike_sas", i.ike_sas)
        .Field("active", i.active)
        .Field("negotiating", i.negotiating)
        .Field("half_open", i.half_open)
        .Field("half_open_peak", i.half_open_peak)
        .Field("incoming", i.incoming)
        .Field("accepted", i.incoming - i.rejected)
        .Field("rejected", i.rejected)
        .Field("promoted", i.promoted)
        .Field("evicted", i.evicted)
        .Field("evicted_per_source", i.evicted_per_source)
        .Field("expired", i.expired)
        .Field("no_proposal_sent", i.no_proposal_sent)
        .Field("no_proposal_suppressed", i.no_proposal_suppressed)
        .Field("mm2_resent", i.mm2_resent)
        .Field("mm2_resends_suppressed", i.mm2_resends_suppressed)
        .Field("ikev2_half_open", i.ikev2_half_open)
        .Field("ikev2_max_in_negotiation", i.ikev2_limit)
        .Field("ikev2_cookie_threshold", i.ikev2_cookie_threshold)
        .Field("ikev2_cookies_sent", i.ikev2_cookies_sent)
        .Field("ikev2_cookies_valid", i.ikev2_cookies_valid)
        .Field("ikev2_cookies_invalid", i.ikev2_cookies_invalid)
        .Field("ikev2_evicted", i.ikev2_evicted)
        .EndObject();
    ctx.out += w.Take();
    return std::nullopt;
  }
  // IOS's columns: "label  value" fields of 31, 18 and 18 characters (the value
  // right-aligned), one space apart.
  auto field = [](const char* label, uint64_t v, size_t width) {
    const std::string num = std::to_string(v);
    const size_t used = std::strlen(label) + num.size();
    return std::string(label) + std::string(width > used ? width - used : 1, ' ') + num;
  };
  auto row = [&](const char* a, uint64_t x, const char* b, uint64_t y, const char* c, uint64_t z) {
    std::string line = field(a, x, 31);
    if (b) line += " " + field(b, y, 18);
    if (c) line += " " + field(c, z, 18);
    ctx.out += line + "\n";
  };
  const std::string rule(69, '-');
  ctx.out += rule + "\n               Crypto Call Admission Control Statistics\n" + rule + "\n";
  row("System Resource Limit:", 0, "Max IKE SAs:", 0, "Max in nego:", i.max_in_negotiation);
  row("Total IKE SA Count:", i.ike_sas, "active:", i.active, "negotiating:",
      i.negotiating + i.half_open);
  row("Incoming IKE Requests:", i.incoming, "accepted:", i.incoming - i.rejected, "rejected:",
      i.rejected);
  row("Half-open IKE SAs:", i.half_open, "peak:", i.half_open_peak, "reached MM3:", i.promoted);
  row("Half-open evicted:", i.evicted, "per source:", i.evicted_per_source, "expired:",
      i.expired);
  row("NO_PROPOSAL_CHOSEN:", i.no_proposal_sent, "rate-limited:", i.no_proposal_suppressed,
      nullptr, 0);
  row("Half-open MM2 resent:", i.mm2_resent, "rate-limited:", i.mm2_resends_suppressed, nullptr,
      0);
  row("IKEv2 half-open:", i.ikev2_half_open, "max in nego:", i.ikev2_limit,
      "cookies from:", i.ikev2_cookie_threshold);
  row("IKEv2 COOKIE sent:", i.ikev2_cookies_sent, "valid:", i.ikev2_cookies_valid,
      "invalid:", i.ikev2_cookies_invalid);
  row("IKEv2 evicted:", i.ikev2_evicted, nullptr, 0, nullptr, 0);
  return std::nullopt;
}

void AddShowCommands(Grammar& g) {
  Node* user_show = g.Kw(g.root(Mode::kUserExec), "show", "Show running system information");
  g.Kw(user_show, "version", "System hardware and software status")->handler = ShowVersion;

  Node* show = g.Kw(g.root(Mode::kPrivExec), "show", "Show running system information");
  g.Kw(show, "version", "System hardware and software status")->handler = ShowVersion;
  g.Kw(show, "running-config", "Current operating configuration")->handler = ShowRunning;
  g.Kw(show, "startup-config", "Contents of startup configuration")->handler = ShowStartup;
  g.Kw(show, "debugging", "State of each debugging option")->handler = ShowDebugging;

  Node* crypto = g.Kw(show, "crypto", "Encryption module");
  Node* isakmp = g.Kw(crypto, "isakmp", "Show ISAKMP");
  Node* sa = g.Kw(isakmp, "sa", "Show ISAKMP Security Associations");
  sa->handler = ShowIsakmpSa;
  g.Kw(sa, "detail", "Show ISAKMP SA Detail")->handler = ShowIsakmpSa;
  g.Kw(isakmp, "policy", "Show ISAKMP Protection Suite Policy")->handler = ShowIsakmpPolicy;
  g.Kw(isakmp, "key", "Show ISAKMP preshared keys")->handler = ShowIsakmpKey;

  Node* ipsec = g.Kw(crypto, "ipsec", "Show IPSEC policy");
  Node* isa = g.Kw(ipsec, "sa", "IPSEC SA table");
  isa->handler = ShowIpsecSa;
  Node* peer = g.Kw(isa, "peer", "Show SAs for a peer");
  g.Ip(peer, "A.B.C.D", "IPv4 address of the peer", "ipsecpeer")->handler = ShowIpsecSa;

  Node* session = g.Kw(crypto, "session", "Show crypto sessions (tunnels)");
  session->handler = ShowSession;
  g.Kw(session, "detail", "Show detailed crypto session information")->handler = ShowSession;

  g.Kw(crypto, "map", "Crypto maps")->handler = ShowMap;

  Node* call = g.Kw(crypto, "call", "Show crypto call information");
  Node* adm = g.Kw(call, "admission", "Show crypto call admission information");
  g.Kw(adm, "statistics", "Show crypto call admission statistics")->handler = ShowCallAdmission;
}

}  // namespace ikepulse::cli
