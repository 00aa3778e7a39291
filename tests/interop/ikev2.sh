#!/usr/bin/env bash
# ikev2.sh — ikepulse <-> strongSwan 5.9.8 charon with `version = 2` (PSK): the first live
# IKEv2 test (issue #11). Topology (as failover.sh):
#   A  ikepulse   192.0.2.1  LAN 198.51.100.0/24  FlexVPN: proposal aes-cbc-128/sha256/14,
#                                                  profile `dpd 10 2 periodic`, transform set
#                                                  esp-aes esp-sha256-hmac, crypto map entry
#                                                  `set ikev2-profile`, set peer B1, B2
#   B1 strongSwan 192.0.2.2  LAN 203.0.113.0/24   aes128-sha256-modp2048, ESP aes128-sha256,
#   B2 strongSwan 192.0.2.3  LAN 203.0.113.0/24   keep_alive 0s; dpd_delay B1 10s, B2 30s
# 1. ikepulse initiates (keep-up) with B1: strongSwan ESTABLISHED / INSTALLED, ikepulse READY.
# 2. strongSwan B1 initiates (swanctl --initiate) toward ikepulse without keep-up: both up.
# 3. (on the SA of 2) liveness both ways for 40 s: no death; charon logs ikepulse's empty
#    INFORMATIONAL requests answered (if any: strongSwan's probe comes first, see below),
#    and its own DPD answered.
# 3b. ikepulse initiates toward B2 (dpd_delay 30s) for 25 s: ikepulse's own probes answered.
# 4. (ikepulse keep-up again, up with B1) B1 SIGKILLed: DOWN 20.0-20.5 s after the last packet
#    from B1 on A's wire; ikepulse fails over to B2 and comes UP.
# kernel-libipsec fakes its NAT-D source hash, so the IKE SA floats to 4500 (IKEV2.md §3).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b1 192.0.2.2/24 203.0.113.1/24
lab_gw_add b2 192.0.2.3/24 203.0.113.1/24
PSK=lab-secret-not-for-production
B1=192.0.2.2
B2=192.0.2.3
WANT_IKE=AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
WANT_ESP=ESP:AES_CBC-128/HMAC_SHA2_256_128

# ikev2_config FILE KEEP_UP PEERS...: ikepulse's FlexVPN configuration.
ikev2_config() {
  local file=$1 keep=$2 p
  shift 2
  {
    echo "hostname A"
    echo "crypto ikev2 proposal PROP"
    echo " encryption aes-cbc-128"
    echo " integrity sha256"
    echo " group 14"
    echo "crypto ikev2 policy POL"
    echo " proposal PROP"
    echo "crypto ikev2 keyring KR"
    for p in "$@"; do
      echo " peer p$p"
      echo "  address $p"
      echo "  pre-shared-key $PSK"
    done
    echo "crypto ikev2 profile PROF"
    for p in "$@"; do echo " match identity remote address $p 255.255.255.255"; done
    echo " authentication remote pre-share"
    echo " authentication local pre-share"
    echo " keyring local KR"
    echo " dpd 10 2 periodic"
    echo "crypto ipsec transform-set T1 esp-aes esp-sha256-hmac"
    echo " mode tunnel"
    echo "crypto map green 10 ipsec-isakmp"
    for p in "$@"; do echo " set peer $p"; done
    echo " set transform-set T1"
    echo " set ikev2-profile PROF"
    echo " match address 101"
    if [[ $keep == 1 ]]; then echo " ikepulse keep-up"; fi
    echo "interface wan0"
    echo " ip address 192.0.2.1 255.255.255.0"
    echo " crypto map green"
    echo "access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255"
  } >"$file"
}

# v2_swan NAME FIELD: one field of the first IKEv2 SA in `swanctl --list-sas`.
v2_swan() {
  local out
  out=$(lab_list_sas "$1" 2>/dev/null) || return 1
  case $2 in
    ike_state) awk '/IKEv2/ { gsub(",", "", $3); print $3; exit }' <<<"$out" ;;
    proposal) awk '/IKEv2/ { f = 1; next } f && /^  [A-Z0-9_]+[-\/]/ { print $1; exit }' <<<"$out" ;;
    child_state) awk '/reqid/ { gsub(",", "", $5); print $5; exit }' <<<"$out" ;;
    child_prop) awk '/reqid/ { gsub(",", "", $7); print $7; exit }' <<<"$out" ;;
    ts) awk '$1 == "local" && $2 ~ /\// { l = $2 } $1 == "remote" && $2 ~ /\// { print l " === " $2; exit }' <<<"$out" ;;
    ike_spis) awk '/IKEv2/ { print $5, $6; exit }' <<<"$out" ;;
    count) grep -c "IKEv2" <<<"$out" || true ;;
  esac
}
# v2_ikp_status: "STATUS REMOTE" per ikepulse IKEv2 SA.
v2_ikp_status() {
  ikp_json a "show crypto ikev2 sa" | jq -r '.ikev2_sas[]? | "\(.status) \(.remote // .remote_address // "")"' 2>/dev/null
}

