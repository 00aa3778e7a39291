#!/usr/bin/env bash
# establish.sh — ikepulse <-> strongSwan 5.9.8: Main Mode + Quick Mode for both roles and three
# phase-1 proposals, ESP aes128-sha1. One topology; charon and ikepulsed restarted per case.
#   A (ikepulse)  192.0.2.1, LAN 198.51.100.0/24
#   B (strongSwan) 192.0.2.2, LAN 203.0.113.0/24
# Per case: strongSwan lists the IKE SA ESTABLISHED with the expected proposal and the
# CHILD_SA INSTALLED with TS 203.0.113.0/24 === 198.51.100.0/24; ikepulse shows QM_IDLE and
# the same ESP SPIs (its inbound = strongSwan's outbound and vice versa).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites
PSK=lab-secret-not-for-production

# swan proposal | IOS encryption | IOS hash | IOS group | strongSwan --list-sas text
CASES=(
  "aes128-sha1-modp2048|aes|sha|14|AES_CBC-128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048"
  "aes256-sha256-modp2048|aes 256|sha256|14|AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
  "aes128-sha256-ecp256|aes|sha256|19|AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"
)

declare -a SUMMARY=()
n=0
for role in ikepulse strongswan; do
  for c in "${CASES[@]}"; do
    IFS='|' read -r prop enc hash group want <<<"$c"
    n=$((n + 1))
    name="b$n"
    echo "== case $n: initiator=$role proposal=$prop (IOS: encryption $enc, hash $hash, group $group)"
    lab_charon_config "$name" gw=b local=192.0.2.2 remote=192.0.2.1 psk=$PSK proposals="$prop" \
      esp_proposals=aes128-sha1 local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 \
      log="default=1 ike=2 cfg=1"
    lab_charon_start "$name"
    keep=1
    [[ $role == strongswan ]] && keep=0
    ikp_config "$LAB_WORK/a$n.cfg" self=192.0.2.1 peers=192.0.2.2 policy="$enc" hash="$hash" \
      group="$group" keep_up=$keep
    ikp_start a "$LAB_WORK/a$n.cfg" --debug
    if [[ $role == strongswan ]]; then
      lab_initiate "$name" net 20 || echo "  (swanctl --initiate returned non-zero: $(tail -1 "$(lab_charon_dir "$name")/initiate.out"))"
    fi
    ok=1
    lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 15 || ok=0
    lab_wait_for "$(lab_charon_log "$name")" "CHILD_SA .* established" 15 || ok=0
    setup=$(ikp_setup_time "${IKP_LOG[a]}" || echo "?")
    st=$(ikp_swan_sa "$name" ike_state)
    pr=$(ikp_swan_sa "$name" proposal)
    cs=$(ikp_swan_sa "$name" child_state)
    ts=$(ikp_swan_sa "$name" ts)
    s_in=$(ikp_swan_sa "$name" spi_in)
    s_out=$(ikp_swan_sa "$name" spi_out)
    read -r i_in i_out <<<"$(ikp_sa_spis a)"
    qm=$(ikp_isakmp_states a | head -1)
    printf '  strongSwan: %s %s child %s TS %s SPIs in %s out %s\n' "$st" "$pr" "$cs" "$ts" "$s_in" "$s_out"
    printf '  ikepulse:   %s; ipsec SPIs in %s out %s; MM1..IPsec SA in %s s\n' "$qm" "${i_in:-?}" \
      "${i_out:-?}" "$setup"
    before=$IKP_FAILS
    ikp_check "case $n: both sides logged the tunnel up" test $ok = 1
    ikp_check "case $n: strongSwan IKE SA ESTABLISHED" test "$st" = ESTABLISHED
    ikp_check "case $n: strongSwan proposal $want" test "$pr" = "$want"
    ikp_check "case $n: CHILD_SA INSTALLED" test "$cs" = INSTALLED
    ikp_check "case $n: TS 203.0.113.0/24 === 198.51.100.0/24" test "$ts" = "203.0.113.0/24 === 198.51.100.0/24"
    ikp_check "case $n: ikepulse ISAKMP SA QM_IDLE" test "${qm%% *}" = QM_IDLE
    ikp_check "case $n: SPIs match (ikepulse in = strongSwan out, out = in)" \
      test -n "$s_in" -a "${i_in:-}" = "$s_out" -a "${i_out:-}" = "$s_in"
    if ((IKP_FAILS > before)); then
      SUMMARY+=("case $n $role $prop: FAIL")
      echo "  --- ikepulse log tail"; tail -15 "${IKP_LOG[a]}" | sed 's/^/    /'
      echo "  --- charon log tail"; tail -15 "$(lab_charon_log "$name")" | sed 's/^/    /'
    else
      SUMMARY+=("case $n initiator=$role $prop: PASS (MM+QM $setup s)")
    fi
    ikp_stop a
    lab_kill_charon "$name" TERM
  done
done
echo "== summary"
printf '  %s\n' "${SUMMARY[@]}"
ikp_finish establish
