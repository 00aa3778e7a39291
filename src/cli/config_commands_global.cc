// Global configuration commands and the mode plumbing every configuration mode shares:
// `exit`, `end`, `no ...`, `do ...`, `hostname`, `enable secret`,
// `ikepulse nat-t force-encapsulation`, `crypto call admission limit ike in-negotiation-sa N`.
#include <cctype>

#include "cli/command_tree.h"
#include "cli/config_util.h"
#include "cli/enable_secret.h"

namespace ikepulse::cli {

namespace {

constexpr Mode kConfigModes[] = {Mode::kConfig,
                                 Mode::kConfigIsakmp,
                                 Mode::kConfigCryptoMap,
                                 Mode::kConfigIf,
                                 Mode::kConfigExtNacl,
                                 Mode::kConfigCryptoTrans,
                                 Mode::kConfigIkev2Proposal,
                                 Mode::kConfigIkev2Policy,
                                 Mode::kConfigIkev2Keyring,
                                 Mode::kConfigIkev2KeyringPeer,
                                 Mode::kConfigIkev2Profile};

bool ValidHostname(const std::string& h) {
  if (h.empty() || h.size() > 63) return false;
  if (!std::isalpha(static_cast<unsigned char>(h.front()))) return false;
  if (!std::isalnum(static_cast<unsigned char>(h.back()))) return false;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

std::optional<std::string> SetSecret(CommandContext& ctx, const std::string& plain) {
  auto hash = HashEnableSecret(plain);
  if (!hash) return "% Unable to hash the enable secret";
  ctx.config->enable_secret_hash = *hash;
  return std::nullopt;
}

}  // namespace

void AddGlobalCommands(Grammar& g) {
  for (Mode m : kConfigModes) {
    Node* root = g.root(m);
    Node* ex = g.Kw(root, "exit", m == Mode::kConfig ? "Exit from configure mode"
                                                     : "Exit from the current sub-mode");
    ex->handler = [](CommandContext& ctx) -> std::optional<std::string> {
      *ctx.mode = ctx.mode->LeaveTo(ParentMode(ctx.mode->mode));
      return std::nullopt;
    };
    Node* end = g.Kw(root, "end", "Exit from configure mode");
    end->handler = [](CommandContext& ctx) -> std::optional<std::string> {
      ctx.mode->mode = Mode::kPrivExec;
      return std::nullopt;
    };
    Node* no = g.Kw(root, "no", "Negate a command or set its defaults");
    no->redirect = Redirect::kNo;
    Node* d = g.Kw(root, "do", "To run exec commands in config mode");
    d->redirect = Redirect::kDo;
  }

  Node* root = g.root(Mode::kConfig);

  // hostname NAME
  Node* hn = g.Kw(root, "hostname", "Set system's network name");
  Node* hn_name = g.Word(hn, "WORD", "This system's network name", "name");
  auto reset_host = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->hostname = "Router";
    return std::nullopt;
  };
  hn->no_handler = reset_host;
  hn_name->no_handler = reset_host;
  hn_name->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    const std::string name = ctx.args.Get("name");
    if (!ValidHostname(name)) return "% Hostname contains one or more illegal characters.";
    ctx.config->hostname = name;
    return std::nullopt;
  };

