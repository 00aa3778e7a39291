#!/usr/bin/env bash
# replay.sh — replayed datagrams from a dead peer must not keep it alive (issue 10 item 1).
# Topology as failover.sh: A ikepulse 192.0.2.1 (keepalive 10 periodic, keep-up, set peer
# 192.0.2.2 then 192.0.2.3), B1 and B2 strongSwan with DPD (dpd_delay=10s) too.
# Attack: everything B1 sent to A is captured on A's wire (Main Mode, Quick Mode, DPD both
# ways); B1's charon is SIGKILLed; then, from B1's address and ports (free now, in B1's
# namespace), the captured UDP payloads are replayed to A byte for byte, in order, reversed
# and shuffled, for 25 s. They all authenticate, none is new.
# Asserted: A declares B1 dead 20.0..20.5 s after B1's last genuine packet on A's wire (10 s
# interval + 5 x 2 s retries), logs DOWN, drops the replays as replays, fails over to B2.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
command -v tshark >/dev/null || { echo "replay: tshark missing"; exit 77; }
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b1 192.0.2.2/24 203.0.113.1/24
lab_gw_add b2 192.0.2.3/24 203.0.113.1/24
PSK=lab-secret-not-for-production
A=192.0.2.1
B1=192.0.2.2
B2=192.0.2.3
for b in b1 b2; do
  ip=$B1
  [[ $b == b2 ]] && ip=$B2
  lab_charon_config "$b" local=$ip remote=$A psk=$PSK local_ts=203.0.113.0/24 \
    remote_ts=198.51.100.0/24 dpd_delay=10s dpd_timeout=30s log="default=1 ike=2 cfg=1" \
    extra_charon="    keep_alive = 0s"
  lab_charon_start "$b"
done
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
ikp_config "$LAB_WORK/a.cfg" self=$A peers="$B1 $B2" keepalive="10 periodic" keep_up=1
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}

lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 || { ikp_bad "tunnel up with B1"; ikp_finish replay; }
lab_wait_for "$(lab_charon_log b1)" "CHILD_SA .* established" 10 || ikp_bad "B1 CHILD_SA established"
# A few DPD exchanges first, so the recording holds R-U-THEREs and ACKs from B1.
lab_wait_count "$LOG" "R_U_THERE(_ACK)? received from peer $B1" 3 45 ||
  ikp_bad "three DPD messages from B1 before the kill"
t_kill=$(date +%s.%3N)
lab_kill_charon b1 KILL
echo "== B1's charon SIGKILLed at $(date -d "@$t_kill" +%T.%3N)"

# The recording: every UDP datagram from B1 on A's wire up to now.
tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1 && udp" -T fields -e udp.srcport -e udp.dstport \
  -e udp.payload 2>/dev/null >"$LAB_WORK/b1.rec"
nrec=$(wc -l <"$LAB_WORK/b1.rec")
ikp_check "recorded $nrec datagrams from B1 (Main Mode, Quick Mode, DPD)" test "$nrec" -ge 6
t_replay=$(date +%s.%3N)
lab_gw_bg b1 "$LAB_WORK/replay.log" python3 tests/interop/replay_udp.py "$B1" "$A" \
  "$LAB_WORK/b1.rec" 25 50
REPLAY_PID=$LAB_LAST_PID

lab_wait_for "$LOG" "peer $B1 not responding!" 35 || ikp_bad "ikepulse declared B1 dead despite the replays"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 10 || ikp_bad "ikepulse tunnel up with B2"
lab_stop_pid "$REPLAY_PID"
lab_capture_stop
cat "$LAB_WORK/replay.log" | sed 's/^/  /'

# --- measurements
last_b1=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1 && frame.time_epoch < $t_replay" \
  -T fields -e frame.time_epoch 2>/dev/null | tail -1)
replayed=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1 && frame.time_epoch >= $t_replay" \
  2>/dev/null | wc -l)
l_dead=$(grep -m1 "peer $B1 not responding!" "$LOG")
l_down=$(grep -m1 "Crypto tunnel is DOWN\. Peer $B1" "$LOG")
t_dead=$( [[ -n $l_dead ]] && ikp_log_epoch "$l_dead")
t_down=$( [[ -n $l_down ]] && ikp_log_epoch "$l_down")
drops=$(grep -Ec "dropping packet from $B1:[0-9]+: (replayed|R-U-THERE with an old|duplicate R-U-THERE)" "$LOG" || true)
echo "== timeline (epoch seconds)"
printf '  SIGKILL B1                       %s\n' "$t_kill"
printf '  last genuine packet from B1      %s\n' "${last_b1:-?}"
printf '  replay started                   %s (%s replayed datagrams on A'"'"'s wire)\n' "$t_replay" "$replayed"
printf '  peer %s not responding!   %s\n' "$B1" "${t_dead:-?}"
printf '  DOWN                             %s\n' "${t_down:-?}"
ikp_check "replayed datagrams reached A: $replayed" test "$replayed" -ge 20
ikp_check "ikepulse dropped replays as replays: $drops debug lines" test "$drops" -ge 1
if [[ -n $last_b1 && -n $t_down ]]; then
  det=$(ikp_fsub "$t_down" "$last_b1")
  ikp_check "DOWN $det s after B1's last genuine packet, within [$IKP_DEAD_MIN, $IKP_DEAD_MAX]" \
    ikp_fcmp "$det >= $IKP_DEAD_MIN && $det <= $IKP_DEAD_MAX"
else
  ikp_bad "DOWN after B1's last genuine packet measurable"
fi
ikp_check "DOWN logged: ${l_down#*: }" test -n "$l_down"
qm=$(ikp_isakmp_states a | grep -c "QM_IDLE $B2" || true)
ikp_check "failed over: ISAKMP SA QM_IDLE with $B2" test "$qm" -ge 1
ikp_finish replay
