// Hash, Prf (HMAC through EVP_MAC) and OpenSslRandom (RAND_bytes).
//
// Algorithm objects (EVP_MD, and an EVP_MAC_CTX template per hash with its digest already
// set) are fetched once and kept for the life of the process: in OpenSSL 3.0 an implicit
// fetch per call costs more than hashing a DPD message.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <memory>

#include "common/check.h"
#include "crypto/crypto.h"

namespace ikepulse::crypto {
namespace {

struct MdDeleter {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct MacDeleter {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
using MdPtr = std::unique_ptr<EVP_MD, MdDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using MacPtr = std::unique_ptr<EVP_MAC, MacDeleter>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

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

}  // namespace

size_t HashLength(HashAlg h) { return kLengths[Index(h)]; }
const char* HashName(HashAlg h) { return kNames[Index(h)]; }

Bytes Hash(HashAlg h, std::initializer_list<ByteSpan> data) {
  const EVP_MD* md = Algs().md[Index(h)].get();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  IKEPULSE_CHECK(ctx != nullptr);
  IKEPULSE_CHECK(EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1);
  for (ByteSpan d : data) {
    IKEPULSE_CHECK(EVP_DigestUpdate(ctx.get(), d.data(), d.size()) == 1);
  }
  Bytes out(HashLength(h));
  unsigned int len = 0;
  IKEPULSE_CHECK(EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1);
  IKEPULSE_CHECK(len == out.size());
  return out;
}

SecretBytes Prf(HashAlg h, ByteSpan key, std::initializer_list<ByteSpan> data) {
  MacCtxPtr ctx(EVP_MAC_CTX_dup(Algs().hmac_template[Index(h)].get()));
  IKEPULSE_CHECK(ctx != nullptr);
  // A null key pointer would mean "keep the previous key"; an empty key is a valid
  // (if useless) HMAC key, so always pass a real pointer.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  IKEPULSE_CHECK(EVP_MAC_init(ctx.get(), key_ptr, key.size(), nullptr) == 1);
  for (ByteSpan d : data) {
    IKEPULSE_CHECK(EVP_MAC_update(ctx.get(), d.data(), d.size()) == 1);
  }
  SecretBytes out(HashLength(h));
  size_t len = 0;
  IKEPULSE_CHECK(EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1);
  IKEPULSE_CHECK(len == out.size());
  return out;
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
