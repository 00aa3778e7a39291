// Payload-chain codec tests: golden bytes per payload (from the RFC 2408 §3 / RFC 2407 §4.6 /
// RFC 3947 layouts), round trips, and chain-level errors.
#include "isakmp/payloads.h"

#include <gtest/gtest.h>

#include <string>

#include "isakmp/isakmp_test_util.h"

namespace ikepulse::isakmp {
namespace {

using testing::CheckEveryPrefix;
using testing::Fragment;
using testing::H;

constexpr NotifyType kMalformed = NotifyType::kPayloadMalformed;

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

ParseError ParseFails(PayloadType type, std::string_view hex, uint32_t base = 0) {
  auto r = ParsePayloads(type, H(hex), base);
  EXPECT_FALSE(r.has_value());
  return r ? ParseError{} : r.error();
}

// Wraps a body prefix in a generic header whose length matches it.
std::function<std::optional<ParseError>(ByteSpan)> BodyParser(PayloadType type) {
  return [type](ByteSpan body) -> std::optional<ParseError> {
    Bytes b = {0, 0, 0, 0};
    b.insert(b.end(), body.begin(), body.end());
    b[2] = static_cast<uint8_t>(b.size() >> 8);
    b[3] = static_cast<uint8_t>(b.size());
    auto r = ParsePayloads(type, b);
    if (r) return std::nullopt;
    return r.error();
  };
}

TEST(PayloadsTest, KeyExchange) {
  auto ke = ParseOne<KeyExchangePayload>(PayloadType::kKeyExchange, "00000008 01020304");
  EXPECT_EQ(ke.data, H("01020304"));
}

TEST(PayloadsTest, IdIpv4Address) {
  auto id = ParseOne<IdPayload>(PayloadType::kId, "0000000c 01 11 01f4 c0a80001");
  EXPECT_EQ(id.id_type, static_cast<uint8_t>(IdType::kIpv4Addr));
  EXPECT_EQ(id.protocol, 17);
  EXPECT_EQ(id.port, 500);
  EXPECT_EQ(id.data, H("c0a80001"));
  EXPECT_EQ(SerializeBody(id), H("01 11 01f4 c0a80001"));  // IDii_b
}

TEST(PayloadsTest, IdOtherTypes) {
  auto subnet = ParseOne<IdPayload>(PayloadType::kId, "00000010 04 00 0000 0a000000 ffffff00");
  EXPECT_EQ(subnet.data, H("0a000000 ffffff00"));
  auto range = ParseOne<IdPayload>(PayloadType::kId, "00000010 07 06 0000 0a000001 0a0000fe");
  EXPECT_EQ(range.id_type, static_cast<uint8_t>(IdType::kIpv4Range));
  auto v6 =
      ParseOne<IdPayload>(PayloadType::kId, "00000018 05 00 0000 20010db8000000000000000000000001");
  EXPECT_EQ(v6.data.size(), 16u);
  auto v6net = ParseOne<IdPayload>(
      PayloadType::kId,
      "00000028 06 00 0000 20010db8000000000000000000000000 ffffffffffffffff0000000000000000");
  EXPECT_EQ(v6net.data.size(), 32u);
  auto fqdn =
      ParseOne<IdPayload>(PayloadType::kId, "00000017 02 00 0000 76706e2e6578616d706c652e636f6d");
  EXPECT_EQ(std::string(fqdn.data.begin(), fqdn.data.end()), "vpn.example.com");
  auto ufqdn = ParseOne<IdPayload>(PayloadType::kId, "0000000d 03 00 0000 6140622e63");
  EXPECT_EQ(std::string(ufqdn.data.begin(), ufqdn.data.end()), "a@b.c");
  auto keyid = ParseOne<IdPayload>(PayloadType::kId, "0000000a 0b 00 0000 abcd");
  EXPECT_EQ(keyid.id_type, static_cast<uint8_t>(IdType::kKeyId));
  EXPECT_EQ(keyid.data, H("abcd"));
}

TEST(PayloadsTest, IdErrors) {
  ParseError e = ParseFails(PayloadType::kId, "0000000b 01 00 0000 c0a800");
  EXPECT_EQ(e.code, NotifyType::kInvalidIdInformation);
  EXPECT_EQ(e.offset, 8u);
  EXPECT_EQ(std::string(e.detail), "ID data length does not match ID type.");
  e = ParseFails(PayloadType::kId, "00000014 05 00 0000 c0a80001 c0a80001 c0a80001");
  EXPECT_EQ(e.code, NotifyType::kInvalidIdInformation);
  CheckEveryPrefix(
      {{"01 11 01f4", kMalformed, "Unable to read ID header."},
       {"c0a80001", NotifyType::kInvalidIdInformation, "ID data length does not match ID type."}},
      BodyParser(PayloadType::kId));
}

TEST(PayloadsTest, OpaquePayloads) {
  auto hash = ParseOne<HashPayload>(PayloadType::kHash,
                                    "00000018 000102030405060708090a0b0c0d0e0f10111213");
  EXPECT_EQ(hash.data.size(), 20u);
  auto sig = ParseOne<SignaturePayload>(PayloadType::kSignature, "00000007 aabbcc");
  EXPECT_EQ(sig.data, H("aabbcc"));
  auto nonce =
      ParseOne<NoncePayload>(PayloadType::kNonce, "00000014 00112233445566778899aabbccddeeff");
  EXPECT_EQ(nonce.data.size(), 16u);
  auto vid = ParseOne<VendorIdPayload>(PayloadType::kVendorId,
                                       "00000014 12f5f28c457168a9702d9fe274cc0100");
  EXPECT_EQ(vid.data, H("12f5f28c457168a9702d9fe274cc0100"));
  auto empty = ParseOne<VendorIdPayload>(PayloadType::kVendorId, "00000004");
  EXPECT_TRUE(empty.data.empty());
}

TEST(PayloadsTest, CertAndCertRequest) {
  auto cert = ParseOne<CertPayload>(PayloadType::kCert, "0000000a 04 3082000100");
  EXPECT_EQ(cert.encoding, 4);
  EXPECT_EQ(cert.data, H("3082000100"));
  auto cr = ParseOne<CertRequestPayload>(PayloadType::kCertRequest, "00000005 04");
  EXPECT_EQ(cr.cert_type, 4);
  EXPECT_TRUE(cr.authority.empty());
  auto cr2 = ParseOne<CertRequestPayload>(PayloadType::kCertRequest, "00000007 04 3000");
  EXPECT_EQ(cr2.authority, H("3000"));
  ParseError e = ParseFails(PayloadType::kCert, "00000004");
  EXPECT_EQ(std::string(e.detail), "Unable to read certificate encoding.");
  EXPECT_EQ(e.offset, 4u);
  e = ParseFails(PayloadType::kCertRequest, "00000004");
  EXPECT_EQ(std::string(e.detail), "Unable to read certificate type.");
}

TEST(PayloadsTest, NotificationInitialContact) {
  auto n = ParseOne<NotificationPayload>(
      PayloadType::kNotification, "0000001c 00000001 01 10 6002 0102030405060708 1112131415161718");
  EXPECT_EQ(n.doi, kDoiIpsec);
  EXPECT_EQ(n.protocol_id, 1);
  EXPECT_EQ(n.type, static_cast<uint16_t>(NotifyType::kInitialContact));
  EXPECT_EQ(n.spi, H("0102030405060708 1112131415161718"));
  EXPECT_TRUE(n.data.empty());
}

TEST(PayloadsTest, NotificationResponderLifetime) {
  auto n = ParseOne<NotificationPayload>(
      PayloadType::kNotification,
      "0000001c 00000001 03 04 6000 c0ffee01 800b0001 000c0004 00000e10");
  EXPECT_EQ(n.protocol_id, 3);
  EXPECT_EQ(n.spi, H("c0ffee01"));
  EXPECT_EQ(n.type, 24576);
  EXPECT_EQ(n.data, H("800b0001 000c0004 00000e10"));
}

TEST(PayloadsTest, NotificationNoSpiAnyDoi) {
  auto n = ParseOne<NotificationPayload>(PayloadType::kNotification,
                                         "0000000e 00000000 01 00 000e 0102");
  EXPECT_EQ(n.doi, 0u);
  EXPECT_TRUE(n.spi.empty());
  EXPECT_EQ(n.type, static_cast<uint16_t>(NotifyType::kNoProposalChosen));
  EXPECT_EQ(n.data, H("0102"));
}

TEST(PayloadsTest, NotificationEveryPrefix) {
  CheckEveryPrefix({{"00000001", kMalformed, "Unable to read DOI."},
                    {"01", kMalformed, "Unable to read protocol ID."},
                    {"10", kMalformed, "Unable to read SPI size."},
                    {"8d28", kMalformed, "Unable to read notify type."},
                    {"0102030405060708 1112131415161718", kMalformed, "Unable to read SPI."},
                    {"7fff0001", kMalformed, "DPD notification data must be 4 bytes."}},
                   BodyParser(PayloadType::kNotification));
}

TEST(PayloadsTest, DeleteIsakmpSa) {
  auto d = ParseOne<DeletePayload>(
      PayloadType::kDelete, "0000001c 00000001 01 10 0001 0102030405060708 1112131415161718");
  EXPECT_EQ(d.protocol_id, 1);
  EXPECT_EQ(d.spi_size, 16);
  ASSERT_EQ(d.spis.size(), 1u);
  EXPECT_EQ(d.spis[0], H("0102030405060708 1112131415161718"));
}

TEST(PayloadsTest, DeleteSeveralEspSpis) {
  auto d = ParseOne<DeletePayload>(PayloadType::kDelete,
                                   "00000014 00000001 03 04 0002 11111111 22222222");
  EXPECT_EQ(d.protocol_id, 3);
  EXPECT_EQ(d.spis, (std::vector<Bytes>{H("11111111"), H("22222222")}));
}

TEST(PayloadsTest, DeleteErrors) {
  ParseError e = ParseFails(PayloadType::kDelete, "00000014 00000001 03 04 0003 11111111 22222222");
  EXPECT_EQ(e.code, kMalformed);
  EXPECT_EQ(e.offset, 10u);
  EXPECT_EQ(std::string(e.detail), "Delete SPI count does not match length.");
  e = ParseFails(PayloadType::kDelete, "0000000c 00000001 03 00 ffff");
  EXPECT_EQ(std::string(e.detail), "Delete SPI size is zero.");
  CheckEveryPrefix({{"00000001", kMalformed, "Unable to read DOI."},
                    {"03", kMalformed, "Unable to read protocol ID."},
                    {"04", kMalformed, "Unable to read SPI size."},
                    {"0002", kMalformed, "Unable to read number of SPIs."},
                    {"11111111 22222222", kMalformed, "Delete SPI count does not match length."}},
                   BodyParser(PayloadType::kDelete));
}

TEST(PayloadsTest, NatDBothNumbers) {
  const char kHex[] = "00000018 000102030405060708090a0b0c0d0e0f10111213";
  auto rfc = ParseOne<NatDPayload>(PayloadType::kNatD, kHex);
  auto draft = ParseOne<NatDPayload>(PayloadType::kNatDDraft, kHex);
  EXPECT_EQ(rfc, draft);
  EXPECT_EQ(rfc.hash.size(), 20u);
}

TEST(PayloadsTest, NatOaBothNumbers) {
  auto v4 = ParseOne<NatOaPayload>(PayloadType::kNatOa, "0000000c 01 000000 c0a80001");
  EXPECT_EQ(v4.id_type, 1);
  EXPECT_EQ(v4.address, H("c0a80001"));
  auto draft = ParseOne<NatOaPayload>(PayloadType::kNatOaDraft, "0000000c 01 000000 c0a80001");
  EXPECT_EQ(draft, v4);
  auto v6 = ParseOne<NatOaPayload>(PayloadType::kNatOa,
                                   "00000018 05 000000 20010db8000000000000000000000001");
  EXPECT_EQ(v6.address.size(), 16u);
  ParseError e = ParseFails(PayloadType::kNatOa, "0000000b 01 000000 c0a800");
  EXPECT_EQ(std::string(e.detail), "NAT-OA address length does not match ID type.");
  e = ParseFails(PayloadType::kNatOaDraft, "00000007 01 0000");
  EXPECT_EQ(std::string(e.detail), "Unable to read NAT-OA header.");
}

TEST(PayloadsTest, DraftNatNumbersRoundTripInAChain) {
  // VID -> NAT-D(130) -> NAT-D(130): the wire numbers must survive re-serialization.
  Bytes b = H("82000008 01020304 82000008 aaaaaaaa 00000008 bbbbbbbb");
  auto r = ParsePayloads(PayloadType::kVendorId, b);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].type, PayloadType::kNatDDraft);
  EXPECT_TRUE(std::holds_alternative<NatDPayload>((*r)[1].body));
  EXPECT_EQ(SerializePayloads(*r), b);
  // Built from values: draft_nat picks 130.
  std::vector<Payload> chain = {MakePayload(VendorIdPayload{H("01020304")}),
                                MakePayload(NatDPayload{H("aaaaaaaa")}, /*draft_nat=*/true),
                                MakePayload(NatDPayload{H("bbbbbbbb")}, true)};
  EXPECT_EQ(SerializePayloads(chain), b);
}

