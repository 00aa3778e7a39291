#include "cli/shell/protocol.h"

#include <array>

namespace ikepulse::shell {
namespace {

constexpr std::array<std::string_view, 5> kRequestNames = {"EXEC", "HELP", "COMPLETE", "PROMPT",
                                                           "JSON"};
constexpr uint64_t kMaxDecimal = 9999999999ULL;  // 10 digits
constexpr uint32_t kKnownFlags = kFlagError | kFlagClose | kFlagMonitor;

std::string Header(std::string_view kind, std::initializer_list<uint64_t> fields) {
  std::string out(kind);
  for (uint64_t f : fields) {
    out += ' ';
    out += std::to_string(f);
  }
  out += '\n';
  return out;
}

// Parses one decimal field: 1-10 digits, no leading zero unless it is "0".
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > kMaxDecimal) return std::nullopt;
  return v;
}

}  // namespace

std::string_view RequestKindName(RequestKind kind) {
  return kRequestNames[static_cast<size_t>(kind)];
}

std::string EncodeRequest(const Request& request) {
  std::string out = Header(RequestKindName(request.kind), {request.line.size()});
  out += request.line;
  return out;
}

std::string EncodeReply(const Reply& reply) {
  uint32_t flags = (reply.error ? kFlagError : 0) | (reply.close ? kFlagClose : 0) |
                   (reply.monitor ? kFlagMonitor : 0);
  std::string out = Header("REPLY", {flags, reply.terminal_length, reply.prompt.size(),
                                     reply.prompt.size() + reply.output.size()});
  out += reply.prompt;
  out += reply.output;
  return out;
}

std::string EncodeAsync(std::string_view text) {
  std::string out = Header("ASYNC", {text.size()});
  out += text;
  return out;
}

std::string EncodePartial(std::string_view text) {
  std::string out = Header("PART", {text.size()});
  out += text;
  return out;
}

void FrameDecoder::Append(std::string_view bytes) {
  if (failed_ != nullptr) return;
  Compact();
  buffer_.append(bytes);
}

void FrameDecoder::Compact() {
  if (consumed_ == 0) return;
  buffer_.erase(0, consumed_);
  consumed_ = 0;
}

ProtocolError FrameDecoder::Fail(const char* detail) {
  failed_ = detail;
  buffer_.clear();
  consumed_ = 0;
  return ProtocolError{detail};
}

Result<std::optional<FrameDecoder::RawFrame>, ProtocolError> FrameDecoder::NextFrame() {
  if (failed_ != nullptr) return MakeUnexpected(ProtocolError{failed_});
  std::string_view pending(buffer_);
  pending.remove_prefix(consumed_);
  size_t eol = pending.substr(0, kMaxHeader).find('\n');
  if (eol == std::string_view::npos) {
    if (pending.size() >= kMaxHeader) return MakeUnexpected(Fail("Header line too long."));
    return std::optional<RawFrame>();
  }
  std::string_view header = pending.substr(0, eol);
  RawFrame frame{};
  size_t sp = header.find(' ');
  if (sp == std::string_view::npos) return MakeUnexpected(Fail("Header has no length."));
  frame.kind = header.substr(0, sp);
  std::string_view rest = header.substr(sp + 1);
  for (;;) {
    size_t next = rest.find(' ');
    std::string_view field = rest.substr(0, next);
    if (frame.field_count == std::size(frame.fields)) {
      return MakeUnexpected(Fail("Too many header fields."));
    }
    std::optional<uint64_t> v = ParseDecimal(field);
    if (!v) return MakeUnexpected(Fail("Malformed number in header."));
    frame.fields[frame.field_count++] = *v;
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  uint64_t body_len = frame.fields[frame.field_count - 1];
  if (body_len > max_body_) return MakeUnexpected(Fail("Frame body too long."));
  if (pending.size() - eol - 1 < body_len) return std::optional<RawFrame>();
  frame.body = pending.substr(eol + 1, body_len);
  consumed_ += eol + 1 + body_len;
  return std::optional<RawFrame>(frame);
}

Result<std::optional<Request>, ProtocolError> FrameDecoder::NextRequest() {
  auto raw = NextFrame();
  if (!raw) return MakeUnexpected(raw.error());
  if (!raw->has_value()) return std::optional<Request>();
  const RawFrame& f = **raw;
  for (size_t i = 0; i < kRequestNames.size(); ++i) {
    if (f.kind != kRequestNames[i]) continue;
    if (f.field_count != 1) return MakeUnexpected(Fail("Wrong field count for request."));
    Request request{static_cast<RequestKind>(i), std::string(f.body)};
    if (request.kind == RequestKind::kPrompt && !request.line.empty()) {
      return MakeUnexpected(Fail("PROMPT takes no body."));
    }
    return std::optional<Request>(std::move(request));
  }
  return MakeUnexpected(Fail("Unknown request kind."));
}

Result<std::optional<ServerMessage>, ProtocolError> FrameDecoder::NextServerMessage() {
  auto raw = NextFrame();
  if (!raw) return MakeUnexpected(raw.error());
  if (!raw->has_value()) return std::optional<ServerMessage>();
  const RawFrame& f = **raw;
  if (f.kind == "ASYNC") {
    if (f.field_count != 1) return MakeUnexpected(Fail("Wrong field count for ASYNC."));
    return std::optional<ServerMessage>(AsyncLine{std::string(f.body)});
  }
  if (f.kind == "PART") {
    if (f.field_count != 1) return MakeUnexpected(Fail("Wrong field count for PART."));
    return std::optional<ServerMessage>(PartialOutput{std::string(f.body)});
  }
  if (f.kind == "REPLY") {
    if (f.field_count != 4) return MakeUnexpected(Fail("Wrong field count for REPLY."));
    uint64_t flags = f.fields[0];
    uint64_t terminal_length = f.fields[1];
    uint64_t prompt_len = f.fields[2];
    if ((flags & ~uint64_t{kKnownFlags}) != 0) return MakeUnexpected(Fail("Unknown flags."));
    if (terminal_length > 0xffffffffULL) {
      return MakeUnexpected(Fail("Terminal length out of range."));
    }
    if (prompt_len > f.body.size()) return MakeUnexpected(Fail("Prompt longer than body."));
    Reply reply;
    reply.prompt = std::string(f.body.substr(0, prompt_len));
    reply.output = std::string(f.body.substr(prompt_len));
    reply.error = (flags & kFlagError) != 0;
    reply.close = (flags & kFlagClose) != 0;
    reply.monitor = (flags & kFlagMonitor) != 0;
    reply.terminal_length = static_cast<uint32_t>(terminal_length);
    return std::optional<ServerMessage>(std::move(reply));
  }
  return MakeUnexpected(Fail("Unknown message kind."));
}

}  // namespace ikepulse::shell
