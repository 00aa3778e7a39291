// show crypto ipsec sa [peer A], show crypto session [detail].
#include "cli/config_util.h"
#include "cli/show.h"
#include "cli/show_format.h"

namespace ikepulse::cli {

namespace {

std::string Ident(const IpsecIdent& i) {
  return "(" + i.addr.ToString() + "/" + i.mask.ToString() + "/" + std::to_string(i.protocol) +
         "/" + std::to_string(i.port) + ")";
}

std::string EspSas(const std::vector<EspSaInfo>& sas, const std::string& map_name) {
  std::string out;
  for (const auto& s : sas) {
    out += Fmt("      spi: 0x%08X(%u)\n", s.spi, s.spi);
    out += "        transform: " + s.transform + " ,\n";
    out += std::string("        in use settings ={") + (s.tunnel ? "Tunnel" : "Transport") +
           ", }\n";
    out += Fmt("        conn id: %u, flow_id: SW:%u, crypto map: %s\n", s.conn_id, s.conn_id,
               map_name.c_str());
    out += Fmt("        sa timing: remaining key lifetime (k/sec): (%llu/%lld)\n",
               static_cast<unsigned long long>(s.remaining_kb),
               static_cast<long long>(s.remaining_s));
    out += "        Status: " + s.status + "\n";
  }
  return out;
}

bool PeerMatches(const IpsecSaInfo& s, std::optional<IpAddress> peer) {
  return !peer || (s.current_peer && *s.current_peer == *peer);
}

}  // namespace

std::string FormatIpsecSas(const std::vector<IpsecSaInfo>& sas, std::optional<IpAddress> peer) {
  std::optional<std::string> last_if;
  return IpsecSaRows(sas, peer, last_if);
}

std::string IpsecSaRows(const std::vector<IpsecSaInfo>& sas, std::optional<IpAddress> peer,
                        std::optional<std::string>& last_if) {
  std::string out;
  for (const auto& s : sas) {
    if (!PeerMatches(s, peer)) continue;
    if (!last_if || *last_if != s.interface) {
      out += "\ninterface: " + s.interface + "\n";
      out += "    Crypto map tag: " + s.map_name + ", local addr " + s.local_addr.ToString() +
             "\n";
      last_if = s.interface;
    }
    out += "\n   protected vrf: " + (s.fvrf.empty() ? std::string("(none)") : s.fvrf) + "\n";
    out += "   local  ident (addr/mask/prot/port): " + Ident(s.local_ident) + "\n";
    out += "   remote ident (addr/mask/prot/port): " + Ident(s.remote_ident) + "\n";
    out += "   current_peer " +
           (s.current_peer ? s.current_peer->ToString() : std::string("0.0.0.0")) + " port " +
           std::to_string(s.peer_port) + "\n";
    out += "     PERMIT, flags={origin_is_acl,}\n";
    out += Fmt("    #pkts encaps: %llu, #pkts encrypt: %llu, #pkts digest: %llu\n",
               static_cast<unsigned long long>(s.pkts_encaps),
               static_cast<unsigned long long>(s.pkts_encaps),
               static_cast<unsigned long long>(s.pkts_encaps));
    out += Fmt("    #pkts decaps: %llu, #pkts decrypt: %llu, #pkts verify: %llu\n",
               static_cast<unsigned long long>(s.pkts_decaps),
               static_cast<unsigned long long>(s.pkts_decaps),
               static_cast<unsigned long long>(s.pkts_decaps));
    // Not in IOS's layout (it has no byte counts or packet times here): ikepulse's data plane
    // counts them per SA, and they are what on-demand DPD looks at.
    out += Fmt("    #bytes encaps: %llu, #bytes decaps: %llu\n",
               static_cast<unsigned long long>(s.bytes_out),
               static_cast<unsigned long long>(s.bytes_in));
    auto ago = [](int64_t s_ago) {
      return s_ago < 0 ? std::string("never") : HhMmSs(s_ago) + " ago";
    };
    out += "    last packet in: " + ago(s.last_in_s_ago) + ", last packet out: " +
           ago(s.last_out_s_ago) + "\n";
    out += Fmt("    #send errors %llu, #recv errors %llu\n\n",
               static_cast<unsigned long long>(s.send_errors),
               static_cast<unsigned long long>(s.recv_errors));
    out += "     local crypto endpt.: " + s.local_addr.ToString() + ", remote crypto endpt.: " +
           (s.current_peer ? s.current_peer->ToString() : std::string("0.0.0.0")) + "\n";
    const uint32_t out_spi = s.outbound.empty() ? 0 : s.outbound.back().spi;
    out += Fmt("     current outbound spi: 0x%X(%u)\n", out_spi, out_spi);
    out += s.pfs_group ? Fmt("     PFS (Y/N): Y, DH group: group%u\n",
                             static_cast<unsigned>(*s.pfs_group))
                       : std::string("     PFS (Y/N): N, DH group: none\n");
    out += "\n     inbound esp sas:\n" + EspSas(s.inbound, s.map_name);
    out += "\n     outbound esp sas:\n" + EspSas(s.outbound, s.map_name);
  }
  return out;
}

void JsonIpsecSas(const std::vector<IpsecSaInfo>& sas, std::optional<IpAddress> peer,
                  JsonWriter& w) {
  auto ident = [&](const char* key, const IpsecIdent& i) {
    w.Key(key)
        .BeginObject()
        .Field("addr", i.addr.ToString())
        .Field("mask", i.mask.ToString())
        .Field("protocol", static_cast<uint32_t>(i.protocol))
        .Field("port", i.port)
        .EndObject();
  };
  auto esp = [&](const char* key, const std::vector<EspSaInfo>& v) {
    w.Key(key).BeginArray();
    for (const auto& e : v)
      w.BeginObject()
          .Field("spi", e.spi)
          .Field("transform", e.transform)
          .Field("mode", e.tunnel ? "tunnel" : "transport")
          .Field("conn_id", e.conn_id)
          .Field("remaining_kb", e.remaining_kb)
          .Field("remaining_s", e.remaining_s)
          .Field("status", e.status)
          .EndObject();
    w.EndArray();
  };
  w.BeginObject().Key("ipsec_sas").BeginArray();
  for (const auto& s : sas) {
    if (!PeerMatches(s, peer)) continue;
    w.BeginObject()
        .Field("map", s.map_name)
        .Field("seq", s.seq)
        .Field("interface", s.interface)
        .Field("local_addr", s.local_addr.ToString())
        .Field("fvrf", s.fvrf);
    ident("local_ident", s.local_ident);
    ident("remote_ident", s.remote_ident);
    w.Key("current_peer");
    if (s.current_peer) w.String(s.current_peer->ToString());
    else w.Null();
    w.Field("peer_port", s.peer_port)
        .Field("pkts_encaps", s.pkts_encaps)
        .Field("pkts_decaps", s.pkts_decaps)
        .Field("bytes_out", s.bytes_out)
        .Field("bytes_in", s.bytes_in)
        .Field("last_in_s_ago", s.last_in_s_ago)
        .Field("last_out_s_ago", s.last_out_s_ago)
        .Field("send_errors", s.send_errors)
        .Field("recv_errors", s.recv_errors);
    w.Key("pfs_group");
    if (s.pfs_group) w.UInt(*s.pfs_group);
    else w.Null();
    esp("inbound", s.inbound);
    esp("outbound", s.outbound);
    w.EndObject();
  }
  w.EndArray().EndObject();
}

std::string FormatCryptoSessions(const std::vector<CryptoSessionInfo>& sessions, bool detail) {
  return CryptoSessionHeader(detail) + CryptoSessionRows(sessions, detail);
}

std::string CryptoSessionHeader(bool detail) {
  std::string out = "Crypto session current status\n\n";
  if (detail)
    out +=
        "Code: C - IKE Configuration mode, D - Dead Peer Detection\n"
        "K - Keepalives, N - NAT-traversal, T - cTCP encapsulation\n"
        "X - IKE Extended Authentication, F - IKE Fragmentation\n\n";
  return out;
}

std::string CryptoSessionRows(const std::vector<CryptoSessionInfo>& sessions, bool detail) {
  std::string out;
  for (const auto& s : sessions) {
    out += "Interface: " + s.interface + "\n";
    if (!s.ikev2_sas.empty() && !s.ikev2_sas.front().profile.empty())
      out += "Profile: " + s.ikev2_sas.front().profile + "\n";
    if (detail) out += "Uptime: " + HhMmSs(s.uptime_s) + "\n";
    out += "Session status: " + s.status + "\n";
    out += "Peer: " + s.peer.ToString() + " port " + std::to_string(s.peer_port);
    if (detail) {
      out += " fvrf: " + (s.fvrf.empty() ? std::string("(none)") : s.fvrf) +
             " ivrf: " + (s.ivrf.empty() ? std::string("(none)") : s.ivrf) + "\n";
      out += "      Phase1_id: " + s.phase1_id + "\n";
      out += "      Desc: (none)\n";
    } else {
      out += "\n";
    }
    for (const auto& ike : s.ike_sas) {
      out += Fmt("  IKEv1 SA: local %s/%u remote %s/%u %s\n", ike.local.ToString().c_str(),
                 static_cast<unsigned>(ike.local_port), ike.remote.ToString().c_str(),
                 static_cast<unsigned>(ike.remote_port), ike.state.c_str());
      if (detail)
        out += Fmt("          Capabilities:%s connid:%u lifetime:%s\n",
                   ike.capabilities.empty() ? "(none)" : ike.capabilities.c_str(), ike.conn_id,
                   HhMmSs(ike.lifetime_left_s).c_str());
    }
    out += Ikev2SessionLines(s, detail);
    for (const auto& f : s.flows) {
      out += "  IPSEC FLOW: " + f.description + "\n";
      out += Fmt("        Active SAs: %u, origin: %s\n", f.active_sas, f.origin.c_str());
      if (detail && f.has_counters) {
        out += Fmt("        Inbound:  #pkts dec'ed %llu drop %llu life (KB/Sec) %llu/%lld\n",
                   static_cast<unsigned long long>(f.pkts_decrypted),
                   static_cast<unsigned long long>(f.drops_in),
                   static_cast<unsigned long long>(f.life_kb), static_cast<long long>(f.life_s));
        out += Fmt("        Outbound: #pkts enc'ed %llu drop %llu life (KB/Sec) %llu/%lld\n",
                   static_cast<unsigned long long>(f.pkts_encrypted),
                   static_cast<unsigned long long>(f.drops_out),
                   static_cast<unsigned long long>(f.life_kb), static_cast<long long>(f.life_s));
      }
    }
    out += "\n";
  }
  return out;
}

void JsonCryptoSessions(const std::vector<CryptoSessionInfo>& sessions, JsonWriter& w) {
  w.BeginObject().Key("sessions").BeginArray();
  for (const auto& s : sessions) {
    w.BeginObject()
        .Field("interface", s.interface)
        .Field("status", s.status)
        .Field("peer", s.peer.ToString())
        .Field("peer_port", s.peer_port)
        .Field("fvrf", s.fvrf)
        .Field("ivrf", s.ivrf)
        .Field("phase1_id", s.phase1_id)
        .Field("uptime_s", s.uptime_s);
    w.Key("ike_sas").BeginArray();
    for (const auto& i : s.ike_sas)
      w.BeginObject()
          .Field("local", i.local.ToString())
          .Field("local_port", i.local_port)
          .Field("remote", i.remote.ToString())
          .Field("remote_port", i.remote_port)
          .Field("state", i.state)
          .Field("capabilities", i.capabilities)
          .Field("conn_id", i.conn_id)
          .Field("lifetime_left_s", i.lifetime_left_s)
          .EndObject();
    w.EndArray();
    JsonIkev2SessionSas(s, w);
    w.Key("flows").BeginArray();
    for (const auto& f : s.flows) {
      w.BeginObject()
          .Field("description", f.description)
          .Field("active_sas", f.active_sas)
          .Field("origin", f.origin);
      if (f.has_counters)
        w.Field("pkts_decrypted", f.pkts_decrypted)
            .Field("pkts_encrypted", f.pkts_encrypted)
            .Field("drops_in", f.drops_in)
            .Field("drops_out", f.drops_out)
            .Field("life_kb", f.life_kb)
            .Field("life_s", f.life_s);
      w.EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
}

}  // namespace ikepulse::cli
