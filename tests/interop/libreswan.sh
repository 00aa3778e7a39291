#!/usr/bin/env bash
# libreswan.sh — ikepulse <-> Libreswan 4.10 (pluto, IKEv1, PSK) in lab namespaces.
#   A (ikepulse)  192.0.2.1, LAN 198.51.100.0/24
#   B (Libreswan) 192.0.2.2, LAN 203.0.113.0/24
# Libreswan is not installed (it Conflicts with strongSwan): scripts/install-deps.sh extracts
# the Debian package and tests/lab/libreswan.sh runs its pluto/whack/addconn from there. Without
# that tree the test prints SKIP and exits 77 (ctest: skipped, not passed).
#
# The lab kernel has no ESP and pluto 4.10 has no stack but XFRM, so no Quick Mode can finish
# on pluto's side: it fails adding its IPsec SA ("netlink response for Add SA esp...: Protocol
# not supported (errno 93)"). What is checked:
#   1. pluto initiates (whack --initiate), ikepulse responds: Main Mode established on both
#      sides (pluto "IKE SA established", ikepulse QM_IDLE); Quick Mode gets as far as pluto's
#      kernel SA install, i.e. pluto accepted ikepulse's QM2; `clear crypto session` on
#      ikepulse: pluto processes the ISAKMP Delete, revives the conn, Main Mode again.
#   2. ikepulse initiates (keep-up, `crypto isakmp keepalive 10 periodic`), pluto responds:
#      Main Mode established; pluto accepts ikepulse's QM1 proposal (then fails its SA
#      install); DPD on the ISAKMP SA: every R-U-THERE answered with an R-U-THERE-ACK (ikepulse
#      debug log; pluto's own counter, whack --globalstatus); pluto SIGKILLed right after an
#      ACK: ikepulse logs "not responding!" 20 s (IKP_DEAD_MIN..IKP_DEAD_MAX) after the last packet from pluto
#      (tcpdump in A's namespace).
# Libreswan's own DPD (dpddelay/dpdtimeout) is not tested: IKEv1 pluto schedules it on the
# IPsec SA only (ikev1_dpd.c: "EVENT_DPD are attached to phase 2s"), and there is none here.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_lsw_sites libreswan

# --- case 1: pluto initiates ------------------------------------------------------------------
echo "== case 1: Libreswan initiates Main Mode + Quick Mode, ikepulse responds"
lab_lsw_config b1 gw=b local=$B remote=$A psk=$PSK local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24
lab_lsw_start b1
ikp_config "$LAB_WORK/a1.cfg" self=$A peers=$B keep_up=0
# main_mode_done CASE: both sides logged Main Mode done (pluto's $PLOG, ikepulse's $LOG; up to
# 15 s), pluto's "IKE SA established {...}" in $est, ikepulse's ISAKMP SA QM_IDLE with $B.
main_mode_done() {
  local ok=1
  lab_wait_for "$PLOG" '"lab" #[0-9]+: IKE SA established' 15 || ok=0
  lab_wait_for "$LOG" "Crypto tunnel is UP" 15 || ok=0
  est=$(grep -Eom1 'IKE SA established \{[^}]*\}' "$PLOG")
  local qm
  qm=$(ikp_isakmp_states a | head -1)
  echo "  pluto:    ${est:-no IKE SA}"
  echo "  ikepulse: ${qm:-no ISAKMP SA}"
  ikp_check "case $1: both sides logged Main Mode done" test $ok = 1
  ikp_check "case $1: ikepulse ISAKMP SA QM_IDLE with $B" test "$qm" = "QM_IDLE $B"
}
ikp_start a "$LAB_WORK/a1.cfg" --debug
PLOG=$(lab_lsw_log b1)
LOG=${IKP_LOG[a]}
lab_lsw_initiate b1 || echo "  (whack --initiate: $(tail -1 "$(lab_lsw_dir b1)/initiate.out"))"
main_mode_done 1
ikp_check "case 1: pluto IKE SA established with AES_CBC_128/HMAC_SHA1/MODP2048" \
  grep -q 'cipher=AES_CBC_128 integ=HMAC_SHA1 group=MODP2048' <<<"$est"
# pluto sent QM1, ikepulse answered QM2; pluto verified it and went on to install its SAs.
lab_wait_for "$PLOG" "$IKP_LSW_SA_FAIL" 10 && qmf=$(grep -Em1 "$IKP_LSW_SA_FAIL" "$PLOG")
# QM2: the first packet ikepulse sends after processing pluto's QM1 (its HASH(1)).
ikp_check "case 1: ikepulse answered pluto's QM1 (QM2 sent)" awk '
  /processing HASH payload\. message ID/ { h = 1; next }
  h && /sending packet to 192\.0\.2\.2 .*\(R\) QM_IDLE/ { f = 1; exit }
  END { exit !f }' "$LOG"