  // enable secret [0] LINE | enable secret {5|8|9} HASH
  Node* en = g.Kw(root, "enable", "Modify enable password parameters");
  Node* sec = g.Kw(en, "secret", "Assign the privileged level secret");
  auto clear_secret = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->enable_secret_hash.clear();
    return std::nullopt;
  };
  sec->no_handler = clear_secret;
  auto plain = [](CommandContext& ctx) { return SetSecret(ctx, ctx.args.Get("password")); };
  Node* t0 = g.Kw(sec, "0", "Specifies an UNENCRYPTED password will follow");
  Node* t0_line = g.Line(t0, "The UNENCRYPTED (cleartext) 'enable' secret", "password");
  t0_line->handler = plain;
  Node* t5 = g.Kw(sec, "5", "Specifies a crypt(3) HASHED secret will follow");
  Node* t5_hash = g.Word(t5, "LINE", "The HASHED 'enable' secret string", "hash");
  auto hashed = [](int type) {
    return [type](CommandContext& ctx) -> std::optional<std::string> {
      const std::string h = ctx.args.Get("hash");
      if (!IsEnableSecretHash(type, h))
        return "ERROR: The secret you entered is not a valid encrypted secret.";
      ctx.config->enable_secret_hash = h;
      return std::nullopt;
    };
  };
  t5_hash->handler = hashed(5);
  Node* t8 = g.Kw(sec, "8", "Specifies a PBKDF2 HASHED secret will follow");
  Node* t8_hash = g.Word(t8, "LINE", "The HASHED 'enable' secret string", "hash");
  t8_hash->handler = hashed(8);
  Node* t9 = g.Kw(sec, "9", "Specifies a SCRYPT HASHED secret will follow");
  Node* t9_hash = g.Word(t9, "LINE", "The HASHED 'enable' secret string", "hash");
  t9_hash->handler = hashed(9);
  Node* line = g.Line(sec, "The UNENCRYPTED (cleartext) 'enable' secret", "password");
  line->handler = plain;
  for (Node* n : {t0_line, t5_hash, t8_hash, t9_hash, line}) n->no_handler = clear_secret;

  // crypto call admission limit ike in-negotiation-sa <10-99999>: the bound on Main Mode
  // responder negotiations that have not yet proved their source address (MM3).
  Node* crypto = g.Kw(root, "crypto", "Encryption module");
  Node* call = g.Kw(crypto, "call", "Configure Crypto Call Admission Control");
  Node* adm = g.Kw(call, "admission", "Configure Call Admission Control parameters");
  Node* lim = g.Kw(adm, "limit", "Call Admission Control limit");
  Node* ike = g.Kw(lim, "ike", "IKE CAC limit");
  Node* neg = g.Kw(ike, "in-negotiation-sa", "maximum number of in-negotiation IKE SAs");
  Node* neg_n = g.Num(neg, 10, 99999, "Maximum number of in-negotiation IKE SAs", "insa");
  neg_n->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->cac_in_negotiation_sa = static_cast<uint32_t>(ctx.args.Num("insa"));
    return std::nullopt;
  };
  auto neg_off = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->cac_in_negotiation_sa = 0;
    return std::nullopt;
  };
  neg->no_handler = neg_off;
  neg_n->no_handler = neg_off;

  // ikepulse nat-t force-encapsulation (ikepulse extension)
  Node* ik = g.Kw(root, "ikepulse", "ikepulse extensions (not IOS)");
  Node* natt = g.Kw(ik, "nat-t", "NAT traversal options");
  Node* force = g.Kw(natt, "force-encapsulation",
                     "Always use UDP 4500 and UDP-encapsulated ESP (strongSwan libipsec)");
  force->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->force_encapsulation = true;
    return std::nullopt;
  };
  force->no_handler = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->force_encapsulation = false;
    return std::nullopt;
  };

  // ikepulse metrics listen A.B.C.D <1-65535> (ikepulse extension): Prometheus text metrics
  // over HTTP (GET /metrics) on that address; off by default. `no ikepulse metrics listen`
  // stops it.
  Node* metrics = g.Kw(ik, "metrics", "Prometheus metrics over HTTP");
  Node* listen = g.Kw(metrics, "listen", "Serve GET /metrics on an address and port");
  Node* maddr = g.Ip(listen, "A.B.C.D", "Local IP address to listen on", "maddr");
  Node* mport = g.Num(maddr, 1, 65535, "TCP port (9464 is Prometheus' usual one)", "mport");
  mport->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->metrics_address = V4(ctx.args.Get("maddr"));
    ctx.config->metrics_port = static_cast<uint16_t>(ctx.args.Num("mport"));
    return std::nullopt;
  };
  auto metrics_off = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.config->metrics_address = IpAddress{};
    ctx.config->metrics_port = 0;
    return std::nullopt;
  };
  listen->no_handler = metrics_off;
  maddr->no_handler = metrics_off;
  mport->no_handler = metrics_off;
}

}  // namespace ikepulse::cli
