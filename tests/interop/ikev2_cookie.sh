#!/usr/bin/env bash
# ikev2_cookie.sh — IKEv2 COOKIE (RFC 7296 §2.6) against strongSwan 5.9.8, and ikepulse's
# bounded IKEv2 half-open table under a forged IKE_SA_INIT flood (DESIGN.md §6.6).
# Topology:
#   A  ikepulse   192.0.2.1    FlexVPN responder/initiator (as ikev2.sh), set peer B1 [B2]
#   B1 strongSwan 192.0.2.2    version=2, initiates toward A (cases a, c)
#   B2 strongSwan 192.0.2.3    version=2 responder with charon.cookie_threshold = 1 (case b)
#   C  strongSwan 192.0.2.4    version=2, initiates toward A during the flood (case c)
#   F  192.0.2.250             sends IKE_SA_INIT requests (tests/interop/ikev2_init_flood.py):
#                              from its own address (one half-open SA on A), or forged from
#                              10.66.0.0/24 (routed via F, which drops the answers); the
#                              half-open SA on B2 is sent from A's namespace before ikepulsed
#                              runs there (B2 knows only A's address)
# (a) A with `crypto ikev2 cookie-challenge 1`: F makes one half-open responder on A, then B1
#     initiates: A answers N(COOKIE), charon sends the request again with it, the SA comes up.
# (b) A initiates toward B2 after F made one half-open SA on B2: charon demands a cookie,
#     ikepulse sends IKE_SA_INIT again with it, the SA comes up.
# (c) B1 established with A (liveness both ways, `dpd 10 2 periodic`); F floods A with forged
#     IKE_SA_INIT (bounded count, rate and time) with `crypto ikev2 limit
#     max-in-negotation-sa 100`: A's IKEv2 half-open count stays <= 100, B1 is not declared
#     dead and keeps its SA, and C, initiating during the flood, gets in through the cookie.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
command -v python3 >/dev/null || { echo "ikev2_cookie: python3 missing"; exit 77; }
command -v jq >/dev/null || { echo "ikev2_cookie: jq missing"; exit 77; }
COUNT=${FLOOD_COUNT:-20000}
RATE=${FLOOD_RATE:-2000}
LIMIT=100
ikp_sites nohosts b1 b2
lab_gw_add c 192.0.2.4/24 203.0.114.1/24
lab_gw_add f 192.0.2.250/24
ip -n "$(lab_ns a)" route add 10.66.0.0/16 via 192.0.2.250
C=192.0.2.4
FLOOD=tests/interop/ikev2_init_flood.py

# ikev2_config FILE KEEP_UP EXTRA PEERS...: ikepulse's FlexVPN configuration (map green 10
# to the first peers; C's LAN gets entry 20 when C is listed).
ikev2_config() {
  local file=$1 keep=$2 extra=$3 p map=""
  shift 3
  for p in "$@"; do [[ $p != "$C" ]] && map+=" $p"; done
  ikp_v2_config "$file" dpd="10 2 periodic" keep_up="$keep" peers="$*" map_peers="$map" \
    entries="crypto map green 20 ipsec-isakmp
 set peer $C
 set transform-set T1
 set ikev2-profile PROF
 match address 102" extra="access-list 102 permit ip 198.51.100.0 0.0.0.255 203.0.114.0 0.0.0.255${extra:+
$extra}"
}
cac() { ikp_json a "show crypto call admission statistics" | jq -r ".$1" 2>/dev/null; }

LOGLV="default=1 ike=2 net=2 cfg=1"
ikp_swan_v2 b1 $B1 dpd_delay=10s log="$LOGLV"
ikp_swan_v2 b2 $B2 dpd_delay=30s log="$LOGLV" extra_charon="    keep_alive = 0s
    cookie_threshold = 1"
ikp_swan_v2 c $C local_ts=203.0.114.0/24 dpd_delay=30s log="$LOGLV"
L1=$(lab_charon_log b1)
L2=$(lab_charon_log b2)
LC=$(lab_charon_log c)

