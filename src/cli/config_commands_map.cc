// `crypto map NAME SEQ [ipsec-isakmp]` and its sub-mode: `set peer` (in order; one default,
// first), `set transform-set`, `match address`, `set pfs`, `set security-association
// lifetime`, `set ikev2-profile`, and the ikepulse extension `ikepulse keep-up`.
#include <algorithm>
#include <cctype>

#include "cli/command_tree.h"
#include "cli/config_util.h"

namespace ikepulse::cli {

namespace {

constexpr char kNoEntry[] = "% The crypto map entry being edited no longer exists";

config::CryptoMapEntry* Current(CommandContext& ctx) {
  return FindCryptoMap(*ctx.config, ctx.mode->map_name, ctx.mode->map_seq);
}

// Runs `f` on the entry being edited.
template <typename F>
Handler OnEntry(F f) {
  return [f](CommandContext& ctx) -> std::optional<std::string> {
    config::CryptoMapEntry* e = Current(ctx);
    if (!e) return kNoEntry;
    return f(ctx, *e);
  };
}

bool ValidHostName(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  bool alpha = false;
  for (char c : h) {
    if (std::isalpha(static_cast<unsigned char>(c))) alpha = true;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
      return false;
  }
  return alpha;  // all digits and dots would be a (bad) address, not a name
}

std::optional<std::string> SetPeer(CommandContext& ctx, config::CryptoMapEntry& e) {
  config::CryptoMapPeer p;
  p.host = ctx.args.Get("peerhost");
  auto addr = IpAddress::Parse(p.host);
  if (addr && !addr->v6) {
    p.address = addr;
    p.host = addr->ToString();
  } else if (!ValidHostName(p.host)) {
    return "% Invalid peer address or host name: " + p.host;
  }
  p.dynamic = ctx.args.Has("dynamic");
  if (p.dynamic && p.address) return "% The dynamic keyword applies to host names only";
  p.is_default = ctx.args.Has("default");
  auto it = std::find_if(e.peers.begin(), e.peers.end(),
                         [&](const config::CryptoMapPeer& q) { return q.host == p.host; });
  if (!p.is_default) {
    if (it != e.peers.end()) {
      it->dynamic = p.dynamic;
      return std::nullopt;  // IOS ignores a peer that is already listed
    }
    e.peers.push_back(std::move(p));
    return std::nullopt;
  }
  // IOS: only one default peer, and it must be the first one.
  if (it != e.peers.end()) e.peers.erase(it);
  for (auto& q : e.peers) q.is_default = false;
  e.peers.insert(e.peers.begin(), std::move(p));
  return std::nullopt;
}

void AddEntryCommand(Grammar& g) {
  Node* crypto = g.Kw(g.root(Mode::kConfig), "crypto", "Encryption module");
  Node* map = g.Kw(crypto, "map", "Enter a crypto map");
  Node* name = g.Word(map, "WORD", "Crypto map tag", "mapname");
  Node* seq = g.Num(name, 1, 65535, "Sequence to insert into crypto map entry", "seq");
  Node* isakmp = g.Kw(seq, "ipsec-isakmp", "IPSEC w/ISAKMP");
  Handler enter = [](CommandContext& ctx) -> std::optional<std::string> {
    bool created = false;
    const std::string m = ctx.args.Get("mapname");
    const auto s = static_cast<uint32_t>(ctx.args.Num("seq"));
    GetOrCreateCryptoMap(*ctx.config, m, s, &created);
    if (created)
      ctx.out +=
          "% NOTE: This new crypto map will remain disabled until a peer\n"
          "        and a valid access list have been configured.\n";
    *ctx.mode = ModeState{};
    ctx.mode->mode = Mode::kConfigCryptoMap;
    ctx.mode->map_name = m;
    ctx.mode->map_seq = s;
    return std::nullopt;
  };
  Handler remove_entry = [](CommandContext& ctx) -> std::optional<std::string> {
    auto& v = ctx.config->crypto_maps;
    const std::string m = ctx.args.Get("mapname");
    const auto s = static_cast<uint32_t>(ctx.args.Num("seq"));
    auto it = std::find_if(v.begin(), v.end(),
                           [&](const auto& e) { return e.map_name == m && e.seq == s; });
    if (it == v.end()) return "% Crypto map " + m + " " + std::to_string(s) + " not found";
    v.erase(it);
    return std::nullopt;
  };
  seq->handler = enter;
  isakmp->handler = enter;
  seq->no_handler = remove_entry;
  isakmp->no_handler = remove_entry;
  name->no_handler = [](CommandContext& ctx) -> std::optional<std::string> {
    auto& v = ctx.config->crypto_maps;
    const std::string m = ctx.args.Get("mapname");
    const auto n = v.erase_if([&](const auto& e) { return e.map_name == m; });
    if (n == 0) return "% Crypto map " + m + " not found";
    return std::nullopt;
  };
}

void AddSetCommands(Grammar& g, Node* root) {
  Node* set = g.Kw(root, "set", "Set values for encryption/decryption");

  // set peer {host-name [dynamic] | ip-address} [default]
  Node* peer = g.Kw(set, "peer", "Allowed Encryption/Decryption peer");
  Node* host = g.Word(peer, "Hostname or A.B.C.D", "IP address or Host name of Peer", "peerhost");
  Node* def = g.Kw(host, "default", "Set the peer as the default peer");
  Node* dyn = g.Kw(host, "dynamic", "Resolve the host name of the peer at every connection");
  Node* dyn_def = g.Kw(dyn, "default", "Set the peer as the default peer");
  Handler set_peer = OnEntry(SetPeer);
  Handler no_peer = OnEntry([](CommandContext& ctx, config::CryptoMapEntry& e)
                                -> std::optional<std::string> {
    std::string h = ctx.args.Get("peerhost");
    if (auto a = IpAddress::Parse(h)) h = a->ToString();
    const auto n = std::erase_if(e.peers, [&](const auto& p) { return p.host == h; });
    if (n == 0) return "% Peer " + h + " is not configured in this entry";
    return std::nullopt;
  });
  for (Node* n : {host, def, dyn, dyn_def}) {
    n->handler = set_peer;
    n->no_handler = no_peer;
  }

  // set transform-set T1 [T2 ... T6]
  Node* ts = g.Kw(set, "transform-set", "Specify list of transform sets in priority order");
  Handler set_ts = OnEntry([](CommandContext& ctx, config::CryptoMapEntry& e)
                               -> std::optional<std::string> {
    std::vector<std::string> names = ctx.args.All("ts");
    std::vector<std::string> uniq;
    for (const auto& n : names)
      if (std::find(uniq.begin(), uniq.end(), n) == uniq.end()) uniq.push_back(n);
    for (const auto& n : uniq)
      if (!ctx.config->FindTransformSet(n))
        ctx.out += "% Warning: transform set " + n +
                   " is not defined; the entry cannot be used until it is.\n";
    e.transform_sets = std::move(uniq);
    return std::nullopt;
  });
  Handler no_ts = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.transform_sets.clear();
    return std::optional<std::string>();
  });
  ts->no_handler = no_ts;
  Node* parent = ts;
  for (int i = 0; i < 6; ++i) {
    parent = g.Word(parent, "WORD", i == 0 ? "Transform set name" : "Transform set name", "ts");
    parent->handler = set_ts;
    parent->no_handler = no_ts;
  }

