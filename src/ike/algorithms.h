// Mapping between the configuration model, the IKEv1 attribute numbers and src/crypto, and
// the proposal logic of both phases (build as initiator, select as responder, IOS rules).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "crypto/crypto.h"
#include "isakmp/payloads.h"

namespace ikepulse::ike {

// What a phase-1 negotiation agreed on.
struct Phase1Algs {
  config::Encryption encryption = config::Encryption::kAes128;
  config::Hash hash = config::Hash::kSha1;
  uint16_t group = 14;
  uint32_t lifetime_s = 86400;
  crypto::CipherAlg cipher() const;
  crypto::HashAlg prf() const;
  bool operator==(const Phase1Algs&) const = default;
};

bool EncryptionSupported(config::Encryption e);  // DES is not
const char* EncryptionName(config::Encryption e);  // IOS `show` names: "aes", "aes192", "3des"
const char* HashName(config::Hash h);              // "sha", "sha256", "md5"

// The initiator's phase-1 SA payload: one ISAKMP proposal, one transform per usable
// `crypto isakmp policy` (pre-share only), in priority order.
isakmp::SaPayload BuildPhase1Sa(const config::Config& cfg);

// IOS responder rule: the first of the peer's transforms that one of our policies accepts
// (same encryption/key length, hash, pre-share, group; peer lifetime <= ours; the peer's
// shorter lifetime is used). Returns the chosen transform (as received) and its algorithms.
struct Phase1Choice {
  isakmp::Transform transform;
  uint8_t proposal_number = 1;
  Phase1Algs algs;
};
std::optional<Phase1Choice> SelectPhase1(const isakmp::SaPayload& offered,
                                         const config::Config& cfg);
// The initiator checks the responder's single accepted transform against what it offered.
std::optional<Phase1Algs> ParsePhase1Transform(const isakmp::Transform& t);

// Phase 2 (IPsec ESP).
struct Phase2Algs {
  config::EspCipher cipher = config::EspCipher::kAes128;
  config::EspAuth auth = config::EspAuth::kSha1;
  config::IpsecMode mode = config::IpsecMode::kTunnel;
  bool udp_encap = false;
  std::optional<uint16_t> pfs_group;
  uint32_t lifetime_s = config::kDefaultIpsecLifetimeS;
  uint64_t lifetime_kb = config::kDefaultIpsecLifetimeKb;
  size_t EncKeyLength() const;
  size_t AuthKeyLength() const;
  std::string TransformName() const;  // "esp-aes esp-sha-hmac"
};

// QM1 SA: one ESP proposal per transform set of the entry (numbers 1..N), SPI = spi_in.
// `draft_natt` selects the draft UDP-encapsulation mode number.
isakmp::SaPayload BuildPhase2Sa(const config::Config& cfg, const config::CryptoMapEntry& e,
                                uint32_t spi_in, bool udp_encap, bool draft_natt);
// Responder: the first offered proposal that matches one of the entry's transform sets (and
// its PFS setting); a proposal with a zero lifetime (seconds or kilobytes) is not acceptable. Returns the chosen proposal (as received, SPI = the peer's inbound SPI).
struct Phase2Choice {
  isakmp::Proposal proposal;  // as received
  Phase2Algs algs;
  uint32_t peer_spi = 0;
};
std::optional<Phase2Choice> SelectPhase2(const isakmp::SaPayload& offered,
                                         const config::Config& cfg,
                                         const config::CryptoMapEntry& e);
// Which lifetime attributes a proposal carried (absent ones take the defaults in Phase2Algs).
struct Phase2LifetimeAttrs {
  bool seconds = false;
  bool kilobytes = false;
};
std::optional<Phase2Algs> ParsePhase2Proposal(const isakmp::Proposal& p,
                                              Phase2LifetimeAttrs* given = nullptr);

// Initiator: checks the responder's QM2 SA against what our QM1 proposed for entry `e` (one
// proposal, SPI >= 256, an offered transform, lifetimes neither longer than ours nor 0 - an
// absent one means ours -, the PFS group we asked for with a KE or neither, the proxy IDs
// `idci`/`idcr` we sent). `ke`: QM2 had a KE; `have_dh`: our QM1 had one. Returns why it is
// refused, or "" with `algs` set to what was agreed.
std::string CheckQm2(const config::Config& cfg, const config::CryptoMapEntry* e,
                     const isakmp::SaPayload& sap, bool ke, bool have_dh,
                     const std::vector<const isakmp::IdPayload*>& ids,
                     const isakmp::IdPayload& idci, const isakmp::IdPayload& idcr,
                     Phase2Algs& algs);

crypto::CipherAlg EspCipherAlg(config::EspCipher c);

}  // namespace ikepulse::ike
