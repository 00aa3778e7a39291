#!/usr/bin/env bash
# failover.sh — periodic DPD detects a SIGKILLed strongSwan peer and the crypto map fails over
# to the next `set peer` (issue 4 item 8). Topology:
#   A  ikepulse   192.0.2.1  LAN 198.51.100.0/24   keepalive 10 periodic, keep-up,
#                                                   set peer 192.0.2.2 / set peer 192.0.2.3
#   B1 strongSwan 192.0.2.2  LAN 203.0.113.0/24    (SIGKILLed)
#   B2 strongSwan 192.0.2.3  LAN 203.0.113.0/24
# Measured: last packet from B1 on A's wire (tcpdump in A's namespace) -> `peer 192.0.2.2 not
# responding!` (ikepulse log, wall clock ms) must be 20.0..20.5 s (10 s interval + 5 x 2 s);
# DOWN logged; ISAKMP + IPsec SAs with B2 within 1 s of the verdict. The DPD part of the debug
# trace is compared, event for event, with the seed's example.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
# keep_alive = 0s: no NAT-T keepalives (kernel-libipsec fakes a NAT), so "the last packet
# from B1" is an IKE message, the thing ikepulse's DPD timer counts from.
ikp_failover_sites nohosts log="default=1 ike=2 cfg=1" extra_charon="    keep_alive = 0s"
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers="$B1 $B2" keepalive="10 periodic" keep_up=1
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}

lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 || { ikp_bad "tunnel up with B1"; ikp_finish failover; }
lab_wait_for "$(lab_charon_log b1)" "CHILD_SA .* established" 10 || ikp_bad "B1 CHILD_SA established"
echo "== up with B1"
ikp_cli a "show crypto isakmp sa" | sed 's/^/  /'
# Let one DPD exchange happen first (either direction), so B1's last packet is a DPD message.
lab_wait_for "$LOG" "R_U_THERE(_ACK)? received from peer $B1" 15 || ikp_bad "a DPD exchange with B1 before the kill"
t_kill=$(date +%s.%3N)
lab_kill_charon b1 KILL
echo "== B1's charon SIGKILLed at $(date -d "@$t_kill" +%T.%3N)"

lab_wait_for "$LOG" "peer $B1 not responding!" 35 || ikp_bad "ikepulse declared B1 dead"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 5 || ikp_bad "ikepulse tunnel up with B2"
lab_wait_for "$(lab_charon_log b2)" "CHILD_SA .* established" 5 || ikp_bad "B2 CHILD_SA established"
lab_wait_cmd 5 bash -c "grep -q 'sa_dest= $B2' '$LOG'"
lab_capture_stop

# --- measurements
last_b1=$(ikp_pcap_last "$LAB_WORK/a.pcap" "ip.src==$B1")
last_b1_isakmp=$(ikp_pcap_last "$LAB_WORK/a.pcap" "ip.src==$B1 && isakmp")
after_kill=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1 && frame.time_epoch > $t_kill" 2>/dev/null | wc -l)
l_dead=$(grep -m1 "peer $B1 not responding!" "$LOG")
l_down=$(grep -m1 "Crypto tunnel is DOWN\. Peer $B1" "$LOG")
l_up2=$(grep -m1 "Crypto tunnel is UP\. Peer $B2" "$LOG")
l_sa2=$(grep -m1 "IPSEC(create_sa).*sa_dest= $B2" "$LOG")
l_b2=$(grep -m1 "CHILD_SA .* established" "$(lab_charon_log b2)")
t_dead=$(ikp_log_epoch "$l_dead" 2>/dev/null)
echo "== timeline (epoch seconds)"
printf '  SIGKILL B1                        %s\n' "$t_kill"
printf '  last packet from B1 on A'"'"'s wire   %s (last ISAKMP: %s; %s packets after the kill)\n' \
  "${last_b1:-?}" "${last_b1_isakmp:-?}" "$after_kill"
printf '  peer %s not responding!    %s\n' "$B1" "${t_dead:-?}"
det=""
if [[ -n $last_b1 && -n $t_dead ]]; then
  det=$(ikp_fsub "$t_dead" "$last_b1")
  printf '  declare-dead delay                %s s after the last packet from B1 (%s s after SIGKILL)\n' \
    "$det" "$(ikp_fsub "$t_dead" "$t_kill")"
  ikp_check "declare-dead delay $det s within [$IKP_DEAD_MIN, $IKP_DEAD_MAX]" \
    ikp_fcmp "$det >= $IKP_DEAD_MIN && $det <= $IKP_DEAD_MAX"
else
  ikp_bad "declare-dead delay measurable"
