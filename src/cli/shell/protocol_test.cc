#include "cli/shell/protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ikepulse::shell {
namespace {

std::optional<Request> DecodeOneRequest(std::string_view bytes) {
  FrameDecoder decoder(kMaxRequestBody);
  decoder.Append(bytes);
  auto r = decoder.NextRequest();
  if (!r) return std::nullopt;
  return *r;
}

const char* RequestError(std::string_view bytes) {
  FrameDecoder decoder(kMaxRequestBody);
  decoder.Append(bytes);
  auto r = decoder.NextRequest();
  return r ? nullptr : r.error().detail;
}

const char* ServerError(std::string_view bytes) {
  FrameDecoder decoder(kMaxReplyBody);
  decoder.Append(bytes);
  auto r = decoder.NextServerMessage();
  return r ? nullptr : r.error().detail;
}

TEST(ProtocolTest, EncodesRequestsAsDocumented) {
  EXPECT_EQ(EncodeRequest({RequestKind::kExec, "conf t"}), "EXEC 6\nconf t");
  EXPECT_EQ(EncodeRequest({RequestKind::kHelp, "cry isa "}), "HELP 8\ncry isa ");
  EXPECT_EQ(EncodeRequest({RequestKind::kComplete, "sh"}), "COMPLETE 2\nsh");
  EXPECT_EQ(EncodeRequest({RequestKind::kPrompt, ""}), "PROMPT 0\n");
  EXPECT_EQ(EncodeRequest({RequestKind::kJson, "show crypto isakmp sa"}),
            "JSON 21\nshow crypto isakmp sa");
}

TEST(ProtocolTest, EncodesRepliesAsDocumented) {
  Reply reply{"% Invalid input\n", "Router#", true, false, true, 24};
  EXPECT_EQ(EncodeReply(reply), "REPLY 5 24 7 23\nRouter#% Invalid input\n");
  EXPECT_EQ(EncodeAsync("ISAKMP: hello"), "ASYNC 13\nISAKMP: hello");
}

TEST(ProtocolTest, RequestRoundTripWithArbitraryBytes) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  for (RequestKind kind :
       {RequestKind::kExec, RequestKind::kHelp, RequestKind::kComplete, RequestKind::kJson}) {
    for (const std::string& line : {std::string(), std::string("show run\nEXEC 3\nabc"), binary}) {
      Request in{kind, line};
      auto out = DecodeOneRequest(EncodeRequest(in));
      ASSERT_TRUE(out.has_value());
      EXPECT_EQ(*out, in);
    }
  }
  auto prompt = DecodeOneRequest("PROMPT 0\n");
  ASSERT_TRUE(prompt.has_value());
  EXPECT_EQ(prompt->kind, RequestKind::kPrompt);
}

TEST(ProtocolTest, ServerMessagesRoundTripByteByByte) {
  std::vector<ServerMessage> in = {
      Reply{"line 1\nline 2\n", "Router(config)#", false, false, false, 0},
      AsyncLine{"ISAKMP:(0:1:HW:2):DPD/R_U_THERE_ACK received"},
      PartialOutput{"Sending 5, 100-byte ICMP Echos\n"},
      PartialOutput{"!"},
      Reply{"", "", true, true, true, 4294967295u},
      AsyncLine{""},
  };
  std::string wire;
  for (const ServerMessage& m : in) {
    if (auto* r = std::get_if<Reply>(&m)) {
      wire += EncodeReply(*r);
    } else if (auto* p = std::get_if<PartialOutput>(&m)) {
      wire += EncodePartial(p->text);
    } else {
      wire += EncodeAsync(std::get<AsyncLine>(m).text);
    }
  }
  EXPECT_NE(wire.find("PART 1\n!"), std::string::npos);
  FrameDecoder decoder(kMaxReplyBody);
  std::vector<ServerMessage> out;
  for (char c : wire) {
    decoder.Append(std::string_view(&c, 1));
    for (;;) {
      auto next = decoder.NextServerMessage();
      ASSERT_TRUE(next) << next.error().detail;
      if (!next->has_value()) break;
      out.push_back(std::move(**next));
    }
  }
  EXPECT_EQ(out, in);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(ProtocolTest, SeveralRequestsInOneRead) {
  FrameDecoder decoder(kMaxRequestBody);
  decoder.Append("EXEC 2\nenPROMPT 0\nHELP 0\n");
  std::vector<RequestKind> kinds;
  for (;;) {
    auto next = decoder.NextRequest();
    ASSERT_TRUE(next);
    if (!next->has_value()) break;
    kinds.push_back((*next)->kind);
  }
  EXPECT_EQ(kinds, (std::vector<RequestKind>{RequestKind::kExec, RequestKind::kPrompt,
                                             RequestKind::kHelp}));
}

TEST(ProtocolTest, IncompleteFramesWaitForMoreBytes) {
  FrameDecoder decoder(kMaxRequestBody);
  decoder.Append("EXEC 11\nshow");
  auto r = decoder.NextRequest();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  decoder.Append(" run\nx");  // 10 bytes: still one short
  r = decoder.NextRequest();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  decoder.Append("y");
  r = decoder.NextRequest();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->line, "show run\nxy");
}

