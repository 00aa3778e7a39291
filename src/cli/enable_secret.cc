#include "cli/enable_secret.h"

#include <crypt.h>

#include <cstring>
#include <memory>

#include "common/bytes.h"

namespace ikepulse::cli {

namespace {
std::optional<std::string> Crypt(std::string_view plain, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string phrase(plain);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  std::optional<std::string> r;
  if (out && out[0] != '*') r = std::string(out);
  SecureWipe(phrase.data(), phrase.size());
  SecureWipe(data.get(), sizeof(crypt_data));
  return r;
}
}  // namespace

std::optional<std::string> HashEnableSecret(std::string_view plain) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$6$", 0, nullptr, 0, salt, sizeof salt)) return std::nullopt;
  return Crypt(plain, salt);
}

bool VerifyEnableSecret(std::string_view plain, const std::string& hash) {
  auto h = Crypt(plain, hash);
  if (!h || h->size() != hash.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < hash.size(); ++i) diff |= static_cast<unsigned>((*h)[i] ^ hash[i]);
  return diff == 0;
}

bool IsCryptHash(std::string_view hash) {
  if (hash.size() < 4 || hash[0] != '$') return false;
  for (char c : hash)
    if (c == ' ' || c == '\t' || c == ':') return false;
  const int r = crypt_checksalt(std::string(hash).c_str());
  return r == CRYPT_SALT_OK || r == CRYPT_SALT_METHOD_LEGACY;  // IOS type 5 is MD5 `$1$`
}

}  // namespace ikepulse::cli
