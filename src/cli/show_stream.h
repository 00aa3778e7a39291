// Streamed show commands: `show crypto isakmp sa [detail]`, `show crypto ipsec sa [peer A]` and
// `show crypto session [detail]` over a gateway's 100,000 SAs, produced a page at a time.
//
// A stream takes the keys of what it lists once, when it starts (Backend::IsakmpSaIds,
// SessionPeers, IpsecSaEntries: integers and addresses, cheap), then each Next() fetches and
// renders the next kShowPage of them (Backend::IsakmpSasById, ...). The daemon runs one page
// per event-loop turn, between its packets and timers, so a long show never stops the DPD
// timeline; the control server stops asking for pages while a slow client's output backs up.
// The concatenated pages are exactly the one-shot rendering of the same snapshot
// (FormatIsakmpSas, FormatIpsecSas, FormatCryptoSessions), except that an SA that goes away or
// appears while the show runs is left out.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "cli/backend.h"

namespace ikepulse::cli {

inline constexpr size_t kShowPage = 256;  // keys rendered per Next(), by default

class ShowStream {
 public:
  virtual ~ShowStream() = default;
  // Appends the next page (at most `page` keys) of output to `out`. False once the output is
  // complete (the call that returns false may still have appended the last part).
  virtual bool Next(Backend& backend, std::string& out, size_t page = kShowPage) = 0;
};

std::unique_ptr<ShowStream> StreamIsakmpSas(Backend& backend, bool detail);
std::unique_ptr<ShowStream> StreamIpsecSas(Backend& backend, std::optional<IpAddress> peer);
std::unique_ptr<ShowStream> StreamCryptoSessions(Backend& backend, bool detail);

// Runs a stream to its end (where nothing may wait: tests, the JSON path).
std::string Drain(ShowStream& stream, Backend& backend);

}  // namespace ikepulse::cli
