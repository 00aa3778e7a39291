// `enable secret`: the password is kept only as a crypt(3) hash. ikepulse writes SHA-512 crypt
// (`$6$`) hashes and renders them as `enable secret 5 <hash>`: IOS type 5 means "a one-way
// crypt(3) hash follows" (IOS itself writes MD5 `$1$` there); any hash libcrypt can verify is
// accepted back on `enable secret 5 <hash>`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ikepulse::cli {

// A fresh `$6$` hash of `plain` (random salt from libcrypt); nullopt if libcrypt fails.
std::optional<std::string> HashEnableSecret(std::string_view plain);
bool VerifyEnableSecret(std::string_view plain, const std::string& hash);
// Does `hash` look like a crypt(3) hash this system can verify?
bool IsCryptHash(std::string_view hash);

}  // namespace ikepulse::cli
