// `ping`: the grammar (options in any order, ranges, errors), the IOS output shape as the
// backend reports progress, and the formatting helpers.
#include "cli/ping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/config_util.h"
#include "cli/fake_backend.h"
#include "cli/session.h"

namespace ikepulse::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PingStatus Status(std::string marks, std::vector<uint32_t> rtts, uint32_t repeat = 5) {
  PingStatus s;
  s.source = V4("198.51.100.1");
  s.repeat = repeat;
  s.size = 100;
  s.marks = std::move(marks);
  s.rtt_ms = std::move(rtts);
  s.done = s.marks.size() == repeat;
  return s;
}

TEST(PingFormatTest, Header) {
  EXPECT_EQ(PingHeader(V4("203.0.113.10"), Status("", {}), true),
            "Type escape sequence to abort.\n"
            "Sending 5, 100-byte ICMP Echos to 203.0.113.10, timeout is 2 seconds:\n"
            "Packet sent with a source address of 198.51.100.1 \n");
  EXPECT_EQ(PingHeader(V4("203.0.113.10"), Status("", {}), false),
            "Type escape sequence to abort.\n"
            "Sending 5, 100-byte ICMP Echos to 203.0.113.10, timeout is 2 seconds:\n");
}

TEST(PingFormatTest, SummaryLines) {
  EXPECT_EQ(PingSummary(Status("!!!!!", {1, 2, 4, 1, 2})),
            "\nSuccess rate is 100 percent (5/5), round-trip min/avg/max = 1/2/4 ms\n");
  EXPECT_EQ(PingSummary(Status(".!!!!", {3, 4, 4, 4})),
            "\nSuccess rate is 80 percent (4/5), round-trip min/avg/max = 3/3/4 ms\n");
  EXPECT_EQ(PingSummary(Status(".....", {})), "\nSuccess rate is 0 percent (0/5)\n");
  EXPECT_EQ(PingSummary(Status("!..", {10}, 3)),
            "\nSuccess rate is 33 percent (1/3), round-trip min/avg/max = 10/10/10 ms\n");
}

TEST(PingFormatTest, MarksWrapAtSeventy) {
  const std::string marks(150, '!');
  const std::string all = PingMarks(marks, 0);
  EXPECT_EQ(all, std::string(70, '!') + "\n" + std::string(70, '!') + "\n" + std::string(10, '!'));
  // Printed in pieces, the same text.
  EXPECT_EQ(PingMarks(std::string_view(marks).substr(0, 69), 0) +
                PingMarks(std::string_view(marks).substr(0, 71), 69) + PingMarks(marks, 71),
            all);
  EXPECT_EQ(PingMarks("!!", 2), "");
}

class PingSessionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(s_.Execute("enable").error); }
  FakeBackend b_;
  Session s_{b_};
};

TEST_F(PingSessionTest, OutputAsEchoesResolve) {
  auto r = s_.Execute("ping 203.0.113.10 source 198.51.100.1 repeat 5");
  ASSERT_FALSE(r.error);
  ASSERT_TRUE(r.pending);
  EXPECT_TRUE(s_.running());
  EXPECT_EQ(r.output,
            "Type escape sequence to abort.\n"
            "Sending 5, 100-byte ICMP Echos to 203.0.113.10, timeout is 2 seconds:\n"
            "Packet sent with a source address of 198.51.100.1 \n");
  ASSERT_EQ(b_.ping_requests.size(), 1u);
  EXPECT_EQ(b_.ping_requests[0].target, V4("203.0.113.10"));
  EXPECT_EQ(b_.ping_requests[0].source, V4("198.51.100.1"));
  EXPECT_EQ(b_.ping_requests[0].repeat, 5u);
  EXPECT_EQ(b_.ping_requests[0].size, 100u);

  PingStatus& st = b_.pings_running.at(1);
  auto c = s_.Continue();  // nothing yet
  EXPECT_TRUE(c.pending);
  EXPECT_EQ(c.output, "");
  st.marks = ".!";  // the first echo brought the tunnel up
  st.rtt_ms = {3};
  c = s_.Continue();
  EXPECT_TRUE(c.pending);
  EXPECT_EQ(c.output, ".!");
  st.marks = ".!!!!";
  st.rtt_ms = {3, 1, 1, 2};
  st.done = true;
  c = s_.Continue();
  EXPECT_FALSE(c.pending);
  EXPECT_FALSE(c.error);
  EXPECT_EQ(c.output, "!!!\nSuccess rate is 80 percent (4/5), round-trip min/avg/max = 1/1/3 ms\n");
  EXPECT_FALSE(s_.running());
  EXPECT_EQ(b_.pings_stopped, std::vector<uint64_t>{1});  // released
  EXPECT_EQ(s_.Continue().output, "");
  EXPECT_EQ(s_.Prompt(), "Router#");
}

