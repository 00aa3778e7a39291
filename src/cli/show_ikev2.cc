// `show crypto ikev2 proposal [NAME]`, `show crypto ikev2 policy [NAME]` and `show crypto
// ikev2 profile [NAME]`: the IKEv2 configuration in IOS XE's layout (the lines for settings
// ikepulse has; IOS's smart-default proposal and policy are not shown: ikepulse has none),
// and in JSON. Pre-shared keys never appear in either.
#include <string>

#include "cli/command_tree.h"
#include "cli/config_util.h"
#include "cli/show.h"

namespace ikepulse::cli {

namespace {

using Reply = std::optional<std::string>;

std::string EncryptionShow(config::Ikev2Encryption e) {
  switch (e) {
    case config::Ikev2Encryption::kAesCbc128:
      return "AES-CBC-128";
    case config::Ikev2Encryption::kAesCbc256:
      return "AES-CBC-256";
    case config::Ikev2Encryption::kAesGcm128:
      return "AES-GCM-128";
    case config::Ikev2Encryption::kAesGcm256:
      return "AES-GCM-256";
  }
  return "";
}

// IOS shows HMAC-SHA1-96 as SHA96 among the integrity algorithms, SHA1 among the PRFs.
std::string HashShow(config::Ikev2Hash h, bool integrity) {
  switch (h) {
    case config::Ikev2Hash::kSha1:
      return integrity ? "SHA96" : "SHA1";
    case config::Ikev2Hash::kSha256:
      return "SHA256";
    case config::Ikev2Hash::kSha384:
      return "SHA384";
    case config::Ikev2Hash::kSha512:
      return "SHA512";
  }
  return "";
}

std::string GroupShow(uint16_t g) {
  const char* name = "";
  switch (g) {
    case 1:
      name = "DH_GROUP_768_MODP";
      break;
    case 2:
      name = "DH_GROUP_1024_MODP";
      break;
    case 5:
      name = "DH_GROUP_1536_MODP";
      break;
    case 14:
      name = "DH_GROUP_2048_MODP";
      break;
    case 15:
      name = "DH_GROUP_3072_MODP";
      break;
    case 16:
      name = "DH_GROUP_4096_MODP";
      break;
    case 19:
      name = "DH_GROUP_256_ECP";
      break;
    case 20:
      name = "DH_GROUP_384_ECP";
      break;
    case 21:
      name = "DH_GROUP_521_ECP";
      break;
    default:
      break;
  }
  return std::string(name) + "/Group " + std::to_string(g);
}

template <class V, class F>
std::string Spaced(const V& values, F name) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " ") + name(v);
  return out.empty() ? "none" : out;
}

std::string DpdShow(const config::KeepaliveConfig& k) {
  if (!k.enabled) return "disabled";
  return "interval " + std::to_string(k.interval_s) + ", retry-interval " +
         std::to_string(k.retry_s) +
         (k.mode == config::DpdMode::kPeriodic ? ", periodic" : ", on-demand");
}

std::string IdentityShow(const config::Ikev2IdentityMatch& m) {
  if (m.kind == config::Ikev2IdentityMatch::Kind::kFqdn) return "fqdn " + m.fqdn;
  if (m.kind == config::Ikev2IdentityMatch::Kind::kFqdnDomain) return "fqdn domain " + m.fqdn;
  return "address " + m.address.ToString() + (m.mask ? " " + m.mask->ToString() : "");
}

// Runs `f` on each object of `objects` (a map by name), or on the one named `only`.
template <class M, class F>
void ForEach(const M& objects, const std::string& only, F f) {
  for (const auto& [name, o] : objects)
    if (only.empty() || name == only) f(o);
}

void JsonStrings(JsonWriter& w, std::string_view key, const std::vector<std::string>& v) {
  w.Key(key).BeginArray();
  for (const auto& s : v) w.String(s);
  w.EndArray();
}

template <class V, class F>
std::vector<std::string> Names(const V& values, F name) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(name(v));
  return out;
}

Reply ShowProposals(CommandContext& ctx) {
  const std::string only = ctx.args.Get("ikev2-show-name");
  const config::Config& c = ctx.backend->Running();
  if (ctx.json) {
    JsonWriter w;
    JsonIkev2Proposals(c, only, w);
    ctx.out += w.Take();
  } else {
    ctx.out += FormatIkev2Proposals(c, only);
  }
  return std::nullopt;
}

