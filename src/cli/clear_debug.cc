// clear crypto session [local A [port P]] [remote A [port P]] [fvrf N] [ivrf N],
// clear crypto sa [peer A | map NAME], clear crypto isakmp [conn-id],
// debug crypto isakmp, no debug crypto isakmp, undebug all (IKEv2: show_ikev2_sa.cc).
#include "cli/command_tree.h"
#include "cli/config_util.h"

namespace ikepulse::cli {

namespace {

std::optional<std::string> ClearSession(CommandContext& ctx) {
  ClearSessionFilter f;
  if (ctx.args.Has("laddr")) f.local = V4(ctx.args.Get("laddr"));
  if (ctx.args.Has("lport")) f.local_port = static_cast<uint16_t>(ctx.args.Num("lport"));
  if (ctx.args.Has("raddr")) f.remote = V4(ctx.args.Get("raddr"));
  if (ctx.args.Has("rport")) f.remote_port = static_cast<uint16_t>(ctx.args.Num("rport"));
  if (ctx.args.Has("fvrfname")) f.fvrf = ctx.args.Get("fvrfname");
  if (ctx.args.Has("ivrfname")) f.ivrf = ctx.args.Get("ivrfname");
  ctx.backend->ClearCryptoSession(f);
  return std::nullopt;
}

// The options of `clear crypto session`, each optional, in IOS order.
void AddSessionOptions(Grammar& g, Node* session) {
  std::vector<Node*> after_fvrf, after_remote, after_local;
  // ivrf NAME
  Node* ivrf = g.New(NodeKind::kKeyword);
  ivrf->text = ivrf->key = "ivrf";
  ivrf->help = "Inside VRF";
  g.Word(ivrf, "WORD", "VRF name", "ivrfname")->handler = ClearSession;
  after_fvrf = {ivrf};
  // fvrf NAME
  Node* fvrf = g.New(NodeKind::kKeyword);
  fvrf->text = fvrf->key = "fvrf";
  fvrf->help = "Front door VRF";
  Node* fname = g.Word(fvrf, "WORD", "VRF name", "fvrfname");
  fname->handler = ClearSession;
  for (Node* n : after_fvrf) Grammar::Link(fname, n);
  after_remote = {fvrf, ivrf};
  // remote A [port P]
  auto addr_port = [&](const char* kw, const char* help, const char* akey, const char* pkey,
                       const std::vector<Node*>& then) {
    Node* k = g.New(NodeKind::kKeyword);
    k->text = k->key = kw;
    k->help = help;
    Node* a = g.Ip(k, "A.B.C.D", "IP address", akey);
    Node* port = g.Kw(a, "port", "Port number");
    Node* p = g.Num(port, 1, 65535, "Port number", pkey);
    for (Node* n : {a, p}) {
      n->handler = ClearSession;
      for (Node* t : then) Grammar::Link(n, t);
    }
    return k;
  };
  Node* remote = addr_port("remote", "Remote address", "raddr", "rport", after_remote);
  after_local = {remote, fvrf, ivrf};
  Node* local = addr_port("local", "Local address", "laddr", "lport", after_local);
  for (Node* n : {local, remote, fvrf, ivrf}) Grammar::Link(session, n);
}

}  // namespace

void AddClearDebugCommands(Grammar& g) {
  Node* root = g.root(Mode::kPrivExec);
  Node* clear = g.Kw(root, "clear", "Reset functions");
  Node* crypto = g.Kw(clear, "crypto", "Clear crypto information");

  Node* session = g.Kw(crypto, "session", "Clear crypto sessions (tunnels)");
  session->handler = ClearSession;
  AddSessionOptions(g, session);

  Node* sa = g.Kw(crypto, "sa", "Clear IPSEC SAs");
  sa->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.backend->ClearCryptoSa(ClearSaFilter{});
    return std::nullopt;
  };
  Node* peer = g.Kw(sa, "peer", "Clear all IPSEC SAs for a given crypto peer");
  g.Ip(peer, "A.B.C.D", "Remote peer IP address", "sapeer")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ClearSaFilter f;
    f.kind = ClearSaFilter::Kind::kPeer;
    f.peer = V4(ctx.args.Get("sapeer"));
    ctx.backend->ClearCryptoSa(f);
    return std::nullopt;
  };
  Node* map = g.Kw(sa, "map", "Clear all IPSEC SAs for a given crypto map");
  g.Word(map, "WORD", "Crypto map tag", "samap")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ClearSaFilter f;
    f.kind = ClearSaFilter::Kind::kMap;
    f.map_name = ctx.args.Get("samap");
    ctx.backend->ClearCryptoSa(f);
    return std::nullopt;
  };

  Node* isakmp = g.Kw(crypto, "isakmp", "Flush the ISAKMP database");
  isakmp->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.backend->ClearCryptoIsakmp(std::nullopt);
    return std::nullopt;
  };
  g.Num(isakmp, 1, 4294967295ull, "connection id of SA", "connid")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.backend->ClearCryptoIsakmp(static_cast<uint32_t>(ctx.args.Num("connid")));
    return std::nullopt;
  };

  // debug crypto isakmp / no debug crypto isakmp / undebug all
  auto debug_on = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.backend->SetDebugIsakmp(true);
    ctx.out += "Crypto ISAKMP debugging is on\n";
    return std::nullopt;
  };
  auto debug_off = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.backend->SetDebugIsakmp(false);
    ctx.out += "Crypto ISAKMP debugging is off\n";
    return std::nullopt;
  };
  auto all_off = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.backend->SetDebugIsakmp(false);
    ctx.backend->SetDebugIkev2(false);
    ctx.out += "All possible debugging has been turned off\n";
    return std::nullopt;
  };
  Node* debug = g.Kw(root, "debug", "Debugging functions (see also 'undebug')");
  Node* dcrypto = g.Kw(debug, "crypto", "Cryptographic subsystem");
  Node* disakmp = g.Kw(dcrypto, "isakmp", "ISAKMP Key Management");
  disakmp->handler = debug_on;
  disakmp->no_handler = debug_off;
  g.Kw(debug, "all", "Enable all debugging")->no_handler = all_off;

  Node* undebug = g.Kw(root, "undebug", "Disable debugging functions (see also 'debug')");
  g.Kw(undebug, "all", "Disable all debugging")->handler = all_off;
  Node* ucrypto = g.Kw(undebug, "crypto", "Cryptographic subsystem");
  g.Kw(ucrypto, "isakmp", "ISAKMP Key Management")->handler = debug_off;
}

}  // namespace ikepulse::cli
