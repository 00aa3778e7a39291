// Access lists (`access-list 100-199 ...`, `ip access-list extended NAME` and its sub-mode)
// and interfaces (`interface NAME`: `ip address`, `crypto map`, `shutdown`, `speed`).
#include <algorithm>

#include "cli/command_tree.h"
#include "cli/config_util.h"

namespace ikepulse::cli {

namespace {

// The entry described by the args of an ACL line: action proto src dst.
config::AclEntry EntryFromArgs(const Args& a) {
  config::AclEntry e;
  e.permit = a.Get("action") == "permit";
  const std::string p = a.Get("proto");
  e.protocol = ProtocolFromName(p).value_or(static_cast<uint8_t>(a.Num("proto")));
  auto operand = [&](const std::string& side, IpAddress& addr, IpAddress& wild) {
    if (a.Has(side + "any")) {
      addr = IpAddress::V4(0, 0, 0, 0);
      wild = IpAddress::V4(255, 255, 255, 255);
    } else if (a.Has(side + "host")) {
      addr = V4(a.Get(side));
      wild = IpAddress::V4(0, 0, 0, 0);
    } else {
      wild = V4(a.Get(side + "w"));
      // IOS stores the address with the wildcard bits cleared.
      addr = IpAddress::V4FromU32(V4(a.Get(side)).V4ToU32() & ~wild.V4ToU32());
    }
  };
  operand("src", e.src, e.src_wildcard);
  operand("dst", e.dst, e.dst_wildcard);
  return e;
}

// Adds the `permit|deny <proto> <src> <dst>` tree under `parent`; `done` runs at its end.
void AddAclLine(Grammar& g, Node* parent, Handler done, Handler undo) {
  // Destination forms, shared by every source form.
  Node* dst = g.New(NodeKind::kKeyword);
  Node* dst_addr = g.Ip(dst, "A.B.C.D", "Destination address", "dst");
  Node* dst_wild = g.Ip(dst_addr, "A.B.C.D", "Destination wildcard bits", "dstw");
  Node* dst_any = g.Kw(dst, "any", "Any destination host", "dstany");
  Node* dst_host_kw = g.Kw(dst, "host", "A single destination host", "dsthost");
  Node* dst_host = g.Ip(dst_host_kw, "A.B.C.D", "Destination address", "dst");
  for (Node* n : {dst_wild, dst_any, dst_host}) {
    n->handler = done;
    n->no_handler = undo;
  }
  // Source forms, shared by every protocol.
  Node* src = g.New(NodeKind::kKeyword);
  Node* src_addr = g.Ip(src, "A.B.C.D", "Source address", "src");
  Node* src_wild = g.Ip(src_addr, "A.B.C.D", "Source wildcard bits", "srcw");
  Node* src_any = g.Kw(src, "any", "Any source host", "srcany");
  Node* src_host_kw = g.Kw(src, "host", "A single source host", "srchost");
  Node* src_host = g.Ip(src_host_kw, "A.B.C.D", "Source address", "src");
  for (Node* n : {src_wild, src_any, src_host})
    for (Node* d : dst->children) Grammar::Link(n, d);
  // Protocols.
  Node* proto = g.New(NodeKind::kKeyword);
  g.Num(proto, 0, 255, "An IP protocol number", "proto");
  const std::pair<const char*, const char*> kProtos[] = {
      {"ahp", "Authentication Header Protocol"},
      {"esp", "Encapsulation Security Payload"},
      {"gre", "Cisco's GRE tunneling"},
      {"icmp", "Internet Control Message Protocol"},
      {"ip", "Any Internet Protocol"},
      {"tcp", "Transmission Control Protocol"},
      {"udp", "User Datagram Protocol"}};
  for (const auto& [kw, help] : kProtos) g.Kw(proto, kw, help, "proto");
  for (Node* p : proto->children)
    for (Node* s : src->children) Grammar::Link(p, s);

  Node* permit = g.Kw(parent, "permit", "Specify packets to forward", "action");
  Node* deny = g.Kw(parent, "deny", "Specify packets to reject", "action");
  for (Node* a : {permit, deny})
    for (Node* p : proto->children) Grammar::Link(a, p);
}

void AddAcls(Grammar& g) {
  Node* root = g.root(Mode::kConfig);
  // access-list <100-199> permit|deny ...
  Node* al = g.Kw(root, "access-list", "Add an access list entry");
  Node* num = g.Num(al, 100, 199, "IP extended access list", "aclnum");
  Handler append_numbered = [](CommandContext& ctx) -> std::optional<std::string> {
    auto& acl = GetOrCreateAcl(*ctx.config, ctx.args.Get("aclnum"));
    const config::AclEntry e = EntryFromArgs(ctx.args);
    if (std::find(acl.entries.begin(), acl.entries.end(), e) == acl.entries.end())
      acl.entries.push_back(e);
    return std::nullopt;
  };
  // IOS: `no access-list N ...` removes the whole numbered list.
  Handler remove_numbered = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->acls.erase(ctx.args.Get("aclnum"));
    return std::nullopt;
  };
  num->no_handler = remove_numbered;
  AddAclLine(g, num, append_numbered, remove_numbered);

