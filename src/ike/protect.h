// Message protection for IKEv1 (RFC 2409 Appendix B; DESIGN.md §2.3-2.5): CBC encryption of
// the payload chain with zero padding to the block size, decryption, and building payload
// chains whose first payload is a HASH computed over everything after it.
#pragma once

#include <algorithm>
#include <vector>

#include "common/bytes.h"
#include "common/check.h"
#include "common/result.h"
#include "crypto/crypto.h"
#include "isakmp/header.h"
#include "isakmp/payloads.h"

namespace ikepulse::ike {

// Encrypts `plain` (a serialized payload chain) under key/iv and returns the whole message
// (header with the E flag and the final length). `last_block` receives the last ciphertext
// block (the next IV of a phase-1 chain or of a Quick Mode exchange).
Bytes SealMessage(isakmp::Header h, ByteSpan plain, crypto::CipherAlg c, ByteSpan key,
                  ByteSpan iv, Bytes* last_block);

// Decrypts the body of `msg` (the whole message, header included; length as in the header).
// Errors: body not a multiple of the block size, or empty.
struct OpenError {
  const char* detail;
};
Result<Bytes, OpenError> OpenMessage(ByteSpan msg, uint32_t length, crypto::CipherAlg c,
                                     ByteSpan key, ByteSpan iv, Bytes* last_block);

// The start of a chain whose first payload is a HASH of `hash_len` zero bytes followed by
// `rest` serialized (the same bytes as serializing HASH + rest as one chain); the HASH value
// starts at isakmp::kGenericHeaderSize and `rest` at kGenericHeaderSize + hash_len.
Bytes HashedChainTemplate(const std::vector<isakmp::Payload>& rest, size_t hash_len);

// Serializes `rest` behind a HASH payload whose value is `compute(bytes after the HASH)`
// (a callable ByteSpan -> SecretBytes). Returns the chain with the hash filled in. A template,
// so that the per-message path builds no std::function and copies no payload.
template <typename Compute>
Bytes BuildHashedChain(const std::vector<isakmp::Payload>& rest, size_t hash_len,
                       Compute&& compute) {
  Bytes bytes = HashedChainTemplate(rest, hash_len);
  const size_t value = isakmp::kGenericHeaderSize;
  const SecretBytes h = compute(ByteSpan(bytes).subspan(value + hash_len));
  IKEPULSE_CHECK(h.size() == hash_len);
  std::copy(h.data(), h.data() + h.size(), bytes.begin() + static_cast<std::ptrdiff_t>(value));
  return bytes;
}

// The bytes a received HASH(1)/HASH(2) covers: every payload after the HASH up to the end of
// the last payload (padding excluded). `chain` must have been parsed from `plain`.
// Also supports NOTIFY-then-HASH order (Huawei): then it is every non-HASH payload in order.
Bytes BytesCoveredByHash(const std::vector<isakmp::Payload>& chain, ByteSpan plain);

// End offset of the last payload of `chain` within the parsed buffer.
size_t ChainEnd(const std::vector<isakmp::Payload>& chain);

}  // namespace ikepulse::ike
