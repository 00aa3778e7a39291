#include "daemon/metrics_text.h"

namespace ikepulse::daemon {
namespace {

// Label values: backslash, double quote and newline escaped (exposition format 0.0.4).
std::string Escape(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\') out += "\\\\";
    else if (ch == '"') out += "\\\"";
    else if (ch == '\n') out += "\\n";
    else out += ch;
  }
  return out;
}

struct Writer {
  std::string out;
  void Head(const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  }
  void Value(const char* name, const std::string& labels, uint64_t v) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  }
  void One(const char* name, const char* type, const char* help, uint64_t v) {
    Head(name, type, help);
    Value(name, "", v);
  }
};

}  // namespace

MetricsSnapshot SnapshotOf(const ike::Node& node, TimePoint now) {
  MetricsSnapshot s;
  s.counters = node.counters();
  s.admission = node.CallAdmission();
  for (const ike::IsakmpSaSnapshot& sa : node.IsakmpSas(now)) ++s.ike_sas[{1, sa.state}];
  for (const ike::ChildSaSnapshot& ch : node.ChildSas(now)) {
    ++s.ipsec_sa_pairs;
    MetricsSnapshot::Traffic& t = s.entries[{ch.map_name, ch.map_seq}];
    t.pkts_in += ch.pkts_in;
    t.pkts_out += ch.pkts_out;
    t.bytes_in += ch.bytes_in;
    t.bytes_out += ch.bytes_out;
    ++t.sas;
  }
  return s;
}

std::string RenderPrometheus(const MetricsSnapshot& s) {
  Writer w;
  const ike::NodeCounters& c = s.counters;
  w.Head("ikepulse_ike_sas", "gauge", "IKE SAs by IKE version and IOS state.");
  for (const auto& [key, n] : s.ike_sas)
    w.Value("ikepulse_ike_sas",
            "version=\"" + std::to_string(key.first) + "\",state=\"" + Escape(key.second) + "\"",
            n);
  w.One("ikepulse_ipsec_sa_pairs", "gauge", "IPsec SA pairs (inbound + outbound) installed.",
        s.ipsec_sa_pairs);
  w.One("ikepulse_half_open_sas", "gauge",
        "Main Mode responder negotiations waiting for MM3 (crypto call admission).",
        s.admission.half_open);
  w.One("ikepulse_half_open_limit", "gauge",
        "crypto call admission limit ike in-negotiation-sa in force.", s.admission.limit);
  w.One("ikepulse_half_open_evicted_total", "counter",
        "Half-open negotiations evicted at the total or per-source limit.",
        s.admission.evicted_total + s.admission.evicted_source);
  w.One("ikepulse_ikev2_half_open_sas", "gauge",
        "IKEv2 responders not yet established (IKE_AUTH not completed).",
        s.admission.ikev2_half_open);
  w.One("ikepulse_ikev2_half_open_limit", "gauge",
        "crypto ikev2 limit max-in-negotation-sa in force.", s.admission.ikev2_limit);
  w.One("ikepulse_ikev2_half_open_evicted_total", "counter",
        "IKEv2 half-open responders ended to admit a request with a valid cookie.",
        c.ikev2_half_open_evicted);
  w.One("ikepulse_ikev2_cookies_sent_total", "counter",
        "IKE_SA_INIT requests answered with N(COOKIE) only.", c.ikev2_cookies_sent);
  w.Head("ikepulse_ikev2_cookies_received_total", "counter",
         "IKE_SA_INIT requests with a N(COOKIE) checked, by result.");
  w.Value("ikepulse_ikev2_cookies_received_total", "result=\"valid\"", c.ikev2_cookies_valid);
  w.Value("ikepulse_ikev2_cookies_received_total", "result=\"invalid\"", c.ikev2_cookies_invalid);
  w.One("ikepulse_dpd_probes_sent_total", "counter", "DPD R-U-THERE messages sent (retries included).",
        c.dpd_sent);
  w.One("ikepulse_dpd_retries_total", "counter", "DPD R-U-THERE messages resent in a round.",
        c.dpd_retries);
  w.One("ikepulse_dpd_acks_received_total", "counter", "DPD R-U-THERE-ACKs received.",
        c.dpd_acks_received);
  w.One("ikepulse_dpd_acks_sent_total", "counter", "DPD R-U-THERE-ACKs sent.", c.dpd_acks_sent);
  w.One("ikepulse_peers_dead_total", "counter", "Peers declared dead by DPD.", c.peers_dead);
  w.One("ikepulse_failovers_total", "counter",
        "Crypto map entries moved to their next set peer.", c.failovers);
  w.One("ikepulse_ike_retransmits_total", "counter", "IKE messages retransmitted.", c.retransmits);
  w.One("ikepulse_ike_datagrams_received_total", "counter", "IKE datagrams received.",
        c.rx_datagrams);
  w.One("ikepulse_ike_datagrams_sent_total", "counter", "IKE datagrams sent.", c.tx_datagrams);
  w.Head("ikepulse_ike_dropped_total", "counter", "IKE datagrams dropped, by reason.");
  const std::pair<const char*, uint64_t> drops[] = {
      {"malformed", c.dropped_malformed}, {"unknown_sa", c.dropped_unknown_sa},
      {"auth", c.dropped_auth},           {"state", c.dropped_state},
      {"rate_limited", c.dropped_rate_limited}, {"replay", c.dropped_replay}};
  for (const auto& [reason, n] : drops)
    w.Value("ikepulse_ike_dropped_total", std::string("reason=\"") + reason + "\"", n);
  // Per crypto map entry and direction: one counter family for packets, one for bytes.
  auto per_entry = [&](const char* name, const char* help, uint64_t MetricsSnapshot::Traffic::*in,
                       uint64_t MetricsSnapshot::Traffic::*out) {
    w.Head(name, "counter", help);
    for (const auto& [key, t] : s.entries) {
      const std::string l =
          "map=\"" + Escape(key.first) + "\",seq=\"" + std::to_string(key.second) + "\"";
      w.Value(name, l + ",direction=\"in\"", t.*in);
      w.Value(name, l + ",direction=\"out\"", t.*out);
    }
  };
  per_entry("ikepulse_crypto_map_packets_total",
            "Packets through a crypto map entry's current IPsec SAs (restarts when they are "
            "replaced).",
            &MetricsSnapshot::Traffic::pkts_in, &MetricsSnapshot::Traffic::pkts_out);
  per_entry("ikepulse_crypto_map_bytes_total",
            "Bytes through a crypto map entry's current IPsec SAs (restarts when they are "
            "replaced).",
            &MetricsSnapshot::Traffic::bytes_in, &MetricsSnapshot::Traffic::bytes_out);
  w.One("ikepulse_udp_sockets_polled", "gauge",
        "IKE sockets read on the 4 ms timer grid (under load) instead of woken per datagram.",
        s.sockets_polled);
  w.One("ikepulse_udp_socket_poll_switches_total", "counter",
        "Times an IKE socket went from per-datagram wakeups to the timer grid.",
        s.socket_poll_switches);
  w.One("ikepulse_control_clients", "gauge", "Shell sessions connected to the control socket.",
        s.control_clients);
  w.One("ikepulse_metrics_scrapes_total", "counter", "Scrapes of this endpoint.", s.scrapes);
  return w.out;
}

}  // namespace ikepulse::daemon