TEST(PayloadsTest, UnknownTypesAreKeptAndSkipped) {
  // Type 200, then a FRAGMENT (132, kept opaque), then a VID.
  Bytes b = H("84000006 abcd 0d000005 01 00000008 01020304");
  auto r = ParsePayloads(static_cast<PayloadType>(200), b);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].type, static_cast<PayloadType>(200));
  EXPECT_EQ(std::get<UnknownPayload>((*r)[0].body).body, H("abcd"));
  EXPECT_EQ((*r)[1].type, PayloadType::kFragment);
  EXPECT_EQ((*r)[1].offset, 6u);
  EXPECT_EQ((*r)[2].offset, 11u);
  EXPECT_EQ(std::get<VendorIdPayload>((*r)[2].body).data, H("01020304"));
  EXPECT_EQ(SerializePayloads(*r), b);
}

TEST(PayloadsTest, ProposalOutsideSa) {
  ParseError e = ParseFails(PayloadType::kProposal, "00000008 01010000", 28);
  EXPECT_EQ(e.code, NotifyType::kInvalidPayloadType);
  EXPECT_EQ(e.offset, 28u);
}

TEST(PayloadsTest, ZeroLengthPayload) {
  ParseError e = ParseFails(PayloadType::kVendorId, "0d000008 01020304 00000000", 28);
  EXPECT_EQ(e.code, kMalformed);
  EXPECT_EQ(e.offset, 36u);
  EXPECT_EQ(std::string(e.detail), "Payload length too small.");
  e = ParseFails(PayloadType::kVendorId, "00000003 01");
  EXPECT_EQ(std::string(e.detail), "Payload length too small.");
}

