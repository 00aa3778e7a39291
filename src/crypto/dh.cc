// Diffie-Hellman for IKEv1: MODP groups 1, 2 (RFC 2409 §6.1, §6.2), 5 (RFC 3526 §2), 14, 15,
// 16 (RFC 3526 §3-§5), generator 2; ECP groups 19, 20, 21 (RFC 5903, NIST P-256/384/521).
//
// Wire encodings (RFC 2409 §5, RFC 5903 §7):
//   MODP public value and g^xy: big-endian, left-padded with zeros to the prime's length.
//   ECP public value: x | y, each coordinate fixed-length big-endian, no 0x04 prefix.
//   ECP g^xy: the x coordinate of the shared point, fixed-length.
//
// Keys are EVP_PKEYs built with EVP_PKEY_fromdata / EVP_PKEY_generate. The MODP domain
// parameters come from the RFC primes (OpenSSL's BN_get_rfc2409_prime_* and
// BN_get_rfc3526_prime_* constants) with g = 2; OpenSSL 3.0 has no named group for 768- and
// 1024-bit MODP, so every MODP group is built from (p, g) the same way. On import OpenSSL
// recognises the RFC 3526 primes as its "modp_1536".."modp_4096" groups: it then adds
// q = (p-1)/2, generates short private exponents (about twice the group's security strength,
// e.g. 225 bits for group 14) and checks peer values against the subgroup (y^q = 1 mod p).
// Groups 1 and 2 get no q and a full-length exponent.
//
// Peer public values are checked before OpenSSL sees them (length; MODP: not 0, 1, p-1 or
// >= p), and again by OpenSSL when they are imported (ECP: on the curve) and set as the peer
// (EVP_PKEY_public_check). A bad value is an error, never a crash.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "common/check.h"
#include "crypto/crypto.h"
#include "crypto/dh_fuzzing.h"
#include "crypto/openssl_ptr.h"

namespace ikepulse::crypto {
namespace {

CryptoError Err(const char* detail) { return CryptoError{detail}; }

// One row per supported group (IANA "Group Description" numbers, RFC 2409 / 3526 / 5903).
struct GroupInfo {
  uint16_t id;
  bool ecp;
  BIGNUM* (*prime)(BIGNUM*);  // MODP only
  const char* curve;          // ECP only: OpenSSL group name
  int curve_nid;              // ECP only
  size_t len;                 // MODP: prime length; ECP: coordinate length
};

constexpr std::array<GroupInfo, 9> kGroups = {{
    {1, false, BN_get_rfc2409_prime_768, nullptr, 0, 96},
    {2, false, BN_get_rfc2409_prime_1024, nullptr, 0, 128},
    {5, false, BN_get_rfc3526_prime_1536, nullptr, 0, 192},
    {14, false, BN_get_rfc3526_prime_2048, nullptr, 0, 256},
    {15, false, BN_get_rfc3526_prime_3072, nullptr, 0, 384},
    {16, false, BN_get_rfc3526_prime_4096, nullptr, 0, 512},
    {19, true, nullptr, "prime256v1", NID_X9_62_prime256v1, 32},
    {20, true, nullptr, "secp384r1", NID_secp384r1, 48},
    {21, true, nullptr, "secp521r1", NID_secp521r1, 66},
}};

const GroupInfo* FindGroup(uint16_t id) {
  for (const GroupInfo& g : kGroups) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

// MODP domain parameters, built once per group.
struct ModpParams {
  BnPtr p;
  BnPtr g;
  Bytes p_bytes;    // p, big-endian, `len` bytes
  Bytes p_minus_1;  // p - 1, big-endian, `len` bytes
  PkeyPtr domain;   // EVP_PKEY holding only (p, g), the template for key generation
};

bool PushModpDomain(OSSL_PARAM_BLD* bld, const ModpParams& m) {
  return OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, m.p.get()) == 1 &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, m.g.get()) == 1;
}

// Imports `params` as a DH or EC key (`type`) with the given selection.
PkeyPtr FromData(const char* type, int selection, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (params == nullptr) return nullptr;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) return nullptr;
  return PkeyPtr(raw);
}

