#include "daemon/logger.h"

#include <syslog.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "daemon/real_clock.h"

namespace ikepulse::daemon {

namespace {
constexpr const char* kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
}  // namespace

std::string FormatIosTimestamp(const std::tm& tm, int millis) {
  char buf[48];
  const int mon = tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0;
  std::snprintf(buf, sizeof buf, "*%s %2d %02d:%02d:%02d.%03d: ", kMonths[mon], tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string FormatIosTimestamp(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return FormatIosTimestamp(tm, static_cast<int>(ms % 1000));
}

std::optional<std::string_view> EventLine(const ike::Event& e, bool debug_on) {
  switch (e.kind) {
    case ike::EventKind::kLog:
      return std::string_view(e.text);
    case ike::EventKind::kDebug:
      if (debug_on) return std::string_view(e.text);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

int SyslogSeverity(std::string_view line) {
  // "%CRYPTO-5-SESSION_STATUS: ..."
  if (!line.empty() && line[0] == '%') {
    const size_t dash = line.find('-');
    if (dash != std::string_view::npos && dash + 2 < line.size() && line[dash + 2] == '-' &&
        line[dash + 1] >= '0' && line[dash + 1] <= '7') {
      return line[dash + 1] - '0';
    }
  }
  return LOG_DEBUG;
}

Logger::Logger(Options opts, WallClock clock) : opts_(std::move(opts)), clock_(std::move(clock)) {
  if (!clock_) clock_ = WallNow;
  if (opts_.to_syslog) openlog(opts_.ident.c_str(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
  Reopen();
}

Logger::~Logger() {
  if (file_) std::fclose(file_);
  if (opts_.to_syslog) closelog();
}

void Logger::Reopen() {
  if (opts_.file.empty()) return;
  if (file_) std::fclose(file_);
  file_ = std::fopen(opts_.file.c_str(), "ae");
  file_ok_ = file_ != nullptr;
  if (!file_ok_) error_ = opts_.file + ": " + std::strerror(errno);
}

void Logger::Line(std::string_view text) {
  const std::string stamped = FormatIosTimestamp(clock_()) + std::string(text);
  if (file_) {
    std::fwrite(stamped.data(), 1, stamped.size(), file_);
    std::fputc('\n', file_);
    std::fflush(file_);
  }
  if (opts_.to_stderr) {
    std::fwrite(stamped.data(), 1, stamped.size(), stderr);
    std::fputc('\n', stderr);
  }
  if (opts_.to_syslog) {
    syslog(SyslogSeverity(text), "%.*s", static_cast<int>(text.size()), text.data());
  }
  if (monitor_) monitor_(stamped);
  if (buffer_on_) {
    ++buffered_count_;
    buffer_bytes_ += stamped.size() + 1;
    buffer_.push_back(stamped);
    Trim();
  }
}

void Logger::Trim() {
  while (!buffer_.empty() && buffer_bytes_ > buffer_size_) {
    buffer_bytes_ -= buffer_.front().size() + 1;
    buffer_.pop_front();
  }
}

void Logger::SetBuffer(bool enabled, size_t bytes) {
  buffer_on_ = enabled;
  buffer_size_ = bytes;
  if (!enabled) {
    buffer_.clear();
    buffer_bytes_ = 0;
    return;
  }
  Trim();
}

void Logger::ClearBuffer() {
  buffer_.clear();
  buffer_bytes_ = 0;
  buffered_count_ = 0;
}

void Logger::Event(const ike::Event& e, bool debug_on) {
  if (auto line = EventLine(e, debug_on)) Line(*line);
}

}  // namespace ikepulse::daemon