# --- (a) ikepulse responder, cookie-challenge 1
echo "== (a) ikepulse responder with crypto ikev2 cookie-challenge 1; one half-open SA first"
ikev2_config "$LAB_WORK/a1.cfg" 0 "crypto ikev2 cookie-challenge 1" $B1
ikp_start a "$LAB_WORK/a1.cfg" --debug
ikp_check "(a) running-config shows the command" \
  grep -q "^crypto ikev2 cookie-challenge 1$" <<<"$(ikp_cli a "show running-config")"
ip netns exec "$(lab_ns f)" timeout 10 python3 "$FLOOD" 192.0.2.1 - 0 1 1 10 5
half_is_one() { [[ $(cac ikev2_half_open) == 1 ]]; }
lab_wait_cmd 5 half_is_one || true
h=$(cac ikev2_half_open)
ikp_check "(a) one IKEv2 half-open responder on ikepulse ($h)" test "$h" = 1
ikp_swan_initiate b1
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B1" 15 || ikp_bad "(a) tunnel up with B1"
sent=$(cac ikev2_cookies_sent)
valid=$(cac ikev2_cookies_valid)
echo "  ikepulse: COOKIE sent $sent, valid $valid; charon:"
grep -E "COOKIE" "$L1" | head -4 | sed 's/^/    /'
ikp_check "(a) ikepulse sent a COOKIE ($sent) and B1's came back valid ($valid)" \
  test "$sent" -ge 1 -a "$valid" -ge 1
ikp_check "(a) charon received the COOKIE: 'parsed IKE_SA_INIT response 0 [ N(COOKIE) ]'" \
  grep -q "parsed IKE_SA_INIT response 0 \[ N(COOKIE) \]" "$L1"
ikp_check "(a) charon's second request carries it: 'generating IKE_SA_INIT request 0 [ N(COOKIE) SA KE No" \
  grep -q "generating IKE_SA_INIT request 0 \[ N(COOKIE) SA KE No" "$L1"
ikp_check "(a) strongSwan IKE_SA established" grep -q "IKE_SA lab\[[0-9]*\] established" "$L1"
ikp_check "(a) ikepulse debug: valid COOKIE" grep -q "IKE_SA_INIT with a valid COOKIE from $B1" "${IKP_LOG[a]}"
ikp_stop a
lab_wait_cmd 5 ikp_swan_idle b1 || true

# --- (b) ikepulse initiator, strongSwan demands a cookie
echo "== (b) ikepulse initiates toward B2 (charon cookie_threshold = 1, one half-open SA first)"
# The half-open SA on B2 comes from A's address (ikepulsed is stopped): charon has an IKE
# config only for 192.0.2.1 and would refuse F's request with NO_PROPOSAL_CHOSEN.
ip netns exec "$(lab_ns a)" timeout 10 python3 "$FLOOD" $B2 - 0 1 1 10 5
lab_wait_for "$L2" "generating IKE_SA_INIT response 0 \[ SA KE No" 5 ||
  ikp_bad "(b) B2 answered the IKE_SA_INIT (a half-open IKE_SA)"
ikev2_config "$LAB_WORK/a2.cfg" 1 "" $B2
ikp_start a "$LAB_WORK/a2.cfg" --debug
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B2" 20 || ikp_bad "(b) tunnel up with B2"
echo "  charon B2:"
grep -E "COOKIE" "$L2" | head -4 | sed 's/^/    /'
ikp_check "(b) ikepulse followed the COOKIE" grep -q "Received COOKIE" "${IKP_LOG[a]}"
ikp_check "(b) charon got the request with the cookie: 'parsed IKE_SA_INIT request 0 [ N(COOKIE) SA KE No" \
  grep -q "parsed IKE_SA_INIT request 0 \[ N(COOKIE) SA KE No" "$L2"
ikp_check "(b) strongSwan B2 IKE_SA established" grep -q "IKE_SA lab\[[0-9]*\] established" "$L2"
ikp_stop a
lab_wait_cmd 5 ikp_swan_idle b2 || true

# --- (c) flood while B1 is established; C initiates during it
echo "== (c) $COUNT forged IKE_SA_INIT at $RATE/s while B1 is up; limit $LIMIT; C initiates"
ikev2_config "$LAB_WORK/a3.cfg" 0 "crypto ikev2 limit max-in-negotation-sa $LIMIT
ikepulse metrics listen 127.0.0.1 9464" $B1 $C
ikp_start a "$LAB_WORK/a3.cfg"
ikp_check "(c) running-config shows the limit" \
  grep -q "^crypto ikev2 limit max-in-negotation-sa $LIMIT$" <<<"$(ikp_cli a "show running-config")"
