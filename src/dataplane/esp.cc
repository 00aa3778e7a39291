// ESP encapsulation / decapsulation (RFC 4303 §2-3), tunnel mode.
#include "dataplane/esp.h"

#include <array>

namespace ikepulse::dataplane {
namespace {

Unexpected<EspError> Fail(EspErrorCode code, const char* detail) {
  return MakeUnexpected(EspError{code, detail});
}

uint32_t LoadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void StoreU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

const char* EspErrorName(EspErrorCode c) {
  switch (c) {
    case EspErrorCode::kTruncated: return "truncated";
    case EspErrorCode::kSpiMismatch: return "spi-mismatch";
    case EspErrorCode::kReplay: return "replay";
    case EspErrorCode::kIcvMismatch: return "icv-mismatch";
    case EspErrorCode::kBadLength: return "bad-length";
    case EspErrorCode::kBadPadding: return "bad-padding";
    case EspErrorCode::kBadNextHeader: return "bad-next-header";
    case EspErrorCode::kDummyPacket: return "dummy-packet";
    case EspErrorCode::kCryptoFailure: return "crypto-failure";
    case EspErrorCode::kBadInnerPacket: return "bad-inner-packet";
    case EspErrorCode::kNoSa: return "no-sa";
  }
  return "unknown";
}

Result<EspSa, crypto::CryptoError> EspSa::Create(uint32_t spi, crypto::EspEncAlg enc,
                                                 ByteSpan enc_key, crypto::EspIntegAlg integ,
                                                 ByteSpan integ_key) {
  auto ctx = crypto::EspCryptoContext::Create(enc, enc_key, integ, integ_key);
  if (!ctx) return MakeUnexpected(ctx.error());
  EspSa sa;
  sa.spi = spi;
  sa.crypto = std::move(*ctx);
  return sa;
}

bool PeekEspHeader(ByteSpan esp, uint32_t& spi, uint32_t& seq) {
  if (esp.size() < kEspHeaderLength) return false;
  spi = LoadU32(esp.data());
  seq = LoadU32(esp.data() + 4);
  return true;
}

Result<Bytes, EspError> Encapsulate(const EspSa& sa, uint32_t seq, ByteSpan inner,
                                    Random& iv_source) {
  IKEPULSE_CHECK(sa.crypto != nullptr);
  uint8_t next_header = 0;
  if (!inner.empty() && (inner[0] >> 4) == 4) {
    next_header = kNextHeaderIpv4;
  } else if (!inner.empty() && (inner[0] >> 4) == 6) {
    next_header = kNextHeaderIpv6;
  } else {
    return Fail(EspErrorCode::kBadInnerPacket, "Inner packet is not IPv4 or IPv6.");
  }
  const crypto::EspCryptoContext& c = *sa.crypto;
  const size_t iv_len = c.iv_length();
  const size_t align = c.alignment();
  // §2.4: payload | padding | pad length | next header, aligned to the block size.
  const size_t unpadded = inner.size() + 2;
  const size_t pad_len = (align - unpadded % align) % align;  // < align <= 16 < 256
  const size_t enc_len = unpadded + pad_len;

  Bytes out(kEspHeaderLength + iv_len + enc_len + c.icv_length());
  uint8_t* p = out.data();
  StoreU32(p, sa.spi);
  StoreU32(p + 4, seq);
  std::span<uint8_t> iv(p + kEspHeaderLength, iv_len);
  std::span<uint8_t> body(p + kEspHeaderLength + iv_len, enc_len);
  std::copy(inner.begin(), inner.end(), body.begin());
  for (size_t i = 0; i < pad_len; ++i) body[inner.size() + i] = static_cast<uint8_t>(i + 1);
  body[enc_len - 2] = static_cast<uint8_t>(pad_len);
  body[enc_len - 1] = next_header;
  if (c.aead()) {
    // RFC 4106 §3.1: the IV must never repeat under one key, and need not be unpredictable:
    // the sequence number (which the SA database never lets wrap) zero-extended to 8 bytes.
    StoreU32(p + kEspHeaderLength, 0);
    StoreU32(p + kEspHeaderLength + 4, seq);
    // §5: AAD = SPI | sequence number (no ESN).
    const std::span<uint8_t> icv(p + kEspHeaderLength + iv_len + enc_len, c.icv_length());
    if (auto r = c.Seal(ByteSpan(p, kEspHeaderLength), iv, body, icv); !r) {
      return Fail(EspErrorCode::kCryptoFailure, "Encryption failed.");
    }
    return out;
  }
  iv_source.Fill(iv);
  if (auto r = c.Encrypt(iv, body); !r) {
    return Fail(EspErrorCode::kCryptoFailure, "Encryption failed.");
  }
  // §3.3.2: the ICV covers SPI | seq | IV | ciphertext.
  const size_t covered = kEspHeaderLength + iv_len + enc_len;
  c.ComputeIcv({ByteSpan(out.data(), covered)},
               std::span<uint8_t>(out.data() + covered, c.icv_length()));
  return out;
}

Result<Decapsulated, EspError> Decapsulate(EspSa& sa, ByteSpan esp) {
  if (!sa.crypto) return Fail(EspErrorCode::kNoSa, "No crypto context.");
  const crypto::EspCryptoContext& c = *sa.crypto;
  const size_t iv_len = c.iv_length();
  const size_t icv_len = c.icv_length();
  const size_t align = c.alignment();
  // The smallest valid packet carries one aligned block holding pad length + next header.
  if (esp.size() < kEspHeaderLength + iv_len + align + icv_len) {
    return Fail(EspErrorCode::kTruncated, "Packet shorter than the minimum ESP packet.");
  }
  uint32_t spi = 0, seq = 0;
  if (!PeekEspHeader(esp, spi, seq)) {
    return Fail(EspErrorCode::kTruncated, "Unable to read the ESP header.");
  }
  if (spi != sa.spi) return Fail(EspErrorCode::kSpiMismatch, "SPI does not match the SA.");
  const bool integrity = c.authenticated();
  // §3.4.3: anti-replay only with integrity; checked before the ICV (cheap rejection).
  if (integrity) {
    switch (sa.replay.Check(seq)) {
      case ReplayVerdict::kOk: break;
      case ReplayVerdict::kZero: return Fail(EspErrorCode::kReplay, "Sequence number 0.");
      case ReplayVerdict::kTooOld:
        return Fail(EspErrorCode::kReplay, "Sequence number left of the replay window.");
      case ReplayVerdict::kDuplicate:
        return Fail(EspErrorCode::kReplay, "Duplicate sequence number.");
    }
  }
  const size_t covered = esp.size() - icv_len;
  const size_t enc_len = covered - kEspHeaderLength - iv_len;
  const ByteSpan iv = esp.subspan(kEspHeaderLength, iv_len);
  Bytes plain;
  if (c.aead()) {
    // RFC 4106: the ICV over SPI | seq (AAD) and the ciphertext is verified while decrypting
    // into a separate buffer, which is used only once it verified.
    plain.resize(enc_len);
    auto r = c.Open(esp.first(kEspHeaderLength), iv, esp.subspan(kEspHeaderLength + iv_len, enc_len),
                    esp.subspan(covered), plain);
    if (!r) {
      if (r.error() == crypto::EspCryptoContext::OpenError::kIcvMismatch) {
        return Fail(EspErrorCode::kIcvMismatch, "ICV verification failed.");
      }
      return Fail(EspErrorCode::kCryptoFailure, "Decryption failed.");
    }
    if (enc_len % align != 0) {
      return Fail(EspErrorCode::kBadLength, "Ciphertext is not a multiple of 4 bytes.");
    }
    sa.replay.Accept(seq);  // authenticated (§3.4.3)
  } else {
    // §3.4.4: the ICV is verified (constant time) before decryption.
    if (!c.VerifyIcv({esp.first(covered)}, esp.subspan(covered))) {
      return Fail(EspErrorCode::kIcvMismatch, "ICV verification failed.");
    }
    if (enc_len % align != 0) {
      return Fail(EspErrorCode::kBadLength, "Ciphertext is not a multiple of the block size.");
    }
    // Authenticated: slide the window now (§3.4.3), whatever the payload turns out to be.
    if (integrity) sa.replay.Accept(seq);
    plain.assign(esp.begin() + static_cast<std::ptrdiff_t>(kEspHeaderLength + iv_len),
                 esp.begin() + static_cast<std::ptrdiff_t>(covered));
    if (auto r = c.Decrypt(iv, plain); !r) {
      return Fail(EspErrorCode::kCryptoFailure, "Decryption failed.");
    }
  }
  const uint8_t next_header = plain[enc_len - 1];
  const size_t pad_len = plain[enc_len - 2];
  if (pad_len + 2 > enc_len) {
    return Fail(EspErrorCode::kBadPadding, "Pad length exceeds the payload.");
  }
  const size_t inner_len = enc_len - 2 - pad_len;
  for (size_t i = 0; i < pad_len; ++i) {
    if (plain[inner_len + i] != static_cast<uint8_t>(i + 1)) {
      return Fail(EspErrorCode::kBadPadding, "Padding is not 1, 2, 3, ...");
    }
  }
  if (next_header == kNextHeaderNone) {
    return Fail(EspErrorCode::kDummyPacket, "Dummy packet (next header 59).");
  }
  if (next_header != kNextHeaderIpv4 && next_header != kNextHeaderIpv6) {
    return Fail(EspErrorCode::kBadNextHeader, "Next header is not IPv4 or IPv6.");
  }
  const uint8_t want_version = next_header == kNextHeaderIpv4 ? 4 : 6;
  if (inner_len == 0 || (plain[0] >> 4) != want_version) {
    return Fail(EspErrorCode::kBadNextHeader, "Inner packet version disagrees with next header.");
  }
  plain.resize(inner_len);
  return Decapsulated{std::move(plain), seq, next_header};
}

}  // namespace ikepulse::dataplane
