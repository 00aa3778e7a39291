// `crypto isakmp policy N` (and its sub-mode), `crypto isakmp key`, `crypto isakmp keepalive`
// (DESIGN.md §3.3), `crypto isakmp nat keepalive`, `crypto ipsec transform-set` (and its
// sub-mode).
#include <vector>

#include "cli/command_tree.h"
#include "cli/config_util.h"

namespace ikepulse::cli {

namespace {

using config::AuthMethod;
using config::Encryption;
using config::EspAuth;
using config::EspCipher;
using config::Hash;

std::optional<std::string> Ok() { return std::nullopt; }

config::IsakmpPolicy& CurrentPolicy(CommandContext& ctx) {
  auto& p = ctx.config->policies[ctx.mode->policy];
  p.priority = ctx.mode->policy;
  return p;
}

void AddPolicyCommands(Grammar& g) {
  Node* root = g.root(Mode::kConfigIsakmp);
  // encryption
  Node* enc = g.Kw(root, "encryption", "Set encryption algorithm for protection suite");
  enc->no_handler = [](CommandContext& ctx) {
    CurrentPolicy(ctx).encryption = Encryption::kDes;
    return Ok();
  };
  auto set_enc = [](Encryption e) {
    return [e](CommandContext& ctx) {
      CurrentPolicy(ctx).encryption = e;
      return Ok();
    };
  };
  auto reset_enc = enc->no_handler;
  Node* des = g.Kw(enc, "des", "DES - Data Encryption Standard (56 bit keys).");
  des->handler = set_enc(Encryption::kDes);
  Node* tdes = g.Kw(enc, "3des", "Three key triple DES");
  tdes->handler = set_enc(Encryption::k3Des);
  Node* aes = g.Kw(enc, "aes", "AES - Advanced Encryption Standard.");
  aes->handler = set_enc(Encryption::kAes128);
  Node* a128 = g.Kw(aes, "128", "128 bit keys.");
  a128->handler = set_enc(Encryption::kAes128);
  Node* a192 = g.Kw(aes, "192", "192 bit keys.");
  a192->handler = set_enc(Encryption::kAes192);
  Node* a256 = g.Kw(aes, "256", "256 bit keys.");
  a256->handler = set_enc(Encryption::kAes256);
  for (Node* n : {des, tdes, aes, a128, a192, a256}) n->no_handler = reset_enc;

  // hash
  Node* hash = g.Kw(root, "hash", "Set hash algorithm for protection suite");
  auto reset_hash = [](CommandContext& ctx) {
    CurrentPolicy(ctx).hash = Hash::kSha1;
    return Ok();
  };
  hash->no_handler = reset_hash;
  const struct {
    const char* name;
    const char* help;
    Hash hash;
  } kHashes[] = {{"md5", "Message Digest 5", Hash::kMd5},
                 {"sha", "Secure Hash Standard", Hash::kSha1},
                 {"sha256", "Secure Hash Standard 2 (256 bit)", Hash::kSha256},
                 {"sha384", "Secure Hash Standard 2 (384 bit)", Hash::kSha384},
                 {"sha512", "Secure Hash Standard 2 (512 bit)", Hash::kSha512}};
  for (const auto& h : kHashes) {
    Node* n = g.Kw(hash, h.name, h.help);
    const Hash v = h.hash;
    n->handler = [v](CommandContext& ctx) {
      CurrentPolicy(ctx).hash = v;
      return Ok();
    };
    n->no_handler = reset_hash;
  }

  // authentication
  Node* auth = g.Kw(root, "authentication", "Set authentication method for protection suite");
  auto reset_auth = [](CommandContext& ctx) {
    CurrentPolicy(ctx).authentication = AuthMethod::kRsaSig;
    return Ok();
  };
  auth->no_handler = reset_auth;
  Node* psk = g.Kw(auth, "pre-share", "Pre-Shared Key");
  psk->handler = [](CommandContext& ctx) {
    CurrentPolicy(ctx).authentication = AuthMethod::kPreShare;
    return Ok();
  };
  Node* rsa = g.Kw(auth, "rsa-sig", "Rivest-Shamir-Adleman Signature");
  rsa->handler = reset_auth;
  psk->no_handler = reset_auth;
  rsa->no_handler = reset_auth;

  // group
  Node* group = g.Kw(root, "group", "Set the Diffie-Hellman group");
  auto reset_group = [](CommandContext& ctx) {
    CurrentPolicy(ctx).group = 1;
    return Ok();
  };
  group->no_handler = reset_group;
  const struct {
    uint16_t n;
    const char* help;
  } kGroups[] = {{1, "Diffie-Hellman group 1 (768 bit)"},
                 {2, "Diffie-Hellman group 2 (1024 bit)"},
                 {5, "Diffie-Hellman group 5 (1536 bit)"},
                 {14, "Diffie-Hellman group 14 (2048 bit)"},
                 {15, "Diffie-Hellman group 15 (3072 bit)"},
                 {16, "Diffie-Hellman group 16 (4096 bit)"},
                 {19, "Diffie-Hellman group 19 (256 bit ecp)"},
                 {20, "Diffie-Hellman group 20 (384 bit ecp)"},
                 {21, "Diffie-Hellman group 21 (521 bit ecp)"}};
  for (const auto& gr : kGroups) {
    Node* n = g.Kw(group, std::to_string(gr.n), gr.help);
    const uint16_t v = gr.n;
    n->handler = [v](CommandContext& ctx) {
      CurrentPolicy(ctx).group = v;
      return Ok();
    };
    n->no_handler = reset_group;
  }

  // lifetime
  Node* life = g.Kw(root, "lifetime", "Set lifetime for ISAKMP security association");
  auto reset_life = [](CommandContext& ctx) {
    CurrentPolicy(ctx).lifetime_s = 86400;
    return Ok();
  };
  life->no_handler = reset_life;
  Node* secs = g.Num(life, 60, 86400, "lifetime in seconds", "seconds");
  secs->handler = [](CommandContext& ctx) {
    CurrentPolicy(ctx).lifetime_s = static_cast<uint32_t>(ctx.args.Num("seconds"));
    return Ok();
  };
  secs->no_handler = reset_life;
}

// (address, mask) as a map key for ParseIndexes::key_positions.
std::string KeyId(const config::PresharedKey& k) {
  std::string id(k.address.bytes.begin(), k.address.bytes.end());
  id.append(k.mask.bytes.begin(), k.mask.bytes.end());
  id.push_back(k.address.v6 ? '6' : '4');
  return id;
}

void AddKeyCommand(Grammar& g, Node* isakmp) {
  Node* key = g.Kw(isakmp, "key", "Set pre-shared key for remote peer");
  Node* k = g.Word(key, "WORD", "pre-shared key", "psk");
  Node* addr_kw = g.Kw(k, "address", "define shared key with IP address");
  Node* addr = g.Ip(addr_kw, "A.B.C.D", "Peer IP address", "addr");
  Node* mask = g.Ip(addr, "A.B.C.D", "Peer IP subnet mask", "mask");
  auto set = [](CommandContext& ctx) -> std::optional<std::string> {
    config::PresharedKey pk;
    pk.key = SecretBytes::FromString(ctx.args.Get("psk"));
    pk.address = V4(ctx.args.Get("addr"));
    pk.mask = ctx.args.Has("mask") ? V4(ctx.args.Get("mask")) : HostMask();
    auto& keys = ctx.config->keys;
    // IOS: a new key for the same peer replaces the old one.
    if (ctx.indexes) {  // loading a whole configuration: O(1) per line
      auto [it, fresh] = ctx.indexes->key_positions.emplace(KeyId(pk), keys.size());
      if (!fresh && it->second < keys.size()) {
        keys.Mut(it->second).key = pk.key;
        return std::nullopt;
      }
      keys.push_back(std::move(pk));
      return std::nullopt;
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].address == pk.address && keys[i].mask == pk.mask) {
        if (!(keys[i].key == pk.key)) keys.Mut(i).key = pk.key;
        return std::nullopt;
      }
    }
    keys.push_back(std::move(pk));
    return std::nullopt;
  };
  auto unset = [](CommandContext& ctx) -> std::optional<std::string> {
    const IpAddress a = V4(ctx.args.Get("addr"));
    const IpAddress m = ctx.args.Has("mask") ? V4(ctx.args.Get("mask")) : HostMask();
    auto& keys = ctx.config->keys;
    for (auto it = keys.begin(); it != keys.end(); ++it) {
      if (it->address == a && it->mask == m) {
        keys.erase(it);
        if (ctx.indexes) {  // positions after it moved: rebuild (rare in a configuration)
          ctx.indexes->key_positions.clear();
          for (size_t i = 0; i < keys.size(); ++i)
            ctx.indexes->key_positions.emplace(KeyId(keys[i]), i);
        }
        return std::nullopt;
      }
    }
    return "% No pre-shared key for " + a.ToString() + " found";
  };
  addr->handler = set;
  mask->handler = set;
  addr->no_handler = unset;
  mask->no_handler = unset;
}