ModpParams BuildModp(const GroupInfo& info) {
  ModpParams m;
  m.p.reset(info.prime(nullptr));
  m.g.reset(BN_new());
  IKEPULSE_CHECK(m.p != nullptr && m.g != nullptr && BN_set_word(m.g.get(), 2) == 1);
  IKEPULSE_CHECK(static_cast<size_t>(BN_num_bytes(m.p.get())) == info.len);
  m.p_bytes.resize(info.len);
  IKEPULSE_CHECK(BN_bn2binpad(m.p.get(), m.p_bytes.data(), static_cast<int>(info.len)) ==
                 static_cast<int>(info.len));
  // p is odd, so p - 1 differs only in the last byte.
  m.p_minus_1 = m.p_bytes;
  IKEPULSE_CHECK((m.p_minus_1.back() & 1) == 1);
  m.p_minus_1.back() &= 0xfe;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  IKEPULSE_CHECK(bld != nullptr && PushModpDomain(bld.get(), m));
  m.domain = FromData("DH", EVP_PKEY_KEY_PARAMETERS, bld.get());
  IKEPULSE_CHECK(m.domain != nullptr);
  return m;
}

const ModpParams& Modp(const GroupInfo& info) {
  IKEPULSE_CHECK(!info.ecp);
  static const std::array<ModpParams, 6> all = [] {
    std::array<ModpParams, 6> a;
    for (size_t i = 0; i < a.size(); ++i) a[i] = BuildModp(kGroups[i]);
    return a;
  }();
  return all[static_cast<size_t>(&info - kGroups.data())];
}

// Big-endian fixed-length public value of a DH key.
Bytes ModpPublic(const EVP_PKEY* key, size_t len) {
  BIGNUM* raw = nullptr;
  IKEPULSE_CHECK(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &raw) == 1);
  BnPtr pub(raw);
  Bytes out(len);
  IKEPULSE_CHECK(BN_bn2binpad(pub.get(), out.data(), static_cast<int>(len)) ==
                 static_cast<int>(len));
  return out;
}

// x | y (RFC 5903 §7) of an EC key.
Bytes EcPublic(const EVP_PKEY* key, size_t coord_len) {
  Bytes encoded(1 + 2 * coord_len);
  size_t out_len = 0;
  IKEPULSE_CHECK(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, encoded.data(),
                                                 encoded.size(), &out_len) == 1);
  IKEPULSE_CHECK(out_len == encoded.size() && encoded[0] == POINT_CONVERSION_UNCOMPRESSED);
  return Bytes(encoded.begin() + 1, encoded.end());
}

// RFC 2409 §5 / RFC 3526: the peer's g^y must be 1 < g^y < p-1 and exactly `len` bytes.
Result<PkeyPtr, CryptoError> ModpPeer(const GroupInfo& info, ByteSpan peer) {
  const ModpParams& m = Modp(info);
  if (peer.size() != info.len) return MakeUnexpected(Err("Wrong DH public value length."));
  const bool high_zero =
      std::all_of(peer.begin(), peer.end() - 1, [](uint8_t b) { return b == 0; });
  if (high_zero && peer.back() <= 1) return MakeUnexpected(Err("DH public value is 0 or 1."));
  if (std::memcmp(peer.data(), m.p_bytes.data(), info.len) >= 0) {
    return MakeUnexpected(Err("DH public value is not below p."));
  }
  if (std::memcmp(peer.data(), m.p_minus_1.data(), info.len) == 0) {
    return MakeUnexpected(Err("DH public value is p-1."));
  }
  BnPtr pub(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (pub == nullptr || bld == nullptr || !PushModpDomain(bld.get(), m) ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.get()) != 1) {
    return MakeUnexpected(Err("DH public value import failed."));
  }
  PkeyPtr key = FromData("DH", EVP_PKEY_PUBLIC_KEY, bld.get());
  if (key == nullptr) return MakeUnexpected(Err("DH public value import failed."));
  return key;
}

// RFC 5903 §7: x | y, each coordinate `len` bytes, must be a point on the curve.
Result<PkeyPtr, CryptoError> EcPeer(const GroupInfo& info, ByteSpan peer) {
  if (peer.size() != 2 * info.len) return MakeUnexpected(Err("Wrong ECP public value length."));
  Bytes encoded;
  encoded.reserve(1 + peer.size());
  encoded.push_back(POINT_CONVERSION_UNCOMPRESSED);
  encoded.insert(encoded.end(), peer.begin(), peer.end());
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, info.curve, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded.data(),
                                       encoded.size()) != 1) {
    return MakeUnexpected(Err("ECP public value import failed."));
  }
  // Import decodes the point and rejects coordinates >= the field prime or off the curve.
  PkeyPtr key = FromData("EC", EVP_PKEY_PUBLIC_KEY, bld.get());
  if (key == nullptr) return MakeUnexpected(Err("ECP public value is not on the curve."));
  return key;
}

class DhKeyPairImpl final : public DhKeyPair {
 public:
  DhKeyPairImpl(const GroupInfo& info, PkeyPtr key, Bytes pub)
      : info_(info), key_(std::move(key)), public_(std::move(pub)) {}

