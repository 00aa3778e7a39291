// IKEv2 key derivation, PSK AUTH and the SK payload (RFC 7296 §2.13-2.18, §3.14; RFC 4868;
// RFC 5282). The formula is written above each computation; the names follow the RFC.
//
// Every primitive goes through the helpers of this directory: Prf (HMAC, hash.cc),
// CbcEncrypt/CbcDecrypt (cipher.cc), AesGcmSeal/AesGcmOpen (gcm.cc), ConstantTimeEqual
// (CRYPTO_memcmp, esp_crypto.cc).
#include "crypto/ikev2_keys.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "common/check.h"
#include "crypto/esp_crypto.h"

namespace ikepulse::crypto {
namespace {

constexpr size_t kNumEncr = 4;
constexpr size_t kNumInteg = 5;
constexpr size_t kSaltLength = 4;  // RFC 5282 §7.1: the last 4 bytes of SK_e
constexpr size_t kGcmIcvLength = 16;
constexpr size_t kIkeHeaderSize = 28;
constexpr size_t kGenericHeaderSize = 4;
constexpr size_t kLengthFieldOffset = 24;  // of the IKE header's Length
constexpr size_t kCbcBlock = 16;

// Indexed by Ikev2EncrAlg.
constexpr std::array<size_t, kNumEncr> kCipherKeyLen = {16, 32, 16, 32};
constexpr std::array<bool, kNumEncr> kAead = {false, false, true, true};
constexpr std::array<const char*, kNumEncr> kEncrNames = {"aes128-cbc", "aes256-cbc",
                                                          "aes128-gcm16", "aes256-gcm16"};
// Indexed by Ikev2IntegAlg.
constexpr std::array<size_t, kNumInteg> kIntegKeyLen = {0, 20, 32, 48, 64};
constexpr std::array<size_t, kNumInteg> kIcvLen = {0, 12, 16, 24, 32};
constexpr std::array<HashAlg, kNumInteg> kIntegHash = {
    HashAlg::kSha1, HashAlg::kSha1, HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512};
constexpr std::array<const char*, kNumInteg> kIntegNames = {
    "none", "hmac-sha1-96", "hmac-sha256-128", "hmac-sha384-192", "hmac-sha512-256"};

size_t EncrIndex(Ikev2EncrAlg e) {
  const auto i = static_cast<size_t>(e);
  IKEPULSE_CHECK(i < kNumEncr);
  return i;
}
size_t IntegIndex(Ikev2IntegAlg a) {
  const auto i = static_cast<size_t>(a);
  IKEPULSE_CHECK(i < kNumInteg);
  return i;
}
bool ValidEncr(Ikev2EncrAlg e) { return static_cast<size_t>(e) < kNumEncr; }
bool ValidInteg(Ikev2IntegAlg a) { return static_cast<size_t>(a) < kNumInteg; }

CipherAlg CbcCipher(Ikev2EncrAlg e) {
  return e == Ikev2EncrAlg::kAesCbc128 ? CipherAlg::kAes128Cbc : CipherAlg::kAes256Cbc;
}

uint32_t ReadU32(ByteSpan b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         uint32_t{b[at + 3]};
}
uint16_t ReadU16(ByteSpan b, size_t at) {
  return static_cast<uint16_t>((uint16_t{b[at]} << 8) | uint16_t{b[at + 1]});
}
void WriteU32(Bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 24);
  b[at + 1] = static_cast<uint8_t>(v >> 16);
  b[at + 2] = static_cast<uint8_t>(v >> 8);
  b[at + 3] = static_cast<uint8_t>(v);
}
void WriteU16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// Takes the next n bytes of `km` from `*off`.
SecretBytes Take(const SecretBytes& km, size_t* off, size_t n) {
  IKEPULSE_CHECK(*off + n <= km.size());
  SecretBytes out(km.span().subspan(*off, n));
  *off += n;
  return out;
}

Result<void, CryptoError> CheckKeys(const SkKeys& k) {
  if (!ValidEncr(k.encr) || !ValidInteg(k.integ)) {
    return MakeUnexpected(CryptoError{"Unknown IKEv2 algorithm."});
  }
  auto suite = CheckSuite(IkeSuite{HashAlg::kSha256, k.encr, k.integ});
  if (!suite) return suite;
  if (k.encr_key.size() != EncrKeyMaterialLength(k.encr)) {
    return MakeUnexpected(CryptoError{"Wrong SK_e length."});
  }
  if (k.integ_key.size() != IntegKeyLength(k.integ)) {
    return MakeUnexpected(CryptoError{"Wrong SK_a length."});
  }
  return {};
}

// The 12-byte AES-GCM nonce: salt (last 4 bytes of SK_e) | IV (RFC 5282 §4).
std::array<uint8_t, 12> GcmNonce(const SkKeys& k, ByteSpan iv) {
  std::array<uint8_t, 12> nonce{};
  const ByteSpan salt = k.encr_key.last(kSaltLength);
  std::copy(salt.begin(), salt.end(), nonce.begin());
  std::copy(iv.begin(), iv.end(), nonce.begin() + kSaltLength);
  return nonce;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Key derivation.

SecretBytes PrfPlus(HashAlg prf, ByteSpan key, std::initializer_list<ByteSpan> seed,
                    size_t length) {
  const size_t hlen = HashLength(prf);
  IKEPULSE_CHECK(length <= 255 * hlen);
  SecretBytes out(length);
  if (length == 0) return out;
  // The seed is concatenated once, so that each Tn is one HMAC over three pieces.
  size_t seed_len = 0;
  for (ByteSpan part : seed) seed_len += part.size();
  SecretBytes s(seed_len);
  {
    size_t off = 0;
    for (ByteSpan part : seed) {
      if (!part.empty()) std::memcpy(s.data() + off, part.data(), part.size());
      off += part.size();
    }
  }
  SecretBytes t;  // T(n-1); empty before T1
  size_t off = 0;
  for (uint8_t n = 1; off < length; ++n) {
    const uint8_t counter[1] = {n};
    // T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)
    t = Prf(prf, key, {t.span(), s.span(), counter});
    const size_t take = std::min(t.size(), length - off);
    std::memcpy(out.data() + off, t.data(), take);
    off += take;
  }
  return out;
}

SecretBytes Skeyseed(HashAlg prf, ByteSpan ni, ByteSpan nr, ByteSpan g_ir) {
  // SKEYSEED = prf(Ni | Nr, g^ir): the key is the concatenation of the nonces.
  Bytes key;
  key.reserve(ni.size() + nr.size());
  key.insert(key.end(), ni.begin(), ni.end());
  key.insert(key.end(), nr.begin(), nr.end());
  SecretBytes k(key);
  WipeAndFree(key);
  return Prf(prf, k.span(), {g_ir});
}

SecretBytes RekeySkeyseed(HashAlg prf, ByteSpan sk_d_old, ByteSpan g_ir_new, ByteSpan ni,
                          ByteSpan nr) {
  // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
  return Prf(prf, sk_d_old, {g_ir_new, ni, nr});
}

bool IsAead(Ikev2EncrAlg e) { return kAead[EncrIndex(e)]; }
size_t EncrKeyMaterialLength(Ikev2EncrAlg e) {
  return kCipherKeyLen[EncrIndex(e)] + (IsAead(e) ? kSaltLength : 0);
}
size_t IvLength(Ikev2EncrAlg e) { return IsAead(e) ? 8 : kCbcBlock; }
size_t IntegKeyLength(Ikev2IntegAlg i) { return kIntegKeyLen[IntegIndex(i)]; }
size_t IcvLength(Ikev2EncrAlg e, Ikev2IntegAlg i) {
  return IsAead(e) ? kGcmIcvLength : kIcvLen[IntegIndex(i)];
}
const char* Ikev2EncrName(Ikev2EncrAlg e) { return kEncrNames[EncrIndex(e)]; }
const char* Ikev2IntegName(Ikev2IntegAlg i) { return kIntegNames[IntegIndex(i)]; }

Result<void, CryptoError> CheckSuite(const IkeSuite& s) {
  if (!ValidEncr(s.encr) || !ValidInteg(s.integ) ||
      static_cast<size_t>(s.prf) > static_cast<size_t>(HashAlg::kSha512)) {
    return MakeUnexpected(CryptoError{"Unknown IKEv2 algorithm."});
  }
  if (IsAead(s.encr) && s.integ != Ikev2IntegAlg::kNone) {
    return MakeUnexpected(CryptoError{"An AEAD cipher takes no integrity algorithm."});
  }
  if (!IsAead(s.encr) && s.integ == Ikev2IntegAlg::kNone) {
    return MakeUnexpected(CryptoError{"A CBC cipher needs an integrity algorithm."});
  }
  return {};
}

Result<IkeSaKeys, CryptoError> DeriveIkeSaKeys(const IkeSuite& s, ByteSpan skeyseed, ByteSpan ni,
                                               ByteSpan nr, ByteSpan spi_i, ByteSpan spi_r) {
  if (auto ok = CheckSuite(s); !ok) return MakeUnexpected(ok.error());
  if (spi_i.size() != 8 || spi_r.size() != 8) {
    return MakeUnexpected(CryptoError{"IKE SA SPIs are 8 bytes."});
  }
  const size_t prf_len = HashLength(s.prf);
  const size_t a_len = IntegKeyLength(s.integ);
  const size_t e_len = EncrKeyMaterialLength(s.encr);
  const size_t total = 3 * prf_len + 2 * a_len + 2 * e_len;
  // {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
  const SecretBytes km = PrfPlus(s.prf, skeyseed, {ni, nr, spi_i, spi_r}, total);
  IkeSaKeys k;
  size_t off = 0;
  k.sk_d = Take(km, &off, prf_len);
  k.sk_ai = Take(km, &off, a_len);
  k.sk_ar = Take(km, &off, a_len);
  k.sk_ei = Take(km, &off, e_len);
  k.sk_er = Take(km, &off, e_len);
  k.sk_pi = Take(km, &off, prf_len);
  k.sk_pr = Take(km, &off, prf_len);
  IKEPULSE_CHECK(off == total);
  return k;
}

ChildSaKeys DeriveChildSaKeys(HashAlg prf, ByteSpan sk_d, std::optional<ByteSpan> g_ir_new,
                              ByteSpan ni, ByteSpan nr, size_t encr_key_len, size_t integ_key_len) {
  const size_t total = 2 * (encr_key_len + integ_key_len);
  // KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)
  const SecretBytes km = PrfPlus(prf, sk_d, {g_ir_new.value_or(ByteSpan()), ni, nr}, total);
  ChildSaKeys k;
  size_t off = 0;
  k.encr_i = Take(km, &off, encr_key_len);
  k.integ_i = Take(km, &off, integ_key_len);
  k.encr_r = Take(km, &off, encr_key_len);
  k.integ_r = Take(km, &off, integ_key_len);
  return k;
}

// ---------------------------------------------------------------------------------------------
// PSK AUTH.

SecretBytes MacedId(HashAlg prf, ByteSpan sk_p, ByteSpan id_body) {
  // MACedIDFor{I,R} = prf(SK_p{i,r}, RestOf{Init,Resp}IDPayload)
  return Prf(prf, sk_p, {id_body});
}

SecretBytes PskAuth(HashAlg prf, ByteSpan psk, ByteSpan real_message, ByteSpan peer_nonce,
                    ByteSpan sk_p, ByteSpan id_body) {
  static constexpr char kKeyPad[] = "Key Pad for IKEv2";  // 17 bytes without the NUL
  const ByteSpan pad(reinterpret_cast<const uint8_t*>(kKeyPad), sizeof(kKeyPad) - 1);
  const SecretBytes maced_id = MacedId(prf, sk_p, id_body);
  const SecretBytes auth_key = Prf(prf, psk, {pad});
  // AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), RealMessage | Nonce | MACedID)
  return Prf(prf, auth_key.span(), {real_message, peer_nonce, maced_id.span()});
}

bool VerifyPskAuth(HashAlg prf, ByteSpan psk, ByteSpan real_message, ByteSpan peer_nonce,
                   ByteSpan sk_p, ByteSpan id_body, ByteSpan received) {
  const SecretBytes want = PskAuth(prf, psk, real_message, peer_nonce, sk_p, id_body);
  return ConstantTimeEqual(want.span(), received);
}

// ---------------------------------------------------------------------------------------------
// SK payload.

SkKeys SkKeysFor(const IkeSuite& s, const IkeSaKeys& k, bool sender_is_initiator) {
  SkKeys out;
  out.encr = s.encr;
  out.integ = s.integ;
  out.encr_key = sender_is_initiator ? k.sk_ei.span() : k.sk_er.span();
  out.integ_key = sender_is_initiator ? k.sk_ai.span() : k.sk_ar.span();
  return out;
}

namespace {
// Plaintext length: inner | padding | Pad Length. CBC: the smallest multiple of the block;
// AEAD: no padding.
size_t PaddedLength(Ikev2EncrAlg e, size_t inner_len) {
  if (IsAead(e)) return inner_len + 1;
  return (inner_len / kCbcBlock + 1) * kCbcBlock;
}
}  // namespace

size_t ProtectedLength(Ikev2EncrAlg e, Ikev2IntegAlg i, size_t prefix_len, size_t inner_len) {
  return prefix_len + IvLength(e) + PaddedLength(e, inner_len) + IcvLength(e, i);
}

Result<Bytes, CryptoError> ProtectSk(const SkKeys& k, ByteSpan message_prefix, ByteSpan inner,
                                     Random& random) {
  if (auto ok = CheckKeys(k); !ok) return MakeUnexpected(ok.error());
  if (message_prefix.size() < kIkeHeaderSize + kGenericHeaderSize) {
    return MakeUnexpected(CryptoError{"Message prefix shorter than header + SK header."});
  }
  if (inner.size() > std::numeric_limits<uint32_t>::max()) {
    return MakeUnexpected(CryptoError{"Inner payloads too long."});
  }
  const size_t iv_len = IvLength(k.encr);
  const size_t icv_len = IcvLength(k.encr, k.integ);
  const size_t plain_len = PaddedLength(k.encr, inner.size());
  const size_t sk_len = kGenericHeaderSize + iv_len + plain_len + icv_len;
  const size_t total = message_prefix.size() + iv_len + plain_len + icv_len;
  if (sk_len > std::numeric_limits<uint16_t>::max()) {
    return MakeUnexpected(CryptoError{"SK payload longer than 65535 bytes."});
  }
  if (total > std::numeric_limits<uint32_t>::max()) {
    return MakeUnexpected(CryptoError{"Message longer than 2^32-1 bytes."});
  }

  Bytes out(message_prefix.begin(), message_prefix.end());
  WriteU32(out, kLengthFieldOffset, static_cast<uint32_t>(total));
  WriteU16(out, out.size() - 2, static_cast<uint16_t>(sk_len));
  const size_t iv_off = out.size();
  out.resize(total);
  const std::span<uint8_t> iv(out.data() + iv_off, iv_len);
  random.Fill(iv);

  // inner | padding (zeros) | Pad Length
  Bytes plain(plain_len, 0);
  if (!inner.empty()) std::memcpy(plain.data(), inner.data(), inner.size());
  plain.back() = static_cast<uint8_t>(plain_len - inner.size() - 1);
  const size_t ct_off = iv_off + iv_len;

  if (IsAead(k.encr)) {
    const auto nonce = GcmNonce(k, iv);
    const ByteSpan aad(out.data(), iv_off);  // header through the SK generic header
    auto sealed = AesGcmSeal(k.encr_key.first(k.encr_key.size() - kSaltLength), nonce, aad, plain);
    WipeAndFree(plain);
    if (!sealed) return MakeUnexpected(sealed.error());
    IKEPULSE_CHECK(sealed->size() == plain_len + icv_len);
    std::memcpy(out.data() + ct_off, sealed->data(), sealed->size());
    return out;
  }
  auto ct = CbcEncrypt(CbcCipher(k.encr), k.encr_key, iv, plain);
  WipeAndFree(plain);
  if (!ct) return MakeUnexpected(ct.error());
  IKEPULSE_CHECK(ct->size() == plain_len);
  std::memcpy(out.data() + ct_off, ct->data(), ct->size());
  // ICV = HMAC(SK_a, header .. end of the ciphertext), truncated
  const size_t icv_off = ct_off + plain_len;
  const Bytes icv = TruncatedHmac(kIntegHash[IntegIndex(k.integ)], k.integ_key,
                                  ByteSpan(out.data(), icv_off), icv_len);
  std::memcpy(out.data() + icv_off, icv.data(), icv_len);
  return out;
}

Result<Bytes, CryptoError> UnprotectSk(const SkKeys& k, ByteSpan datagram, size_t sk_offset) {
  if (auto ok = CheckKeys(k); !ok) return MakeUnexpected(ok.error());
  if (datagram.size() < kIkeHeaderSize) {
    return MakeUnexpected(CryptoError{"Datagram shorter than an IKE header."});
  }
  if (ReadU32(datagram, kLengthFieldOffset) != datagram.size()) {
    return MakeUnexpected(CryptoError{"IKE header Length differs from the datagram size."});
  }
  if (sk_offset < kIkeHeaderSize || sk_offset > datagram.size() ||
      datagram.size() - sk_offset < kGenericHeaderSize) {
    return MakeUnexpected(CryptoError{"SK payload header out of the datagram."});
  }
  const size_t sk_len = ReadU16(datagram, sk_offset + 2);
  if (sk_len != datagram.size() - sk_offset) {
    return MakeUnexpected(CryptoError{"SK payload does not end the datagram."});
  }
  const size_t iv_len = IvLength(k.encr);
  const size_t icv_len = IcvLength(k.encr, k.integ);
  if (sk_len < kGenericHeaderSize + iv_len + icv_len + 1) {
    return MakeUnexpected(CryptoError{"SK payload too short for IV, ICV and Pad Length."});
  }
  const size_t iv_off = sk_offset + kGenericHeaderSize;
  const size_t ct_off = iv_off + iv_len;
  const size_t icv_off = datagram.size() - icv_len;
  const ByteSpan iv = datagram.subspan(iv_off, iv_len);
  const ByteSpan ct = datagram.subspan(ct_off, icv_off - ct_off);
  const ByteSpan icv = datagram.subspan(icv_off, icv_len);

  Bytes plain;
  if (IsAead(k.encr)) {
    const auto nonce = GcmNonce(k, iv);
    Bytes sealed(ct.begin(), ct.end());
    sealed.insert(sealed.end(), icv.begin(), icv.end());
    auto opened = AesGcmOpen(k.encr_key.first(k.encr_key.size() - kSaltLength), nonce,
                             datagram.first(iv_off), sealed);
    if (!opened) return MakeUnexpected(CryptoError{"SK payload ICV mismatch."});
    plain = std::move(*opened);
  } else {
    if (ct.size() % kCbcBlock != 0) {
      return MakeUnexpected(CryptoError{"SK ciphertext is not a multiple of the block size."});
    }
    // Integrity first: nothing is decrypted unless the ICV is right.
    const Bytes want = TruncatedHmac(kIntegHash[IntegIndex(k.integ)], k.integ_key,
                                     datagram.first(icv_off), icv_len);
    if (!ConstantTimeEqual(want, icv)) {
      return MakeUnexpected(CryptoError{"SK payload ICV mismatch."});
    }
    auto dec = CbcDecrypt(CbcCipher(k.encr), k.encr_key, iv, ct);
    if (!dec) return MakeUnexpected(dec.error());
    plain = std::move(*dec);
  }
  IKEPULSE_CHECK(!plain.empty());
  // inner | padding | Pad Length: the padding must fit in front of the Pad Length byte.
  const size_t pad_len = plain.back();
  if (pad_len + 1 > plain.size()) {
    return MakeUnexpected(CryptoError{"SK Pad Length larger than the plaintext."});
  }
  plain.resize(plain.size() - pad_len - 1);
  return plain;
}

}  // namespace ikepulse::crypto
