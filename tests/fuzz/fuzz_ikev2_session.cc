// libFuzzer target for Ikev2Session (src/ike/ikev2_session.h): arbitrary and forged
// authenticated datagrams into an IKEv2 initiator and responder in each state.
//
// Two sessions are built in code, as in ikev2_session_test (ike/ikev2_testing.h: the recording
// host and the FlexVPN configuration), with SeededRandom hosts, DH group 19 and the fixed DH
// key pair of crypto/dh_fuzzing.h, so every exchange is deterministic and its keys can be
// computed here. The first input byte picks the starting point:
//   bits 0-2  stage (modulo 7): 0 initiator's IKE_SA_INIT request in flight, no responder yet;
//             1 responder answered IKE_SA_INIT (its response in flight); 2 initiator waiting for
//             the IKE_AUTH response (its request in flight); 3 responder established, its
//             IKE_AUTH response in flight; 4 both established; 5 both established 10 s later,
//             with DPD their liveness probes outstanding; 6 both established, the initiator's
//             Child SA Delete outstanding
//   bit 3     suite: AES-CBC-128 + HMAC-SHA-256 or AES-GCM-256 + PRF SHA-384 (both group 19)
//   bit 4     `dpd 10 2 periodic` on both sides
//   bit 5     `ikepulse nat-t force-encapsulation` on the initiator (port 4500, non-ESP marker)
//   bit 6     debug on (the debug lines are built)
//   bit 7     with bit 4: the responder's dpd is on-demand (probes only with outbound traffic)
// Each of those 112 states is negotiated once and kept; an input starts from a clone of it
// (Session::Clone). The rest of the input is a list of operations, an opcode byte (low 4 bits:
// the operation, bit 4: the side, 1 = initiator) followed by its arguments:
//
//   0  raw datagram to the side: u8 (bit 0: port 4500), u16 length, bytes (to the responder
//      side before it exists: Ikev2Session::Respond)
//   1  Ikev2Session::Respond: u8 mode (bit 0 raw bytes u16 length + bytes, else a recorded
//      datagram u8 index, u8 offset, u8 xor; bit 1 becomes the responder if there is none yet;
//      bit 2 port 4500)
//   2  replay a recorded datagram to its receiver, one byte XORed: u8 index, u8 offset, u8 xor
//   3  advance virtual time by u8 x 100 ms, running the timeouts on the way
//   4  deliver the oldest datagram in flight
//   5  forged message sealed with the IKE SA keys, from the side to the other: u8 exchange
//      (bit 7 clear: 34 + low 2 bits, else the low 7 bits), u8 flags (XORed onto the sender's
//      correct Initiator flag: 0 is a proper request, 0x20 a response), u8 message ID (bit 7:
//      a u32 follows; else the ID the receiver expects, +/- the low 6 bits, bit 6 minus),
//      u8 first inner payload type, u16 length, inner payload bytes
//   6  a recorded encrypted message decrypted, changed and sealed again (an IKE_AUTH keeps a
//      valid AUTH: AUTH does not cover SA and TS): u8 index, u8 mode, u8 a, u8 b, u8 next,
//      [u32 message ID if mode bit 2], u16 length, bytes. Mode bit 0 clear: plaintext byte a
//      XOR b (bit 1: cut b bytes from the end instead); set: keep the first a payloads, then
//      `next` and the bytes as the rest of the chain
//   7  an operation on the side's session: u8 (Delete with/without sending, DeleteChild,
//      traffic in/out, AddChild, the read-only views)
//   8  the oldest datagram in flight is lost
//   9  reorder: u8 k, the k-th datagram in flight overtakes the others
//  10  settle: deliver everything in flight, run 30 s of timers, deliver again
//  11  duplicate: the oldest datagram in flight is delivered and stays in flight
//
// Invariants (FUZZ_CHECK): no crash or sanitizer report; after OnTimeout the session's
// NextDeadline() is in the future or kNever (no livelock); each session reports Deleted at
// most once, as its last report, and is Ended exactly when it did; the Child SAs a session
// shows are those it reported up and not down; a bounded number of datagrams per operation
// (no retransmission storm, no endless ping-pong).
//
// Seeds: tests/fuzz/make_corpus.py. FUZZ_IKEV2_SESSION_TRACE=1 prints, per input, what each
// side reported (to check that a seed does what it is meant to).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/endpoint.h"
#include "common/random.h"
#include "common/time.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "crypto/dh_fuzzing.h"
#include "crypto/ikev2_keys.h"
#include "fuzz_check.h"
#include "fuzz_input.h"
#include "ike/ikev2_session.h"
#include "ike/ikev2_testing.h"
#include "ikev2/header.h"
#include "ikev2/message.h"
#include "ikev2/payloads.h"

using namespace ikepulse;

