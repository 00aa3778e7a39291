#!/usr/bin/env bash
# flood.sh — issue #10: ikepulsed (a PSK for 0.0.0.0/0, as sites with dynamic peers have) under
# a flood of forged Main Mode 1 packets. A namespace f on the lab switch sends FLOOD_COUNT forged
# MM1s at FLOOD_RATE a second from 200 forged sources in 10.66.0.0/24 (raw socket,
# tests/lab/mm1_flood.py) while:
#   - strongSwan b (192.0.2.2) holds an ISAKMP SA with ikepulsed, DPD both ways every 10 s;
#   - strongSwan c (192.0.2.3) starts Main Mode 5 s into the flood.
# Checks: ikepulsed's RSS grows by less than RSS_LIMIT_KB; its half-open count never exceeds
# the limit; c's IKE SA is established; b's IKE SA survives (same SPIs, no DPD death on either
# side). Prints RSS growth per 100,000 forged MM1 and c's Main Mode time (for PERFORMANCE.md).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
COUNT=${FLOOD_COUNT:-100000}
RATE=${FLOOD_RATE:-5000}
RSS_LIMIT_KB=${RSS_LIMIT_KB:-16384}
PSK=lab-secret-not-for-production
command -v python3 >/dev/null || { echo "flood: python3 missing"; exit 77; }
command -v curl >/dev/null || { echo "flood: curl missing"; exit 77; }
ikp_two_sites
lab_gw_add c 192.0.2.3/24 203.0.114.1/24
lab_gw_add f 192.0.2.250/24
# The forged sources are off-link behind a router (f), as on the internet: ikepulsed's MM2s to
# them go to f, which drops them. (Forged sources on the WAN subnet itself would make
# ikepulsed's MM2s wait for ARP answers that never come; those queued packets hold the UDP
# socket's send buffer and every other send fails meanwhile: a lab artefact.)
ip -n "$(lab_ns a)" route add 10.66.0.0/16 via 192.0.2.250

lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=$PSK local_ts=203.0.113.0/24 \
  remote_ts=198.51.100.0/24 dpd_delay=10s dpd_timeout=30s log="default=1 ike=2 enc=1 cfg=1"
lab_charon_start b
lab_charon_config c local=192.0.2.3 remote=192.0.2.1 psk=$PSK local_ts=203.0.114.0/24 \
  remote_ts=198.51.100.0/24 log="default=1 ike=2 cfg=1"
lab_charon_start c
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keepalive="10 periodic" keep_up=1 \
  extra="crypto isakmp key $PSK address 0.0.0.0 0.0.0.0
ikepulse metrics listen 127.0.0.1 9464"
ikp_start a "$LAB_WORK/a.cfg"
LOG=${IKP_LOG[a]}
PID=${IKP_PID[a]}
BLOG=$(lab_charon_log b)
CLOG=$(lab_charon_log c)
lab_wait_for "$LOG" "Crypto tunnel is UP. Peer 192.0.2.2" 15 || { ikp_bad "tunnel to b up"; ikp_finish flood; }
lab_wait_for "$BLOG" "CHILD_SA .* established" 10 || ikp_bad "b: CHILD_SA established"
ike0=$(ikp_swan_sa b ike_spis)
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
rss0=$(rss)
echo "== b up ($ike0); ikepulsed RSS ${rss0} kB; flooding $COUNT forged MM1 at $RATE/s"
lab_gw_bg f "$LAB_WORK/flood.out" python3 tests/lab/mm1_flood.py 192.0.2.1 10.66.0. 1 200 \
  "$COUNT" "$RATE" 120
