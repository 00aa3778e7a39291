#!/usr/bin/env bash
# ikev2_dataplane.sh — traffic through IKEv2 Child SAs in ikepulse's own userspace ESP
# (TUN ikp0 <-> ESP-in-UDP 4500) against strongSwan 5.9.8 with kernel-libipsec, and IKEv2
# on-demand liveness driven by that traffic. Topology (as ondemand_failover.sh):
#   a-host  198.51.100.10 -- A  ikepulse   192.0.2.1  FlexVPN (set ikev2-profile), no keep-up
#   b1-host 203.0.113.10  -- B1 strongSwan 192.0.2.2  version = 2, kernel-libipsec
#   b2-host 203.0.113.10  -- B2 strongSwan 192.0.2.3  version = 2, kernel-libipsec
# kernel-libipsec fakes its NAT-D hash, so both sides see a NAT: the IKE SA floats to 4500 and
# the Child SAs are ESP-in-UDP there.
# 1. Every IKE proposal family (aes-cbc-128/sha1/14, aes-cbc-256/sha256/19, aes-gcm-128/prf
#    sha256/20, aes-gcm-256/prf sha384/21) with each ESP transform set (esp-aes[ 256] with
#    esp-sha-hmac and esp-sha256-hmac), ikepulse initiator (the first ping from a-host brings
#    the tunnel up) and responder (swanctl --initiate): pings both ways through the tunnel;
#    ikepulse's `show crypto ipsec sa` #pkts encaps/decaps must equal strongSwan's packets
#    in/out of the CHILD_SA (swanctl --list-sas), both >= the pings sent.
# 1b. ESP AES-GCM-16: `esp-gcm` (under IKE aes-cbc-256/sha256/19) and `esp-gcm 256` (under
#    aes-gcm-256/prf sha384/21), both roles, the same checks. IKP_CASES=gcm runs only these.
# 2. `dpd 10 2 on-demand` in the IKEv2 profile, set peer B1 B2: a continuous ping; while
#    strongSwan answers, inbound ESP counts as heard (no liveness check for 12 s of traffic
#    although no IKE message arrives); B1 SIGKILLed: the first liveness check 10.0-10.3 s after
#    the last packet from B1, four retries, DOWN 20.0-20.5 s after it, UP with B2, ping resumes.
# 2 runs beside 1 and 1b, in namespaces of its own (ikp_fork: the script again, IKP_PART=od).
# Root; bounded (< 240 s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_sites hosts b1 b2

# swan_child NAME: "in_packets out_packets in_bytes out_bytes proposal" of the first CHILD_SA.
swan_child() {
  lab_list_sas "$1" 2>/dev/null | awk '
    /reqid/ { gsub(",", "", $7); prop = $7 }
    $1 == "in" && $2 ~ /^[0-9a-f]+,$/ { ib = $3; ip = $5 }
    $1 == "out" && $2 ~ /^[0-9a-f]+,$/ { ob = $3; op = $5 }
    END { printf "%s %s %s %s %s\n", ip + 0, op + 0, ib + 0, ob + 0, prop }'
}
# ikp_counts: "encaps decaps" of ikepulse's first IPsec SA.
ikp_counts() {
  ikp_cli a "show crypto ipsec sa" >"$LAB_WORK/ipsec.txt"
  local e d
  e=$(grep -Eo '#pkts encaps: [0-9]+' "$LAB_WORK/ipsec.txt" | grep -Eo '[0-9]+' | head -1)
  d=$(grep -Eo '#pkts decaps: [0-9]+' "$LAB_WORK/ipsec.txt" | grep -Eo '[0-9]+' | head -1)
  echo "${e:-0} ${d:-0}"
}

