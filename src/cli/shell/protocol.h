// The control protocol between the `ikepulse` shell and `ikepulsed`, spoken over a Unix
// stream socket (default /run/ikepulse/ikepulse.sock). Pure: no I/O, no clock.
//
// WIRE FORMAT
// Every message is one frame: an ASCII header line, then a body of exactly the length the
// header announces. Bodies are raw bytes and need no escaping; the length is the framing.
//
//   frame  = kind *(SP decimal) SP body-length LF body        (body-length: the last field)
//   kind   = "EXEC" / "HELP" / "COMPLETE" / "PROMPT" / "JSON"     (client -> daemon)
//          / "REPLY" / "PART" / "ASYNC"                            (daemon -> client)
//   decimal = 1*10DIGIT, no sign, no leading zero unless the value is 0
//
// Requests (client -> daemon), exactly one length field:
//   "EXEC <n>\n<line>"        run one command line in the session (IOS semantics, as typed)
//   "HELP <n>\n<partial>"     the `?` listing for the partial line (text up to the cursor)
//   "COMPLETE <n>\n<partial>" Tab completion candidates for the partial line
//   "PROMPT 0\n"              only fetch the current prompt (the body must be empty)
//   "JSON <n>\n<line>"        run a show command and answer with JSON instead of text
//
// Responses (daemon -> client). Every request gets exactly one REPLY, in order:
//   "REPLY <flags> <terminal-length> <prompt-len> <n>\n<prompt><output>"
//     n is the body length, prompt plus output, so n >= prompt-len.
//     flags: decimal bit set; kFlagError (1) the command failed, kFlagClose (2) the session
//     ended (`exit` at user EXEC, `quit`), the daemon closes after this reply; kFlagMonitor (4)
//     `terminal monitor` is on. terminal-length: lines per page, 0 = no paging (the client
//     pages, the daemon never does). For COMPLETE the output is the candidates, one per line.
//   "PART <n>\n<text>"        output of the request being answered, to show at once: a
//                             command that runs on (`ping`) streams its output in PART
//                             frames before its REPLY, which carries the rest.
//   "ASYNC <n>\n<text>"       an unsolicited line (debug trace, log) for a session with
//                             `terminal monitor` on; may arrive between any two frames. The
//                             text carries no trailing newline.
//
// Robustness: a header longer than kMaxHeader, an unknown kind, a malformed or overlong number,
// a wrong field count, or a body longer than the decoder's limit is a ProtocolError. After an
// error the decoder is dead; the holder closes the connection. Nothing here aborts on input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"

namespace ikepulse::shell {

// Longest header line accepted, newline included.
inline constexpr size_t kMaxHeader = 128;
// Default body limits: requests are single command lines; replies may be large `show` output.
inline constexpr size_t kMaxRequestBody = 64 * 1024;
inline constexpr size_t kMaxReplyBody = 256 * 1024 * 1024;

inline constexpr uint32_t kFlagError = 1;
inline constexpr uint32_t kFlagClose = 2;
inline constexpr uint32_t kFlagMonitor = 4;

enum class RequestKind : uint8_t {
  kExec = 0,
  kHelp = 1,
  kComplete = 2,
  kPrompt = 3,
  kJson = 4,
};

struct Request {
  RequestKind kind = RequestKind::kExec;
  std::string line;
  bool operator==(const Request&) const = default;
};

struct Reply {
  std::string output;
  std::string prompt;
  bool error = false;
  bool close = false;
  bool monitor = false;
  uint32_t terminal_length = 0;
  bool operator==(const Reply&) const = default;
};

struct AsyncLine {
  std::string text;
  bool operator==(const AsyncLine&) const = default;
};

struct PartialOutput {
  std::string text;
  bool operator==(const PartialOutput&) const = default;
};

// What the daemon sends.
using ServerMessage = std::variant<Reply, AsyncLine, PartialOutput>;

struct ProtocolError {
  const char* detail;  // fixed string, comparable in tests
};

std::string_view RequestKindName(RequestKind kind);

std::string EncodeRequest(const Request& request);
std::string EncodeReply(const Reply& reply);
std::string EncodeAsync(std::string_view text);
std::string EncodePartial(std::string_view text);

// Incremental frame splitter shared by both directions. Feed bytes with Append(); Next*()
// returns a complete message, std::nullopt when more bytes are needed, or an error after
// which the decoder stays failed.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_body) : max_body_(max_body) {}

  void Append(std::string_view bytes);
  // Daemon side: the next client request.
  Result<std::optional<Request>, ProtocolError> NextRequest();
  // Client side: the next reply or asynchronous line.
  Result<std::optional<ServerMessage>, ProtocolError> NextServerMessage();

  // Bytes received but not yet consumed.
  size_t buffered() const { return buffer_.size() - consumed_; }
  bool failed() const { return failed_ != nullptr; }

 private:
  struct RawFrame {
    std::string_view kind;
    uint64_t fields[4];
    size_t field_count;
    std::string_view body;
  };
  // Splits off one frame; nullopt = need more.
  Result<std::optional<RawFrame>, ProtocolError> NextFrame();
  ProtocolError Fail(const char* detail);
  void Compact();

  size_t max_body_;
  std::string buffer_;
  size_t consumed_ = 0;
  const char* failed_ = nullptr;
};

}  // namespace ikepulse::shell
