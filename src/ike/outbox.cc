#include "ike/outbox.h"

namespace ikepulse::ike {

const char* EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kDebug: return "Debug";
    case EventKind::kLog: return "Log";
    case EventKind::kIkeSaUp: return "IkeSaUp";
    case EventKind::kIkeSaDown: return "IkeSaDown";
    case EventKind::kChildSaUp: return "ChildSaUp";
    case EventKind::kChildSaDown: return "ChildSaDown";
    case EventKind::kDpdSent: return "DpdSent";
    case EventKind::kDpdAckSent: return "DpdAckSent";
    case EventKind::kDpdAckReceived: return "DpdAckReceived";
    case EventKind::kPeerDead: return "PeerDead";
    case EventKind::kFailover: return "Failover";
    case EventKind::kRetransmit: return "Retransmit";
    case EventKind::kGiveUp: return "GiveUp";
    case EventKind::kDrop: return "Drop";
    case EventKind::kInitiate: return "Initiate";
  }
  return "?";
}

}  // namespace ikepulse::ike
