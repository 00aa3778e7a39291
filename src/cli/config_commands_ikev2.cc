// IKEv2 as IOS XE FlexVPN configures it: `crypto ikev2 proposal|policy|keyring|profile NAME`
// and their sub-modes (a keyring's `peer NAME` is a sub-mode of the keyring), and the global
// `crypto ikev2 dpd`. Configuration only: the IKEv2 engine does not read it yet.
//
// As on IOS, entering a proposal, policy or profile that is not complete prints IOS's notice
// and is accepted; a proposal line that leaves it incomplete (an integrity algorithm in a
// GCM proposal, say) is accepted too, and the proposal is shown as incomplete. References
// name existing objects: `proposal`, `keyring local` and a crypto map's `set ikev2-profile`
// refuse an unknown name, and an object in use cannot be removed.
#include <algorithm>
#include <string>
#include <vector>

#include "cli/command_tree.h"
#include "cli/config_util.h"

namespace ikepulse::cli {

namespace {

using config::Ikev2Encryption;
using config::Ikev2Hash;

using Reply = std::optional<std::string>;

constexpr char kProposalIncomplete[] =
    "IKEv2 proposal MUST either have a set of an encryption algorithm other than aes-gcm, an "
    "integrity algorithm and a DH group configured or \n encryption algorithm aes-gcm, a prf "
    "algorithm and a DH group configured\n";
constexpr char kPolicyIncomplete[] =
    "IKEv2 policy MUST have atleast one complete proposal attached \n";
constexpr char kProfileIncomplete[] =
    "IKEv2 profile MUST have:\n"
    "   1. A local and a remote authentication method.\n"
    "   2. A match identity or a match certificate or match any statement.\n";

struct EncryptionKw {
  const char* name;
  const char* help;
  Ikev2Encryption value;
};
constexpr EncryptionKw kEncryptions[] = {
    {"aes-cbc-128", "AES-CBC-128", Ikev2Encryption::kAesCbc128},
    {"aes-cbc-256", "AES-CBC-256", Ikev2Encryption::kAesCbc256},
    {"aes-gcm-128", "Combined-mode,128 bit key,16 byte ICV(Authentication Tag)",
     Ikev2Encryption::kAesGcm128},
    {"aes-gcm-256", "Combined-mode,256 bit key,16 byte ICV(Authentication Tag)",
     Ikev2Encryption::kAesGcm256},
};

struct HashKw {
  const char* name;
  const char* help;
  Ikev2Hash value;
};
constexpr HashKw kHashes[] = {
    {"sha1", "Secure Hash Standard", Ikev2Hash::kSha1},
    {"sha256", "Secure Hash Standard 2 (256 bit)", Ikev2Hash::kSha256},
    {"sha384", "Secure Hash Standard 2 (384 bit)", Ikev2Hash::kSha384},
    {"sha512", "Secure Hash Standard 2 (512 bit)", Ikev2Hash::kSha512},
};

// The groups the engine's Diffie-Hellman code has (src/crypto/dh.cc).
struct GroupKw {
  uint16_t group;
  const char* help;
};
constexpr GroupKw kGroups[] = {
    {1, "DH 768 MODP"},   {2, "DH 1024 MODP"},  {5, "DH 1536 MODP"},
    {14, "DH 2048 MODP"}, {15, "DH 3072 MODP"}, {16, "DH 4096 MODP"},
    {19, "DH 256 ECP"},   {20, "DH 384 ECP"},   {21, "DH 521 ECP"},
};

template <class T>
void AppendNew(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

template <class T>
void RemoveAll(std::vector<T>& v, const T& x) {
  std::erase(v, x);
}

// `kw A [B ...]`: one keyword node per item, each linked to all of them, so that several
// algorithms fit on one line as on IOS. Returns the item nodes (matched values captured
// under `key`, by name).
std::vector<Node*> AddList(Grammar& g, Node* kw,
                           const std::vector<std::pair<std::string, std::string>>& items,
                           const std::string& key) {
  std::vector<Node*> nodes;
  for (const auto& [name, help] : items) nodes.push_back(g.Kw(kw, name, help, key));
  for (Node* a : nodes)
    for (Node* b : nodes) Grammar::Link(a, b);
  return nodes;
}

// ---- proposal ----

config::Ikev2Proposal* CurrentProposal(CommandContext& ctx) {
  auto it = ctx.config->ikev2_proposals.find(ctx.mode->ikev2);
  return it == ctx.config->ikev2_proposals.end() ? nullptr : &it->second;
}

template <typename F>
Handler OnProposal(F f) {
  return [f](CommandContext& ctx) -> Reply {
    config::Ikev2Proposal* p = CurrentProposal(ctx);
    if (!p) return "% The IKEv2 proposal being edited no longer exists";
    f(ctx, *p);
    return std::nullopt;
  };
}

// Sets `on` and `off` (the `no` form with the listed values; the keyword alone clears the
// list) on a list command of the proposal.
template <class T, class FromName>
void ProposalList(Grammar& g, Node* root, const char* kw, const char* help,
                  const std::vector<std::pair<std::string, std::string>>& items,
                  std::vector<T> config::Ikev2Proposal::*field, FromName from_name) {
  Node* k = g.Kw(root, kw, help);
  const std::string key = std::string("ikev2-") + kw;
  k->no_handler =
      OnProposal([field](CommandContext&, config::Ikev2Proposal& p) { (p.*field).clear(); });
  Handler on = OnProposal([field, key, from_name](CommandContext& ctx, config::Ikev2Proposal& p) {
    for (const std::string& name : ctx.args.All(key)) AppendNew(p.*field, from_name(name));
  });
  Handler off = OnProposal([field, key, from_name](CommandContext& ctx, config::Ikev2Proposal& p) {
    for (const std::string& name : ctx.args.All(key)) RemoveAll(p.*field, from_name(name));
  });
  for (Node* n : AddList(g, k, items, key)) {
    n->handler = on;
    n->no_handler = off;
  }
}

void AddProposalCommands(Grammar& g, Node* ikev2) {
  Node* kw = g.Kw(ikev2, "proposal", "Define IKEv2 proposals");
  Node* name = g.Word(kw, "WORD", "Specify IKEv2 proposal name", "ikev2-name");
  name->handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    auto& p = ctx.config->ikev2_proposals[n];
    p.name = n;
    if (!p.Complete()) ctx.out += kProposalIncomplete;
    *ctx.mode = ModeState::In(Mode::kConfigIkev2Proposal);
    ctx.mode->ikev2 = n;
    return std::nullopt;
  };
  name->no_handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    auto it = ctx.config->ikev2_proposals.find(n);
    if (it == ctx.config->ikev2_proposals.end()) return "% IKEv2 proposal " + n + " not found";
    for (const auto& [pname, pol] : ctx.config->ikev2_policies)
      if (std::find(pol.proposals.begin(), pol.proposals.end(), n) != pol.proposals.end())
        return "% IKEv2 proposal " + n + " is in use by policy " + pname;
    ctx.config->ikev2_proposals.erase(it);
    return std::nullopt;
  };

