// ikepulse: the IOS-style shell of ikepulsed, over its control socket (protocol.h).
//
//   ikepulse [--socket PATH]                 interactive: libedit line editing and history
//                                            (~/.ikepulse_history), `?` help as typed, Tab
//                                            completion, Ctrl-Z = end, --More-- paging
//   ikepulse [--json] -c CMD [-c CMD]...     run each command in privileged EXEC
//   ikepulse [--json] [--configure] [--stop-on-error] < FILE
//                                            run each line of stdin (stdin not a terminal),
//                                            past failing lines unless --stop-on-error
//
// Exit status: 0 success, 1 a command failed (or the daemon went away), 2 usage or connection
// error. The socket defaults to $IKEPULSE_SOCKET, else /run/ikepulse/ikepulse.sock.
#include <errno.h>
#include <getopt.h>
#include <histedit.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/shell/control_client.h"
#include "cli/shell/protocol.h"

namespace ikepulse::shell {
namespace {

constexpr char kDefaultSocket[] = "/run/ikepulse/ikepulse.sock";
constexpr char kUsage[] =
    "usage: ikepulse [--socket PATH] [--json] [-c COMMAND]... [--configure]\n"
    "  -s, --socket PATH   control socket of ikepulsed (default $IKEPULSE_SOCKET or\n"
    "                      /run/ikepulse/ikepulse.sock)\n"
    "  -c, --command CMD   run CMD in privileged EXEC and exit; repeatable, stops at the\n"
    "                      first error\n"
    "  -j, --json          answer show commands in JSON (with -c or stdin)\n"
    "      --configure     stdin mode: run the lines in `configure terminal` (and leave\n"
    "                      configuration mode at the end unless the text did, with `end`)\n"
    "      --stop-on-error stdin mode: stop at the first failing line\n"
    "  -h, --help          this text\n"
    "Without -c, a terminal on stdin starts the interactive shell; otherwise each line of\n"
    "stdin is executed like -c, as a paste into IOS: blank and `!` lines are skipped, a\n"
    "failing line is reported with its number and the next lines still run; the exit\n"
    "status is 1 when any line failed.\n";

struct Options {
  std::string socket;
  std::vector<std::string> commands;
  bool json = false;
  bool configure = false;
  bool stop_on_error = false;
};

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

bool IsBlankOrComment(std::string_view line) {
  size_t i = line.find_first_not_of(" \t\r");
  return i == std::string_view::npos || line[i] == '!';
}

// Every configuration mode's prompt is HOSTNAME(MODE)# ("(config-if)", "(cfg-crypto-trans)"),
// and a hostname has no parentheses.
bool InConfigMode(const std::string& prompt) {
  return prompt.size() > 2 && prompt.compare(prompt.size() - 2, 2, ")#") == 0 &&
         prompt.find('(') != std::string::npos;
}

// An IOS question with its default in brackets ("Destination filename [startup-config]? ").
bool AsksQuestion(const std::string& prompt) {
  return prompt.size() >= 3 && prompt.compare(prompt.size() - 3, 3, "]? ") == 0;
}

bool AsksPassword(const std::string& prompt) {
  std::string_view p(prompt);
  while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
  return p.size() >= 9 && p.substr(p.size() - 9) == "Password:";
}

// Reads one key from the terminal without echo or line buffering.
int ReadKey() {
  termios saved;
  if (tcgetattr(STDIN_FILENO, &saved) != 0) return 'q';
  termios raw = saved;
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  unsigned char c = 'q';
  ssize_t n;
  do {
    n = read(STDIN_FILENO, &c, 1);
  } while (n < 0 && errno == EINTR);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return n == 1 ? c : 'q';
}

// Prints command output, IOS-style: with a terminal length, a full page is followed by
// --More--; space shows the next page, Return the next line, anything else stops.
void PrintPaged(std::string_view text, uint32_t length) {
  if (length < 2 || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
    WriteAll(STDOUT_FILENO, text);
    return;
  }
  size_t budget = length - 1;
  while (!text.empty()) {
    size_t end = 0;
    size_t lines = 0;
    while (end < text.size() && lines < budget) {
      size_t nl = text.find('\n', end);
      end = nl == std::string_view::npos ? text.size() : nl + 1;
      ++lines;
    }
    WriteAll(STDOUT_FILENO, text.substr(0, end));
    text.remove_prefix(end);
    if (text.empty()) return;
    constexpr std::string_view kMore = " --More-- ";
    WriteAll(STDOUT_FILENO, kMore);
    int key = ReadKey();
    WriteAll(STDOUT_FILENO, "\r" + std::string(kMore.size(), ' ') + "\r");
    if (key == ' ') {
      budget = length - 1;
    } else if (key == '\r' || key == '\n') {
      budget = 1;
    } else {
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scripted use: -c commands or stdin lines.

struct ScriptOptions {
  bool json = false;
  // What the first entry of `lines` is called in errors ("line N" when it is >= 0, "command N"
  // counted from 1 otherwise).
  int first_number = -1;
  bool stop_on_error = true;
  bool end_config = false;  // run `end` after the last line if still in configuration mode
};

// Runs `lines` in privileged EXEC; 0 when every line succeeded.
int RunScript(ControlClient& client, const std::vector<std::string>& lines,
              const ScriptOptions& so) {
  const bool json = so.json;
  const int first_number = so.first_number;
  int failures = 0;
  client.set_on_async([](const std::string& line) { WriteAll(STDERR_FILENO, line + "\n"); });
  client.set_on_partial([](const std::string& text) { WriteAll(STDOUT_FILENO, text); });
  auto call = [&](RequestKind kind, const std::string& line) -> std::optional<Reply> {
    auto r = client.Call(kind, line);
    if (!r) {
      std::cerr << "ikepulse: " << r.error() << "\n";
      return std::nullopt;
    }
    return *r;
  };
  auto prompt = call(RequestKind::kPrompt, "");
  if (!prompt) return 1;
  if (!prompt->prompt.empty() && prompt->prompt.back() == '>') {
    auto enable = call(RequestKind::kExec, "enable");
    if (!enable) return 1;
    if (enable->error || AsksPassword(enable->prompt)) {
      std::cerr << "ikepulse: cannot enter privileged EXEC (enable needs a password)\n";
      return 1;
    }
    prompt = enable;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (IsBlankOrComment(line)) continue;
    bool is_show = json && !InConfigMode(prompt->prompt);
    std::string before = prompt->prompt;
    auto r = call(is_show ? RequestKind::kJson : RequestKind::kExec, line);
    if (!r) return 1;
    // A script answers IOS's questions (`copy running-config startup-config`) with the default.
    for (int q = 0; q < 4 && !r->error && AsksQuestion(r->prompt); ++q) {
      WriteAll(STDOUT_FILENO, r->output);
      r = call(RequestKind::kExec, "");
      if (!r) return 1;
    }
    if (r->error) {
      std::cerr << "ikepulse: " << (first_number >= 0 ? "line " : "command ")
                << (first_number >= 0 ? static_cast<int>(i) + first_number
                                      : static_cast<int>(i) + 1)
                << " failed: " << line << "\n"
                << before << line << "\n"
                << r->output;
      if (!r->output.empty() && r->output.back() != '\n') std::cerr << "\n";
      if (so.stop_on_error) return 1;
      ++failures;
      prompt = r;
      continue;
    }
    WriteAll(STDOUT_FILENO, r->output);
    prompt = r;
    if (r->close) return failures > 0 ? 1 : 0;
  }
  if (so.end_config && InConfigMode(prompt->prompt)) {
    auto r = call(RequestKind::kExec, "end");
    if (!r || r->error) return 1;
  }
  return failures > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Interactive use.

struct Interactive {
  ControlClient* client = nullptr;
  std::string prompt;
  uint32_t terminal_length = 0;
  EditLine* el = nullptr;
  bool editing = false;  // inside el_gets: async lines must go above the prompt
  bool lost = false;     // the daemon closed the connection
  bool ctrl_z = false;
  bool cancel = false;
  std::mbstate_t mb{};
};

Interactive* Self(EditLine* el) {
  void* data = nullptr;
  el_get(el, EL_CLIENTDATA, &data);
  return static_cast<Interactive*>(data);
}

char* PromptFn(EditLine* el) { return const_cast<char*>(Self(el)->prompt.c_str()); }

// The text before the cursor.
std::string UpToCursor(EditLine* el) {
  const LineInfo* li = el_line(el);
  return std::string(li->buffer, static_cast<size_t>(li->cursor - li->buffer));
}

// libedit's character source: waits on the terminal and the daemon together, so monitor
// lines print above the prompt while the user types.
int GetChar(EditLine* el, wchar_t* wc) {
  Interactive* self = Self(el);
  for (;;) {
    pollfd pfds[2] = {{STDIN_FILENO, POLLIN, 0}, {self->client->fd(), POLLIN, 0}};
    if (poll(pfds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (pfds[1].revents != 0) {
      if (!self->client->Pump()) {
        self->lost = true;
        return 0;
      }
      continue;
    }
    if (pfds[0].revents == 0) continue;
    char c;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? 0 : -1;
    size_t used = std::mbrtowc(wc, &c, 1, &self->mb);
    if (used == static_cast<size_t>(-2)) continue;  // incomplete multibyte sequence
    if (used == static_cast<size_t>(-1)) {
      self->mb = std::mbstate_t{};
      *wc = static_cast<unsigned char>(c);
    }
    return 1;
  }
}

void PrintAsync(Interactive* self, const std::string& line) {
  if (self->editing) {
    // Clear the prompt line, print above it, and let libedit draw prompt and text again.
    WriteAll(STDOUT_FILENO, "\r\033[K" + line + "\r\n");
    el_set(self->el, EL_REFRESH);
  } else {
    WriteAll(STDOUT_FILENO, line + "\n");
  }
}

void Adopt(Interactive* self, const Reply& reply) {
  self->prompt = reply.prompt;
  self->terminal_length = reply.terminal_length;
}

// `?`: the listing for the text before the cursor, then the same line again (IOS).
unsigned char HelpKey(EditLine* el, int) {
  Interactive* self = Self(el);
  std::string line = UpToCursor(el);
  WriteAll(STDOUT_FILENO, "?\r\n");
  auto r = self->client->Call(RequestKind::kHelp, line);
  if (!r) {
    self->lost = true;
    return CC_EOF;
  }
  Adopt(self, *r);
  std::string out;
  for (char c : r->output) {
    if (c == '\n') out += '\r';
    out += c;
  }
  WriteAll(STDOUT_FILENO, out);
  return CC_REDISPLAY;
}

// Tab: complete the last word when the daemon knows exactly what it is.
unsigned char CompleteKey(EditLine* el, int) {
  Interactive* self = Self(el);
  std::string line = UpToCursor(el);
  size_t start = line.find_last_of(" \t");
  std::string word = start == std::string::npos ? line : line.substr(start + 1);
  if (word.empty()) return CC_REFRESH_BEEP;
  auto r = self->client->Call(RequestKind::kComplete, line);
  if (!r) {
    self->lost = true;
    return CC_EOF;
  }
  std::vector<std::string> candidates;
  size_t pos = 0;
  while (pos < r->output.size()) {
    size_t nl = r->output.find('\n', pos);
    if (nl == std::string::npos) nl = r->output.size();
    if (nl > pos) candidates.push_back(r->output.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (candidates.empty()) return CC_REFRESH_BEEP;
  std::string insert;
  if (candidates.size() == 1) {
    insert = candidates[0] + " ";
  } else {
    // Longest common prefix (case-insensitive), if it extends the word.
    insert = candidates[0];
    for (const std::string& c : candidates) {
      size_t k = 0;
      while (k < insert.size() && k < c.size() &&
             std::tolower(static_cast<unsigned char>(insert[k])) ==
                 std::tolower(static_cast<unsigned char>(c[k]))) {
        ++k;
      }
      insert.resize(k);
    }
    if (insert.size() <= word.size()) return CC_REFRESH_BEEP;
  }
  el_deletestr(el, static_cast<int>(word.size()));
  el_insertstr(el, insert.c_str());
  return CC_REFRESH;
}

// Ctrl-Z: run what is on the line, then `end` (IOS).
unsigned char EndKey(EditLine* el, int) {
  WriteAll(STDOUT_FILENO, "^Z");
  Self(el)->ctrl_z = true;
  return CC_NEWLINE;
}

// Ctrl-C: abandon the line.
unsigned char CancelKey(EditLine* el, int) {
  WriteAll(STDOUT_FILENO, "^C");
  Self(el)->cancel = true;
  return CC_NEWLINE;
}

std::string ReadPassword() {
  termios saved;
  bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  char c;
  while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n' && c != '\r') line += c;
  if (tty) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  WriteAll(STDOUT_FILENO, "\n");
  return line;
}

std::string HistoryPath() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return std::string(home) + "/.ikepulse_history";
}

int RunInteractive(ControlClient& client) {
  std::setlocale(LC_CTYPE, "");
  Interactive self;
  self.client = &client;
  client.set_on_async([&self](const std::string& line) { PrintAsync(&self, line); });
  client.set_on_partial([](const std::string& text) { WriteAll(STDOUT_FILENO, text); });
  auto first = client.Call(RequestKind::kPrompt, "");
  if (!first) {
    std::cerr << "ikepulse: " << first.error() << "\n";
    return 1;
  }
  Adopt(&self, *first);

  HistEvent ev;
  History* hist = history_init();
  history(hist, &ev, H_SETSIZE, 1000);
  history(hist, &ev, H_SETUNIQUE, 1);
  std::string history_path = HistoryPath();
  if (!history_path.empty()) history(hist, &ev, H_LOAD, history_path.c_str());

  // Ctrl-Z is IOS's `end`, never job control, even when typed ahead while a command runs
  // (libedit's own mode, which makes it a key, is only set while a line is being read).
  termios saved_tty;
  bool have_tty = tcgetattr(STDIN_FILENO, &saved_tty) == 0;
  if (have_tty) {
    termios tty = saved_tty;
    tty.c_cc[VSUSP] = _POSIX_VDISABLE;
    tcsetattr(STDIN_FILENO, TCSANOW, &tty);
  }

  EditLine* el = el_init("ikepulse", stdin, stdout, stderr);
  self.el = el;
  el_set(el, EL_CLIENTDATA, &self);
  el_set(el, EL_EDITOR, "emacs");
  el_set(el, EL_SIGNAL, 1);
  el_set(el, EL_PROMPT, PromptFn);
  el_set(el, EL_HIST, history, hist);
  el_set(el, EL_GETCFN, GetChar);
  // ^Z and ^C are keys here, not signals.
  el_set(el, EL_SETTY, "-d", "-isig", nullptr);
  // The wide el_wset: libedit keeps the name and help pointers it is given (static literals
  // here), whereas the narrow el_set(EL_ADDFN) wcsdup()s both and never frees them (its own
  // "XXX: The two strdup's leak"), which LeakSanitizer reports at exit.
  el_wset(el, EL_ADDFN, L"ios-help", L"IOS context help", HelpKey);
  el_wset(el, EL_ADDFN, L"ios-complete", L"IOS keyword completion", CompleteKey);
  el_wset(el, EL_ADDFN, L"ios-end", L"Leave configuration mode", EndKey);
  el_wset(el, EL_ADDFN, L"ios-cancel", L"Abandon the line", CancelKey);
  el_set(el, EL_BIND, "?", "ios-help", nullptr);
  el_set(el, EL_BIND, "^I", "ios-complete", nullptr);
  el_set(el, EL_BIND, "^Z", "ios-end", nullptr);
  el_set(el, EL_BIND, "^C", "ios-cancel", nullptr);

  int status = 0;
  auto exec = [&](const std::string& line) -> bool {  // false: the session is over
    auto r = client.Call(RequestKind::kExec, line);
    if (!r) {
      std::cerr << "\n% " << r.error() << "\n";
      status = 1;
      return false;
    }
    PrintPaged(r->output, r->terminal_length);
    Adopt(&self, *r);
    return !r->close;
  };
  for (;;) {
    if (AsksPassword(self.prompt)) {
      WriteAll(STDOUT_FILENO, self.prompt);
      if (!exec(ReadPassword())) break;
      continue;
    }
    self.ctrl_z = self.cancel = false;
    self.editing = true;
    int count = 0;
    const char* raw = el_gets(el, &count);
    self.editing = false;
    if (self.lost) {
      std::cerr << "\n% Connection to ikepulsed closed\n";
      status = 1;
      break;
    }
    bool key_ended = self.ctrl_z || self.cancel;  // those keys end the line without a newline
    if (!key_ended && (raw == nullptr || count <= 0)) {  // Ctrl-D on an empty line
      WriteAll(STDOUT_FILENO, "\n");
      break;
    }
    std::string line(raw != nullptr && count > 0 ? raw : "");
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (key_ended) WriteAll(STDOUT_FILENO, "\n");
    if (self.cancel) continue;
    bool blank = line.find_first_not_of(" \t") == std::string::npos;
    if (!blank) {
      history(hist, &ev, H_ENTER, line.c_str());
      if (!exec(line)) break;
    } else if (AsksQuestion(self.prompt) && !exec(line)) {  // Enter takes the default
      break;
    }
    if (self.ctrl_z && InConfigMode(self.prompt) && !exec("end")) break;
  }
  if (!history_path.empty()) history(hist, &ev, H_SAVE, history_path.c_str());
  el_end(el);
  history_end(hist);
  if (have_tty) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
  return status;
}

std::optional<Options> ParseArgs(int argc, char** argv) {
  Options options;
  const char* env = std::getenv("IKEPULSE_SOCKET");
  options.socket = env != nullptr && *env != '\0' ? env : kDefaultSocket;
  enum { kConfigure = 1000, kStopOnError = 1001 };
  static const option kLong[] = {
      {"socket", required_argument, nullptr, 's'},
      {"command", required_argument, nullptr, 'c'},
      {"json", no_argument, nullptr, 'j'},
      {"configure", no_argument, nullptr, kConfigure},
      {"help", no_argument, nullptr, 'h'},
      {"stop-on-error", no_argument, nullptr, kStopOnError},
      {nullptr, 0, nullptr, 0},
  };
  int opt;
  while ((opt = getopt_long(argc, argv, "s:c:jh", kLong, nullptr)) != -1) {
    switch (opt) {
      case 's':
        options.socket = optarg;
        break;
      case 'c':
        options.commands.emplace_back(optarg);
        break;
      case 'j':
        options.json = true;
        break;
      case kConfigure:
        options.configure = true;
        break;
      case kStopOnError:
        options.stop_on_error = true;
        break;
      case 'h':
        std::cout << kUsage;
        std::exit(0);
      default:
        std::cerr << kUsage;
        return std::nullopt;
    }
  }
  if (optind != argc) {
    std::cerr << "ikepulse: unexpected argument '" << argv[optind] << "' (quote a command: -c \""
              << argv[optind] << " ...\")\n";
    return std::nullopt;
  }
  return options;
}

int Main(int argc, char** argv) {
  std::optional<Options> options = ParseArgs(argc, argv);
  if (!options) return 2;
  auto connected = ControlClient::Connect(options->socket);
  if (!connected) {
    std::cerr << "ikepulse: " << connected.error() << "\n";
    return 2;
  }
  ControlClient& client = *connected;
  if (!options->commands.empty()) {
    // -c commands always stop at the first error.
    return RunScript(client, options->commands, {options->json, -1, true, false});
  }
  if (isatty(STDIN_FILENO) && !options->configure) return RunInteractive(client);
  std::vector<std::string> lines;
  if (options->configure) lines.emplace_back("configure terminal");
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  // With --configure, entry 0 is the added `configure terminal`: file line 1 is entry 1. The
  // closing `end` is added only when the text did not leave configuration mode itself (a
  // saved running-config ends with `end`).
  ScriptOptions so;
  so.json = options->json;
  so.first_number = options->configure ? 0 : 1;
  so.stop_on_error = options->stop_on_error;
  so.end_config = options->configure;
  return RunScript(client, lines, so);
}

}  // namespace
}  // namespace ikepulse::shell

int main(int argc, char** argv) { return ikepulse::shell::Main(argc, argv); }
