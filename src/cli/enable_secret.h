// `enable secret`: the password is kept only as a one-way hash. ikepulse writes IOS type 9
// hashes (scrypt, N=16384 r=1 p=1, `$9$<14-char salt>$<43-char hash>`) and renders them as
// `enable secret 9 <hash>`, as current IOS does. It also accepts IOS type 8 (PBKDF2-HMAC-SHA256,
// 20000 iterations, `$8$...`) and, as type 5, any crypt(3) hash libcrypt can verify (IOS's own
// MD5 `$1$`, and the `$6$` hashes older ikepulse versions wrote).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ikepulse::cli {

// A fresh type 9 hash of `plain` (random salt); nullopt if the KDF fails.
std::optional<std::string> HashEnableSecret(std::string_view plain);
// The type 9 (or 8) hash of `plain` with a given 14-character salt; for tests.
std::optional<std::string> HashEnableSecretWithSalt(std::string_view plain, int type,
                                                     std::string_view salt);
bool VerifyEnableSecret(std::string_view plain, const std::string& hash);
// Is `hash` a valid hash of the given IOS type (5: crypt(3); 8; 9)?
bool IsEnableSecretHash(int type, std::string_view hash);
// The IOS type a stored hash renders as: 9, 8 or 5.
int EnableSecretType(std::string_view hash);
// Does `hash` look like a crypt(3) hash this system can verify?
bool IsCryptHash(std::string_view hash);

}  // namespace ikepulse::cli
