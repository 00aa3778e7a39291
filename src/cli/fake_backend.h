// FakeBackend: a cli::Backend for tests. Holds a running config, a startup-config text and
// fixed snapshots; records every operation the session asked for.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cli/backend.h"

namespace ikepulse::cli {

class FakeBackend : public Backend {
 public:
  const config::Config& Running() override { return running; }
  std::optional<std::string> ApplyConfig(const config::Config& c) override {
    ++apply_calls;
    if (refuse_apply) return refuse_apply;
    running = c;
    return std::nullopt;
  }
  std::string StartupConfigText() override { return startup; }
  std::optional<std::string> WriteStartupConfig(const std::string& text) override {
    if (refuse_write) return refuse_write;
    startup = text;
    return std::nullopt;
  }
  std::vector<IsakmpSaInfo> IsakmpSas() override { return isakmp_sas; }
  std::vector<IpsecSaInfo> IpsecSas() override { return ipsec_sas; }
  std::vector<CryptoSessionInfo> CryptoSessions() override { return sessions; }
  std::vector<ike::Ikev2SaSnapshot> Ikev2Sas() const override { return ikev2_sas; }
  std::optional<IpAddress> CurrentPeer(const std::string& map, uint32_t seq) override {
    auto it = current_peers.find({map, seq});
    if (it == current_peers.end()) return std::nullopt;
    return it->second;
  }
  void ClearCryptoSession(const ClearSessionFilter& f) override { cleared_sessions.push_back(f); }
  void ClearCryptoSa(const ClearSaFilter& f) override { cleared_sas.push_back(f); }
  void ClearCryptoIsakmp(std::optional<uint32_t> id) override { cleared_isakmp.push_back(id); }
  void ClearCryptoIkev2Sa(const ClearIkev2SaFilter& f) override { cleared_ikev2.push_back(f); }
  void SetDebugIsakmp(bool on) override { debug_isakmp = on; }
  bool DebugIsakmp() override { return debug_isakmp; }
  void SetDebugIkev2(bool on) override { debug_ikev2 = on; }
  bool DebugIkev2() override { return debug_ikev2; }
  int64_t UptimeSeconds() override { return uptime_s; }
  CallAdmissionInfo CallAdmission() override { return cac; }
  int64_t WallClockMs() override { return wall_ms; }
  LogBufferInfo LogBuffer() override { return log; }
  void ClearLogging() override {
    log.lines.clear();
    log.logged = 0;
    ++clear_logging_calls;
  }
  std::optional<LinkState> InterfaceState(const std::string& name) override {
    auto it = links.find(name);
    if (it == links.end()) return std::nullopt;
    return it->second;
  }
  std::vector<uint64_t> AclMatches(const std::string& name) override {
    auto it = acl_matches.find(name);
    return it == acl_matches.end() ? std::vector<uint64_t>{} : it->second;
  }

  // Pings: StartPing records the request and starts `ping_result` (source, repeat and size
  // filled in); tests change `pings_running[handle]` to make progress.
  Result<uint64_t, std::string> StartPing(const PingRequest& r) override {
    ping_requests.push_back(r);
    if (refuse_ping) return MakeUnexpected(*refuse_ping);
    PingStatus s = ping_result;
    s.source = r.source.value_or(ping_default_source);
    s.repeat = std::min(r.repeat, ping_max_repeat);
    s.size = r.size;
    const uint64_t h = next_ping++;
    pings_running[h] = s;
    return h;
  }
  std::optional<PingStatus> PingProgress(uint64_t h) override {
    auto it = pings_running.find(h);
    if (it == pings_running.end()) return std::nullopt;
    return it->second;
  }
  void StopPing(uint64_t h) override {
    pings_stopped.push_back(h);
    pings_running.erase(h);
  }

  config::Config running;
  std::string startup;
  std::optional<std::string> refuse_apply;  // set: ApplyConfig fails with this text
  std::optional<std::string> refuse_write;
  int apply_calls = 0;
  std::vector<IsakmpSaInfo> isakmp_sas;
  std::vector<IpsecSaInfo> ipsec_sas;
  std::vector<CryptoSessionInfo> sessions;
  std::vector<ike::Ikev2SaSnapshot> ikev2_sas;  // by ascending tunnel id, as a backend gives them
  std::map<std::pair<std::string, uint32_t>, IpAddress> current_peers;
  std::vector<ClearSessionFilter> cleared_sessions;
  std::vector<ClearSaFilter> cleared_sas;
  std::vector<std::optional<uint32_t>> cleared_isakmp;
  std::vector<ClearIkev2SaFilter> cleared_ikev2;
  bool debug_isakmp = false;
  bool debug_ikev2 = false;
  int64_t uptime_s = 0;
  CallAdmissionInfo cac;
  int64_t wall_ms = 0;
  LogBufferInfo log;
  int clear_logging_calls = 0;
  std::map<std::string, LinkState> links;
  std::map<std::string, std::vector<uint64_t>> acl_matches;
  std::vector<PingRequest> ping_requests;
  std::optional<std::string> refuse_ping;
  PingStatus ping_result;
  IpAddress ping_default_source = IpAddress::V4(192, 0, 2, 1);
  uint32_t ping_max_repeat = 1000;
  uint64_t next_ping = 1;
  std::map<uint64_t, PingStatus> pings_running;
  std::vector<uint64_t> pings_stopped;
};

}  // namespace ikepulse::cli
