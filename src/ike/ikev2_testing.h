// FOR TESTS AND FUZZ TARGETS ONLY: never include this from the daemon or a library.
//
// What the Ikev2Session tests (ikev2_session_test.cc) and the IKEv2 session fuzz target
// (tests/fuzz/fuzz_ikev2_session.cc) share: a SessionHost that records every report, the
// FlexVPN configuration of one side of a test pair, and StripMarker. Header-only, so that no
// library target changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "ike/outbox.h"
#include "ike/session.h"

namespace ikepulse::ike::testing {

// A SessionHost that records what the session reports. The clock is the caller's (virtual
// time); the random numbers come from a SeededRandom the host owns (copyable, so that a
// snapshot of a host goes on exactly as the original would).
class RecordingHost final : public SessionHost {
 public:
  RecordingHost(const TimePoint* clock, uint64_t seed, uint32_t spi_base)
      : clock_(clock), rng_(seed), next_spi_(spi_base) {}

  TimePoint Now() const override { return *clock_; }
  Random& Rng() override { return rng_; }
  const config::Config& Cfg() const override { return shared_cfg ? *shared_cfg : cfg; }
  void Send(const Endpoint& local, const Endpoint& remote, Bytes d) override {
    Report();
    sent.push_back(Datagram{local, remote, std::move(d)});
  }
  void Emit(EventKind kind, uint64_t value, uint64_t, std::string) override {
    Report();
    events.push_back({kind, value});
  }
  bool DebugOn() const override { return debug; }
  void Debug(std::string_view line) override {
    if (keep_debug_lines) debug_lines.emplace_back(line);
  }
  void Log(const std::string& line) override { logs.push_back(line); }
  void Drop(std::string_view counter, std::string_view reason) override {
    ++drops[std::string(counter)];
    last_drop = std::string(reason);
  }
  uint32_t AllocateSpiIn() override {
    Report();
    return next_spi_++;
  }
  void ReleaseSpiIn(uint32_t spi) override {
    Report();
    released.push_back(spi);
  }
  void Established() override {
    Report();
    established_at.push_back(*clock_);
  }
  void ChildUp(const ChildSaUp& c) override {
    Report();
    child_up.push_back(c);
  }
  void ChildDown(uint32_t in, uint32_t out) override {
    Report();
    child_down.push_back({in, out});
  }
  void Heard() override {
    Report();
    ++heard;
  }
  void PeerDead() override {
    Report();
    dead_at.push_back(*clock_);
  }
  void GaveUp() override {
    Report();
    gave_up_at.push_back(*clock_);
  }
  void BringUpKeptUpAt(const IpAddress& peer) override { kept_up_at.push_back(peer); }
  // As the engine's hosts: the entries listing `peer` (the default walk of the configuration),
  // or what `entries_for` answers when set (a test that checks the session asks no more).
  std::vector<const config::CryptoMapEntry*> EntriesFor(const IpAddress& peer) const override {
    ++entries_for_calls;
    if (entries_for) return entries_for(peer);
    return SessionHost::EntriesFor(peer);
  }
  void InitialContact() override { ++initial_contacts; }
  void Deleted(std::string_view reason) override {
    Report();
    deleted.emplace_back(reason);
    deleted_at.push_back(*clock_);
  }

  size_t DropCount() const {
    size_t n = 0;
    for (const auto& [k, v] : drops) n += v;
    return n;
  }

  // Points the host at another clock (a copied host must follow its own copy of the time).
  void set_clock(const TimePoint* clock) { clock_ = clock; }
  SeededRandom& seeded_rng() { return rng_; }
  const SeededRandom& seeded_rng() const { return rng_; }
  uint32_t next_spi() const { return next_spi_; }

  config::Config cfg;
  // When set, Cfg() is this instead of `cfg` (a fuzz target shares one configuration between
  // all its hosts rather than copying it for each input).
  const config::Config* shared_cfg = nullptr;
  bool debug = true;             // exercises the debug lines (none may carry a key)
  bool keep_debug_lines = true;  // false: the lines are built but not stored
  std::vector<Datagram> sent;
  std::vector<std::pair<EventKind, uint64_t>> events;
  std::vector<std::string> debug_lines, logs;
  std::map<std::string, size_t> drops;
  std::string last_drop;
  std::vector<uint32_t> released;
  std::vector<TimePoint> established_at, dead_at, gave_up_at, deleted_at;
  std::vector<ChildSaUp> child_up;
  std::vector<std::pair<uint32_t, uint32_t>> child_down;
  std::vector<std::string> deleted;
  std::vector<IpAddress> kept_up_at;  // BringUpKeptUpAt calls
  size_t initial_contacts = 0;        // InitialContact calls
  std::function<std::vector<const config::CryptoMapEntry*>(const IpAddress&)> entries_for;
  mutable size_t entries_for_calls = 0;  // EntriesFor calls
  size_t heard = 0;
  // Calls that report something (Send, Emit, SPIs, Established ... Deleted) made after
  // Deleted: a session's Deleted must be its last report, so this stays 0.
  size_t reports_after_deleted = 0;

