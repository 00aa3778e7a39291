// gMock matchers and printers for simulator records (ike::Event, sim::PacketRecord).
//
//   EXPECT_THAT(Only(a.events(), {EventKind::kDpdSent, EventKind::kPeerDead}),
//               ElementsAre(At(t0 + Seconds(10), EventKind::kDpdSent), ...,
//                           At(t0 + Seconds(20), EventKind::kPeerDead)));
//   auto mm = FindPackets(sim, PacketFate::kSent, [&](auto& r) { return r.datagram.remote.ip == b; });
//   EXPECT_THAT(*mm.front(), AllOf(PacketAt(t0 + Seconds(20)), ExchangeIs(2)));
//
// Header-only; link GTest::gmock.
#pragma once

#include <gmock/gmock.h>

#include <initializer_list>
#include <ostream>
#include <vector>

#include "common/time.h"
#include "ike/outbox.h"
#include "sim/simulator.h"

namespace ikepulse::ike {

inline void PrintTo(const Event& e, std::ostream* os) {
  *os << "{" << FormatTime(e.at) << " " << sim::KindName(e.kind);
  if (e.sa != kNoSa) *os << " sa=" << e.sa;
  if (e.peer != IpAddress{}) *os << " peer=" << e.peer.ToString();
  if (e.value || e.value2) *os << " value=" << e.value << "/" << e.value2;
  if (!e.text.empty()) *os << " \"" << e.text << "\"";
  *os << "}";
}

}  // namespace ikepulse::ike

namespace ikepulse::sim {

inline void PrintTo(const PacketRecord& r, std::ostream* os) {
  *os << "{#" << r.id << " " << FormatTime(r.at) << " " << PacketFateName(r.fate);
  if (r.fate == PacketFate::kDropped) *os << "(" << DropReasonName(r.reason) << ")";
  *os << " " << r.datagram.local.ToString() << " -> " << r.datagram.remote.ToString() << " "
      << r.datagram.data.size() << "B";
  if (auto x = IsakmpExchangeType(r.datagram)) *os << " xchg=" << int{*x};
  *os << "}";
}

// The events of the given kinds, in order (drops debug/log noise from an assertion).
inline std::vector<ike::Event> Only(const std::vector<ike::Event>& events,
                                    std::initializer_list<ike::EventKind> kinds) {
  std::vector<ike::Event> out;
  for (const ike::Event& e : events) {
    for (ike::EventKind k : kinds) {
      if (e.kind == k) {
        out.push_back(e);
        break;
      }
    }
  }
  return out;
}

// Times relative to a reference (for readable failure output in long scenarios).
inline std::vector<Duration> TimesOf(const std::vector<ike::Event>& events, TimePoint t0) {
  std::vector<Duration> out;
  for (const ike::Event& e : events) out.push_back(e.at - t0);
  return out;
}

MATCHER_P2(At, time, kind,
           std::string(negation ? "isn't " : "is ") + KindName(kind) + " at " +
               FormatTime(time)) {
  return arg.at == time && arg.kind == kind;
}

MATCHER_P(IsKind, kind, std::string(negation ? "isn't " : "is ") + KindName(kind)) {
  return arg.kind == kind;
}

MATCHER_P(EventAt, time, "happens at " + FormatTime(time)) { return arg.at == time; }

MATCHER_P(WithPeer, ip, "with peer " + ip.ToString()) { return arg.peer == ip; }

MATCHER_P(WithValue, v, "with value " + testing::PrintToString(v)) {
  return arg.value == static_cast<uint64_t>(v);
}

MATCHER_P(WithText, m, "with text that " + testing::DescribeMatcher<std::string>(m)) {
  return testing::ExplainMatchResult(m, arg.text, result_listener);
}

// --- PacketRecord matchers ---
MATCHER_P(PacketAt, time, "packet at " + FormatTime(time)) { return arg.at == time; }

MATCHER_P(SentTo, ip, "to " + ip.ToString()) { return arg.datagram.remote.ip == ip; }

MATCHER_P(SentFrom, ip, "from " + ip.ToString()) { return arg.datagram.local.ip == ip; }

MATCHER_P(ExchangeIs, type, "ISAKMP exchange type " + testing::PrintToString(int{type})) {
  auto x = IsakmpExchangeType(arg.datagram);
  return x && *x == type;
}

MATCHER_P(DroppedBecause, reason, std::string("dropped: ") + DropReasonName(reason)) {
  return arg.fate == PacketFate::kDropped && arg.reason == reason;
}

}  // namespace ikepulse::sim
