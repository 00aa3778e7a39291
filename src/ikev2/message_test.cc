// Header and whole-message tests: the RFC 7296 §3.1 header, BuildMessage's chaining, and the
// Encrypted payload byte ranges (§3.14, RFC 5282 §5.1).
#include "ikev2/message.h"

#include <gtest/gtest.h>

#include <string>

#include "ikev2/ikev2_test_util.h"

namespace ikepulse::ikev2 {
namespace {

using testing::Cat;
using testing::H;

constexpr NotifyType kSyntax = NotifyType::kInvalidSyntax;

// IKE_SA_INIT request header: SPIi, SPIr zero, next SA, 2.0, exchange 34, flags I, MID 0.
constexpr char kInitHeader[] = "0102030405060708 0000000000000000 21 20 22 08 00000000";

TEST(Ikev2HeaderTest, ParsesEveryField) {
  Bytes b = Cat({"0102030405060708 1112131415161718 2e 20 25 20 00000007 0000001c"});
  auto h = ParseHeader(b);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->spi_i, (Spi{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(h->spi_r, (Spi{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}));
  EXPECT_EQ(h->next_payload, PayloadType::kSk);
  EXPECT_EQ(h->major(), 2);
  EXPECT_EQ(h->minor(), 0);
  EXPECT_EQ(h->exchange, ExchangeType::kInformational);
  EXPECT_TRUE(h->response());
  EXPECT_FALSE(h->initiator());
  EXPECT_FALSE(h->higher_version());
  EXPECT_EQ(h->message_id, 7u);
  EXPECT_EQ(h->length, 28u);
  Bytes out;
  ByteWriter w(out);
  SerializeHeader(*h, w);
  EXPECT_EQ(out, b);
}

TEST(Ikev2HeaderTest, EveryTruncationFails) {
  Bytes b = Cat({kInitHeader, "0000001c"});
  for (size_t n = 0; n < b.size(); ++n) {
    auto h = ParseHeader(ByteSpan(b).first(n));
    ASSERT_FALSE(h.has_value()) << n;
    EXPECT_EQ(h.error().code, kSyntax);
    EXPECT_EQ(std::string(h.error().detail), "Unable to read IKE header.");
  }
}

TEST(Ikev2HeaderTest, OtherMajorVersionsAreDistinct) {
  for (const char* v : {"10", "30", "f0"}) {
    Bytes b = Cat({"0102030405060708 0000000000000000 21", v, "22 08 00000000 0000001c"});
    auto h = ParseHeader(b);
    ASSERT_FALSE(h.has_value());
    EXPECT_EQ(h.error().code, NotifyType::kInvalidMajorVersion);
    EXPECT_EQ(h.error().offset, 17u);
  }
  // A higher minor version is accepted and ignored (§2.5).
  auto h = ParseHeader(Cat({"0102030405060708 0000000000000000 21 21 22 18 00000000 0000001c"}));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->minor(), 1);
  EXPECT_TRUE(h->higher_version());
}

TEST(Ikev2HeaderTest, LengthCheckedAgainstDatagram) {
  auto short_len = ParseHeader(Cat({kInitHeader, "0000001b"}));
  ASSERT_FALSE(short_len.has_value());
  EXPECT_EQ(std::string(short_len.error().detail), "Message length shorter than header.");
  EXPECT_EQ(short_len.error().offset, 24u);
  auto past = ParseHeader(Cat({kInitHeader, "0000001d"}));
  ASSERT_FALSE(past.has_value());
  EXPECT_EQ(std::string(past.error().detail), "Message length past end of datagram.");
  // Bytes after the length are not part of the message.
  auto extra = ParseHeader(Cat({kInitHeader, "0000001c ffff"}));
  ASSERT_TRUE(extra.has_value());
  EXPECT_EQ(extra->length, 28u);
}

TEST(Ikev2MessageTest, BuildChainsAndParsesBack) {
  Header h;
  h.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
  h.exchange = ExchangeType::kIkeSaInit;
  h.flags = kFlagInitiator;
  h.next_payload = PayloadType::kCert;  // overwritten by BuildMessage
  Proposal p;
  p.transforms = {{1, 20, {Attribute::KeyLength(128)}}, {2, 5, {}}, {4, 19, {}}};
  std::vector<Payload> chain = {MakePayload(SaPayload{{p}}),
                                MakePayload(KePayload{19, Bytes(64, 9)}),
                                MakePayload(NoncePayload{Bytes(32, 1)}),
                                MakeNotify(NotifyType::kNatDetectionSourceIp, Bytes(20, 2))};
  Bytes msg = BuildMessage(h, chain);
  auto m = ParseMessage(msg);
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_EQ(m->header.next_payload, PayloadType::kSa);
  EXPECT_EQ(m->header.length, msg.size());
  EXPECT_EQ(m->payloads, chain);
  EXPECT_EQ(m->payloads[0].offset, 28u);
  EXPECT_EQ(m->payloads[1].offset, 28u + m->payloads[0].length);
  EXPECT_EQ(BuildMessage(m->header, m->payloads), msg);
  // An empty chain (e.g. an empty INFORMATIONAL built before encryption).
  Bytes empty = BuildMessage(h, {});
  EXPECT_EQ(empty.size(), 28u);
  EXPECT_EQ(empty[16], 0);
}

TEST(Ikev2MessageTest, ChainMustEndAtTheHeaderLength) {
  // Next VID, 8-byte VID, but the header length covers only 4 bytes of it.
  Bytes msg =
      Cat({"0102030405060708 0000000000000000 2b 20 22 08 00000000 00000020", "00000008 01020304"});
  auto m = ParseMessage(msg);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(std::string(m.error().detail), "Payload length past end of message.");
  EXPECT_EQ(m.error().offset, 28u);
  // The header says NONE but there is a body.
  Bytes tail =
      Cat({"0102030405060708 0000000000000000 00 20 22 08 00000000 00000024", "00000008 01020304"});
  auto t = ParseMessage(tail);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(std::string(t.error().detail), "Data after last payload.");
  EXPECT_EQ(t.error().offset, 28u);
  // A critical unknown payload at message level.
  Bytes crit = Cat({"0102030405060708 0000000000000000 7f 20 22 08 00000000 00000020", "00800004"});
  auto c = ParseMessage(crit);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, NotifyType::kUnsupportedCriticalPayload);
  EXPECT_EQ(c.error().payload_type, 0x7f);
  EXPECT_EQ(c.error().offset, 28u);
  // Header errors come through unchanged.
  auto v = ParseMessage(Cat({"0102030405060708 0000000000000000 00 10 22 08 00000000 0000001c"}));
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, NotifyType::kInvalidMajorVersion);
}

// An INFORMATIONAL with N(...) in clear then SK: IV 16, 2 ciphertext blocks, ICV 16.
Bytes InformationalWithSk() {
  Header h;
  h.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
  h.spi_r = {8, 7, 6, 5, 4, 3, 2, 1};
  h.exchange = ExchangeType::kInformational;
  h.message_id = 5;
  Bytes data(16 + 32 + 16);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  return BuildMessage(h, {MakePayload(VendorIdPayload{H("abcd")}),
                          MakePayload(EncryptedPayload{PayloadType::kDelete, data})});
}

TEST(Ikev2MessageTest, LocateSkGivesAeadAndIntegrityRanges) {
  Bytes msg = InformationalWithSk();
  ASSERT_EQ(msg.size(), 28u + 6 + 4 + 64);
  auto sk = LocateSk(msg, 16, 16);
  ASSERT_TRUE(sk.has_value()) << sk.error().detail;
  EXPECT_EQ(sk->type, PayloadType::kSk);
  EXPECT_EQ(sk->inner_next, PayloadType::kDelete);
  EXPECT_EQ(sk->payload_offset, 34u);
  EXPECT_EQ(sk->iv_offset, 38u);
  EXPECT_EQ(sk->ciphertext_offset, 54u);
  EXPECT_EQ(sk->icv_offset, 86u);
  EXPECT_EQ(sk->end, 102u);
  EXPECT_EQ(sk->AssociatedData(msg).size(), 38u);
  EXPECT_EQ(sk->Iv(msg)[0], 0);
  EXPECT_EQ(sk->Ciphertext(msg).size(), 32u);
  EXPECT_EQ(sk->Ciphertext(msg)[0], 16);
  EXPECT_EQ(sk->Icv(msg)[0], 48);
  EXPECT_EQ(sk->IntegrityRange(msg).size(), 86u);
  // AES-GCM: IV 8, ICV 16.
  auto gcm = LocateSk(msg, 8, 16);
  ASSERT_TRUE(gcm.has_value());
  EXPECT_EQ(gcm->ciphertext_offset, 46u);
  // The parsed message agrees.
  auto m = ParseMessage(msg);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payloads[1].offset, sk->payload_offset);
}

