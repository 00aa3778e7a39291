#!/usr/bin/env bash
# dpd_answer.sh — ikepulse with no `crypto isakmp keepalive` still answers strongSwan's DPD
# (RFC 3706 §5.2; docs/DESIGN.md §3.1 "always answers"). strongSwan dpd_delay=10s, dpd_timeout=30s.
# After 30 s strongSwan must still hold the same IKE SA (same SPIs), and its log must show the
# R-U-THEREs it sent and the ACKs it got (ike=2 enc=1: "sending DPD request",
# "parsed INFORMATIONAL_V1 request .. [ HASH N(DPD_ACK) ]"). 30 s: two or three R-U-THEREs,
# each of whose ACKs is checked in charon's log (a missed one shows without a verdict).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
DURATION=${DPD_ANSWER_S:-30}
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=10s dpd_timeout=30s \
  log="default=1 ike=2 enc=1 cfg=1"
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=1
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
CLOG=$(lab_charon_log b)
lab_wait_for "$LOG" "Crypto tunnel is UP" 15 || { ikp_bad "tunnel up"; ikp_finish dpd_answer; }
lab_wait_for "$CLOG" "CHILD_SA .* established" 10 || ikp_bad "CHILD_SA established"
ike0=$(ikp_swan_sa b ike_spis)
echo "== up: strongSwan IKE SA $ike0; waiting ${DURATION} s"
ikp_check "strongSwan did not disable DPD (ikepulse sent the DPD vendor ID)" \
  bash -c "! grep -q 'DPD not supported by peer' '$CLOG'"
end=$((SECONDS + DURATION))
n=0
died=""
while ((SECONDS < end && n < DURATION * 2 + 10)); do
  if grep -Eq 'DPD check timed out|deleting IKE_SA' "$CLOG"; then died=$(grep -Em1 'DPD check timed out|deleting IKE_SA' "$CLOG"); break; fi
  if grep -q 'Crypto tunnel is DOWN' "$LOG"; then died=$(grep -m1 'Crypto tunnel is DOWN' "$LOG"); break; fi
  sleep 0.5
  n=$((n + 1))
done
ike1=$(ikp_swan_sa b ike_spis)
sent=$(grep -c "sending DPD request" "$CLOG" || true)
req=$(grep -c "generating INFORMATIONAL_V1 request [0-9]* \[ HASH N(DPD) \]" "$CLOG" || true)
acks=$(grep -c "parsed INFORMATIONAL_V1 request [0-9]* \[ HASH N(DPD_ACK) \]" "$CLOG" || true)
ikp_rx=$(grep -c "DPD/R_U_THERE received from peer" "$LOG" || true)
ikp_tx=$(grep -c "IKE_TIMER_IM_ALIVE" "$LOG" || true)
echo "== strongSwan: $sent DPD requests sent ($req R-U-THERE messages generated), $acks R-U-THERE-ACKs parsed"
echo "   ikepulse:   $ikp_rx R-U-THEREs received and answered, $ikp_tx of its own sent"
ikp_check "no death verdict in ${DURATION} s${died:+ ($died)}" test -z "$died"
ikp_check "same IKE SA after ${DURATION} s ($ike1)" test -n "$ike0" -a "$ike0" = "$ike1"
ikp_check "strongSwan sent R-U-THEREs ($req >= $((DURATION / 10 - 1)))" test "$req" -ge $((DURATION / 10 - 1))
ikp_check "every R-U-THERE got an ACK ($acks of $req)" test "$acks" -ge "$req" -a "$req" -gt 0
ikp_check "ikepulse (no keepalive) sent no R-U-THERE of its own" test "$ikp_tx" = 0
ikp_finish dpd_answer