n_up=$(grep -c "IKE_SA lab\[[0-9]*\] established" "$L1")
lab_initiate b1 net 20 || true
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B1" 15 || { ikp_bad "(c) tunnel up with B1"; ikp_finish ikev2_cookie; }
spis0=$(ikp_swan_sa b1 ike_spis)
l1=$(wc -l <"$L1")
PID=${IKP_PID[a]}
cpu() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }  # utime + stime, clock ticks
cpu0=$(cpu)
lab_gw_bg f "$LAB_WORK/flood.out" python3 "$FLOOD" 192.0.2.1 10.66.0. 1 200 "$COUNT" "$RATE" 60
FLOOD_PID=$LAB_LAST_PID
full() { local h; h=$(cac ikev2_half_open); [[ -n $h && $h != null ]] && ((h >= LIMIT)); }
lab_wait_cmd 20 full || ikp_bad "(c) the flood filled the IKEv2 half-open table ($(cac ikev2_half_open))"
echo "  half-open table full ($(cac ikev2_half_open)); C initiates"
t_c=$(date +%s.%3N)
ikp_swan_initiate c 30
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $C" 20 && ok_c=1 || ok_c=0
t_c_up=$(date +%s.%3N)
peak=0
for _ in $(seq 1 400); do
  kill -0 "$FLOOD_PID" 2>/dev/null || break
  h=$(cac ikev2_half_open)
  [[ $h =~ ^[0-9]+$ ]] && ((h > peak)) && peak=$h
  sleep 0.1
done
wait "$FLOOD_PID" 2>/dev/null
cat "$LAB_WORK/flood.out"
cpu1=$(cpu)
echo "  ikepulsed CPU during the flood: $(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }') s"
h=$(cac ikev2_half_open)
[[ $h =~ ^[0-9]+$ ]] && ((h > peak)) && peak=$h
sent=$(cac ikev2_cookies_sent)
valid=$(cac ikev2_cookies_valid)
evicted=$(cac ikev2_evicted)
echo "  ikepulse: IKEv2 half-open peak seen $peak (limit $LIMIT); COOKIE sent $sent, valid $valid; evicted $evicted"
echo "  C up $(ikp_fsub "$t_c_up" "$t_c") s after swanctl --initiate (includes polling)"
ikp_json a "show crypto call admission statistics" | jq -c . | cut -c1-400
ikp_check "(c) half-open never seen above the limit ($peak <= $LIMIT)" test "$peak" -le "$LIMIT"
ikp_check "(c) C established through the cookie" test "$ok_c" = 1
ikp_check "(c) C's charon got a COOKIE" grep -q "parsed IKE_SA_INIT response 0 \[ N(COOKIE) \]" "$LC"
ikp_check "(c) cookies sent to the flood ($sent >= $((COUNT / 2)))" test "$sent" -ge $((COUNT / 2))
ikp_check "(c) no DOWN for B1 in ikepulse's log" bash -c "! grep -q 'Crypto tunnel is DOWN. Peer $B1' '${IKP_LOG[a]}'"
spis1=$(ikp_swan_sa b1 ike_spis)
ikp_check "(c) B1 keeps the same IKE SA ($spis1)" test -n "$spis1" -a "$spis0" = "$spis1"
tail -n +"$((l1 + 1))" "$L1" >"$LAB_WORK/b1-flood.log"
ikp_check "(c) no retransmission or death in B1's charon log during the flood" \
  bash -c "! grep -Eq 'retransmit|giving up|deleting IKE_SA' '$LAB_WORK/b1-flood.log'"
ikp_check "(c) B1 still answered liveness during the flood" \
  grep -q "INFORMATIONAL" "$LAB_WORK/b1-flood.log"
m=$(ip netns exec "$(lab_ns a)" curl -s --max-time 3 http://127.0.0.1:9464/metrics)
ikp_check "(c) metrics: ikepulse_ikev2_cookies_sent_total" grep -q "^ikepulse_ikev2_cookies_sent_total [1-9]" <<<"$m"
ikp_stop a
ikp_finish ikev2_cookie