TEST(PayloadsTest, LengthPastEnd) {
  ParseError e = ParseFails(PayloadType::kHash, "0b000008 01020304 00000009 01020304", 28);
  EXPECT_EQ(e.code, kMalformed);
  EXPECT_EQ(e.offset, 36u);
  EXPECT_EQ(std::string(e.detail), "Payload length past end of message.");
}

TEST(PayloadsTest, MissingNextPayload) {
  ParseError e = ParseFails(PayloadType::kHash, "0b000008 01020304 0000", 28);
  EXPECT_EQ(e.offset, 36u);
  EXPECT_EQ(std::string(e.detail), "Unable to read generic payload header.");
}

TEST(PayloadsTest, PaddingAfterLastPayloadIsIgnored) {
  auto r = ParsePayloads(PayloadType::kHash, H("00000008 01020304 000000"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->size(), 1u);
  auto none = ParsePayloads(PayloadType::kNone, H("0000"));
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(PayloadsTest, TooManyPayloads) {
  for (size_t n : {64u, 65u}) {
    Bytes b;
    for (size_t i = 0; i < n; ++i) {
      Bytes vid = H(i + 1 == n ? "00000004" : "0d000004");
      b.insert(b.end(), vid.begin(), vid.end());
    }
    auto r = ParsePayloads(PayloadType::kVendorId, b, 28);
    if (n == 64) {
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->size(), 64u);
    } else {
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code, kMalformed);
      EXPECT_EQ(r.error().offset, 28u + 64 * 4);
      EXPECT_EQ(std::string(r.error().detail), "Too many payloads.");
    }
  }
}