  Node* root = g.root(Mode::kConfigIkev2Proposal);
  std::vector<std::pair<std::string, std::string>> enc, hashes, groups;
  for (const auto& e : kEncryptions) enc.push_back({e.name, e.help});
  for (const auto& h : kHashes) hashes.push_back({h.name, h.help});
  for (const auto& gr : kGroups) groups.push_back({std::to_string(gr.group), gr.help});
  auto enc_of = [](const std::string& n) {
    for (const auto& e : kEncryptions)
      if (n == e.name) return e.value;
    return Ikev2Encryption::kAesCbc128;
  };
  auto hash_of = [](const std::string& n) {
    for (const auto& h : kHashes)
      if (n == h.name) return h.value;
    return Ikev2Hash::kSha1;
  };
  auto group_of = [](const std::string& n) { return static_cast<uint16_t>(std::stoi(n)); };
  ProposalList(g, root, "encryption", "Set encryption algorithm(s) for IKEv2 proposal", enc,
               &config::Ikev2Proposal::encryption, enc_of);
  ProposalList(g, root, "integrity", "Set integrity hash algorithm(s) for IKEv2 proposal", hashes,
               &config::Ikev2Proposal::integrity, hash_of);
  ProposalList(g, root, "prf", "Set prf algorithm(s) for IKEv2 proposal", hashes,
               &config::Ikev2Proposal::prf, hash_of);
  ProposalList(g, root, "group", "Set the Diffie-Hellman group(s) for IKEv2 proposal", groups,
               &config::Ikev2Proposal::groups, group_of);
}

// ---- policy ----

bool HasCompleteProposal(const config::Config& c, const config::Ikev2Policy& pol) {
  for (const auto& n : pol.proposals)
    if (const auto* p = c.FindIkev2Proposal(n); p && p->Complete()) return true;
  return false;
}

template <typename F>
Handler OnPolicy(F f) {
  return [f](CommandContext& ctx) -> Reply {
    auto it = ctx.config->ikev2_policies.find(ctx.mode->ikev2);
    if (it == ctx.config->ikev2_policies.end())
      return "% The IKEv2 policy being edited no longer exists";
    return f(ctx, it->second);
  };
}

void AddPolicyCommands(Grammar& g, Node* ikev2) {
  Node* kw = g.Kw(ikev2, "policy", "Define IKEv2 policies");
  Node* name = g.Word(kw, "WORD", "Specify IKEv2 policy name", "ikev2-name");
  name->handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    auto& pol = ctx.config->ikev2_policies[n];
    pol.name = n;
    if (!HasCompleteProposal(*ctx.config, pol)) ctx.out += kPolicyIncomplete;
    *ctx.mode = ModeState::In(Mode::kConfigIkev2Policy);
    ctx.mode->ikev2 = n;
    return std::nullopt;
  };
  name->no_handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    if (ctx.config->ikev2_policies.erase(n) == 0) return "% IKEv2 policy " + n + " not found";
    return std::nullopt;
  };

  Node* root = g.root(Mode::kConfigIkev2Policy);
  // proposal NAME (one per line; the lines are the policy's proposals in order)
  Node* prop = g.Kw(root, "proposal", "Specify Proposal");
  Node* pname = g.Word(prop, "WORD", "Specify IKEv2 proposal name", "proposal-name");
  pname->handler = OnPolicy([](CommandContext& ctx, config::Ikev2Policy& pol) -> Reply {
    const std::string n = ctx.args.Get("proposal-name");
    if (!ctx.config->FindIkev2Proposal(n)) return "% IKEv2 proposal " + n + " does not exist";
    AppendNew(pol.proposals, n);
    return std::nullopt;
  });
  pname->no_handler = OnPolicy([](CommandContext& ctx, config::Ikev2Policy& pol) -> Reply {
    RemoveAll(pol.proposals, ctx.args.Get("proposal-name"));
    return std::nullopt;
  });
  prop->no_handler = OnPolicy([](CommandContext&, config::Ikev2Policy& pol) -> Reply {
    pol.proposals.clear();
    return std::nullopt;
  });

  // match address local A.B.C.D
  Node* match = g.Kw(root, "match", "Match values of local and remote peer");
  Node* addr = g.Kw(match, "address", "Local address");
  Node* local = g.Kw(addr, "local", "Local address");
  Node* ip = g.Ip(local, "A.B.C.D", "IPv4 address", "local-addr");
  ip->handler = OnPolicy([](CommandContext& ctx, config::Ikev2Policy& pol) -> Reply {
    AppendNew(pol.match_address_local, V4(ctx.args.Get("local-addr")));
    return std::nullopt;
  });
  ip->no_handler = OnPolicy([](CommandContext& ctx, config::Ikev2Policy& pol) -> Reply {
    RemoveAll(pol.match_address_local, V4(ctx.args.Get("local-addr")));
    return std::nullopt;
  });
  Handler clear_local = OnPolicy([](CommandContext&, config::Ikev2Policy& pol) -> Reply {
    pol.match_address_local.clear();
    return std::nullopt;
  });
  addr->no_handler = clear_local;
  local->no_handler = clear_local;
}