Reply ShowPolicies(CommandContext& ctx) {
  const std::string only = ctx.args.Get("ikev2-show-name");
  const config::Config& c = ctx.backend->Running();
  if (ctx.json) {
    JsonWriter w;
    JsonIkev2Policies(c, only, w);
    ctx.out += w.Take();
  } else {
    ctx.out += FormatIkev2Policies(c, only);
  }
  return std::nullopt;
}

Reply ShowProfiles(CommandContext& ctx) {
  const std::string only = ctx.args.Get("ikev2-show-name");
  const config::Config& c = ctx.backend->Running();
  if (ctx.json) {
    JsonWriter w;
    JsonIkev2Profiles(c, only, w);
    ctx.out += w.Take();
  } else {
    ctx.out += FormatIkev2Profiles(c, only);
  }
  return std::nullopt;
}

}  // namespace

std::string FormatIkev2Proposals(const config::Config& c, const std::string& only) {
  std::string out;
  ForEach(c.ikev2_proposals, only, [&](const config::Ikev2Proposal& p) {
    out += " IKEv2 proposal: " + p.name + "\n";
    out += "     Encryption : " + Spaced(p.encryption, EncryptionShow) + "\n";
    out += "     Integrity  : " +
           Spaced(p.integrity, [](config::Ikev2Hash h) { return HashShow(h, true); }) + "\n";
    // With no `prf` line the PRFs are the integrity algorithms' HMACs.
    const auto& prf = p.prf.empty() ? p.integrity : p.prf;
    out +=
        "     PRF        : " + Spaced(prf, [](config::Ikev2Hash h) { return HashShow(h, false); }) +
        "\n";
    out += "     DH Group   : " + Spaced(p.groups, GroupShow) + "\n";
  });
  return out;
}

void JsonIkev2Proposals(const config::Config& c, const std::string& only, JsonWriter& w) {
  w.BeginObject().Key("proposals").BeginArray();
  ForEach(c.ikev2_proposals, only, [&](const config::Ikev2Proposal& p) {
    w.BeginObject().Field("name", p.name);
    JsonStrings(w, "encryption", Names(p.encryption, Ikev2EncryptionName));
    JsonStrings(w, "integrity", Names(p.integrity, Ikev2HashName));
    JsonStrings(w, "prf", Names(p.prf.empty() ? p.integrity : p.prf, Ikev2HashName));
    w.Key("groups").BeginArray();
    for (uint16_t g : p.groups) w.UInt(g);
    w.EndArray().Field("complete", p.Complete()).EndObject();
  });
  w.EndArray().EndObject();
}

std::string FormatIkev2Policies(const config::Config& c, const std::string& only) {
  std::string out;
  ForEach(c.ikev2_policies, only, [&](const config::Ikev2Policy& pol) {
    out += " IKEv2 policy : " + pol.name + "\n";
    out += "      Match fvrf  : global\n";
    if (pol.match_address_local.empty()) out += "      Match address local : any\n";
    for (const auto& a : pol.match_address_local)
      out += "      Match address local : " + a.ToString() + "\n";
    for (const auto& p : pol.proposals) out += "      Proposal    : " + p + "\n";
    out += "\n";
  });
  return out;
}

void JsonIkev2Policies(const config::Config& c, const std::string& only, JsonWriter& w) {
  w.BeginObject().Key("policies").BeginArray();
  ForEach(c.ikev2_policies, only, [&](const config::Ikev2Policy& pol) {
    w.BeginObject().Field("name", pol.name);
    JsonStrings(w, "match_address_local",
                Names(pol.match_address_local, [](const IpAddress& a) { return a.ToString(); }));
    JsonStrings(w, "proposals", pol.proposals);
    w.EndObject();
  });
  w.EndArray().EndObject();
}

