// libFuzzer target for the ESP data plane: arbitrary bytes as an ESP packet (Decapsulate for
// every cipher/integrity pair, and through DataPlane::OnEspDatagram), as a UDP 4500 datagram
// (ClassifyNattDatagram), as a raw IPv4 packet (ParseRawIpv4Esp), as the name and control
// buffers of an IPv6 raw-socket recvmsg (ParseRawIpv6Esp) and as a TUN packet
// (ParseIpPacket, DataPlane::OnTunPacket). Invariants: no crash; whatever Encapsulate
// produces from an IP packet, Decapsulate returns unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <algorithm>

#include <netinet/in.h>
#include <sys/socket.h>

#include "common/random.h"
#include "dataplane/dataplane.h"
#include "dataplane/esp.h"
#include "dataplane/ip_packet.h"
#include "dataplane/raw_esp.h"
#include "dataplane/udp_encap.h"
#include "fuzz_check.h"

namespace ikepulse::dataplane {
namespace {

using crypto::EspEncAlg;
using crypto::EspIntegAlg;

constexpr EspEncAlg kEncs[] = {EspEncAlg::kNull, EspEncAlg::kAes128Cbc, EspEncAlg::kAes192Cbc,
                               EspEncAlg::kAes256Cbc, EspEncAlg::k3DesCbc};
constexpr EspIntegAlg kIntegs[] = {EspIntegAlg::kNone, EspIntegAlg::kHmacMd5_96,
                                   EspIntegAlg::kHmacSha1_96, EspIntegAlg::kHmacSha256_128,
                                   EspIntegAlg::kHmacSha384_192, EspIntegAlg::kHmacSha512_256};
constexpr EspEncAlg kGcms[] = {EspEncAlg::kAes128Gcm16, EspEncAlg::kAes256Gcm16};

EspSa FixedSa(EspEncAlg e, EspIntegAlg i) {
  const Bytes ek(crypto::EspEncKeyLength(e), 0x11);
  const Bytes ik(crypto::EspIntegKeyLength(i), 0x22);
  auto sa = EspSa::Create(0x01020304, e, ek, i, ik);
  FUZZ_CHECK(sa.has_value());
  return std::move(*sa);
}

ike::ChildSaSnapshot Snapshot() {
  ike::ChildSaSnapshot s;
  s.ike_sa = 1;
  s.map_name = "m";
  s.map_seq = 1;
  s.local = Endpoint{IpAddress::V4(192, 0, 2, 1), 4500};
  s.remote = Endpoint{IpAddress::V4(192, 0, 2, 2), 4500};
  s.udp_encap = true;
  s.spi_in = 0x01020304;
  s.spi_out = 0x05060708;
  s.cipher = config::EspCipher::kAes128;
  s.auth = config::EspAuth::kSha1;
  s.enc_key_in = s.enc_key_out = SecretBytes(Bytes(16, 0x11));
  s.auth_key_in = s.auth_key_out = SecretBytes(Bytes(20, 0x22));
  s.local_net = IpAddress::V4(198, 51, 100, 0);
  s.local_mask = s.remote_mask = IpAddress::V4(255, 255, 255, 0);
  s.remote_net = IpAddress::V4(203, 0, 113, 0);
  s.lifetime_kb = 1;
  return s;
}

config::Config PolicyConfig() {
  config::Config c;
  config::CryptoMapEntry e;
  e.map_name = "m";
  e.seq = 1;
  e.match_address = "101";
  c.crypto_maps.push_back(e);
  config::AclEntry any;
  any.src_wildcard = any.dst_wildcard = IpAddress::V4(255, 255, 255, 255);
  c.acls["101"] = config::AccessList{"101", true, {any}};
  return c;
}

}  // namespace
}  // namespace ikepulse::dataplane

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ikepulse;
  using namespace ikepulse::dataplane;
  const ByteSpan in(data, size);
  (void)ClassifyNattDatagram(in);
  (void)NattIkePayload(in);
  (void)ParseRawIpv4Esp(in);
  {
    // First byte: msg_namelen (0..sizeof(sockaddr_in6)); the next up to 64 bytes: the
    // control buffer (copied to aligned storage, as the kernel's is); the rest: the payload.
    sockaddr_in6 name{};
    alignas(cmsghdr) uint8_t control[64] = {};
    msghdr msg{};
    if (size > 0) {
      const size_t namelen = data[0] % (sizeof(name) + 1);
      const size_t clen = std::min<size_t>(size - 1, sizeof(control));
      std::memcpy(&name, data + 1, std::min(namelen, size - 1));
      std::memcpy(control, data + 1, clen);
      msg.msg_name = &name;
      msg.msg_namelen = static_cast<socklen_t>(namelen);
      msg.msg_control = control;
      msg.msg_controllen = clen;
      auto r = ParseRawIpv6Esp(msg, in.subspan(1 + clen));
      if (r) FUZZ_CHECK(r->src.v6 && r->dst.v6);
    }
  }
  (void)ParseIpPacket(in);
  uint32_t spi = 0, seq = 0;
  (void)PeekEspHeader(in, spi, seq);

  // Decapsulate under every algorithm pair (fixed keys: random input almost never passes the
  // ICV, so also the no-integrity SAs, which reach the padding and next-header checks).
  for (auto e : kEncs) {
    for (auto i : kIntegs) {
      EspSa sa = FixedSa(e, i);
      auto r = Decapsulate(sa, in);
      if (r) FUZZ_CHECK(!r->inner.empty());
    }
  }

  // AES-GCM (RFC 4106). Random input almost never passes the tag, so the input is also sealed
  // as the encrypted part of a packet (any padding, pad length and next header) to reach the
  // checks after the tag; and it makes a round trip as an inner packet.
  for (auto e : kGcms) {
    EspSa sa = FixedSa(e, EspIntegAlg::kNone);
    (void)Decapsulate(sa, in);
    Bytes pkt(kEspHeaderLength + 8 + size + 16, 0);
    const uint8_t hdr[8] = {1, 2, 3, 4, 0, 0, 0, 1};
    std::copy(hdr, hdr + 8, pkt.begin());
    pkt[kEspHeaderLength + 7] = 1;  // IV
    std::copy(data, data + size, pkt.begin() + kEspHeaderLength + 8);
    const std::span<uint8_t> body(pkt.data() + kEspHeaderLength + 8, size);
    FUZZ_CHECK(sa.crypto
                   ->Seal(ByteSpan(pkt.data(), kEspHeaderLength),
                          ByteSpan(pkt.data() + kEspHeaderLength, 8), body,
                          std::span<uint8_t>(pkt.data() + kEspHeaderLength + 8 + size, 16))
                   .has_value());
    auto r = Decapsulate(sa, pkt);
    if (r) FUZZ_CHECK(!r->inner.empty() && r->inner.size() + 2 <= size && size % 4 == 0);
    if (size >= 4 && size % 4 == 0) {
      // Authenticated and aligned: the window took seq 1 whatever the payload was.
      auto again = Decapsulate(sa, pkt);
      FUZZ_CHECK(!again && again.error().code == EspErrorCode::kReplay);
    }
    EspSa out = FixedSa(e, EspIntegAlg::kNone);
    EspSa back = FixedSa(e, EspIntegAlg::kNone);
    SeededRandom unused(size);  // an AES-GCM IV is the sequence number
    auto enc = Encapsulate(out, 9, in, unused);
    if (enc) {
      auto d = Decapsulate(back, *enc);
      FUZZ_CHECK(d.has_value());
      FUZZ_CHECK(d->inner.size() == size && std::equal(d->inner.begin(), d->inner.end(), data));
    }
  }

  // Round trip: the input as an inner packet.
  SeededRandom rng(size);
  {
    EspSa out = FixedSa(EspEncAlg::kAes128Cbc, EspIntegAlg::kHmacSha1_96);
    EspSa back = FixedSa(EspEncAlg::kAes128Cbc, EspIntegAlg::kHmacSha1_96);
    auto pkt = Encapsulate(out, 1, in, rng);
    if (pkt) {
      auto d = Decapsulate(back, *pkt);
      FUZZ_CHECK(d.has_value());
      FUZZ_CHECK(d->inner.size() == size && std::equal(d->inner.begin(), d->inner.end(), data));
    }
  }

  // Through the DataPlane both ways.
  DataPlane dp(rng);
  DataPlane::Out out;
  const config::Config cfg = PolicyConfig();
  (void)dp.Sync(FromMicros(1), cfg, {Snapshot()}, out);
  dp.OnEspDatagram(FromMicros(2), {}, {}, in, out);
  dp.OnTunPacket(FromMicros(3), in, out);
  // What we sent comes back through our own inbound SA (same keys both ways here) and must
  // then reach the TUN if it passes the inbound policy.
  for (const auto& d : out.esp_datagrams) dp.OnEspDatagram(FromMicros(4), {}, {}, d.data, out);
  return 0;
}
