#include "cli/show_stream.h"

#include <algorithm>
#include <functional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "cli/show.h"

namespace ikepulse::cli {

// The Backend's default paging: filter the one-shot snapshots.
std::vector<uint32_t> Backend::IsakmpSaIds() {
  std::vector<uint32_t> out;
  for (const IsakmpSaInfo& s : IsakmpSas()) out.push_back(s.conn_id);
  return out;
}

std::vector<IsakmpSaInfo> Backend::IsakmpSasById(std::span<const uint32_t> conn_ids) {
  const std::set<uint32_t> want(conn_ids.begin(), conn_ids.end());
  std::vector<IsakmpSaInfo> out;
  for (IsakmpSaInfo& s : IsakmpSas())
    if (want.count(s.conn_id)) out.push_back(std::move(s));
  return out;
}

std::vector<IpAddress> Backend::SessionPeers() {
  std::vector<IpAddress> out;
  for (const CryptoSessionInfo& s : CryptoSessions()) out.push_back(s.peer);
  return out;
}

std::vector<CryptoSessionInfo> Backend::CryptoSessionsOf(std::span<const IpAddress> peers) {
  const std::set<IpAddress> want(peers.begin(), peers.end());
  std::vector<CryptoSessionInfo> out;
  for (CryptoSessionInfo& s : CryptoSessions())
    if (want.count(s.peer)) out.push_back(std::move(s));
  return out;
}

std::vector<CryptoMapKey> Backend::IpsecSaEntries() {
  std::vector<CryptoMapKey> out;
  std::set<CryptoMapKey> seen;
  for (const IpsecSaInfo& f : IpsecSas()) {
    CryptoMapKey k{f.map_name, f.seq};
    if (seen.insert(k).second) out.push_back(std::move(k));
  }
  return out;
}

std::vector<IpsecSaInfo> Backend::IpsecSasOf(std::span<const CryptoMapKey> entries) {
  std::vector<IpsecSaInfo> all = IpsecSas();
  std::vector<IpsecSaInfo> out;
  for (const CryptoMapKey& k : entries)
    for (const IpsecSaInfo& f : all)
      if (f.map_name == k.map_name && f.seq == k.seq) out.push_back(f);
  return out;
}

namespace {

// Keys taken at the start; each Next() renders the next page of them.
template <typename Key>
class PagedStream final : public ShowStream {
 public:
  using Page = std::function<std::string(Backend&, std::span<const Key>)>;
  PagedStream(std::vector<Key> keys, std::string header, std::string trailer, Page page)
      : keys_(std::move(keys)),
        header_(std::move(header)),
        trailer_(std::move(trailer)),
        page_(std::move(page)) {}

  bool Next(Backend& backend, std::string& out, size_t page) override {
    if (!started_) {
      started_ = true;
      out += header_;
    }
    const size_t n = std::min(std::max<size_t>(page, 1), keys_.size() - next_);
    if (n > 0) {
      out += page_(backend, std::span<const Key>(keys_).subspan(next_, n));
      next_ += n;
    }
    if (next_ < keys_.size()) return true;
    out += trailer_;
    keys_.clear();
    return false;
  }

 private:
  std::vector<Key> keys_;
  std::string header_, trailer_;
  Page page_;
  size_t next_ = 0;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<ShowStream> StreamIsakmpSas(Backend& backend, bool detail) {
  return std::make_unique<PagedStream<uint32_t>>(
      backend.IsakmpSaIds(), IsakmpSaHeader(detail), IsakmpSaTrailer(detail),
      [detail](Backend& b, std::span<const uint32_t> ids) {
        return IsakmpSaRows(b.IsakmpSasById(ids), detail);
      });
}

std::unique_ptr<ShowStream> StreamIpsecSas(Backend& backend, std::optional<IpAddress> peer) {
  auto last_if = std::make_shared<std::optional<std::string>>();
  return std::make_unique<PagedStream<CryptoMapKey>>(
      backend.IpsecSaEntries(), "", "",
      [peer, last_if](Backend& b, std::span<const CryptoMapKey> entries) {
        return IpsecSaRows(b.IpsecSasOf(entries), peer, *last_if);
      });
}

std::unique_ptr<ShowStream> StreamCryptoSessions(Backend& backend, bool detail) {
  // The IKEv2 SAs are taken once, when the show starts (Backend::Ikev2Sas is one-shot), and
  // join their peer's session; peers with IKEv2 SAs only come after the backend's peers.
  auto v2 = std::make_shared<const Ikev2ByPeer>(Ikev2SasByPeer(backend.Ikev2Sas()));
  std::vector<IpAddress> peers = backend.SessionPeers();
  if (!v2->empty()) {
    const std::set<IpAddress> listed(peers.begin(), peers.end());
    for (const auto& [peer, sas] : *v2)
      if (!listed.count(peer)) peers.push_back(peer);
  }
  return std::make_unique<PagedStream<IpAddress>>(
      std::move(peers), CryptoSessionHeader(detail), "",
      [detail, v2](Backend& b, std::span<const IpAddress> page) {
        std::vector<CryptoSessionInfo> sessions = b.CryptoSessionsOf(page);
        AttachIkev2(sessions, page, *v2, b.Running());
        return CryptoSessionRows(sessions, detail);
      });
}

std::string Drain(ShowStream& stream, Backend& backend) {
  std::string out;
  while (stream.Next(backend, out)) {
  }
  return out;
}

}  // namespace ikepulse::cli
