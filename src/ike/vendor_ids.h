// Vendor IDs ikepulse sends and recognizes (DESIGN.md §2.11).
#pragma once

#include <string>

#include "common/bytes.h"

namespace ikepulse::ike {

// RFC 3706 §5.1: 14-byte prefix + major 0x01 + minor 0x00.
const Bytes& DpdVendorId();
// RFC 3947: MD5("RFC 3947").
const Bytes& NatTRfcVendorId();
// What IOS also announces in MM1/MM2 and ikepulse sends too, because it changes nothing for
// the peer: Cisco Unity (MD5("CISCO-UNITY") truncated, major 1 minor 0) and XAUTH
// (draft-ietf-ipsra-isakmp-xauth). strongSwan and Libreswan only note them (they matter for
// remote-access Mode Config / XAUTH, which a site-to-site PSK tunnel never starts), so a
// scanner or an IOS peer sees IOS's set while the negotiation is unchanged. Not sent: Cisco
// fragmentation (it would let a peer fragment IKE messages we do not reassemble) and IOS's
// own box identifier (its bytes are not public).
const Bytes& CiscoUnityVendorId();
const Bytes& XauthVendorId();

enum class VendorKind {
  kUnknown,
  kDpd,
  kDpdWrongMajor,  // shares the DPD/Unity prefix but major != 1
  kNatTRfc,
  kNatTDraft,
  kCiscoUnity,
  kXauth,
  kFragmentation,
  kStrongSwan,
  kCiscoIos,
};
// Classifies a received vendor ID. The DPD rule: 14-byte prefix match and major == 1 (the
// minor byte is ignored), as IOS compares it.
VendorKind ClassifyVendorId(ByteSpan vid);
// IOS-style debug text: "vendor ID is DPD", "vendor ID is NAT-T RFC 3947", ...
std::string VendorIdDebugText(VendorKind k, ByteSpan vid);

}  // namespace ikepulse::ike
