#include "cli/command_tree.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ikepulse::cli {

bool IsConfigMode(Mode m) { return m != Mode::kUserExec && m != Mode::kPrivExec; }

std::string PromptFor(const std::string& hostname, Mode mode) {
  switch (mode) {
    case Mode::kUserExec: return hostname + ">";
    case Mode::kPrivExec: return hostname + "#";
    case Mode::kConfig: return hostname + "(config)#";
    case Mode::kConfigIsakmp: return hostname + "(config-isakmp)#";
    case Mode::kConfigCryptoMap: return hostname + "(config-crypto-map)#";
    case Mode::kConfigIf: return hostname + "(config-if)#";
    case Mode::kConfigExtNacl: return hostname + "(config-ext-nacl)#";
    case Mode::kConfigCryptoTrans: return hostname + "(cfg-crypto-trans)#";
    case Mode::kConfigIkev2Proposal:
      return hostname + "(config-ikev2-proposal)#";
    case Mode::kConfigIkev2Policy:
      return hostname + "(config-ikev2-policy)#";
    case Mode::kConfigIkev2Keyring:
      return hostname + "(config-ikev2-keyring)#";
    case Mode::kConfigIkev2KeyringPeer:
      return hostname + "(config-ikev2-keyring-peer)#";
    case Mode::kConfigIkev2Profile:
      return hostname + "(config-ikev2-profile)#";
  }
  return hostname + "#";
}

Mode ParentMode(Mode m) {
  switch (m) {
    case Mode::kUserExec:
    case Mode::kPrivExec:
      return m;
    case Mode::kConfig:
      return Mode::kPrivExec;
    case Mode::kConfigIkev2KeyringPeer:
      return Mode::kConfigIkev2Keyring;
    default:
      return Mode::kConfig;
  }
}

bool Args::Has(std::string_view key) const {
  for (const auto& a : v_)
    if (a.key == key) return true;
  return false;
}

std::string Args::Get(std::string_view key) const {
  for (const auto& a : v_)
    if (a.key == key) return a.value;
  return "";
}

uint64_t Args::Num(std::string_view key, uint64_t def) const {
  for (const auto& a : v_) {
    if (a.key != key) continue;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(a.value.data(), a.value.data() + a.value.size(), v);
    if (ec == std::errc() && p == a.value.data() + a.value.size()) return v;
  }
  return def;
}

std::vector<std::string> Args::All(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& a : v_)
    if (a.key == key) out.push_back(a.value);
  return out;
}

bool Node::Accepts(std::string_view token) const {
  switch (kind) {
    case NodeKind::kKeyword:
      return false;
    case NodeKind::kNumber: {
      if (token.empty() || token.size() > 19) return false;
      for (char c : token)
        if (c < '0' || c > '9') return false;
      uint64_t v = 0;
      std::from_chars(token.data(), token.data() + token.size(), v);
      return v >= lo && v <= hi;
    }
    case NodeKind::kWord:
    case NodeKind::kLine:
      return !token.empty();
    case NodeKind::kIpv4: {
      auto a = IpAddress::Parse(token);
      return a && !a->v6;
    }
  }
  return false;
}

Grammar::Grammar() {
  for (auto& r : roots_) r = New(NodeKind::kKeyword);
}

Node* Grammar::New(NodeKind kind) {
  arena_.push_back(std::make_unique<Node>());
  arena_.back()->kind = kind;
  return arena_.back().get();
}

Node* Grammar::Kw(Node* parent, std::string text, std::string help, std::string key) {
  // One keyword per parent: command families share prefixes such as `crypto` or `ip`.
  for (Node* c : parent->children)
    if (c->kind == NodeKind::kKeyword && c->text == text && c->redirect == Redirect::kNone &&
        (key.empty() || c->key == key))
      return c;
  Node* n = New(NodeKind::kKeyword);
  n->key = key.empty() ? text : std::move(key);
  n->text = std::move(text);
  n->help = std::move(help);
  parent->children.push_back(n);
  return n;
}

Node* Grammar::Num(Node* parent, uint64_t lo, uint64_t hi, std::string help, std::string key) {
  Node* n = New(NodeKind::kNumber);
  n->lo = lo;
  n->hi = hi;
  n->text = "<" + std::to_string(lo) + "-" + std::to_string(hi) + ">";
  n->help = std::move(help);
  n->key = std::move(key);
  parent->children.push_back(n);
  return n;
}

Node* Grammar::Word(Node* parent, std::string placeholder, std::string help, std::string key) {
  Node* n = New(NodeKind::kWord);
  n->text = std::move(placeholder);
  n->help = std::move(help);
  n->key = std::move(key);
  parent->children.push_back(n);
  return n;
}

Node* Grammar::Ip(Node* parent, std::string placeholder, std::string help, std::string key) {
  Node* n = New(NodeKind::kIpv4);
  n->text = std::move(placeholder);
  n->help = std::move(help);
  n->key = std::move(key);
  parent->children.push_back(n);
  return n;
}

