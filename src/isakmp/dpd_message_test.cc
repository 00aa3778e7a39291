// RFC 3706 R-U-THERE / R-U-THERE-ACK informational bodies, as the codec sees them after
// decryption: HASH(1) then NOTIFY (RFC 2409 §5.7 order), and the NOTIFY-first order some
// peers send (DESIGN.md §2.4, §3.1).
#include <gtest/gtest.h>

#include <string>

#include "isakmp/header.h"
#include "isakmp/isakmp_test_util.h"
#include "isakmp/payloads.h"

namespace ikepulse::isakmp {
namespace {

using testing::CheckEveryPrefix;
using testing::Fragment;
using testing::H;

constexpr NotifyType kMalformed = NotifyType::kPayloadMalformed;
constexpr char kCookies[] = "0102030405060708 a1a2a3a4a5a6a7a8";
constexpr char kHashHex[] = "000102030405060708090a0b0c0d0e0f10111213";

// HASH(1) (next: N, length 24) | N (last, length 32, DOI 1, proto ISAKMP, SPI size 16,
// R-U-THERE 36136 = 0x8d28, SPI = CKY-I | CKY-R, data = sequence 0x1234abcd).
std::vector<Fragment> HashFirstFragments(const char* notify_type = "8d28") {
  const char kGen[] = "Unable to read generic payload header.";
  const char kPast[] = "Payload length past end of message.";
  return {
      {"0b000018", kMalformed, kGen},
      {kHashHex, kMalformed, kPast},
      {"00000020", kMalformed, kGen},
      {std::string("00000001 01 10 ") + notify_type + " " + kCookies + " 1234abcd", kMalformed,
       kPast},
  };
}

NotificationPayload RUThere(uint32_t seq, uint16_t type = 36136) {
  NotificationPayload n;
  n.doi = kDoiIpsec;
  n.protocol_id = static_cast<uint8_t>(ProtocolId::kIsakmp);
  n.spi = H(kCookies);
  n.type = type;
  n.data = {static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
            static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq)};
  return n;
}

TEST(DpdMessageTest, HashFirstRUThere) {
  Bytes body = testing::Join(HashFirstFragments());
  ASSERT_EQ(body.size(), 56u);
  auto r = ParsePayloads(PayloadType::kHash, body, kHeaderSize);
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].type, PayloadType::kHash);
  EXPECT_EQ(std::get<HashPayload>((*r)[0].body).data, H(kHashHex));
  EXPECT_EQ((*r)[1].type, PayloadType::kNotification);
  EXPECT_EQ((*r)[1].offset, 24u);
  EXPECT_EQ((*r)[1].length, 32u);
  const auto& n = std::get<NotificationPayload>((*r)[1].body);
  EXPECT_EQ(n, RUThere(0x1234abcd));
  EXPECT_EQ(std::string(NotifyTypeName(n.type)), "R_U_THERE");
  // HASH(1) = prf(SKEYID_a, M-ID | N): the N bytes, generic header included, are at
  // [offset, offset + length) of the parsed buffer.
  EXPECT_EQ(Bytes(body.begin() + (*r)[1].offset, body.end()),
            Bytes(body.begin() + 24, body.begin() + 56));
  EXPECT_EQ(SerializePayloads(*r), body);

  std::vector<Payload> built = {MakePayload(HashPayload{H(kHashHex)}),
                                MakePayload(RUThere(0x1234abcd))};
  EXPECT_EQ(SerializePayloads(built), body);
}

TEST(DpdMessageTest, HashFirstEveryPrefix) {
  CheckEveryPrefix(HashFirstFragments(), [](ByteSpan b) -> std::optional<ParseError> {
    auto r = ParsePayloads(PayloadType::kHash, b);
    if (r) return std::nullopt;
    return r.error();
  });
}

TEST(DpdMessageTest, Ack) {
  Bytes body = testing::Join(HashFirstFragments("8d29"));
  auto r = ParsePayloads(PayloadType::kHash, body);
  ASSERT_TRUE(r.has_value());
  const auto* n = Find<NotificationPayload>(*r);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->type, static_cast<uint16_t>(NotifyType::kRUThereAck));
  EXPECT_EQ(std::string(NotifyTypeName(n->type)), "R_U_THERE_ACK");
}

TEST(DpdMessageTest, NotifyFirstOrder) {
  // N (next: HASH) | HASH (last).
  Bytes body = H(std::string("08000020 00000001 01 10 8d28 ") + kCookies + " 00000001" +
                 " 00000018 " + kHashHex);
  auto r = ParsePayloads(PayloadType::kNotification, body);
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].type, PayloadType::kNotification);
  EXPECT_EQ(std::get<NotificationPayload>((*r)[0].body), RUThere(1));
  EXPECT_EQ((*r)[1].type, PayloadType::kHash);
  EXPECT_EQ((*r)[1].offset, 32u);
  EXPECT_EQ(SerializePayloads(*r), body);
}

TEST(DpdMessageTest, DataOfThreeBytesIsMalformed) {
  Bytes body = H(std::string("0b000018 ") + kHashHex + " 0000001f 00000001 01 10 8d28 " + kCookies +
                 " 123456");
  auto r = ParsePayloads(PayloadType::kHash, body, kHeaderSize);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, kMalformed);
  // 28 (header) + 24 (HASH) + 4 (generic) + 8 (DOI..type) + 16 (SPI): the data.
  EXPECT_EQ(r.error().offset, 80u);
  EXPECT_EQ(std::string(r.error().detail), "DPD notification data must be 4 bytes.");
  // Five bytes too, and the ACK has the same rule.
  NotificationPayload n = RUThere(7, 36137);
  n.data.push_back(0);
  auto r2 = ParsePayloads(PayloadType::kNotification, SerializePayloads({MakePayload(n)}));
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(std::string(r2.error().detail), "DPD notification data must be 4 bytes.");
  // Other notify types take any data length.
  n.type = static_cast<uint16_t>(NotifyType::kInitialContact);
  EXPECT_TRUE(ParsePayloads(PayloadType::kNotification, SerializePayloads({MakePayload(n)})));
}

TEST(DpdMessageTest, WholeInformationalMessage) {
  Header h;
  h.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.rcookie = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
  h.next_payload = PayloadType::kHash;
  h.exchange = ExchangeType::kInformational;
  h.message_id = 0x7a3b9c01;
  Bytes msg = BuildMessage(h, testing::Join(HashFirstFragments()));
  auto ph = ParseHeader(msg);
  ASSERT_TRUE(ph.has_value());
  EXPECT_EQ(ph->length, 84u);
  EXPECT_EQ(ph->exchange, ExchangeType::kInformational);
  auto r = ParsePayloads(ph->next_payload, ByteSpan(msg).subspan(kHeaderSize), kHeaderSize);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<NotificationPayload>((*r)[1].body).spi,
            Bytes(msg.begin(), msg.begin() + 16));  // SPI = the header's cookies
}

}  // namespace
}  // namespace ikepulse::isakmp