# check_up CASE NAME: strongSwan NAME and ikepulse agree that the SA is up.
check_up() {
  local tag=$1 name=$2 st pr cs cp ts ik
  st=$(v2_swan "$name" ike_state)
  pr=$(v2_swan "$name" proposal)
  cs=$(v2_swan "$name" child_state)
  cp=$(v2_swan "$name" child_prop)
  ts=$(v2_swan "$name" ts)
  ik=$(v2_ikp_status | head -1)
  printf '  strongSwan %s: IKE %s %s; CHILD %s %s TS %s\n' "$name" "$st" "$pr" "$cs" "$cp" "$ts"
  printf '  ikepulse: %s\n' "$ik"
  ikp_cli a "show crypto ikev2 sa" | sed 's/^/    /'
  ikp_check "$tag: strongSwan IKE SA ESTABLISHED" test "$st" = ESTABLISHED
  ikp_check "$tag: strongSwan IKE proposal $WANT_IKE" test "$pr" = "$WANT_IKE"
  ikp_check "$tag: strongSwan CHILD_SA INSTALLED" test "$cs" = INSTALLED
  ikp_check "$tag: CHILD_SA $WANT_ESP" grep -q "^$WANT_ESP" <<<"$cp"
  ikp_check "$tag: TS 203.0.113.0/24 === 198.51.100.0/24" test "$ts" = "203.0.113.0/24 === 198.51.100.0/24"
  ikp_check "$tag: ikepulse show crypto ikev2 sa READY" grep -q "READY" <<<"$ik"
}

for b in b1 b2; do
  ip=$B1 dpd=10s
  [[ $b == b2 ]] && ip=$B2 dpd=30s
  # keep_alive = 0s: no NAT-T keepalives (kernel-libipsec fakes a NAT), so the last packet
  # from B1 is an IKE message. ike=2: charon logs every message it parses and generates.
  lab_charon_config "$b" version=2 local=$ip remote=192.0.2.1 psk=$PSK \
    proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 local_ts=203.0.113.0/24 \
    remote_ts=198.51.100.0/24 dpd_delay=$dpd log="default=1 ike=2 cfg=1 net=1" \
    extra_charon="    keep_alive = 0s"
  lab_charon_start "$b"
done
L1=$(lab_charon_log b1)

# --- 1. ikepulse initiates
echo "== 1. ikepulse initiates (keep-up) toward B1"
ikev2_config "$LAB_WORK/a1.cfg" 1 $B1
ikp_start a "$LAB_WORK/a1.cfg" --debug
ok=1
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B1" 15 || ok=0
lab_wait_for "$L1" "CHILD_SA .* established" 10 || ok=0
ikp_check "1: both sides logged the tunnel up" test $ok = 1
ikp_check "1: strongSwan: IKE_SA established (responder)" grep -q "IKE_SA lab\[[0-9]*\] established between 192.0.2.2\[192.0.2.2\]...192.0.2.1\[192.0.2.1\]" "$L1"
check_up 1 b1
ikp_check "1: strongSwan saw the NAT (kernel-libipsec) and ikepulse floated to 4500" \
  grep -q "received packet: from 192.0.2.1\[4500\]" "$L1"
ikp_stop a
lab_wait_for "$L1" "received DELETE for IKE_SA" 5 || true
lab_wait_cmd 5 bash -c "[[ \$(STRONGSWAN_CONF=$(lab_charon_dir b1)/strongswan.conf swanctl --list-sas --uri unix://$(lab_charon_dir b1)/run/charon.vici | grep -c IKEv2) == 0 ]]" || true

# --- 2. strongSwan initiates, 3. liveness both ways
echo "== 2. strongSwan B1 initiates (swanctl --initiate), ikepulse responds"
ikev2_config "$LAB_WORK/a2.cfg" 0 $B1
ikp_start a "$LAB_WORK/a2.cfg" --debug
n_est=$(grep -c "IKE_SA lab\[[0-9]*\] established" "$L1")
lab_initiate b1 net 20 || echo "  (swanctl --initiate returned non-zero: $(tail -1 "$(lab_charon_dir b1)/initiate.out"))"
ok=1
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B1" 15 || ok=0
ikp_check "2: both sides logged the tunnel up" test $ok = 1
ikp_check "2: strongSwan initiated: 'initiating IKE_SA'" grep -q "initiating IKE_SA lab" "$L1"
check_up 2 b1
l_up=$(grep -m1 "Crypto tunnel is UP\. Peer $B1" "${IKP_LOG[a]}")
ikp_check "2: ikepulse's UP line carries port 4500 (strongSwan floated): ${l_up#*: }" \
  grep -q "Peer $B1:4500 Id: $B1" <<<"$l_up"
