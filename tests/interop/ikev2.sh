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
# 3. (on the SA of 2) liveness both ways for 25 s: no death; charon logs ikepulse's empty
#    INFORMATIONAL requests answered (if any: strongSwan's probe comes first, see below),
#    and its own DPD answered.
# 3b. ikepulse initiates toward B2 (dpd_delay 30s) for 25 s: ikepulse's own probes answered.
#    3b runs beside 1-3, in namespaces of its own (ikp_fork: the script again, IKP_PART=3b).
# 4. (ikepulse keep-up again, up with B1) B1 SIGKILLed: DOWN 20.0-20.5 s after the last packet
#    from B1 on A's wire; ikepulse fails over to B2 and comes UP.
# kernel-libipsec fakes its NAT-D source hash, so the IKE SA floats to 4500 (IKEV2.md §3).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_sites nohosts b1 b2
WANT_IKE=AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
WANT_ESP=ESP:AES_CBC-128/HMAC_SHA2_256_128

# ikev2_config FILE KEEP_UP PEERS...: ikepulse's FlexVPN configuration.
ikev2_config() {
  local file=$1 keep=$2
  shift 2
  ikp_v2_config "$file" dpd="10 2 periodic" keep_up="$keep" peers="$*"
}

# check_up CASE NAME: strongSwan NAME and ikepulse agree that the SA is up.
check_up() {
  local tag=$1 name=$2 st pr cs cp ts ik
  st=$(ikp_swan_sa "$name" ike_state)
  pr=$(ikp_swan_sa "$name" proposal)
  cs=$(ikp_swan_sa "$name" child_state)
  cp=$(ikp_swan_sa "$name" child_prop)
  ts=$(ikp_swan_sa "$name" ts)
  ik=$(ikp_v2_sa a status | head -1)
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

# informational FILE: "RQ_IN RS_OUT RQ_OUT RS_IN": in charon's log FILE (ike=2), the empty
# INFORMATIONAL requests it parsed (ikepulse's probes) and the responses it generated to them,
# the requests it generated (its own DPD) and the responses to them it parsed.
informational() {
  local d
  for d in "parsed INFORMATIONAL request" "generating INFORMATIONAL response" \
    "generating INFORMATIONAL request" "parsed INFORMATIONAL response"; do
    printf '%s ' "$(grep -c "$d [0-9]* \[ \]" "$1")"
  done
  echo
}

# keep_alive = 0s (ikp_swan_v2): the last packet from B1 is an IKE message. ike=2: charon logs
# every message it parses and generates. B2 runs dpd_delay 30s, so that on it only ikepulse
# probes (3b).
LOGLV="default=1 ike=2 cfg=1 net=1"
[[ ${IKP_PART:-} == 3b ]] || ikp_swan_v2 b1 $B1 dpd_delay=10s log="$LOGLV"
ikp_swan_v2 b2 $B2 dpd_delay=30s log="$LOGLV"
L1=$(lab_charon_log b1)
L2=$(lab_charon_log b2)

# --- 3b. ikepulse's own probes: B2 runs dpd_delay 30s, so only ikepulse probes (every 10 s).
# It shares nothing with 1-3 and runs beside them, in a lab of its own (ikp_fork).
if [[ ${IKP_PART:-} == 3b ]]; then
  echo "== 3b. ikepulse initiates toward B2 (strongSwan dpd_delay 30s): ikepulse's probes, 25 s"
  ikev2_config "$LAB_WORK/a3.cfg" 1 $B2
  ikp_start a "$LAB_WORK/a3.cfg" --debug
  lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B2" 15 || ikp_bad "3b: tunnel up with B2"
  l3=$(wc -l <"$L2")
  lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is DOWN" 25 && ikp_bad "3b: ikepulse logged DOWN during 25 s"
  tail -n +"$((l3 + 1))" "$L2" >"$LAB_WORK/b2-liveness.log"
  read -r rq_in rs_out rq_out _ <<<"$(informational "$LAB_WORK/b2-liveness.log")"
  n_ikp=$(grep -c "Sending liveness check" "${IKP_LOG[a]}")
  n_retry=$(grep -c "Liveness retry" "${IKP_LOG[a]}")
  echo "  ikepulse sent $n_ikp liveness checks ($n_retry retries); strongSwan parsed $rq_in empty INFORMATIONAL requests, answered $rs_out, sent $rq_out of its own"
  ikp_check "3b: ikepulse's empty INFORMATIONAL requests answered by strongSwan ($rq_in/$rs_out, >= 2)" \
    test "$rq_in" -ge 2 -a "$rs_out" -ge "$rq_in"
  ikp_check "3b: no liveness retry by ikepulse ($n_retry)" test "$n_retry" = 0
  ikp_check "3b: ikepulse still READY" grep -q READY <<<"$(ikp_v2_sa a status)"
  ikp_stop a
  ikp_finish ikev2-3b
fi
ikp_fork 3b

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
lab_wait_cmd 5 ikp_swan_idle b1 || true

# --- 2. strongSwan initiates, 3. liveness both ways
echo "== 2. strongSwan B1 initiates (swanctl --initiate), ikepulse responds"
ikev2_config "$LAB_WORK/a2.cfg" 0 $B1
ikp_start a "$LAB_WORK/a2.cfg" --debug
ikp_swan_initiate b1
ok=1
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B1" 15 || ok=0
ikp_check "2: both sides logged the tunnel up" test $ok = 1
ikp_check "2: strongSwan initiated: 'initiating IKE_SA'" grep -q "initiating IKE_SA lab" "$L1"
check_up 2 b1
l_up=$(grep -m1 "Crypto tunnel is UP\. Peer $B1" "${IKP_LOG[a]}")
ikp_check "2: ikepulse's UP line carries port 4500 (strongSwan floated): ${l_up#*: }" \
  grep -q "Peer $B1:4500 Id: $B1" <<<"$l_up"
spis0=$(ikp_swan_sa b1 ike_spis)
# 25 s: strongSwan's probes at about +10 and +20 s, and the whole of a death verdict (+20 s)
# had the first gone unanswered; an unanswered probe shows as a retransmission 4 s later.
echo "== 3. liveness both ways, 25 s (ikepulse dpd 10 2 periodic, strongSwan dpd_delay 10s)"
t3=$(date +%s)
l3=$(wc -l <"$L1")
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is DOWN" 25 && ikp_bad "3: ikepulse logged DOWN during 25 s"
tail -n +"$((l3 + 1))" "$L1" >"$LAB_WORK/b1-liveness.log"
echo "  waited $(($(date +%s) - t3)) s"
spis1=$(ikp_swan_sa b1 ike_spis)
ikp_check "3: same strongSwan IKE SA after 25 s ($spis1)" test -n "$spis1" -a "$spis0" = "$spis1"
ikp_check "3: ikepulse still READY" grep -q READY <<<"$(ikp_v2_sa a status)"
# charon (ike=2): "parsed INFORMATIONAL request N [ ]" then "generating INFORMATIONAL response N [ ]"
# for ikepulse's probes; "generating INFORMATIONAL request N [ ]" then "parsed INFORMATIONAL
# response N [ ]" for its own.
read -r rq_in rs_out rq_out rs_in <<<"$(informational "$LAB_WORK/b1-liveness.log")"
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
lab_wait_cmd 5 ikp_swan_idle b1 || true
ikp_join 3b

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
lab_wait_for "$L2" "CHILD_SA .* established" 5 || ikp_bad "4: B2 CHILD_SA established"
lab_capture_stop
last_b1=$(ikp_pcap_last "$LAB_WORK/a.pcap" "ip.src==$B1")
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
