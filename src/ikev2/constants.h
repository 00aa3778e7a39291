// IKEv2 constants with their RFC 7296 numbers (and RFC 5282, 5903, 7383, 7427 where noted).
// Every enum value is written out. Fields that carry these on the wire are kept as their raw
// integers in the payload structs, so values we do not know survive a round trip.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ikepulse::ikev2 {

inline constexpr uint8_t kIkeVersion = 0x20;  // major 2, minor 0
inline constexpr uint8_t kMajorVersion = 2;
inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kGenericHeaderSize = 4;
inline constexpr size_t kSpiSize = 8;  // IKE SA SPI
inline constexpr size_t kNonceMin = 16;
inline constexpr size_t kNonceMax = 256;

// Payload types (§3.2). 1-32 are reserved (IKEv1 numbers) and 128-255 private use.
enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 33,
  kKe = 34,
  kIdi = 35,
  kIdr = 36,
  kCert = 37,
  kCertReq = 38,
  kAuth = 39,
  kNonce = 40,
  kNotify = 41,
  kDelete = 42,
  kVendorId = 43,
  kTsi = 44,
  kTsr = 45,
  kSk = 46,
  kCp = 47,
  kEap = 48,
  kSkf = 53,  // RFC 7383 encrypted fragment
};

// Exchange types (§3.1).
enum class ExchangeType : uint8_t {
  kNone = 0,
  kIkeSaInit = 34,
  kIkeAuth = 35,
  kCreateChildSa = 36,
  kInformational = 37,
};

// Header flags (§3.1).
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;

// Generic payload header: the critical bit is the top bit of the second byte (§3.2).
inline constexpr uint8_t kCriticalBit = 0x80;

// Security protocol IDs (§3.3.1, §3.10, §3.11).
enum class ProtocolId : uint8_t {
  kNone = 0,
  kIke = 1,
  kAh = 2,
  kEsp = 3,
};

// Transform types (§3.3.2).
enum class TransformType : uint8_t {
  kEncr = 1,
  kPrf = 2,
  kInteg = 3,
  kDh = 4,
  kEsn = 5,
};

// Transform IDs of type ENCR (§3.3.2, RFC 5282 for GCM).
enum class EncrId : uint16_t {
  kDes = 2,
  k3des = 3,
  kNull = 11,
  kAesCbc = 12,
  kAesCtr = 13,
  kAesCcm16 = 16,
  kAesGcm8 = 18,
  kAesGcm12 = 19,
  kAesGcm16 = 20,
  kChacha20Poly1305 = 28,
};

// Transform IDs of type PRF.
enum class PrfId : uint16_t {
  kHmacMd5 = 1,
  kHmacSha1 = 2,
  kAes128Xcbc = 4,
  kHmacSha2_256 = 5,
  kHmacSha2_384 = 6,
  kHmacSha2_512 = 7,
};

// Transform IDs of type INTEG.
enum class IntegId : uint16_t {
  kNone = 0,
  kHmacMd5_96 = 1,
  kHmacSha1_96 = 2,
  kAesXcbc96 = 5,
  kHmacSha2_256_128 = 12,
  kHmacSha2_384_192 = 13,
  kHmacSha2_512_256 = 14,
};

// Transform IDs of type DH (§3.3.2, RFC 3526, RFC 5903, RFC 8031).
enum class DhGroup : uint16_t {
  kNone = 0,
  kModp768 = 1,
  kModp1024 = 2,
  kModp1536 = 5,
  kModp2048 = 14,
  kModp3072 = 15,
  kModp4096 = 16,
  kEcp256 = 19,
  kEcp384 = 20,
  kEcp521 = 21,
  kCurve25519 = 31,
};

// Transform IDs of type ESN.
enum class EsnId : uint16_t {
  kNoEsn = 0,
  kEsn = 1,
};

// Transform attribute types (§3.3.5). Key Length is always in the TV form.
inline constexpr uint16_t kAttrKeyLength = 14;

// Identification types (§3.5).
enum class IdType : uint8_t {
  kIpv4Addr = 1,
  kFqdn = 2,
  kRfc822Addr = 3,
  kIpv6Addr = 5,
  kDerAsn1Dn = 9,
  kDerAsn1Gn = 10,
  kKeyId = 11,
};

// Authentication methods (§3.8, RFC 4754, RFC 7427).
enum class AuthMethod : uint8_t {
  kRsaSig = 1,
  kSharedKey = 2,
  kDssSig = 3,
  kEcdsa256 = 9,
  kEcdsa384 = 10,
  kEcdsa521 = 11,
  kDigitalSignature = 14,
};

// Notify message types (§3.10.1): errors below 16384, status types from 16384.
enum class NotifyType : uint16_t {
  kNone = 0,
  kUnsupportedCriticalPayload = 1,
  kInvalidIkeSpi = 4,
  kInvalidMajorVersion = 5,
  kInvalidSyntax = 7,
  kInvalidMessageId = 9,
  kInvalidSpi = 11,
  kNoProposalChosen = 14,
  kInvalidKePayload = 17,
  kAuthenticationFailed = 24,
  kSinglePairRequired = 34,
  kNoAdditionalSas = 35,
  kInternalAddressFailure = 36,
  kFailedCpRequired = 37,
  kTsUnacceptable = 38,
  kInvalidSelectors = 39,
  kTemporaryFailure = 43,
  kChildSaNotFound = 44,
  kInitialContact = 16384,
  kSetWindowSize = 16385,
  kAdditionalTsPossible = 16386,
  kIpcompSupported = 16387,
  kNatDetectionSourceIp = 16388,
  kNatDetectionDestinationIp = 16389,
  kCookie = 16390,
  kUseTransportMode = 16391,
  kHttpCertLookupSupported = 16392,
  kRekeySa = 16393,
  kEspTfcPaddingNotSupported = 16394,
  kNonFirstFragmentsAlso = 16395,
  kMobikeSupported = 16396,          // RFC 4555
  kMultipleAuthSupported = 16404,    // RFC 4739
  kRedirectSupported = 16406,        // RFC 5685
  kFragmentationSupported = 16430,   // RFC 7383
  kSignatureHashAlgorithms = 16431,  // RFC 7427
};
inline constexpr uint16_t kFirstStatusNotify = 16384;

// Traffic selector types (§3.13.1).
enum class TsType : uint8_t {
  kIpv4AddrRange = 7,
  kIpv6AddrRange = 8,
};

// Configuration payload (§3.15): CFG types and the attribute types of §3.15.1.
enum class CfgType : uint8_t {
  kRequest = 1,
  kReply = 2,
  kSet = 3,
  kAck = 4,
};
enum class CfgAttr : uint16_t {
  kInternalIp4Address = 1,
  kInternalIp4Netmask = 2,
  kInternalIp4Dns = 3,
  kInternalIp4Nbns = 4,
  kInternalIp4Dhcp = 6,
  kApplicationVersion = 7,
  kInternalIp6Address = 8,
  kInternalIp6Dns = 10,
  kInternalIp6Dhcp = 12,
  kInternalIp4Subnet = 13,
  kSupportedAttributes = 14,
  kInternalIp6Subnet = 15,
};

// Names for debug lines ("IKE_SA_INIT", "NOTIFY", "COOKIE"); numbers we do not know are
// rendered as "UNKNOWN".
const char* PayloadTypeName(uint8_t t);
const char* ExchangeTypeName(uint8_t t);
const char* NotifyTypeName(uint16_t t);
const char* TransformTypeName(uint8_t t);

}  // namespace ikepulse::ikev2