  uint16_t group() const override { return info_.id; }
  const Bytes& public_value() const override { return public_; }
  std::unique_ptr<DhKeyPair> Clone() const override {
    // The key is never modified after generation: the copy shares it by reference count.
    if (EVP_PKEY_up_ref(key_.get()) != 1) return nullptr;
    return std::make_unique<DhKeyPairImpl>(info_, PkeyPtr(key_.get()), public_);
  }

  Result<SecretBytes, CryptoError> ComputeShared(ByteSpan peer_public) const override {
    Result<PkeyPtr, CryptoError> peer =
        info_.ecp ? EcPeer(info_, peer_public) : ModpPeer(info_, peer_public);
    if (!peer) return MakeUnexpected(peer.error());

    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1) {
      return MakeUnexpected(Err("Key agreement initialisation failed."));
    }
    // MODP: ask OpenSSL to left-pad g^xy to the prime length (RFC 2409 §5).
    if (!info_.ecp && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1) {
      return MakeUnexpected(Err("Key agreement initialisation failed."));
    }
    // validate_peer = 1: EVP_PKEY_public_check on the peer key as well.
    if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer->get(), 1) != 1) {
      return MakeUnexpected(Err("Peer public value rejected."));
    }
    const size_t want = info_.len;  // prime length (MODP) or coordinate length (ECP)
    size_t len = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len < want) {
      return MakeUnexpected(Err("Key agreement failed."));
    }
    SecretBytes secret(len);
    if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len > want) {
      return MakeUnexpected(Err("Key agreement failed."));
    }
    if (len == want) {
      secret.Resize(want);
      return secret;
    }
    // Shorter than the group size: left-pad with zeros.
    SecretBytes padded(want);
    std::memcpy(padded.data() + (want - len), secret.data(), len);
    return padded;
  }

 private:
  const GroupInfo& info_;
  PkeyPtr key_;
  Bytes public_;
};

std::unique_ptr<DhKeyPair> Wrap(const GroupInfo& info, PkeyPtr key) {
  if (key == nullptr) return nullptr;
  Bytes pub = info.ecp ? EcPublic(key.get(), info.len) : ModpPublic(key.get(), info.len);
  return std::make_unique<DhKeyPairImpl>(info, std::move(key), std::move(pub));
}

PkeyPtr GenerateModp(const GroupInfo& info) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, Modp(info).domain.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) return nullptr;
  return PkeyPtr(raw);
}

PkeyPtr GenerateEc(const GroupInfo& info) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) return nullptr;
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                                const_cast<char*>(info.curve), 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) return nullptr;
  return PkeyPtr(raw);
}

// x in [2, p-2]; public value g^x mod p computed here (OpenSSL 3.0 does not derive it on
// import).
PkeyPtr ModpFromPrivate(const GroupInfo& info, ByteSpan priv) {
  const ModpParams& m = Modp(info);
  BnPtr x(BN_secure_new());
  if (x == nullptr || BN_bin2bn(priv.data(), static_cast<int>(priv.size()), x.get()) == nullptr) {
    return nullptr;
  }
  BnPtr p_minus_1(BN_dup(m.p.get()));
  if (p_minus_1 == nullptr || BN_sub_word(p_minus_1.get(), 1) != 1) return nullptr;
  if (BN_cmp(x.get(), BN_value_one()) <= 0 || BN_cmp(x.get(), p_minus_1.get()) >= 0) {
    return nullptr;
  }
  BnCtxPtr bn_ctx(BN_CTX_secure_new());
  BnPtr pub(BN_new());
  if (bn_ctx == nullptr || pub == nullptr) return nullptr;
  BN_set_flags(x.get(), BN_FLG_CONSTTIME);
  if (BN_mod_exp(pub.get(), m.g.get(), x.get(), m.p.get(), bn_ctx.get()) != 1) return nullptr;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || !PushModpDomain(bld.get(), m) ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x.get()) != 1) {
    return nullptr;
  }
  return FromData("DH", EVP_PKEY_KEYPAIR, bld.get());
}

// d in [1, n-1]; public point d*G computed here.
PkeyPtr EcFromPrivate(const GroupInfo& info, ByteSpan priv) {
  EcGroupPtr group(EC_GROUP_new_by_curve_name(info.curve_nid));
  BnPtr d(BN_secure_new());
  BnCtxPtr bn_ctx(BN_CTX_secure_new());
  if (group == nullptr || d == nullptr || bn_ctx == nullptr ||
      BN_bin2bn(priv.data(), static_cast<int>(priv.size()), d.get()) == nullptr) {
    return nullptr;
  }
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return nullptr;
  }
  EcPointPtr point(EC_POINT_new(group.get()));
  if (point == nullptr ||
      EC_POINT_mul(group.get(), point.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return nullptr;
  }
  Bytes encoded(1 + 2 * info.len);
  if (EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded.data(),
                         encoded.size(), bn_ctx.get()) != encoded.size()) {
    return nullptr;
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, info.curve, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded.data(),
                                       encoded.size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1) {
    return nullptr;
  }
  return FromData("EC", EVP_PKEY_KEYPAIR, bld.get());
}

