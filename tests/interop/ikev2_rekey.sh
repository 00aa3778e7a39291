#!/usr/bin/env bash
# ikev2_rekey.sh — IKEv2 CREATE_CHILD_SA rekeys between ikepulse and strongSwan 5.9.8 charon
# (PSK, kernel-libipsec, in namespaces). Topology:
#   A  ikepulse   192.0.2.1  LAN 198.51.100.0/24  FlexVPN as tests/interop/ikev2.sh
#                                                  (aes-cbc-128/sha256/14, esp-aes
#                                                  esp-sha256-hmac, dpd 10 2 periodic)
#   B  strongSwan 192.0.2.2  LAN 203.0.113.0/24   aes128-sha256-modp2048, ESP aes128-sha256
# 1. strongSwan initiates with IKE rekey_time 40s and CHILD rekey_time 25s (rand_time 0s, so
#    the instants are known): ikepulse answers the Child SA rekey (~25 s) and the IKE SA rekey
#    (~40 s); both sides end with one IKE SA and one Child SA, new SPIs on both sides, the old
#    SAs gone, no retransmission or give-up in charon's log, and liveness (both sides' DPD)
#    going on over the new IKE SA.
# 2. ikepulse initiates with `lifetime 120` in the profile and `set security-association
#    lifetime seconds 120` on the entry (the IOS minimums; strongSwan's own rekeys are hours
#    away): ikepulse rekeys the Child SA at 120 - 30 = 90 s and the IKE SA at 9/10 of 120 =
#    108 s after it came up; the same checks. This part takes about two minutes; set
#    IKP_REKEY_SHORT=1 to run part 1 only.
# IKP_REKEY_PFS=1: both sides with PFS on the Child SA rekeys (ikepulse `set pfs group14`,
# strongSwan esp_proposals aes128-sha256-modp2048): KE payloads in every Child SA rekey.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24
PSK=lab-secret-not-for-production
B=192.0.2.2
PFS=${IKP_REKEY_PFS:-0}
ESP=aes128-sha256
[[ $PFS == 1 ]] && ESP=aes128-sha256-modp2048

# rekey_config FILE KEEP_UP LIFETIMES(0|1)
rekey_config() {
  local file=$1 keep=$2 life=$3
  {
    echo "hostname A"
    echo "crypto ikev2 proposal PROP"
    echo " encryption aes-cbc-128"
    echo " integrity sha256"
    echo " group 14"
    echo "crypto ikev2 policy POL"
    echo " proposal PROP"
    echo "crypto ikev2 keyring KR"
    echo " peer pB"
    echo "  address $B"
    echo "  pre-shared-key $PSK"
    echo "crypto ikev2 profile PROF"
    echo " match identity remote address $B 255.255.255.255"
    echo " authentication remote pre-share"
    echo " authentication local pre-share"
    echo " keyring local KR"
    echo " dpd 10 2 periodic"
    if [[ $life == 1 ]]; then echo " lifetime 120"; fi
    echo "crypto ipsec transform-set T1 esp-aes esp-sha256-hmac"
    echo " mode tunnel"
    echo "crypto map green 10 ipsec-isakmp"
    echo " set peer $B"
    echo " set transform-set T1"
    if [[ $PFS == 1 ]]; then echo " set pfs group14"; fi
    echo " set ikev2-profile PROF"
    if [[ $life == 1 ]]; then echo " set security-association lifetime seconds 120"; fi
    echo " match address 101"
    if [[ $keep == 1 ]]; then echo " ikepulse keep-up"; fi
    echo "interface wan0"
    echo " ip address 192.0.2.1 255.255.255.0"
    echo " crypto map green"
    echo "access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255"
  } >"$file"
}

# swan_ike_spis: "SPIi SPIr" of strongSwan's IKEv2 SAs, one line each.
swan_ike_spis() {
  lab_list_sas b 2>/dev/null | awk '/IKEv2/ { s = $5 " " $6; gsub(/_[ir]\*?/, "", s); print s }'
}
# swan_child_spis: "in out" ESP SPIs of strongSwan's Child SAs, one line each.
swan_child_spis() {
  lab_list_sas b 2>/dev/null | awk '$1 == "in" && $2 ~ /^[0-9a-f]+,?$/ { i = $2 }
    $1 == "out" && $2 ~ /^[0-9a-f]+,?$/ { o = $2; gsub(",", "", i); gsub(",", "", o); print i, o }'
}
# ikp_sa FIELD: a field of ikepulse's (first) IKEv2 SA.
ikp_sa() { ikp_json a "show crypto ikev2 sa" | jq -r ".ikev2_sas[0].$1 // empty" 2>/dev/null; }
ikp_sa_count() { ikp_json a "show crypto ikev2 sa" | jq -r '.ikev2_sas | length' 2>/dev/null; }
ikp_child_spis() {
  ikp_json a "show crypto ikev2 sa" |
    jq -r '.ikev2_sas[0].children[]? | "\(.spi_in) \(.spi_out)"' 2>/dev/null
}
lc() { tr 'A-F' 'a-f'; }

