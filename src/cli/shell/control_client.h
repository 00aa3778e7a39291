// ControlClient: the `ikepulse` shell's end of the control socket (protocol.h). Blocking
// request/reply over a Unix stream socket; ASYNC lines that arrive while waiting, or while
// idle (Pump), go to the `on_async` callback. Not thread-safe; owns its fd.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "cli/shell/protocol.h"
#include "common/result.h"

namespace ikepulse::shell {

class ControlClient {
 public:
  using AsyncHandler = std::function<void(const std::string& line)>;
  // Output that belongs to the reply being waited for, to show at once (PART frames).
  using PartialHandler = std::function<void(const std::string& text)>;

  // Connects to `path`; the error names the path and the reason.
  static Result<ControlClient, std::string> Connect(const std::string& path);

  ControlClient(ControlClient&& other) noexcept;
  ControlClient& operator=(ControlClient&&) = delete;
  ControlClient(const ControlClient&) = delete;
  ~ControlClient();

  void set_on_async(AsyncHandler handler) { on_async_ = std::move(handler); }
  // Without a partial handler, Call() returns partial output at the front of the reply's.
  void set_on_partial(PartialHandler handler) { on_partial_ = std::move(handler); }
  int fd() const { return fd_; }

  // Sends one request and waits for its reply, handing ASYNC lines to on_async meanwhile.
  // The error says why the connection failed (daemon gone, protocol error).
  Result<Reply, std::string> Call(RequestKind kind, std::string_view line);

  // Reads what is available without blocking and delivers ASYNC lines. False when the
  // connection is gone (EOF, error, or an unexpected REPLY).
  bool Pump();

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  // Reads once (blocking or not); false on EOF/error.
  bool ReadSome(bool block);

  int fd_ = -1;
  FrameDecoder decoder_{kMaxReplyBody};
  AsyncHandler on_async_;
  PartialHandler on_partial_;
};

}  // namespace ikepulse::shell