// ---- keyring and its peers ----

config::Ikev2Keyring* CurrentKeyring(CommandContext& ctx) {
  auto it = ctx.config->ikev2_keyrings.find(ctx.mode->ikev2);
  return it == ctx.config->ikev2_keyrings.end() ? nullptr : &it->second;
}

std::optional<size_t> PeerIndex(const config::Ikev2Keyring& k, const std::string& name) {
  for (size_t i = 0; i < k.peers.size(); ++i)
    if (k.peers[i].name == name) return i;
  return std::nullopt;
}

template <typename F>
Handler OnPeer(F f) {
  return [f](CommandContext& ctx) -> Reply {
    config::Ikev2Keyring* k = CurrentKeyring(ctx);
    const auto i = k ? PeerIndex(*k, ctx.mode->ikev2_peer) : std::nullopt;
    if (!i) return "% The keyring peer being edited no longer exists";
    return f(ctx, k->peers.Mut(*i));
  };
}

void AddPreSharedKey(Grammar& g, Node* root) {
  // pre-shared-key [local | remote] [0 | 6] LINE
  Node* psk = g.Kw(root, "pre-shared-key", "pre-shared-key");
  auto add_key = [&](Node* parent) {
    std::vector<Node*> lines;
    Node* t0 = g.Kw(parent, "0", "Specifies an UNENCRYPTED password will follow", "key-type");
    lines.push_back(g.Line(t0, "The UNENCRYPTED (cleartext) user password", "key"));
    Node* t6 = g.Kw(parent, "6", "Specifies an ENCRYPTED password will follow", "key-type");
    lines.push_back(g.Line(t6, "The ENCRYPTED (hidden) user password", "key"));
    lines.push_back(g.Line(parent, "The UNENCRYPTED (cleartext) user password", "key"));
    return lines;
  };
  std::vector<Node*> both = add_key(psk);
  Node* local = g.Kw(psk, "local", "Local pre-shared-key");
  std::vector<Node*> local_keys = add_key(local);
  Node* remote = g.Kw(psk, "remote", "Remote pre-shared-key");
  std::vector<Node*> remote_keys = add_key(remote);

  auto field_of = [](CommandContext& ctx, config::Ikev2KeyringPeer& p) -> SecretBytes& {
    if (ctx.args.Has("local")) return p.pre_shared_key_local;
    if (ctx.args.Has("remote")) return p.pre_shared_key_remote;
    return p.pre_shared_key;
  };
  Handler set = OnPeer([field_of](CommandContext& ctx, config::Ikev2KeyringPeer& p) -> Reply {
    if (ctx.args.Get("key-type") == "6")
      return std::string(
          "% Type 6 (encrypted) keys need a master key, which is not supported: "
          "enter the key in clear text");
    field_of(ctx, p) = SecretBytes::FromString(ctx.args.Get("key"));
    return std::nullopt;
  });
  Handler unset = OnPeer([field_of](CommandContext& ctx, config::Ikev2KeyringPeer& p) -> Reply {
    field_of(ctx, p) = SecretBytes();
    return std::nullopt;
  });
  for (const auto* v : {&both, &local_keys, &remote_keys})
    for (Node* n : *v) {
      n->handler = set;
      n->no_handler = unset;
    }
  for (Node* n : {psk, local, remote}) n->no_handler = unset;
}

