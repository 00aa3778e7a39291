// The IKEv2 SA proposals and traffic selectors of the IOS FlexVPN configuration, and the
// choice among a peer's offers (Ikev2Session, ikev2_session.cc): our IKE proposals from the
// `crypto ikev2 policy|proposal` objects, our ESP proposals from a crypto map entry's
// transform sets, the responder's selection (the peer's order, per transform type the peer's
// first choice that we list), and IPv4 traffic selectors from a crypto map ACL with the
// responder's narrowing. Pure functions of the configuration and the offers.
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "config/config.h"
#include "crypto/ikev2_keys.h"
#include "ike/algorithms.h"
#include "ikev2/payloads.h"

namespace ikepulse::ike::v2 {

inline constexpr uint8_t kTsAllProtocols = 0;

// The IKE SA transforms chosen: the reply proposal (one transform per type) and its suite.
struct IkeChoice {
  ikev2::Proposal reply;  // one transform per type, the peer's proposal number
  crypto::IkeSuite suite;
  uint16_t group = 0;
};

// A transform set as IKEv2 ESP transform IDs (encryption, its key bits, integrity). integ 0:
// AES-GCM-16, which takes no INTEG transform (RFC 5282 §8: none, or INTEG NONE, on receipt).
struct EspIds {
  uint16_t encr = 0, bits = 0, integ = 0;
};

// The ESP proposal chosen for a Child SA.
struct EspChoice {
  ikev2::Proposal reply;  // responder: with our SPI
  Phase2Algs algs;
  uint32_t peer_spi = 0;
};

// An IPv4 traffic selector as ranges of addresses and ports, with its IP protocol (0: any).
struct Range {  // IPv4 only
  uint32_t lo = 0, hi = 0;
  uint8_t proto = 0;
  uint16_t plo = 0, phi = 0xffff;
};

// IKE SA proposals.
bool Lists(const ikev2::Proposal& p, const ikev2::Transform& t);  // p offers t
// Ours, from the policies that apply to `local` (else every complete proposal).
ikev2::SaPayload OurIkeProposals(const config::Config& cfg, const IpAddress& local);
// The suite of a reply proposal with exactly one transform per type it needs.
std::optional<IkeChoice> SuiteOf(const ikev2::Proposal& p);
// Responder: the first offered proposal ours cover; per type, the peer's first choice we list.
std::optional<IkeChoice> SelectIke(const ikev2::SaPayload& offered, const ikev2::SaPayload& ours);

// ESP (Child SA) proposals, from a crypto map entry's transform sets.
std::optional<EspIds> EspIdsOf(const config::TransformSet& ts);
Bytes SpiBytes(uint32_t spi);  // 4 bytes, network order
uint32_t SpiValue(ByteSpan b);
Phase2Algs AlgsOf(const config::TransformSet& ts, const config::CryptoMapEntry& e);
ikev2::SaPayload OurEspProposals(const config::Config& cfg, const config::CryptoMapEntry& e,
                                 uint32_t spi_in);
bool EspMatches(const ikev2::Proposal& p, const EspIds& ids, bool exact);
std::optional<EspChoice> SelectEsp(const ikev2::SaPayload& offered, const config::Config& cfg,
                                   const config::CryptoMapEntry& e);

// Traffic selectors (IPv4), from a crypto map ACL.
IpAddress Invert(const IpAddress& w);  // an ACL wildcard as a mask
const config::AclEntry* FirstPermit(const config::AccessList* acl);
Range FromNet(const IpAddress& net, const IpAddress& mask, uint8_t proto);
std::optional<Range> FromTs(const ikev2::TrafficSelector& t);
ikev2::TrafficSelector ToTs(const Range& r);
bool Within(const Range& inner, const Range& outer);
// Responder: the largest intersection of the peer's selectors with ours (nullopt: none).
std::optional<Range> Narrow(const ikev2::TsPayload& offered, const Range& ours);
// A range that is one prefix, as network and mask (false otherwise).
bool ToNet(const Range& r, IpAddress& net, IpAddress& mask);

}  // namespace ikepulse::ike::v2
