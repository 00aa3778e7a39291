#!/usr/bin/env bash
# delete.sh — a Delete from either side removes the SAs on the other.
#   1. strongSwan `swanctl --terminate --ike`: ikepulse logs the tunnel DOWN and shows no SA.
#   2. ikepulse `clear crypto session`: strongSwan logs the received DELETEs and lists no SA.
# ikepulse has no keep-up (nothing comes back by itself); strongSwan initiates each time.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 log="default=1 ike=2 cfg=1"
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keepalive="10 periodic" keep_up=0
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
CLOG=$(lab_charon_log b)
no_ikp_sa() { [[ -z $(ikp_isakmp_states a) && -z $(ikp_sa_spis a) ]]; }
no_swan_sa() { [[ $(ikp_swan_sa b count) == 0 ]]; }

bring_up() {
  local k=$1
  lab_initiate b net 20 || true
  lab_wait_count "$LOG" "Crypto tunnel is UP" "$k" 15 &&
    lab_wait_count "$CLOG" "CHILD_SA .* established" "$k" 10 &&
    lab_wait_cmd 5 test -n "$(ikp_sa_spis a)"
}

echo "== 1. strongSwan deletes (swanctl --terminate --ike lab)"
ikp_check "up (strongSwan initiated)" bring_up 1
echo "  before: strongSwan $(ikp_swan_sa b ike_spis); ikepulse $(ikp_isakmp_states a | tr '\n' ' ')/ $(ikp_sa_spis a)"
t0=$(date +%s.%3N)
lab_terminate_ike b lab 10 || true
ikp_check "ikepulse processed the DELETE" lab_wait_for "$LOG" "processing DELETE payload" 10
ikp_check "ikepulse logged DOWN" lab_wait_for "$LOG" "Crypto tunnel is DOWN\. Peer 192\.0\.2\.2" 10
l=$(grep -m1 "Crypto tunnel is DOWN" "$LOG")
[[ -n $l ]] && echo "  DOWN $(ikp_fsub "$(ikp_log_epoch "$l")" "$t0") s after swanctl --terminate: ${l#*: }"
ikp_check "ikepulse shows no ISAKMP or IPsec SA" lab_wait_cmd 5 no_ikp_sa
ikp_cli a "show crypto isakmp sa" "show crypto ipsec sa" | sed 's/^/    /'
ikp_check "strongSwan lists no SA" no_swan_sa

echo "== 2. ikepulse deletes (clear crypto session)"
ikp_check "up again (strongSwan initiated)" bring_up 2
echo "  before: strongSwan $(ikp_swan_sa b ike_spis); ikepulse $(ikp_isakmp_states a | tr '\n' ' ')/ $(ikp_sa_spis a)"
child_re="received DELETE for (ESP )?CHILD_SA|closing CHILD_SA"
child_before=$(grep -Ec "$child_re" "$CLOG" || true)
ikp_cli a "clear crypto session" | sed 's/^/    /'
# Our Delete for the IPsec SAs and the one for the ISAKMP SA leave back to back; strongSwan's
# worker threads sometimes take the ISAKMP one first and close the CHILD_SA with the IKE_SA
# ("closing CHILD_SA"), never logging the ESP delete. Either way its CHILD_SA must be gone.
ikp_check "strongSwan removed the CHILD_SA (its DELETE received, or closed with the IKE_SA)" \
  lab_wait_count "$CLOG" "$child_re" $((child_before + 1)) 10
ikp_check "strongSwan logged the received DELETE for the IKE_SA" \
  lab_wait_for "$CLOG" "received DELETE for IKE_SA" 10
grep -E "received DELETE" "$CLOG" | sed 's/^/    /'
ikp_check "strongSwan lists no SA" lab_wait_cmd 5 no_swan_sa
lab_list_sas b | sed 's/^/    /'
ikp_check "ikepulse logged DOWN (2nd time)" lab_wait_count "$LOG" "Crypto tunnel is DOWN" 2 5
ikp_check "ikepulse shows no SA" no_ikp_sa
ikp_finish delete