# check_after TAG IKE0 CHILD0: after the rekeys, one IKE SA and one Child SA on both sides,
# with SPIs other than IKE0 / CHILD0 and agreeing between the two.
check_after() {
  local tag=$1 ike0=$2 child0=$3 ike1 child1 ikp_l ikp_r ikp_children hex_in hex_out
  lab_wait_cmd 15 bash -c "[[ \$(STRONGSWAN_CONF=$(lab_charon_dir b)/strongswan.conf swanctl --list-sas --uri unix://$(lab_charon_dir b)/run/charon.vici | grep -c reqid) == 1 ]]" ||
    ikp_bad "$tag: strongSwan down to one CHILD_SA within 15 s"
  ike1=$(swan_ike_spis)
  child1=$(swan_child_spis)
  ikp_l=$(ikp_sa spi_local | lc)
  ikp_r=$(ikp_sa spi_remote | lc)
  ikp_children=$(ikp_child_spis)
  echo "  strongSwan IKE SPIs: before [$ike0] after [$ike1]"
  echo "  strongSwan CHILD SPIs (in out): before [$child0] after [$child1]"
  echo "  ikepulse IKE SPIs local/remote: $ikp_l / $ikp_r; Child SAs (in out, decimal): [$ikp_children]"
  ikp_check "$tag: strongSwan has one IKEv2 SA" test "$(wc -l <<<"$ike1")" = 1
  ikp_check "$tag: strongSwan has one CHILD_SA" test "$(wc -l <<<"$child1")" = 1
  ikp_check "$tag: ikepulse has one IKEv2 SA" test "$(ikp_sa_count)" = 1
  ikp_check "$tag: ikepulse has one Child SA" test "$(wc -l <<<"$ikp_children")" = 1
  ikp_check "$tag: IKE SPIs changed" test -n "$ike1" -a "$ike1" != "$ike0"
  ikp_check "$tag: CHILD SPIs changed" test -n "$child1" -a "$child1" != "$child0"
  ikp_check "$tag: ikepulse's IKE SPIs are strongSwan's ($ike1)" \
    grep -q -e "$ikp_l" <<<"$ike1"
  ikp_check "$tag: ... both of them" grep -q -e "$ikp_r" <<<"$ike1"
  read -r hex_in hex_out <<<"$(awk '{ printf "%08x %08x\n", $1, $2 }' <<<"$ikp_children")"
  ikp_check "$tag: ikepulse's Child SA is strongSwan's (in $hex_in = its out, out $hex_out = its in)" \
    test "$child1" = "$hex_out $hex_in"
  ikp_check "$tag: ikepulse READY" test "$(ikp_sa status)" = READY
}

lab_charon_config b version=2 local=$B remote=192.0.2.1 psk=$PSK \
  proposals=aes128-sha256-modp2048 esp_proposals=$ESP local_ts=203.0.113.0/24 \
  remote_ts=198.51.100.0/24 dpd_delay=10s rekey_time=40s log="default=1 ike=2 cfg=1 net=1 chd=1" \
  extra_charon="    keep_alive = 0s"
# The instants: no random part (rand_time), and the Child SA's own rekey_time.
SW=$(lab_charon_dir b)/swanctl.conf
sed -i -e 's/^\( *\)rekey_time = 40s$/&\n\1rand_time = 0s/' \
  -e 's/^\( *\)esp_proposals = \(.*\)$/&\n\1rekey_time = 25s\n\1rand_time = 0s/' "$SW"
grep -q "rekey_time = 25s" "$SW" && grep -q "rand_time = 0s" "$SW" || lab_die "swanctl.conf edit failed"
lab_charon_start b
LB=$(lab_charon_log b)

