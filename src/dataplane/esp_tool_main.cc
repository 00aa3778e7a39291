// esp_tool: a standalone ESP forwarder between a TUN device and UDP 4500 (RFC 3948) or raw
// ESP, with one SA pair given on the command line. A lab harness for interop tests before
// the data plane is wired into ikepulsed: it runs the same DataPlane code. --local and
// --remote (the outer addresses) are both IPv4 or both IPv6; the protected networks (inner
// packets) are IPv4.
//
//   esp_tool --tun NAME [--mtu 1400] --local IP [--local-port 4500] --remote IP
//            [--remote-port 4500] [--raw] --spi-in HEX --spi-out HEX
//            --enc aes128|aes192|aes256|3des|null --integ sha1|md5|sha256|sha384|sha512|none
//            --enc-key-in HEX --enc-key-out HEX [--integ-key-in HEX --integ-key-out HEX]
//            --local-net NET/LEN --remote-net NET/LEN [--max-seconds N]
//
// Keys on a command line are visible to other local users: lab use only. Keys are never
// printed. Stops on SIGTERM/SIGINT or after --max-seconds (default 600). Exit status 0 on
// a clean stop, 2 on bad arguments, 1 on I/O setup errors.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include "crypto/crypto.h"
#include "common/buffered_random.h"
#include "dataplane/dataplane.h"
#include "dataplane/raw_esp.h"
#include "dataplane/tun.h"
#include "dataplane/udp_encap.h"

namespace ikepulse::dataplane {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

TimePoint Now() {
  return FromMicros(std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count());
}

int Usage(const char* why) {
  std::fprintf(stderr, "esp_tool: %s (see the header of esp_tool_main.cc for usage)\n", why);
  return 2;
}

bool ParseNet(const std::string& s, IpAddress& net, IpAddress& mask, int& len) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) return false;
  auto ip = IpAddress::Parse(s.substr(0, slash));
  if (!ip || ip->v6) return false;
  len = std::atoi(s.substr(slash + 1).c_str());
  if (len < 0 || len > 32) return false;
  net = *ip;
  const uint32_t m = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  mask = IpAddress::V4FromU32(m);
  return true;
}

std::string ProtectedAcl(const IpAddress& net, const IpAddress& mask) {
  return net.ToString() + "/" + mask.ToString();
}

