#include "isakmp/constants.h"

namespace ikepulse::isakmp {

const char* PayloadTypeName(PayloadType t) {
  switch (t) {
    case PayloadType::kNone:
      return "NONE";
    case PayloadType::kSa:
      return "SA";
    case PayloadType::kProposal:
      return "PROPOSAL";
    case PayloadType::kTransform:
      return "TRANSFORM";
    case PayloadType::kKeyExchange:
      return "KE";
    case PayloadType::kId:
      return "ID";
    case PayloadType::kCert:
      return "CERT";
    case PayloadType::kCertRequest:
      return "CERT_REQ";
    case PayloadType::kHash:
      return "HASH";
    case PayloadType::kSignature:
      return "SIG";
    case PayloadType::kNonce:
      return "NONCE";
    case PayloadType::kNotification:
      return "NOTIFY";
    case PayloadType::kDelete:
      return "DELETE";
    case PayloadType::kVendorId:
      return "VID";
    case PayloadType::kNatD:
      return "NAT-D";
    case PayloadType::kNatOa:
      return "NAT-OA";
    case PayloadType::kNatDDraft:
      return "NAT-D(draft)";
    case PayloadType::kNatOaDraft:
      return "NAT-OA(draft)";
    case PayloadType::kFragment:
      return "FRAGMENT";
  }
  return "UNKNOWN";
}

const char* ExchangeTypeName(ExchangeType t) {
  switch (t) {
    case ExchangeType::kNone:
      return "NONE";
    case ExchangeType::kBase:
      return "BASE";
    case ExchangeType::kIdentityProtection:
      return "MAIN_MODE";
    case ExchangeType::kAuthenticationOnly:
      return "AUTH_ONLY";
    case ExchangeType::kAggressive:
      return "AGGRESSIVE";
    case ExchangeType::kInformational:
      return "INFORMATIONAL";
    case ExchangeType::kTransaction:
      return "TRANSACTION";
    case ExchangeType::kQuickMode:
      return "QUICK_MODE";
    case ExchangeType::kNewGroupMode:
      return "NEW_GROUP_MODE";
  }
  return "UNKNOWN";
}

const char* NotifyTypeName(uint16_t t) {
  switch (static_cast<NotifyType>(t)) {
    case NotifyType::kNone:
      return "NONE";
    case NotifyType::kInvalidPayloadType:
      return "INVALID_PAYLOAD_TYPE";
    case NotifyType::kDoiNotSupported:
      return "DOI_NOT_SUPPORTED";
    case NotifyType::kSituationNotSupported:
      return "SITUATION_NOT_SUPPORTED";
    case NotifyType::kInvalidCookie:
      return "INVALID_COOKIE";
    case NotifyType::kInvalidMajorVersion:
      return "INVALID_MAJOR_VERSION";
    case NotifyType::kInvalidMinorVersion:
      return "INVALID_MINOR_VERSION";
    case NotifyType::kInvalidExchangeType:
      return "INVALID_EXCHANGE_TYPE";
    case NotifyType::kInvalidFlags:
      return "INVALID_FLAGS";
    case NotifyType::kInvalidMessageId:
      return "INVALID_MESSAGE_ID";
    case NotifyType::kInvalidProtocolId:
      return "INVALID_PROTOCOL_ID";
    case NotifyType::kInvalidSpi:
      return "INVALID_SPI";
    case NotifyType::kInvalidTransformId:
      return "INVALID_TRANSFORM_ID";
    case NotifyType::kAttributesNotSupported:
      return "ATTRIBUTES_NOT_SUPPORTED";
    case NotifyType::kNoProposalChosen:
      return "NO_PROPOSAL_CHOSEN";
    case NotifyType::kBadProposalSyntax:
      return "BAD_PROPOSAL_SYNTAX";
    case NotifyType::kPayloadMalformed:
      return "PAYLOAD_MALFORMED";
    case NotifyType::kInvalidKeyInformation:
      return "INVALID_KEY_INFORMATION";
    case NotifyType::kInvalidIdInformation:
      return "INVALID_ID_INFORMATION";
    case NotifyType::kInvalidCertEncoding:
      return "INVALID_CERT_ENCODING";
    case NotifyType::kInvalidCertificate:
      return "INVALID_CERTIFICATE";
    case NotifyType::kCertTypeUnsupported:
      return "CERT_TYPE_UNSUPPORTED";
    case NotifyType::kInvalidCertAuthority:
      return "INVALID_CERT_AUTHORITY";
    case NotifyType::kInvalidHashInformation:
      return "INVALID_HASH_INFORMATION";
    case NotifyType::kAuthenticationFailed:
      return "AUTHENTICATION_FAILED";
    case NotifyType::kInvalidSignature:
      return "INVALID_SIGNATURE";
    case NotifyType::kAddressNotification:
      return "ADDRESS_NOTIFICATION";
    case NotifyType::kNotifySaLifetime:
      return "NOTIFY_SA_LIFETIME";
    case NotifyType::kCertificateUnavailable:
      return "CERTIFICATE_UNAVAILABLE";
    case NotifyType::kUnsupportedExchangeType:
      return "UNSUPPORTED_EXCHANGE_TYPE";
    case NotifyType::kUnequalPayloadLengths:
      return "UNEQUAL_PAYLOAD_LENGTHS";
    case NotifyType::kConnected:
      return "CONNECTED";
    case NotifyType::kResponderLifetime:
      return "RESPONDER_LIFETIME";
    case NotifyType::kReplayStatus:
      return "REPLAY_STATUS";
    case NotifyType::kInitialContact:
      return "INITIAL_CONTACT";
    case NotifyType::kRUThere:
      return "R_U_THERE";
    case NotifyType::kRUThereAck:
      return "R_U_THERE_ACK";
    case NotifyType::kUnityHeartbeat:
      return "UNITY_HEARTBEAT";
    case NotifyType::kCiscoHeartbeat:
      return "CISCO_HEARTBEAT";
  }
  return "UNKNOWN";
}

}  // namespace ikepulse::isakmp
