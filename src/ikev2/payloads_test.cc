// Payload-chain codec tests: golden bytes per payload (from the RFC 7296 §3 layouts), round
// trips, the critical bit, and chain-level errors.
#include "ikev2/payloads.h"

#include <gtest/gtest.h>

#include <string>

#include "ikev2/ikev2_test_util.h"

namespace ikepulse::ikev2 {
namespace {

using testing::BodyParser;
using testing::Cat;
using testing::CheckEveryPrefix;
using testing::Fragment;
using testing::H;

constexpr NotifyType kSyntax = NotifyType::kInvalidSyntax;

// Parses a single payload (generic header included), checks its position fields and that it
// re-serializes to the same bytes.
template <typename T>
T ParseOne(PayloadType type, std::string_view hex) {
  Bytes b = H(hex);
  auto r = ParsePayloads(type, b);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
  if (!r) return T{};
  EXPECT_EQ(r->size(), 1u);
  const Payload& p = (*r)[0];
  EXPECT_EQ(p.type, type);
  EXPECT_EQ(p.offset, 0u);
  EXPECT_EQ(p.length, b.size());
  EXPECT_EQ(SerializePayloads(*r), b);
  const T* t = std::get_if<T>(&p.body);
  EXPECT_NE(t, nullptr);
  return t ? *t : T{};
}

ParseError ParseFails(PayloadType type, std::string_view hex, uint32_t base = 0,
                      ChainKind kind = ChainKind::kMessage) {
  auto r = ParsePayloads(type, H(hex), base, kind);
  EXPECT_FALSE(r.has_value()) << hex;
  return r ? ParseError{} : r.error();
}

void ExpectSyntax(PayloadType type, std::string_view hex, std::string_view detail,
                  uint32_t offset) {
  ParseError e = ParseFails(type, hex);
  EXPECT_EQ(e.code, kSyntax) << hex;
  EXPECT_EQ(std::string(e.detail), detail) << hex;
  EXPECT_EQ(e.offset, offset) << hex;
}

TEST(Ikev2PayloadsTest, KeyExchange) {
  auto ke = ParseOne<KePayload>(PayloadType::kKe, "0000000c 0013 0000 01020304");
  EXPECT_EQ(ke.dh_group, static_cast<uint16_t>(DhGroup::kEcp256));
  EXPECT_EQ(ke.data, H("01020304"));
  ExpectSyntax(PayloadType::kKe, "00000007 001300", "Unable to read KE header.", 4);
}

TEST(Ikev2PayloadsTest, Identification) {
  auto v4 = ParseOne<IdPayload>(PayloadType::kIdi, "0000000c 01 000000 c0000201");
  EXPECT_EQ(v4.id_type, static_cast<uint8_t>(IdType::kIpv4Addr));
  EXPECT_EQ(v4.data, H("c0000201"));
  EXPECT_EQ(SerializeBody(v4), H("01000000 c0000201"));  // what AUTH hashes
  auto fqdn = ParseOne<IdPayload>(PayloadType::kIdr, "0000000e 02 000000 67772e6c6162");
  EXPECT_EQ(std::string(fqdn.data.begin(), fqdn.data.end()), "gw.lab");
  auto mail = ParseOne<IdPayload>(PayloadType::kIdi, "0000000b 03 000000 614062");
  EXPECT_EQ(mail.id_type, static_cast<uint8_t>(IdType::kRfc822Addr));
  auto v6 =
      ParseOne<IdPayload>(PayloadType::kIdr, "00000018 05 000000 20010db8000000000000000000000001");
  EXPECT_EQ(v6.data.size(), 16u);
  auto key = ParseOne<IdPayload>(PayloadType::kIdi, "00000009 0b 000000 ff");
  EXPECT_EQ(key.id_type, static_cast<uint8_t>(IdType::kKeyId));
  ExpectSyntax(PayloadType::kIdi, "0000000b 01 000000 c00002",
               "ID data length does not match ID type.", 8);
  ExpectSyntax(PayloadType::kIdr, "0000000c 05 000000 c0000201",
               "ID data length does not match ID type.", 8);
  ExpectSyntax(PayloadType::kIdi, "00000007 010000", "Unable to read ID header.", 4);
}

TEST(Ikev2PayloadsTest, AuthCertAndVendorId) {
  auto auth = ParseOne<AuthPayload>(PayloadType::kAuth, "0000000a 02 000000 aabb");
  EXPECT_EQ(auth.method, static_cast<uint8_t>(AuthMethod::kSharedKey));
  EXPECT_EQ(auth.data, H("aabb"));
  ExpectSyntax(PayloadType::kAuth, "00000006 0200", "Unable to read AUTH header.", 4);
  auto cert = ParseOne<CertPayload>(PayloadType::kCertReq, "00000007 04 abcd");
  EXPECT_EQ(cert.encoding, 4);
  ExpectSyntax(PayloadType::kCert, "00000004", "Unable to read certificate encoding.", 4);
  auto vid = ParseOne<VendorIdPayload>(PayloadType::kVendorId, "00000008 01020304");
  EXPECT_EQ(vid.data, H("01020304"));
}

TEST(Ikev2PayloadsTest, NonceLengthBounds) {
  Bytes n16 = Cat({"00000014", std::string(32, 'a')});
  auto r = ParsePayloads(PayloadType::kNonce, n16);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<NoncePayload>((*r)[0].body).data.size(), 16u);
  Bytes n256 = Cat({"00000104", std::string(512, 'b')});
  EXPECT_TRUE(ParsePayloads(PayloadType::kNonce, n256).has_value());
  ExpectSyntax(PayloadType::kNonce, "00000013 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
               "Nonce length outside 16..256 bytes.", 4);
  Bytes n257 = Cat({"00000105", std::string(514, 'c')});
  auto e = ParsePayloads(PayloadType::kNonce, n257);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(std::string(e.error().detail), "Nonce length outside 16..256 bytes.");
}

TEST(Ikev2PayloadsTest, Notify) {
  auto cookie = ParseOne<NotifyPayload>(PayloadType::kNotify, "0000000c 00 00 4006 01020304");
  EXPECT_EQ(cookie.type, static_cast<uint16_t>(NotifyType::kCookie));
  EXPECT_FALSE(cookie.is_error());
  EXPECT_EQ(cookie.data, H("01020304"));
  auto ke = ParseOne<NotifyPayload>(PayloadType::kNotify, "0000000a 00 00 0011 000e");
  EXPECT_TRUE(ke.is_error());
  auto rekey = ParseOne<NotifyPayload>(PayloadType::kNotify, "0000000c 03 04 4009 c0ffee01");
  EXPECT_EQ(rekey.protocol_id, static_cast<uint8_t>(ProtocolId::kEsp));
  EXPECT_EQ(rekey.spi, H("c0ffee01"));
  EXPECT_TRUE(rekey.data.empty());
  auto natd = ParseOne<NotifyPayload>(
      PayloadType::kNotify, "0000001c 00 00 4004 0102030405060708090a0b0c0d0e0f1011121314");
  EXPECT_EQ(natd.data.size(), 20u);
  ExpectSyntax(PayloadType::kNotify, "00000009 00 00 0011 0e",
               "Notify data length wrong for its type.", 8);
  ExpectSyntax(PayloadType::kNotify, "00000009 00 00 4004 0e",
               "Notify data length wrong for its type.", 8);
  ExpectSyntax(PayloadType::kNotify, "00000008 00 00 4006",
               "Notify data length wrong for its type.", 8);
  ExpectSyntax(PayloadType::kNotify, "0000000a 03 04 4009 c0ff", "Unable to read SPI.", 8);
  CheckEveryPrefix({{"03", kSyntax, "Unable to read notify header."},
                    {"04 4009", kSyntax, "Unable to read notify header."},
                    {"c0ffee01", kSyntax, "Unable to read SPI."}},
                   BodyParser(PayloadType::kNotify));
  EXPECT_EQ(SerializePayloads({MakeNotify(NotifyType::kInitialContact)}), H("00000008 00 00 4000"));
}

TEST(Ikev2PayloadsTest, Delete) {
  auto ike = ParseOne<DeletePayload>(PayloadType::kDelete, "00000008 01 00 0000");
  EXPECT_EQ(ike.protocol_id, static_cast<uint8_t>(ProtocolId::kIke));
  EXPECT_TRUE(ike.spis.empty());
  auto esp = ParseOne<DeletePayload>(PayloadType::kDelete, "00000010 03 04 0002 11111111 22222222");
  ASSERT_EQ(esp.spis.size(), 2u);
  EXPECT_EQ(esp.spis[1], H("22222222"));
  ExpectSyntax(PayloadType::kDelete, "0000000c 01 04 0001 11111111", "IKE delete carries SPIs.", 5);
  ExpectSyntax(PayloadType::kDelete, "00000010 03 08 0001 1111111111111111",
               "Child SA delete SPI size is not 4.", 5);
  ExpectSyntax(PayloadType::kDelete, "0000000c 03 04 0002 11111111",
               "Delete SPI count does not match length.", 6);
  ExpectSyntax(PayloadType::kDelete, "00000010 03 04 0001 11111111 22222222",
               "Delete SPI count does not match length.", 6);
  ExpectSyntax(PayloadType::kDelete, "00000008 09 00 0001", "Delete SPI size is zero.", 5);
  ExpectSyntax(PayloadType::kDelete, "00000007 030400", "Unable to read delete header.", 4);
}

TEST(Ikev2PayloadsTest, EapAndUnknownNonCriticalKeptRaw) {
  auto eap = ParseOne<RawPayload>(PayloadType::kEap, "00000009 0101000501");
  EXPECT_EQ(eap.body, H("0101000501"));
  // Unknown type 200, not critical, then a VID: skipped by length, kept raw.
  Bytes chain = H("2b000006 abcd 00000005 ff");
  auto r = ParsePayloads(static_cast<PayloadType>(200), chain);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(std::get<RawPayload>((*r)[0].body).body, H("abcd"));
  EXPECT_EQ((*r)[1].type, PayloadType::kVendorId);
  EXPECT_EQ((*r)[1].offset, 6u);
  EXPECT_EQ(SerializePayloads(*r), chain);
}

TEST(Ikev2PayloadsTest, UnknownCriticalPayloadIsReported) {
  ParseError e =
      ParseFails(PayloadType::kNonce, "c8000014 00112233445566778899aabbccddeeff 00800005 ff", 28);
  EXPECT_EQ(e.code, NotifyType::kUnsupportedCriticalPayload);
  EXPECT_EQ(e.payload_type, 0xc8);
  EXPECT_EQ(e.offset, 28u + 20);
  // A known payload with the critical bit is parsed, and the bit round-trips.
  Bytes crit = H("00800008 01020304");
  auto r = ParsePayloads(PayloadType::kVendorId, crit);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE((*r)[0].critical);
  EXPECT_EQ(SerializePayloads(*r), crit);
  // Reserved bits are ignored and not sent back.
  auto r2 = ParsePayloads(PayloadType::kVendorId, H("00010008 01020304"));
  ASSERT_TRUE(r2.has_value());
  EXPECT_FALSE((*r2)[0].critical);
  EXPECT_EQ(SerializePayloads(*r2), H("00000008 01020304"));
}

TEST(Ikev2PayloadsTest, ChainErrors) {
  ExpectSyntax(PayloadType::kVendorId, "000000", "Unable to read generic payload header.", 0);
  ExpectSyntax(PayloadType::kVendorId, "00000000", "Payload length too small.", 0);  // zero length
  ExpectSyntax(PayloadType::kVendorId, "00000003", "Payload length too small.", 0);
  ExpectSyntax(PayloadType::kVendorId, "00000009 01020304", "Payload length past end of message.",
               0);
  ExpectSyntax(PayloadType::kVendorId, "00000008 01020304 00", "Data after last payload.", 8);
  ExpectSyntax(PayloadType::kVendorId, "2b000008 01020304",
               "Unable to read generic payload header.", 8);
  // 65 VIDs.
  std::string many;
  for (int i = 0; i < 65; ++i) many += "2b000004";
  ExpectSyntax(PayloadType::kVendorId, many, "Too many payloads.", 64 * 4);
}

TEST(Ikev2PayloadsTest, EncryptedPayloadEndsTheChain) {
  // VID, then SK whose Next Payload (IDi) is the first inner payload.
  Bytes chain = H("2e000005 aa 2300000c 0102030405060708");
  auto r = ParsePayloads(PayloadType::kVendorId, chain);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 2u);
  const auto& sk = std::get<EncryptedPayload>((*r)[1].body);
  EXPECT_EQ(sk.inner_next, PayloadType::kIdi);
  EXPECT_EQ(sk.data, H("0102030405060708"));
  EXPECT_EQ(SerializePayloads(*r), chain);
  ExpectSyntax(PayloadType::kSk, "2300000c 0102030405060708 00", "Data after encrypted payload.",
               12);
  ParseError inner =
      ParseFails(PayloadType::kSk, "2300000c 0102030405060708", 0, ChainKind::kInner);
  EXPECT_EQ(std::string(inner.detail), "Encrypted payload inside encrypted payload.");
  // SKF (RFC 7383) likewise.
  auto f = ParsePayloads(PayloadType::kSkf, H("2100000c 0001 0002 aabbccdd"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(std::get<EncryptedPayload>((*f)[0].body).inner_next, PayloadType::kSa);
}

TEST(Ikev2PayloadsTest, InnerChainOfAnIkeAuthRequest) {
  // IDi (IPv4), AUTH (PSK), N(INITIAL_CONTACT), as found inside an SK payload.
  Bytes inner =
      H("2700000c 01000000 c0000201 29000010 02000000 0102030405060708 00000008 00004000");
  auto r = ParsePayloads(PayloadType::kIdi, inner, 0, ChainKind::kInner);
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_NE(FindType(*r, PayloadType::kAuth), nullptr);
  EXPECT_NE(FindNotify(*r, NotifyType::kInitialContact), nullptr);
  EXPECT_EQ(FindNotify(*r, NotifyType::kCookie), nullptr);
  EXPECT_EQ(Find<IdPayload>(*r)->data, H("c0000201"));
  EXPECT_EQ(SerializePayloads(*r), inner);
}

TEST(Ikev2PayloadsTest, BuildersAndTypes) {
  EXPECT_EQ(MakePayload(IdPayload{}).type, PayloadType::kIdi);
  EXPECT_EQ(MakePayload(PayloadType::kIdr, IdPayload{}).type, PayloadType::kIdr);
  EXPECT_EQ(MakePayload(TsPayload{}).type, PayloadType::kTsi);
  EXPECT_TRUE(TypeMatchesBody(PayloadType::kTsr, TsPayload{}));
  EXPECT_FALSE(TypeMatchesBody(PayloadType::kTsr, IdPayload{}));
  EXPECT_TRUE(TypeMatchesBody(PayloadType::kEap, RawPayload{}));
  EXPECT_TRUE(TypeMatchesBody(static_cast<PayloadType>(200), RawPayload{}));
  EXPECT_FALSE(TypeMatchesBody(PayloadType::kNonce, RawPayload{}));
  EXPECT_FALSE(TypeMatchesBody(PayloadType::kNone, RawPayload{}));
  std::vector<uint32_t> offsets;
  Bytes b = SerializePayloads(
      {MakePayload(NoncePayload{Bytes(16, 7)}), MakeNotify(NotifyType::kFragmentationSupported)},
      &offsets);
  EXPECT_EQ(offsets, (std::vector<uint32_t>{0, 20}));
  EXPECT_EQ(b[0], static_cast<uint8_t>(PayloadType::kNotify));
  EXPECT_EQ(b[20], 0);
}

}  // namespace
}  // namespace ikepulse::ikev2