fi
ikp_check "DOWN logged: ${l_down#*: }" test -n "$l_down"
t_up2=$( [[ -n $l_up2 ]] && ikp_log_epoch "$l_up2")
t_sa2=$( [[ -n $l_sa2 ]] && ikp_log_epoch "$l_sa2")
t_b2=$( [[ -n $l_b2 ]] && ikp_charon_epoch "$l_b2")
for what in "ikepulse UP with B2:$t_up2" "ikepulse IPsec SA to B2:$t_sa2" \
  "strongSwan B2 CHILD_SA established:$t_b2"; do
  t=${what##*:}
  what=${what%:*}
  if [[ -n $t && -n $t_dead ]]; then
    d=$(ikp_fsub "$t" "$t_dead")
    ikp_check "$what $d s after the verdict (<= 1.0)" ikp_fcmp "$d >= 0 && $d <= 1.0"
  else
    ikp_bad "$what: line missing"
  fi
done
st=$(ikp_swan_sa b2 ike_state)
cs=$(ikp_swan_sa b2 child_state)
ikp_check "strongSwan B2: IKE $st, CHILD $cs" test "$st/$cs" = ESTABLISHED/INSTALLED
qm=$(ikp_isakmp_states a | grep -c "QM_IDLE $B2" || true)
ikp_check "ikepulse ISAKMP SA QM_IDLE with $B2" test "$qm" -ge 1
echo "== after failover"
ikp_cli a "show crypto isakmp sa" | sed 's/^/  /'

# --- the DPD trace against the seed's example (timestamps and node ids aside)
echo "== ikepulse debug trace, R-U-THERE to Delete (normalised)"
# Known: some debug lines are logged twice. Drop exact repeats (timestamp included) except
# "sending packet" lines, which legitimately repeat within a millisecond (two Deletes).
awk '/sending packet/ || !seen[$0]++' "$LOG" >"$LAB_WORK/a.dedup.log"
awk -v b1="$B1" '
  { line[NR] = $0 }
  index($0, "peer " b1 " not responding!") && !v { v = NR }
  END {
    if (!v) exit 1
    s = v
    while (s > 1 && line[s] !~ /IKE_TIMER_IM_ALIVE/) s--
    while (s > 1 && line[s] !~ /set new node/) s--
    e = v
    while (e < NR && line[e] !~ /Crypto tunnel is DOWN/) e++
    while (e < NR && line[e + 1] ~ /set new node|sending packet|purging node|deleting (SA|node)/) e++
    for (i = s; i <= e; i++) print line[i]
  }' "$LAB_WORK/a.dedup.log" >"$LAB_WORK/dpd.trace"
sed -E 's/^\*[A-Z][a-z]{2} +[0-9]+ ([0-9:.]+): /\1 /; s/(node) -?[0-9]+/\1 N/' "$LAB_WORK/dpd.trace" |
  sed 's/^/  /'
tokens=$(awk '
  /set new node/ { printf "SEND " }
  /IKE_TIMER_IM_ALIVE/ { printf "IM_ALIVE " }
  /IKE_TIMER_PEERS_ALIVE/ { printf "PEERS_ALIVE " }
  /incrementing error counter on sa: PEERS_ALIVE_TIMER/ { printf "INC " }
  /not responding!/ { printf "NOT_RESPONDING " }
  /peer does not do paranoid keepalives\./ { printf "PARANOID " }
  /deleting SA reason "peers alive" state \(I\) QM_IDLE/ { printf "DELETE_SA " }
  /Crypto tunnel is DOWN/ { printf "DOWN " }' "$LAB_WORK/dpd.trace")
want="SEND IM_ALIVE INC SEND PEERS_ALIVE INC SEND PEERS_ALIVE INC SEND PEERS_ALIVE INC SEND PEERS_ALIVE INC NOT_RESPONDING PARANOID DELETE_SA DOWN"
echo "  events: $tokens"
echo "  seed:   $want SEND..."
ikp_check "event sequence matches the seed's (1 R-U-THERE, 4 retries, 5th increment, dead, DOWN)" \
  test "${tokens%% DOWN *} DOWN" = "$want"
after=${tokens#*DOWN }
nsend=$(grep -o SEND <<<"$after" | wc -l)
ikp_check "Delete notifications sent after DOWN: $nsend" test "$nsend" -ge 1
ikp_check "DOWN line carries port 4500 (the SA floated): $(grep -o "Peer $B1:[0-9]*" <<<"$l_down")" \
  grep -q "Peer $B1:4500 Id: $B1" <<<"$l_down"
# Retry spacing: the five sends 2 s apart, the verdict 2 s after the last (10 s from the first).
mapfile -t sends < <(grep "set new node" "$LAB_WORK/dpd.trace" | head -5)
if ((${#sends[@]} == 5)); then
  t_first=$(ikp_log_epoch "${sends[0]}")
  offs=""
  for s in "${sends[@]}"; do offs+="$(ikp_fsub "$(ikp_log_epoch "$s")" "$t_first") "; done
  offs+="dead:$(ikp_fsub "$t_dead" "$t_first")"
  echo "  send/verdict offsets from the R-U-THERE: $offs"
  ikp_check "sends at +0 +2 +4 +6 +8 and verdict at +10 (+-0.1 s)" awk -v o="$offs" 'BEGIN {
    n = split(o, a, " "); sub("dead:", "", a[n]);
    for (i = 1; i <= n; i++) if (a[i] + 0 < 2 * (i - 1) - 0.1 || a[i] + 0 > 2 * (i - 1) + 0.1) exit 1 }'
  first_rx=$(ikp_fsub "$t_first" "$last_b1")
  echo "  R-U-THERE sent $first_rx s after the last packet from B1 (interval 10)"
else
  ikp_bad "five DPD sends in the trace (found ${#sends[@]})"
fi
ikp_finish failover
