#include "daemon/logger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "daemon/atomic_file.h"

namespace ikepulse::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

TEST(IosTimestamp, FormatsLikeIos) {
  std::tm tm{};
  tm.tm_mon = 10;  // November
  tm.tm_mday = 26;
  tm.tm_hour = 20;
  tm.tm_min = 15;
  tm.tm_sec = 2;
  EXPECT_EQ(FormatIosTimestamp(tm, 113), "*Nov 26 20:15:02.113: ");
  tm.tm_mon = 0;
  tm.tm_mday = 3;
  tm.tm_hour = 4;
  tm.tm_min = 5;
  tm.tm_sec = 6;
  // IOS pads the day with a space ("*Jan  3").
  EXPECT_EQ(FormatIosTimestamp(tm, 7), "*Jan  3 04:05:06.007: ");
}

TEST(IosTimestamp, FromWallClockInLocalTime) {
  setenv("TZ", "UTC", 1);
  tzset();
  // 2024-11-26 20:15:02.113 UTC
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1732652102113));
  EXPECT_EQ(FormatIosTimestamp(t), "*Nov 26 20:15:02.113: ");
}

TEST(EventLine, LogAlwaysDebugOnlyWhenOnOthersNever) {
  ike::Event log{};
  log.kind = ike::EventKind::kLog;
  log.text = "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP. Peer 10.0.0.2:500 Id: 10.0.0.2";
  ike::Event dbg{};
  dbg.kind = ike::EventKind::kDebug;
  dbg.text = "ISAKMP:(1001):DPD/R_U_THERE sent to 10.0.0.2";
  ike::Event typed{};
  typed.kind = ike::EventKind::kDpdSent;
  typed.text = "x";
  EXPECT_EQ(EventLine(log, false), log.text);
  EXPECT_EQ(EventLine(log, true), log.text);
  EXPECT_EQ(EventLine(dbg, false), std::nullopt);
  EXPECT_EQ(EventLine(dbg, true), dbg.text);
  EXPECT_EQ(EventLine(typed, true), std::nullopt);
}

TEST(SyslogSeverity, FromIosMnemonic) {
  EXPECT_EQ(SyslogSeverity("%CRYPTO-5-SESSION_STATUS: up"), 5);
  EXPECT_EQ(SyslogSeverity("%CRYPTO-4-IKMP_NO_SA: x"), 4);
  EXPECT_EQ(SyslogSeverity("ISAKMP:(0): debug text"), LOG_DEBUG);
  EXPECT_EQ(SyslogSeverity("%"), LOG_DEBUG);
  EXPECT_EQ(SyslogSeverity("%BAD-X-Y"), LOG_DEBUG);
}

TEST(Logger, WritesStampedLinesToFileAndMonitor) {
  char dir[] = "/tmp/ikepulse_logger_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/ikepulse.log";
  setenv("TZ", "UTC", 1);
  tzset();
  const auto fixed = std::chrono::system_clock::time_point(std::chrono::milliseconds(1732652102113));
  std::vector<std::string> monitored;
  {
    Logger log(Logger::Options{path, false, false}, [&] { return fixed; });
    ASSERT_TRUE(log.ok()) << log.error();
    log.set_monitor([&](std::string_view l) { monitored.emplace_back(l); });
    ike::Event up{};
    up.kind = ike::EventKind::kLog;
    up.text = "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP";
    log.Event(up, false);
    ike::Event dbg{};
    dbg.kind = ike::EventKind::kDebug;
    dbg.text = "ISAKMP: hidden";
    log.Event(dbg, false);  // debug off: not logged
    dbg.text = "ISAKMP: shown";
    log.Event(dbg, true);
  }
  EXPECT_EQ(ReadWholeFile(path).value_or(""),
            "*Nov 26 20:15:02.113: %CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP\n"
            "*Nov 26 20:15:02.113: ISAKMP: shown\n");
  EXPECT_THAT(monitored, ElementsAre("*Nov 26 20:15:02.113: %CRYPTO-5-SESSION_STATUS: Crypto "
                                     "tunnel is UP",
                                     "*Nov 26 20:15:02.113: ISAKMP: shown"));
  unlink(path.c_str());
  rmdir(dir);
}

TEST(Logger, RealClockStampShape) {
  char dir[] = "/tmp/ikepulse_logger_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/l.log";
  {
    Logger log(Logger::Options{path, false, false});
    log.Line("hello");
  }
  EXPECT_THAT(ReadWholeFile(path).value_or(""),
              MatchesRegex("\\*[A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
                           "\\.[0-9][0-9][0-9]: hello\n"));
  unlink(path.c_str());
  rmdir(dir);
}

TEST(Logger, UnwritableFileIsReported) {
  Logger log(Logger::Options{"/nonexistent-dir/x.log", false, false});
  EXPECT_FALSE(log.ok());
  EXPECT_NE(log.error().find("/nonexistent-dir/x.log"), std::string::npos);
}

}  // namespace
}  // namespace ikepulse::daemon

namespace ikepulse::daemon {
namespace {

// `logging buffered SIZE`: the most recent lines within SIZE bytes (line + newline each),
// oldest dropped first; off empties it; `clear logging` resets the count.
TEST(Logger, BufferKeepsTheMostRecentLinesWithinItsSize) {
  setenv("TZ", "UTC", 1);
  tzset();
  const auto fixed = std::chrono::system_clock::time_point(std::chrono::milliseconds(1732652102113));
  Logger log(Logger::Options{"", false, false}, [&] { return fixed; });
  EXPECT_TRUE(log.buffer_enabled());
  EXPECT_EQ(log.buffer_size(), 4096u);
  // Each stamped line: 22-byte stamp + 8 bytes + newline = 31 bytes.
  log.SetBuffer(true, 100);
  for (int i = 0; i < 5; ++i) log.Line("line " + std::to_string(i) + "xx");
  EXPECT_EQ(log.buffered_count(), 5u);
  ASSERT_EQ(log.buffered().size(), 3u);  // 3 x 31 = 93 <= 100
  EXPECT_EQ(log.buffered().front(), "*Nov 26 20:15:02.113: line 2xx");
  EXPECT_EQ(log.buffered().back(), "*Nov 26 20:15:02.113: line 4xx");
  log.SetBuffer(true, 62);
  EXPECT_EQ(log.buffered().size(), 2u);
  log.ClearBuffer();
  EXPECT_TRUE(log.buffered().empty());
  EXPECT_EQ(log.buffered_count(), 0u);
  log.SetBuffer(false, 4096);
  log.Line("not kept");
  EXPECT_TRUE(log.buffered().empty());
  EXPECT_EQ(log.buffered_count(), 0u);
}

}  // namespace
}  // namespace ikepulse::daemon