namespace {

using ike::Datagram;
using ike::Ikev2Session;
using ike::testing::kAddrI;
using ike::testing::kAddrR;
using ike::testing::RecordingHost;
using State = Ikev2Session::State;

constexpr char kPsk[] = "fuzz-psk";
constexpr int kStages = 7;
constexpr size_t kMaxOps = 48;
constexpr size_t kMaxInFlight = 128;
constexpr size_t kMaxTranscript = 256;

// ---- Configuration -----------------------------------------------------------------------

ike::testing::Suite SuiteSpec(bool gcm) {
  ike::testing::Suite s;
  s.groups = {19};
  if (gcm) {
    s.enc = config::Ikev2Encryption::kAesGcm256;
    s.prf = config::Ikev2Hash::kSha384;
  }
  return s;
}

config::Config SideConfig(bool initiator, bool gcm, bool dpd, bool on_demand, bool natt) {
  config::Config c =
      initiator ? ike::testing::MakeConfig(kAddrI, kAddrR, SuiteSpec(gcm), kPsk,
                                           IpAddress::V4(10, 1, 0, 0), IpAddress::V4(10, 2, 0, 0))
                : ike::testing::MakeConfig(kAddrR, kAddrI, SuiteSpec(gcm), kPsk,
                                           IpAddress::V4(10, 2, 0, 0), IpAddress::V4(10, 1, 0, 0));
  if (dpd)
    c.ikev2_profiles["PROF"].dpd = ike::testing::Dpd(
        10, 2, on_demand && !initiator ? config::DpdMode::kOnDemand : config::DpdMode::kPeriodic);
  if (natt && initiator) c.force_encapsulation = true;
  return c;
}

// The 32 configurations, built once.
const config::Config& CachedConfig(bool initiator, bool gcm, bool dpd, bool on_demand,
                                   bool natt) {
  static std::vector<std::optional<config::Config>> all(32);
  std::optional<config::Config>& slot =
      all[(initiator << 4) | (gcm << 3) | (dpd << 2) | (on_demand << 1) | natt];
  if (!slot) slot = SideConfig(initiator, gcm, dpd, on_demand, natt);
  return *slot;
}

using fuzz::Input;  // fuzz_input.h

// ---- The IKEv2 forger --------------------------------------------------------------------
//
// Shown every message the two sessions send (without the non-ESP marker). From an IKE_SA_INIT
// request and its response it recovers the IKE SA keys: the nonces and SPIs from the messages,
// the suite from the responder's SA payload, g^ir of the fixed DH key pair both sides hold,
// then SKEYSEED and the key schedule (RFC 7296 §2.14). With them it seals fuzz-chosen inner
// payloads as either side, and opens recorded encrypted messages to change and seal again.
class Forger {
 public:
  void Record(bool from_initiator, ByteSpan msg) {
    auto m = ikev2::ParseMessage(msg);
    if (!m) return;
    const ikev2::Header& h = m->header;
    const ikev2::Spi zero{};
    if (h.exchange == ikev2::ExchangeType::kIkeSaInit) {
      const auto* nonce = ikev2::Find<ikev2::NoncePayload>(m->payloads);
      if (!nonce) return;
      Sa* sa = FindSa(h.spi_i);
      if (!h.response()) {
        if (!sa) {
          if (sas_.size() >= 4) return;
          sas_.emplace_back();
          sa = &sas_.back();
          sa->spi_i = h.spi_i;
        }
        sa->ni = nonce->data;
        return;
      }
      const auto* sap = ikev2::Find<ikev2::SaPayload>(m->payloads);
      const auto* ke = ikev2::Find<ikev2::KePayload>(m->payloads);
      if (!sa || sa->complete || h.spi_r == zero || !sap || sap->proposals.size() != 1 || !ke)
        return;
      auto suite = SuiteOf(sap->proposals.front());
      const SecretBytes* g_ir = SharedSecret(ke->dh_group);
      if (!suite || !g_ir || sa->ni.empty()) return;
      sa->spi_r = h.spi_r;
      sa->nr = nonce->data;
      sa->suite = *suite;
      const SecretBytes skeyseed = crypto::Skeyseed(suite->prf, sa->ni, sa->nr, g_ir->span());
      auto keys =
          crypto::DeriveIkeSaKeys(*suite, skeyseed.span(), sa->ni, sa->nr, sa->spi_i, sa->spi_r);
      if (!keys) return;
      sa->keys = std::move(*keys);
      sa->complete = true;
      complete_.push_back(static_cast<size_t>(sa - sas_.data()));
      return;
    }
    Sa* sa = FindSa(h.spi_i);
    if (!sa || !sa->complete || recorded_.size() >= 64) return;
    if (!ikev2::FindType(m->payloads, ikev2::PayloadType::kSk)) return;
    for (const auto& r : recorded_)
      if (std::equal(r.msg.begin(), r.msg.end(), msg.begin(), msg.end())) return;
    recorded_.push_back(Recorded{static_cast<size_t>(sa - sas_.data()), from_initiator,
                                 Bytes(msg.begin(), msg.begin() + h.length)});
  }

