#include "cli/session.h"

#include "cli/enable_secret.h"
#include "cli/line_runner.h"
#include "cli/output_filter.h"
#include "cli/show_stream.h"

namespace ikepulse::cli {

Session::Session(Backend& backend) : backend_(backend) {}

Session::~Session() {
  if (ping_ != 0) backend_.StopPing(ping_);
}

Session::Reply Session::ContinueStream() {
  Reply r;
  r.pending = stream_->Next(backend_, r.output, stream_page_);
  if (filter_) {
    r.output = filter_->Feed(r.output);
    if (!r.pending) r.output += filter_->Finish();
  }
  if (!r.pending) {
    stream_.reset();
    filter_.reset();
  }
  return r;
}

std::string Session::Prompt() const {
  if (terminal_.want_enable_password) return "Password: ";
  switch (terminal_.question) {
    case TerminalState::Question::kConfigureFrom:
      return "Configuring from terminal, memory, or network [terminal]? ";
    case TerminalState::Question::kCopyDestination:
      return "Destination filename [startup-config]? ";
    case TerminalState::Question::kNone:
      break;
  }
  return PromptFor(backend_.Running().hostname, mode_.mode);
}

std::string Session::Help(std::string_view partial_line) const {
  if (terminal_.want_enable_password || terminal_.question != TerminalState::Question::kNone)
    return "";
  if (auto pipe = PipeOffset(partial_line); pipe && ShowBefore(partial_line, *pipe))
    return OutputFilterHelp(partial_line.substr(*pipe + 1));
  return HelpText(TheGrammar(), mode_.mode, partial_line, PromptLength());
}

std::vector<std::string> Session::Complete(std::string_view partial_line) const {
  if (terminal_.want_enable_password || terminal_.question != TerminalState::Question::kNone)
    return {};
  if (auto pipe = PipeOffset(partial_line); pipe && ShowBefore(partial_line, *pipe))
    return OutputFilterCompletions(partial_line.substr(*pipe + 1));
  return Completions(TheGrammar(), mode_.mode, partial_line);
}

Session::Reply Session::CheckEnablePassword(std::string_view line) {
  terminal_.want_enable_password = false;
  const std::string& hash = backend_.Running().enable_secret_hash;
  if (!hash.empty() && VerifyEnableSecret(line, hash)) {
    password_failures_ = 0;
    mode_ = ModeState::In(Mode::kPrivExec);
    return {};
  }
  // IOS asks three times, then gives up with "% Bad secrets".
  if (++password_failures_ < 3) {
    terminal_.want_enable_password = true;
    return {"", true, false};
  }
  password_failures_ = 0;
  return {"% Bad secrets\n\n", true, false};
}

bool Session::ShowBefore(std::string_view line, size_t pipe) const {
  const std::string_view command = line.substr(0, pipe);
  const std::vector<Token> tokens = Tokenize(command);
  if (tokens.empty()) return false;
  return IsShowCommand(Resolve(TheGrammar(), mode_.mode, command, tokens));
}

std::optional<Session::Reply> Session::ExecuteFiltered(std::string_view line, size_t pipe) {
  if (!ShowBefore(line, pipe)) return std::nullopt;
  ParsedFilter p = ParseOutputFilter(line.substr(pipe + 1), static_cast<int>(pipe) + 1);
  if (!p.filter) {
    if (p.error.column >= 0 && p.error.message == kInvalidInput)
      return Reply{CaretError(PromptLength() + p.error.column) + "\n", true, false};
    return Reply{p.error.message + (p.error.message == kIncomplete ? "\n\n" : "\n"), true, false};
  }
  Reply r = Execute(line.substr(0, pipe));
  if (r.error) return r;
  if (stream_) {  // a streamed show: the filter runs on each page as it comes
    StreamFilter f(*p.filter);
    if (!f.ok()) {
      stream_.reset();
      return Reply{std::string(kBadRegex) + "\n", true, false};
    }
    r.output = f.Feed(r.output);
    filter_ = std::make_unique<StreamFilter>(std::move(f));
    return r;
  }
  std::optional<std::string> filtered = ApplyOutputFilter(*p.filter, r.output);
  if (!filtered) return Reply{std::string(kBadRegex) + "\n", true, false};
  r.output = std::move(*filtered);
  return r;
}

// The answer to a pending question: Enter (or the default's name, abbreviated) proceeds as the
// full command would; anything else is refused, as IOS does, and nothing changes.
Session::Reply Session::AnswerQuestion(std::string_view line) {
  const auto q = terminal_.question;
  terminal_.question = TerminalState::Question::kNone;
  std::string_view a = line;
  while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
  while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
  if (q == TerminalState::Question::kConfigureFrom) {
    if (a.empty() || std::string_view("terminal").starts_with(a))
      return Execute("configure terminal");
    return {"?Must be \"terminal\"\n", true, false};
  }
  if (a.empty() || a == "startup-config") return Execute("write memory");
  return {"%Error opening " + std::string(a) + " (Permission denied)\n", true, false};
}

Session::Reply Session::Execute(std::string_view line) {
  if (terminal_.want_enable_password) return CheckEnablePassword(line);
  if (terminal_.question != TerminalState::Question::kNone) return AnswerQuestion(line);
  // `!` starts a comment line in every mode (a pasted running-config is full of them).
  const size_t first = line.find_first_not_of(" \t\r");
  if (first != std::string_view::npos && line[first] == '!') return {};
  if (auto pipe = PipeOffset(line)) {
    if (std::optional<Reply> r = ExecuteFiltered(line, *pipe)) return *r;
  }
  const std::vector<Token> tokens = Tokenize(line);
  if (tokens.empty()) return {};
  const Grammar& g = TheGrammar();
  WalkResult r = Resolve(g, mode_.mode, line, tokens);
  if (r.status != WalkResult::Status::kOk) {
    // A single unknown word at EXEC level: IOS tries it as a host name to telnet to.
    if (r.status == WalkResult::Status::kInvalid && !IsConfigMode(mode_.mode) &&
        tokens.size() == 1) {
      return {"% Unknown command or computer name, or unable to find computer address\n", true,
              false};
    }
    LineError e = ErrorFor(r, line, tokens);
    switch (r.status) {
      case WalkResult::Status::kInvalid:
        return {CaretError(PromptLength() + e.column) + "\n", true, false};
      case WalkResult::Status::kAmbiguous:
        return {e.message + "\n", true, false};
      default:
        return {e.message + "\n\n", true, false};
    }
  }

  const Handler& h = r.negate ? r.node->no_handler : r.node->handler;
  CommandContext ctx;
  ModeState mode = mode_;
  if (r.mode != mode.mode && IsConfigMode(r.mode)) mode = mode.LeaveTo(r.mode);
  TerminalState terminal = terminal_;
  ctx.mode = &mode;
  ctx.terminal = &terminal;
  ctx.backend = &backend_;
  ctx.negate = r.negate;
  ctx.args = std::move(r.args);

  if (r.exec) {
    // EXEC commands (also `do ...` from configuration modes) read and act through the backend.
    if (auto err = h(ctx)) return {ctx.out + *err + "\n", true, false};
    // `do` never changes the configuration mode.
    if (!IsConfigMode(mode_.mode)) mode_ = mode;
    terminal_ = terminal;
    const bool close = terminal_.close;
    terminal_.close = false;
    if (ctx.stream) {
      if (!streaming_) {
        ctx.out += Drain(*ctx.stream, backend_);
        return {std::move(ctx.out), false, close};
      }
      stream_ = std::move(ctx.stream);
      return {std::move(ctx.out), false, close, true};
    }
    if (terminal_.ping != 0) {
      ping_ = terminal_.ping;
      ping_shown_ = 0;
      terminal_.ping = 0;
      return {std::move(ctx.out), false, close, true};
    }
    return {std::move(ctx.out), false, close};
  }

  config::Config scratch = backend_.Running();
  ctx.config = &scratch;
  if (auto err = h(ctx)) return {ctx.out + *err + "\n", true, false};
  if (!(scratch == backend_.Running())) {
    if (auto refused = backend_.ApplyConfig(scratch)) {
      std::string msg = *refused;
      if (msg.empty() || msg.back() != '\n') msg += "\n";
      return {msg, true, false};
    }
  }
  mode_ = mode;
  terminal_ = terminal;
  return {std::move(ctx.out), false, false};
}

}  // namespace ikepulse::cli