TEST(Ikev2MessageTest, LocateSkErrors) {
  Bytes msg = InformationalWithSk();
  auto small = LocateSk(msg, 16, 48);  // 16 + 1 + 48 > 64
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(std::string(small.error().detail), "Encrypted payload too short for IV and ICV.");
  EXPECT_TRUE(LocateSk(msg, 16, 47).has_value());
  Header h;
  h.exchange = ExchangeType::kIkeSaInit;
  Bytes clear = BuildMessage(h, {MakePayload(NoncePayload{Bytes(16, 1)})});
  auto none = LocateSk(clear, 16, 16);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(std::string(none.error().detail), "No encrypted payload.");
  Bytes trailing = msg;
  trailing[27] += 1;  // header length one past the SK payload
  trailing.push_back(0);
  auto t = LocateSk(trailing, 16, 16);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(std::string(t.error().detail), "Data after encrypted payload.");
  Bytes bad = msg;
  bad[28 + 3] = 3;  // VID length 3
  EXPECT_EQ(std::string(LocateSk(bad, 16, 16).error().detail), "Payload length too small.");
  EXPECT_EQ(std::string(LocateSk(ByteSpan(msg).first(20), 16, 16).error().detail),
            "Unable to read IKE header.");
  // SKF: the fragment number and total belong to the associated data.
  Bytes skf = msg;
  skf[28] = static_cast<uint8_t>(PayloadType::kSkf);
  auto f = LocateSk(skf, 16, 16);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->iv_offset, 42u);
}

}  // namespace
}  // namespace ikepulse::ikev2
