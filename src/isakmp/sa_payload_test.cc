// SA / Proposal / Transform / attribute codec tests, and the Main Mode 1 golden message.
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
constexpr NotifyType kSyntax = NotifyType::kBadProposalSyntax;

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void PatchLength(Bytes& b, size_t at, size_t len) {
  b[at + 2] = static_cast<uint8_t>(len >> 8);
  b[at + 3] = static_cast<uint8_t>(len);
}

// A one-payload SA chain around `sa_body` (the generic header's length matches).
Bytes SaChain(const Bytes& sa_body) {
  Bytes out = Cat({H("00000000"), sa_body});
  PatchLength(out, 0, out.size());
  return out;
}

std::optional<ParseError> ParseSaChain(const Bytes& sa_body) {
  auto r = ParsePayloads(PayloadType::kSa, SaChain(sa_body));
  if (r) return std::nullopt;
  return r.error();
}

ParseError ExpectError(const Bytes& chain, PayloadType first, uint32_t base = 0) {
  auto r = ParsePayloads(first, chain, base);
  EXPECT_FALSE(r.has_value());
  return r ? ParseError{} : r.error();
}

Transform Mm1Transform() {
  Transform t;
  t.number = 1;
  t.id = kTransformKeyIke;
  t.attributes = {
      Attribute::Tv(1, 7),           Attribute::Tv(14, 128), Attribute::Tv(2, 2),
      Attribute::Tv(3, 1),           Attribute::Tv(4, 14),   Attribute::Tv(11, 1),
      Attribute::Integer(12, 86400),
  };
  return t;
}

TEST(SaPayloadTest, ParsesMainMode1Message) {
  Bytes msg = Cat({H(testing::kMm1Header), H(testing::kMm1Body)});
  ASSERT_EQ(msg.size(), 128u);
  auto h = ParseHeader(msg);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->length, 128u);
  ByteSpan body = ByteSpan(msg).subspan(kHeaderSize, h->length - kHeaderSize);
  auto chain = ParsePayloads(h->next_payload, body, kHeaderSize);
  ASSERT_TRUE(chain.has_value()) << chain.error().detail;
  ASSERT_EQ(chain->size(), 3u);

  const Payload& sa_p = (*chain)[0];
  EXPECT_EQ(sa_p.type, PayloadType::kSa);
  EXPECT_EQ(sa_p.offset, 0u);
  EXPECT_EQ(sa_p.length, 60u);
  const SaPayload& sa = std::get<SaPayload>(sa_p.body);
  EXPECT_EQ(sa.doi, kDoiIpsec);
  EXPECT_EQ(sa.situation, kSituationIdentityOnly);
  ASSERT_EQ(sa.proposals.size(), 1u);
  const Proposal& p = sa.proposals[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.protocol_id, static_cast<uint8_t>(ProtocolId::kIsakmp));
  EXPECT_TRUE(p.spi.empty());
  ASSERT_EQ(p.transforms.size(), 1u);
  EXPECT_EQ(p.transforms[0], Mm1Transform());
  const Transform& t = p.transforms[0];
  EXPECT_EQ(t.Find(static_cast<uint16_t>(P1Attr::kEncryptionAlgorithm))->AsInteger(),
            static_cast<uint64_t>(P1Encryption::kAes));
  EXPECT_EQ(t.Find(static_cast<uint16_t>(P1Attr::kKeyLength))->AsInteger(), 128u);
  EXPECT_EQ(t.Find(static_cast<uint16_t>(P1Attr::kGroupDescription))->AsInteger(), 14u);
  const Attribute* life = t.Find(static_cast<uint16_t>(P1Attr::kLifeDuration));
  ASSERT_NE(life, nullptr);
  EXPECT_FALSE(life->tv);
  EXPECT_EQ(life->AsInteger(), 86400u);
  EXPECT_EQ(t.Find(static_cast<uint16_t>(P1Attr::kPrf)), nullptr);

  EXPECT_EQ((*chain)[1].type, PayloadType::kVendorId);
  EXPECT_EQ((*chain)[1].offset, 60u);
  EXPECT_EQ(std::get<VendorIdPayload>((*chain)[1].body).data,
            H("afcad71368a1f1c96b8696fc77570100"));
  EXPECT_EQ((*chain)[2].offset, 80u);
  EXPECT_EQ((*chain)[2].length, 20u);
  EXPECT_EQ(std::get<VendorIdPayload>((*chain)[2].body).data,
            H("4a131c81070358455c5728f20e95452f"));
  // The received SA body (SAi_b) is reachable for HASH_I.
  EXPECT_EQ(sa_p.BodyIn(body).size(), 56u);
  EXPECT_EQ(Bytes(sa_p.BodyIn(body).begin(), sa_p.BodyIn(body).end()), SerializeBody(sa));

  // Byte-identical re-serialization.
  std::vector<uint32_t> offsets;
  EXPECT_EQ(SerializePayloads(*chain, &offsets), Bytes(body.begin(), body.end()));
  EXPECT_EQ(offsets, (std::vector<uint32_t>{0, 60, 80}));
}

