// Names of the IKEv2 numbers for debug lines. The payload names are the short forms used in
// message summaries ("SA KE Ni/Nr N(COOKIE)").
#include "ikev2/constants.h"

namespace ikepulse::ikev2 {

// Only the enumerators listed are named; -Wswitch does not apply because the argument is a
// raw number that may be any value.
const char* PayloadTypeName(uint8_t t) {
  switch (static_cast<PayloadType>(t)) {
    case PayloadType::kSa:
      return "SA";
    case PayloadType::kKe:
      return "KE";
    case PayloadType::kIdi:
      return "IDi";
    case PayloadType::kIdr:
      return "IDr";
    case PayloadType::kCert:
      return "CERT";
    case PayloadType::kCertReq:
      return "CERTREQ";
    case PayloadType::kAuth:
      return "AUTH";
    case PayloadType::kNonce:
      return "Ni/Nr";
    case PayloadType::kNotify:
      return "N";
    case PayloadType::kDelete:
      return "D";
    case PayloadType::kVendorId:
      return "V";
    case PayloadType::kTsi:
      return "TSi";
    case PayloadType::kTsr:
      return "TSr";
    case PayloadType::kSk:
      return "SK";
    case PayloadType::kCp:
      return "CP";
    case PayloadType::kEap:
      return "EAP";
    case PayloadType::kSkf:
      return "SKF";
    case PayloadType::kNone:
      return "NONE";
  }
  return "UNKNOWN";
}
const char* ExchangeTypeName(uint8_t t) {
  switch (static_cast<ExchangeType>(t)) {
    case ExchangeType::kIkeSaInit:
      return "IKE_SA_INIT";
    case ExchangeType::kIkeAuth:
      return "IKE_AUTH";
    case ExchangeType::kCreateChildSa:
      return "CREATE_CHILD_SA";
    case ExchangeType::kInformational:
      return "INFORMATIONAL";
    case ExchangeType::kNone:
      return "NONE";
  }
  return "UNKNOWN";
}
const char* NotifyTypeName(uint16_t t) {
  switch (static_cast<NotifyType>(t)) {
    case NotifyType::kUnsupportedCriticalPayload:
      return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case NotifyType::kInvalidIkeSpi:
      return "INVALID_IKE_SPI";
    case NotifyType::kInvalidMajorVersion:
      return "INVALID_MAJOR_VERSION";
    case NotifyType::kInvalidSyntax:
      return "INVALID_SYNTAX";
    case NotifyType::kInvalidMessageId:
      return "INVALID_MESSAGE_ID";
    case NotifyType::kInvalidSpi:
      return "INVALID_SPI";
    case NotifyType::kNoProposalChosen:
      return "NO_PROPOSAL_CHOSEN";
    case NotifyType::kInvalidKePayload:
      return "INVALID_KE_PAYLOAD";
    case NotifyType::kAuthenticationFailed:
      return "AUTHENTICATION_FAILED";
    case NotifyType::kSinglePairRequired:
      return "SINGLE_PAIR_REQUIRED";
    case NotifyType::kNoAdditionalSas:
      return "NO_ADDITIONAL_SAS";
    case NotifyType::kInternalAddressFailure:
      return "INTERNAL_ADDRESS_FAILURE";
    case NotifyType::kFailedCpRequired:
      return "FAILED_CP_REQUIRED";
    case NotifyType::kTsUnacceptable:
      return "TS_UNACCEPTABLE";
    case NotifyType::kInvalidSelectors:
      return "INVALID_SELECTORS";
    case NotifyType::kTemporaryFailure:
      return "TEMPORARY_FAILURE";
    case NotifyType::kChildSaNotFound:
      return "CHILD_SA_NOT_FOUND";
    case NotifyType::kInitialContact:
      return "INITIAL_CONTACT";
    case NotifyType::kSetWindowSize:
      return "SET_WINDOW_SIZE";
    case NotifyType::kAdditionalTsPossible:
      return "ADDITIONAL_TS_POSSIBLE";
    case NotifyType::kIpcompSupported:
      return "IPCOMP_SUPPORTED";
    case NotifyType::kNatDetectionSourceIp:
      return "NAT_DETECTION_SOURCE_IP";
    case NotifyType::kNatDetectionDestinationIp:
      return "NAT_DETECTION_DESTINATION_IP";
    case NotifyType::kCookie:
      return "COOKIE";
    case NotifyType::kUseTransportMode:
      return "USE_TRANSPORT_MODE";
    case NotifyType::kHttpCertLookupSupported:
      return "HTTP_CERT_LOOKUP_SUPPORTED";
    case NotifyType::kRekeySa:
      return "REKEY_SA";
    case NotifyType::kEspTfcPaddingNotSupported:
      return "ESP_TFC_PADDING_NOT_SUPPORTED";
    case NotifyType::kNonFirstFragmentsAlso:
      return "NON_FIRST_FRAGMENTS_ALSO";
    case NotifyType::kMobikeSupported:
      return "MOBIKE_SUPPORTED";
    case NotifyType::kMultipleAuthSupported:
      return "MULTIPLE_AUTH_SUPPORTED";
    case NotifyType::kRedirectSupported:
      return "REDIRECT_SUPPORTED";
    case NotifyType::kFragmentationSupported:
      return "IKEV2_FRAGMENTATION_SUPPORTED";
    case NotifyType::kSignatureHashAlgorithms:
      return "SIGNATURE_HASH_ALGORITHMS";
    case NotifyType::kNone:
      return "NONE";
  }
  return "UNKNOWN";
}
const char* TransformTypeName(uint8_t t) {
  switch (static_cast<TransformType>(t)) {
    case TransformType::kEncr:
      return "ENCR";
    case TransformType::kPrf:
      return "PRF";
    case TransformType::kInteg:
      return "INTEG";
    case TransformType::kDh:
      return "DH";
    case TransformType::kEsn:
      return "ESN";
  }
  return "UNKNOWN";
}
}  // namespace ikepulse::ikev2