  // ip access-list extended NAME
  Node* ip = g.Kw(root, "ip", "Global IP configuration subcommands");
  Node* ipal = g.Kw(ip, "access-list", "Named access-list");
  Node* ext = g.Kw(ipal, "extended", "Extended Access List");
  Node* ext_num = g.Num(ext, 100, 199, "Extended IP access-list number", "aclname");
  Node* ext_name = g.Word(ext, "WORD", "Access-list name", "aclname");
  Handler enter = [](CommandContext& ctx) -> std::optional<std::string> {
    const std::string name = ctx.args.Get("aclname");
    GetOrCreateAcl(*ctx.config, name);
    *ctx.mode = ModeState{};
    ctx.mode->mode = Mode::kConfigExtNacl;
    ctx.mode->acl = name;
    return std::nullopt;
  };
  Handler remove = [](CommandContext& ctx) -> std::optional<std::string> {
    if (ctx.config->acls.erase(ctx.args.Get("aclname")) == 0)
      return "% Access list " + ctx.args.Get("aclname") + " not found";
    return std::nullopt;
  };
  for (Node* n : {ext_num, ext_name}) {
    n->handler = enter;
    n->no_handler = remove;
  }

  // Sub-mode: permit|deny ...
  Handler append_named = [](CommandContext& ctx) -> std::optional<std::string> {
    auto& acl = GetOrCreateAcl(*ctx.config, ctx.mode->acl);
    const config::AclEntry e = EntryFromArgs(ctx.args);
    if (std::find(acl.entries.begin(), acl.entries.end(), e) == acl.entries.end())
      acl.entries.push_back(e);
    return std::nullopt;
  };
  Handler remove_named = [](CommandContext& ctx) -> std::optional<std::string> {
    auto it = ctx.config->acls.find(ctx.mode->acl);
    if (it == ctx.config->acls.end()) return std::nullopt;
    const config::AclEntry e = EntryFromArgs(ctx.args);
    std::erase(it->second.entries, e);
    return std::nullopt;
  };
  AddAclLine(g, g.root(Mode::kConfigExtNacl), append_named, remove_named);
}

config::Interface* CurrentIf(CommandContext& ctx) {
  return FindInterface(*ctx.config, ctx.mode->interface);
}

template <typename F>
Handler OnIf(F f) {
  return [f](CommandContext& ctx) -> std::optional<std::string> {
    config::Interface* i = CurrentIf(ctx);
    if (!i) return "% The interface being edited no longer exists";
    return f(ctx, *i);
  };
}

void AddInterfaces(Grammar& g) {
  Node* root = g.root(Mode::kConfig);
  Node* itf = g.Kw(root, "interface", "Select an interface to configure");
  Node* name = g.Word(itf, "WORD", "Interface name (e.g. eth0, GigabitEthernet0/0)", "ifname");
  name->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    const std::string n = ctx.args.Get("ifname");
    if (!FindInterface(*ctx.config, n)) {
      config::Interface i;
      i.name = n;
      ctx.config->interfaces.push_back(std::move(i));
    }
    *ctx.mode = ModeState{};
    ctx.mode->mode = Mode::kConfigIf;
    ctx.mode->interface = n;
    return std::nullopt;
  };
  name->no_handler = [](CommandContext& ctx) -> std::optional<std::string> {
    const std::string n = ctx.args.Get("ifname");
    if (std::erase_if(ctx.config->interfaces, [&](const auto& i) { return i.name == n; }) == 0)
      return "% Interface " + n + " not found";
    return std::nullopt;
  };

