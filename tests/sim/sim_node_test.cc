// SimNode smoke tests: two real ike::Nodes over a virtual link. Scenario tests proper live in
// tests/scenarios; these only check that the adapter drives the engine in virtual time.
#include "sim/sim_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli.h"
#include "sim/matchers.h"

namespace ikepulse::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ike::EventKind;

const IpAddress kA = IpAddress::V4(192, 0, 2, 1);
const IpAddress kB = IpAddress::V4(192, 0, 2, 2);

config::Config Config(const std::string& self, const std::string& peer, bool keep_up) {
  const std::string text =
      "crypto isakmp policy 10\n encryption aes\n hash sha\n authentication pre-share\n"
      " group 14\n"
      "crypto isakmp key sim-test-psk address " + peer + "\n"
      "crypto isakmp keepalive 10 2 periodic\n"
      "crypto ipsec transform-set TS esp-aes esp-sha-hmac\n"
      "crypto map green 10 ipsec-isakmp\n set peer " + peer +
      "\n set transform-set TS\n match address 101\n" + (keep_up ? " ikepulse keep-up\n" : "") +
      "interface Gi1\n ip address " + self + " 255.255.255.0\n crypto map green\n"
      "access-list 101 permit ip any any\n";
  auto c = cli::ParseConfigText(text);
  EXPECT_TRUE(c.has_value()) << (c.has_value() ? "" : c.error().message);
  return c.has_value() ? c.value() : config::Config{};
}

std::vector<ike::Event> After(const std::vector<ike::Event>& events, TimePoint t) {
  std::vector<ike::Event> out;
  for (const ike::Event& e : events) {
    if (e.at > t) out.push_back(e);
  }
  return out;
}

bool Has(const std::vector<ike::Event>& events, EventKind k) {
  for (const ike::Event& e : events) {
    if (e.kind == k) return true;
  }
  return false;
}

TEST(SimNode, TunnelComesUpAndPeriodicDpdDeclaresACutPeerDead) {
  Simulator sim(7);
  SimNode a(sim, "A", {kA}, 1), b(sim, "B", {kB}, 2);
  Link& ab = sim.Connect(a.id(), b.id(), Millis(5));
  b.SetConfig(Config("192.0.2.2", "192.0.2.1", false));
  a.SetConfig(Config("192.0.2.1", "192.0.2.2", true));
  ASSERT_TRUE(sim.RunUntil(
      [&] { return Has(a.events(), EventKind::kChildSaUp) && Has(b.events(), EventKind::kChildSaUp); },
      sim.now() + Seconds(10)));
  ASSERT_EQ(a.ike_sa_count(), 1u);
  ASSERT_EQ(a.IsakmpSas().size(), 1u);
  EXPECT_EQ(a.IsakmpSas()[0].state, "QM_IDLE");

  // Peers alive: periodic hellos are answered, nobody dies.
  sim.RunFor(Seconds(35));
  EXPECT_TRUE(Has(a.events(), EventKind::kDpdSent));
  EXPECT_TRUE(Has(a.events(), EventKind::kDpdAckSent));
  EXPECT_FALSE(Has(a.events(), EventKind::kPeerDead));
  EXPECT_FALSE(Has(b.events(), EventKind::kPeerDead));

  // Cut the link: one R-U-THERE, four retries every 2 s, dead 10 s after the first.
  const TimePoint cut = sim.now();
  ab.DropAll();
  sim.RunFor(Seconds(30));
  const auto dpd = Only(After(a.events(), cut), {EventKind::kDpdSent, EventKind::kPeerDead});
  ASSERT_GE(dpd.size(), 6u);
  const TimePoint t = dpd[0].at;
  EXPECT_LE(t, cut + Seconds(10));
  EXPECT_THAT(std::vector<ike::Event>(dpd.begin(), dpd.begin() + 6),
              ElementsAre(At(t, EventKind::kDpdSent), At(t + Seconds(2), EventKind::kDpdSent),
                          At(t + Seconds(4), EventKind::kDpdSent),
                          At(t + Seconds(6), EventKind::kDpdSent),
                          At(t + Seconds(8), EventKind::kDpdSent),
                          At(t + Seconds(10), EventKind::kPeerDead)));
  // Every R-U-THERE after the cut was dropped on the link.
  EXPECT_THAT(FindPackets(sim, PacketFate::kDelivered,
                          [&](const PacketRecord& r) { return r.at > cut; }),
              IsEmpty());
}

TEST(SimNode, RunsAreDeterministicForASeed) {
  auto run = [] {
    Simulator sim(11);
    SimNode a(sim, "A", {kA}, 3), b(sim, "B", {kB}, 4);
    sim.Connect(a.id(), b.id(), Millis(5)).SetLoss(0.2);
    b.SetConfig(Config("192.0.2.2", "192.0.2.1", false));
    a.SetConfig(Config("192.0.2.1", "192.0.2.2", true));
    sim.RunFor(Seconds(120));
    std::vector<std::pair<int64_t, size_t>> trace;
    for (const PacketRecord& r : sim.packets()) trace.push_back({ToMicros(r.at), r.datagram.data.size()});
    return trace;
  };
  const auto first = run();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, run());
}

}  // namespace
}  // namespace ikepulse::sim
