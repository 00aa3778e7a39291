#!/usr/bin/env bash
# metrics.sh — Prometheus metrics while a DPD failover happens (issue #13 item 8).
# A ikepulsed 192.0.2.1 (keepalive 10 periodic, keep-up, set peer B1 then B2) with
# `ikepulse metrics listen 127.0.0.1 9464` in its namespace; B1, B2 strongSwan. Scraped with
# curl (GET /metrics) before B1 is killed and after the failover to B2: the DPD probe, retry,
# peers-dead and failover counters move, the IKE SA gauge shows QM_IDLE throughout, the
# crypto map entry's traffic series exist, and the shell session counts as a control client.
# Then `no ikepulse metrics listen` closes the port. Root; bounded (< 60 s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
command -v curl >/dev/null || { echo "metrics: curl missing"; exit 77; }
ikp_failover_sites nohosts extra_charon="    keep_alive = 0s"
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers="$B1 $B2" keepalive="10 periodic" keep_up=1 \
  extra="ikepulse metrics listen 127.0.0.1 9464"
ikp_start a "$LAB_WORK/a.cfg"
LOG=${IKP_LOG[a]}
scrape() { ip netns exec "$(lab_ns a)" curl -sS --max-time 3 "http://127.0.0.1:9464${1:-/metrics}"; }
metric() { awk -v m="$1" '$1 == m { print $2 }' "$2"; }

lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 || { ikp_bad "tunnel up with B1"; ikp_finish metrics; }
ikp_check "the endpoint was announced" grep -q "METRICS: serving Prometheus metrics on http://127.0.0.1:9464/metrics" "$LOG"
ikp_check "running-config shows it" bash -c "'$IKP_BUILD/src/cli/shell/ikepulse' --socket '${IKP_SOCK[a]}' -c 'show running-config' | grep -qx 'ikepulse metrics listen 127.0.0.1 9464'"
# One DPD exchange with B1 first (whichever side probes: a probe from B1 suppresses ours).
ikp_check "a DPD exchange counted before the kill" \
  lab_wait_cmd 15 bash -c "ip netns exec $(lab_ns a) curl -s --max-time 3 http://127.0.0.1:9464/metrics | grep -Eq '^ikepulse_dpd_acks_(received|sent)_total [1-9]'"
scrape >"$LAB_WORK/before.txt"
echo "== before (excerpt)"
grep -E '^ikepulse_(ike_sas|dpd_|peers_dead|failovers|ipsec_sa_pairs|half_open_sas|control)' "$LAB_WORK/before.txt" | sed 's/^/  /'
ikp_check "HELP and TYPE lines" grep -q '^# TYPE ikepulse_dpd_probes_sent_total counter$' "$LAB_WORK/before.txt"
ikp_check "IKE SA gauge: 1 in QM_IDLE" grep -qx 'ikepulse_ike_sas{version="1",state="QM_IDLE"} 1' "$LAB_WORK/before.txt"
ikp_check "no peer dead yet" grep -qx 'ikepulse_peers_dead_total 0' "$LAB_WORK/before.txt"
ikp_check "crypto map traffic series for green 10" \
  grep -q '^ikepulse_crypto_map_packets_total{map="green",seq="10",direction="in"} ' "$LAB_WORK/before.txt"

# A shell session connected to the control socket counts as a control client (the client here
# holds the connection open for at most 5 s; we wait on the scrape, not on time).
python3 -c "import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(5)" \
  "${IKP_SOCK[a]}" &
holder=$!
ikp_check "a connected control client is counted (ikepulse_control_clients >= 1)" \
  lab_wait_cmd 4 bash -c "ip netns exec $(lab_ns a) curl -s --max-time 2 http://127.0.0.1:9464/metrics | grep -q '^ikepulse_control_clients [1-9]'"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

lab_kill_charon b1 KILL
lab_wait_for "$LOG" "Crypto tunnel is DOWN\. Peer $B1" 35 || ikp_bad "ikepulse declared B1 dead"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 5 || ikp_bad "ikepulse tunnel up with B2"
scrape >"$LAB_WORK/after.txt"
echo "== after the failover (excerpt)"
grep -E '^ikepulse_(ike_sas|dpd_|peers_dead|failovers|ipsec_sa_pairs)' "$LAB_WORK/after.txt" | sed 's/^/  /'
for m in ikepulse_dpd_probes_sent_total ikepulse_dpd_retries_total; do
  b=$(metric "$m" "$LAB_WORK/before.txt")
  a=$(metric "$m" "$LAB_WORK/after.txt")
  ikp_check "$m moved ($b -> $a; >= 4 retries in the round)" test "${a:-0}" -ge $((${b:-0} + 4))
done
ikp_check "ikepulse_peers_dead_total 0 -> 1" grep -qx 'ikepulse_peers_dead_total 1' "$LAB_WORK/after.txt"
ikp_check "ikepulse_failovers_total 0 -> 1" grep -qx 'ikepulse_failovers_total 1' "$LAB_WORK/after.txt"
ikp_check "IKE SA gauge: 1 in QM_IDLE (now with B2)" grep -qx 'ikepulse_ike_sas{version="1",state="QM_IDLE"} 1' "$LAB_WORK/after.txt"
ikp_check "scrapes counted" bash -c "[[ \$(awk '\$1==\"ikepulse_metrics_scrapes_total\"{print \$2}' '$LAB_WORK/after.txt') -ge 3 ]]"
code=$(ip netns exec "$(lab_ns a)" curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:9464/)
ikp_check "another path: 404 ($code)" test "$code" = 404
ikp_cli a "configure terminal" "no ikepulse metrics listen" "end" >/dev/null
lab_wait_for "$LOG" "METRICS: stopped serving metrics" 5 || true
ikp_check "no ikepulse metrics listen closes the port" bash -c "! ip netns exec $(lab_ns a) curl -s --max-time 2 http://127.0.0.1:9464/metrics >/dev/null"
ikp_finish metrics