  size_t sa_count() const { return complete_.size(); }
  size_t recorded_count() const { return recorded_.size(); }

  // A new message on complete SA `sa` (modulo the count), as the initiator or the responder of
  // the IKE SA: header with the given exchange, flags (XORed onto the sender's Initiator flag)
  // and message ID, then an SK payload around `inner` (`next`: its first type).
  std::optional<Bytes> New(size_t sa, bool from_initiator, uint8_t exchange, uint8_t flags,
                           uint32_t mid, uint8_t next, ByteSpan inner) {
    if (complete_.empty()) return std::nullopt;
    const Sa& s = sas_[complete_[sa % complete_.size()]];
    ikev2::Header h;
    h.spi_i = s.spi_i;
    h.spi_r = s.spi_r;
    h.exchange = static_cast<ikev2::ExchangeType>(exchange);
    h.flags = static_cast<uint8_t>(flags ^ (from_initiator ? ikev2::kFlagInitiator : 0));
    h.message_id = mid;
    return Seal(s, from_initiator, h, next, inner);
  }

  // Recorded encrypted message `index` (modulo the count) opened: its sender, header and inner
  // payload chain (`next`: its first type).
  struct Opened {
    bool from_initiator = false;
    ikev2::Header header;
    uint8_t next = 0;
    Bytes plain;
    size_t sa = 0;  // index into sas_
  };
  std::optional<Opened> Open(size_t index) const {
    if (recorded_.empty()) return std::nullopt;
    const Recorded& r = recorded_[index % recorded_.size()];
    const Sa& s = sas_[r.sa];
    auto m = ikev2::ParseMessage(r.msg);
    if (!m) return std::nullopt;
    const ikev2::Payload* sk = ikev2::FindType(m->payloads, ikev2::PayloadType::kSk);
    const auto* enc = sk ? std::get_if<ikev2::EncryptedPayload>(&sk->body) : nullptr;
    if (!enc) return std::nullopt;
    auto plain = crypto::UnprotectSk(crypto::SkKeysFor(s.suite, s.keys, r.from_initiator),
                                     r.msg, sk->offset);
    if (!plain) return std::nullopt;
    return Opened{r.from_initiator, m->header, static_cast<uint8_t>(enc->inner_next),
                  std::move(*plain), r.sa};
  }

  // Seals `plain` (first type `next`) under header `h` as the sender of `o`.
  std::optional<Bytes> Reseal(const Opened& o, const ikev2::Header& h, uint8_t next,
                              ByteSpan plain) {
    return Seal(sas_[o.sa], o.from_initiator, h, next, plain);
  }

 private:
  struct Sa {
    ikev2::Spi spi_i{}, spi_r{};
    Bytes ni, nr;
    bool complete = false;
    crypto::IkeSuite suite;
    crypto::IkeSaKeys keys;
  };
  struct Recorded {
    size_t sa;
    bool from_initiator;
    Bytes msg;
  };

  Sa* FindSa(const ikev2::Spi& spi_i) {
    for (auto& s : sas_)
      if (s.spi_i == spi_i) return &s;
    return nullptr;
  }