TEST(PayloadsTest, TypeOfAndMakePayload) {
  EXPECT_EQ(TypeOf(SaPayload{}), PayloadType::kSa);
  EXPECT_EQ(TypeOf(NotificationPayload{}), PayloadType::kNotification);
  EXPECT_EQ(TypeOf(NatDPayload{}), PayloadType::kNatD);
  EXPECT_EQ(TypeOf(NatDPayload{}, true), PayloadType::kNatDDraft);
  EXPECT_EQ(TypeOf(NatOaPayload{}), PayloadType::kNatOa);
  EXPECT_EQ(TypeOf(NatOaPayload{}, true), PayloadType::kNatOaDraft);
  EXPECT_EQ(TypeOf(UnknownPayload{}), PayloadType::kNone);
  EXPECT_EQ(MakePayload(DeletePayload{}).type, PayloadType::kDelete);
}

// Parse(Serialize(x)) == x for a chain holding every payload kind.
TEST(PayloadsTest, RoundTripEveryKind) {
  SaPayload sa;
  Proposal p;
  p.transforms = {Transform{1, 1, {Attribute::Tv(1, 5), Attribute::Integer(12, 28800)}}};
  sa.proposals = {p};
  DeletePayload del;
  del.spis = {H("01020304"), H("05060708"), H("090a0b0c")};
  std::vector<Payload> chain = {
      MakePayload(sa),
      MakePayload(KeyExchangePayload{Bytes(256, 0x5a)}),
      MakePayload(NoncePayload{Bytes(20, 0x11)}),
      MakePayload(IdPayload{2, 17, 500, H("6869")}),
      MakePayload(CertPayload{4, H("30820101")}),
      MakePayload(CertRequestPayload{4, {}}),
      MakePayload(HashPayload{Bytes(32, 0x22)}),
      MakePayload(SignaturePayload{Bytes(64, 0x33)}),
      MakePayload(NotificationPayload{1, 3, H("c0ffee01"), 24576, H("800b0001")}),
      MakePayload(NotificationPayload{1, 1, Bytes(16, 1), 36137, H("12345678")}),
      MakePayload(del),
      MakePayload(VendorIdPayload{H("afcad71368a1f1c96b8696fc77570100")}),
      MakePayload(NatDPayload{Bytes(20, 0x44)}),
      MakePayload(NatOaPayload{5, Bytes(16, 0x55)}, true),
      Payload{static_cast<PayloadType>(250), UnknownPayload{H("0102")}},
  };
  std::vector<uint32_t> offsets;
  Bytes bytes = SerializePayloads(chain, &offsets);
  auto back = ParsePayloads(PayloadType::kSa, bytes, 28);
  ASSERT_TRUE(back.has_value()) << back.error().detail << " at " << back.error().offset;
  EXPECT_EQ(*back, chain);
  ASSERT_EQ(offsets.size(), chain.size());
  for (size_t i = 0; i < chain.size(); ++i) EXPECT_EQ((*back)[i].offset, offsets[i]);
  EXPECT_EQ(SerializePayloads(*back), bytes);
}

}  // namespace
}  // namespace ikepulse::isakmp