  Node* sub = g.root(Mode::kConfigIf);
  // ip address A M
  Node* ip = g.Kw(sub, "ip", "Interface Internet Protocol config commands");
  Node* address = g.Kw(ip, "address", "Set the IP address of an interface");
  Node* a = g.Ip(address, "A.B.C.D", "IP address", "ifaddr");
  Node* m = g.Ip(a, "A.B.C.D", "IP subnet mask", "ifmask");
  m->handler = OnIf([](CommandContext& ctx, config::Interface& i) -> std::optional<std::string> {
    const IpAddress addr = V4(ctx.args.Get("ifaddr"));
    const IpAddress mask = V4(ctx.args.Get("ifmask"));
    if (!IsContiguousMask(mask) || mask.V4ToU32() == 0) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0x%08X", mask.V4ToU32());
      return std::string("% Bad mask ") + buf + " for address " + addr.ToString();
    }
    i.address = addr;
    i.mask = mask;
    return std::nullopt;
  });
  Handler no_addr = OnIf([](CommandContext&, config::Interface& i) {
    i.address.reset();
    i.mask.reset();
    return std::optional<std::string>();
  });
  for (Node* n : {address, a, m}) n->no_handler = no_addr;

  // crypto map NAME
  Node* crypto = g.Kw(sub, "crypto", "Encryption/Decryption commands");
  Node* map = g.Kw(crypto, "map", "Assign a Crypto Map");
  Node* mname = g.Word(map, "WORD", "Crypto Map tag", "ifmap");
  mname->handler = OnIf([](CommandContext& ctx, config::Interface& i) {
    i.crypto_map = ctx.args.Get("ifmap");
    return std::optional<std::string>();
  });
  Handler no_map = OnIf([](CommandContext&, config::Interface& i) {
    i.crypto_map.clear();
    return std::optional<std::string>();
  });
  map->no_handler = no_map;
  mname->no_handler = no_map;

  // shutdown
  Node* sh = g.Kw(sub, "shutdown", "Shutdown the selected interface");
  sh->handler = OnIf([](CommandContext&, config::Interface& i) {
    i.shutdown = true;
    return std::optional<std::string>();
  });
  sh->no_handler = OnIf([](CommandContext&, config::Interface& i) {
    i.shutdown = false;
    return std::optional<std::string>();
  });

  // speed: accepted for IOS configurations (the seed has ` speed auto`); ikepulse does not
  // manage the link layer, so it changes nothing and is not rendered.
  Node* speed = g.Kw(sub, "speed", "Configure speed operation.");
  Handler nop = [](CommandContext&) { return std::optional<std::string>(); };
  speed->no_handler = nop;
  for (const auto& [kw, help] :
       {std::pair{"10", "Force 10 Mbps operation"}, std::pair{"100", "Force 100 Mbps operation"},
        std::pair{"1000", "Force 1000 Mbps operation"},
        std::pair{"auto", "Enable AUTO speed configuration"}}) {
    Node* n = g.Kw(speed, kw, help);
    n->handler = nop;
    n->no_handler = nop;
  }
}

}  // namespace

void AddAclInterfaceCommands(Grammar& g) {
  AddAcls(g);
  AddInterfaces(g);
}

}  // namespace ikepulse::cli