spis0=$(v2_swan b1 ike_spis)
echo "== 3. liveness both ways, 40 s (ikepulse dpd 10 2 periodic, strongSwan dpd_delay 10s)"
t3=$(date +%s)
l3=$(wc -l <"$L1")
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is DOWN" 40 && ikp_bad "3: ikepulse logged DOWN during 40 s"
tail -n +"$((l3 + 1))" "$L1" >"$LAB_WORK/b1-liveness.log"
echo "  waited $(($(date +%s) - t3)) s"
spis1=$(v2_swan b1 ike_spis)
ikp_check "3: same strongSwan IKE SA after 40 s ($spis1)" test -n "$spis1" -a "$spis0" = "$spis1"
ikp_check "3: ikepulse still READY" grep -q READY <<<"$(v2_ikp_status)"
# charon (ike=2): "parsed INFORMATIONAL request N [ ]" then "generating INFORMATIONAL response N [ ]"
# for ikepulse's probes; "generating INFORMATIONAL request N [ ]" then "parsed INFORMATIONAL
# response N [ ]" for its own.
rq_in=$(grep -c "parsed INFORMATIONAL request [0-9]* \[ \]" "$LAB_WORK/b1-liveness.log")
rs_out=$(grep -c "generating INFORMATIONAL response [0-9]* \[ \]" "$LAB_WORK/b1-liveness.log")
rq_out=$(grep -c "generating INFORMATIONAL request [0-9]* \[ \]" "$LAB_WORK/b1-liveness.log")
rs_in=$(grep -c "parsed INFORMATIONAL response [0-9]* \[ \]" "$LAB_WORK/b1-liveness.log")
echo "  strongSwan: ikepulse's probes parsed $rq_in, answered $rs_out; its own sent $rq_out, answers parsed $rs_in"
# Both probe every 10 s: strongSwan times its probe from its own last send (1-s clock),
# ikepulse from the last message received, so strongSwan's probe arrives just before ikepulse's
# is due and ikepulse, having heard from the peer within the interval, sends none (periodic:
# "unless a message was received within the interval"). Any it sends must be answered.
ikp_check "3: ikepulse's probes (if any) answered by strongSwan ($rq_in/$rs_out)" test "$rs_out" -ge "$rq_in"
ikp_check "3: strongSwan's DPD answered by ikepulse ($rq_out/$rs_in)" test "$rq_out" -ge 1 -a "$rs_in" -ge "$rq_out"
ikp_check "3: no retransmission or death in charon's log" \
  bash -c "! grep -Eq 'retransmit|giving up|deleting IKE_SA' '$LAB_WORK/b1-liveness.log'"
ikp_stop a
lab_wait_cmd 5 bash -c "[[ \$(STRONGSWAN_CONF=$(lab_charon_dir b1)/strongswan.conf swanctl --list-sas --uri unix://$(lab_charon_dir b1)/run/charon.vici | grep -c IKEv2) == 0 ]]" || true

# --- 3b. ikepulse's own probes: B2 runs dpd_delay 30s, so only ikepulse probes (every 10 s)
echo "== 3b. ikepulse initiates toward B2 (strongSwan dpd_delay 30s): ikepulse's probes, 25 s"
L2=$(lab_charon_log b2)
ikev2_config "$LAB_WORK/a3.cfg" 1 $B2
ikp_start a "$LAB_WORK/a3.cfg" --debug
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B2" 15 || ikp_bad "3b: tunnel up with B2"
l3=$(wc -l <"$L2")
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is DOWN" 25 && ikp_bad "3b: ikepulse logged DOWN during 25 s"
tail -n +"$((l3 + 1))" "$L2" >"$LAB_WORK/b2-liveness.log"
rq_in=$(grep -c "parsed INFORMATIONAL request [0-9]* \[ \]" "$LAB_WORK/b2-liveness.log")
rs_out=$(grep -c "generating INFORMATIONAL response [0-9]* \[ \]" "$LAB_WORK/b2-liveness.log")
rq_out=$(grep -c "generating INFORMATIONAL request [0-9]* \[ \]" "$LAB_WORK/b2-liveness.log")
n_ikp=$(grep -c "Sending liveness check" "${IKP_LOG[a]}")
n_retry=$(grep -c "Liveness retry" "${IKP_LOG[a]}")
echo "  ikepulse sent $n_ikp liveness checks ($n_retry retries); strongSwan parsed $rq_in empty INFORMATIONAL requests, answered $rs_out, sent $rq_out of its own"
ikp_check "3b: ikepulse's empty INFORMATIONAL requests answered by strongSwan ($rq_in/$rs_out, >= 2)" \
  test "$rq_in" -ge 2 -a "$rs_out" -ge "$rq_in"
