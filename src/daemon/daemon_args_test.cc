#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/daemon.h"

namespace ikepulse::daemon {
namespace {

Result<DaemonOptions, std::string> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ikepulsed");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseArgs(static_cast<int>(argv.size()), argv.data());
}

TEST(DaemonArgs, StableFlags) {
  auto o = Parse({"-f", "/etc/ikepulse/startup-config", "--log", "/var/log/ikepulse.log",
                  "--socket", "/tmp/s.sock", "--foreground", "--debug"});
  ASSERT_TRUE(o.has_value()) << o.error();
  EXPECT_EQ(o.value().config_path, "/etc/ikepulse/startup-config");
  EXPECT_EQ(o.value().log_file, "/var/log/ikepulse.log");
  EXPECT_EQ(o.value().socket_path, "/tmp/s.sock");
  EXPECT_TRUE(o.value().foreground);
  EXPECT_TRUE(o.value().debug);
  EXPECT_EQ(o.value().ike_port, 500);
  EXPECT_EQ(o.value().natt_port, 4500);
}

TEST(DaemonArgs, Defaults) {
  auto o = Parse({"-f", "cfg"});
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o.value().socket_path, "/run/ikepulse/ikepulse.sock");
  EXPECT_FALSE(o.value().foreground);
  EXPECT_FALSE(o.value().debug);
  EXPECT_TRUE(o.value().listen.empty());
}

TEST(DaemonArgs, ExtraFlags) {
  auto o = Parse({"-f", "cfg", "--listen", "127.0.0.2", "--listen", "::1", "--ike-port", "1500",
                  "--natt-port", "14500"});
  ASSERT_TRUE(o.has_value()) << o.error();
  ASSERT_EQ(o.value().listen.size(), 2u);
  EXPECT_TRUE(o.value().listen[1].v6);
  EXPECT_EQ(o.value().ike_port, 1500);
  EXPECT_EQ(o.value().natt_port, 14500);
}

TEST(DaemonArgs, Errors) {
  EXPECT_FALSE(Parse({}).has_value());                   // -f is required
  EXPECT_FALSE(Parse({"-f"}).has_value());               // missing value
  EXPECT_FALSE(Parse({"-f", "c", "--bogus"}).has_value());
  EXPECT_FALSE(Parse({"-f", "c", "--listen", "not-an-ip"}).has_value());
  EXPECT_FALSE(Parse({"-f", "c", "--ike-port", "0"}).has_value());
  EXPECT_FALSE(Parse({"-f", "c", "--ike-port", "70000"}).has_value());
  EXPECT_FALSE(Parse({"-f", "c", "--ike-port", "5x"}).has_value());
  auto help = Parse({"--help"});
  ASSERT_FALSE(help.has_value());
  EXPECT_NE(help.error().find("usage: ikepulsed -f"), std::string::npos);
}

TEST(StartupConfig, ParseErrorNamesTheLine) {
  auto ok = ParseStartupConfig("hostname R1\ncrypto isakmp keepalive 10 periodic\n");
  ASSERT_TRUE(ok.has_value()) << ok.error();
  EXPECT_EQ(ok.value().hostname, "R1");
  EXPECT_TRUE(ok.value().keepalive.enabled);
  auto bad = ParseStartupConfig("hostname R1\ncrypto isakmp keepalive 5\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().rfind("line 2, column ", 0), 0u) << bad.error();
  EXPECT_TRUE(ParseStartupConfig("").has_value());
}

}  // namespace
}  // namespace ikepulse::daemon