TEST(SaPayloadTest, BuildsMainMode1FromValues) {
  SaPayload sa;
  Proposal p;
  p.transforms = {Mm1Transform()};
  sa.proposals = {p};
  std::vector<Payload> chain = {
      MakePayload(sa),
      MakePayload(VendorIdPayload{H("afcad71368a1f1c96b8696fc77570100")}),
      MakePayload(VendorIdPayload{H("4a131c81070358455c5728f20e95452f")}),
  };
  Header h;
  h.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.next_payload = chain[0].type;
  h.exchange = ExchangeType::kIdentityProtection;
  EXPECT_EQ(BuildMessage(h, SerializePayloads(chain)),
            Cat({H(testing::kMm1Header), H(testing::kMm1Body)}));
}

// Every prefix of the whole message, with the header length made to match the prefix (a
// sender that truncates consistently): the chain parser must name the missing field.
TEST(SaPayloadTest, Mm1EveryPrefixWithConsistentLength) {
  const char kHdr[] = "Unable to read ISAKMP header.";
  const char kGen[] = "Unable to read generic payload header.";
  const char kPast[] = "Payload length past end of message.";
  std::vector<Fragment> frags = {
      {"0102030405060708 0000000000000000 01 10 02 00 00000000 00000080", kMalformed, kHdr},
      {"0d00003c", kMalformed, kGen},
      {ToHex(ByteSpan(H(testing::kMm1Body)).subspan(4, 56)), kMalformed, kPast},  // SA body
  };
  frags.push_back({"0d000014", kMalformed, kGen});
  frags.push_back({"afcad71368a1f1c96b8696fc77570100", kMalformed, kPast});
  frags.push_back({"00000014", kMalformed, kGen});
  frags.push_back({"4a131c81070358455c5728f20e95452f", kMalformed, kPast});
  CheckEveryPrefix(frags, [](ByteSpan prefix) -> std::optional<ParseError> {
    Bytes m(prefix.begin(), prefix.end());
    if (m.size() >= kHeaderSize) {
      ByteWriter w(m);
      w.PatchU32(24, static_cast<uint32_t>(m.size()));
    }
    auto h = ParseHeader(m);
    if (!h) return h.error();
    auto c = ParsePayloads(h->next_payload, ByteSpan(m).subspan(kHeaderSize), kHeaderSize);
    if (!c) return c.error();
    return std::nullopt;
  });
}

TEST(SaPayloadTest, SaBodyEveryPrefix) {
  Bytes body = H(testing::kMm1Body);
  std::vector<Fragment> frags = {
      {"00000001", kMalformed, "Unable to read DOI."},
      {"00000001", kMalformed, "Unable to read situation."},
      {"00000030", kSyntax, "Unable to read proposal header."},
      {ToHex(ByteSpan(body).subspan(16, 44)), kSyntax, "Proposal length past end of SA."},
  };
  CheckEveryPrefix(
      frags, [](ByteSpan prefix) { return ParseSaChain(Bytes(prefix.begin(), prefix.end())); });
}

// Every prefix of a proposal whose own length field follows the prefix.
TEST(SaPayloadTest, ProposalEveryPrefix) {
  std::vector<Fragment> frags = {
      {"00000000", kSyntax, "Unable to read proposal header."},
      {"01 03 04 01", kSyntax, "Proposal length too small."},
      {"11223344", kSyntax, "Unable to read SPI."},
      {"00000014", kSyntax, "Unable to read transform header."},
      {"01 0c 0000 80010001 80020002 800400 01", kSyntax, "Transform length past end of proposal."},
  };
  // The SPI fragment is 4 bytes: a prefix that ends inside it has spi_size > the room left.
  CheckEveryPrefix(frags, [](ByteSpan prefix) {
    Bytes p(prefix.begin(), prefix.end());
    if (p.size() >= 4) PatchLength(p, 0, p.size());
    return ParseSaChain(Cat({H("00000001 00000001"), p}));
  });
}

TEST(SaPayloadTest, AttributeTruncation) {
  auto with_attrs = [](const std::string& attrs) {
    Bytes t = Cat({H("00000000 01 01 0000"), H(attrs)});
    PatchLength(t, 0, t.size());
    Bytes p = Cat({H("00000000 01 01 00 01"), t});
    PatchLength(p, 0, p.size());
    return ParseSaChain(Cat({H("00000001 00000001"), p}));
  };
  EXPECT_FALSE(with_attrs("").has_value());  // a transform without attributes is fine
  EXPECT_FALSE(with_attrs("80010007").has_value());
  auto e = with_attrs("80010007 8002");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, kSyntax);
  EXPECT_EQ(std::string(e->detail), "Unable to read attribute.");
  EXPECT_EQ(e->offset, 4u + 8 + 8 + 8 + 4);
  e = with_attrs("000c0004 000151");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::string(e->detail), "Attribute length past end of transform.");
  EXPECT_EQ(e->offset, 4u + 8 + 8 + 8);
}