# check_traffic TAG WANT_ESP: pings both ways (5 + 5, and 2 full-size from a-host) through the
# tunnel, then both sides' counters.
check_traffic() {
  local tag=$1 want=$2 enc dec sin sout sib sob sprop
  ikp_check "$tag: ping 203.0.113.10 -> 198.51.100.10 (through the tunnel)" ikp_ping b1-host 198.51.100.10 5
  ikp_check "$tag: 1400-byte packets 198.51.100.10 -> 203.0.113.10" ikp_ping a-host 203.0.113.10 2 -s 1372
  read -r enc dec < <(ikp_counts)
  read -r sin sout sib sob sprop < <(swan_child b1)
  echo "  ikepulse: #pkts encaps $enc decaps $dec; strongSwan CHILD_SA $sprop: in $sin packets ($sib bytes), out $sout packets ($sob bytes)"
  local ikeprop
  ikeprop=$(ikp_swan_sa b1 proposal)
  ikp_check "$tag: strongSwan IKE SA $ikeprop" test "$ikeprop" = "$WANT_IKE"
  ikp_check "$tag: strongSwan CHILD_SA $want" grep -q "^$want" <<<"$sprop"
  ikp_check "$tag: ikepulse encapsulated >= 12 ($enc) and decapsulated >= 12 ($dec)" \
    test "$enc" -ge 12 -a "$dec" -ge 12
  ikp_check "$tag: ikepulse encaps $enc == strongSwan in $sin" test "$enc" = "$sin"
  ikp_check "$tag: ikepulse decaps $dec == strongSwan out $sout" test "$dec" = "$sout"
  SUMMARY+=("$(printf '%-44s %-32s encaps %4s = in %4s, decaps %4s = out %4s' "$tag" "$sprop" "$enc" "$sin" "$dec" "$sout")")
}

# IKE: ikepulse "ENC INTEG PRF GROUP" | strongSwan proposals | ESP key size (ikepulse, strongSwan)
# | the IKE proposal strongSwan lists for the IKE SA
FAMILIES=(
  "aes-cbc-128 sha1 - 14|aes128-sha1-modp2048|esp-aes|aes128|AES_CBC-128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048"
  "aes-cbc-256 sha256 - 19|aes256-sha256-ecp256|esp-aes 256|aes256|AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"
  "aes-gcm-128 - sha256 20|aes128gcm16-prfsha256-ecp384|esp-aes|aes128|AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_384"
  "aes-gcm-256 - sha384 21|aes256gcm16-prfsha384-ecp521|esp-aes 256|aes256|AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_521"
)
declare -a SUMMARY=()

# run_case CFG IKE TS WANT: ikepulse initiator then responder with transform set TS against
# the running charon b1; strongSwan's CHILD_SA must be WANT.
run_case() {
  local cfg=$1 ike=$2 ts=$3 want=$4 tag
  tag="IKE $ike / ESP $ts"
  echo "== $tag"
  ikp_flex_config "$cfg" "$ike" "$ts" "" 0 $B1
  ikp_start a "$cfg" --debug
  lab_wait_for "${IKP_LOG[a]}" "DATAPLANE: userspace ESP" 5 || lab_die "no data plane"
  # ikepulse initiates: the first ping brings the tunnel up.
  ikp_check "$tag, ikepulse initiator: ping 198.51.100.10 -> 203.0.113.10 brings the tunnel up" \
    ikp_ping a-host 203.0.113.10 5 -w 15
  check_traffic "$tag (ikepulse initiator)" "$want"
  ikp_cli a "clear crypto session" >/dev/null
  lab_wait_cmd 10 ikp_swan_idle b1 || lab_log "strongSwan still lists an SA after the clear"
  # strongSwan initiates.
  lab_initiate b1 net 20 || lab_log "swanctl --initiate: $(tail -1 "$(lab_charon_dir b1)/initiate.out")"
  lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 10 || true
  ikp_check "$tag, ikepulse responder: ping 198.51.100.10 -> 203.0.113.10" \
    ikp_ping a-host 203.0.113.10 5 -w 10
  check_traffic "$tag (ikepulse responder)" "$want"
  ikp_stop a
  lab_wait_cmd 10 ikp_swan_idle b1 || lab_log "strongSwan still lists an SA after ikepulse stopped"
}

