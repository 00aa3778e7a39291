// The IOS command tree: modes, keyword/argument nodes, unique-prefix matching, `no` forms,
// `do`, `?` listings and Tab completion. Pure: no I/O.
//
// A grammar is a DAG of Nodes (shared subtrees are allowed, e.g. the ACL address forms).
// Matching one token against a node's children (IOS rules):
//   - a keyword matches when the token is a case-insensitive prefix of it; an exact keyword
//     match wins over other prefix matches; two or more prefix matches and no exact one is
//     ambiguous (`% Ambiguous command:  "sh c"`);
//   - keywords win over arguments; otherwise the first argument (in declaration order) whose
//     type accepts the token matches (a number must be in range, an address must parse);
//   - a hidden keyword (an accepted alternative spelling) matches only when typed in full and
//     is never listed by `?` or offered by Tab.
// A line is accepted when every token matched and the last node has a handler (the `<cr>`
// of the `?` listing); for a line starting with `no`, the node's no-handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "cli/backend.h"
#include "cli/lexer.h"
#include "config/config.h"

namespace ikepulse::cli {

class ShowStream;

enum class Mode : uint8_t {
  kUserExec = 0,
  kPrivExec = 1,
  kConfig = 2,
  kConfigIsakmp = 3,             // crypto isakmp policy N
  kConfigCryptoMap = 4,          // crypto map NAME SEQ [ipsec-isakmp]
  kConfigIf = 5,                 // interface NAME
  kConfigExtNacl = 6,            // ip access-list extended NAME
  kConfigCryptoTrans = 7,        // crypto ipsec transform-set NAME ...
  kConfigIkev2Proposal = 8,      // crypto ikev2 proposal NAME
  kConfigIkev2Policy = 9,        // crypto ikev2 policy NAME
  kConfigIkev2Keyring = 10,      // crypto ikev2 keyring NAME
  kConfigIkev2KeyringPeer = 11,  // peer NAME (inside a keyring)
  kConfigIkev2Profile = 12,      // crypto ikev2 profile NAME
};
inline constexpr int kModeCount = 13;

bool IsConfigMode(Mode m);
// "Router>", "Router#", "Router(config)#", "Router(config-isakmp)#", ...
std::string PromptFor(const std::string& hostname, Mode mode);
// The mode `exit` returns to and a line that is not a sub-mode command is tried in (IOS):
// the keyring for a keyring peer, global configuration for the other sub-modes.
Mode ParentMode(Mode m);

// Where the session is: the mode and which object a sub-mode edits.
struct ModeState {
  Mode mode = Mode::kUserExec;
  uint32_t policy = 0;
  std::string map_name;
  uint32_t map_seq = 0;
  std::string interface;
  std::string acl;
  std::string transform_set;
  std::string ikev2;       // the IKEv2 proposal, policy, keyring or profile being edited
  std::string ikev2_peer;  // the keyring peer being edited (in `ikev2`'s keyring)
  static ModeState In(Mode m) {
    ModeState s;
    s.mode = m;
    return s;
  }
  // The state after leaving this one for the enclosing mode `m` (a keyring peer's keyring
  // keeps its name).
  ModeState LeaveTo(Mode m) const {
    if (m == Mode::kConfigIkev2Keyring && mode == Mode::kConfigIkev2KeyringPeer) {
      ModeState s = In(m);
      s.ikev2 = ikev2;
      return s;
    }
    return In(m);
  }
  bool operator==(const ModeState&) const = default;
};

// Per-session terminal state that exec commands change.
struct TerminalState {
  bool monitor = false;
  int length = 24;
  bool close = false;             // `exit`/`logout` at EXEC level
  bool want_enable_password = false;
  // An IOS question waiting for its answer line (Enter takes the default in brackets).
  enum class Question : uint8_t { kNone = 0, kConfigureFrom = 1, kCopyDestination = 2 };
  Question question = Question::kNone;
  uint64_t ping = 0;              // `ping` started this backend ping (Session::Continue)
};

// A matched argument (or keyword): key as declared on the node, value as typed (keywords:
// their full name).
struct Arg {
  std::string key;
  std::string value;
};

class Args {
 public:
  void Add(std::string key, std::string value) { v_.push_back({std::move(key), std::move(value)}); }
  bool Has(std::string_view key) const;
  std::string Get(std::string_view key) const;  // "" when absent
  uint64_t Num(std::string_view key, uint64_t def = 0) const;
  std::vector<std::string> All(std::string_view key) const;
  const std::vector<Arg>& all() const { return v_; }

