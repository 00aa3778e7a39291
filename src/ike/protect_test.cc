// BuildHashedChain: the bytes are those of HASH + rest serialized as one chain, and the hash is
// computed over exactly the bytes after the HASH payload.
#include "ike/protect.h"

#include <gtest/gtest.h>

#include <vector>

#include "isakmp/payloads.h"

namespace ikepulse::ike {
namespace {

using isakmp::MakePayload;
using isakmp::Payload;

std::vector<Payload> Rest(int which) {
  std::vector<Payload> rest;
  if (which >= 1) {
    isakmp::NotificationPayload n;
    n.spi = Bytes(16, 0xab);
    n.type = 36136;  // R-U-THERE
    n.data = Bytes{0, 0, 0x12, 0x34};
    rest.push_back(MakePayload(n));
  }
  if (which >= 2) {
    isakmp::DeletePayload d;
    d.spis = {Bytes{1, 2, 3, 4}, Bytes{5, 6, 7, 8}};
    rest.push_back(MakePayload(d));
  }
  return rest;
}

TEST(BuildHashedChain, SameBytesAsOneChainAndHashesWhatFollowsTheHash) {
  for (int which : {0, 1, 2}) {
    for (size_t hash_len : {16u, 20u, 32u, 64u}) {
      SCOPED_TRACE(testing::Message() << "payloads " << which << " hash " << hash_len);
      const std::vector<Payload> rest = Rest(which);
      Bytes seen;
      const Bytes got = BuildHashedChain(rest, hash_len, [&](ByteSpan after) {
        seen.assign(after.begin(), after.end());
        SecretBytes h(hash_len);
        for (size_t i = 0; i < hash_len; ++i) h.data()[i] = static_cast<uint8_t>(i + 1);
        return h;
      });
      Bytes value(hash_len);
      for (size_t i = 0; i < hash_len; ++i) value[i] = static_cast<uint8_t>(i + 1);
      std::vector<Payload> chain{MakePayload(isakmp::HashPayload{value})};
      chain.insert(chain.end(), rest.begin(), rest.end());
      EXPECT_EQ(got, isakmp::SerializePayloads(chain));
      EXPECT_EQ(seen, isakmp::SerializePayloads(rest));
      // And it parses back: HASH first, then the rest.
      auto parsed = isakmp::ParsePayloads(isakmp::PayloadType::kHash, got);
      ASSERT_TRUE(parsed.has_value());
      ASSERT_EQ(parsed->size(), rest.size() + 1);
      EXPECT_EQ(parsed->front().type, isakmp::PayloadType::kHash);
    }
  }
}

}  // namespace
}  // namespace ikepulse::ike
