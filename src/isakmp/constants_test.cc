#include "isakmp/constants.h"

#include <gtest/gtest.h>

#include <string>

namespace ikepulse::isakmp {
namespace {

TEST(ConstantsTest, NotifyTypeNamesAreIosStyle) {
  EXPECT_EQ(std::string(NotifyTypeName(36136)), "R_U_THERE");
  EXPECT_EQ(std::string(NotifyTypeName(36137)), "R_U_THERE_ACK");
  EXPECT_EQ(std::string(NotifyTypeName(24578)), "INITIAL_CONTACT");
  EXPECT_EQ(std::string(NotifyTypeName(1)), "INVALID_PAYLOAD_TYPE");
  EXPECT_EQ(std::string(NotifyTypeName(16)), "PAYLOAD_MALFORMED");
  EXPECT_EQ(std::string(NotifyTypeName(14)), "NO_PROPOSAL_CHOSEN");
  EXPECT_EQ(std::string(NotifyTypeName(12345)), "UNKNOWN");
  EXPECT_EQ(std::string(NotifyTypeName(31)), "UNKNOWN");
}

TEST(ConstantsTest, PayloadAndExchangeNames) {
  EXPECT_EQ(std::string(PayloadTypeName(PayloadType::kSa)), "SA");
  EXPECT_EQ(std::string(PayloadTypeName(PayloadType::kNotification)), "NOTIFY");
  EXPECT_EQ(std::string(PayloadTypeName(PayloadType::kNatDDraft)), "NAT-D(draft)");
  EXPECT_EQ(std::string(PayloadTypeName(static_cast<PayloadType>(99))), "UNKNOWN");
  EXPECT_EQ(std::string(ExchangeTypeName(ExchangeType::kIdentityProtection)), "MAIN_MODE");
  EXPECT_EQ(std::string(ExchangeTypeName(ExchangeType::kInformational)), "INFORMATIONAL");
  EXPECT_EQ(std::string(ExchangeTypeName(ExchangeType::kQuickMode)), "QUICK_MODE");
  EXPECT_EQ(std::string(ExchangeTypeName(static_cast<ExchangeType>(99))), "UNKNOWN");
}

}  // namespace
}  // namespace ikepulse::isakmp
