// Text (IOS layout) and JSON renderings of the show commands. Pure functions over snapshots;
// internal to src/cli (tests call them directly).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/json.h"
#include "config/config.h"

namespace ikepulse::cli {

// "23:59:52" (IOS lifetime format: hours may exceed 24).
std::string HhMmSs(int64_t seconds);

// show crypto isakmp sa [detail]            (show_isakmp.cc)
std::string FormatIsakmpSas(const std::vector<IsakmpSaInfo>& sas, bool detail);
// FormatIsakmpSas in three parts, for a streamed show (header, any number of row pages,
// trailer).
std::string IsakmpSaHeader(bool detail);
std::string IsakmpSaRows(const std::vector<IsakmpSaInfo>& sas, bool detail);
std::string IsakmpSaTrailer(bool detail);
void JsonIsakmpSas(const std::vector<IsakmpSaInfo>& sas, JsonWriter& w);
// show crypto isakmp policy / key           (show_isakmp.cc)
std::string FormatIsakmpPolicies(const config::Config& c);
void JsonIsakmpPolicies(const config::Config& c, JsonWriter& w);
std::string FormatIsakmpKeys(const config::Config& c);

// show crypto ipsec sa [peer A]             (show_ipsec.cc)
std::string FormatIpsecSas(const std::vector<IpsecSaInfo>& sas, std::optional<IpAddress> peer);
// One page of FormatIpsecSas; `last_if` carries the interface of the previous row across
// pages (an `interface:` heading starts each change of interface).
std::string IpsecSaRows(const std::vector<IpsecSaInfo>& sas, std::optional<IpAddress> peer,
                        std::optional<std::string>& last_if);
void JsonIpsecSas(const std::vector<IpsecSaInfo>& sas, std::optional<IpAddress> peer,
                  JsonWriter& w);
// show crypto session [detail]              (show_ipsec.cc)
std::string FormatCryptoSessions(const std::vector<CryptoSessionInfo>& s, bool detail);
std::string CryptoSessionHeader(bool detail);
std::string CryptoSessionRows(const std::vector<CryptoSessionInfo>& s, bool detail);
void JsonCryptoSessions(const std::vector<CryptoSessionInfo>& s, JsonWriter& w);
// show crypto map                           (show_commands.cc)
std::string FormatCryptoMaps(const config::Config& c, Backend& backend);
void JsonCryptoMaps(const config::Config& c, Backend& backend, JsonWriter& w);

// show crypto ikev2 proposal / policy / profile [NAME] (show_ikev2.cc); `only` empty: all.
std::string FormatIkev2Proposals(const config::Config& c, const std::string& only);
void JsonIkev2Proposals(const config::Config& c, const std::string& only, JsonWriter& w);
std::string FormatIkev2Policies(const config::Config& c, const std::string& only);
void JsonIkev2Policies(const config::Config& c, const std::string& only, JsonWriter& w);
std::string FormatIkev2Profiles(const config::Config& c, const std::string& only);
void JsonIkev2Profiles(const config::Config& c, const std::string& only, JsonWriter& w);

// show crypto ikev2 sa [local A | remote A] [detailed], show crypto ikev2 session [detailed]
// (show_ikev2_sa.cc). `sas` already filtered.
std::string FormatIkev2Sas(const std::vector<ike::Ikev2SaSnapshot>& sas, bool detailed);
void JsonIkev2Sas(const std::vector<ike::Ikev2SaSnapshot>& sas, JsonWriter& w);
std::string FormatIkev2Sessions(const std::vector<ike::Ikev2SaSnapshot>& sas, bool detailed);
void JsonIkev2Sessions(const std::vector<ike::Ikev2SaSnapshot>& sas, JsonWriter& w);

// The IKEv2 SAs in `show crypto session`: by peer (each list by ascending tunnel id).
using Ikev2ByPeer = std::map<IpAddress, std::vector<ike::Ikev2SaSnapshot>>;
Ikev2ByPeer Ikev2SasByPeer(std::vector<ike::Ikev2SaSnapshot> sas);
// Adds the IKEv2 SAs of each session's peer to it (its status then covers both versions),
// and appends a session for each of `peers` that has IKEv2 SAs and no session in `sessions`.
void AttachIkev2(std::vector<CryptoSessionInfo>& sessions, std::span<const IpAddress> peers,
                 const Ikev2ByPeer& v2, const config::Config& c);
// The backend's sessions with the IKEv2 SAs attached, then the IKEv2-only sessions by peer.
std::vector<CryptoSessionInfo> MergeIkev2Sessions(std::vector<CryptoSessionInfo> sessions,
                                                  std::vector<ike::Ikev2SaSnapshot> sas,
                                                  const config::Config& c);
// A session's "Session ID:" and "IKEv2 SA:" lines, and their JSON array ("ikev2_sas").
std::string Ikev2SessionLines(const CryptoSessionInfo& s, bool detail);
void JsonIkev2SessionSas(const CryptoSessionInfo& s, JsonWriter& w);

// show clock / logging / ip interface brief / access-lists / crypto ipsec transform-set
// (show_system.cc)
std::string FormatClock(int64_t unix_ms);
std::string FormatLogging(const LogBufferInfo& log);
std::string FormatIpInterfaceBrief(const config::Config& c, Backend& backend);
std::string FormatAccessLists(const config::Config& c, Backend& backend, const std::string& only);
std::string FormatTransformSets(const config::Config& c, const std::string& only);

}  // namespace ikepulse::cli
