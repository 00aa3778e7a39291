// Ikev1Session: one ISAKMP SA behind the Session interface (DESIGN.md §6.2, §6.5). It owns the
// IKEv1 record (IkeSa) and runs every IKEv1 exchange on it: Main Mode (main_mode.cc), Quick
// Mode (quick_mode.cc), Informational and DPD on the wire (informational.cc), retransmissions,
// lifetimes and rekeys (ikev1_session.cc). It reaches the engine core only through the
// SessionHost of each call (NodeImpl::Ikev1Host); the core holds it in its SA table.
//
// Status (step 1, stage C): the core still reads the record through `sa()` (the base fields,
// and the Main Mode state where its cookie route needs it), and the IKEv1 responder factory
// (main_mode_responder.cc: MM1, the half-open table, MM3) is still core code that builds the
// session (DESIGN.md §6.5).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ike/ike_sa.h"
#include "ike/session.h"
#include "isakmp/header.h"
#include "isakmp/payloads.h"

namespace ikepulse::ike {

// A kept-up entry whose Quick Mode failed (the peer refused it, or no answer) is tried again
// this long after, on the same ISAKMP SA, for as long as the SA lives.
inline constexpr Duration kKeepUpQuickModeRetry = Seconds(10);

class Ikev1Session final : public Session {
 public:
  Ikev1Session() = default;
  Ikev1Session& operator=(const Ikev1Session&) = delete;

  // The IKEv1 record. IKEv1-only: for the core's cookie route (MM1 retransmissions, a notify
  // with R=0, swapped cookies read the Main Mode state) and the base fields it reads.
  IkeSa& sa() { return sa_; }
  const IkeSa& sa() const { return sa_; }

  // Session.
  std::unique_ptr<Session> Clone() const override {
    return std::unique_ptr<Session>(new Ikev1Session(*this));
  }
  uint8_t version() const override { return 1; }
  bool established() const override { return sa_.established(); }
  const Endpoint& local() const override { return sa_.local; }
  const Endpoint& remote() const override { return sa_.remote; }
  // Main Mode toward the endpoints the core gave the record (NodeImpl::NewSa), whose
  // initiator cookie it already drew and indexed; `local` and `remote` are those.
  void Initiate(SessionHost& host, const config::CryptoMapEntry& entry, const Endpoint& local,
                const Endpoint& remote) override;
  void OnMessage(SessionHost& host, const Endpoint& local, const Endpoint& remote,
                 ByteSpan msg) override;
  void OnTimeout(SessionHost& host) override { Ikev1OnTimeout(host); }
  TimePoint NextDeadline() const override { return sa_.NextDeadline(); }
  void AddChild(SessionHost& host, const config::CryptoMapEntry& entry) override {
    StartQuickMode(host, entry, 0);
  }
  void OnChildTraffic(SessionHost& host, uint32_t spi_in, bool inbound,
                      uint64_t bytes) override;
  void Delete(SessionHost& host, std::string_view reason, bool send) override {
    host.DeleteMe(reason, send, /*failover=*/false);
  }
  IsakmpSaSnapshot Snapshot(TimePoint now) const override;
  // The IPsec SAs' snapshots name their crypto map, a name the core holds: the core builds
  // them from the record (NodeImpl::ChildSasOf). Empty here.
  std::vector<ChildSaSnapshot> Children(TimePoint now, SnapshotKeys keys) const override;
  bool ChildInFlight(const SessionHost& host, EntryRef entry) const override;