FLOOD_PID=$LAB_LAST_PID
cac() { ikp_json a "show crypto call admission statistics" | jq -r ".$1" 2>/dev/null; }
# c starts Main Mode once the flood has filled ikepulsed's half-open table.
full() { local h; h=$(cac half_open); [[ -n $h && $h != null ]] && ((h >= 900)); }
lab_wait_cmd 20 full || ikp_bad "the flood filled the half-open table (half_open $(cac half_open))"
echo "== half-open table full ($(cac half_open)); c initiates"
( lab_initiate c net 30 ) &
INIT_PID=$!
ok_c=1
lab_wait_for "$CLOG" "IKE_SA lab\[[0-9]+\] established" 30 || ok_c=0
t_a=$(grep -m1 "initiating Main Mode" "$CLOG")
t_b=$(grep -m1 -E "IKE_SA lab\[[0-9]+\] established" "$CLOG")
mm_time="?"
[[ -n $t_a && -n $t_b ]] && mm_time=$(ikp_fsub "$(ikp_charon_epoch "$t_b")" "$(ikp_charon_epoch "$t_a")")
wait "$INIT_PID" 2>/dev/null
# The flood ends by itself (bounded in count and time).
lab_wait_cmd 150 bash -c "! kill -0 $FLOOD_PID" || ikp_bad "flood tool ended"
sent=$(awk '/^sent/ { print $2 }' "$LAB_WORK/flood.out")
cat "$LAB_WORK/flood.out"
rss1=$(rss)
# Under the flood the IKE socket went from a wakeup per datagram to the 4 ms timer grid; with
# the flood over it is back on epoll (the first tick that finds it empty).
metric() {
  ip netns exec "$(lab_ns a)" curl -sS --max-time 3 http://127.0.0.1:9464/metrics |
    awk -v m="$1" '$1 == m { print $2 }'
}
switches=$(metric ikepulse_udp_socket_poll_switches_total)
not_polled() { [[ $(metric ikepulse_udp_sockets_polled) == 0 ]]; }
lab_wait_cmd 5 not_polled || ikp_bad "the IKE socket back on epoll after the flood"
peak=$(cac half_open_peak)
limit=$(cac max_in_negotiation)
ikp_cli a "show crypto call admission statistics"
# DPD still works after the flood: two more R-U-THERE-ACKs at b, either way (b acks
# ikepulsed's periodic probes; b probes only when idle, and ikepulsed acks those).
ACK_RE='INFORMATIONAL_V1 request [0-9]* \[ HASH N\(DPD_ACK\) \]'
acks=$(grep -Ec "$ACK_RE" "$BLOG" || true)
lab_wait_count "$BLOG" "$ACK_RE" $((acks + 2)) 30 || ikp_bad "b's DPD acknowledged after the flood"
ike1=$(ikp_swan_sa b ike_spis)
growth=$((rss1 - rss0))
per100k="?"
[[ -n $sent && $sent -gt 0 ]] && per100k=$(awk -v g="$growth" -v n="$sent" 'BEGIN { printf "%.0f", g * 100000 / n }')
echo "== RSS ${rss0} -> ${rss1} kB (+${growth} kB for ${sent:-?} forged MM1: ${per100k} kB per 100,000);"
echo "   half-open peak ${peak} (limit ${limit}); c Main Mode during the flood ${mm_time} s"
ikp_check "the IKE socket was read on the timer grid during the flood (${switches:-?} switches)" \
  test "${switches:-0}" -ge 1
ikp_check "forged MM1s were sent (${sent:-0})" test "${sent:-0}" -ge $((COUNT * 9 / 10))
ikp_check "RSS growth ${growth} kB < ${RSS_LIMIT_KB} kB" test "$growth" -lt "$RSS_LIMIT_KB"
ikp_check "half-open peak ${peak} <= limit ${limit}" test "${peak:-99999999}" -le "${limit:-0}"
ikp_check "c's IKE SA established during the flood (${mm_time} s)" test $ok_c = 1
ikp_check "ikepulsed saw c's tunnel up" grep -q "Crypto tunnel is UP. Peer 192.0.2.3" "$LOG"
ikp_check "b's IKE SA survived (same SPIs: $ike1)" test -n "$ike0" -a "$ike0" = "$ike1"
ikp_check "no DPD death at ikepulsed" bash -c "! grep -q 'Crypto tunnel is DOWN. Peer 192.0.2.2' '$LOG'"
ikp_check "DPD exchanges between b and ikepulsed went on during the flood ($acks)" test "$acks" -ge 2
ikp_check "no DPD death at b" bash -c "! grep -Eq 'DPD check timed out|deleting IKE_SA' '$BLOG'"
ikp_finish flood
