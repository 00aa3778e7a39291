#include "ike/vendor_ids.h"

#include <algorithm>

namespace ikepulse::ike {

namespace {
const uint8_t kDpdPrefix[14] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1,
                                0xc9, 0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57};
const uint8_t kUnityPrefix[14] = {0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68,
                                  0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc};

bool StartsWith(ByteSpan v, const uint8_t* p, size_t n) {
  return v.size() >= n && std::equal(p, p + n, v.begin());
}
bool Equals(ByteSpan v, const Bytes& b) { return v.size() == b.size() && std::equal(b.begin(), b.end(), v.begin()); }
}  // namespace

const Bytes& DpdVendorId() {
  static const Bytes v = HexOrDie("afcad71368a1f1c96b8696fc77570100");
  return v;
}
const Bytes& CiscoUnityVendorId() {
  static const Bytes v = HexOrDie("12f5f28c457168a9702d9fe274cc0100");
  return v;
}
const Bytes& XauthVendorId() {
  static const Bytes v = HexOrDie("09002689dfd6b712");
  return v;
}
const Bytes& NatTRfcVendorId() {
  static const Bytes v = HexOrDie("4a131c81070358455c5728f20e95452f");
  return v;
}

VendorKind ClassifyVendorId(ByteSpan vid) {
  static const Bytes kDraft02 = HexOrDie("cd60464335df21f87cfdb2fc68b6a448");
  static const Bytes kDraft02n = HexOrDie("90cb80913ebb696e086381b5ec427b1f");
  static const Bytes kDraft03 = HexOrDie("7d9419a65310ca6f2c179d9215529d56");
  static const Bytes kFrag = HexOrDie("4048b7d56ebce88525e7de7f00d6c2d3");
  static const Bytes kStrongSwanPrefix = HexOrDie("882fe56d6fd20dbc2251613b2ebe5beb");
  if (StartsWith(vid, kDpdPrefix, 14) && vid.size() == 16)
    return vid[14] == 0x01 ? VendorKind::kDpd : VendorKind::kDpdWrongMajor;
  if (StartsWith(vid, kUnityPrefix, 14)) return VendorKind::kCiscoUnity;
  if (Equals(vid, NatTRfcVendorId())) return VendorKind::kNatTRfc;
  if (Equals(vid, kDraft02) || Equals(vid, kDraft02n) || Equals(vid, kDraft03))
    return VendorKind::kNatTDraft;
  if (Equals(vid, XauthVendorId())) return VendorKind::kXauth;
  if (StartsWith(vid, kFrag.data(), kFrag.size())) return VendorKind::kFragmentation;
  if (Equals(vid, kStrongSwanPrefix)) return VendorKind::kStrongSwan;
  return VendorKind::kUnknown;
}

std::string VendorIdDebugText(VendorKind k, ByteSpan vid) {
  switch (k) {
    case VendorKind::kDpd: return "vendor ID is DPD";
    case VendorKind::kDpdWrongMajor:
      return "vendor ID seems Unity/DPD but major " + std::to_string(vid[14]) + " mismatch";
    case VendorKind::kNatTRfc: return "vendor ID is NAT-T RFC 3947";
    case VendorKind::kNatTDraft: return "vendor ID is NAT-T v2";
    case VendorKind::kCiscoUnity: return "vendor ID is Unity";
    case VendorKind::kXauth: return "vendor ID is XAUTH";
    case VendorKind::kFragmentation: return "vendor ID is Frag";
    case VendorKind::kStrongSwan: return "vendor ID is strongSwan";
    case VendorKind::kCiscoIos: return "speaking to another IOS box!";
    case VendorKind::kUnknown: break;
  }
  return "processing vendor id payload (unknown: " + ToHex(vid) + ")";
}

}  // namespace ikepulse::ike