  // IKEv1-only calls of the core.
  // An initiator whose MM1 is out and unanswered (its responder cookie is still to come): the
  // cookie route matches MM2 to it, and ReplaceSa finds the SA it just started.
  bool AwaitsMm2() const { return sa_.initiator && sa_.state == P1State::kInitSentMm1; }
  // One datagram whose header the core's route already parsed (msg cut to its length).
  void OnIkev1Message(SessionHost& host, const isakmp::Header& h, const Endpoint& local,
                      const Endpoint& remote, ByteSpan msg) {
    Ikev1OnMessage(host, h, local, remote, msg);
  }
  // An IPsec SA for `entry`; `replaces_spi_in`: the pair it rekeys (0: a new one).
  void StartChild(SessionHost& host, const config::CryptoMapEntry& entry,
                  uint32_t replaces_spi_in) {
    StartQuickMode(host, entry, replaces_spi_in);
  }
  void DeleteChild(SessionHost& c, uint32_t spi_in, bool send_delete);
  // IKEv1's parts of the core's DeleteSa, which keeps their order among its own steps: the
  // debug line; the Deletes (an established SA); the end of the exchanges and of the SA.
  void Deleting(SessionHost& host, const std::string& reason) { Ikev1Deleting(host, reason); }
  void SendDeletes(SessionHost& host) { Ikev1SendDeletes(host); }
  void MarkDeleted(SessionHost& host) { Ikev1Deleted(host); }
  // What the record still holds of its negotiation, in sizes (Node::SecretsHeldBy).
  SecretsHeld Secrets() const;
  // The IKEv1 part of `show crypto isakmp sa`.
  static void Ikev1Snapshot(const IkeSa& sa, IsakmpSaSnapshot& s);
  // Advances r to its next (jittered) retransmission or its give-up (RetransmitPolicy).
  static void ScheduleRetransmit(Retransmit& r, const NodeOptions& opts, Random& rng);

 private:
  Ikev1Session(const Ikev1Session&) = default;  // Clone only

  // The exchanges. They reach nothing but the call's host and this session's record (`sa_`,
  // named `sa` in their bodies).
  // ikev1_session.cc
  void Ikev1OnMessage(SessionHost& c, const isakmp::Header& h, const Endpoint& local,
                      const Endpoint& remote, ByteSpan msg);
  void Ikev1OnTimeout(SessionHost& c);
  // Sends a datagram from the SA's endpoints (adds the non-ESP marker when floated).
  Bytes Send(SessionHost& c, ByteSpan msg);
  // responder: IOS's responder schedule (NodeOptions::responder_retransmit), for MM4.
  void StartRetransmit(SessionHost& c, Retransmit& r, Bytes packet, bool responder = false);
  // Ends Quick Mode `mid` that we initiated without an SA (retransmissions exhausted, or the
  // peer's error notify): IOS's "deleting node ... error TRUE reason ...".
  void AbandonQuickMode(SessionHost& c, uint32_t mid, const std::string& reason);

  // main_mode.cc
  void StartMainModeOn(SessionHost& c, isakmp::SaPayload sap, const std::string& map, uint32_t seq);
  void OnMainMode(SessionHost& c, const isakmp::Header& h, const Endpoint& local,
                  const Endpoint& remote, ByteSpan msg);
  void OnPhase1Established(SessionHost& c);

  // quick_mode.cc
  void StartQuickMode(SessionHost& c, const config::CryptoMapEntry& e, uint32_t replaces_spi_in);
  void OnQuickMode(SessionHost& c, const isakmp::Header& h, ByteSpan msg);
  void InstallChild(SessionHost& c, QuickMode& qm);
  // Ends our Quick Mode `mid` whose QM2 we refuse (before any QM3): log, notify, abandon.
  void RefuseQm2(SessionHost& c, uint32_t mid, const Bytes& peer_spi, const std::string& why);

  // informational.cc
  void OnInformational(SessionHost& c, const isakmp::Header& h, ByteSpan msg,
                       const Endpoint& remote);
  void SendInformational(SessionHost& c, std::vector<isakmp::Payload> payloads);
  void SendDeleteIsakmp(SessionHost& c);
  void SendDeleteChildren(SessionHost& c, const std::vector<uint32_t>& spis_in);
  void SendRUThere(SessionHost& c, uint32_t seq, uint32_t error_count);
  void RunDpd(SessionHost& c);
  void Ikev1Deleting(SessionHost& c, const std::string& reason);
  void Ikev1SendDeletes(SessionHost& c);
  void Ikev1Deleted(SessionHost& c);

  IkeSa sa_;
};

// One per ISAKMP SA: the record and the vtable pointer (docs/PERFORMANCE.md, "Engine memory per
// established SA").
#if defined(__x86_64__) || defined(__aarch64__)
static_assert(sizeof(Ikev1Session) <= sizeof(IkeSa) + sizeof(void*), "Ikev1Session grew");
#endif

}  // namespace ikepulse::ike
