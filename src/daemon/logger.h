// Logger: the daemon's log, in Cisco IOS style. Every line is prefixed with an IOS timestamp
// ("*Nov 26 20:15:02.113: "; the '*' is IOS's "clock not set by NTP" mark, which is honest for
// a host that does not know) and written to
//   - a file (--log FILE), appended, flushed per line;
//   - stderr (--foreground);
//   - syslog(LOG_DAEMON) when not in the foreground (the timestamp is left to syslog there);
//   - every `terminal monitor` session, through the monitor callback (the control server's
//     Broadcast), timestamp included, no trailing newline;
//   - an in-memory buffer of the most recent lines (`logging buffered SIZE`, for `show
//     logging`), bounded in bytes: the oldest lines are dropped to make room.
//
// Event -> log rules (EventLine): kLog lines are always logged; kDebug lines only when
// `debug crypto isakmp` is on; the other typed events are for tests and counters and are not
// logged (the engine emits the matching kLog/kDebug text itself). Secrets never reach here:
// the engine never puts keys into event text, and config text is never logged.
//
// Single-threaded (the event loop). Not copyable.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ike/outbox.h"

namespace ikepulse::daemon {

// "*Nov 26 20:15:02.113: " for the given broken-down local time and milliseconds.
std::string FormatIosTimestamp(const std::tm& tm, int millis);
// The same for a wall-clock instant, in local time.
std::string FormatIosTimestamp(std::chrono::system_clock::time_point t);

// The text to log for an engine event, or nullopt when it is not logged.
std::optional<std::string_view> EventLine(const ike::Event& e, bool debug_on);

// syslog severity for a line: "%FAC-<sev>-MNEMONIC: ..." -> sev; other lines LOG_DEBUG (7).
int SyslogSeverity(std::string_view line);

class Logger {
 public:
  struct Options {
    std::string file;       // empty = no file
    bool to_stderr = false;
    bool to_syslog = false;
    std::string ident = "ikepulsed";
  };
  using WallClock = std::function<std::chrono::system_clock::time_point()>;
  using Monitor = std::function<void(std::string_view line)>;

  // `clock` defaults to the real wall clock; tests inject a fixed one.
  explicit Logger(Options opts, WallClock clock = nullptr);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // False (with a reason) if the log file could not be opened.
  bool ok() const { return file_ok_; }
  const std::string& error() const { return error_; }

  void set_monitor(Monitor m) { monitor_ = std::move(m); }

  // Logs one line (no trailing newline needed).
  void Line(std::string_view text);
  // Logs the event if the rules say so.
  void Event(const ike::Event& e, bool debug_on);
  // Re-opens the log file (after rotation; on SIGHUP).
  void Reopen();

  // The in-memory buffer: on with `bytes` of room (each line counts its length plus one), or
  // off (emptied). Shrinking drops the oldest lines.
  void SetBuffer(bool enabled, size_t bytes);
  bool buffer_enabled() const { return buffer_on_; }
  size_t buffer_size() const { return buffer_size_; }
  const std::deque<std::string>& buffered() const { return buffer_; }
  uint64_t buffered_count() const { return buffered_count_; }  // since start or ClearBuffer
  void ClearBuffer();

 private:
  Options opts_;
  WallClock clock_;
  Monitor monitor_;
  std::FILE* file_ = nullptr;
  bool file_ok_ = true;
  std::string error_;
  void Trim();
  bool buffer_on_ = true;
  size_t buffer_size_ = 4096;  // IOS's default
  size_t buffer_bytes_ = 0;
  uint64_t buffered_count_ = 0;
  std::deque<std::string> buffer_;
};

}  // namespace ikepulse::daemon
