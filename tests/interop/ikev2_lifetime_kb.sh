#!/usr/bin/env bash
# ikev2_lifetime_kb.sh — kilobyte lifetimes of IKEv2 Child SAs, against strongSwan 5.9.8
# (`version = 2`, kernel-libipsec). ikepulse's crypto map entry has `set ikev2-profile` and
# `set security-association lifetime kilobytes 2560` (the IOS minimum); a 7,000,000-byte TCP
# stream from behind ikepulse crosses 90 % of it several times. Each time ikepulse rekeys the
# Child SA (CREATE_CHILD_SA with REKEY_SA, new SPIs, the old pair deleted) over the same IKE
# SA, and the stream goes on. Root; bounded (< 60 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lab/lablib.sh
source tests/interop/iplib.sh
PSK=lab-secret-not-for-production
ikp_two_sites hosts
ikp_swan_v2 b 192.0.2.2 dpd_delay=0s
ikp_flex_config "$LAB_WORK/a.cfg" "aes-cbc-128 sha256 - 14" "esp-aes esp-sha256-hmac" "" 1 192.0.2.2
printf '%s\n' "crypto map green 10 ipsec-isakmp" " set security-association lifetime kilobytes 2560" \
  >>"$LAB_WORK/a.cfg"
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "Crypto tunnel is UP" 15 || lab_die "tunnel not up"
ikp_cli a "show crypto map" >"$LAB_WORK/map.txt"
ikp_check "show crypto map: 2560 kilobytes" grep -q "2560 kilobytes" "$LAB_WORK/map.txt"
ike0=$(lab_list_sas b | awk '/IKEv2/ { print $5, $6; exit }')
ikp_check "7,000,000 bytes of TCP through the tunnel across the rekeys" \
  ikp_tcp a-host b-host 203.0.113.10 7000000
rekeys=$(grep -c "soft kilobyte lifetime reached, rekeying" "$LOG" || true)
lab_log "Child SA rekeys on volume during the stream: $rekeys; hard expiries: $(grep -c "kilobyte lifetime expired" "$LOG" || true)"
ikp_check "ikepulse rekeyed on volume at least twice (7 MB / (90 % of 2560 KB)): $rekeys" test "$rekeys" -ge 2
L=$(lab_charon_log b)
ikp_check "strongSwan: CHILD_SA established at least 3 times" \
  test "$(grep -c "CHILD_SA .* established" "$L")" -ge 3
ikp_check "strongSwan parsed CREATE_CHILD_SA requests with REKEY_SA" \
  grep -q "parsed CREATE_CHILD_SA request [0-9]* \[ N(REKEY_SA)" "$L"
ikp_check "the replaced pairs were deleted on strongSwan too" \
  grep -Eq "received DELETE for (ESP )?CHILD_SA|closing CHILD_SA" "$L"
ike1=$(lab_list_sas b | awk '/IKEv2/ { print $5, $6; exit }')
ikp_check "the same IKE SA throughout ($ike1)" test -n "$ike1" -a "$ike0" = "$ike1"
ikp_check "strongSwan holds one CHILD_SA at the end" \
  test "$(lab_list_sas b | grep -c 'reqid.*INSTALLED')" = 1
ikp_check "ping still passes after the rekeys" ikp_ping a-host 203.0.113.10 3
ikp_finish ikev2_lifetime_kb