Node* Grammar::Line(Node* parent, std::string help, std::string key) {
  Node* n = New(NodeKind::kLine);
  n->text = "LINE";
  n->help = std::move(help);
  n->key = std::move(key);
  parent->children.push_back(n);
  return n;
}

namespace {

// 0 = unvisited, 1 = in progress, 2 = done.
void ComputeReach(Node* n, std::vector<std::pair<Node*, int>>& seen) {
  for (auto& [p, st] : seen)
    if (p == n) return;
  seen.push_back({n, 1});
  bool reach = static_cast<bool>(n->handler) || n->redirect != Redirect::kNone;
  bool no_reach = static_cast<bool>(n->no_handler);
  for (Node* c : n->children) {
    ComputeReach(c, seen);
    if (c->redirect != Redirect::kNone) continue;
    reach = reach || c->reach;
    no_reach = no_reach || c->no_reach;
  }
  n->reach = reach;
  n->no_reach = no_reach;
}

bool Eligible(const Node* c, bool negate, bool in_command) {
  if (c->redirect != Redirect::kNone) return !negate && !in_command;
  return negate ? c->no_reach : c->reach;
}

struct MatchOne {
  enum class Kind : uint8_t { kNone, kOne, kAmbiguous } kind = Kind::kNone;
  const Node* node = nullptr;
};

MatchOne Match(const Node* node, std::string_view tok, bool negate, bool in_command) {
  const Node* exact = nullptr;
  std::vector<const Node*> kws;
  for (const Node* c : node->children) {
    if (!Eligible(c, negate, in_command) || c->kind != NodeKind::kKeyword) continue;
    if (EqualsIgnoreCase(tok, c->text)) exact = c;
    else if (!c->hidden && IsPrefixOf(tok, c->text))
      kws.push_back(c);
  }
  if (exact) return {MatchOne::Kind::kOne, exact};
  if (kws.size() == 1) return {MatchOne::Kind::kOne, kws[0]};
  if (kws.size() > 1) return {MatchOne::Kind::kAmbiguous, nullptr};
  for (const Node* c : node->children) {
    if (!Eligible(c, negate, in_command) || c->kind == NodeKind::kKeyword) continue;
    if (c->Accepts(tok)) return {MatchOne::Kind::kOne, c};
  }
  return {};
}

std::string_view RTrim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Walks the first `count` tokens. On success the result's node is where the walk stopped and
// status is kOk (no handler check).
WalkResult WalkTokens(const Grammar& g, Mode mode, std::string_view line,
                      const std::vector<Token>& tokens, size_t count) {
  WalkResult r;
  r.exec = !IsConfigMode(mode);
  r.mode = mode;
  const Node* node = g.root(mode);
  r.status = WalkResult::Status::kOk;
  for (size_t i = 0; i < count; ++i) {
    if (node->kind == NodeKind::kLine) break;
    const Token& tok = tokens[i];
    MatchOne m = Match(node, tok.text, r.negate, r.command_tokens > 0);
    if (m.kind == MatchOne::Kind::kAmbiguous) {
      r.status = WalkResult::Status::kAmbiguous;
      r.bad_token = static_cast<int>(i);
      break;
    }
    if (m.kind == MatchOne::Kind::kNone) {
      r.status = WalkResult::Status::kInvalid;
      r.bad_token = static_cast<int>(i);
      break;
    }
    const Node* c = m.node;
    if (c->redirect == Redirect::kNo) {
      r.negate = true;
      continue;
    }
    if (c->redirect == Redirect::kDo) {
      node = g.root(Mode::kPrivExec);
      r.exec = true;
      continue;
    }
    node = c;
    ++r.command_tokens;
    if (c->kind == NodeKind::kKeyword) {
      r.args.Add(c->key, c->text);
    } else if (c->kind == NodeKind::kLine) {
      r.args.Add(c->key, std::string(RTrim(line.substr(static_cast<size_t>(tok.offset)))));
    } else {
      r.args.Add(c->key, tok.text);
    }
  }
  r.node = node;
  return r;
}

bool NumericKeyword(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool KeywordLess(const Node* a, const Node* b) {
  const bool na = NumericKeyword(a->text), nb = NumericKeyword(b->text);
  if (na && nb) return std::stoull(a->text) < std::stoull(b->text);
  if (na != nb) return na;
  return a->text < b->text;
}

}  // namespace

void Grammar::Finish() {
  std::vector<std::pair<Node*, int>> seen;
  for (Node* r : roots_) ComputeReach(r, seen);
}

WalkResult Walk(const Grammar& g, Mode mode, std::string_view line,
                const std::vector<Token>& tokens) {
  if (tokens.empty()) return WalkResult{};
  WalkResult r = WalkTokens(g, mode, line, tokens, tokens.size());
  if (r.status != WalkResult::Status::kOk) return r;
  const Handler& h = r.negate ? r.node->no_handler : r.node->handler;
  if (!h || r.command_tokens == 0) {
    r.status = WalkResult::Status::kIncomplete;
    r.bad_token = static_cast<int>(tokens.size());
  }
  return r;
}

std::string CaretError(int column) {
  return std::string(static_cast<size_t>(std::max(column, 0)), ' ') + "^\n" + kInvalidInput +
         "\n";
}

std::string AmbiguousError(std::string_view line) {
  std::string_view s = RTrim(line);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return "% Ambiguous command:  \"" + std::string(s) + "\"\n";
}

std::string HelpText(const Grammar& g, Mode mode, std::string_view partial_line, int prompt_len) {
  const bool at_space =
      partial_line.empty() || std::isspace(static_cast<unsigned char>(partial_line.back()));
  std::vector<Token> tokens = Tokenize(partial_line);
  const size_t prefix = at_space || tokens.empty() ? tokens.size() : tokens.size() - 1;
  WalkResult r = WalkTokens(g, mode, partial_line, tokens, prefix);
  if (r.status == WalkResult::Status::kAmbiguous) return AmbiguousError(partial_line);
  if (r.status == WalkResult::Status::kInvalid)
    return CaretError(prompt_len + tokens[static_cast<size_t>(r.bad_token)].offset);
  const Node* node = r.node;
  const bool in_command = r.command_tokens > 0;
  if (node->kind == NodeKind::kLine && prefix > 0) {
    // Everything after a LINE argument belongs to it.
    const Handler& h = r.negate ? node->no_handler : node->handler;
    return h ? "  <cr>\n" : "";
  }
  std::vector<const Node*> args, kws;
  for (const Node* c : node->children) {
    if (!Eligible(c, r.negate, in_command) || c->hidden) continue;
    (c->kind == NodeKind::kKeyword ? kws : args).push_back(c);
  }
  std::sort(kws.begin(), kws.end(), KeywordLess);
  if (!at_space) {
    const std::string& word = tokens.back().text;
    std::string out;
    for (const Node* c : kws)
      if (IsPrefixOf(word, c->text)) out += (out.empty() ? "" : "  ") + c->text;
    if (out.empty())
      for (const Node* c : args)
        if (c->Accepts(word)) {
          out = c->text;
          break;
        }
    if (out.empty()) return "% Unrecognized command\n";
    return out + "\n";
  }
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Node* c : args) rows.push_back({c->text, c->help});
  for (const Node* c : kws) rows.push_back({c->text, c->help});
  const Handler& h = r.negate ? node->no_handler : node->handler;
  if (h && in_command && !r.args.all().empty() && r.exec && r.args.all().front().key == "show")
    rows.push_back({"|", "Output modifiers"});
  if (h && in_command) rows.push_back({"<cr>", ""});
  if (rows.empty()) return "% Unrecognized command\n";
  size_t width = 0;
  for (const auto& [name, help] : rows) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, help] : rows) {
    std::string row = "  " + name;
    if (!help.empty()) row += std::string(width - name.size() + 2, ' ') + help;
    out += row + "\n";
  }
  return out;
}