void AddKeyringCommands(Grammar& g, Node* ikev2) {
  Node* kw = g.Kw(ikev2, "keyring", "Define IKEv2 keyrings");
  Node* name = g.Word(kw, "WORD", "Specify IKEv2 keyring name", "ikev2-name");
  name->handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    ctx.config->ikev2_keyrings[n].name = n;
    *ctx.mode = ModeState::In(Mode::kConfigIkev2Keyring);
    ctx.mode->ikev2 = n;
    return std::nullopt;
  };
  name->no_handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    auto it = ctx.config->ikev2_keyrings.find(n);
    if (it == ctx.config->ikev2_keyrings.end()) return "% IKEv2 keyring " + n + " not found";
    for (const auto& [pname, prof] : ctx.config->ikev2_profiles)
      if (prof.keyring_local == n) return "% IKEv2 keyring " + n + " is in use by profile " + pname;
    ctx.config->ikev2_keyrings.erase(it);
    return std::nullopt;
  };

  // Keyring mode: peer NAME
  Node* kr = g.root(Mode::kConfigIkev2Keyring);
  Node* peer = g.Kw(kr, "peer", "Configure a Peer and associated keys");
  Node* pname = g.Word(peer, "WORD", "Name of peer", "peer-name");
  pname->handler = [](CommandContext& ctx) -> Reply {
    config::Ikev2Keyring* k = CurrentKeyring(ctx);
    if (!k) return "% The IKEv2 keyring being edited no longer exists";
    const std::string n = ctx.args.Get("peer-name");
    if (!PeerIndex(*k, n)) {
      config::Ikev2KeyringPeer p;
      p.name = n;
      k->peers.push_back(std::move(p));
    }
    const std::string ring = ctx.mode->ikev2;
    *ctx.mode = ModeState::In(Mode::kConfigIkev2KeyringPeer);
    ctx.mode->ikev2 = ring;
    ctx.mode->ikev2_peer = n;
    return std::nullopt;
  };
  pname->no_handler = [](CommandContext& ctx) -> Reply {
    config::Ikev2Keyring* k = CurrentKeyring(ctx);
    if (!k) return "% The IKEv2 keyring being edited no longer exists";
    if (auto i = PeerIndex(*k, ctx.args.Get("peer-name")))
      k->peers.erase(k->peers.begin() + static_cast<std::ptrdiff_t>(*i));
    return std::nullopt;
  };

  // Peer mode
  Node* root = g.root(Mode::kConfigIkev2KeyringPeer);
  Node* addr = g.Kw(root, "address", "IPv4/IPv6 address with mask");
  Node* a = g.Ip(addr, "A.B.C.D", "IPv4 Address", "peer-addr");
  Node* m = g.Ip(a, "A.B.C.D", "IPv4 Mask", "peer-mask");
  Handler set_addr = OnPeer([](CommandContext& ctx, config::Ikev2KeyringPeer& p) -> Reply {
    p.address = V4(ctx.args.Get("peer-addr"));
    p.mask.reset();
    if (ctx.args.Has("peer-mask")) p.mask = V4(ctx.args.Get("peer-mask"));
    return std::nullopt;
  });
  Handler no_addr = OnPeer([](CommandContext&, config::Ikev2KeyringPeer& p) -> Reply {
    p.address.reset();
    p.mask.reset();
    return std::nullopt;
  });
  for (Node* n : {a, m}) {
    n->handler = set_addr;
    n->no_handler = no_addr;
  }
  addr->no_handler = no_addr;

  // identity fqdn NAME: the peer's ID the key is chosen by (responder).
  Node* pid = g.Kw(root, "identity", "Specify IKE identities");
  Node* pfqdn = g.Kw(pid, "fqdn", "fully qualified domain name string");
  Node* pname_f = g.Word(pfqdn, "WORD", "FQDN string", "peer-fqdn");
  pname_f->handler = OnPeer([](CommandContext& ctx, config::Ikev2KeyringPeer& p) -> Reply {
    const std::string f = ctx.args.Get("peer-fqdn");
    if (!config::ValidFqdn(f)) return "% Invalid FQDN: " + f;
    p.identity_fqdn = f;
    return std::nullopt;
  });
  Handler no_pid = OnPeer([](CommandContext&, config::Ikev2KeyringPeer& p) -> Reply {
    p.identity_fqdn.clear();
    return std::nullopt;
  });
  for (Node* n : {pid, pfqdn, pname_f}) n->no_handler = no_pid;

  AddPreSharedKey(g, root);

  Node* desc = g.Kw(root, "description", "Specify a description of this peer");
  Node* text = g.Line(desc, "description for this peer", "description-text");
  text->handler = OnPeer([](CommandContext& ctx, config::Ikev2KeyringPeer& p) -> Reply {
    p.description = ctx.args.Get("description-text");
    return std::nullopt;
  });
  Handler no_desc = OnPeer([](CommandContext&, config::Ikev2KeyringPeer& p) -> Reply {
    p.description.clear();
    return std::nullopt;
  });
  desc->no_handler = no_desc;
  text->no_handler = no_desc;
}

