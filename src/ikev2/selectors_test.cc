// Traffic Selector and Configuration payload tests (RFC 7296 §3.13, §3.15): golden bytes,
// round trips, and every count and length error.
#include <gtest/gtest.h>

#include <string>

#include "ikev2/ikev2_test_util.h"
#include "ikev2/payloads.h"

namespace ikepulse::ikev2 {
namespace {

using testing::BodyParser;
using testing::CheckEveryPrefix;
using testing::Fragment;
using testing::H;

constexpr NotifyType kSyntax = NotifyType::kInvalidSyntax;

// TSi with one IPv4 range (198.51.100.0 - 198.51.100.255, any protocol, all ports).
constexpr char kTsV4[] = "00000018 01 000000 07 00 0010 0000 ffff c6336400 c63364ff";

TsPayload ParseTsOk(PayloadType type, std::string_view hex) {
  Bytes b = H(hex);
  auto r = ParsePayloads(type, b);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
  if (!r) return {};
  EXPECT_EQ(SerializePayloads(*r), b);
  return std::get<TsPayload>((*r)[0].body);
}

void ExpectTsError(std::string_view hex, std::string_view detail, uint32_t offset) {
  auto r = ParsePayloads(PayloadType::kTsr, H(hex));
  ASSERT_FALSE(r.has_value()) << hex;
  EXPECT_EQ(r.error().code, kSyntax);
  EXPECT_EQ(std::string(r.error().detail), detail) << hex;
  EXPECT_EQ(r.error().offset, offset) << hex;
}

TEST(Ikev2SelectorsTest, Ipv4Range) {
  TsPayload ts = ParseTsOk(PayloadType::kTsi, kTsV4);
  ASSERT_EQ(ts.selectors.size(), 1u);
  const TrafficSelector& s = ts.selectors[0];
  EXPECT_EQ(s.ts_type, static_cast<uint8_t>(TsType::kIpv4AddrRange));
  EXPECT_EQ(s.ip_protocol, 0);
  EXPECT_EQ(s.start_port, 0);
  EXPECT_EQ(s.end_port, 0xffff);
  EXPECT_EQ(s.start_address, H("c6336400"));
  EXPECT_EQ(s.end_address, H("c63364ff"));
  // The same selector built from values.
  TrafficSelector built;
  built.start_address = H("c6336400");
  built.end_address = H("c63364ff");
  EXPECT_EQ(SerializePayloads({MakePayload(TsPayload{{built}})}), H(kTsV4));
}

TEST(Ikev2SelectorsTest, Ipv6AndUnknownTypeTogether) {
  TsPayload ts = ParseTsOk(PayloadType::kTsr,
                           "00000038 02 000000"
                           "08 11 0028 01f4 01f4 20010db8000000000000000000000000"
                           "20010db8ffffffffffffffffffffffff"
                           "0a 00 0008 aabbccdd");  // TS_SECLABEL-like type 10, kept raw
  ASSERT_EQ(ts.selectors.size(), 2u);
  EXPECT_EQ(ts.selectors[0].ts_type, static_cast<uint8_t>(TsType::kIpv6AddrRange));
  EXPECT_EQ(ts.selectors[0].ip_protocol, 17);
  EXPECT_EQ(ts.selectors[0].start_port, 500);
  EXPECT_EQ(ts.selectors[0].end_address.size(), 16u);
  EXPECT_EQ(ts.selectors[1].ts_type, 10);
  EXPECT_EQ(ts.selectors[1].raw, H("aabbccdd"));
}

TEST(Ikev2SelectorsTest, Errors) {
  // Count that lies, both ways.
  ExpectTsError("00000018 02 000000 07 00 0010 0000 ffff c6336400 c63364ff",
                "Unable to read selector header.", 24);
  ExpectTsError(
      "00000028 01 000000 07 00 0010 0000 ffff c6336400 c63364ff 07 00 0010 0000 ffff c6336400 "
      "c63364ff",
      "Data after last selector.", 24);
  ExpectTsError("00000008 00 000000", "TS payload without selectors.", 4);
  ExpectTsError("00000008 41 000000", "Too many traffic selectors.", 4);
  // Selector length not matching its type, too small, past the end.
  ExpectTsError("00000014 01 000000 07 00 000c 0000 ffff c6336400",
                "Selector length does not match TS type.", 10);
  ExpectTsError("0000000c 01 000000 07 00 0003", "Selector length too small.", 10);
  ExpectTsError("00000010 01 000000 07 00 0010 0000 ffff", "Selector length past end of TS.", 10);
  ExpectTsError("0000000a 01 000000 0700", "Unable to read selector header.", 8);
  ExpectTsError("00000007 010000", "Unable to read TS header.", 4);
}

TEST(Ikev2SelectorsTest, EveryPrefixOfASelector) {
  CheckEveryPrefix({{"01 000000", kSyntax, "Unable to read TS header."},
                    {"07 00", kSyntax, "Unable to read selector header."},
                    {"0010", kSyntax, "Unable to read selector header."},
                    {"0000 ffff c6336400 c63364ff", kSyntax, "Selector length past end of TS."}},
                   BodyParser(PayloadType::kTsi));
}

TEST(Ikev2SelectorsTest, ConfigurationPayload) {
  Bytes b = H("00000018 01 000000 0001 0000 0003 0000 000d 0004 0a000001");
  auto r = ParsePayloads(PayloadType::kCp, b);
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  const auto& cp = std::get<CpPayload>((*r)[0].body);
  EXPECT_EQ(cp.cfg_type, static_cast<uint8_t>(CfgType::kRequest));
  ASSERT_EQ(cp.attributes.size(), 3u);
  EXPECT_EQ(cp.attributes[0].type, static_cast<uint16_t>(CfgAttr::kInternalIp4Address));
  EXPECT_TRUE(cp.attributes[1].value.empty());
  EXPECT_EQ(cp.attributes[2].value, H("0a000001"));
  EXPECT_EQ(SerializePayloads(*r), b);
  // The reserved bit of the attribute type is dropped.
  auto r2 = ParsePayloads(PayloadType::kCp, H("0000000c 02 000000 8001 0000"));
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(std::get<CpPayload>((*r2)[0].body).attributes[0].type, 1);
  struct {
    const char* hex;
    const char* detail;
    uint32_t offset;
  } errors[] = {{"00000007 020000", "Unable to read CP header.", 4},
                {"0000000a 02 000000 0001", "Unable to read attribute.", 8},
                {"0000000e 02 000000 0001 0004 0a00", "Attribute length past end of CP.", 10}};
  for (const auto& e : errors) {
    auto r = ParsePayloads(PayloadType::kCp, H(e.hex));
    ASSERT_FALSE(r.has_value()) << e.hex;
    EXPECT_EQ(std::string(r.error().detail), e.detail);
    EXPECT_EQ(r.error().offset, e.offset);
  }
  std::string many = "0000010c 01 000000";
  for (int i = 0; i < 65; ++i) many += "00010000";
  auto r3 = ParsePayloads(PayloadType::kCp, H(many));
  ASSERT_FALSE(r3.has_value());
  EXPECT_EQ(std::string(r3.error().detail), "Too many attributes.");
}

}  // namespace
}  // namespace ikepulse::ikev2