# --- 1. strongSwan rekeys, ikepulse answers
echo "== 1. strongSwan initiates (IKE rekey_time 40s, CHILD rekey_time 25s), ikepulse answers"
rekey_config "$LAB_WORK/a1.cfg" 0 0
ikp_start a "$LAB_WORK/a1.cfg" --debug
LOG=${IKP_LOG[a]}
lab_initiate b net 20 || echo "  (swanctl --initiate returned non-zero)"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B" 15 || { ikp_bad "1: tunnel up"; ikp_finish ikev2_rekey; }
t_up=$(date +%s.%3N)
ike0=$(swan_ike_spis)
child0=$(swan_child_spis)
echo "  up at $(date -d "@$t_up" +%T.%3N); IKE SPIs [$ike0], CHILD SPIs [$child0]"
l1=$(wc -l <"$LB")
lab_wait_for "$LOG" "Rekeying Child SA .* for the peer" 35 || ikp_bad "1: ikepulse answered a Child SA rekey within 35 s"
t_child=$(date +%s.%3N)
lab_wait_for "$LOG" "Rekeying the IKE SA for the peer" 30 || ikp_bad "1: ikepulse answered an IKE SA rekey within 55 s"
t_ike=$(date +%s.%3N)
lab_wait_for "$LOG" "Received DELETE for the old IKE SA" 10 || ikp_bad "1: strongSwan deleted the old IKE SA"
echo "  Child SA rekey answered $(ikp_fsub "$t_child" "$t_up") s after up, IKE SA rekey $(ikp_fsub "$t_ike" "$t_up") s after up (wait granularity 25 ms)"
check_after 1 "$ike0" "$child0"
echo "  liveness over the new IKE SA: 25 s"
l1b=$(wc -l <"$LB")
lab_wait_for "$LOG" "Crypto tunnel is DOWN" 25 && ikp_bad "1: ikepulse logged DOWN after the rekeys"
tail -n +"$((l1 + 1))" "$LB" >"$LAB_WORK/b-part1.log"
tail -n +"$((l1b + 1))" "$LB" >"$LAB_WORK/b-part1-after.log"
# Liveness either way over the new IKE SA (whichever side's probe comes first; see ikev2.sh):
# strongSwan's own (answered by ikepulse) or ikepulse's (answered by strongSwan).
own=$(grep -c "parsed INFORMATIONAL response [0-9]* \[ \]" "$LAB_WORK/b-part1-after.log")
ikps=$(grep -c "parsed INFORMATIONAL request [0-9]* \[ \]" "$LAB_WORK/b-part1-after.log")
ikpa=$(grep -c "generating INFORMATIONAL response [0-9]* \[ \]" "$LAB_WORK/b-part1-after.log")
echo "  after the rekeys: strongSwan's probes answered $own; ikepulse's probes parsed $ikps, answered $ikpa"
ikp_check "1: liveness exchanges over the new IKE SA ($((own + ikpa)) in 25 s, all answered)" \
  test $((own + ikpa)) -ge 1 -a "$ikpa" -ge "$ikps"
ikp_check "1: charon: CREATE_CHILD_SA responses parsed" grep -q "parsed CREATE_CHILD_SA response" "$LAB_WORK/b-part1.log"
ikp_check "1: no retransmission, give-up or error notify in charon's log" \
  bash -c "! grep -Eiq 'retransmit|giving up|NO_PROP|TS_UNACC|INVALID_KE|TEMPORARY_FAILURE|CHILD_SA_NOT_FOUND|failed' '$LAB_WORK/b-part1.log'"
ikp_check "1: ikepulse still READY" test "$(ikp_sa status)" = READY
ikp_stop a
lab_wait_cmd 5 bash -c "[[ \$(STRONGSWAN_CONF=$(lab_charon_dir b)/strongswan.conf swanctl --list-sas --uri unix://$(lab_charon_dir b)/run/charon.vici | grep -c IKEv2) == 0 ]]" || true

if [[ ${IKP_REKEY_SHORT:-0} == 1 ]]; then
  echo "== 2. skipped (IKP_REKEY_SHORT=1)"
  ikp_finish ikev2_rekey
fi

# --- 2. ikepulse rekeys on its lifetimes, strongSwan answers
echo "== 2. ikepulse initiates (lifetime 120 / set security-association lifetime seconds 120)"
lab_kill_charon b TERM 2>/dev/null || true
lab_charon_config b version=2 local=$B remote=192.0.2.1 psk=$PSK \
  proposals=aes128-sha256-modp2048 esp_proposals=$ESP local_ts=203.0.113.0/24 \
  remote_ts=198.51.100.0/24 dpd_delay=10s log="default=1 ike=2 cfg=1 net=1 chd=1" \
  extra_charon="    keep_alive = 0s"
