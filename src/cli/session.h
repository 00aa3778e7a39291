// cli::Session: one connected shell's CLI state machine (IOS modes, prompts, `?`, Tab,
// `enable` password, terminal settings), over a Backend. Pure: it does no I/O of its own.
//
// Configuration commands work on a copy of backend.Running(); an accepted line that changes it
// is committed with backend.ApplyConfig(copy). A rejected line (parse error, handler error, or
// the backend refusing) changes nothing: neither the configuration nor the mode.
//
// Not thread-safe; the backend must outlive the session.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/backend.h"
#include "cli/command_tree.h"
#include "cli/output_filter.h"

namespace ikepulse::cli {

class Session {
 public:
  struct Reply {
    std::string output;  // text to show, each line ending with '\n' (may be empty)
    bool error = false;  // the line was rejected
    bool close = false;  // the session ended (`exit`/`logout` at EXEC level)
    // The command runs on (`ping`): `output` is its beginning; call Continue() for the rest.
    bool pending = false;
  };

  explicit Session(Backend& backend);  // starts in user EXEC (`Router>`)
  ~Session();                          // abandons a command still running (StopPing)
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs one line as typed (without the trailing newline). The shell maps Ctrl-Z to "end".
  Reply Execute(std::string_view line);
  // After a pending Reply: the output produced since the last call, pending again until the
  // command has finished. Cheap to call at any time (the host polls it when the backend
  // reports progress). Execute() must not be called while a command is pending.
  Reply Continue();
  bool running() const { return ping_ != 0 || stream_ != nullptr; }
  // A streamed show is running: each Continue() renders its next page (work to do now, not
  // something to wait for as with `ping`).
  bool streaming() const { return stream_ != nullptr; }
  // With streaming on (the daemon's control server), a show over many SAs answers pending
  // and comes a page per Continue(); off (the default), Execute renders it whole.
  void set_streaming(bool on) { streaming_ = on; }
  // Keys (SAs, peers, crypto map entries) rendered per Continue() of a streamed show.
  void set_stream_page(size_t keys) { stream_page_ = keys; }
  // The prompt for the current mode and hostname, e.g. "Router(config-isakmp)#"; while the
  // session waits for the enable password: "Password: ".
  std::string Prompt() const;
  // The `?` listing for the text typed so far (`partial_line` excludes the `?`).
  std::string Help(std::string_view partial_line) const;
  // Tab: the keywords the last partial word can complete to (one: complete it; several: list).
  std::vector<std::string> Complete(std::string_view partial_line) const;

  bool monitor() const { return terminal_.monitor; }
  int terminal_length() const { return terminal_.length; }
  Mode mode() const { return mode_.mode; }
  // True while the next Execute() line is the enable password (the shell should not echo it).
  bool password_prompt() const { return terminal_.want_enable_password; }

 private:
  Reply CheckEnablePassword(std::string_view line);
  // A show command followed by an output modifier (`| include REGEX`, ...); nullopt when the
  // text before the `|` is not a show command (the whole line is then run as typed).
  std::optional<Reply> ExecuteFiltered(std::string_view line, size_t pipe);
  // The text before `pipe` resolves to a show command in the current mode.
  bool ShowBefore(std::string_view line, size_t pipe) const;
  Reply AnswerQuestion(std::string_view line);
  Reply ContinueStream();
  int PromptLength() const { return static_cast<int>(Prompt().size()); }

  Backend& backend_;  // not owned
  ModeState mode_;
  TerminalState terminal_;
  int password_failures_ = 0;
  uint64_t ping_ = 0;        // the backend ping of a pending `ping`
  size_t ping_shown_ = 0;    // its marks already output
  bool streaming_ = false;
  size_t stream_page_ = 256;  // cli::kShowPage
  std::shared_ptr<ShowStream> stream_;     // a streamed show in progress
  std::unique_ptr<StreamFilter> filter_;   // its output modifier (`| include ...`), if any
};

}  // namespace ikepulse::cli
