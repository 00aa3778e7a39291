// SA payload tests: golden bytes written from the RFC 7296 §3.3 layouts, round trips, and
// every error of the proposal / transform / attribute nesting.
#include <gtest/gtest.h>

#include <string>

#include "ikev2/ikev2_test_util.h"
#include "ikev2/payloads.h"

namespace ikepulse::ikev2 {
namespace {

using testing::BodyParser;
using testing::Cat;
using testing::CheckEveryPrefix;
using testing::H;

constexpr NotifyType kSyntax = NotifyType::kInvalidSyntax;

// Prefixes a body with a generic header (next NONE) of the right length.
Bytes Wrap(const Bytes& body) {
  Bytes b;
  ByteWriter w(b);
  w.U16(0);
  w.U16(static_cast<uint16_t>(body.size() + 4));
  w.Append(body);
  return b;
}

// An IKE proposal as strongSwan sends it for aes128-sha256-modp2048.
constexpr char kIkeProposal[] =
    "0000002c 01 01 00 04"          // last, length 44, #1, IKE, SPI size 0, 4 transforms
    "0300000c 01 00 000c 800e0080"  // ENCR AES-CBC, Key Length 128
    "03000008 03 00 000c"           // INTEG HMAC-SHA2-256-128
    "03000008 02 00 0005"           // PRF HMAC-SHA2-256
    "00000008 04 00 000e";          // DH 14 (last)

SaPayload ParseSaOk(const Bytes& body) {
  Bytes wire = Wrap(body);
  auto r = ParsePayloads(PayloadType::kSa, wire);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
  if (!r) return {};
  EXPECT_EQ(SerializePayloads(*r), wire);
  return std::get<SaPayload>((*r)[0].body);
}

ParseError ParseSaFails(const Bytes& body) {
  auto r = ParsePayloads(PayloadType::kSa, Wrap(body), 28);
  EXPECT_FALSE(r.has_value());
  return r ? ParseError{} : r.error();
}

TEST(Ikev2SaPayloadTest, IkeProposal) {
  SaPayload sa = ParseSaOk(H(kIkeProposal));
  ASSERT_EQ(sa.proposals.size(), 1u);
  const Proposal& p = sa.proposals[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.protocol_id, static_cast<uint8_t>(ProtocolId::kIke));
  EXPECT_TRUE(p.spi.empty());
  ASSERT_EQ(p.transforms.size(), 4u);
  EXPECT_EQ(p.transforms[0].type, static_cast<uint8_t>(TransformType::kEncr));
  EXPECT_EQ(p.transforms[0].id, static_cast<uint16_t>(EncrId::kAesCbc));
  EXPECT_EQ(p.transforms[0].key_length(), 128);
  EXPECT_EQ(p.transforms[1].id, static_cast<uint16_t>(IntegId::kHmacSha2_256_128));
  EXPECT_EQ(p.transforms[1].key_length(), 0);
  EXPECT_EQ(p.transforms[2].id, static_cast<uint16_t>(PrfId::kHmacSha2_256));
  EXPECT_EQ(p.transforms[3].type, static_cast<uint8_t>(TransformType::kDh));
  EXPECT_EQ(p.transforms[3].id, static_cast<uint16_t>(DhGroup::kModp2048));
}

TEST(Ikev2SaPayloadTest, BuiltProposalSerializesToGoldenBytes) {
  Proposal p;
  p.transforms = {{1, 12, {Attribute::KeyLength(128)}}, {3, 12, {}}, {2, 5, {}}, {4, 14, {}}};
  EXPECT_EQ(SerializeBody(SaPayload{{p}}), H(kIkeProposal));
}

TEST(Ikev2SaPayloadTest, TwoProposalsEspWithSpiAndEsn) {
  SaPayload sa = ParseSaOk(Cat({
      "02000028 01 03 04 03 11223344",  // more, length 40, #1, ESP, SPI 4 bytes, 3 transforms
      "0300000c 01 00 0014 800e0100",   // ENCR AES-GCM-16, Key Length 256
      "03000008 05 00 0000",            // ESN none
      "00000008 05 00 0001",            // ESN yes
      "00000020 02 03 04 02 55667788",  // last, length 32, #2, ESP, 2 transforms
      "0300000c 01 00 000c 800e0080",   // ENCR AES-CBC 128
      "00000008 03 00 000c",            // INTEG SHA2-256
  }));
  ASSERT_EQ(sa.proposals.size(), 2u);
  EXPECT_EQ(sa.proposals[0].spi, H("11223344"));
  EXPECT_EQ(sa.proposals[0].transforms[0].key_length(), 256);
  EXPECT_EQ(sa.proposals[0].transforms[2].id, static_cast<uint16_t>(EsnId::kEsn));
  EXPECT_EQ(sa.proposals[1].number, 2);
  EXPECT_EQ(sa.proposals[1].spi, H("55667788"));
}

TEST(Ikev2SaPayloadTest, IkeRekeyProposalHasEightByteSpi) {
  SaPayload sa = ParseSaOk(Cat({"00000018 01 01 08 01 0102030405060708", "00000008 04 00 0013"}));
  EXPECT_EQ(sa.proposals[0].spi, H("0102030405060708"));
}

TEST(Ikev2SaPayloadTest, UnknownTlvAttributeRoundTrips) {
  SaPayload sa = ParseSaOk(Cat({"00000016 01 01 00 01", "0000000e 01 00 000c 0011 0002 abcd"}));
  const Attribute& a = sa.proposals[0].transforms[0].attributes[0];
  EXPECT_FALSE(a.tv);
  EXPECT_EQ(a.type, 0x11);
  EXPECT_EQ(a.data, H("abcd"));
}

TEST(Ikev2SaPayloadTest, EveryPrefixOfAProposalFails) {
  using testing::Fragment;
  CheckEveryPrefix(
      {
          {"00", kSyntax, "SA without proposals."},
          {"00002c", kSyntax, "Unable to read proposal header."},
          {"01 01 00 04 0300000c 01 00 000c 800e0080 03000008 03 00 000c 03000008 02 00 0005 "
           "00000008 04 00 000e",
           kSyntax, "Proposal length past end of SA."},
      },
      BodyParser(PayloadType::kSa));
}

TEST(Ikev2SaPayloadTest, Errors) {
  struct Case {
    std::string body;
    std::string detail;
    uint32_t offset;  // 28 + 4 (generic header) + position in the SA body
  } cases[] = {
      // Transform count that lies: 3 declared, 4 present.
      {"0000002c 01 01 00 03 0300000c 01 00 000c 800e0080 03000008 03 00 000c "
       "03000008 02 00 0005 00000008 04 00 000e",
       "Transform count mismatch.", 32 + 7},
      // 5 declared, 4 present.
      {"0000002c 01 01 00 05 0300000c 01 00 000c 800e0080 03000008 03 00 000c "
       "03000008 02 00 0005 00000008 04 00 000e",
       "Transform count mismatch.", 32 + 7},
      {"00000008 01 01 00 00", "Proposal without transforms.", 32 + 7},
      {"0000000a 01 01 00 01 0000", "Unable to read transform header.", 32 + 8},
      {"05000010 01 01 00 01 00000008 04 00 000e", "Bad proposal nesting.", 32},
      {"00000007 01 01 00 01 00000008 04 00 000e", "Proposal length too small.", 32},
      {"00000011 01 01 00 01 00000008 04 00 000e", "Proposal length past end of SA.", 32},
      {"00000010 01 01 00 01 00000008 04 00 000e 00", "Data after last proposal.", 32 + 16},
      {"02000010 01 01 00 01 00000008 04 00 000e", "Unable to read proposal header.", 32 + 16},
      {"00000010 01 01 00 01 02000008 04 00 000e", "Bad transform nesting.", 32 + 8},
      {"00000010 01 01 00 01 00000007 04 00 000e", "Transform length too small.", 32 + 8},
      {"00000010 01 01 00 01 00000009 04 00 000e", "Transform length past end of proposal.",
       32 + 8},
      {"00000014 01 01 00 01 00000008 04 00 000e 00000000", "Data after last transform.", 32 + 16},
      {"00000018 01 01 00 02 00000008 04 00 000e 00000008 04 00 000e", "Data after last transform.",
       32 + 16},
      // SPI sizes: 4 for IKE, 0 and 8 for ESP are not allowed; a short SPI.
      {"00000014 01 01 04 01 11223344 00000008 04 00 000e", "SPI size not allowed for protocol.",
       32 + 6},
      {"00000010 01 03 00 01 00000008 04 00 000e", "SPI size not allowed for protocol.", 32 + 6},
      {"00000018 01 03 08 01 0102030405060708 00000008 04 00 000e",
       "SPI size not allowed for protocol.", 32 + 6},
      {"0000000a 01 03 04 01 1122", "Unable to read SPI.", 32 + 8},
      // Attribute shapes: Key Length as TLV, TLV past the end, a truncated attribute.
      {"00000016 01 01 00 01 0000000e 01 00 000c 000e 0002 0080",
       "Key Length attribute not in TV form.", 32 + 16},
      {"00000016 01 01 00 01 0000000e 01 00 000c 0011 0003 abcd",
       "Attribute length past end of transform.", 32 + 16},
      {"00000012 01 01 00 01 0000000a 01 00 000c 800e", "Unable to read attribute.", 32 + 16},
  };
  for (const Case& c : cases) {
    ParseError e = ParseSaFails(H(c.body));
    EXPECT_EQ(e.code, kSyntax) << c.body;
    EXPECT_EQ(std::string(e.detail), c.detail) << c.body;
    EXPECT_EQ(e.offset, c.offset) << c.body;
  }
}

TEST(Ikev2SaPayloadTest, BoundsOnProposalsTransformsAndAttributes) {
  // 65 proposals of one DH transform each.
  Bytes many;
  for (int i = 0; i < 65; ++i) {
    Bytes p = Cat({"02000010 01 01 00 01 00000008 04 00 000e"});
    p[4] = static_cast<uint8_t>(i + 1);
    many.insert(many.end(), p.begin(), p.end());
  }
  EXPECT_EQ(std::string(ParseSaFails(many).detail), "Too many proposals.");
  // One proposal with 65 transforms.
  Bytes ts = H("00000000 01 01 00 41");
  for (int i = 0; i < 65; ++i) {
    Bytes t = H("03000008 04 00 000e");
    if (i == 64) t[0] = 0;
    ts.insert(ts.end(), t.begin(), t.end());
  }
  ts[2] = static_cast<uint8_t>(ts.size() >> 8);
  ts[3] = static_cast<uint8_t>(ts.size());
  EXPECT_EQ(std::string(ParseSaFails(ts).detail), "Too many transforms.");
  // One transform with 65 attributes.
  Bytes attrs = H("00000000 01 01 00 01 00000000 01 00 000c");
  for (int i = 0; i < 65; ++i) {
    Bytes a = H("80110001");
    attrs.insert(attrs.end(), a.begin(), a.end());
  }
  const size_t tlen = attrs.size() - 8;
  attrs[10] = static_cast<uint8_t>(tlen >> 8);
  attrs[11] = static_cast<uint8_t>(tlen);
  attrs[2] = static_cast<uint8_t>(attrs.size() >> 8);
  attrs[3] = static_cast<uint8_t>(attrs.size());
  EXPECT_EQ(std::string(ParseSaFails(attrs).detail), "Too many attributes.");
}

}  // namespace
}  // namespace ikepulse::ikev2
