// Real strongSwan 5.9.8 IKEv2 datagrams (strongswan_capture.h): parsed field by field and
// re-serialized byte for byte.
#include <gtest/gtest.h>

#include "ikev2/ikev2_test_util.h"
#include "ikev2/message.h"
#include "ikev2/strongswan_capture.h"

namespace ikepulse::ikev2 {
namespace {

using testing::H;

std::vector<uint16_t> NotifyTypes(const Message& m) {
  std::vector<uint16_t> out;
  for (const Payload& p : m.payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body)) out.push_back(n->type);
  return out;
}

TEST(Ikev2StrongswanCaptureTest, IkeSaInitRequest) {
  const Bytes wire = H(testing::kStrongswanInitRequest);
  ASSERT_EQ(wire.size(), 464u);
  auto m = ParseMessage(wire);
  ASSERT_TRUE(m.has_value()) << m.error().detail << " at " << m.error().offset;
  const Header& h = m->header;
  EXPECT_EQ(Bytes(h.spi_i.begin(), h.spi_i.end()), H("96932e13520385d1"));
  EXPECT_EQ(h.spi_r, Spi{});
  EXPECT_EQ(h.exchange, ExchangeType::kIkeSaInit);
  EXPECT_EQ(h.flags, kFlagInitiator);
  EXPECT_EQ(h.message_id, 0u);
  EXPECT_EQ(h.length, 464u);

  ASSERT_EQ(m->payloads.size(), 8u);
  const auto& sa = std::get<SaPayload>(m->payloads[0].body);
  ASSERT_EQ(sa.proposals.size(), 1u);
  const Proposal& p = sa.proposals[0];
  EXPECT_EQ(p.protocol_id, static_cast<uint8_t>(ProtocolId::kIke));
  EXPECT_TRUE(p.spi.empty());
  ASSERT_EQ(p.transforms.size(), 4u);
  EXPECT_EQ(p.transforms[0].id, static_cast<uint16_t>(EncrId::kAesCbc));
  EXPECT_EQ(p.transforms[0].key_length(), 128);
  EXPECT_EQ(p.transforms[1].id, static_cast<uint16_t>(IntegId::kHmacSha2_256_128));
  EXPECT_EQ(p.transforms[2].id, static_cast<uint16_t>(PrfId::kHmacSha2_256));
  EXPECT_EQ(p.transforms[3].id, static_cast<uint16_t>(DhGroup::kModp2048));

  const auto& ke = std::get<KePayload>(m->payloads[1].body);
  EXPECT_EQ(ke.dh_group, 14);
  EXPECT_EQ(ke.data.size(), 256u);
  EXPECT_EQ(m->payloads[2].type, PayloadType::kNonce);
  EXPECT_EQ(std::get<NoncePayload>(m->payloads[2].body).data.size(), 32u);
  EXPECT_EQ(NotifyTypes(*m), (std::vector<uint16_t>{16388, 16389, 16430, 16431, 16406}));
  // SIGNATURE_HASH_ALGORITHMS lists SHA2-256, SHA2-384, SHA2-512 and Identity (RFC 7427).
  EXPECT_EQ(FindNotify(m->payloads, NotifyType::kSignatureHashAlgorithms)->data,
            H("0002 0003 0004 0005"));
  EXPECT_EQ(FindNotify(m->payloads, NotifyType::kNatDetectionSourceIp)->data.size(), 20u);

  EXPECT_EQ(BuildMessage(m->header, m->payloads), wire);
}

TEST(Ikev2StrongswanCaptureTest, IkeSaInitResponse) {
  const Bytes wire = H(testing::kStrongswanInitResponse);
  auto m = ParseMessage(wire);
  ASSERT_TRUE(m.has_value()) << m.error().detail << " at " << m.error().offset;
  EXPECT_EQ(m->header.flags, kFlagResponse);
  EXPECT_EQ(Bytes(m->header.spi_i.begin(), m->header.spi_i.end()), H("96932e13520385d1"));
  EXPECT_NE(m->header.spi_r, Spi{});
  const auto* sa = Find<SaPayload>(m->payloads);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 1u);
  EXPECT_EQ(sa->proposals[0].number, 1);
  EXPECT_EQ(NotifyTypes(*m), (std::vector<uint16_t>{16388, 16389, 16430, 16431, 16418, 16404}));
  EXPECT_EQ(BuildMessage(m->header, m->payloads), wire);
}

TEST(Ikev2StrongswanCaptureTest, IkeAuthRequestSkLayout) {
  const Bytes wire = H(testing::kStrongswanAuthRequest);
  ASSERT_EQ(wire.size(), 288u);
  auto m = ParseMessage(wire);
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_EQ(m->header.exchange, ExchangeType::kIkeAuth);
  EXPECT_EQ(m->header.message_id, 1u);
  ASSERT_EQ(m->payloads.size(), 1u);
  const auto& sk = std::get<EncryptedPayload>(m->payloads[0].body);
  EXPECT_EQ(sk.inner_next, PayloadType::kIdi);
  // AES-CBC (IV 16) with HMAC-SHA2-256-128 (ICV 16).
  auto layout = LocateSk(wire, 16, 16);
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->payload_offset, 28u);
  EXPECT_EQ(layout->iv_offset, 32u);
  EXPECT_EQ(layout->ciphertext_offset, 48u);
  EXPECT_EQ(layout->icv_offset, 272u);
  EXPECT_EQ(layout->end, 288u);
  EXPECT_EQ(layout->Ciphertext(wire).size() % 16, 0u);
  EXPECT_EQ(BuildMessage(m->header, m->payloads), wire);
}

}  // namespace
}  // namespace ikepulse::ikev2