std::string FormatIkev2Profiles(const config::Config& c, const std::string& only) {
  std::string out;
  ForEach(c.ikev2_profiles, only, [&](const config::Ikev2Profile& p) {
    if (!out.empty()) out += "\n";
    out += "IKEv2 profile: " + p.name + "\n";
    out += " Match criteria:\n";
    if (p.match_identity_remote.empty()) {
      out += "  Identities: none\n";
    } else {
      out += "  Identities:\n";
      for (const auto& m : p.match_identity_remote) out += "   " + IdentityShow(m) + "\n";
    }
    out += " Local identity: " +
           (p.identity_local                 ? "address " + p.identity_local->ToString()
            : !p.identity_local_fqdn.empty() ? "fqdn " + p.identity_local_fqdn
                                             : std::string("none")) +
           "\n";
    out += std::string(" Local authentication method: ") +
           (p.authentication_local ? "pre-share" : "none") + "\n";
    out += std::string(" Remote authentication method(s): ") +
           (p.authentication_remote ? "pre-share" : "none") + "\n";
    out += " Keyring: " + (p.keyring_local.empty() ? std::string("none") : p.keyring_local) + "\n";
    out += " Lifetime: " + std::to_string(p.lifetime_s) + " seconds\n";
    out += " DPD: " + DpdShow(p.dpd) + "\n";
  });
  return out;
}

void JsonIkev2Profiles(const config::Config& c, const std::string& only, JsonWriter& w) {
  w.BeginObject().Key("profiles").BeginArray();
  ForEach(c.ikev2_profiles, only, [&](const config::Ikev2Profile& p) {
    w.BeginObject().Field("name", p.name).Key("match_identity_remote").BeginArray();
    for (const auto& m : p.match_identity_remote) {
      if (m.kind != config::Ikev2IdentityMatch::Kind::kAddress) {
        w.BeginObject()
            .Field(m.kind == config::Ikev2IdentityMatch::Kind::kFqdn ? "fqdn" : "fqdn_domain",
                   m.fqdn)
            .EndObject();
        continue;
      }
      w.BeginObject().Field("address", m.address.ToString()).Key("mask");
      if (m.mask)
        w.String(m.mask->ToString());
      else
        w.Null();
      w.EndObject();
    }
    w.EndArray().Key("identity_local");
    if (p.identity_local)
      w.String(p.identity_local->ToString());
    else
      w.Null();
    w.Key("identity_local_fqdn");
    if (!p.identity_local_fqdn.empty())
      w.String(p.identity_local_fqdn);
    else
      w.Null();
    w.Key("authentication_local");
    if (p.authentication_local)
      w.String("pre-share");
    else
      w.Null();
    w.Key("authentication_remote");
    if (p.authentication_remote)
      w.String("pre-share");
    else
      w.Null();
    w.Key("keyring");
    if (!p.keyring_local.empty())
      w.String(p.keyring_local);
    else
      w.Null();
    w.Field("lifetime_s", p.lifetime_s).Key("dpd");
    if (p.dpd.enabled)
      w.BeginObject()
          .Field("interval_s", p.dpd.interval_s)
          .Field("retry_s", p.dpd.retry_s)
          .Field("mode", p.dpd.mode == config::DpdMode::kPeriodic ? "periodic" : "on-demand")
          .EndObject();
    else
      w.Null();
    w.Field("complete", p.Complete()).EndObject();
  });
  w.EndArray().EndObject();
}

void AddIkev2ShowCommands(Grammar& g) {
  Node* show = g.Kw(g.root(Mode::kPrivExec), "show", "Show running system information");
  Node* crypto = g.Kw(show, "crypto", "Encryption module");
  Node* ikev2 = g.Kw(crypto, "ikev2", "Shows ikev2 information");
  const struct {
    const char* kw;
    const char* help;
    const char* name_help;
    Reply (*handler)(CommandContext&);
  } kShows[] = {
      {"proposal", "Crypto IKEv2 Proposal", "IKEv2 proposal name", ShowProposals},
      {"policy", "Crypto IKEv2 Policy", "IKEv2 policy name", ShowPolicies},
      {"profile", "Shows ikev2 profiles", "IKEv2 profile name", ShowProfiles},
  };
  for (const auto& s : kShows) {
    Node* n = g.Kw(ikev2, s.kw, s.help);
    n->handler = s.handler;
    g.Word(n, "WORD", s.name_help, "ikev2-show-name")->handler = s.handler;
  }
}

}  // namespace ikepulse::cli