 private:
  void Report() {
    if (!deleted.empty()) ++reports_after_deleted;
  }

  const TimePoint* clock_;
  SeededRandom rng_;
  uint32_t next_spi_;
};

// The IKE proposal of one side.
struct Suite {
  config::Ikev2Encryption enc = config::Ikev2Encryption::kAesCbc128;
  config::Ikev2Hash integ = config::Ikev2Hash::kSha256;
  std::optional<config::Ikev2Hash> prf;
  std::vector<uint16_t> groups{14};
};

inline const IpAddress kAddrI = IpAddress::V4(192, 0, 2, 1);
inline const IpAddress kAddrR = IpAddress::V4(192, 0, 2, 2);

// The FlexVPN configuration of one side: proposal P1 in policy POL, keyring KR with the
// peer's key, profile PROF, transform set TS (esp-aes esp-sha256-hmac), ACL 101 from our LAN
// to theirs, crypto map CM 10.
inline config::Config MakeConfig(const IpAddress& self, const IpAddress& peer, const Suite& s,
                                 const std::string& psk, const IpAddress& lan,
                                 const IpAddress& peer_lan) {
  config::Config c;
  config::Ikev2Proposal p;
  p.name = "P1";
  p.encryption = {s.enc};
  const bool gcm = s.enc == config::Ikev2Encryption::kAesGcm128 ||
                   s.enc == config::Ikev2Encryption::kAesGcm256;
  if (!gcm) p.integrity = {s.integ};
  if (s.prf) p.prf = {*s.prf};
  p.groups = s.groups;
  c.ikev2_proposals["P1"] = p;
  config::Ikev2Policy pol;
  pol.name = "POL";
  pol.proposals = {"P1"};
  c.ikev2_policies["POL"] = pol;
  config::Ikev2Keyring kr;
  kr.name = "KR";
  config::Ikev2KeyringPeer kp;
  kp.name = "PEER";
  kp.address = peer;
  kp.pre_shared_key = SecretBytes::FromString(psk);
  kr.peers.push_back(kp);
  c.ikev2_keyrings["KR"] = kr;
  config::Ikev2Profile prof;
  prof.name = "PROF";
  prof.match_identity_remote.push_back({peer, std::nullopt, {}, {}});
  prof.authentication_local = config::AuthMethod::kPreShare;
  prof.authentication_remote = config::AuthMethod::kPreShare;
  prof.keyring_local = "KR";
  c.ikev2_profiles["PROF"] = prof;
  config::TransformSet ts;
  ts.name = "TS";
  ts.cipher = config::EspCipher::kAes128;
  ts.auth = config::EspAuth::kSha256;
  c.transform_sets["TS"] = ts;
  config::AccessList acl;
  acl.name = "101";
  config::AclEntry ae;
  ae.src = lan;
  ae.src_wildcard = IpAddress::V4(0, 0, 0, 255);
  ae.dst = peer_lan;
  ae.dst_wildcard = IpAddress::V4(0, 0, 0, 255);
  acl.entries.push_back(ae);
  c.acls["101"] = acl;
  config::CryptoMapEntry e;
  e.map_name = "CM";
  e.seq = 10;
  config::CryptoMapPeer cp;
  cp.host = peer.ToString();
  cp.address = peer;
  e.peers.push_back(cp);
  e.transform_sets = {"TS"};
  e.match_address = "101";
  e.ikev2_profile = "PROF";
  c.crypto_maps.push_back(e);
  (void)self;
  return c;
}

inline config::KeepaliveConfig Dpd(uint32_t i, uint32_t r, config::DpdMode mode) {
  config::KeepaliveConfig k;
  k.enabled = true;
  k.interval_s = i;
  k.retry_s = r;
  k.mode = mode;
  return k;
}

// The IKE message of a datagram a session sent: without the non-ESP marker on port 4500.
inline Bytes StripMarker(const Datagram& d) {
  if (d.local.port == 4500 && d.data.size() >= 4 && d.data[0] == 0 && d.data[1] == 0 &&
      d.data[2] == 0 && d.data[3] == 0)
    return Bytes(d.data.begin() + 4, d.data.end());
  return d.data;
}

}  // namespace ikepulse::ike::testing
