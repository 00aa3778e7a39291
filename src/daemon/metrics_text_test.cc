#include "daemon/metrics_text.h"

#include <gtest/gtest.h>

namespace ikepulse::daemon {
namespace {

TEST(MetricsText, FixedSnapshotRendersExactly) {
  MetricsSnapshot s;
  s.counters.dpd_sent = 7;
  s.counters.dpd_retries = 4;
  s.counters.dpd_acks_received = 2;
  s.counters.dpd_acks_sent = 3;
  s.counters.peers_dead = 1;
  s.counters.failovers = 1;
  s.counters.retransmits = 5;
  s.counters.rx_datagrams = 40;
  s.counters.tx_datagrams = 41;
  s.counters.dropped_replay = 9;
  s.admission.half_open = 2;
  s.admission.limit = 1000;
  s.admission.evicted_total = 3;
  s.admission.evicted_source = 1;
  s.admission.ikev2_half_open = 7;
  s.admission.ikev2_limit = 1000;
  s.counters.ikev2_half_open_evicted = 2;
  s.counters.ikev2_cookies_sent = 11;
  s.counters.ikev2_cookies_valid = 3;
  s.counters.ikev2_cookies_invalid = 1;
  s.ike_sas[{1, "QM_IDLE"}] = 1;
  s.ike_sas[{1, "MM_KEY_EXCH"}] = 1;
  s.ipsec_sa_pairs = 1;
  s.entries[{"gr\"een", 10}] = MetricsSnapshot::Traffic{5, 6, 500, 600, 1};
  s.sockets_polled = 1;
  s.socket_poll_switches = 4;
  s.control_clients = 2;
  s.scrapes = 1;
  const std::string want =
      "# HELP ikepulse_ike_sas IKE SAs by IKE version and IOS state.\n"
      "# TYPE ikepulse_ike_sas gauge\n"
      "ikepulse_ike_sas{version=\"1\",state=\"MM_KEY_EXCH\"} 1\n"
      "ikepulse_ike_sas{version=\"1\",state=\"QM_IDLE\"} 1\n"
      "# HELP ikepulse_ipsec_sa_pairs IPsec SA pairs (inbound + outbound) installed.\n"
      "# TYPE ikepulse_ipsec_sa_pairs gauge\n"
      "ikepulse_ipsec_sa_pairs 1\n"
      "# HELP ikepulse_half_open_sas Main Mode responder negotiations waiting for MM3 (crypto "
      "call admission).\n"
      "# TYPE ikepulse_half_open_sas gauge\n"
      "ikepulse_half_open_sas 2\n"
      "# HELP ikepulse_half_open_limit crypto call admission limit ike in-negotiation-sa in "
      "force.\n"
      "# TYPE ikepulse_half_open_limit gauge\n"
      "ikepulse_half_open_limit 1000\n"
      "# HELP ikepulse_half_open_evicted_total Half-open negotiations evicted at the total or "
      "per-source limit.\n"
      "# TYPE ikepulse_half_open_evicted_total counter\n"
      "ikepulse_half_open_evicted_total 4\n"
      "# HELP ikepulse_ikev2_half_open_sas IKEv2 responders not yet established (IKE_AUTH not "
      "completed).\n"
      "# TYPE ikepulse_ikev2_half_open_sas gauge\n"
      "ikepulse_ikev2_half_open_sas 7\n"
      "# HELP ikepulse_ikev2_half_open_limit crypto ikev2 limit max-in-negotation-sa in force.\n"
      "# TYPE ikepulse_ikev2_half_open_limit gauge\n"
      "ikepulse_ikev2_half_open_limit 1000\n"
      "# HELP ikepulse_ikev2_half_open_evicted_total IKEv2 half-open responders ended to admit a "
      "request with a valid cookie.\n"
      "# TYPE ikepulse_ikev2_half_open_evicted_total counter\n"
      "ikepulse_ikev2_half_open_evicted_total 2\n"
      "# HELP ikepulse_ikev2_cookies_sent_total IKE_SA_INIT requests answered with N(COOKIE) "
      "only.\n"
      "# TYPE ikepulse_ikev2_cookies_sent_total counter\n"
      "ikepulse_ikev2_cookies_sent_total 11\n"
      "# HELP ikepulse_ikev2_cookies_received_total IKE_SA_INIT requests with a N(COOKIE) "
      "checked, by result.\n"
      "# TYPE ikepulse_ikev2_cookies_received_total counter\n"
      "ikepulse_ikev2_cookies_received_total{result=\"valid\"} 3\n"
      "ikepulse_ikev2_cookies_received_total{result=\"invalid\"} 1\n"
      "# HELP ikepulse_dpd_probes_sent_total DPD R-U-THERE messages sent (retries included).\n"
      "# TYPE ikepulse_dpd_probes_sent_total counter\n"
      "ikepulse_dpd_probes_sent_total 7\n"
      "# HELP ikepulse_dpd_retries_total DPD R-U-THERE messages resent in a round.\n"
      "# TYPE ikepulse_dpd_retries_total counter\n"
      "ikepulse_dpd_retries_total 4\n"
      "# HELP ikepulse_dpd_acks_received_total DPD R-U-THERE-ACKs received.\n"
      "# TYPE ikepulse_dpd_acks_received_total counter\n"
      "ikepulse_dpd_acks_received_total 2\n"
      "# HELP ikepulse_dpd_acks_sent_total DPD R-U-THERE-ACKs sent.\n"
      "# TYPE ikepulse_dpd_acks_sent_total counter\n"
      "ikepulse_dpd_acks_sent_total 3\n"
      "# HELP ikepulse_peers_dead_total Peers declared dead by DPD.\n"
      "# TYPE ikepulse_peers_dead_total counter\n"
      "ikepulse_peers_dead_total 1\n"
      "# HELP ikepulse_failovers_total Crypto map entries moved to their next set peer.\n"
      "# TYPE ikepulse_failovers_total counter\n"
      "ikepulse_failovers_total 1\n"
      "# HELP ikepulse_ike_retransmits_total IKE messages retransmitted.\n"
      "# TYPE ikepulse_ike_retransmits_total counter\n"
      "ikepulse_ike_retransmits_total 5\n"
      "# HELP ikepulse_ike_datagrams_received_total IKE datagrams received.\n"
      "# TYPE ikepulse_ike_datagrams_received_total counter\n"
      "ikepulse_ike_datagrams_received_total 40\n"
      "# HELP ikepulse_ike_datagrams_sent_total IKE datagrams sent.\n"
      "# TYPE ikepulse_ike_datagrams_sent_total counter\n"
      "ikepulse_ike_datagrams_sent_total 41\n"
      "# HELP ikepulse_ike_dropped_total IKE datagrams dropped, by reason.\n"
      "# TYPE ikepulse_ike_dropped_total counter\n"
      "ikepulse_ike_dropped_total{reason=\"malformed\"} 0\n"
      "ikepulse_ike_dropped_total{reason=\"unknown_sa\"} 0\n"
      "ikepulse_ike_dropped_total{reason=\"auth\"} 0\n"
      "ikepulse_ike_dropped_total{reason=\"state\"} 0\n"
      "ikepulse_ike_dropped_total{reason=\"rate_limited\"} 0\n"
      "ikepulse_ike_dropped_total{reason=\"replay\"} 9\n"
      "# HELP ikepulse_crypto_map_packets_total Packets through a crypto map entry's current "
      "IPsec SAs (restarts when they are replaced).\n"
      "# TYPE ikepulse_crypto_map_packets_total counter\n"
      "ikepulse_crypto_map_packets_total{map=\"gr\\\"een\",seq=\"10\",direction=\"in\"} 5\n"
      "ikepulse_crypto_map_packets_total{map=\"gr\\\"een\",seq=\"10\",direction=\"out\"} 6\n"
      "# HELP ikepulse_crypto_map_bytes_total Bytes through a crypto map entry's current IPsec "
      "SAs (restarts when they are replaced).\n"
      "# TYPE ikepulse_crypto_map_bytes_total counter\n"
      "ikepulse_crypto_map_bytes_total{map=\"gr\\\"een\",seq=\"10\",direction=\"in\"} 500\n"
      "ikepulse_crypto_map_bytes_total{map=\"gr\\\"een\",seq=\"10\",direction=\"out\"} 600\n"
      "# HELP ikepulse_udp_sockets_polled IKE sockets read on the 4 ms timer grid (under load) "
      "instead of woken per datagram.\n"
      "# TYPE ikepulse_udp_sockets_polled gauge\n"
      "ikepulse_udp_sockets_polled 1\n"
      "# HELP ikepulse_udp_socket_poll_switches_total Times an IKE socket went from per-datagram "
      "wakeups to the timer grid.\n"
      "# TYPE ikepulse_udp_socket_poll_switches_total counter\n"
      "ikepulse_udp_socket_poll_switches_total 4\n"
      "# HELP ikepulse_control_clients Shell sessions connected to the control socket.\n"
      "# TYPE ikepulse_control_clients gauge\n"
      "ikepulse_control_clients 2\n"
      "# HELP ikepulse_metrics_scrapes_total Scrapes of this endpoint.\n"
      "# TYPE ikepulse_metrics_scrapes_total counter\n"
      "ikepulse_metrics_scrapes_total 1\n";
  EXPECT_EQ(RenderPrometheus(s), want);
}

}  // namespace
}  // namespace ikepulse::daemon
