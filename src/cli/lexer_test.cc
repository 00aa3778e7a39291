#include "cli/lexer.h"

#include <gtest/gtest.h>

#include "cli/command_tree.h"

namespace ikepulse::cli {
namespace {

TEST(LexerTest, TokensKeepTheirOffsets) {
  auto t = Tokenize("  crypto\tisakmp  keepalive 10 ");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].text, "crypto");
  EXPECT_EQ(t[0].offset, 2);
  EXPECT_EQ(t[1].offset, 9);
  EXPECT_EQ(t[2].offset, 17);
  EXPECT_EQ(t[3].text, "10");
  EXPECT_EQ(t[3].offset, 27);
  EXPECT_TRUE(Tokenize(" \t\r").empty());
}

TEST(LexerTest, PrefixMatchingIsCaseInsensitive) {
  EXPECT_TRUE(IsPrefixOf("CRY", "crypto"));
  EXPECT_FALSE(IsPrefixOf("", "crypto"));
  EXPECT_FALSE(IsPrefixOf("cryptox", "crypto"));
  EXPECT_TRUE(EqualsIgnoreCase("Periodic", "periodic"));
}

TEST(CommandTreeTest, PromptsPerMode) {
  EXPECT_EQ(PromptFor("R1", Mode::kConfigCryptoTrans), "R1(cfg-crypto-trans)#");
  EXPECT_EQ(PromptFor("R1", Mode::kConfigExtNacl), "R1(config-ext-nacl)#");
}

TEST(CommandTreeTest, NumbersMustBeInRange) {
  const Grammar& g = TheGrammar();
  for (const char* bad : {"crypto isakmp policy 0", "crypto isakmp policy 10001",
                          "crypto isakmp policy 99999999999999999999"}) {
    auto toks = Tokenize(bad);
    EXPECT_EQ(Walk(g, Mode::kConfig, bad, toks).status, WalkResult::Status::kInvalid) << bad;
  }
  const char* ok = "crypto isakmp policy 10000";
  EXPECT_EQ(Walk(g, Mode::kConfig, ok, Tokenize(ok)).status, WalkResult::Status::kOk);
}

}  // namespace
}  // namespace ikepulse::cli