ikp_check "case 1: pluto accepted ikepulse's QM2 and reached its kernel SA install" test -n "${qmf:-}"
echo "  KNOWN: Quick Mode cannot complete here: pluto: ${qmf#*: }"
ikp_cli a "clear crypto session" >/dev/null
lab_wait_for "$PLOG" 'received Delete SA payload: (self-)?deleting ISAKMP State #1' 10
ikp_check "case 1: clear crypto session: pluto deleted ISAKMP SA #1 on ikepulse's Delete" \
  grep -Eq 'received Delete SA payload: (self-)?deleting ISAKMP State #1' "$PLOG"
# The conn was initiated by whack, so pluto revives it at once; ikepulse responds again.
lab_wait_count "$PLOG" '"lab" #[0-9]+: IKE SA established' 2 10 &&
  lab_wait_count "$LOG" "Crypto tunnel is UP" 2 5
ikp_check "case 1: pluto re-initiated (revival) and Main Mode completed again" \
  test "$(grep -c 'Crypto tunnel is UP' "$LOG")" -ge 2
ikp_stop a
lab_lsw_kill b1 TERM

# --- case 2: ikepulse initiates, DPD, SIGKILL ---------------------------------------------------
echo "== case 2: ikepulse initiates (keep-up, keepalive 10 periodic), Libreswan responds; DPD; pluto SIGKILLed"
lab_lsw_config b2 gw=b local=$B remote=$A psk=$PSK local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24
lab_lsw_start b2
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
ikp_config "$LAB_WORK/a2.cfg" self=$A peers=$B keep_up=1 keepalive="10 periodic"
ikp_start a "$LAB_WORK/a2.cfg" --debug
PLOG=$(lab_lsw_log b2)
LOG=${IKP_LOG[a]}
main_mode_done 2
lab_wait_for "$PLOG" 'responding to Quick Mode proposal' 5
ikp_check "case 2: pluto accepted ikepulse's QM1 proposal" grep -q 'responding to Quick Mode proposal' "$PLOG"
lab_wait_for "$PLOG" "$IKP_LSW_SA_FAIL" 5 && echo "  KNOWN: pluto: $(grep -Em1 "$IKP_LSW_SA_FAIL" "$PLOG" | sed 's/^.*ERROR: //')"

ACK_RE="DPD/R_U_THERE_ACK received from peer $B"
# Two ACKs, then the kill right after the next one (so pluto's last packet is a DPD message):
# the three ACKs checked below.
lab_wait_count "$LOG" "$ACK_RE" 2 30 || true
n0=$(grep -c "$ACK_RE" "$LOG" || true)
lab_wait_count "$LOG" "$ACK_RE" $((n0 + 1)) 15 || true
t_kill=$(date +%s.%3N)
stats=$(lab_whack b2 --globalstatus 2>/dev/null)
lab_lsw_kill b2 KILL
sent=$(grep -c "IKE_TIMER_IM_ALIVE" "$LOG" || true)
acks=$(grep -c "$ACK_RE" "$LOG" || true)
replied=$(awk -F= '/dpd\.replied=/ { print $2; exit }' <<<"$stats")
dups=$(grep -c 'duplicate R_U_THERE' "$PLOG" || true)
echo "  DPD before the kill: ikepulse sent $sent R-U-THERE, got $acks ACKs; pluto counts ${replied:-?} replied, $dups duplicates"
ikp_check "case 2: at least 3 R-U-THERE-ACKs from Libreswan ($acks)" test "$acks" -ge 3
ikp_check "case 2: every R-U-THERE answered ($acks ACKs of $sent)" test "$acks" -ge "$sent" -a "$sent" -gt 0
ikp_check "case 2: pluto's own count of ACKs sent agrees (${replied:-?})" test "${replied:-x}" = "$acks"
ikp_check "case 2: pluto saw no duplicate R-U-THERE" test "$dups" = 0

lab_wait_for "$LOG" "peer $B not responding!" 35 || ikp_bad "case 2: ikepulse declared $B dead"
lab_capture_stop
last=$(ikp_pcap_last "$LAB_WORK/a.pcap" "ip.src==$B")
after=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B && frame.time_epoch > $t_kill" 2>/dev/null | wc -l)
l_dead=$(grep -m1 "peer $B not responding!" "$LOG")
if [[ -n $last && -n $l_dead ]]; then
  d=$(ikp_fsub "$(ikp_log_epoch "$l_dead")" "$last")
  echo "  last packet from pluto $(date -d "@$last" +%T.%3N), kill $(date -d "@$t_kill" +%T.%3N), 'not responding!' $(sed 's/^\*[A-Za-z]* [0-9]* //; s/: .*//' <<<"$l_dead"): +$d s"
  ikp_check "case 2: declared dead $IKP_DEAD_MIN..$IKP_DEAD_MAX s after the last packet from pluto ($d s)" \
    ikp_fcmp "$d >= $IKP_DEAD_MIN && $d <= $IKP_DEAD_MAX"
else
  ikp_bad "case 2: dead-peer timing (last packet '${last:-}', verdict '${l_dead:-}')"
fi
ikp_check "case 2: nothing from pluto after the kill ($after packets)" test "$after" = 0
lab_wait_for "$LOG" "Crypto tunnel is DOWN" 5
ikp_check "case 2: ikepulse logged the tunnel DOWN" grep -q "Crypto tunnel is DOWN" "$LOG"
ikp_stop a
ikp_finish libreswan
