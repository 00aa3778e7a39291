#include "isakmp/header.h"

#include <gtest/gtest.h>

#include <string>

#include "isakmp/isakmp_test_util.h"

namespace ikepulse::isakmp {
namespace {

using testing::CheckEveryPrefix;
using testing::Fragment;
using testing::H;

constexpr NotifyType kMalformed = NotifyType::kPayloadMalformed;
const char kShort[] = "Unable to read ISAKMP header.";

// Header of a Main Mode 1 message of 128 bytes, as the fields of RFC 2408 §3.1.
std::vector<Fragment> Mm1HeaderFragments() {
  return {
      {"0102030405060708", kMalformed, kShort},  // initiator cookie
      {"0000000000000000", kMalformed, kShort},  // responder cookie
      {"01", kMalformed, kShort},                // next payload: SA
      {"10", kMalformed, kShort},                // version 1.0
      {"02", kMalformed, kShort},                // exchange: Main Mode
      {"00", kMalformed, kShort},                // flags
      {"00000000", kMalformed, kShort},          // message ID
      {"0000001c", kMalformed, kShort},          // length: 28 (header only)
  };
}

std::optional<ParseError> ParseErr(ByteSpan b) {
  auto r = ParseHeader(b);
  if (r) return std::nullopt;
  return r.error();
}

TEST(HeaderTest, ParsesGoldenHeader) {
  Bytes b = testing::Join(Mm1HeaderFragments());
  auto h = ParseHeader(b);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->icookie, (Cookie{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(h->rcookie, Cookie{});
  EXPECT_EQ(h->next_payload, PayloadType::kSa);
  EXPECT_EQ(h->version, 0x10);
  EXPECT_EQ(h->exchange, ExchangeType::kIdentityProtection);
  EXPECT_EQ(h->flags, 0);
  EXPECT_FALSE(h->encrypted());
  EXPECT_EQ(h->message_id, 0u);
  EXPECT_EQ(h->length, 28u);
}

TEST(HeaderTest, EveryPrefix) { CheckEveryPrefix(Mm1HeaderFragments(), ParseErr); }

TEST(HeaderTest, SerializeRoundTrip) {
  Header h;
  h.icookie = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11};
  h.rcookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.next_payload = PayloadType::kHash;
  h.exchange = ExchangeType::kInformational;
  h.flags = kFlagEncryption;
  h.message_id = 0xdeadbeef;
  h.length = 28;
  Bytes out;
  ByteWriter w(out);
  SerializeHeader(h, w);
  EXPECT_EQ(ToHex(out), "aabbccddeeff0011010203040506070808100501deadbeef0000001c");
  auto back = ParseHeader(out);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, h);
  EXPECT_TRUE(back->encrypted());
}

TEST(HeaderTest, BuildMessageSetsLength) {
  Header h;
  h.next_payload = PayloadType::kVendorId;
  h.exchange = ExchangeType::kIdentityProtection;
  h.length = 999;  // overwritten
  Bytes body = H("00000008 01020304");
  Bytes msg = BuildMessage(h, body);
  ASSERT_EQ(msg.size(), 36u);
  auto back = ParseHeader(msg);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->length, 36u);
  EXPECT_EQ(Bytes(msg.begin() + 28, msg.end()), body);
}

TEST(HeaderTest, BadMajorVersion) {
  Bytes b = testing::Join(Mm1HeaderFragments());
  b[17] = 0x20;  // IKEv2
  auto r = ParseHeader(b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, NotifyType::kInvalidMajorVersion);
  EXPECT_EQ(r.error().offset, 17u);
  EXPECT_EQ(std::string(r.error().detail), "Unsupported major version.");
}

TEST(HeaderTest, MinorVersionIsAccepted) {
  Bytes b = testing::Join(Mm1HeaderFragments());
  b[17] = 0x11;
  auto r = ParseHeader(b);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->version, 0x11);
}

TEST(HeaderTest, LengthPastDatagram) {
  Bytes b = testing::Join(Mm1HeaderFragments());
  b[27] = 29;
  auto r = ParseHeader(b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, NotifyType::kUnequalPayloadLengths);
  EXPECT_EQ(r.error().offset, 24u);
  EXPECT_EQ(std::string(r.error().detail), "Message length past end of datagram.");
}

TEST(HeaderTest, LengthShorterThanHeader) {
  Bytes b = testing::Join(Mm1HeaderFragments());
  b[27] = 27;
  auto r = ParseHeader(b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, NotifyType::kUnequalPayloadLengths);
  EXPECT_EQ(r.error().offset, 24u);
  EXPECT_EQ(std::string(r.error().detail), "Message length shorter than header.");
}

TEST(HeaderTest, TrailingBytesAfterLengthAreIgnored) {
  Bytes b = testing::Join(Mm1HeaderFragments());
  b.push_back(0xff);
  auto r = ParseHeader(b);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->length, 28u);
}

}  // namespace
}  // namespace ikepulse::isakmp
