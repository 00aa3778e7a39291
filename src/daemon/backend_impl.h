// BackendImpl: cli::Backend over the daemon's ike::Node. Every `show` is a snapshot copied from
// Node::IsakmpSas / ChildSas / Entries at the current time; every change (configuration, clear,
// debug) is a Node call whose Outbox the daemon flushes at once (datagrams to the sockets,
// events to the log). The running configuration lives here; the startup-config is the file
// given with -f, replaced atomically by `write memory` (atomic_file.h).
//
// Single-threaded (the event loop). The Node and the context's callbacks must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/backend.h"
#include "common/time.h"
#include "config/config.h"
#include "daemon/logger.h"
#include "ike/node.h"
#include "ike/outbox.h"

namespace ikepulse::daemon {

class BackendImpl final : public cli::Backend {
 public:
  struct Context {
    std::function<TimePoint()> now;
    // Sends the datagrams and logs the events of an Outbox filled by a Node call.
    std::function<void(ike::Outbox&)> flush;
    // Called with a new configuration just before it goes to the Node, so the daemon can bind
    // the sockets it needs before the Node's first packets for it. Optional.
    std::function<void(const config::Config&)> before_apply;
    std::string startup_config_path;
    TimePoint started_at;
    // The log (its `logging buffered` buffer follows the configuration). Optional.
    Logger* logger = nullptr;
    // The data plane's per-line ACL match counters. Optional.
    std::function<std::vector<uint64_t>(const std::string&)> acl_matches;
    // `ping` through the data plane (cli::Backend's ping operations). Optional: without
    // them, ping answers that it is not available.
    std::function<Result<uint64_t, std::string>(const cli::PingRequest&)> start_ping = nullptr;
    std::function<std::optional<cli::PingStatus>(uint64_t)> ping_progress = nullptr;
    std::function<void(uint64_t)> stop_ping = nullptr;
  };

  BackendImpl(ike::Node& node, Context ctx);

  const config::Config& Running() override { return running_; }
  std::optional<std::string> ApplyConfig(const config::Config& config) override;
  std::string StartupConfigText() override;
  std::optional<std::string> WriteStartupConfig(const std::string& text) override;

  std::vector<cli::IsakmpSaInfo> IsakmpSas() override;
  std::vector<cli::IpsecSaInfo> IpsecSas() override;
  std::vector<cli::CryptoSessionInfo> CryptoSessions() override;
  // The engine's IKEv2 SAs (Node::Ikev2Sas), by tunnel id.
  std::vector<ike::Ikev2SaSnapshot> Ikev2Sas() const override;
  std::optional<IpAddress> CurrentPeer(const std::string& map_name, uint32_t seq) override;
  // Streaming show pages: each costs in proportion to its keys (index lookups in the Node,
  // a binary search in the running configuration), never a pass over every SA or entry.
  std::vector<uint32_t> IsakmpSaIds() override;
  std::vector<cli::IsakmpSaInfo> IsakmpSasById(std::span<const uint32_t> conn_ids) override;
  std::vector<IpAddress> SessionPeers() override;
  std::vector<cli::CryptoSessionInfo> CryptoSessionsOf(std::span<const IpAddress> peers) override;
  std::vector<cli::CryptoMapKey> IpsecSaEntries() override;
  std::vector<cli::IpsecSaInfo> IpsecSasOf(std::span<const cli::CryptoMapKey> entries) override;

  void ClearCryptoSession(const cli::ClearSessionFilter& filter) override;
  void ClearCryptoSa(const cli::ClearSaFilter& filter) override;
  void ClearCryptoIsakmp(std::optional<uint32_t> conn_id) override;
  // Deletes the IKEv2 SAs the filter selects (Deletes sent), and their Child SAs.
  void ClearCryptoIkev2Sa(const cli::ClearIkev2SaFilter& filter) override;
  // One engine debug flag serves `debug crypto isakmp` and `debug crypto ikev2`: the engine
  // has one, which it gives every session through SessionHost::DebugOn (session.h).
  void SetDebugIsakmp(bool on) override { node_.SetDebug(on); }
  bool DebugIsakmp() override { return node_.debug(); }
  void SetDebugIkev2(bool on) override { node_.SetDebug(on); }
  bool DebugIkev2() override { return node_.debug(); }
  int64_t UptimeSeconds() override;
  cli::CallAdmissionInfo CallAdmission() override;
  int64_t WallClockMs() override;
  cli::LogBufferInfo LogBuffer() override;
  void ClearLogging() override;
  std::optional<cli::LinkState> InterfaceState(const std::string& name) override;
  std::vector<uint64_t> AclMatches(const std::string& name) override;
  Result<uint64_t, std::string> StartPing(const cli::PingRequest& request) override;
  std::optional<cli::PingStatus> PingProgress(uint64_t handle) override;
  void StopPing(uint64_t handle) override;

 private:
  void ClearWith(const ike::ClearFilter& f);
  // The interface a crypto map is applied to ("" if none), from an index rebuilt after a
  // configuration change.
  const std::string& InterfaceOf(const std::string& map_name);
  // The interface with address `a` that has a crypto map ("" if none).
  const std::string& InterfaceWithAddress(const IpAddress& a);
  void IndexInterfaces();
  const config::CryptoMapEntry* EntryOf(const std::string& map_name, uint32_t seq) const;
  std::vector<cli::IpsecSaInfo> Flows(const std::vector<ike::ChildSaSnapshot>& children);
  // An entry with no IPsec SA: one line per permit line of its ACL.
  void IdleEntry(const std::string& map_name, uint32_t seq, std::optional<IpAddress> current_peer,
                 std::vector<cli::IpsecSaInfo>& out);
  std::vector<cli::CryptoSessionInfo> Sessions(const std::vector<ike::IsakmpSaSnapshot>& ike_sas,
                                               const std::vector<ike::ChildSaSnapshot>& children);

  ike::Node& node_;
  Context ctx_;
  config::Config running_;
  std::unordered_map<std::string, std::string> interface_by_map_;
  std::map<IpAddress, std::string> interface_by_address_;
  bool interface_index_valid_ = false;
};

// IOS transform text for an ESP SA ("esp-aes 256 esp-sha-hmac").
std::string TransformText(config::EspCipher cipher, config::EspAuth auth);

}  // namespace ikepulse::daemon