ikp_check "3b: no liveness retry by ikepulse ($n_retry)" test "$n_retry" = 0
ikp_check "3b: ikepulse still READY" grep -q READY <<<"$(v2_ikp_status)"
ikp_stop a
lab_wait_cmd 5 bash -c "[[ \$(STRONGSWAN_CONF=$(lab_charon_dir b2)/strongswan.conf swanctl --list-sas --uri unix://$(lab_charon_dir b2)/run/charon.vici | grep -c IKEv2) == 0 ]]" || true

# --- 4. B1 SIGKILLed, failover to B2
echo "== 4. ikepulse keep-up, set peer B1 B2; B1 SIGKILLed"
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
ikev2_config "$LAB_WORK/a4.cfg" 1 $B1 $B2
ikp_start a "$LAB_WORK/a4.cfg" --debug
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 || { ikp_bad "4: tunnel up with B1"; ikp_finish ikev2; }
# Let one liveness exchange happen first so the last packet from B1 is an IKE message after
# the set-up: wait for the next INFORMATIONAL charon logs after the IKE_SA came up.
l4=$(wc -l <"$L1")
lab_wait_cmd 15 bash -c "tail -n +$((l4 + 1)) '$L1' | grep -q 'INFORMATIONAL'" || ikp_bad "4: a liveness exchange with B1 before the kill"
lab_wait_cmd 3 bash -c "tail -n +$((l4 + 1)) '$L1' | grep -q 'INFORMATIONAL response'" || true
t_kill=$(date +%s.%3N)
lab_kill_charon b1 KILL
echo "  B1's charon SIGKILLed at $(date -d "@$t_kill" +%T.%3N)"
lab_wait_for "$LOG" "Crypto tunnel is DOWN\. Peer $B1" 35 || ikp_bad "4: ikepulse DOWN with B1"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 10 || ikp_bad "4: ikepulse UP with B2"
lab_wait_for "$(lab_charon_log b2)" "CHILD_SA .* established" 5 || ikp_bad "4: B2 CHILD_SA established"
lab_capture_stop
last_b1=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
after_kill=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1 && frame.time_epoch > $t_kill" 2>/dev/null | wc -l)
l_down=$(grep -m1 "Crypto tunnel is DOWN\. Peer $B1" "$LOG")
l_up2=$(grep -m1 "Crypto tunnel is UP\. Peer $B2" "$LOG")
t_down=$( [[ -n $l_down ]] && ikp_log_epoch "$l_down")
t_up2=$( [[ -n $l_up2 ]] && ikp_log_epoch "$l_up2")
n_probe=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.dst==$B1 && frame.time_epoch > ${last_b1:-0}" 2>/dev/null | wc -l)
probe_t=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.dst==$B1 && frame.time_epoch > ${last_b1:-0}" -T fields -e frame.time_epoch 2>/dev/null |
  awk -v t0="${last_b1:-0}" '{ printf "+%.3f ", $1 - t0 }')
echo "== timeline"
printf '  SIGKILL B1                       %s\n' "$t_kill"
printf '  last packet from B1 on A'"'"'s wire  %s (%s packets after the kill)\n' "${last_b1:-?}" "$after_kill"
printf '  packets to B1 after it           %s\n' "$probe_t"
printf '  DOWN (ikepulse log)              %s  %s\n' "${t_down:-?}" "${l_down#*: }"
if [[ -n $last_b1 && -n $t_down ]]; then
  det=$(ikp_fsub "$t_down" "$last_b1")
  echo "  DOWN $det s after the last packet from B1 ($(ikp_fsub "$t_down" "$t_kill") s after SIGKILL)"
  ikp_check "4: DOWN $det s after the last packet from B1, within [$IKP_DEAD_MIN, $IKP_DEAD_MAX]" \
    ikp_fcmp "$det >= $IKP_DEAD_MIN && $det <= $IKP_DEAD_MAX"
else
  ikp_bad "4: DOWN delay measurable"
fi
ikp_check "4: probe + 4 retransmissions to B1 after its last packet ($n_probe)" test "$n_probe" -ge 5
if [[ -n $t_up2 && -n $t_down ]]; then
  d=$(ikp_fsub "$t_up2" "$t_down")
  ikp_check "4: UP with B2 $d s after DOWN (<= 1.0)" ikp_fcmp "$d >= 0 && $d <= 1.0"
fi
check_up 4 b2
ikp_stop a
ikp_finish ikev2
