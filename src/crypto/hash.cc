// Hash, Prf (HMAC through EVP_MAC) and OpenSslRandom (RAND_bytes).
//
// Algorithm objects (EVP_MD, and an EVP_MAC_CTX template per hash with its digest already
// set) are fetched once and kept for the life of the process: in OpenSSL 3.0 an implicit
// fetch per call costs more than hashing a DPD message. The contexts themselves are kept too,
// one per thread and algorithm, and re-initialised (and re-keyed) for each call: creating and
// freeing them (a dozen allocations and cleanses inside OpenSSL for an HMAC) cost more than
// the hashing of a DPD message itself. A kept HMAC context holds the keyed state of its last
// call until the next call re-keys it, and OpenSSL cleanses it when the thread ends.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <memory>

#include "common/check.h"
#include "crypto/crypto.h"
#include "crypto/openssl_ptr.h"

namespace ikepulse::crypto {
namespace {

constexpr size_t kNumHashes = 5;

size_t Index(HashAlg h) {
  const auto i = static_cast<size_t>(h);
  IKEPULSE_CHECK(i < kNumHashes);
  return i;
}

// OpenSSL's algorithm names, indexed by HashAlg.
constexpr std::array<const char*, kNumHashes> kOpenSslNames = {"MD5", "SHA1", "SHA2-256",
                                                               "SHA2-384", "SHA2-512"};
constexpr std::array<const char*, kNumHashes> kNames = {"md5", "sha1", "sha256", "sha384",
                                                        "sha512"};
constexpr std::array<size_t, kNumHashes> kLengths = {16, 20, 32, 48, 64};

// Fetched once; freed at exit (before OpenSSL's own atexit cleanup, which was registered by
// the first fetch and so runs after these destructors).
struct Algorithms {
  std::array<MdPtr, kNumHashes> md;
  MacPtr hmac;
  std::array<MacCtxPtr, kNumHashes> hmac_template;  // digest set, no key

  Algorithms() {
    for (size_t i = 0; i < kNumHashes; ++i) {
      md[i].reset(EVP_MD_fetch(nullptr, kOpenSslNames[i], nullptr));
      IKEPULSE_CHECK(md[i] != nullptr);
      IKEPULSE_CHECK(static_cast<size_t>(EVP_MD_get_size(md[i].get())) == kLengths[i]);
    }
    hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    IKEPULSE_CHECK(hmac != nullptr);
    for (size_t i = 0; i < kNumHashes; ++i) {
      hmac_template[i].reset(EVP_MAC_CTX_new(hmac.get()));
      IKEPULSE_CHECK(hmac_template[i] != nullptr);
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                           const_cast<char*>(kOpenSslNames[i]), 0),
          OSSL_PARAM_construct_end()};
      IKEPULSE_CHECK(EVP_MAC_CTX_set_params(hmac_template[i].get(), params) == 1);
    }
  }
};

const Algorithms& Algs() {
  static const Algorithms algs;
  return algs;
}

// This thread's contexts, made on first use of each algorithm.
struct ThreadContexts {
  std::array<MdCtxPtr, kNumHashes> md;
  std::array<MacCtxPtr, kNumHashes> mac;
};

ThreadContexts& Contexts() {
  // Algs() first, so that the algorithms outlive every thread's contexts.
  (void)Algs();
  static thread_local ThreadContexts contexts;
  return contexts;
}

// A digest context for `h`, initialised and ready for updates.
EVP_MD_CTX* DigestContext(HashAlg h) {
  MdCtxPtr& ctx = Contexts().md[Index(h)];
  if (!ctx) {
    ctx.reset(EVP_MD_CTX_new());
    IKEPULSE_CHECK(ctx != nullptr);
    IKEPULSE_CHECK(EVP_DigestInit_ex2(ctx.get(), Algs().md[Index(h)].get(), nullptr) == 1);
    return ctx.get();
  }
  // A null type re-initialises with the digest the context already has, without fetching
  // or allocating.
  IKEPULSE_CHECK(EVP_DigestInit_ex2(ctx.get(), nullptr, nullptr) == 1);
  return ctx.get();
}

// An HMAC context for `h`, keyed with `key` and ready for updates.
EVP_MAC_CTX* MacContext(HashAlg h, ByteSpan key) {
  MacCtxPtr& ctx = Contexts().mac[Index(h)];
  if (!ctx) {
    ctx.reset(EVP_MAC_CTX_dup(Algs().hmac_template[Index(h)].get()));
    IKEPULSE_CHECK(ctx != nullptr);
  }
  // A null key pointer would mean "keep the previous key"; an empty key is a valid
  // (if useless) HMAC key, so always pass a real pointer.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  IKEPULSE_CHECK(EVP_MAC_init(ctx.get(), key_ptr, key.size(), nullptr) == 1);
  return ctx.get();
}

}  // namespace

size_t HashLength(HashAlg h) { return kLengths[Index(h)]; }
const char* HashName(HashAlg h) { return kNames[Index(h)]; }

Bytes Hash(HashAlg h, std::initializer_list<ByteSpan> data) {
  EVP_MD_CTX* ctx = DigestContext(h);
  for (ByteSpan d : data) {
    IKEPULSE_CHECK(EVP_DigestUpdate(ctx, d.data(), d.size()) == 1);
  }
  Bytes out(HashLength(h));
  unsigned int len = 0;
  IKEPULSE_CHECK(EVP_DigestFinal_ex(ctx, out.data(), &len) == 1);
  IKEPULSE_CHECK(len == out.size());
  return out;
}

SecretBytes Prf(HashAlg h, ByteSpan key, std::initializer_list<ByteSpan> data) {
  EVP_MAC_CTX* ctx = MacContext(h, key);
  for (ByteSpan d : data) {
    IKEPULSE_CHECK(EVP_MAC_update(ctx, d.data(), d.size()) == 1);
  }
  SecretBytes out(HashLength(h));
  size_t len = 0;
  IKEPULSE_CHECK(EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1);
  IKEPULSE_CHECK(len == out.size());
  return out;
}

Bytes Ikev2CookieMac(ByteSpan secret, ByteSpan ni, ByteSpan ip, ByteSpan spi_i, size_t length) {
  IKEPULSE_CHECK(length >= 1 && length <= 32);
  const SecretBytes mac = Prf(HashAlg::kSha256, secret, {ni, ip, spi_i});
  return Bytes(mac.span().begin(), mac.span().begin() + static_cast<ptrdiff_t>(length));
}

void OpenSslRandom::Fill(std::span<uint8_t> out) {
  // RAND_bytes takes an int; a failing system RNG is not recoverable.
  while (!out.empty()) {
    const size_t n = std::min<size_t>(out.size(), INT_MAX);
    IKEPULSE_CHECK(RAND_bytes(out.data(), static_cast<int>(n)) == 1);
    out = out.subspan(n);
  }
}

}  // namespace ikepulse::crypto