void AddKeepaliveCommand(Grammar& g, Node* isakmp) {
  // crypto isakmp keepalive <10-3600> [<2-60>] [periodic | on-demand]
  Node* ka = g.Kw(isakmp, "keepalive", "Set a keepalive interval for use with IOS peers");
  Node* secs = g.Num(ka, 10, 3600, "Number of seconds between keep alives", "seconds");
  Node* retry = g.Num(secs, 2, 60, "Number of seconds between retries if keepalive fails",
                      "retry");
  auto set = [](CommandContext& ctx) -> std::optional<std::string> {
    auto& k = ctx.config->keepalive;
    k.enabled = true;
    k.interval_s = static_cast<uint32_t>(ctx.args.Num("seconds"));
    k.retry_s = static_cast<uint32_t>(ctx.args.Num("retry", 2));
    k.mode = ctx.args.Has("periodic") ? config::DpdMode::kPeriodic : config::DpdMode::kOnDemand;
    return std::nullopt;
  };
  auto unset = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->keepalive = config::KeepaliveConfig{};
    return std::nullopt;
  };
  std::vector<Node*> all = {ka, secs, retry};
  for (Node* parent : {secs, retry}) {
    all.push_back(g.Kw(parent, "on-demand", "Send keepalives on demand (default)"));
    all.push_back(g.Kw(parent, "periodic", "Send keepalives periodically"));
  }
  for (Node* n : all) {
    if (n != ka) n->handler = set;
    n->no_handler = unset;
  }

  // crypto isakmp nat keepalive <5-3600>
  Node* nat = g.Kw(isakmp, "nat", "Set NAT traversal options");
  Node* nka = g.Kw(nat, "keepalive", "Set NAT keepalive interval");
  Node* nsecs = g.Num(nka, 5, 3600, "Number of seconds between keep alives", "natsecs");
  nsecs->handler = [](CommandContext& ctx) {
    ctx.config->nat_keepalive_s = static_cast<uint32_t>(ctx.args.Num("natsecs"));
    return Ok();
  };
  auto nat_off = [](CommandContext& ctx) {
    ctx.config->nat_keepalive_s = 0;
    return Ok();
  };
  nka->no_handler = nat_off;
  nsecs->no_handler = nat_off;
}