lab_charon_start b
LB=$(lab_charon_log b)
rekey_config "$LAB_WORK/a2.cfg" 1 1
ikp_start a "$LAB_WORK/a2.cfg" --debug
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B" 15 || { ikp_bad "2: tunnel up"; ikp_finish ikev2_rekey; }
l_up=$(grep -m1 "Crypto tunnel is UP\. Peer $B" "$LOG")
t_up=$(ikp_log_epoch "$l_up")
ike0=$(swan_ike_spis)
child0=$(swan_child_spis)
echo "  up at $(date -d "@$t_up" +%T.%3N); IKE SPIs [$ike0], CHILD SPIs [$child0]"
l2=$(wc -l <"$LB")
lab_wait_for "$LOG" "Child SA rekeyed" 100 || ikp_bad "2: ikepulse rekeyed the Child SA within 100 s"
lab_wait_for "$LOG" "IKE SA rekeyed \(by us\)" 25 || ikp_bad "2: ikepulse rekeyed the IKE SA within 125 s"
lab_wait_for "$LOG" "old IKE SA deleted" 10 || ikp_bad "2: strongSwan answered the Delete of the old IKE SA"
l_c=$(grep -m1 "Sending CREATE_CHILD_SA request to rekey Child SA" "$LOG")
l_i=$(grep -m1 "Sending CREATE_CHILD_SA request to rekey the IKE SA" "$LOG")
if [[ -n $l_c && -n $l_i ]]; then
  d_c=$(ikp_fsub "$(ikp_log_epoch "$l_c")" "$t_up")
  d_i=$(ikp_fsub "$(ikp_log_epoch "$l_i")" "$t_up")
  echo "  Child SA rekey request $d_c s after UP (want 90), IKE SA rekey request $d_i s after UP (want 108)"
  ikp_check "2: Child SA rekey at 90 s (+-1)" ikp_fcmp "$d_c >= 89 && $d_c <= 91"
  ikp_check "2: IKE SA rekey at 108 s (+-1)" ikp_fcmp "$d_i >= 107 && $d_i <= 109"
else
  ikp_bad "2: rekey request lines in ikepulse's log"
fi
check_after 2 "$ike0" "$child0"
tail -n +"$((l2 + 1))" "$LB" >"$LAB_WORK/b-part2.log"
ikp_check "2: charon: CREATE_CHILD_SA requests parsed" grep -q "parsed CREATE_CHILD_SA request" "$LAB_WORK/b-part2.log"
ikp_check "2: charon deleted the old CHILD_SA on ikepulse's Delete" \
  grep -q "received DELETE for ESP CHILD_SA" "$LAB_WORK/b-part2.log"
ikp_check "2: charon deleted the old IKE_SA on ikepulse's Delete" \
  grep -q "received DELETE for IKE_SA" "$LAB_WORK/b-part2.log"
ikp_check "2: no retransmission, give-up or error notify in charon's log" \
  bash -c "! grep -Eiq 'retransmit|giving up|NO_PROP|TS_UNACC|INVALID_KE|TEMPORARY_FAILURE|CHILD_SA_NOT_FOUND|failed' '$LAB_WORK/b-part2.log'"
echo "  liveness over the new IKE SA: 25 s"
l2b=$(wc -l <"$LB")
lab_wait_for "$LOG" "Crypto tunnel is DOWN" 25 && ikp_bad "2: ikepulse logged DOWN after the rekeys"
tail -n +"$((l2b + 1))" "$LB" >"$LAB_WORK/b-part2-after.log"
own=$(grep -c "parsed INFORMATIONAL response [0-9]* \[ \]" "$LAB_WORK/b-part2-after.log")
ikps=$(grep -c "parsed INFORMATIONAL request [0-9]* \[ \]" "$LAB_WORK/b-part2-after.log")
ikpa=$(grep -c "generating INFORMATIONAL response [0-9]* \[ \]" "$LAB_WORK/b-part2-after.log")
echo "  after the rekeys: strongSwan's probes answered $own; ikepulse's probes parsed $ikps, answered $ikpa"
ikp_check "2: liveness exchanges over the new IKE SA ($((own + ikpa)) in 25 s, all answered)" \
  test $((own + ikpa)) -ge 1 -a "$ikpa" -ge "$ikps"
ikp_check "2: ikepulse still READY" test "$(ikp_sa status)" = READY
ikp_stop a
ikp_finish ikev2_rekey