  // The fixed key pair of `group` with itself: g^ir when both sides hold it.
  static const SecretBytes* SharedSecret(uint16_t group) {
    static std::map<uint16_t, std::optional<SecretBytes>> cache;
    auto it = cache.find(group);
    if (it == cache.end()) {
      std::optional<SecretBytes> s;
      if (auto dh = crypto::DhKeyPair::Generate(group)) {
        if (auto g = dh->ComputeShared(dh->public_value())) s = std::move(*g);
      }
      it = cache.emplace(group, std::move(s)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  // The suite of the responder's accepted proposal (the transforms our sessions use).
  static std::optional<crypto::IkeSuite> SuiteOf(const ikev2::Proposal& p) {
    crypto::IkeSuite s;
    s.integ = crypto::Ikev2IntegAlg::kNone;
    bool encr = false, prf = false;
    for (const auto& t : p.transforms) {
      switch (static_cast<ikev2::TransformType>(t.type)) {
        case ikev2::TransformType::kEncr: {
          const bool gcm = t.id == uint16_t(ikev2::EncrId::kAesGcm16);
          if (!gcm && t.id != uint16_t(ikev2::EncrId::kAesCbc)) return std::nullopt;
          const bool k256 = t.key_length() == 256;
          s.encr = gcm ? (k256 ? crypto::Ikev2EncrAlg::kAesGcm16_256
                               : crypto::Ikev2EncrAlg::kAesGcm16_128)
                       : (k256 ? crypto::Ikev2EncrAlg::kAesCbc256
                               : crypto::Ikev2EncrAlg::kAesCbc128);
          encr = true;
          break;
        }
        case ikev2::TransformType::kPrf:
          switch (static_cast<ikev2::PrfId>(t.id)) {
            case ikev2::PrfId::kHmacSha1: s.prf = crypto::HashAlg::kSha1; break;
            case ikev2::PrfId::kHmacSha2_256: s.prf = crypto::HashAlg::kSha256; break;
            case ikev2::PrfId::kHmacSha2_384: s.prf = crypto::HashAlg::kSha384; break;
            case ikev2::PrfId::kHmacSha2_512: s.prf = crypto::HashAlg::kSha512; break;
            default: return std::nullopt;
          }
          prf = true;
          break;
        case ikev2::TransformType::kInteg:
          switch (static_cast<ikev2::IntegId>(t.id)) {
            case ikev2::IntegId::kNone: s.integ = crypto::Ikev2IntegAlg::kNone; break;
            case ikev2::IntegId::kHmacSha1_96: s.integ = crypto::Ikev2IntegAlg::kHmacSha1_96; break;
            case ikev2::IntegId::kHmacSha2_256_128:
              s.integ = crypto::Ikev2IntegAlg::kHmacSha256_128;
              break;
            case ikev2::IntegId::kHmacSha2_384_192:
              s.integ = crypto::Ikev2IntegAlg::kHmacSha384_192;
              break;
            case ikev2::IntegId::kHmacSha2_512_256:
              s.integ = crypto::Ikev2IntegAlg::kHmacSha512_256;
              break;
            default: return std::nullopt;
          }
          break;
        default:
          break;
      }
    }
    if (!encr || !prf || !crypto::CheckSuite(s)) return std::nullopt;
    return s;
  }

  std::optional<Bytes> Seal(const Sa& s, bool from_initiator, ikev2::Header h, uint8_t next,
                            ByteSpan inner) {
    h.next_payload = ikev2::PayloadType::kSk;
    Bytes prefix;
    ByteWriter w(prefix);
    ikev2::SerializeHeader(h, w);
    w.U8(next);
    w.U8(0);
    w.U16(0);
    auto r = crypto::ProtectSk(crypto::SkKeysFor(s.suite, s.keys, from_initiator), prefix, inner,
                               rng_);
    if (!r) return std::nullopt;
    return std::move(*r);
  }

  std::vector<Sa> sas_;
  std::vector<size_t> complete_;
  std::vector<Recorded> recorded_;
  SeededRandom rng_{77};
};

// Offsets of the payloads of an inner chain, by their generic headers (as far as they hold).
std::vector<size_t> PayloadStarts(ByteSpan plain) {
  std::vector<size_t> starts;
  size_t off = 0;
  while (off + 4 <= plain.size() && starts.size() < 64) {
    const size_t len = size_t{plain[off + 2]} << 8 | plain[off + 3];
    if (len < 4 || off + len > plain.size()) break;
    starts.push_back(off);
    off += len;
  }
  starts.push_back(off);  // the end of the last whole payload
  return starts;
}

// ---- The world: two sessions, their hosts and the link -------------------------------------

// A host like `o` (configuration, debug, random state, SPI counter) with nothing recorded.
RecordingHost FreshHost(const RecordingHost& o, const TimePoint* clock) {
  RecordingHost h(clock, 0, o.next_spi());
  h.seeded_rng() = o.seeded_rng();
  h.shared_cfg = o.shared_cfg;
  h.debug = o.debug;
  h.keep_debug_lines = false;
  return h;
}

struct InFlight {
  bool to_initiator;
  Datagram d;  // as sent (with the marker)
  Bytes msg;   // without it
};

class World {
 public:
  World(bool gcm, bool dpd, bool on_demand, bool natt) {
    hi_.shared_cfg = &CachedConfig(true, gcm, dpd, on_demand, natt);
    hr_.shared_cfg = &CachedConfig(false, gcm, dpd, on_demand, natt);
    hi_.keep_debug_lines = hr_.keep_debug_lines = false;
    si_ = std::make_unique<Ikev2Session>(1);
    si_->Initiate(hi_, *hi_.Cfg().FindCryptoMap("CM", 10), Endpoint{kAddrI, 500},
                  Endpoint{kAddrR, 500});
    Route();
  }
  // A copy that goes on exactly as `o` would, with nothing recorded by its hosts.
  World(const World& o)
      : now_(o.now_), hi_(FreshHost(o.hi_, &now_)), hr_(FreshHost(o.hr_, &now_)),
        si_(o.si_ ? Clone(*o.si_) : nullptr), sr_(o.sr_ ? Clone(*o.sr_) : nullptr),
        in_flight_(o.in_flight_), transcript_(o.transcript_), forger_(o.forger_) {
    Baseline();
  }
  World& operator=(const World&) = delete;

  void SetDebug(bool on) { hi_.debug = hr_.debug = on; }
  Ikev2Session* session(bool initiator) { return initiator ? si_.get() : sr_.get(); }
  RecordingHost& host(bool initiator) { return initiator ? hi_ : hr_; }
  Forger& forger() { return forger_; }
  TimePoint now() const { return now_; }
  const std::deque<InFlight>& in_flight() const { return in_flight_; }

  // One datagram to a side. To the responder side before it exists: Ikev2Session::Respond.
  void Deliver(bool to_initiator, const Endpoint& local, const Endpoint& remote, ByteSpan msg) {
    budget_ += 3;
    if (to_initiator) {
      si_->OnMessage(hi_, local, remote, msg);
    } else if (!sr_) {
      sr_ = Ikev2Session::Respond(hr_, local, remote, msg, 2);
      if (sr_) FUZZ_CHECK(sr_->state() == State::kInitAnswered);
    } else {
      sr_->OnMessage(hr_, local, remote, msg);
    }
    Route();
    RunTimers();
  }
  // The side's usual endpoints (port 500, or 4500 when `natt`).
  void DeliverTo(bool to_initiator, bool natt, ByteSpan msg) {
    const uint16_t port = natt ? 4500 : 500;
    const Endpoint i{kAddrI, port}, r{kAddrR, port};
    if (to_initiator) {
      Deliver(true, i, r, msg);
    } else {
      Deliver(false, r, i, msg);
    }
  }
  // A message the other side could have sent: on the ports the receiver is on now.
  void DeliverForged(bool to_initiator, ByteSpan msg) {
    const Ikev2Session* s = session(to_initiator);
    DeliverTo(to_initiator, s && s->floated(), msg);
  }

  bool DeliverNext(bool keep = false) {
    if (in_flight_.empty()) return false;
    InFlight f = keep ? in_flight_.front() : std::move(in_flight_.front());
    if (!keep) in_flight_.pop_front();
    now_ += Millis(5);
    RunTimers();
    Deliver(f.to_initiator, f.d.remote, f.d.local, f.msg);
    return true;
  }
  void DeliverOutOfOrder(uint8_t k) {
    if (in_flight_.empty()) return;
    const size_t i = k % in_flight_.size();
    std::rotate(in_flight_.begin(), in_flight_.begin() + static_cast<ptrdiff_t>(i),
                in_flight_.begin() + static_cast<ptrdiff_t>(i) + 1);
    DeliverNext();
  }
  void DropNext() {
    if (!in_flight_.empty()) in_flight_.pop_front();
  }

  // A recorded datagram (modulo the count), one byte XORed, to the side that received it.
  void Replay(uint8_t idx, uint8_t off, uint8_t x) {
    if (transcript_.empty()) return;
    const InFlight& t = transcript_[idx % transcript_.size()];
    Bytes m = t.msg;
    if (!m.empty()) m[off % m.size()] ^= x;
    Deliver(t.to_initiator, t.d.remote, t.d.local, m);
  }
  const InFlight* Recorded(uint8_t idx) const {
    return transcript_.empty() ? nullptr : &transcript_[idx % transcript_.size()];
  }

  // Everything in flight delivered, 30 s of timers, everything delivered again. A request
  // gets one answer and an answer none: the link must go quiet.
  void Settle() {
    for (int round = 0; round < 2; ++round) {
      int delivered = 0;
      while (DeliverNext()) FUZZ_CHECK(++delivered < int(kMaxInFlight) + 64);
      if (round == 0) Advance(Seconds(30));
    }
  }

  // Moves time forward, running every timeout that falls due on the way, in order.
  void Advance(Duration d) {
    budget_ += 4 + 3 * static_cast<size_t>(d / Seconds(1) + 1);
    Route();  // what an operation outside the world had the sessions send
    const TimePoint end = now_ + d;
    for (int guard = 0; guard < 100000; ++guard) {
      TimePoint next = kNever;
      for (bool i : {true, false})
        if (session(i)) next = std::min(next, session(i)->NextDeadline());
      if (next > end) break;
      now_ = std::max(now_, next);
      RunTimers();
    }
    now_ = end;
    RunTimers();
  }

  // Each session's OnTimeout once its deadline has come. After it, the deadline must be in the
  // future (or kNever): a session that wants a timeout again at once would spin the core.
  void RunTimers() {
    for (bool i : {true, false}) {
      Ikev2Session* s = session(i);
      if (!s || s->NextDeadline() > now_) continue;
      s->OnTimeout(host(i));
      Route();
      FUZZ_CHECK(s->NextDeadline() > now_);
    }
  }

  void Operation(bool initiator, uint8_t sel) {
    Ikev2Session* s = session(initiator);
    if (!s) return;
    RecordingHost& h = host(initiator);
    budget_ += 3;
    const auto children = s->Children(now_, ike::SnapshotKeys::kOmit);
    const uint32_t spi = children.empty() ? 0x1234 : children.front().spi_in;
    switch (sel % 8) {
      case 0: s->Delete(h, "fuzz: clear crypto session", /*send=*/true); break;
      case 1: s->Delete(h, "fuzz: peer gone", /*send=*/false); break;
      case 2: (void)s->DeleteChild(h, spi); break;
      case 3: s->OnChildTraffic(h, spi, /*inbound=*/true, /*bytes=*/84); break;
      case 4: s->OnChildTraffic(h, spi, /*inbound=*/false, /*bytes=*/1400); break;
      case 5: s->AddChild(h, *h.Cfg().FindCryptoMap("CM", 10)); break;
      case 6: {
        const ike::IsakmpSaSnapshot snap = s->Snapshot(now_);
        (void)snap;
        for (const auto& c : s->Children(now_, ike::SnapshotKeys::kInclude))
          FUZZ_CHECK(c.spi_in != 0);
        break;
      }
      case 7:  // Initiate is for an idle session only: a no-op on a running one.
        s->Initiate(h, *h.Cfg().FindCryptoMap("CM", 10), s->local(), s->remote());
        break;
    }
    Route();
    RunTimers();
  }

  // Ikev2Session::Respond on a scratch host: the world's responder only when there is none.
  void Respond(bool adopt, const Endpoint& local, const Endpoint& remote, ByteSpan msg) {
    if (adopt && !sr_) return Deliver(false, local, remote, msg);
    RecordingHost h = FreshHost(hr_, &now_);
    auto s = Ikev2Session::Respond(h, local, remote, msg, 9);
    FUZZ_CHECK(h.sent.size() <= 1);
    if (!s) {
      FUZZ_CHECK(h.deleted.empty());
      return;
    }
    FUZZ_CHECK(s->state() == State::kInitAnswered && !s->established());
    FUZZ_CHECK(s->NextDeadline() > now_ && s->NextDeadline() != kNever);
    (void)s->Snapshot(now_);
    s->Delete(h, "fuzz: scratch", /*send=*/true);
    FUZZ_CHECK(h.deleted.size() == 1 && h.reports_after_deleted == 0);
    FUZZ_CHECK(s->NextDeadline() == kNever);
  }

  void CheckInvariants() {
    for (bool i : {true, false}) {
      const Ikev2Session* s = session(i);
      if (!s) continue;
      const RecordingHost& h = host(i);
      FUZZ_CHECK(h.deleted.size() <= 1);
      FUZZ_CHECK(h.reports_after_deleted == 0);
      FUZZ_CHECK((s->state() == State::kEnded) == (h.deleted.size() == 1));
      FUZZ_CHECK(s->NextDeadline() > now_);
      if (s->state() == State::kEnded) FUZZ_CHECK(s->NextDeadline() == kNever);
      FUZZ_CHECK(h.established_at.size() <= 1);
      FUZZ_CHECK(h.dead_at.size() + h.gave_up_at.size() <= h.deleted.size());
      // The Child SAs shown are those reported up and not down.
      const size_t shown = s->Children(now_, ike::SnapshotKeys::kOmit).size();
      FUZZ_CHECK(shown + h.child_down.size() == base_children_[i] + h.child_up.size());
      // Bounded: the session's limit, plus the new pairs of rekeys (and a collision's) in flight.
      FUZZ_CHECK(shown <= Ikev2Session::kMaxChildSas + 2);
      // Bounded output.
      FUZZ_CHECK(sent_[i] <= budget_);
    }
  }

  void Trace() {
    for (bool i : {true, false}) {
      const Ikev2Session* s = session(i);
      const RecordingHost& h = host(i);
      std::fprintf(stderr,
                   "%s: state %d heard %zu drops %zu (%s) established %zu up %zu down %zu "
                   "dead %zu gave-up %zu deleted %zu sent %zu\n",
                   i ? "initiator" : "responder", s ? int(s->state()) : -1, h.heard,
                   h.DropCount(), h.last_drop.c_str(), h.established_at.size(),
                   h.child_up.size(), h.child_down.size(), h.dead_at.size(),
                   h.gave_up_at.size(), h.deleted.size(), sent_[i]);
    }
  }

 private:
  static std::unique_ptr<Ikev2Session> Clone(const Ikev2Session& s) {
    return std::unique_ptr<Ikev2Session>(static_cast<Ikev2Session*>(s.Clone().release()));
  }

  void Baseline() {
    for (bool i : {true, false}) {
      const Ikev2Session* s = session(i);
      base_children_[i] = s ? s->Children(now_, ike::SnapshotKeys::kOmit).size() : 0;
      sent_[i] = 0;
    }
    budget_ = 8;
  }

  // What the hosts were given to send: into the transcript, the forger and the link.
  void Route() {
    for (bool from_i : {true, false}) {
      RecordingHost& h = host(from_i);
      for (auto& d : h.sent) {
        ++sent_[from_i];
        InFlight f{!from_i, std::move(d), {}};
        f.msg = ike::testing::StripMarker(f.d);
        forger_.Record(from_i, f.msg);
        if (transcript_.size() < kMaxTranscript) transcript_.push_back(f);
        in_flight_.push_back(std::move(f));
        if (in_flight_.size() > kMaxInFlight) in_flight_.pop_front();
      }
      h.sent.clear();
    }
  }

  TimePoint now_ = FromMicros(1'000'123);
  RecordingHost hi_{&now_, 11, 0x1000};
  RecordingHost hr_{&now_, 22, 0x2000};
  std::unique_ptr<Ikev2Session> si_, sr_;
  std::deque<InFlight> in_flight_;
  std::vector<InFlight> transcript_;
  Forger forger_;
  size_t base_children_[2] = {0, 0};
  size_t sent_[2] = {0, 0};
  size_t budget_ = 8;
};

// The world of each setup at `stage` (see the file comment), built once and cloned for every
// input.
const World& Snapshot(bool gcm, bool dpd, bool on_demand, bool natt, int stage) {
  static std::vector<std::unique_ptr<World>> cache(16 * kStages);
  std::unique_ptr<World>& slot =
      cache[(gcm << 3 | dpd << 2 | on_demand << 1 | natt) * kStages + stage];
  if (!slot) {
    auto w = std::make_unique<World>(gcm, dpd, on_demand, natt);
    const int delivered = std::min(stage, 4);
    for (int i = 0; i < delivered; ++i) w->DeliverNext();
    if (stage >= 4) {
      FUZZ_CHECK(w->session(true)->established() && w->session(false)->established());
      FUZZ_CHECK(w->in_flight().empty());
    }
    if (stage == 5) w->Advance(Seconds(10));
    if (stage == 6) {
      Ikev2Session* si = w->session(true);
      const auto ch = si->Children(w->now(), ike::SnapshotKeys::kOmit);
      FUZZ_CHECK(ch.size() == 1 && si->DeleteChild(w->host(true), ch.front().spi_in));
      w->Advance(Millis(1));  // routes the request
    }
    slot = std::make_unique<World>(*w);
  }
  return *slot;
}

// The forged messages must get past the ICV, or the fuzzer silently stops at the SK check.
// Checked once at start, for both suites: an empty INFORMATIONAL request forged as the
// initiator is answered by the responder as fresh liveness; the recorded IKE_AUTH request,
// opened and sealed again, establishes a responder that waited for it.
void SelfCheck() {
  for (bool gcm : {false, true}) {
    World w(Snapshot(gcm, /*dpd=*/true, /*on_demand=*/false, /*natt=*/false, 4));
    FUZZ_CHECK(w.forger().sa_count() == 1 && w.forger().recorded_count() == 2);
    Ikev2Session* sr = w.session(false);
    const size_t drops = w.host(false).DropCount();
    auto f = w.forger().New(0, true, uint8_t(ikev2::ExchangeType::kInformational), 0,
                            sr->next_peer_request_id(), 0, {});
    FUZZ_CHECK(f.has_value());
    w.DeliverForged(false, *f);
    FUZZ_CHECK(w.host(false).heard == 1 && w.host(false).DropCount() == drops);
    FUZZ_CHECK(w.in_flight().size() == 1 && w.in_flight().front().to_initiator);

    World a(Snapshot(gcm, /*dpd=*/false, /*on_demand=*/false, /*natt=*/false, 2));
    FUZZ_CHECK(a.session(false)->state() == State::kInitAnswered);
    auto o = a.forger().Open(0);
    FUZZ_CHECK(o && o->from_initiator && o->header.exchange == ikev2::ExchangeType::kIkeAuth);
    auto m = a.forger().Reseal(*o, o->header, o->next, o->plain);
    FUZZ_CHECK(m.has_value());
    a.DeliverForged(false, *m);
    FUZZ_CHECK(a.session(false)->established());
  }
}

}  // namespace

// See fuzz_node.cc: a small ASan quarantine and short allocation stacks (this target, too,
// allocates mostly inside OpenSSL). ASAN_OPTIONS wins.
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=8:malloc_context_size=4";
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FUZZ_CHECK(crypto::UsePlainAllocatorInOpenSslForFuzzing());
  crypto::UseFixedDhKeyPairsForFuzzing();
  SelfCheck();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t setup = in.U8();
  const int stage = (setup & 7) % kStages;
  const bool gcm = setup & 0x08, dpd = setup & 0x10, natt = setup & 0x20;
  const bool on_demand = dpd && (setup & 0x80);
  World w(Snapshot(gcm, dpd, on_demand, natt, stage));
  w.SetDebug(setup & 0x40);

  for (size_t ops = 0; !in.empty() && ops < kMaxOps; ++ops) {
    const uint8_t op = in.U8();
    const bool side = op & 0x10;  // true: the initiator
    switch ((op & 0x0f) % 12) {
      case 0: {
        const uint8_t sel = in.U8();
        Bytes b = in.Take(in.U16() % 2048);
        if (side && !w.session(true)) break;
        w.DeliverTo(side, sel & 1, b);
        break;
      }
      case 1: {
        const uint8_t mode = in.U8();
        Bytes b;
        if (mode & 1) {
          b = in.Take(in.U16() % 2048);
        } else {
          const uint8_t idx = in.U8(), off = in.U8(), x = in.U8();
          if (const InFlight* t = w.Recorded(idx)) b = t->msg;
          if (!b.empty()) b[off % b.size()] ^= x;
        }
        const uint16_t port = mode & 4 ? 4500 : 500;
        w.Respond(mode & 2, Endpoint{kAddrR, port}, Endpoint{kAddrI, port}, b);
        break;
      }
      case 2: {
        const uint8_t idx = in.U8(), off = in.U8(), x = in.U8();
        w.Replay(idx, off, x);
        break;
      }
      case 3:
        w.Advance(Millis(100) * in.U8());
        break;
      case 4:
        w.DeliverNext();
        break;
      case 5: {
        const uint8_t xs = in.U8(), flags = in.U8(), ms = in.U8();
        const uint32_t raw_mid = ms & 0x80 ? in.U32() : 0;
        const uint8_t next = in.U8();
        Bytes inner = in.Take(in.U16() % 2048);
        const uint8_t exchange = xs & 0x80 ? xs & 0x7f : 34 + (xs & 3);
        const Ikev2Session* to = w.session(!side);
        if (!to) break;
        uint32_t mid = raw_mid;
        if (!(ms & 0x80)) {
          const uint32_t base =
              flags & ikev2::kFlagResponse ? to->next_request_id() - 1 : to->next_peer_request_id();
          mid = ms & 0x40 ? base - (ms & 0x3f) : base + (ms & 0x3f);
        }
        if (auto f = w.forger().New(0, side, exchange, flags, mid, next, inner))
          w.DeliverForged(!side, *f);
        break;
      }
      case 6: {
        const uint8_t idx = in.U8(), mode = in.U8(), a = in.U8(), b = in.U8(), next = in.U8();
        const uint32_t new_mid = mode & 4 ? in.U32() : 0;
        Bytes tail = in.Take(in.U16() % 1024);
        auto o = w.forger().Open(idx);
        if (!o) break;
        ikev2::Header h = o->header;
        if (mode & 4) h.message_id = new_mid;
        Bytes plain = std::move(o->plain);
        uint8_t first = o->next;
        if (!(mode & 1)) {
          if (mode & 2) {
            plain.resize(plain.size() - std::min<size_t>(b, plain.size()));
          } else if (!plain.empty()) {
            plain[a % plain.size()] ^= b;
          }
        } else {
          const std::vector<size_t> starts = PayloadStarts(plain);
          const size_t keep = a % starts.size();  // payloads kept: 0 .. all whole ones
          if (keep == 0) {
            first = next;
          } else {
            plain[starts[keep - 1]] = next;  // the last kept payload's Next Payload
          }
          plain.resize(starts[keep]);
          plain.insert(plain.end(), tail.begin(), tail.end());
        }
        if (auto m = w.forger().Reseal(*o, h, first, plain)) w.DeliverForged(!o->from_initiator, *m);
        break;
      }
      case 7:
        w.Operation(side, in.U8());
        break;
      case 8:
        w.DropNext();
        break;
      case 9:
        w.DeliverOutOfOrder(in.U8());
        break;
      case 10:
        w.Settle();
        break;
      case 11:
        w.DeliverNext(/*keep=*/true);
        break;
    }
    w.CheckInvariants();
  }
  w.CheckInvariants();
  // FUZZ_IKEV2_SESSION_TRACE=1: one line per side of what the input did (to check seeds).
  static const bool trace = std::getenv("FUZZ_IKEV2_SESSION_TRACE") != nullptr;
  if (trace) w.Trace();
  return 0;
}