// A sockaddr_in or sockaddr_in6 for ep; returns its length.
socklen_t ToSockaddr(const Endpoint& ep, sockaddr_storage& ss) {
  ss = {};
  if (ep.ip.v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(ep.port);
    std::memcpy(&sa->sin6_addr, ep.ip.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(ep.port);
  std::memcpy(&sa->sin_addr, ep.ip.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

bool FromSockaddr(const sockaddr_storage& ss, Endpoint& ep) {
  if (ss.ss_family == AF_INET6) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(&ss);
    ep.ip.v6 = true;
    std::memcpy(ep.ip.bytes.data(), &sa->sin6_addr, 16);
    ep.port = ntohs(sa->sin6_port);
    return true;
  }
  if (ss.ss_family == AF_INET) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(&ss);
    ep.ip = IpAddress{};
    std::memcpy(ep.ip.bytes.data(), &sa->sin_addr, 4);
    ep.port = ntohs(sa->sin_port);
    return true;
  }
  return false;
}

int UdpSocket(const IpAddress& local, uint16_t port) {
  const int fd =
      socket(local.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (local.v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  sockaddr_storage sa;
  const socklen_t len = ToSockaddr(Endpoint{local, port}, sa);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void PrintStats(const DataPlane& dp) {
  const auto& c = dp.counters();
  std::fprintf(stderr,
               "esp_tool: stats tun=%llu esp=%llu encrypted=%llu decrypted=%llu "
               "drop_no_policy=%llu drop_unknown_spi=%llu drop_replay=%llu drop_auth=%llu "
               "drop_malformed=%llu drop_inner_policy=%llu\n",
               (unsigned long long)c.tun_packets, (unsigned long long)c.esp_packets,
               (unsigned long long)c.encrypted, (unsigned long long)c.decrypted,
               (unsigned long long)c.drop_no_policy, (unsigned long long)c.drop_unknown_spi,
               (unsigned long long)c.drop_replay, (unsigned long long)c.drop_auth,
               (unsigned long long)c.drop_malformed, (unsigned long long)c.drop_inner_policy);
}

int Run(int argc, char** argv) {
  std::map<std::string, std::string> a;
  bool raw = false;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--raw") {
      raw = true;
      continue;
    }
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) return Usage("bad argument");
    a[k.substr(2)] = argv[++i];
  }
  for (const char* req : {"tun", "local", "remote", "spi-in", "spi-out", "enc", "integ",
                          "local-net", "remote-net"}) {
    if (!a.count(req)) return Usage((std::string("missing --") + req).c_str());
  }
  static const std::map<std::string, std::pair<config::EspCipher, size_t>> kEnc = {
      {"aes128", {config::EspCipher::kAes128, 16}}, {"aes192", {config::EspCipher::kAes192, 24}},
      {"aes256", {config::EspCipher::kAes256, 32}}, {"3des", {config::EspCipher::k3Des, 24}},
      {"null", {config::EspCipher::kNull, 0}}};
  static const std::map<std::string, config::EspAuth> kInteg = {
      {"md5", config::EspAuth::kMd5},       {"sha1", config::EspAuth::kSha1},
      {"sha256", config::EspAuth::kSha256}, {"sha384", config::EspAuth::kSha384},
      {"sha512", config::EspAuth::kSha512}, {"none", config::EspAuth::kNone}};
  if (!kEnc.count(a["enc"])) return Usage("unknown --enc");
  if (!kInteg.count(a["integ"])) return Usage("unknown --integ");

  ike::ChildSaSnapshot s;
  s.map_name = "esp-tool";
  s.map_seq = 1;
  auto local = IpAddress::Parse(a["local"]);
  auto remote = IpAddress::Parse(a["remote"]);
  if (!local || !remote || local->v6 != remote->v6) return Usage("bad --local/--remote");
  const uint16_t lport = a.count("local-port") ? std::atoi(a["local-port"].c_str()) : kNattPort;
  const uint16_t rport = a.count("remote-port") ? std::atoi(a["remote-port"].c_str()) : kNattPort;
  s.local = Endpoint{*local, lport};
  s.remote = Endpoint{*remote, rport};
  s.udp_encap = !raw;
  s.spi_in = static_cast<uint32_t>(std::strtoul(a["spi-in"].c_str(), nullptr, 16));
  s.spi_out = static_cast<uint32_t>(std::strtoul(a["spi-out"].c_str(), nullptr, 16));
  s.cipher = kEnc.at(a["enc"]).first;
  s.auth = kInteg.at(a["integ"]);
  auto key = [&](const char* name, SecretBytes& out) {
    Bytes b;
    if (!FromHex(a[name], b)) return false;
    out = SecretBytes(b);
    SecureWipe(b.data(), b.size());
    return true;
  };
  if (!key("enc-key-in", s.enc_key_in) || !key("enc-key-out", s.enc_key_out) ||
      !key("integ-key-in", s.auth_key_in) || !key("integ-key-out", s.auth_key_out)) {
    return Usage("bad key hex");
  }
  int local_len = 0, remote_len = 0;
  if (!ParseNet(a["local-net"], s.local_net, s.local_mask, local_len) ||
      !ParseNet(a["remote-net"], s.remote_net, s.remote_mask, remote_len)) {
    return Usage("bad --local-net/--remote-net");
  }
  s.lifetime_left_s = 3600;
  s.lifetime_kb = 0;

  // Policy: one crypto map entry whose ACL permits local-net -> remote-net.
  config::Config cfg;
  config::CryptoMapEntry e;
  e.map_name = s.map_name;
  e.seq = s.map_seq;
  e.match_address = "esp-tool";
  cfg.crypto_maps.push_back(e);
  config::AclEntry line;
  line.src = s.local_net;
  line.src_wildcard = IpAddress::V4FromU32(~s.local_mask.V4ToU32());
  line.dst = s.remote_net;
  line.dst_wildcard = IpAddress::V4FromU32(~s.remote_mask.V4ToU32());
  cfg.acls["esp-tool"] = config::AccessList{"esp-tool", false, {line}};

  crypto::OpenSslRandom os_rng;
  BufferedRandom rng(os_rng);
  DataPlane dp(rng);
  DataPlane::Out out;
  const auto report = dp.Sync(Now(), cfg, {s}, out);
  if (report.added != 1) return Usage("SA rejected (algorithm or key lengths)");

  auto tun = TunDevice::Open(a["tun"]);
  if (!tun) {
    std::fprintf(stderr, "esp_tool: %s\n", tun.error().ToString().c_str());
    return 1;
  }
  const uint32_t mtu = a.count("mtu") ? std::atoi(a["mtu"].c_str()) : 1400;
  if (auto r = tun->SetUp(mtu); !r) {
    std::fprintf(stderr, "esp_tool: link up: %s\n", r.error().ToString().c_str());
    return 1;
  }
  if (auto r = tun->AddRoute(s.remote_net, static_cast<uint8_t>(remote_len)); !r) {
    std::fprintf(stderr, "esp_tool: route: %s\n", r.error().ToString().c_str());
    return 1;
  }
  int udp = -1;
  std::optional<RawEspSocket> raw_sock;
  if (raw) {
    auto r = RawEspSocket::Open(*local);
    if (!r) {
      std::fprintf(stderr, "esp_tool: %s\n", r.error().ToString().c_str());
      return 1;
    }
    raw_sock.emplace(std::move(*r));
  } else {
    udp = UdpSocket(*local, lport);
    if (udp < 0) {
      std::fprintf(stderr, "esp_tool: bind %s:%u: %s\n", local->ToString().c_str(), lport,
                   std::strerror(errno));
      return 1;
    }
  }
  std::fprintf(stderr,
               "esp_tool: ready tun=%s mtu=%u %s local=%s remote=%s spi_in=%08x spi_out=%08x "
               "enc=%s integ=%s protect %s -> %s\n",
               tun->name().c_str(), mtu, raw ? "raw-esp" : "udp-encap",
               s.local.ToString().c_str(), s.remote.ToString().c_str(), s.spi_in, s.spi_out,
               a["enc"].c_str(), a["integ"].c_str(), ProtectedAcl(s.local_net, s.local_mask).c_str(),
               ProtectedAcl(s.remote_net, s.remote_mask).c_str());

  const int max_seconds = a.count("max-seconds") ? std::atoi(a["max-seconds"].c_str()) : 600;
  const TimePoint deadline = Now() + Seconds(max_seconds);
  std::vector<uint8_t> buf(65536);
  uint64_t last_printed_enc = 0, last_printed_dec = 0;
  TimePoint last_print = Now();

  auto flush = [&]() {
    for (const auto& d : out.esp_datagrams) {
      sockaddr_storage to;
      const socklen_t tlen = ToSockaddr(d.remote, to);
      sendto(udp, d.data.data(), d.data.size(), 0, reinterpret_cast<sockaddr*>(&to), tlen);
    }
    for (const auto& d : out.raw_esp) {
      if (raw_sock) (void)raw_sock->Send(d.remote.ip, d.data);
    }
    for (const auto& p : out.to_tun) (void)tun->Write(p);
    out.Clear();
  };

  while (!g_stop && Now() < deadline) {
    pollfd fds[2] = {{tun->fd(), POLLIN, 0}, {raw ? raw_sock->fd() : udp, POLLIN, 0}};
    const int n = poll(fds, 2, 200);
    if (n < 0 && errno != EINTR) break;
    // Bounded batches per wake-up.
    for (int i = 0; i < 64 && (fds[0].revents & POLLIN); ++i) {
      auto r = tun->Read(buf);
      if (!r || *r == 0) break;
      dp.OnTunPacket(Now(), ByteSpan(buf.data(), *r), out);
      flush();
    }
    for (int i = 0; i < 64 && (fds[1].revents & POLLIN); ++i) {
      if (raw) {
        auto r = raw_sock->Receive(buf);
        if (!r || !r->has_value()) break;
        dp.OnEspDatagram(Now(), Endpoint{(*r)->dst, 0}, Endpoint{(*r)->src, 0}, (*r)->esp, out);
      } else {
        sockaddr_storage from{};
        socklen_t flen = sizeof(from);
        const ssize_t got = recvfrom(udp, buf.data(), buf.size(), 0,
                                     reinterpret_cast<sockaddr*>(&from), &flen);
        if (got < 0) break;
        const ByteSpan d(buf.data(), static_cast<size_t>(got));
        if (ClassifyNattDatagram(d) != NattKind::kEsp) continue;  // IKE / keepalive: not ours
        Endpoint peer;
        if (!FromSockaddr(from, peer)) continue;
        dp.OnEspDatagram(Now(), s.local, peer, d, out);
      }
      flush();
    }
    const auto& c = dp.counters();
    if ((c.encrypted != last_printed_enc || c.decrypted != last_printed_dec) &&
        Now() - last_print >= Millis(500)) {
      if (last_printed_enc == 0 && c.encrypted > 0) {
        std::fprintf(stderr, "esp_tool: first outbound packet encrypted\n");
      }
      if (last_printed_dec == 0 && c.decrypted > 0) {
        std::fprintf(stderr, "esp_tool: first inbound packet decrypted\n");
      }
      last_printed_enc = c.encrypted;
      last_printed_dec = c.decrypted;
      last_print = Now();
      PrintStats(dp);
    }
  }
  PrintStats(dp);
  std::fprintf(stderr, "esp_tool: stopped (%s)\n", g_stop ? "signal" : "deadline");
  if (udp >= 0) close(udp);
  return 0;
}

}  // namespace
}  // namespace ikepulse::dataplane

int main(int argc, char** argv) {
  struct sigaction sa {};
  sa.sa_handler = ikepulse::dataplane::OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  return ikepulse::dataplane::Run(argc, argv);
}
