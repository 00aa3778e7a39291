#include "config/config.h"

#include <algorithm>
#include <tuple>

namespace ikepulse::config {

namespace {
bool MaskedEqual(const IpAddress& a, const IpAddress& b, const IpAddress& mask) {
  if (a.v6 != b.v6) return false;
  const size_t n = a.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i)
    if ((a.bytes[i] & mask.bytes[i]) != (b.bytes[i] & mask.bytes[i])) return false;
  return true;
}
// IOS wildcard: 1 bits are "don't care".
bool WildcardMatch(const IpAddress& addr, const IpAddress& net, const IpAddress& wild) {
  if (addr.v6 != net.v6) return false;
  const size_t n = addr.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i)
    if ((addr.bytes[i] & ~wild.bytes[i]) != (net.bytes[i] & ~wild.bytes[i])) return false;
  return true;
}
int MaskBits(const IpAddress& m) {
  int bits = 0;
  for (size_t i = 0; i < (m.v6 ? 16u : 4u); ++i) bits += __builtin_popcount(m.bytes[i]);
  return bits;
}
}  // namespace

bool PresharedKey::Matches(const IpAddress& peer) const {
  return MaskedEqual(peer, address, mask);
}

bool AclEntry::Matches(const IpAddress& s, const IpAddress& d, uint8_t proto) const {
  if (protocol != 0 && protocol != proto) return false;
  return WildcardMatch(s, src, src_wildcard) && WildcardMatch(d, dst, dst_wildcard);
}

const PresharedKey* Config::FindKey(const IpAddress& peer) const {
  const PresharedKey* best = nullptr;
  for (const auto& k : keys)
    if (k.Matches(peer) && (!best || MaskBits(k.mask) > MaskBits(best->mask))) best = &k;
  return best;
}

const AccessList* Config::FindAcl(const std::string& name) const {
  auto it = acls.find(name);
  return it == acls.end() ? nullptr : &it->second;
}

const TransformSet* Config::FindTransformSet(const std::string& name) const {
  auto it = transform_sets.find(name);
  return it == transform_sets.end() ? nullptr : &it->second;
}

// The list is kept ordered by (map, seq) (the CLI inserts in place): a binary search; a list
// built out of order (by hand, in tests) is still answered right, by a scan when that misses.
const CryptoMapEntry* Config::FindCryptoMap(const std::string& name, uint32_t seq) const {
  auto it = std::lower_bound(crypto_maps.begin(), crypto_maps.end(), std::tie(name, seq),
                             [](const CryptoMapEntry& e, const auto& key) {
                               return std::tie(e.map_name, e.seq) < key;
                             });
  if (it != crypto_maps.end() && it->map_name == name && it->seq == seq) return &*it;
  for (const auto& e : crypto_maps)
    if (e.map_name == name && e.seq == seq) return &e;
  return nullptr;
}

namespace {
template <class M>
const typename M::mapped_type* FindIn(const M& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? nullptr : &it->second;
}
bool IsGcm(Ikev2Encryption e) {
  return e == Ikev2Encryption::kAesGcm128 || e == Ikev2Encryption::kAesGcm256;
}
}  // namespace

const Ikev2Proposal* Config::FindIkev2Proposal(const std::string& name) const {
  return FindIn(ikev2_proposals, name);
}
const Ikev2Keyring* Config::FindIkev2Keyring(const std::string& name) const {
  return FindIn(ikev2_keyrings, name);
}
const Ikev2Profile* Config::FindIkev2Profile(const std::string& name) const {
  return FindIn(ikev2_profiles, name);
}

bool Ikev2Proposal::HasAead() const {
  return std::any_of(encryption.begin(), encryption.end(), IsGcm);
}
bool Ikev2Proposal::HasNonAead() const {
  return std::any_of(encryption.begin(), encryption.end(),
                     [](Ikev2Encryption e) { return !IsGcm(e); });
}
// Either a classic proposal (CBC + integrity + group) or an AEAD one (GCM + prf + group, no
// integrity). AEAD and non-AEAD algorithms never share a proposal (RFC 7296 §3.3).
bool Ikev2Proposal::Complete() const {
  if (encryption.empty() || groups.empty()) return false;
  if (HasAead()) return !HasNonAead() && integrity.empty() && !prf.empty();
  return !integrity.empty();
}

const SecretBytes& Ikev2KeyringPeer::LocalKey() const {
  return pre_shared_key_local.empty() ? pre_shared_key : pre_shared_key_local;
}
const SecretBytes& Ikev2KeyringPeer::RemoteKey() const {
  return pre_shared_key_remote.empty() ? pre_shared_key : pre_shared_key_remote;
}
bool Ikev2KeyringPeer::Matches(const IpAddress& peer) const {
  if (!address) return false;
  const IpAddress m = mask.value_or(IpAddress::V4(255, 255, 255, 255));
  return MaskedEqual(peer, *address, m);
}

bool ValidFqdn(std::string_view name) {
  if (name.empty() || name.size() > kMaxFqdnLength || name.front() == '.' || name.back() == '.')
    return false;
  char prev = 0;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

bool FqdnEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool FqdnInDomain(std::string_view name, std::string_view domain) {
  if (domain.empty()) return false;
  if (name.size() == domain.size()) return FqdnEquals(name, domain);
  if (name.size() < domain.size() + 1) return false;
  const size_t at = name.size() - domain.size();
  return name[at - 1] == '.' && FqdnEquals(name.substr(at), domain);
}

bool Ikev2Profile::Complete() const {
  return authentication_local && authentication_remote && !match_identity_remote.empty();
}

std::optional<IpAddress> Config::LocalAddressFor(const std::string& map_name) const {
  for (const auto& i : interfaces)
    if (i.crypto_map == map_name && i.address && !i.shutdown) return i.address;
  return std::nullopt;
}

}  // namespace ikepulse::config
