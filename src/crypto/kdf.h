// Password key derivation functions (RFC 8018 PBKDF2, RFC 7914 scrypt), used to hash the
// `enable secret` the way current IOS does (type 8: PBKDF2-HMAC-SHA256, type 9: scrypt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.h"

namespace ikepulse::crypto {

// PBKDF2 with HMAC-SHA-256. nullopt if OpenSSL refuses the parameters.
std::optional<SecretBytes> Pbkdf2Sha256(ByteSpan password, ByteSpan salt, uint32_t iterations,
                                        size_t out_len);
// scrypt with cost N (a power of two), block size r and parallelism p.
std::optional<SecretBytes> Scrypt(ByteSpan password, ByteSpan salt, uint64_t n, uint64_t r,
                                  uint64_t p, size_t out_len);

}  // namespace ikepulse::crypto
