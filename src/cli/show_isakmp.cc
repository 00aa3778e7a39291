// show crypto isakmp sa [detail], show crypto isakmp policy, show crypto isakmp key.
#include "cli/config_util.h"
#include "cli/show.h"
#include "cli/show_format.h"

namespace ikepulse::cli {

namespace {

const char* ModeName(config::DpdMode m) {
  return m == config::DpdMode::kPeriodic ? "periodic" : "on-demand";
}

// ikepulse's DPD lines under each SA of `show crypto isakmp sa detail`: what is configured,
// what the peer announced, and whether DPD runs on this SA.
std::string DpdLines(const DpdInfo& d, const std::string& state) {
  if (!d.enabled) return "       DPD: disabled (no crypto isakmp keepalive)\n";
  std::string out = Fmt("       DPD: %s, interval %u s, retry %u s, ", ModeName(d.mode),
                        d.interval_s, d.retry_s);
  const bool main_mode = state.rfind("MM_", 0) == 0;
  if (!d.peer_supports && main_mode) {
    return out + "peer has not announced DPD (yet)\n" +
           "       DPD state: not running yet (Main Mode in progress)\n";
  }
  if (!d.peer_supports) {
    return out + "peer did not announce DPD (no R-U-THERE sent)\n" +
           "       DPD state: not running on this SA\n";
  }
  out += "peer supports DPD\n";
  out += "       DPD state: ";
  if (!d.active) {
    return out + (main_mode ? "not running yet (Main Mode in progress)\n" : "not running\n");
  }
  out += d.probing ? Fmt("probing, %u R-U-THERE unacknowledged", d.outstanding) : "idle";
  out += d.last_heard_s_ago < 0 ? std::string(", never heard from peer")
                                : Fmt(", last heard %lld s ago",
                                      static_cast<long long>(d.last_heard_s_ago));
  out += Fmt(", next seq 0x%08X\n", d.next_seq);
  return out;
}

}  // namespace

std::string HhMmSs(int64_t s) {
  if (s < 0) s = 0;
  return Fmt("%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
             static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
}

std::string IsakmpSaHeader(bool detail) {
  if (!detail)
    return "IPv4 Crypto ISAKMP SA\n"
           "dst             src             state          conn-id status\n";
  return "Codes: C - IKE configuration mode, D - Dead Peer Detection\n"
         "       K - Keepalives, N - NAT-traversal\n"
         "       T - cTCP encapsulation, X - IKE Extended Authentication\n"
         "       psk - Preshared key, rsig - RSA signature\n"
         "       renc - RSA encryption\n"
         "IPv4 Crypto ISAKMP SA\n\n"
         "C-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime "
         "Cap.\n\n";
}

std::string IsakmpSaRows(const std::vector<IsakmpSaInfo>& sas, bool detail) {
  std::string out;
  for (const auto& sa : sas) {
    if (sa.dst.v6) continue;
    if (!detail) {
      out += Fmt("%-15s %-15s %-14s %7u %s\n", sa.dst.ToString().c_str(),
                 sa.src.ToString().c_str(), sa.state.c_str(), sa.conn_id, sa.status.c_str());
      continue;
    }
    out += Fmt("%-5u %-15s %-15s %-6s %-6s %-4s %-6s %-4s %-2u %-8s %s\n", sa.conn_id,
               sa.src.ToString().c_str(), sa.dst.ToString().c_str(), sa.ivrf.c_str(),
               sa.status.c_str(), sa.encryption.c_str(), sa.hash.c_str(), sa.auth.c_str(),
               static_cast<unsigned>(sa.group), HhMmSs(sa.lifetime_left_s).c_str(),
               sa.capabilities.c_str());
    out += Fmt("       Engine-id:Conn-id =  SW:%u\n", sa.conn_id);
    out += DpdLines(sa.dpd, sa.state);
    out += "\n";
  }
  return out;
}

std::string IsakmpSaTrailer(bool detail) {
  return detail ? "IPv6 Crypto ISAKMP SA\n\n" : "\nIPv6 Crypto ISAKMP SA\n\n";
}

std::string FormatIsakmpSas(const std::vector<IsakmpSaInfo>& sas, bool detail) {
  return IsakmpSaHeader(detail) + IsakmpSaRows(sas, detail) + IsakmpSaTrailer(detail);
}

void JsonIsakmpSas(const std::vector<IsakmpSaInfo>& sas, JsonWriter& w) {
  w.BeginObject().Key("isakmp_sas").BeginArray();
  for (const auto& sa : sas) {
    w.BeginObject()
        .Field("dst", sa.dst.ToString())
        .Field("src", sa.src.ToString())
        .Field("local_port", sa.local_port)
        .Field("remote_port", sa.remote_port)
        .Field("state", sa.state)
        .Field("conn_id", sa.conn_id)
        .Field("status", sa.status)
        .Field("encryption", sa.encryption)
        .Field("hash", sa.hash)
        .Field("auth", sa.auth)
        .Field("group", sa.group)
        .Field("lifetime_left_s", sa.lifetime_left_s)
        .Field("capabilities", sa.capabilities)
        .Field("fvrf", sa.fvrf)
        .Field("ivrf", sa.ivrf);
    const DpdInfo& d = sa.dpd;
    w.Key("dpd")
        .BeginObject()
        .Field("enabled", d.enabled)
        .Field("active", d.active)
        .Field("mode", ModeName(d.mode))
        .Field("interval_s", d.interval_s)
        .Field("retry_s", d.retry_s)
        .Field("peer_supports", d.peer_supports)
        .Field("last_heard_s_ago", d.last_heard_s_ago)
        .Field("probing", d.probing)
        .Field("outstanding", d.outstanding)
        .Field("next_seq", d.next_seq)
        .EndObject();
    w.EndObject();
  }
  w.EndArray().EndObject();
}

namespace {

const char* EncryptionLong(config::Encryption e) {
  switch (e) {
    case config::Encryption::kDes: return "DES - Data Encryption Standard (56 bit keys).";
    case config::Encryption::k3Des: return "Three key triple DES";
    case config::Encryption::kAes128: return "AES - Advanced Encryption Standard (128 bit keys).";
    case config::Encryption::kAes192: return "AES - Advanced Encryption Standard (192 bit keys).";
    case config::Encryption::kAes256: return "AES - Advanced Encryption Standard (256 bit keys).";
  }
  return "";
}

const char* HashLong(config::Hash h) {
  switch (h) {
    case config::Hash::kMd5: return "Message Digest 5";
    case config::Hash::kSha1: return "Secure Hash Standard";
    case config::Hash::kSha256: return "Secure Hash Standard 2 (256 bit)";
    case config::Hash::kSha384: return "Secure Hash Standard 2 (384 bit)";
    case config::Hash::kSha512: return "Secure Hash Standard 2 (512 bit)";
  }
  return "";
}

const char* GroupBits(uint16_t g) {
  switch (g) {
    case 1: return "768 bit";
    case 2: return "1024 bit";
    case 5: return "1536 bit";
    case 14: return "2048 bit";
    case 15: return "3072 bit";
    case 16: return "4096 bit";
    case 19: return "256 bit ecp";
    case 20: return "384 bit ecp";
    case 21: return "521 bit ecp";
  }
  return "?";
}

std::string Suite(const config::IsakmpPolicy& p) {
  std::string out;
  out += std::string("\tencryption algorithm:\t") + EncryptionLong(p.encryption) + "\n";
  out += std::string("\thash algorithm:\t\t") + HashLong(p.hash) + "\n";
  out += std::string("\tauthentication method:\t") +
         (p.authentication == config::AuthMethod::kPreShare ? "Pre-Shared Key"
                                                            : "Rivest-Shamir-Adleman Signature") +
         "\n";
  out += Fmt("\tDiffie-Hellman group:\t#%u (%s)\n", static_cast<unsigned>(p.group),
             GroupBits(p.group));
  out += Fmt("\tlifetime:\t\t%u seconds, no volume limit\n", p.lifetime_s);
  return out;
}

}  // namespace

std::string FormatIsakmpPolicies(const config::Config& c) {
  std::string out = "\nGlobal IKE policy\n";
  for (const auto& [prio, p] : c.policies) {
    out += Fmt("Protection suite of priority %u\n", prio);
    out += Suite(p);
  }
  out += "Default protection suite\n";
  out += Suite(config::IsakmpPolicy{});
  return out;
}

void JsonIsakmpPolicies(const config::Config& c, JsonWriter& w) {
  w.BeginObject().Key("policies").BeginArray();
  for (const auto& [prio, p] : c.policies) {
    w.BeginObject()
        .Field("priority", prio)
        .Field("encryption", EncryptionName(p.encryption))
        .Field("hash", HashName(p.hash))
        .Field("authentication", AuthName(p.authentication))
        .Field("group", p.group)
        .Field("lifetime_s", p.lifetime_s)
        .EndObject();
  }
  w.EndArray().EndObject();
}

std::string FormatIsakmpKeys(const config::Config& c) {
  std::string out =
      "Keyring      Hostname/Address                            Preshared Key\n\n";
  for (const auto& k : c.keys) {
    int bits = 0;
    for (int i = 0; i < 4; ++i) bits += __builtin_popcount(k.mask.bytes[static_cast<size_t>(i)]);
    const std::string addr = k.address.ToString() + "/" + std::to_string(bits);
    const std::string key(reinterpret_cast<const char*>(k.key.data()), k.key.size());
    out += Fmt("%-12s %-43s %s\n", "default", addr.c_str(), key.c_str());
  }
  return out;
}

}  // namespace ikepulse::cli