// ---- profile ----

template <typename F>
Handler OnProfile(F f) {
  return [f](CommandContext& ctx) -> Reply {
    auto it = ctx.config->ikev2_profiles.find(ctx.mode->ikev2);
    if (it == ctx.config->ikev2_profiles.end())
      return "% The IKEv2 profile being edited no longer exists";
    return f(ctx, it->second);
  };
}

// <10-3600> <2-60> {on-demand | periodic} under `dpd`; `set` gets the parsed value.
void AddDpdArgs(Grammar& g, Node* dpd,
                const std::function<Reply(CommandContext&, const config::KeepaliveConfig&)>& set,
                const Handler& unset) {
  Node* secs = g.Num(dpd, 10, 3600, "DPD interval in seconds", "dpd-interval");
  Node* retry =
      g.Num(secs, 2, 60, "Retry interval in seconds when there is no reply from peer", "dpd-retry");
  Handler h = [set](CommandContext& ctx) -> Reply {
    config::KeepaliveConfig k;
    k.enabled = true;
    k.interval_s = static_cast<uint32_t>(ctx.args.Num("dpd-interval"));
    k.retry_s = static_cast<uint32_t>(ctx.args.Num("dpd-retry"));
    k.mode = ctx.args.Has("periodic") ? config::DpdMode::kPeriodic : config::DpdMode::kOnDemand;
    return set(ctx, k);
  };
  Node* od = g.Kw(retry, "on-demand", "Send Dead Peer Detection messages on demand");
  Node* per = g.Kw(retry, "periodic", "Send Dead Peer Detection messages periodically");
  od->handler = h;
  per->handler = h;
  for (Node* n : {dpd, secs, retry, od, per}) n->no_handler = unset;
}