# --- 2. on-demand liveness and failover: it shares nothing with 1 and 1b and runs beside them,
# in a lab of its own (ikp_fork: the script again, IKP_PART=od).
if [[ ${IKP_PART:-} == od ]]; then
  echo "== on-demand: dpd 10 2 on-demand, set peer B1 B2, continuous ping; B1 SIGKILLed"
  ikp_swan_v2 b1 $B1 dpd_delay=0s
  ikp_swan_v2 b2 $B2 dpd_delay=0s
  lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap" "host $B1 or host $B2"
  ikp_flex_config "$LAB_WORK/od.cfg" "aes-cbc-128 sha256 - 14" "esp-aes esp-sha256-hmac" "10 2 on-demand" 0 $B1 $B2
  ikp_start a "$LAB_WORK/od.cfg" --debug
  LOG=${IKP_LOG[a]}
  lab_wait_for "$LOG" "DATAPLANE: userspace ESP" 5 || lab_die "no data plane"
  PING=$LAB_WORK/ping-od.txt
  ikp_ping_bg a-host 203.0.113.10 75 "$PING"
  lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 ||
    { ikp_bad "od: traffic brings the tunnel up with B1"; ikp_finish ikev2_dataplane-od; }
  lab_wait_count "$PING" "bytes from 203\.0\.113\.10" 10 10 || ikp_bad "od: ping answered through B1"
  # 12 s of traffic both ways and no IKE message from B1 (dpd_delay 0s): inbound ESP is heard.
  l0=$(grep -c "Sending liveness check" "$LOG")
  lab_wait_for "$LOG" "Sending liveness check" 12 && true
  l1=$(grep -c "Sending liveness check" "$LOG")
  ikp_check "od: no liveness check during 12 s of traffic answered by B1 (ESP counts as heard; $((l1 - l0)) sent)" \
    test "$l1" = "$l0"
  ikp_ping_failover "od: " "Crypto tunnel is DOWN\. Peer $B1"
  t_kill=$T_KILL
  lab_stop_pid "$PING_PID"
  lab_capture_stop

  # (not the ICMP port unreachables B1's kernel sends once charon is gone)
  last_b1=$(ikp_pcap_last "$LAB_WORK/a.pcap" "ip.src==$B1 && udp && !icmp")
  mapfile -t probes < <(grep -E "Sending liveness check|Liveness retry" "$LOG" | tail -5)
  l_down=$(grep -m1 "Crypto tunnel is DOWN\. Peer $B1" "$LOG")
  l_up2=$(grep -m1 "Crypto tunnel is UP\. Peer $B2" "$LOG")
  t_down=$( [[ -n $l_down ]] && ikp_log_epoch "$l_down")
  t_up2=$( [[ -n $l_up2 ]] && ikp_log_epoch "$l_up2")
  read -r last_reply first_after < <(ikp_ping_gap "$PING")
  ref=${last_b1:-$t_kill}
  echo "== timeline"
  row() { ikp_row "$ref" "the last packet from B1" "$@"; }
  row "SIGKILL B1" "$t_kill"
  row "last packet from B1 on A's wire (UDP)" "$ref"
  for l in "${probes[@]}"; do
    case $l in *"Sending liveness"*) w="liveness check" ;; *) w="liveness retry" ;; esac
    row "$w" "$(ikp_log_epoch "$l")"
  done
  [[ -n $t_down ]] && row "Crypto tunnel is DOWN. Peer $B1" "$t_down"
  [[ -n $t_up2 ]] && row "Crypto tunnel is UP. Peer $B2" "$t_up2"
  [[ -n $last_reply ]] && row "last ping reply before the outage" "$last_reply"
  [[ -n $first_after ]] && row "first ping reply after the outage" "$first_after"
  if ((${#probes[@]} == 5)) && [[ ${probes[0]} == *"Sending liveness"* ]]; then
    d=$(ikp_fsub "$(ikp_log_epoch "${probes[0]}")" "$ref")
    ikp_check "od: first liveness check $d s after the last packet from B1 (traffic-driven, [9.999, 10.3])" \
      ikp_fcmp "$d >= 9.999 && $d <= 10.3"
    ikp_ok "od: liveness check + 4 retries"
  else
    ikp_bad "od: liveness check + 4 retries in the log (${#probes[@]} lines)"
  fi
  if [[ -n $t_down ]]; then
    d=$(ikp_fsub "$t_down" "$ref")
    ikp_check "od: DOWN $d s after the last packet from B1, within [$IKP_DEAD_MIN, $IKP_DEAD_MAX]" \
      ikp_fcmp "$d >= $IKP_DEAD_MIN && $d <= $IKP_DEAD_MAX"
  fi
  if [[ -n $t_down && -n $t_up2 ]]; then
    d=$(ikp_fsub "$t_up2" "$t_down")
    ikp_check "od: UP with B2 $d s after DOWN (<= 1.5)" ikp_fcmp "$d >= 0 && $d <= 1.5"
  fi
  rx2=$(ip netns exec "$(lab_ns b2-host)" cat /sys/class/net/eth0/statistics/rx_packets 2>/dev/null)
  ikp_check "od: the resumed ping goes through B2 (b2-host eth0 rx_packets ${rx2:-?})" test "${rx2:-0}" -gt 5
  if [[ -n $last_reply && -n $first_after ]]; then
    echo "  ping outage $(ikp_fsub "$first_after" "$last_reply") s"
  fi
  ikp_stop a
  ikp_finish ikev2_dataplane-od
fi
[[ ${IKP_CASES:-} == gcm ]] || ikp_fork od

# IKP_CASES=gcm runs only the ESP AES-GCM cases (1b) and skips the on-demand part (2).
n=0
for fam in "${FAMILIES[@]}"; do
  [[ ${IKP_CASES:-} == gcm ]] && break
  IFS='|' read -r ike swike espc swesp WANT_IKE <<<"$fam"
  n=$((n + 1))
  name=b1
  ikp_swan_v2 "$name" $B1 proposals="$swike" esp_proposals="$swesp-sha1,$swesp-sha256" dpd_delay=0s
  for integ in sha sha256; do
    ts="$espc esp-$integ-hmac"
    want_bits=${swesp#aes}
    if [[ $integ == sha ]]; then want="ESP:AES_CBC-$want_bits/HMAC_SHA1_96"; else want="ESP:AES_CBC-$want_bits/HMAC_SHA2_256_128"; fi
    run_case "$LAB_WORK/a$n-$integ.cfg" "$ike" "$ts" "$want"
  done
  lab_kill_charon "$name" TERM
done

# --- 1b. ESP AES-GCM-16 (RFC 4106): `esp-gcm` and `esp-gcm 256` (ENCR_AES_GCM_16, no INTEG)
# against esp_proposals aes128gcm16 / aes256gcm16, under an AES-CBC and an AES-GCM IKE SA.
GCM_CASES=(
  "aes-cbc-256 sha256 - 19|aes256-sha256-ecp256|AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256|esp-gcm|aes128gcm16|ESP:AES_GCM_16-128"
  "aes-gcm-256 - sha384 21|aes256gcm16-prfsha384-ecp521|AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_521|esp-gcm 256|aes256gcm16|ESP:AES_GCM_16-256"
)
for c in "${GCM_CASES[@]}"; do
  IFS='|' read -r ike swike WANT_IKE ts swesp want <<<"$c"
  n=$((n + 1))
  ikp_swan_v2 b1 $B1 proposals="$swike" esp_proposals="$swesp" dpd_delay=0s
  run_case "$LAB_WORK/a$n-gcm.cfg" "$ike" "$ts" "$want"
  lab_kill_charon b1 TERM
done
if [[ ${IKP_CASES:-} == gcm ]]; then
  echo "== summary"
  printf '  %s\n' "${SUMMARY[@]}"
  ikp_finish ikev2_dataplane
  exit $?
fi

ikp_join od

echo "== summary"
printf '  %s\n' "${SUMMARY[@]}"
ikp_finish ikev2_dataplane
