#!/usr/bin/env bash
# ondemand_failover.sh — on-demand DPD (`crypto isakmp keepalive 10`, no `periodic`) with the
# userspace ESP data plane: a continuous ping from the host behind ikepulse, the primary peer
# SIGKILLed, the ping resumes through the backup peer. Topology:
#   a-host 198.51.100.10 -- A  ikepulse   192.0.2.1  keepalive 10 (on-demand), no keep-up,
#                                          set peer 192.0.2.2 / set peer 192.0.2.3
#   b1-host 203.0.113.10 -- B1 strongSwan 192.0.2.2  (SIGKILLed)      kernel-libipsec
#   b2-host 203.0.113.10 -- B2 strongSwan 192.0.2.3                    kernel-libipsec
# (two host namespaces with the same address, each behind its own gateway: the ping target is
# reachable through either peer). strongSwan never probes (dpd_delay=0s, keep_alive=0s).
# Expected (IOS on-demand semantics): outbound traffic continues, nothing comes back from B1;
# first R-U-THERE ~10 s after the last packet received from B1, 4 retries 2 s apart, the
# verdict 10 s later (~20 s), the next packet brings Main Mode up with B2 within ~1 s, the
# ping resumes. Measured: ping outage from the ping's own timestamps (ping -D).
# Root; bounded (< 90 s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_failover_sites allhosts dpd_delay=0s start_action=trap log="default=1 ike=2 cfg=1" \
  extra_charon="    keep_alive = 0s"
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap" "host $B1 or host $B2"
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers="$B1 $B2" keepalive="10" keep_up=0
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "DATAPLANE: userspace ESP" 5 ||
  { ikp_bad "ikepulsed has a data plane: $(grep DATAPLANE "$LOG")"; ikp_finish ondemand_failover; }

# Continuous ping, bounded (-w 60), line-buffered with epoch timestamps.
PING=$LAB_WORK/ping.txt
ikp_ping_bg a-host 203.0.113.10 60 "$PING"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 ||
  { ikp_bad "traffic brings the tunnel up with B1"; ikp_finish ondemand_failover; }
ikp_ok "traffic alone brings the tunnel up with B1 (no keep-up)"
lab_wait_count "$PING" "bytes from 203\.0\.113\.10" 10 10 || ikp_bad "ping answered through B1"
sleep 2
ikp_ping_failover "" "peer $B1 not responding!"
t_kill=$T_KILL
sleep 2
lab_stop_pid "$PING_PID"
lab_capture_stop

# --- measurements
echo "== timeline"
# The outage: the largest gap between consecutive replies (a reply already in flight when B1
# is killed may arrive just after the kill).
read -r last_reply first_after < <(ikp_ping_gap "$PING")
last_b1=$(ikp_pcap_last "$LAB_WORK/a.pcap" "ip.src==$B1 && udp && !icmp")
mapfile -t ruts < <(grep -E "IKE_TIMER_(IM_ALIVE|PEERS_ALIVE)" "$LOG" | awk '!s[$0]++')
l_dead=$(grep -m1 "peer $B1 not responding!" "$LOG")
l_mm2=$(awk -v d="peer $B1 not responding!" 'index($0, d) { v = 1 } v && /beginning Main Mode/ { print; exit }' "$LOG")
l_up2=$(grep -m1 "Crypto tunnel is UP\. Peer $B2" "$LOG")
t_dead=$( [[ -n $l_dead ]] && ikp_log_epoch "$l_dead")
t_up2=$( [[ -n $l_up2 ]] && ikp_log_epoch "$l_up2")
t_mm2=$( [[ -n $l_mm2 ]] && ikp_log_epoch "$l_mm2")
ref=${last_b1:-$t_kill}
row() { ikp_row "$ref" "the last packet from B1" "$@"; }
row "last ping reply before the outage" "${last_reply:-0}"
row "SIGKILL B1" "$t_kill"
row "last packet from B1 on A's wire (UDP)" "$ref"
for l in "${ruts[@]}"; do
  t=$(ikp_log_epoch "$l")
  case $l in *IM_ALIVE*) w="R-U-THERE (IKE_TIMER_IM_ALIVE)" ;; *) w="R-U-THERE retry (PEERS_ALIVE)" ;; esac
  row "$w" "$t"
done
[[ -n $t_dead ]] && row "peer $B1 not responding!" "$t_dead"
[[ -n $t_mm2 ]] && row "Main Mode with $B2 begins" "$t_mm2"
[[ -n $t_up2 ]] && row "Crypto tunnel is UP. Peer $B2" "$t_up2"
[[ -n $first_after ]] && row "first ping reply after the outage" "$first_after"

if ((${#ruts[@]})); then
  t_rut=$(ikp_log_epoch "${ruts[0]}")
  d=$(ikp_fsub "$t_rut" "$ref")
  ikp_check "first R-U-THERE $d s after the last packet from B1 (expected ~10, [9.5, 11])" ikp_fcmp "$d >= 9.5 && $d <= 11"
  ikp_check "R-U-THERE + 4 retries before the verdict (found ${#ruts[@]})" test "${#ruts[@]}" -eq 5
  if [[ -n $t_dead ]]; then
    d=$(ikp_fsub "$t_dead" "$t_rut")
    ikp_check "verdict $d s after the first R-U-THERE (expected 10, [9.9, 10.3])" ikp_fcmp "$d >= 9.9 && $d <= 10.3"
  fi
else
  ikp_bad "R-U-THERE sent to B1 (none in the debug log)"
fi
if [[ -n $t_dead && -n $t_up2 ]]; then
  d=$(ikp_fsub "$t_up2" "$t_dead")
  ikp_check "UP with B2 $d s after the verdict (<= 1.5)" ikp_fcmp "$d >= 0 && $d <= 1.5"
else
  ikp_bad "verdict and UP with B2 both logged"
fi
if [[ -n $last_reply && -n $first_after ]]; then
  out=$(ikp_fsub "$first_after" "$last_reply")
  echo "== ping outage: $out s (last reply $(date -d "@$last_reply" +%T.%3N), first after $(date -d "@$first_after" +%T.%3N))"
  ikp_check "ping outage $out s within [19.5, 23]" ikp_fcmp "$out >= 19.5 && $out <= 23"
else
  ikp_bad "ping outage measurable (last reply ${last_reply:-?}, first after ${first_after:-?})"
fi
rx2=$(ip netns exec "$(lab_ns b2-host)" cat /sys/class/net/eth0/statistics/rx_packets 2>/dev/null)
ikp_check "the resumed ping goes through B2 (b2-host eth0 rx_packets ${rx2:-?})" test "${rx2:-0}" -gt 5
replies=$(grep -c "bytes from" "$PING" || true)
maxseq=$(grep -o "icmp_seq=[0-9]*" "$PING" | cut -d= -f2 | sort -n | tail -1)
echo "== ping every 0.2 s: $replies replies, highest icmp_seq answered ${maxseq:-?}"
echo "== after failover"
ikp_cli a "show crypto isakmp sa" | sed 's/^/  /'
ikp_cli a "show crypto ipsec sa" | grep -E "current_peer|#pkts" | sed 's/^/  /'
ikp_finish ondemand_failover
