// EXEC-level commands: enable/disable, exit/logout, configure terminal, terminal monitor and
// length, write memory, copy running-config startup-config.
#include "cli/cli.h"
#include "cli/command_tree.h"

namespace ikepulse::cli {

namespace {

std::optional<std::string> Enable(CommandContext& ctx) {
  if (ctx.mode->mode == Mode::kPrivExec) return std::nullopt;
  // No enable secret configured: the control socket is already root-only, so let the user in
  // (IOS on a console behaves the same way).
  if (ctx.backend->Running().enable_secret_hash.empty()) {
    *ctx.mode = ModeState::In(Mode::kPrivExec);
    return std::nullopt;
  }
  ctx.terminal->want_enable_password = true;
  return std::nullopt;
}

std::optional<std::string> WriteMemory(CommandContext& ctx) {
  ctx.out += "Building configuration...\n";
  if (auto err = ctx.backend->WriteStartupConfig(RenderRunningConfig(ctx.backend->Running())))
    return "% " + *err;
  ctx.out += "[OK]\n";
  return std::nullopt;
}

void AddLineCommands(Grammar& g, Node* root) {
  Node* ex = g.Kw(root, "exit", "Exit from the EXEC");
  Node* lo = g.Kw(root, "logout", "Exit from the EXEC");
  for (Node* n : {ex, lo})
    n->handler = [](CommandContext& ctx) -> std::optional<std::string> {
      ctx.terminal->close = true;
      return std::nullopt;
    };
  g.Kw(root, "enable", "Turn on privileged commands")->handler = Enable;

  Node* term = g.Kw(root, "terminal", "Set terminal line parameters");
  g.Kw(term, "monitor", "Copy debug output to the current terminal line")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.terminal->monitor = true;
    return std::nullopt;
  };
  Node* len = g.Kw(term, "length", "Set number of lines on a screen");
  g.Num(len, 0, 512, "Number of lines on screen (0 for no pausing)", "lines")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.terminal->length = static_cast<int>(ctx.args.Num("lines"));
    return std::nullopt;
  };
  Node* no = g.Kw(term, "no", "Negate a command or set its defaults");
  g.Kw(no, "monitor", "Copy debug output to the current terminal line")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.terminal->monitor = false;
    return std::nullopt;
  };
  g.Kw(no, "length", "Set number of lines on a screen")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.terminal->length = 24;
    return std::nullopt;
  };
}

}  // namespace

void AddExecCommands(Grammar& g) {
  AddLineCommands(g, g.root(Mode::kUserExec));
  Node* root = g.root(Mode::kPrivExec);
  AddLineCommands(g, root);

  g.Kw(root, "disable", "Turn off privileged commands")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    *ctx.mode = ModeState::In(Mode::kUserExec);
    return std::nullopt;
  };
  Node* conf = g.Kw(root, "configure", "Enter configuration mode");
  // `configure` alone asks where from (session.cc answers it).
  conf->handler = [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.terminal->question = TerminalState::Question::kConfigureFrom;
    return std::nullopt;
  };
  g.Kw(conf, "terminal", "Configure from the terminal")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    *ctx.mode = ModeState::In(Mode::kConfig);
    ctx.out += "Enter configuration commands, one per line.  End with CNTL/Z.\n";
    return std::nullopt;
  };

  Node* wr = g.Kw(root, "write", "Write running configuration to memory, network, or terminal");
  wr->handler = WriteMemory;
  g.Kw(wr, "memory", "Write to NV memory")->handler = WriteMemory;
  g.Kw(wr, "terminal", "Write to terminal")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.out += RenderRunningConfig(ctx.backend->Running());
    return std::nullopt;
  };

  Node* copy = g.Kw(root, "copy", "Copy from one file to another");
  Node* run = g.Kw(copy, "running-config", "Copy from current system configuration");
  // IOS asks for the destination name and waits for Enter (session.cc answers it; the
  // scripted shell answers with the default).
  g.Kw(run, "startup-config", "Copy to startup configuration")->handler =
      [](CommandContext& ctx) -> std::optional<std::string> {
    ctx.terminal->question = TerminalState::Question::kCopyDestination;
    return std::nullopt;
  };

  Node* no = g.Kw(root, "no", "Disable debugging functions");
  no->redirect = Redirect::kNo;
}

}  // namespace ikepulse::cli
