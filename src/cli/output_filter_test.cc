#include "cli/output_filter.h"

#include <gtest/gtest.h>

#include <string>

#include "cli/cli.h"
#include "cli/fake_backend.h"
#include "cli/session.h"

namespace ikepulse::cli {
namespace {

constexpr char kRun[] =
    "Building configuration...\n"
    "\n"
    "Current configuration : 120 bytes\n"
    "!\n"
    "hostname Router\n"
    "crypto isakmp keepalive 10 periodic\n"
    "!\n"
    "crypto map M 10 ipsec-isakmp\n"
    " set peer 10.0.0.2\n"
    " match address VPN\n"
    "crypto map M 20 ipsec-isakmp\n"
    " set peer 10.0.0.3\n"
    "!\n"
    "interface eth0\n"
    " crypto map M\n"
    "end\n";

std::string Filter(FilterKind k, const std::string& re, const std::string& text = kRun) {
  return ApplyOutputFilter(OutputFilter{k, re}, text).value_or("<bad regex>");
}

TEST(OutputFilterTest, IncludeExcludeBeginCount) {
  EXPECT_EQ(Filter(FilterKind::kInclude, "keepalive"), "crypto isakmp keepalive 10 periodic\n");
  EXPECT_EQ(Filter(FilterKind::kInclude, "^crypto map M [0-9]+"),
            "crypto map M 10 ipsec-isakmp\ncrypto map M 20 ipsec-isakmp\n");
  EXPECT_EQ(Filter(FilterKind::kExclude, "^( |!|B|C|$)"),
            "hostname Router\ncrypto isakmp keepalive 10 periodic\n"
            "crypto map M 10 ipsec-isakmp\ncrypto map M 20 ipsec-isakmp\ninterface eth0\nend\n");
  EXPECT_EQ(Filter(FilterKind::kBegin, "^interface"), "interface eth0\n crypto map M\nend\n");
  EXPECT_EQ(Filter(FilterKind::kBegin, "nothing"), "");
  EXPECT_EQ(Filter(FilterKind::kCount, "crypto"), "Number of lines which match regexp = 4\n");
  EXPECT_EQ(Filter(FilterKind::kCount, "nothing"), "Number of lines which match regexp = 0\n");
  EXPECT_EQ(Filter(FilterKind::kInclude, "(unclosed"), "<bad regex>");
}

TEST(OutputFilterTest, SectionKeepsChildrenOfMatchingParents) {
  EXPECT_EQ(Filter(FilterKind::kSection, "crypto map"),
            "crypto map M 10 ipsec-isakmp\n set peer 10.0.0.2\n match address VPN\n"
            "crypto map M 20 ipsec-isakmp\n set peer 10.0.0.3\n"
            "interface eth0\n crypto map M\n");
  // A matching child line comes with its parent, not with its siblings.
  EXPECT_EQ(Filter(FilterKind::kSection, "10.0.0.3"),
            "crypto map M 20 ipsec-isakmp\n set peer 10.0.0.3\n");
  EXPECT_EQ(Filter(FilterKind::kSection, "^interface"), "interface eth0\n crypto map M\n");
}

TEST(OutputFilterTest, ParsesAbbreviationsAndReportsErrors) {
  struct Case {
    const char* rest;
    FilterKind kind;
    const char* pattern;
  };
  for (const Case& c :
       {Case{" i keepalive", FilterKind::kInclude, "keepalive"},
        Case{" e !", FilterKind::kExclude, "!"}, Case{" b crypto", FilterKind::kBegin, "crypto"},
        Case{" s crypto map ", FilterKind::kSection, "crypto map"},
        Case{" cou x", FilterKind::kCount, "x"},
        Case{"INCLUDE a  b", FilterKind::kInclude, "a  b"}}) {
    ParsedFilter p = ParseOutputFilter(c.rest, 10);
    ASSERT_TRUE(p.filter) << c.rest;
    EXPECT_EQ(p.filter->kind, c.kind) << c.rest;
    EXPECT_EQ(p.filter->pattern, c.pattern) << c.rest;
  }
  ParsedFilter bad = ParseOutputFilter(" foo x", 10);
  ASSERT_FALSE(bad.filter);
  EXPECT_EQ(bad.error.message, kInvalidInput);
  EXPECT_EQ(bad.error.column, 11);
  EXPECT_EQ(ParseOutputFilter(" include", 0).error.message, kIncomplete);
  EXPECT_EQ(ParseOutputFilter(" ", 0).error.message, kIncomplete);
  EXPECT_EQ(ParseOutputFilter(" include " + std::string(kMaxRegexLength + 1, 'a'), 0).error.message,
            kBadRegex);
  EXPECT_EQ(PipeOffset("show run | i x"), 9u);
  EXPECT_EQ(PipeOffset("show run |i x"), 9u);
  EXPECT_EQ(PipeOffset("show run"), std::nullopt);
}

class FilterSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(s_.Execute("enable").error);
    b_.running.keepalive = config::KeepaliveConfig{true, 10, 2, config::DpdMode::kPeriodic};
  }
  FakeBackend b_;
  Session s_{b_};
};