void AddProfileCommands(Grammar& g, Node* ikev2) {
  Node* kw = g.Kw(ikev2, "profile", "Define IKEv2 profiles");
  Node* name = g.Word(kw, "WORD", "Specify IKEv2 profile name", "ikev2-name");
  name->handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    auto& p = ctx.config->ikev2_profiles[n];
    p.name = n;
    if (!p.Complete()) ctx.out += kProfileIncomplete;
    *ctx.mode = ModeState::In(Mode::kConfigIkev2Profile);
    ctx.mode->ikev2 = n;
    return std::nullopt;
  };
  name->no_handler = [](CommandContext& ctx) -> Reply {
    const std::string n = ctx.args.Get("ikev2-name");
    auto it = ctx.config->ikev2_profiles.find(n);
    if (it == ctx.config->ikev2_profiles.end()) return "% IKEv2 profile " + n + " not found";
    for (const auto& e : ctx.config->crypto_maps)
      if (e.ikev2_profile == n)
        return "% IKEv2 profile " + n + " is in use by crypto map " + e.map_name + " " +
               std::to_string(e.seq);
    ctx.config->ikev2_profiles.erase(it);
    return std::nullopt;
  };

  Node* root = g.root(Mode::kConfigIkev2Profile);

  // match identity remote address A.B.C.D [MASK]
  Node* match = g.Kw(root, "match", "match values of peer");
  Node* ident = g.Kw(match, "identity", "peer identity");
  Node* remote = g.Kw(ident, "remote", "remote peer identity");
  Node* raddr = g.Kw(remote, "address", "IP Address(es)");
  Node* ra = g.Ip(raddr, "A.B.C.D", "IP address", "match-addr");
  Node* rm = g.Ip(ra, "A.B.C.D", "IP mask", "match-mask");
  auto match_of = [](CommandContext& ctx) {
    config::Ikev2IdentityMatch m;
    m.address = V4(ctx.args.Get("match-addr"));
    if (ctx.args.Has("match-mask")) m.mask = V4(ctx.args.Get("match-mask"));
    return m;
  };
  Handler add_match = OnProfile([match_of](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    AppendNew(p.match_identity_remote, match_of(ctx));
    return std::nullopt;
  });
  Handler del_match = OnProfile([match_of](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    RemoveAll(p.match_identity_remote, match_of(ctx));
    return std::nullopt;
  });
  for (Node* n : {ra, rm}) {
    n->handler = add_match;
    n->no_handler = del_match;
  }
  // match identity remote fqdn [domain] NAME
  Node* rfqdn = g.Kw(remote, "fqdn", "Fully qualified domain name string");
  Node* rdomain = g.Kw(rfqdn, "domain", "Match the domain part of the FQDN");
  Node* rname = g.Word(rfqdn, "WORD", "FQDN string", "match-fqdn");
  Node* rdname = g.Word(rdomain, "WORD", "Domain name string", "match-domain");
  auto fqdn_match = [](CommandContext& ctx, config::Ikev2IdentityMatch& m) -> Reply {
    const bool domain = ctx.args.Has("match-domain");
    m.kind = domain ? config::Ikev2IdentityMatch::Kind::kFqdnDomain
                    : config::Ikev2IdentityMatch::Kind::kFqdn;
    m.fqdn = ctx.args.Get(domain ? "match-domain" : "match-fqdn");
    if (!config::ValidFqdn(m.fqdn)) return "% Invalid FQDN: " + m.fqdn;
    return std::nullopt;
  };
  Handler add_fqdn = OnProfile([fqdn_match](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    config::Ikev2IdentityMatch m;
    if (Reply r = fqdn_match(ctx, m)) return r;
    AppendNew(p.match_identity_remote, m);
    return std::nullopt;
  });
  Handler del_fqdn = OnProfile([fqdn_match](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    config::Ikev2IdentityMatch m;
    if (Reply r = fqdn_match(ctx, m)) return r;
    RemoveAll(p.match_identity_remote, m);
    return std::nullopt;
  });
  for (Node* n : {rname, rdname}) {
    n->handler = add_fqdn;
    n->no_handler = del_fqdn;
  }

  // identity local address A.B.C.D
  Node* id = g.Kw(root, "identity", "Specify local identity");
  Node* idl = g.Kw(id, "local", "Local identity");
  Node* idaddr = g.Kw(idl, "address", "address");
  Node* ida = g.Ip(idaddr, "A.B.C.D", "IPv4 address", "identity-addr");
  ida->handler = OnProfile([](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    p.identity_local = V4(ctx.args.Get("identity-addr"));
    p.identity_local_fqdn.clear();
    return std::nullopt;
  });
  // identity local fqdn NAME (replaces an address identity, as IOS keeps one local identity)
  Node* idfqdn = g.Kw(idl, "fqdn", "fqdn");
  Node* idf = g.Word(idfqdn, "WORD", "FQDN string", "identity-fqdn");
  idf->handler = OnProfile([](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    const std::string f = ctx.args.Get("identity-fqdn");
    if (!config::ValidFqdn(f)) return "% Invalid FQDN: " + f;
    p.identity_local_fqdn = f;
    p.identity_local.reset();
    return std::nullopt;
  });
  Handler no_id = OnProfile([](CommandContext&, config::Ikev2Profile& p) -> Reply {
    p.identity_local.reset();
    p.identity_local_fqdn.clear();
    return std::nullopt;
  });
  for (Node* n : {id, idl, idaddr, ida, idfqdn, idf}) n->no_handler = no_id;

  // authentication {local | remote} pre-share
  Node* auth = g.Kw(root, "authentication", "Set authentication method");
  for (const bool is_local : {true, false}) {
    Node* side = g.Kw(auth, is_local ? "local" : "remote",
                      is_local ? "Local authentication method" : "Remote authentication method");
    Node* psk = g.Kw(side, "pre-share", "Pre-Shared Key");
    psk->handler = OnProfile([is_local](CommandContext&, config::Ikev2Profile& p) -> Reply {
      (is_local ? p.authentication_local : p.authentication_remote) = config::AuthMethod::kPreShare;
      return std::nullopt;
    });
    Handler off = OnProfile([is_local](CommandContext&, config::Ikev2Profile& p) -> Reply {
      (is_local ? p.authentication_local : p.authentication_remote).reset();
      return std::nullopt;
    });
    side->no_handler = off;
    psk->no_handler = off;
  }

  // keyring local NAME
  Node* kr = g.Kw(root, "keyring", "Keyring");
  Node* krl = g.Kw(kr, "local", "Local keyring");
  Node* krn = g.Word(krl, "WORD", "Name of keyring", "keyring-name");
  krn->handler = OnProfile([](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    const std::string n = ctx.args.Get("keyring-name");
    if (!ctx.config->FindIkev2Keyring(n)) return "% IKEv2 keyring " + n + " does not exist";
    p.keyring_local = n;
    return std::nullopt;
  });
  Handler no_kr = OnProfile([](CommandContext&, config::Ikev2Profile& p) -> Reply {
    p.keyring_local.clear();
    return std::nullopt;
  });
  for (Node* n : {kr, krl, krn}) n->no_handler = no_kr;

  // dpd <10-3600> <2-60> {on-demand | periodic}
  Node* dpd = g.Kw(root, "dpd", "Enable IKE liveness check for peers");
  AddDpdArgs(
      g, dpd,
      [](CommandContext& ctx, const config::KeepaliveConfig& k) -> Reply {
        return OnProfile([k](CommandContext&, config::Ikev2Profile& p) -> Reply {
          p.dpd = k;
          return std::nullopt;
        })(ctx);
      },
      OnProfile([](CommandContext&, config::Ikev2Profile& p) -> Reply {
        p.dpd = config::KeepaliveConfig{};
        return std::nullopt;
      }));

  // lifetime <120-86400>
  Node* life = g.Kw(root, "lifetime", "Set lifetime for ISAKMP security association");
  Node* secs = g.Num(life, 120, 86400, "lifetime in seconds", "lifetime-s");
  secs->handler = OnProfile([](CommandContext& ctx, config::Ikev2Profile& p) -> Reply {
    p.lifetime_s = static_cast<uint32_t>(ctx.args.Num("lifetime-s"));
    return std::nullopt;
  });
  Handler no_life = OnProfile([](CommandContext&, config::Ikev2Profile& p) -> Reply {
    p.lifetime_s = config::kDefaultIkev2LifetimeS;
    return std::nullopt;
  });
  life->no_handler = no_life;
  secs->no_handler = no_life;
}

}  // namespace

