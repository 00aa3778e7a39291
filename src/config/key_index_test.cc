#include "config/key_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/random.h"

namespace ikepulse::config {
namespace {

PresharedKey Key(const std::string& name, const char* addr, const char* mask) {
  PresharedKey k;
  k.key = SecretBytes::FromString(name);
  k.address = *IpAddress::Parse(addr);
  k.mask = *IpAddress::Parse(mask);
  return k;
}

std::string Found(const KeyIndex& idx, const CowList<PresharedKey>& keys, const char* peer) {
  const PresharedKey* k = idx.Find(keys, *IpAddress::Parse(peer));
  return k ? std::string(k->key.span().begin(), k->key.span().end()) : "none";
}

TEST(KeyIndex, LongestPrefixWinsWhateverTheOrder) {
  const CowList<PresharedKey> keys = {
      Key("any", "0.0.0.0", "0.0.0.0"),
      Key("net16", "10.1.0.0", "255.255.0.0"),
      Key("host", "10.1.2.3", "255.255.255.255"),
      Key("net24", "10.1.2.0", "255.255.255.0"),
      Key("v6net", "2001:db8::", "ffff:ffff::"),
      Key("v6host", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
  };
  KeyIndex idx;
  idx.Build(keys);
  EXPECT_EQ(Found(idx, keys, "10.1.2.3"), "host");
  EXPECT_EQ(Found(idx, keys, "10.1.2.4"), "net24");
  EXPECT_EQ(Found(idx, keys, "10.1.9.9"), "net16");
  EXPECT_EQ(Found(idx, keys, "192.0.2.1"), "any");
  EXPECT_EQ(Found(idx, keys, "2001:db8::1"), "v6host");
  EXPECT_EQ(Found(idx, keys, "2001:db8::2"), "v6net");
  EXPECT_EQ(Found(idx, keys, "2001:db9::1"), "none");  // a v4 0/0 key never matches v6
}

TEST(KeyIndex, FirstConfiguredWinsAmongEqualsAndEmptyFindsNothing) {
  CowList<PresharedKey> keys = {Key("first", "10.0.0.0", "255.0.0.0"),
                                    Key("second", "10.0.0.0", "255.0.0.0")};
  KeyIndex idx;
  idx.Build(keys);
  EXPECT_EQ(Found(idx, keys, "10.9.9.9"), "first");
  keys.clear();
  idx.Build(keys);
  EXPECT_EQ(Found(idx, keys, "10.9.9.9"), "none");
}

// The index answers exactly as the scan it replaces (Config::FindKey), on random key sets
// with overlapping prefixes, non-prefix masks, and both families.
TEST(KeyIndex, AgreesWithTheLinearScanOnRandomKeySets) {
  SeededRandom rng(5);
  auto ip4 = [&](uint32_t v) {
    return IpAddress::V4(static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                         static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v));
  };
  for (int round = 0; round < 200; ++round) {
    Config c;
    const int n = 1 + static_cast<int>(rng.U32() % 40);
    for (int i = 0; i < n; ++i) {
      PresharedKey k;
      k.key = SecretBytes::FromString("k" + std::to_string(i));
      // Addresses in a small space so that prefixes overlap.
      const uint32_t addr = 0x0A000000u | (rng.U32() & 0x0000FF0Fu);
      const uint32_t r = rng.U32();
      uint32_t mask;
      if (r % 10 == 0) {
        mask = rng.U32();  // a non-prefix mask (legal, rare)
      } else {
        const int len = static_cast<int>(r % 33);
        mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
      }
      k.address = ip4(addr);
      k.mask = ip4(mask);
      c.keys.push_back(std::move(k));
    }
    KeyIndex idx;
    idx.Build(c.keys);
    for (int q = 0; q < 200; ++q) {
      const IpAddress peer = ip4(0x0A000000u | (rng.U32() & 0x0000FF0Fu));
      ASSERT_EQ(idx.Find(c.keys, peer), c.FindKey(peer)) << "round " << round << " peer " << peer.ToString();
    }
  }
}

}  // namespace
}  // namespace ikepulse::config