TEST_F(PingSessionTest, DefaultsOptionOrderAndUserExec) {
  ASSERT_FALSE(s_.Execute("disable").error);
  auto r = s_.Execute("ping 203.0.113.10");
  ASSERT_TRUE(r.pending);
  EXPECT_EQ(r.output,
            "Type escape sequence to abort.\n"
            "Sending 5, 100-byte ICMP Echos to 203.0.113.10, timeout is 2 seconds:\n");
  EXPECT_EQ(b_.ping_requests.back(), (PingRequest{V4("203.0.113.10"), std::nullopt, 5, 100}));
  b_.pings_running.clear();
  r = s_.Continue();
  EXPECT_TRUE(r.error);  // the backend forgot it
  EXPECT_FALSE(r.pending);
  r = s_.Execute("ping 203.0.113.10 size 1400 repeat 3 source 198.51.100.1");
  ASSERT_TRUE(r.pending) << r.output;
  EXPECT_EQ(b_.ping_requests.back(),
            (PingRequest{V4("203.0.113.10"), V4("198.51.100.1"), 3, 1400}));
  EXPECT_THAT(r.output, HasSubstr("Sending 3, 1400-byte ICMP Echos"));
}

TEST_F(PingSessionTest, SourceInterface) {
  config::Interface itf;
  itf.name = "eth1";
  itf.address = V4("198.51.100.1");
  b_.running.interfaces.push_back(itf);
  auto r = s_.Execute("ping 203.0.113.10 source ETH1");
  ASSERT_TRUE(r.pending) << r.output;
  EXPECT_EQ(b_.ping_requests.back().source, V4("198.51.100.1"));
  s_.Continue();
  r = s_.Execute("ping 203.0.113.10 source eth9");
  EXPECT_TRUE(r.error);
  EXPECT_FALSE(r.pending);
  EXPECT_EQ(r.output, "% Invalid source interface - eth9 has no usable IP address\n");
}

TEST_F(PingSessionTest, ErrorsChangeNothing) {
  EXPECT_TRUE(s_.Execute("ping").error);
  EXPECT_EQ(s_.Execute("ping").output, "% Incomplete command.\n\n");
  EXPECT_TRUE(s_.Execute("ping 203.0.113.10 repeat 0").error);
  EXPECT_TRUE(s_.Execute("ping 203.0.113.10 size 35").error);
  EXPECT_TRUE(s_.Execute("ping 203.0.113.10 size 18025").error);
  EXPECT_TRUE(s_.Execute("ping 203.0.113.10 repeat 2 repeat 3").error);  // each once
  EXPECT_TRUE(s_.Execute("ping 203.0.113.300").error);
  EXPECT_TRUE(b_.ping_requests.empty());
  b_.refuse_ping = "% Ping needs the data plane";
  auto r = s_.Execute("ping 203.0.113.10");
  EXPECT_TRUE(r.error);
  EXPECT_FALSE(r.pending);
  EXPECT_EQ(r.output, "% Ping needs the data plane\n");
  EXPECT_FALSE(s_.running());
}

TEST_F(PingSessionTest, RepeatCapIsSaid) {
  b_.ping_max_repeat = 1000;
  auto r = s_.Execute("ping 203.0.113.10 repeat 2147483647");
  ASSERT_TRUE(r.pending);
  EXPECT_THAT(r.output, HasSubstr("% Repeat count limited to 1000 by ikepulsed\n"));
  EXPECT_THAT(r.output, HasSubstr("Sending 1000, 100-byte"));
}

TEST_F(PingSessionTest, HelpListsTheOptions) {
  const std::string h = s_.Help("ping 203.0.113.10 ");
  EXPECT_THAT(h, HasSubstr("repeat"));
  EXPECT_THAT(h, HasSubstr("size"));
  EXPECT_THAT(h, HasSubstr("source"));
  EXPECT_THAT(h, HasSubstr("<cr>"));
  const std::string after = s_.Help("ping 203.0.113.10 repeat 3 ");
  EXPECT_THAT(after, Not(HasSubstr("repeat")));
  EXPECT_THAT(after, HasSubstr("size"));
  EXPECT_THAT(s_.Help("ping "), HasSubstr("A.B.C.D"));
}

TEST_F(PingSessionTest, ClosingTheSessionStopsThePing) {
  {
    Session other(b_);
    ASSERT_FALSE(other.Execute("enable").error);
    ASSERT_TRUE(other.Execute("ping 203.0.113.10").pending);
  }
  EXPECT_EQ(b_.pings_stopped, std::vector<uint64_t>{1});
  EXPECT_TRUE(b_.pings_running.empty());
}

TEST_F(PingSessionTest, DoPingFromConfigMode) {
  ASSERT_FALSE(s_.Execute("configure terminal").error);
  auto r = s_.Execute("do ping 203.0.113.10 repeat 1");
  ASSERT_TRUE(r.pending) << r.output;
  b_.pings_running.at(1).marks = "!";
  b_.pings_running.at(1).rtt_ms = {1};
  b_.pings_running.at(1).done = true;
  EXPECT_EQ(s_.Continue().output,
            "!\nSuccess rate is 100 percent (1/1), round-trip min/avg/max = 1/1/1 ms\n");
  EXPECT_EQ(s_.Prompt(), "Router(config)#");
}

}  // namespace
}  // namespace ikepulse::cli
