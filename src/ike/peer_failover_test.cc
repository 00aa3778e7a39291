#include "ike/peer_failover.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/endpoint.h"

namespace ikepulse::ike {
namespace {

using Kind = PeerFailover::FailureKind;

config::CryptoMapPeer Peer(const std::string& ip, bool is_default = false) {
  config::CryptoMapPeer p;
  p.host = ip;
  p.address = IpAddress::Parse(ip);
  p.is_default = is_default;
  return p;
}

std::string CurrentHost(const PeerFailover& f) {
  auto c = f.Current();
  return c ? c->peer->host : "<none>";
}

TEST(PeerFailover, StartsAtTheFirstPeer) {  // P1
  PeerFailover f({Peer("10.0.0.1"), Peer("10.0.0.2"), Peer("10.0.0.3")});
  ASSERT_TRUE(f.Current().has_value());
  EXPECT_EQ(f.Current()->index, 0u);
  EXPECT_EQ(CurrentHost(f), "10.0.0.1");
  EXPECT_EQ(f.default_index(), std::nullopt);
}

TEST(PeerFailover, EmptyListHasNoCurrentPeer) {  // P1
  PeerFailover f;
  EXPECT_EQ(f.Current(), std::nullopt);
  f.OnFailure();  // harmless
  f.OnFailure(Kind::kSetupFailed);
  EXPECT_EQ(f.Current(), std::nullopt);
}

TEST(PeerFailover, DeadPeersWrapInOrderWithoutDefault) {  // P2, P3 without default
  PeerFailover f({Peer("10.0.0.1"), Peer("10.0.0.2"), Peer("10.0.0.3")});
  std::vector<std::string> seen{CurrentHost(f)};
  for (int i = 0; i < 4; ++i) {
    f.OnFailure();  // default kind: kPeerDead
    seen.push_back(CurrentHost(f));
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(f.consecutive_failures(), 4u);
}

TEST(PeerFailover, SetupFailuresWrapInOrder) {  // P2
  PeerFailover f({Peer("10.0.0.1", true), Peer("10.0.0.2"), Peer("10.0.0.3")});
  f.OnFailure(Kind::kSetupFailed);
  EXPECT_EQ(f.current_index(), 1u);
  f.OnFailure(Kind::kSetupFailed);
  EXPECT_EQ(f.current_index(), 2u);
  f.OnFailure(Kind::kSetupFailed);
  EXPECT_EQ(f.current_index(), 0u);
}

TEST(PeerFailover, DeadNonDefaultPeerResetsToTheDefault) {  // P3
  PeerFailover f({Peer("10.0.0.1", true), Peer("10.0.0.2"), Peer("10.0.0.3")});
  EXPECT_EQ(f.default_index(), 0u);
  f.OnFailure(Kind::kSetupFailed);  // default unreachable at setup -> 10.0.0.2
  f.OnFailure(Kind::kSetupFailed);  // -> 10.0.0.3
  f.OnSuccess();                    // up with 10.0.0.3
  EXPECT_EQ(CurrentHost(f), "10.0.0.3");
  f.OnFailure(Kind::kPeerDead);  // DPD: 10.0.0.3 dead -> back to the default
  EXPECT_EQ(CurrentHost(f), "10.0.0.1");
}

TEST(PeerFailover, DeadDefaultPeerMovesToTheNext) {  // P3
  PeerFailover f({Peer("10.0.0.1", true), Peer("10.0.0.2"), Peer("10.0.0.3")});
  f.OnFailure(Kind::kPeerDead);
  EXPECT_EQ(CurrentHost(f), "10.0.0.2");
  f.OnFailure(Kind::kPeerDead);  // 10.0.0.2 dead -> default again
  EXPECT_EQ(CurrentHost(f), "10.0.0.1");
}

TEST(PeerFailover, EveryPeerIsReachableWithADefault) {  // P3 + P2
  // D and B down, C up: D dies -> B, B fails at setup -> C.
  PeerFailover f({Peer("10.0.0.1", true), Peer("10.0.0.2"), Peer("10.0.0.3")});
  f.OnFailure(Kind::kPeerDead);
  f.OnFailure(Kind::kSetupFailed);
  EXPECT_EQ(CurrentHost(f), "10.0.0.3");
}

TEST(PeerFailover, DefaultIsFoundWhereverItIsAndOnlyTheFirstCounts) {  // P4
  PeerFailover f({Peer("10.0.0.1"), Peer("10.0.0.2", true), Peer("10.0.0.3", true)});
  EXPECT_EQ(f.default_index(), 1u);
  EXPECT_EQ(f.current_index(), 0u);
  f.OnFailure(Kind::kPeerDead);  // 10.0.0.1 dead -> default 10.0.0.2
  EXPECT_EQ(f.current_index(), 1u);
  f.OnFailure(Kind::kPeerDead);  // default dead -> next: 10.0.0.3
  EXPECT_EQ(f.current_index(), 2u);
  f.OnFailure(Kind::kPeerDead);  // 10.0.0.3 is not the default -> 10.0.0.2
  EXPECT_EQ(f.current_index(), 1u);
}

TEST(PeerFailover, SuccessKeepsTheCursor) {  // P5
  PeerFailover f({Peer("10.0.0.1"), Peer("10.0.0.2")});
  f.OnFailure();
  f.OnSuccess();
  EXPECT_EQ(f.current_index(), 1u);
  EXPECT_EQ(f.consecutive_failures(), 0u);
}

TEST(PeerFailover, ChangedListResetsToFirstIdenticalListDoesNot) {  // P6
  std::vector<config::CryptoMapPeer> list{Peer("10.0.0.1"), Peer("10.0.0.2"), Peer("10.0.0.3")};
  PeerFailover f(list);
  f.OnFailure();
  f.OnFailure();
  EXPECT_EQ(f.current_index(), 2u);
  EXPECT_FALSE(f.SetPeers(list));
  EXPECT_EQ(f.current_index(), 2u);
  EXPECT_EQ(f.consecutive_failures(), 2u);

  auto added = list;
  added.push_back(Peer("10.0.0.4"));
  EXPECT_TRUE(f.SetPeers(added));
  EXPECT_EQ(f.current_index(), 0u);
  EXPECT_EQ(f.consecutive_failures(), 0u);

  f.OnFailure();
  auto flagged = added;
  flagged[0].is_default = true;  // only a flag changed: still a change
  EXPECT_TRUE(f.SetPeers(flagged));
  EXPECT_EQ(f.current_index(), 0u);
  EXPECT_EQ(f.default_index(), 0u);

  f.OnFailure(Kind::kSetupFailed);
  EXPECT_TRUE(f.SetPeers({Peer("10.0.0.9")}));  // shrunk below the old index
  EXPECT_EQ(CurrentHost(f), "10.0.0.9");
  EXPECT_EQ(f.default_index(), std::nullopt);
}

TEST(PeerFailover, SinglePeerStays) {  // P7
  PeerFailover f({Peer("10.0.0.1", true)});
  f.OnFailure(Kind::kPeerDead);
  EXPECT_EQ(f.current_index(), 0u);
  f.OnFailure(Kind::kSetupFailed);
  EXPECT_EQ(CurrentHost(f), "10.0.0.1");
  PeerFailover g({Peer("10.0.0.2")});
  g.OnFailure();
  EXPECT_EQ(CurrentHost(g), "10.0.0.2");
}

}  // namespace
}  // namespace ikepulse::ike