TEST(ProtocolTest, MalformedRequestsAreErrors) {
  struct Case {
    std::string bytes;
    const char* detail;
  };
  const std::vector<Case> cases = {
      {"EXEC\n", "Header has no length."},
      {"EXEC \n", "Malformed number in header."},
      {"EXEC 01\nx", "Malformed number in header."},
      {"EXEC -1\n", "Malformed number in header."},
      {"EXEC 1 \nx", "Malformed number in header."},
      {"EXEC 12345678901\n", "Malformed number in header."},
      {"EXEC 2\r\nab", "Malformed number in header."},
      {"EXEC 1 1\nx", "Wrong field count for request."},
      {"EXEC 1 2 3 4 5\n", "Too many header fields."},
      {"exec 1\nx", "Unknown request kind."},
      {"REPLY 0 0 0 0\n", "Unknown request kind."},
      {" 1\nx", "Unknown request kind."},
      {"PROMPT 1\nx", "PROMPT takes no body."},
      {"EXEC 65537\n", "Frame body too long."},
      {std::string(kMaxHeader, 'A'), "Header line too long."},
  };
  for (const Case& c : cases) {
    const char* detail = RequestError(c.bytes);
    ASSERT_NE(detail, nullptr) << c.bytes;
    EXPECT_STREQ(detail, c.detail) << c.bytes;
  }
}

TEST(ProtocolTest, MalformedServerMessagesAreErrors) {
  EXPECT_STREQ(ServerError("REPLY 0 0 5 3\nabc"), "Prompt longer than body.");
  EXPECT_STREQ(ServerError("REPLY 8 0 0 0\n"), "Unknown flags.");
  EXPECT_STREQ(ServerError("REPLY 0 0 0\n"), "Wrong field count for REPLY.");
  EXPECT_STREQ(ServerError("ASYNC 0 0\n"), "Wrong field count for ASYNC.");
  EXPECT_STREQ(ServerError("PART 1 1\n!"), "Wrong field count for PART.");
  EXPECT_STREQ(ServerError("REPLY 0 4294967296 0 0\n"), "Terminal length out of range.");
  EXPECT_STREQ(ServerError("EXEC 0\n"), "Unknown message kind.");
}

TEST(ProtocolTest, DecoderStaysFailed) {
  FrameDecoder decoder(kMaxRequestBody);
  decoder.Append("BOGUS 0\n");
  EXPECT_FALSE(decoder.NextRequest());
  EXPECT_TRUE(decoder.failed());
  decoder.Append("EXEC 2\nen");
  auto r = decoder.NextRequest();
  ASSERT_FALSE(r);
  EXPECT_STREQ(r.error().detail, "Unknown request kind.");
}

TEST(ProtocolTest, PartialHeaderWithinLimitWaits) {
  FrameDecoder decoder(kMaxRequestBody);
  decoder.Append(std::string(kMaxHeader - 1, 'A'));
  auto r = decoder.NextRequest();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
}

}  // namespace
}  // namespace ikepulse::shell