 private:
  std::vector<Arg> v_;
};

// What a handler gets. `config` is a scratch copy (config modes) that the caller commits only
// when the handler succeeds; `mode` likewise. `backend`/`terminal` are null while parsing a
// startup-config.
// Indexes a whole-configuration parse keeps so that loading N lines stays O(N): the position
// in config.keys of each (address, mask). Interactive sessions have none (a scan is cheap for
// one line).
struct ParseIndexes {
  std::unordered_map<std::string, size_t> key_positions;
};

struct CommandContext {
  config::Config* config = nullptr;
  ParseIndexes* indexes = nullptr;  // set only by ParseConfigText
  ModeState* mode = nullptr;
  Backend* backend = nullptr;
  TerminalState* terminal = nullptr;
  bool negate = false;  // the line started with `no`
  bool json = false;    // ShowJson: a show handler writes JSON to `out` instead of text
  Args args;
  std::string out;      // output and warnings (each line ends with '\n')
  // A show handler over many SAs sets this instead of rendering everything into `out`: the
  // session runs it a page at a time (after `out`, which comes first).
  std::shared_ptr<ShowStream> stream;
};

// A handler returns nullopt on success or the error text ("% ..."), in which case nothing of
// what it did is kept.
using Handler = std::function<std::optional<std::string>(CommandContext&)>;

enum class NodeKind : uint8_t {
  kKeyword = 0,
  kNumber = 1,   // unsigned decimal in [lo, hi]
  kWord = 2,     // any token
  kIpv4 = 3,     // dotted quad
  kLine = 4,     // the rest of the line, spaces included
};

enum class Redirect : uint8_t { kNone = 0, kNo = 1, kDo = 2 };

struct Node {
  NodeKind kind = NodeKind::kKeyword;
  std::string text;  // keyword, or the placeholder shown by `?` ("WORD", "A.B.C.D", "<10-3600>")
  std::string help;
  std::string key;   // capture key (keywords default to their text)
  uint64_t lo = 0, hi = 0;
  Redirect redirect = Redirect::kNone;
  bool hidden = false;  // keywords: matched only when typed in full; not listed, not completed
  Handler handler;
  Handler no_handler;
  std::vector<Node*> children;
  // Computed by Grammar::Finish(): a handler / no-handler exists at or below this node.
  bool reach = false;
  bool no_reach = false;

  bool Accepts(std::string_view token) const;  // argument nodes: type check
};

// Owns the nodes of all modes' trees.
class Grammar {
 public:
  Grammar();
  Node* root(Mode m) { return roots_[static_cast<int>(m)]; }
  const Node* root(Mode m) const { return roots_[static_cast<int>(m)]; }

  // Node builders: add a child to `parent` and return it.
  Node* Kw(Node* parent, std::string text, std::string help, std::string key = "");
  Node* Num(Node* parent, uint64_t lo, uint64_t hi, std::string help, std::string key);
  Node* Word(Node* parent, std::string placeholder, std::string help, std::string key);
  Node* Ip(Node* parent, std::string placeholder, std::string help, std::string key);
  Node* Line(Node* parent, std::string help, std::string key);
  Node* New(NodeKind kind);  // an unattached node (for shared subtrees)
  static void Link(Node* parent, Node* child) { parent->children.push_back(child); }

  // Computes reachability; call once after building.
  void Finish();

 private:
  std::vector<std::unique_ptr<Node>> arena_;
  Node* roots_[kModeCount] = {};
};

// The result of matching a tokenized line against a mode's tree.
struct WalkResult {
  enum class Status : uint8_t { kOk, kInvalid, kIncomplete, kAmbiguous, kEmpty };
  Status status = Status::kEmpty;
  const Node* node = nullptr;      // the last node matched
  bool negate = false;
  bool exec = false;               // an EXEC command (`do ...` or an EXEC mode)
  Mode mode = Mode::kUserExec;     // the mode whose tree matched (sub-mode fallback: kConfig)
  int bad_token = -1;              // index of the offending token (kInvalid/kAmbiguous)
  int command_tokens = 0;          // tokens matched after `no`/`do`
  Args args;
};

// `mode` selects the root; `do` switches to the privileged EXEC root.
WalkResult Walk(const Grammar& g, Mode mode, std::string_view line,
                const std::vector<Token>& tokens);

// The `?` listing for `partial_line` (the text up to the cursor) in `mode`; errors in the
// words before the one being completed produce the same text as Execute would, caret aligned
// for a prompt of `prompt_len` characters.
std::string HelpText(const Grammar& g, Mode mode, std::string_view partial_line, int prompt_len);
// Tab: the full keywords the last (partial) word may complete to; empty when nothing fits.
std::vector<std::string> Completions(const Grammar& g, Mode mode, std::string_view partial_line);

// IOS error texts.
std::string CaretError(int column);  // spaces, '^', then the Invalid input line
inline constexpr char kInvalidInput[] = "% Invalid input detected at '^' marker.";
inline constexpr char kIncomplete[] = "% Incomplete command.";
std::string AmbiguousError(std::string_view line);  // % Ambiguous command:  "sh c"

// The grammar of every mode (built once).
const Grammar& TheGrammar();

// Builders of the command families (each in its own file).
void AddGlobalCommands(Grammar& g);        // config_commands_global.cc
void AddIsakmpCommands(Grammar& g);        // config_commands_isakmp.cc
void AddCryptoMapCommands(Grammar& g);     // config_commands_map.cc
void AddIkev2Commands(Grammar& g);         // config_commands_ikev2.cc
void AddAclInterfaceCommands(Grammar& g);  // config_commands_acl_if.cc
void AddExecCommands(Grammar& g);          // exec_commands.cc
void AddPingCommand(Grammar& g);           // ping.cc
void AddShowCommands(Grammar& g);          // show_commands.cc
void AddClearDebugCommands(Grammar& g);    // clear_debug.cc
void AddSystemCommands(Grammar& g);        // show_system.cc
void AddIkev2ShowCommands(Grammar& g);     // show_ikev2.cc
void AddIkev2OperCommands(Grammar& g);     // show_ikev2_sa.cc

}  // namespace ikepulse::cli