std::vector<std::string> Completions(const Grammar& g, Mode mode, std::string_view partial_line) {
  if (partial_line.empty() || std::isspace(static_cast<unsigned char>(partial_line.back())))
    return {};
  std::vector<Token> tokens = Tokenize(partial_line);
  WalkResult r = WalkTokens(g, mode, partial_line, tokens, tokens.size() - 1);
  if (r.status != WalkResult::Status::kOk || r.node->kind == NodeKind::kLine) return {};
  std::vector<const Node*> kws;
  const std::string& word = tokens.back().text;
  for (const Node* c : r.node->children) {
    if (!Eligible(c, r.negate, r.command_tokens > 0) || c->kind != NodeKind::kKeyword || c->hidden)
      continue;
    if (EqualsIgnoreCase(word, c->text)) return {c->text};
    if (IsPrefixOf(word, c->text)) kws.push_back(c);
  }
  std::sort(kws.begin(), kws.end(), KeywordLess);
  std::vector<std::string> out;
  for (const Node* c : kws) out.push_back(c->text);
  return out;
}

const Grammar& TheGrammar() {
  static const Grammar* const g = [] {
    auto* gr = new Grammar();
    AddGlobalCommands(*gr);
    AddIsakmpCommands(*gr);
    AddCryptoMapCommands(*gr);
    AddIkev2Commands(*gr);
    AddAclInterfaceCommands(*gr);
    AddExecCommands(*gr);
    AddPingCommand(*gr);
    AddShowCommands(*gr);
    AddClearDebugCommands(*gr);
    AddSystemCommands(*gr);
    AddIkev2ShowCommands(*gr);
    AddIkev2OperCommands(*gr);
    gr->Finish();
    return gr;
  }();
  return *g;
}

}  // namespace ikepulse::cli
