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
# Root; bounded (< 240 s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
IKP_BUILD=${IKP_BUILD:-build/release}
source tests/lab/lablib.sh
source tests/interop/iplib.sh
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24 198.51.100.10/24
lab_gw_add b1 192.0.2.2/24 203.0.113.1/24 203.0.113.10/24
lab_gw_add b2 192.0.2.3/24 203.0.113.1/24 203.0.113.10/24
PSK=lab-secret-not-for-production
B1=192.0.2.2
B2=192.0.2.3

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
swan_no_sa() { ! lab_list_sas b1 2>/dev/null | grep -q "IKEv2"; }

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
  ikeprop=$(lab_list_sas b1 2>/dev/null | awk '/IKEv2/ { f = 1; next } f && /^  [A-Z0-9_]+[-\/]/ { print $1; exit }')
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
  lab_wait_cmd 10 swan_no_sa || lab_log "strongSwan still lists an SA after the clear"
  # strongSwan initiates.
  lab_initiate b1 net 20 || lab_log "swanctl --initiate: $(tail -1 "$(lab_charon_dir b1)/initiate.out")"
  lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 10 || true
  ikp_check "$tag, ikepulse responder: ping 198.51.100.10 -> 203.0.113.10" \
    ikp_ping a-host 203.0.113.10 5 -w 10
  check_traffic "$tag (ikepulse responder)" "$want"
  ikp_stop a
  lab_wait_cmd 10 swan_no_sa || lab_log "strongSwan still lists an SA after ikepulse stopped"
}

# IKP_CASES=gcm runs only the ESP AES-GCM cases (1b) and skips the on-demand part (2).
n=0
for fam in "${FAMILIES[@]}"; do
  [[ ${IKP_CASES:-} == gcm ]] && break
  IFS='|' read -r ike swike espc swesp WANT_IKE <<<"$fam"
  n=$((n + 1))
  name=b1
  lab_charon_config "$name" version=2 local=$B1 remote=192.0.2.1 psk=$PSK proposals="$swike" \
    esp_proposals="$swesp-sha1,$swesp-sha256" local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 \
    dpd_delay=0s extra_charon="    keep_alive = 0s"
  lab_charon_start "$name"
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
  lab_charon_config b1 version=2 local=$B1 remote=192.0.2.1 psk=$PSK proposals="$swike" \
    esp_proposals="$swesp" local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 \
    dpd_delay=0s extra_charon="    keep_alive = 0s"
  lab_charon_start b1
  run_case "$LAB_WORK/a$n-gcm.cfg" "$ike" "$ts" "$want"
  lab_kill_charon b1 TERM
done
if [[ ${IKP_CASES:-} == gcm ]]; then
  echo "== summary"
  printf '  %s\n' "${SUMMARY[@]}"
  ikp_finish ikev2_dataplane
  exit $?
fi

# --- 2. on-demand liveness and failover
echo "== on-demand: dpd 10 2 on-demand, set peer B1 B2, continuous ping; B1 SIGKILLed"
for b in b1 b2; do
  ip=$B1
  [[ $b == b2 ]] && ip=$B2
  lab_charon_config "$b" version=2 local=$ip remote=192.0.2.1 psk=$PSK \
    proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 local_ts=203.0.113.0/24 \
    remote_ts=198.51.100.0/24 dpd_delay=0s extra_charon="    keep_alive = 0s"
  lab_charon_start "$b"
done
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap" "host $B1 or host $B2"
ikp_flex_config "$LAB_WORK/od.cfg" "aes-cbc-128 sha256 - 14" "esp-aes esp-sha256-hmac" "10 2 on-demand" 0 $B1 $B2
ikp_start a "$LAB_WORK/od.cfg" --debug
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "DATAPLANE: userspace ESP" 5 || lab_die "no data plane"
PING=$LAB_WORK/ping-od.txt
lab_ns_bg "$(lab_ns a-host)" "$PING" stdbuf -oL ping -D -n -i 0.2 -W 1 -w 75 203.0.113.10
PING_PID=$LAB_LAST_PID
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 ||
  { ikp_bad "od: traffic brings the tunnel up with B1"; ikp_finish ikev2_dataplane; }
lab_wait_count "$PING" "bytes from 203\.0\.113\.10" 10 10 || ikp_bad "od: ping answered through B1"
# 12 s of traffic both ways and no IKE message from B1 (dpd_delay 0s): inbound ESP is heard.
l0=$(grep -c "Sending liveness check" "$LOG")
lab_wait_for "$LOG" "Sending liveness check" 12 && true
l1=$(grep -c "Sending liveness check" "$LOG")
ikp_check "od: no liveness check during 12 s of traffic answered by B1 (ESP counts as heard; $((l1 - l0)) sent)" \
  test "$l1" = "$l0"
t_kill=$(date +%s.%3N)
lab_kill_charon b1 KILL
echo "  B1's charon SIGKILLed at $(date -d "@$t_kill" +%T.%3N); ping continues"
lab_wait_for "$LOG" "Crypto tunnel is DOWN\. Peer $B1" 30 || ikp_bad "od: ikepulse DOWN with B1"
t_seen_dead=$(date +%s.%3N)
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 8 || ikp_bad "od: traffic brings the tunnel up with B2"
resumed() {
  awk -v t="$1" '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0; if (ts > t) { f = 1; exit } }
    END { exit !f }' "$PING"
}
lab_wait_cmd 10 resumed "$t_seen_dead" || ikp_bad "od: ping resumed after the failover"
lab_stop_pid "$PING_PID"
lab_capture_stop

# (not the ICMP port unreachables B1's kernel sends once charon is gone)
last_b1=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1 && udp && !icmp" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
mapfile -t probes < <(grep -E "Sending liveness check|Liveness retry" "$LOG" | tail -5)
l_down=$(grep -m1 "Crypto tunnel is DOWN\. Peer $B1" "$LOG")
l_up2=$(grep -m1 "Crypto tunnel is UP\. Peer $B2" "$LOG")
t_down=$( [[ -n $l_down ]] && ikp_log_epoch "$l_down")
t_up2=$( [[ -n $l_up2 ]] && ikp_log_epoch "$l_up2")
read -r last_reply first_after < <(awk '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0
    if (p != "" && ts - p > g) { g = ts - p; a = p; b = ts } p = ts }
  END { if (g > 0) printf "%.6f %.6f\n", a, b }' "$PING")
ref=${last_b1:-$t_kill}
echo "== timeline"
row() { printf '  %-44s %s  (%+8.3f s from the last packet from B1)\n' "$1" "$(date -d "@$2" +%T.%3N)" "$(ikp_fsub "$2" "$ref")"; }
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

echo "== summary"
printf '  %s\n' "${SUMMARY[@]}"
ikp_finish ikev2_dataplane
