#!/usr/bin/env bash
# ikev2_backoff.sh — a kept-up IKEv2 entry whose peer refuses at once does not loop
# (DESIGN.md §6.6, the entry back-off). strongSwan 5.9.8 b (192.0.2.2, `version = 2`) has a
# different PSK, so it answers each IKE_AUTH of ikepulse a (`ikepulse keep-up`, one `set peer`)
# with AUTHENTICATION_FAILED one round trip after it began. Before the back-off, keep-up started
# the next IKE_SA_INIT at once: thousands in 30 s. Now the attempts begin 0, 1, 3, 7, 15 s
# after the first: 5 in the first 30 s (checked: at most 10 IKE_SA_INIT requests in charon's
# log 30 s after the first, each one answered by AUTHENTICATION_FAILED).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites
ikp_swan_v2 b $B psk=not-the-same-secret log="default=1 ike=2 cfg=1 net=1" extra_charon=""
CLOG=$(lab_charon_log b)
ikp_v2_config "$LAB_WORK/a.cfg" keep_up=1 peers=$B
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
REQ="parsed IKE_SA_INIT request"
lab_wait_for "$CLOG" "$REQ" 15 || { ikp_bad "a first IKE_SA_INIT reached strongSwan"; ikp_finish ikev2_backoff; }
t_first=$(date +%s.%3N)
ikp_check "strongSwan refused the first IKE_AUTH with AUTHENTICATION_FAILED" \
  lab_wait_for "$CLOG" "generating IKE_AUTH response .*N\(AUTH_FAILED\)" 5
# The window: 30 s from the first request; an 11th request inside it ends the wait early.
lab_wait_count "$CLOG" "$REQ" 11 30 && ikp_bad "an 11th IKE_SA_INIT within 30 s"
n_req=$(grep -c "$REQ" "$CLOG")
n_fail=$(grep -Ec "generating IKE_AUTH response .*N\(AUTH_FAILED\)" "$CLOG")
waited=$(ikp_fsub "$(date +%s.%3N)" "$t_first")
lab_capture_stop
# ikepulse's IKE_SA_INIT requests on its own wire (exchange type 34, initiator, no responder
# SPI), as offsets from the first.
inits=$(ikp_tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==192.0.2.1 && isakmp.exchangetype==34 && isakmp.rspi==00:00:00:00:00:00:00:00" \
  -T fields -e frame.time_epoch | awk 'NR == 1 { t0 = $1 } { printf "+%.3f ", $1 - t0 }')
echo "  IKE_SA_INIT requests from ikepulse on its wire: ${inits:-none}"
echo "  strongSwan parsed $n_req IKE_SA_INIT requests and sent $n_fail AUTHENTICATION_FAILED in $waited s"
n_wire=$(wc -w <<<"$inits")
ikp_check "at most 10 IKE_SA_INIT requests in 30 s ($n_req at strongSwan, $n_wire on the wire)" \
  test "$n_req" -le 10 -a "$n_req" -ge 2 -a "$n_wire" -ge "$n_req" -a "$n_wire" -le 10
ikp_check "every IKE_AUTH refused ($n_fail AUTHENTICATION_FAILED for $n_req attempts)" \
  test "$n_fail" -ge "$((n_req - 1))"
ikp_check "ikepulse logged the back-off" grep -q "failures in a row, next attempt in" "$LOG"
ikp_check "ikepulse holds no IKEv2 SA up" bash -c "! grep -q 'Crypto tunnel is UP' '$LOG'"
ikp_stop a
ikp_finish ikev2_backoff