TEST(SaPayloadTest, UnsupportedDoi) {
  ParseError e = ExpectError(SaChain(H("00000002 00000001 00000014 01010001 00000008 01010000")),
                             PayloadType::kSa, 28);
  EXPECT_EQ(e.code, NotifyType::kDoiNotSupported);
  EXPECT_EQ(e.offset, 32u);
  EXPECT_EQ(std::string(e.detail), "Unsupported DOI.");
}

TEST(SaPayloadTest, UnsupportedSituation) {
  auto e = ParseSaChain(H("00000001 00000002 00000014 01010001 00000008 01010000"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, NotifyType::kSituationNotSupported);
  EXPECT_EQ(e->offset, 8u);
}

TEST(SaPayloadTest, BadProposalNesting) {
  // The proposal's next payload says "transform" (3) instead of 2 or 0.
  ParseError e = ExpectError(SaChain(H("00000001 00000001 03000010 01010001 00000008 01010000")),
                             PayloadType::kSa, 28);
  EXPECT_EQ(e.code, kSyntax);
  EXPECT_EQ(e.offset, 28u + 4 + 8);
  EXPECT_EQ(std::string(e.detail), "Bad proposal nesting.");
  // "More proposals" but the SA ends.
  auto e2 = ParseSaChain(H("00000001 00000001 02000010 01010001 00000008 01010000"));
  ASSERT_TRUE(e2.has_value());
  EXPECT_EQ(std::string(e2->detail), "Unable to read proposal header.");
  EXPECT_EQ(e2->offset, 4u + 8 + 16);
}

TEST(SaPayloadTest, BadTransformNesting) {
  auto e = ParseSaChain(H("00000001 00000001 00000010 01010001 02000008 01010000"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, kSyntax);
  EXPECT_EQ(e->offset, 4u + 8 + 8);
  EXPECT_EQ(std::string(e->detail), "Bad transform nesting.");
}

TEST(SaPayloadTest, TransformCountMismatch) {
  auto e = ParseSaChain(H("00000001 00000001 00000010 01010002 00000008 01010000"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, kSyntax);
  EXPECT_EQ(e->offset, 4u + 8 + 7);
  EXPECT_EQ(std::string(e->detail), "Transform count mismatch.");
}

TEST(SaPayloadTest, TransformRunningPastProposal) {
  // Transform says 12 bytes; the proposal holds only 8 of them (the SA holds all 12).
  auto e = ParseSaChain(H("00000001 00000001 00000010 01010001 0000000c 01010000 80010001"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->offset, 4u + 8 + 8);
  EXPECT_EQ(std::string(e->detail), "Transform length past end of proposal.");
  e = ParseSaChain(H("00000001 00000001 00000010 01010001 0000000c 01010000"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::string(e->detail), "Transform length past end of proposal.");
}

TEST(SaPayloadTest, TrailingDataInSaOrProposal) {
  auto e = ParseSaChain(H("00000001 00000001 00000010 01010001 00000008 01010000 00"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::string(e->detail), "Data after last proposal.");
  e = ParseSaChain(H("00000001 00000001 00000011 01010001 00000008 01010000 00"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::string(e->detail), "Data after last transform.");
}

TEST(SaPayloadTest, SmallLengths) {
  auto e = ParseSaChain(H("00000001 00000001 00000007 01010001 00000008 01010000"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::string(e->detail), "Proposal length too small.");
  e = ParseSaChain(H("00000001 00000001 00000010 01010001 00000000 01010000"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::string(e->detail), "Transform length too small.");
}

Bytes MinimalProposal(bool last) {
  return H(last ? "00000010 01010001 00000008 01010000" : "02000010 01010001 00000008 01010000");
}

TEST(SaPayloadTest, ProposalLimit) {
  for (size_t n : {64u, 65u}) {
    Bytes body = H("00000001 00000001");
    for (size_t i = 0; i < n; ++i) body = Cat({body, MinimalProposal(i + 1 == n)});
    auto e = ParseSaChain(body);
    if (n == 64) {
      EXPECT_FALSE(e.has_value());
    } else {
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->code, kMalformed);
      EXPECT_EQ(e->offset, 4u + 8 + 64 * 16);
      EXPECT_EQ(std::string(e->detail), "Too many proposals.");
    }
  }
}

TEST(SaPayloadTest, TransformLimit) {
  for (size_t n : {64u, 65u}) {
    Bytes p = H("00000000 01010000");
    p[7] = static_cast<uint8_t>(n);
    for (size_t i = 0; i < n; ++i)
      p = Cat({p, H(i + 1 == n ? "00000008" : "03000008"), H("01010000")});
    PatchLength(p, 0, p.size());
    auto e = ParseSaChain(Cat({H("00000001 00000001"), p}));
    if (n == 64) {
      EXPECT_FALSE(e.has_value());
    } else {
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->code, kMalformed);
      EXPECT_EQ(std::string(e->detail), "Too many transforms.");
    }
  }
}

TEST(SaPayloadTest, AttributeLimit) {
  for (size_t n : {64u, 65u}) {
    Bytes t = H("00000000 01010000");
    for (size_t i = 0; i < n; ++i) t = Cat({t, H("80010001")});
    PatchLength(t, 0, t.size());
    Bytes p = Cat({H("00000000 01010001"), t});
    PatchLength(p, 0, p.size());
    auto e = ParseSaChain(Cat({H("00000001 00000001"), p}));
    if (n == 64) {
      EXPECT_FALSE(e.has_value());
    } else {
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->code, kMalformed);
      EXPECT_EQ(std::string(e->detail), "Too many attributes.");
    }
  }
}

TEST(SaPayloadTest, QuickModeSaRoundTrip) {
  SaPayload sa;
  Proposal esp_aes;
  esp_aes.number = 1;
  esp_aes.protocol_id = static_cast<uint8_t>(ProtocolId::kEsp);
  esp_aes.spi = H("c0ffee01");
  Transform t1;
  t1.number = 1;
  t1.id = static_cast<uint8_t>(EspTransformId::kAes);
  t1.attributes = {Attribute::Tv(1, 1),           Attribute::Integer(2, 3600), Attribute::Tv(4, 1),
                   Attribute::Tv(5, 2),           Attribute::Tv(6, 256),       Attribute::Tv(1, 2),
                   Attribute::Integer(2, 4608000)};
  Transform t2;
  t2.number = 2;
  t2.id = static_cast<uint8_t>(EspTransformId::k3Des);
  t2.attributes = {Attribute::Tv(4, 1), Attribute::Tv(5, 1)};
  esp_aes.transforms = {t1, t2};
  Proposal ah;  // same proposal number: ESP AND AH
  ah.number = 1;
  ah.protocol_id = static_cast<uint8_t>(ProtocolId::kAh);
  ah.spi = H("0badcafe");
  Transform t3;
  t3.id = 3;
  t3.attributes = {Attribute::Tlv(3, H("0102030405"))};
  ah.transforms = {t3};
  sa.proposals = {esp_aes, ah};

  std::vector<Payload> chain = {MakePayload(sa), MakePayload(NoncePayload{Bytes(16, 0xaa)})};
  Bytes bytes = SerializePayloads(chain);
  auto back = ParsePayloads(PayloadType::kSa, bytes);
  ASSERT_TRUE(back.has_value()) << back.error().detail;
  EXPECT_EQ(*back, chain);
  EXPECT_EQ(SerializePayloads(*back), bytes);
  const Transform& bt = std::get<SaPayload>((*back)[0].body).proposals[0].transforms[0];
  EXPECT_EQ(bt.Find(2)->AsInteger(), 3600u);          // the first life duration (seconds)
  EXPECT_EQ(bt.attributes[6].AsInteger(), 4608000u);  // then kilobytes, as a TLV
  // The proposal SPI and nesting on the wire.
  EXPECT_EQ(ToHex(ByteSpan(bytes).subspan(12, 12)), "0200004401030402c0ffee01");
}

TEST(AttributeTest, IntegerForms) {
  EXPECT_EQ(Attribute::Integer(11, 1), Attribute::Tv(11, 1));
  EXPECT_EQ(Attribute::Integer(12, 0xffff), Attribute::Tv(12, 0xffff));
  EXPECT_EQ(Attribute::Integer(12, 86400), Attribute::Tlv(12, H("00015180")));
  EXPECT_EQ(Attribute::Integer(12, uint64_t{1} << 40), Attribute::Tlv(12, H("0000010000000000")));
  EXPECT_EQ(Attribute::Tlv(12, H("0102030405060708")).AsInteger(), 0x0102030405060708u);
  EXPECT_EQ(Attribute::Tlv(12, H("010203040506070809")).AsInteger(), std::nullopt);
  EXPECT_EQ(Attribute::Tlv(12, {}).AsInteger(), std::nullopt);
  EXPECT_EQ(Attribute::Tv(1, 7).AsInteger(), 7u);
}

}  // namespace
}  // namespace ikepulse::isakmp