#ifdef IKEPULSE_FUZZING_FIXED_DH
// Fuzzing only (see dh_fuzzing.h): one key pair per group from a fixed private value, and the
// shared secrets it computed for the last few peer values.
bool g_fixed_dh = false;

struct FixedDh {
  std::unique_ptr<DhKeyPair> key;
  std::vector<std::pair<Bytes, SecretBytes>> recent;  // (peer value, g^xy), newest last
};

class FixedDhKeyPair final : public DhKeyPair {
 public:
  explicit FixedDhKeyPair(FixedDh& fixed) : fixed_(fixed) {}
  uint16_t group() const override { return fixed_.key->group(); }
  const Bytes& public_value() const override { return fixed_.key->public_value(); }
  std::unique_ptr<DhKeyPair> Clone() const override {
    return std::make_unique<FixedDhKeyPair>(fixed_);
  }
  Result<SecretBytes, CryptoError> ComputeShared(ByteSpan peer_public) const override {
    for (const auto& [peer, shared] : fixed_.recent) {
      if (std::equal(peer.begin(), peer.end(), peer_public.begin(), peer_public.end())) {
        return shared;
      }
    }
    auto shared = fixed_.key->ComputeShared(peer_public);
    if (!shared) return shared;
    if (fixed_.recent.size() >= 8) fixed_.recent.erase(fixed_.recent.begin());
    fixed_.recent.emplace_back(Bytes(peer_public.begin(), peer_public.end()), *shared);
    return shared;
  }

 private:
  FixedDh& fixed_;
};

std::unique_ptr<DhKeyPair> FixedKeyPair(const GroupInfo& info);
#endif

}  // namespace

#ifdef IKEPULSE_FUZZING_FIXED_DH
void UseFixedDhKeyPairsForFuzzing() { g_fixed_dh = true; }

extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void __libc_free(void*);

bool UsePlainAllocatorInOpenSslForFuzzing() {
  return CRYPTO_set_mem_functions(
             [](size_t n, const char*, int) { return __libc_malloc(n); },
             [](void* p, size_t n, const char*, int) { return __libc_realloc(p, n); },
             [](void* p, const char*, int) { __libc_free(p); }) == 1;
}
#endif

bool IsSupportedGroup(uint16_t group) { return FindGroup(group) != nullptr; }

size_t PublicValueLength(uint16_t group) {
  const GroupInfo* info = FindGroup(group);
  if (info == nullptr) return 0;
  return info->ecp ? 2 * info->len : info->len;
}

namespace {
std::atomic<uint64_t> g_generated{0};
}  // namespace

uint64_t DhKeyPair::Generated() { return g_generated.load(std::memory_order_relaxed); }

std::unique_ptr<DhKeyPair> DhKeyPair::Generate(uint16_t group) {
  const GroupInfo* info = FindGroup(group);
  if (info == nullptr) return nullptr;
  g_generated.fetch_add(1, std::memory_order_relaxed);
#ifdef IKEPULSE_FUZZING_FIXED_DH
  if (g_fixed_dh) return FixedKeyPair(*info);
#endif
  return Wrap(*info, info->ecp ? GenerateEc(*info) : GenerateModp(*info));
}

std::unique_ptr<DhKeyPair> DhKeyPair::FromPrivate(uint16_t group, ByteSpan priv) {
  const GroupInfo* info = FindGroup(group);
  if (info == nullptr) return nullptr;
  return Wrap(*info, info->ecp ? EcFromPrivate(*info, priv) : ModpFromPrivate(*info, priv));
}

#ifdef IKEPULSE_FUZZING_FIXED_DH
namespace {
std::unique_ptr<DhKeyPair> FixedKeyPair(const GroupInfo& info) {
  static std::array<FixedDh, kGroups.size()> all;
  FixedDh& fixed = all[static_cast<size_t>(&info - kGroups.data())];
  if (fixed.key == nullptr) {
    // 32 bytes: below every group's order (ECP) and in [2, p-2] (MODP).
    const Bytes priv(32, 0x5a);
    fixed.key = DhKeyPair::FromPrivate(info.id, priv);
    IKEPULSE_CHECK(fixed.key != nullptr);
  }
  return std::make_unique<FixedDhKeyPair>(fixed);
}
}  // namespace
#endif

}  // namespace ikepulse::crypto