  // set pfs [group1 | group2 | ...]
  Node* pfs = g.Kw(set, "pfs", "Specify pfs settings");
  Handler no_pfs = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.pfs_group.reset();
    return std::optional<std::string>();
  });
  Handler set_pfs = OnEntry([](CommandContext& ctx, config::CryptoMapEntry& e) {
    const std::string gname = ctx.args.Get("pfsgroup");
    e.pfs_group = gname.empty() ? uint16_t{1} : static_cast<uint16_t>(std::stoi(gname.substr(5)));
    return std::optional<std::string>();
  });
  pfs->handler = set_pfs;
  pfs->no_handler = no_pfs;
  const std::pair<int, const char*> kGroups[] = {
      {1, "D-H Group1 (768-bit modulus)"},       {2, "D-H Group2 (1024-bit modulus)"},
      {5, "D-H Group5 (1536-bit modulus)"},      {14, "D-H Group14 (2048-bit modulus)"},
      {15, "D-H Group15 (3072-bit modulus)"},    {16, "D-H Group16 (4096-bit modulus)"},
      {19, "D-H Group19 (256-bit elliptic curve)"}, {20, "D-H Group20 (384-bit elliptic curve)"},
      {21, "D-H Group21 (521-bit elliptic curve)"}};
  for (const auto& [n, help] : kGroups) {
    Node* k = g.Kw(pfs, "group" + std::to_string(n), help, "pfsgroup");
    k->handler = set_pfs;
    k->no_handler = no_pfs;
  }

  // set ikev2-profile NAME (an existing `crypto ikev2 profile`)
  Node* v2 = g.Kw(set, "ikev2-profile", "Specify ikev2 Profile");
  Node* v2name = g.Word(v2, "WORD", "ikev2 Profile name", "ikev2profile");
  v2name->handler =
      OnEntry([](CommandContext& ctx, config::CryptoMapEntry& e) -> std::optional<std::string> {
        const std::string n = ctx.args.Get("ikev2profile");
        if (!ctx.config->FindIkev2Profile(n)) return "% IKEv2 profile " + n + " does not exist";
        e.ikev2_profile = n;
        return std::nullopt;
      });
  Handler no_v2 = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.ikev2_profile.clear();
    return std::optional<std::string>();
  });
  v2->no_handler = no_v2;
  v2name->no_handler = no_v2;

  // set security-association lifetime {seconds N | kilobytes N}
  Node* sa = g.Kw(set, "security-association", "Security association parameters");
  Node* life = g.Kw(sa, "lifetime", "security association lifetime");
  Node* secs = g.Kw(life, "seconds", "Time-based key duration in seconds");
  Node* secs_n = g.Num(secs, 120, 86400, "Security association duration in seconds", "life_s");
  Node* kb = g.Kw(life, "kilobytes", "Volume-based key duration");
  Node* kb_n = g.Num(kb, 2560, 4294967295ull, "Security association duration in kilobytes",
                     "life_kb");
  secs_n->handler = OnEntry([](CommandContext& ctx, config::CryptoMapEntry& e) {
    e.lifetime_s = static_cast<uint32_t>(ctx.args.Num("life_s"));
    return std::optional<std::string>();
  });
  kb_n->handler = OnEntry([](CommandContext& ctx, config::CryptoMapEntry& e) {
    e.lifetime_kb = ctx.args.Num("life_kb");
    return std::optional<std::string>();
  });
  Handler no_secs = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.lifetime_s.reset();
    return std::optional<std::string>();
  });
  Handler no_kb = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.lifetime_kb.reset();
    return std::optional<std::string>();
  });
  secs->no_handler = no_secs;
  secs_n->no_handler = no_secs;
  kb->no_handler = no_kb;
  kb_n->no_handler = no_kb;
}

}  // namespace

