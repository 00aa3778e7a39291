#!/usr/bin/env bash
# dataplane_transforms.sh — every ESP transform strongSwan's kernel-libipsec can carry
# (AES-CBC 128/192/256 with HMAC-SHA1-96, -SHA-256-128, -SHA-384-192, -SHA-512-256, and
# AES-GCM-16 128/256 with no integrity transform: ESP transform ID 20 + Key Length), negotiated
# in Quick Mode by ikepulse's transform-set and used by both data planes: pings both ways and a
# full-size packet through each. This checks the negotiated attributes and the KEYMAT
# expansion (up to 32 + 64 bytes per direction; AES-GCM: key + 4-byte salt) byte for byte
# against strongSwan; the AES-GCM cases run again with strongSwan initiating (ikepulse the
# Quick Mode responder). IKP_CASES=REGEX runs only the transform sets it matches (e.g. gcm). (libipsec has
# no 3DES or HMAC-MD5; those are covered by known answers in src/dataplane/esp_test.cc.)
# Topology as in dataplane_tunnel.sh; charon and ikepulsed restarted per case. Root; < 120 s.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites hosts
PSK=lab-secret-not-for-production

# IOS transform-set | strongSwan esp_proposals | the proposal strongSwan logs as selected
CASES=(
  "esp-aes esp-sha-hmac|aes128-sha1|ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ"
  "esp-aes 192 esp-sha256-hmac|aes192-sha256|ESP:AES_CBC_192/HMAC_SHA2_256_128/NO_EXT_SEQ"
  "esp-aes 256 esp-sha384-hmac|aes256-sha384|ESP:AES_CBC_256/HMAC_SHA2_384_192/NO_EXT_SEQ"
  "esp-aes 256 esp-sha512-hmac|aes256-sha512|ESP:AES_CBC_256/HMAC_SHA2_512_256/NO_EXT_SEQ"
  "esp-gcm|aes128gcm16|ESP:AES_GCM_16_128/NO_EXT_SEQ"
  "esp-gcm 256|aes256gcm16|ESP:AES_GCM_16_256/NO_EXT_SEQ"
)
# swan_no_sa NAME: charon NAME lists no IKE SA.
swan_no_sa() { ! lab_list_sas "$1" 2>/dev/null | grep -q "IKEv1"; }
declare -a SUMMARY=()
n=0
for c in "${CASES[@]}"; do
  IFS='|' read -r ts esp want <<<"$c"
  n=$((n + 1))
  [[ -n ${IKP_CASES:-} && ! $ts =~ ${IKP_CASES} ]] && continue
  name="b$n"
  echo "== case $n: transform-set T1 $ts / strongSwan esp_proposals = $esp"
  lab_charon_config "$name" gw=b local=192.0.2.2 remote=192.0.2.1 psk=$PSK esp_proposals="$esp" \
    local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=0s
  lab_charon_start "$name"
  ikp_config "$LAB_WORK/a$n.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=0 esp="$ts"
  ikp_start a "$LAB_WORK/a$n.cfg"
  lab_wait_for "${IKP_LOG[a]}" "DATAPLANE: userspace ESP" 5 || lab_die "no data plane"
  before=$IKP_FAILS
  ikp_check "case $n: ping 198.51.100.10 -> 203.0.113.10 brings the tunnel up" \
    ikp_ping a-host 203.0.113.10 4 -w 15
  child=$(grep -o "selected proposal: ESP:[^ ]*" "$(lab_charon_log "$name")" | tail -1)
  echo "  strongSwan ${child:-selected no ESP proposal}"
  ikp_check "case $n: strongSwan selected $want" test "${child#selected proposal: }" = "$want"
  ikp_check "case $n: ping 203.0.113.10 -> 198.51.100.10" ikp_ping b-host 198.51.100.10 3
  ikp_check "case $n: 1400-byte inner packets both ways" ikp_ping a-host 203.0.113.10 2 -s 1372
  ikp_cli a "show crypto ipsec sa" >"$LAB_WORK/ipsec-$n.txt"
  dec=$(grep -Eo '#pkts decaps: [0-9]+' "$LAB_WORK/ipsec-$n.txt" | grep -Eo '[0-9]+' | head -1)
  ikp_check "case $n: ikepulse decapsulated strongSwan's ESP (#pkts decaps ${dec:-?})" test "${dec:-0}" -ge 9
  if [[ $ts == esp-gcm* ]]; then
    # AES-GCM also with ikepulse as the Quick Mode responder: strongSwan initiates.
    ikp_cli a "clear crypto session" >/dev/null
    lab_wait_cmd 10 swan_no_sa "$name" || lab_log "strongSwan still lists an SA after the clear"
    lab_initiate "$name" net 20 || lab_log "swanctl --initiate: $(tail -1 "$(lab_charon_dir "$name")/initiate.out")"
    ikp_check "case $n, ikepulse responder: ping 203.0.113.10 -> 198.51.100.10" ikp_ping b-host 198.51.100.10 3 -w 10
    ikp_check "case $n, ikepulse responder: ping 198.51.100.10 -> 203.0.113.10" ikp_ping a-host 203.0.113.10 3
    ikp_cli a "show crypto ipsec sa" >"$LAB_WORK/ipsec-$n-r.txt"
    enc=$(grep -Eo '#pkts encaps: [0-9]+' "$LAB_WORK/ipsec-$n-r.txt" | grep -Eo '[0-9]+' | head -1)
    dec=$(grep -Eo '#pkts decaps: [0-9]+' "$LAB_WORK/ipsec-$n-r.txt" | grep -Eo '[0-9]+' | head -1)
    ikp_check "case $n, ikepulse responder: #pkts encaps ${enc:-?} >= 6, decaps ${dec:-?} >= 6" \
      test "${enc:-0}" -ge 6 -a "${dec:-0}" -ge 6
  fi
  if ((IKP_FAILS > before)); then
    SUMMARY+=("case $n $ts: FAIL")
    echo "  --- ikepulse log tail"; tail -10 "${IKP_LOG[a]}" | sed 's/^/    /'
    echo "  --- charon log tail"; tail -10 "$(lab_charon_log "$name")" | sed 's/^/    /'
  else
    SUMMARY+=("case $n $ts = $want: PASS")
  fi
  ikp_stop a
  lab_kill_charon "$name" TERM
done
echo "== summary"
printf '  %s\n' "${SUMMARY[@]}"
ikp_finish dataplane_transforms
