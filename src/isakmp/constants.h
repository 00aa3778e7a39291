// ISAKMP / IKEv1 / IPsec DOI constants with their RFC numbers (RFC 2408, 2407, 2409, 3706,
// 3947). Every enum value is written out.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ikepulse::isakmp {

inline constexpr uint8_t kIsakmpVersion = 0x10;  // major 1, minor 0
inline constexpr uint32_t kDoiIpsec = 1;
inline constexpr uint32_t kSituationIdentityOnly = 1;
inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kGenericHeaderSize = 4;
inline constexpr size_t kCookieSize = 8;

enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 1,
  kProposal = 2,
  kTransform = 3,
  kKeyExchange = 4,
  kId = 5,
  kCert = 6,
  kCertRequest = 7,
  kHash = 8,
  kSignature = 9,
  kNonce = 10,
  kNotification = 11,
  kDelete = 12,
  kVendorId = 13,
  kNatD = 20,         // RFC 3947
  kNatOa = 21,        // RFC 3947
  kNatDDraft = 130,   // draft-ietf-ipsec-nat-t-ike-02/03
  kNatOaDraft = 131,  // draft
  kFragment = 132,    // Cisco/Microsoft IKE fragmentation
};

enum class ExchangeType : uint8_t {
  kNone = 0,
  kBase = 1,
  kIdentityProtection = 2,  // Main Mode
  kAuthenticationOnly = 3,
  kAggressive = 4,
  kInformational = 5,
  kTransaction = 6,  // Mode-Config / XAUTH
  kQuickMode = 32,
  kNewGroupMode = 33,
};

// Header flags (RFC 2408 §3.1).
inline constexpr uint8_t kFlagEncryption = 0x01;
inline constexpr uint8_t kFlagCommit = 0x02;
inline constexpr uint8_t kFlagAuthOnly = 0x04;

// RFC 2408 §3.14.1 notify message types (errors 1-16383, status 16384-65535) + RFC 3706.
enum class NotifyType : uint16_t {
  kNone = 0,
  kInvalidPayloadType = 1,
  kDoiNotSupported = 2,
  kSituationNotSupported = 3,
  kInvalidCookie = 4,
  kInvalidMajorVersion = 5,
  kInvalidMinorVersion = 6,
  kInvalidExchangeType = 7,
  kInvalidFlags = 8,
  kInvalidMessageId = 9,
  kInvalidProtocolId = 10,
  kInvalidSpi = 11,
  kInvalidTransformId = 12,
  kAttributesNotSupported = 13,
  kNoProposalChosen = 14,
  kBadProposalSyntax = 15,
  kPayloadMalformed = 16,
  kInvalidKeyInformation = 17,
  kInvalidIdInformation = 18,
  kInvalidCertEncoding = 19,
  kInvalidCertificate = 20,
  kCertTypeUnsupported = 21,
  kInvalidCertAuthority = 22,
  kInvalidHashInformation = 23,
  kAuthenticationFailed = 24,
  kInvalidSignature = 25,
  kAddressNotification = 26,
  kNotifySaLifetime = 27,
  kCertificateUnavailable = 28,
  kUnsupportedExchangeType = 29,
  kUnequalPayloadLengths = 30,
  kConnected = 16384,
  kResponderLifetime = 24576,  // RFC 2407 §4.6.3.1
  kReplayStatus = 24577,
  kInitialContact = 24578,
  kRUThere = 36136,     // RFC 3706
  kRUThereAck = 36137,  // RFC 3706
  kUnityHeartbeat = 40500,
  kCiscoHeartbeat = 40503,
};

// Protocol IDs (RFC 2407 §4.4.1).
enum class ProtocolId : uint8_t {
  kIsakmp = 1,
  kAh = 2,
  kEsp = 3,
  kIpcomp = 4,
};

// ISAKMP transform ID (RFC 2407 §4.4.2).
inline constexpr uint8_t kTransformKeyIke = 1;

// ESP transform IDs (RFC 2407 §4.4.4).
enum class EspTransformId : uint8_t {
  kDes = 2,
  k3Des = 3,
  kNull = 11,
  kAes = 12,  // RFC 3602
};

// Phase-1 attribute types (RFC 2409 Appendix A).
enum class P1Attr : uint16_t {
  kEncryptionAlgorithm = 1,
  kHashAlgorithm = 2,
  kAuthenticationMethod = 3,
  kGroupDescription = 4,
  kGroupType = 5,
  kLifeType = 11,
  kLifeDuration = 12,
  kPrf = 13,
  kKeyLength = 14,
};
enum class P1Encryption : uint16_t { kDes = 1, kIdea = 2, kBlowfish = 3, k3Des = 5, kAes = 7 };
enum class P1Hash : uint16_t { kMd5 = 1, kSha1 = 2, kTiger = 3, kSha256 = 4, kSha384 = 5, kSha512 = 6 };
enum class P1Auth : uint16_t { kPreSharedKey = 1, kDss = 2, kRsa = 3, kXauthInitPsk = 65001 };
enum class LifeType : uint16_t { kSeconds = 1, kKilobytes = 2 };

// IPsec DOI SA attributes (RFC 2407 §4.5).
enum class P2Attr : uint16_t {
  kSaLifeType = 1,
  kSaLifeDuration = 2,
  kGroupDescription = 3,
  kEncapsulationMode = 4,
  kAuthenticationAlgorithm = 5,
  kKeyLength = 6,
  kKeyRounds = 7,
};
enum class EncapsulationMode : uint16_t {
  kTunnel = 1,
  kTransport = 2,
  kUdpTunnel = 3,            // RFC 3947
  kUdpTransport = 4,         // RFC 3947
  kUdpTunnelDraft = 61443,   // draft-ietf-ipsec-nat-t-ike
  kUdpTransportDraft = 61444,
};
enum class P2Auth : uint16_t {
  kHmacMd5 = 1,
  kHmacSha1 = 2,
  kHmacSha256 = 5,
  kHmacSha384 = 6,
  kHmacSha512 = 7,
};

// ID types (RFC 2407 §4.6.2.1).
enum class IdType : uint8_t {
  kIpv4Addr = 1,
  kFqdn = 2,
  kUserFqdn = 3,
  kIpv4Subnet = 4,
  kIpv6Addr = 5,
  kIpv6Subnet = 6,
  kIpv4Range = 7,
  kIpv6Range = 8,
  kDerAsn1Dn = 9,
  kDerAsn1Gn = 10,
  kKeyId = 11,
};

const char* PayloadTypeName(PayloadType t);
const char* ExchangeTypeName(ExchangeType t);
// IOS-style names: "R_U_THERE", "R_U_THERE_ACK", "INITIAL_CONTACT", "INVALID_PAYLOAD_TYPE"...
const char* NotifyTypeName(uint16_t t);

}  // namespace ikepulse::isakmp