void AddIkev2Commands(Grammar& g) {
  Node* crypto = g.Kw(g.root(Mode::kConfig), "crypto", "Encryption module");
  Node* ikev2 = g.Kw(crypto, "ikev2", "Configure IKEv2 Options");
  AddProposalCommands(g, ikev2);
  AddPolicyCommands(g, ikev2);
  AddKeyringCommands(g, ikev2);
  AddProfileCommands(g, ikev2);

  // crypto ikev2 dpd <10-3600> <2-60> {on-demand | periodic}
  Node* dpd = g.Kw(ikev2, "dpd", "Enable IKE liveness check for peers");
  AddDpdArgs(
      g, dpd,
      [](CommandContext& ctx, const config::KeepaliveConfig& k) -> Reply {
        ctx.config->ikev2_dpd = k;
        return std::nullopt;
      },
      [](CommandContext& ctx) -> Reply {
        ctx.config->ikev2_dpd = config::KeepaliveConfig{};
        return std::nullopt;
      });

  // crypto ikev2 limit max-in-negotation-sa <1-9999>: the bound on IKEv2 responders that have
  // not completed IKE_AUTH (half-open). The keyword is IOS XE's own spelling (its running-config
  // and data model have "negotation"); the dictionary spelling `max-in-negotiation-sa` is
  // accepted too when typed in full, and renders as IOS XE's. IOS's `incoming`/`outgoing`,
  // `max-sa` and `queue` forms are not implemented.
  Node* limit = g.Kw(ikev2, "limit", "Limit the number of maximum and negotiating sa");
  Node* mins = g.Kw(limit, "max-in-negotation-sa", "Limit the maximum number of negotiating SA");
  Node* mins_alias =
      g.Kw(limit, "max-in-negotiation-sa", "Limit the maximum number of negotiating SA");
  mins_alias->hidden = true;
  Node* mins_n = g.Num(mins, 1, 9999, "Maximum number of in-negotiation sessions", "mins");
  Grammar::Link(mins_alias, mins_n);
  mins_n->handler = [](CommandContext& ctx) -> Reply {
    ctx.config->ikev2_max_in_negotiation_sa = static_cast<uint32_t>(ctx.args.Num("mins"));
    return std::nullopt;
  };
  auto mins_off = [](CommandContext& ctx) -> Reply {
    ctx.config->ikev2_max_in_negotiation_sa = 0;
    return std::nullopt;
  };
  limit->no_handler = mins_off;
  mins->no_handler = mins_off;
  mins_alias->no_handler = mins_off;
  mins_n->no_handler = mins_off;

  // crypto ikev2 cookie-challenge <1-1000>: demand a COOKIE (RFC 7296 section 2.6) once this
  // many IKEv2 responders are half-open.
  Node* cookie = g.Kw(ikev2, "cookie-challenge", "Set Cookie-challenge watermark");
  Node* cookie_n =
      g.Num(cookie, 1, 1000, "Number of half-open IKE SAs that trigger cookie-challenge", "cookie");
  cookie_n->handler = [](CommandContext& ctx) -> Reply {
    ctx.config->ikev2_cookie_challenge = static_cast<uint32_t>(ctx.args.Num("cookie"));
    return std::nullopt;
  };
  auto cookie_off = [](CommandContext& ctx) -> Reply {
    ctx.config->ikev2_cookie_challenge = 0;
    return std::nullopt;
  };
  cookie->no_handler = cookie_off;
  cookie_n->no_handler = cookie_off;
}

}  // namespace ikepulse::cli
