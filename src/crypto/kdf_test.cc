#include "crypto/kdf.h"

#include <gtest/gtest.h>

namespace ikepulse::crypto {
namespace {

// RFC 7914 section 12, second vector (N=1024, r=8, p=16).
TEST(KdfTest, ScryptRfc7914Vector) {
  auto out = Scrypt(AsSpan(std::string("password")), AsSpan(std::string("NaCl")), 1024, 8, 16, 64);
  ASSERT_TRUE(out);
  EXPECT_EQ(ToHex(out->span()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

// RFC 7914 section 11 (PBKDF2-HMAC-SHA256, c=1, dkLen=64).
TEST(KdfTest, Pbkdf2Sha256Rfc7914Vector) {
  auto out = Pbkdf2Sha256(AsSpan(std::string("passwd")), AsSpan(std::string("salt")), 1, 64);
  ASSERT_TRUE(out);
  EXPECT_EQ(ToHex(out->span()),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
}

TEST(KdfTest, RejectsBadParameters) {
  EXPECT_FALSE(Pbkdf2Sha256(AsSpan(std::string("x")), AsSpan(std::string("s")), 0, 32));
  EXPECT_FALSE(Scrypt(AsSpan(std::string("x")), AsSpan(std::string("s")), 1000, 1, 1, 32));
}

}  // namespace
}  // namespace ikepulse::crypto