void AddPolicyEntry(Grammar& g, Node* isakmp) {
  Node* pol = g.Kw(isakmp, "policy", "Set policy for an ISAKMP protection suite");
  Node* prio = g.Num(pol, 1, 10000, "Priority of protection suite", "priority");
  prio->handler = [](CommandContext& ctx) {
    const auto p = static_cast<uint32_t>(ctx.args.Num("priority"));
    ctx.config->policies[p].priority = p;
    *ctx.mode = ModeState{};
    ctx.mode->mode = Mode::kConfigIsakmp;
    ctx.mode->policy = p;
    return Ok();
  };
  prio->no_handler = [](CommandContext& ctx) -> std::optional<std::string> {
    if (ctx.config->policies.erase(static_cast<uint32_t>(ctx.args.Num("priority"))) == 0)
      return "% ISAKMP policy " + ctx.args.Get("priority") + " not found";
    return std::nullopt;
  };
}

// crypto ipsec transform-set NAME <cipher> [<auth>] | <auth> [<cipher>]
void AddTransformSet(Grammar& g, Node* crypto) {
  Node* ipsec = g.Kw(crypto, "ipsec", "Configure IPSEC policy");
  Node* ts = g.Kw(ipsec, "transform-set", "Define transform and settings");
  Node* name = g.Word(ts, "WORD", "Transform set tag", "tsname");
  name->no_handler = [](CommandContext& ctx) -> std::optional<std::string> {
    if (ctx.config->transform_sets.erase(ctx.args.Get("tsname")) == 0)
      return "% Transform set " + ctx.args.Get("tsname") + " not found";
    return std::nullopt;
  };
  Handler define = [](CommandContext& ctx) -> std::optional<std::string> {
    config::TransformSet t;
    t.name = ctx.args.Get("tsname");
    const std::string c = ctx.args.Get("cipher");
    const std::string bits = ctx.args.Get("bits");
    if (c == "esp-aes") {
      t.cipher = bits == "256"   ? EspCipher::kAes256
                 : bits == "192" ? EspCipher::kAes192
                                 : EspCipher::kAes128;
    } else if (c == "esp-3des") {
      t.cipher = EspCipher::k3Des;
    } else if (c == "esp-null") {
      t.cipher = EspCipher::kNull;
    } else if (c == "esp-gcm") {
      t.cipher = bits == "256" ? EspCipher::kAesGcm256 : EspCipher::kAesGcm128;
    }
    const std::string a = ctx.args.Get("auth");
    if (a == "esp-md5-hmac") t.auth = EspAuth::kMd5;
    if (a == "esp-sha-hmac") t.auth = EspAuth::kSha1;
    if (a == "esp-sha256-hmac") t.auth = EspAuth::kSha256;
    if (a == "esp-sha384-hmac") t.auth = EspAuth::kSha384;
    if (a == "esp-sha512-hmac") t.auth = EspAuth::kSha512;
    auto it = ctx.config->transform_sets.find(t.name);
    if (it != ctx.config->transform_sets.end()) t.mode = it->second.mode;
    ctx.config->transform_sets[t.name] = t;
    *ctx.mode = ModeState{};
    ctx.mode->mode = Mode::kConfigCryptoTrans;
    ctx.mode->transform_set = t.name;
    return std::nullopt;
  };
  auto add_auths = [&](Node* parent) {
    std::vector<Node*> out;
    const std::pair<const char*, const char*> kAuths[] = {
        {"esp-md5-hmac", "ESP transform using HMAC-MD5 auth"},
        {"esp-sha-hmac", "ESP transform using HMAC-SHA auth"},
        {"esp-sha256-hmac", "ESP transform using HMAC-SHA256 auth"},
        {"esp-sha384-hmac", "ESP transform using HMAC-SHA384 auth"},
        {"esp-sha512-hmac", "ESP transform using HMAC-SHA512 auth"}};
    for (const auto& [kw, help] : kAuths) {
      Node* n = g.Kw(parent, kw, help, "auth");
      n->handler = define;
      out.push_back(n);
    }
    return out;
  };
  // Ciphers; `then` is linked after each complete cipher except esp-gcm's: AES-GCM
  // authenticates itself, and IOS's parser offers no esp-*-hmac with it, in either order (an
  // integrity keyword there is "% Invalid input").
  auto add_ciphers = [&](Node* parent, const std::vector<Node*>& then) {
    Node* aes = g.Kw(parent, "esp-aes", "ESP transform using AES cipher", "cipher");
    Node* tdes = g.Kw(parent, "esp-3des", "ESP transform using 3DES(EDE) cipher (168 bits)",
                      "cipher");
    Node* gcm = g.Kw(parent, "esp-gcm", "ESP transform using GCM cipher", "cipher");
    Node* null = g.Kw(parent, "esp-null", "ESP transform w/o cipher", "cipher");
    std::vector<Node*> complete = {aes, tdes, null};
    for (const char* bits : {"128", "192", "256"}) {
      Node* b = g.Kw(aes, bits, std::string(bits) + " bit keys.", "bits");
      complete.push_back(b);
    }
    for (Node* n : complete) {
      n->handler = define;
      for (Node* t : then) Grammar::Link(n, t);
    }
    gcm->handler = define;
    for (const char* bits : {"128", "256"})
      g.Kw(gcm, bits, std::string(bits) + " bit keys.", "bits")->handler = define;
  };
  Node* scratch = g.New(NodeKind::kKeyword);
  std::vector<Node*> auth_leaves = add_auths(scratch);
  add_ciphers(name, auth_leaves);
  Node* scratch2 = g.New(NodeKind::kKeyword);
  add_ciphers(scratch2, {});
  for (Node* a : add_auths(name))
    for (Node* c : scratch2->children)
      if (c->text != "esp-gcm") Grammar::Link(a, c);

  // Sub-mode: mode tunnel | transport
  Node* sub = g.root(Mode::kConfigCryptoTrans);
  Node* mode = g.Kw(sub, "mode", "encapsulation mode (transport/tunnel)");
  auto set_mode = [](config::IpsecMode m) {
    return [m](CommandContext& ctx) -> std::optional<std::string> {
      auto it = ctx.config->transform_sets.find(ctx.mode->transform_set);
      if (it == ctx.config->transform_sets.end())
        return "% Transform set " + ctx.mode->transform_set + " no longer exists";
      it->second.mode = m;
      return std::nullopt;
    };
  };
  mode->no_handler = set_mode(config::IpsecMode::kTunnel);
  Node* tun = g.Kw(mode, "tunnel", "tunnel (datagram encapsulation) mode");
  tun->handler = set_mode(config::IpsecMode::kTunnel);
  Node* tr = g.Kw(mode, "transport", "transport (payload encapsulation) mode");
  tr->handler = set_mode(config::IpsecMode::kTransport);
  tun->no_handler = mode->no_handler;
  tr->no_handler = mode->no_handler;
}

}  // namespace

void AddIsakmpCommands(Grammar& g) {
  AddPolicyCommands(g);
  Node* root = g.root(Mode::kConfig);
  Node* crypto = g.Kw(root, "crypto", "Encryption module");
  Node* isakmp = g.Kw(crypto, "isakmp", "Configure ISAKMP policy");
  AddPolicyEntry(g, isakmp);
  AddKeyCommand(g, isakmp);
  AddKeepaliveCommand(g, isakmp);
  AddTransformSet(g, crypto);
}

}  // namespace ikepulse::cli