TEST_F(FilterSessionTest, ShowCommandsTakeModifiers) {
  EXPECT_EQ(s_.Execute("show running-config | include keepalive").output,
            "crypto isakmp keepalive 10 periodic\n");
  EXPECT_EQ(s_.Execute("sh run |i keepalive").output, "crypto isakmp keepalive 10 periodic\n");
  EXPECT_EQ(s_.Execute("show running-config | count keepalive").output,
            "Number of lines which match regexp = 1\n");
  // From configuration mode through `do`.
  ASSERT_FALSE(s_.Execute("configure terminal").error);
  EXPECT_EQ(s_.Execute("do show running-config | i keepalive").output,
            "crypto isakmp keepalive 10 periodic\n");
  ASSERT_FALSE(s_.Execute("end").error);

  Session::Reply r = s_.Execute("show running-config | bogus x");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, std::string(7 + 22, ' ') + "^\n% Invalid input detected at '^' marker.\n\n");
  r = s_.Execute("show running-config | include");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, "% Incomplete command.\n\n");
  r = s_.Execute("show running-config | include ((");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.output, "% Invalid regular expression\n");
  // Not a show command: the `|` is an ordinary (invalid) word.
  r = s_.Execute("clear crypto sa | include x");
  EXPECT_TRUE(r.error);
  EXPECT_NE(r.output.find("^\n% Invalid input"), std::string::npos);
}

TEST_F(FilterSessionTest, HelpOffersModifiers) {
  const std::string h = s_.Help("show running-config ");
  EXPECT_NE(h.find("  |     Output modifiers\n  <cr>\n"), std::string::npos) << h;
  EXPECT_EQ(s_.Help("show running-config | "),
            "  begin    Begin with the line that matches\n"
            "  count    Count number of lines which match regexp\n"
            "  exclude  Exclude lines that match\n"
            "  include  Include lines that match\n"
            "  section  Filter a section of output\n");
  EXPECT_EQ(s_.Help("show running-config | include "), "  LINE  Regular Expression\n");
  EXPECT_EQ(s_.Help("show running-config | e"), "exclude\n");
  EXPECT_EQ(s_.Complete("show running-config | inc"), std::vector<std::string>{"include"});
  // Not offered where it does not apply.
  EXPECT_EQ(s_.Help("clear crypto sa ").find("Output modifiers"), std::string::npos);
}

TEST_F(FilterSessionTest, CommentLinesAreIgnoredInEveryMode) {
  EXPECT_FALSE(s_.Execute("!").error);
  ASSERT_FALSE(s_.Execute("configure terminal").error);
  EXPECT_FALSE(s_.Execute("crypto isakmp policy 10").error);
  Session::Reply r = s_.Execute(" ! a comment");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(s_.Prompt(), "Router(config-isakmp)#");
}

TEST(OutputFilterJsonTest, JsonRejectsModifiers) {
  FakeBackend b;
  EXPECT_EQ(ShowJson(b, "show crypto isakmp sa | include x").rfind("{\"error\"", 0), 0u);
}

}  // namespace
}  // namespace ikepulse::cli
