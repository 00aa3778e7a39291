#include "ikev2/constants.h"

#include <gtest/gtest.h>

#include <string>

namespace ikepulse::ikev2 {
namespace {

TEST(Ikev2ConstantsTest, Names) {
  EXPECT_EQ(std::string(ExchangeTypeName(34)), "IKE_SA_INIT");
  EXPECT_EQ(std::string(ExchangeTypeName(37)), "INFORMATIONAL");
  EXPECT_EQ(std::string(ExchangeTypeName(99)), "UNKNOWN");
  EXPECT_EQ(std::string(PayloadTypeName(46)), "SK");
  EXPECT_EQ(std::string(PayloadTypeName(7)), "UNKNOWN");
  EXPECT_EQ(std::string(NotifyTypeName(16390)), "COOKIE");
  EXPECT_EQ(std::string(NotifyTypeName(17)), "INVALID_KE_PAYLOAD");
  EXPECT_EQ(std::string(NotifyTypeName(16430)), "IKEV2_FRAGMENTATION_SUPPORTED");
  EXPECT_EQ(std::string(NotifyTypeName(12345)), "UNKNOWN");
  EXPECT_EQ(std::string(TransformTypeName(4)), "DH");
}

TEST(Ikev2ConstantsTest, WireNumbers) {
  EXPECT_EQ(static_cast<int>(PayloadType::kSk), 46);
  EXPECT_EQ(static_cast<int>(NotifyType::kNatDetectionDestinationIp), 16389);
  EXPECT_EQ(static_cast<int>(NotifyType::kChildSaNotFound), 44);
  EXPECT_EQ(static_cast<int>(NotifyType::kSignatureHashAlgorithms), 16431);
  EXPECT_EQ(kFlagInitiator | kFlagVersion | kFlagResponse, 0x38);
}

}  // namespace
}  // namespace ikepulse::ikev2