void AddCryptoMapCommands(Grammar& g) {
  AddEntryCommand(g);
  Node* root = g.root(Mode::kConfigCryptoMap);
  AddSetCommands(g, root);

  // match address ACL
  Node* match = g.Kw(root, "match", "Match values.");
  Node* addr = g.Kw(match, "address", "Match address of packets to encrypt.");
  Node* num = g.Num(addr, 100, 199, "IP access-list number", "acl");
  Node* name = g.Word(addr, "WORD", "IP access-list name", "acl");
  Handler set_acl = OnEntry([](CommandContext& ctx, config::CryptoMapEntry& e) {
    e.match_address = ctx.args.Get("acl");
    return std::optional<std::string>();
  });
  Handler no_acl = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.match_address.clear();
    return std::optional<std::string>();
  });
  for (Node* n : {num, name}) {
    n->handler = set_acl;
    n->no_handler = no_acl;
  }
  addr->no_handler = no_acl;

  // ikepulse keep-up (extension)
  Node* ik = g.Kw(root, "ikepulse", "ikepulse extensions (not IOS)");
  Node* ku = g.Kw(ik, "keep-up", "Bring this entry up without traffic and keep it up");
  ku->handler = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.keep_up = true;
    return std::optional<std::string>();
  });
  ku->no_handler = OnEntry([](CommandContext&, config::CryptoMapEntry& e) {
    e.keep_up = false;
    return std::optional<std::string>();
  });
}

}  // namespace ikepulse::cli
