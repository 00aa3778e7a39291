#!/usr/bin/env bash
# ikev2_rekey.sh — IKEv2 CREATE_CHILD_SA rekeys between ikepulse and strongSwan 5.9.8 charon
# (PSK, kernel-libipsec, in namespaces) while a continuous ping runs through the tunnel in
# ikepulse's userspace data plane (TUN ikp0 <-> ESP-in-UDP 4500, as ikev2_dataplane.sh).
# Topology:
#   a-host 198.51.100.10 -- A  ikepulse   192.0.2.1  FlexVPN (aes-cbc-128/sha256/14, esp-aes
#                                                    esp-sha256-hmac, dpd 10 2 periodic,
#                                                    keep-up, `lifetime 120` in the profile,
#                                                    `set security-association lifetime
#                                                    seconds 120` on the entry: the IOS minimums)
#   b-host 203.0.113.10  -- B  strongSwan 192.0.2.2  aes128-sha256-modp2048, ESP aes128-sha256,
#                                                    its own lifetimes hours away
# A ping every 0.2 s from a-host to b-host runs from UP to the end. In one session:
# 1. strongSwan rekeys on demand (`swanctl --rekey --ike lab`, then `--rekey --child net`),
#    ikepulse answers;
# 2. ikepulse rekeys on its lifetimes: the Child SA 120 - 30 = 90 s after strongSwan's Child SA
#    rekey made the current pair, the IKE SA 9/10 x 120 = 108 s after strongSwan's IKE SA rekey
#    made the current IKE SA (a rekey by either side restarts that SA's clock; DESIGN.md §6.6).
#    Doing step 1 in the first seconds overlaps its checks with step 2's wait; the IKE SA
#    first, as its clock (108 s) ends the run.
# After each rekey: one IKE SA and one Child SA on both sides, the new SPIs agreeing, the old
# SAs gone, and both sides' packet counters (ikepulse `show crypto ipsec sa`, strongSwan
# `swanctl --list-sas`) growing on the new Child SA. At the end: no ping lost (overall and in
# the window around each rekey), no retransmission, give-up or error notify in charon's log, no
# DOWN, a liveness exchange over the last IKE SA. About 2 minutes.
# IKP_REKEY_SHORT=1: step 1 only (~25 s). IKP_REKEY_PFS=1: both sides with PFS on the Child SA
# rekeys (ikepulse `set pfs group14`, strongSwan esp_proposals aes128-sha256-modp2048).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites hosts
PFS=${IKP_REKEY_PFS:-0}
SHORT=${IKP_REKEY_SHORT:-0}
ESP=aes128-sha256
[[ $PFS == 1 ]] && ESP=aes128-sha256-modp2048
T_START=$(date +%s.%3N)

swan() { lab_list_sas b 2>/dev/null; }
# swan_ike_spis: "SPIi SPIr" of strongSwan's IKEv2 SAs, one line each.
swan_ike_spis() { swan | awk '/IKEv2/ { s = $5 " " $6; gsub(/_[ir]\*?/, "", s); print s }'; }
# swan_child: "in_spi out_spi in_packets out_packets" of strongSwan's CHILD_SAs, one line each.
swan_child() {
  swan | awk '$1 == "in" && $2 ~ /^[0-9a-f]+,$/ { i = $2; ip = $5 }
    $1 == "out" && $2 ~ /^[0-9a-f]+,$/ { o = $2; gsub(",", "", i); gsub(",", "", o)
      print i, o, ip + 0, $5 + 0 }'
}
swan_child_count() { swan | grep -c reqid; }
swan_ike_count() { swan | grep -c IKEv2; }
# ikp_sa FIELD: a field of ikepulse's (first) IKEv2 SA.
ikp_sa() { ikp_v2_sa a "$1" | head -1; }
ikp_sa_count() { ikp_json a "show crypto ikev2 sa" | jq -r '.ikev2_sas | length' 2>/dev/null; }
# ikp_child: "in_spi out_spi encaps decaps" (SPIs in hex) of ikepulse's flow when it has
# exactly one pair, else the SPI lists.
ikp_child() {
  ikp_json a "show crypto ipsec sa" | jq -r '.ipsec_sas[0] |
    if (.inbound | length) == 1 then
      "\(.inbound[0].spi) \(.outbound[0].spi) \(.pkts_encaps) \(.pkts_decaps)"
    else "pairs \(.inbound | length): \([.inbound[].spi]) \([.outbound[].spi])" end' 2>/dev/null |
    awk 'NF == 4 && $1 ~ /^[0-9]+$/ { printf "%08x %08x %s %s\n", $1, $2, $3, $4; next } { print }'
}
lc() { tr 'A-F' 'a-f'; }

# own_rekey TAG REF AFTER DONE_RE REQUEST WHAT: ikepulse rekeys WHAT (its lifetime) AFTER s
# after strongSwan's rekey at epoch REF made it: waits for DONE_RE in ikepulse's log (until 8 s
# past that), checks the time of the REQUEST line (AFTER +-1 s) and records the rekey's window.
own_rekey() {
  local tag=$1 ref=$2 after=$3 done_re=$4 req=$5 what=$6 w l t d
  w=$(awk -v a="$ref" -v x="$after" -v n="$(date +%s)" 'BEGIN { printf "%d", a + x + 8 - n }')
  echo "== $tag. ikepulse rekeys the $what $after s after strongSwan's rekey made it (at $(date -d "@$(ikp_fsub "$ref" -"$after")" +%T.%3N)); waiting up to $w s"
  lab_wait_for "$LOG" "$done_re" "$w" || ikp_bad "$tag: ikepulse rekeyed the $what"
  l=$(grep -m1 "$req" "$LOG")
  if [[ -n $l ]]; then
    t=$(ikp_log_epoch "$l")
    d=$(ikp_fsub "$t" "$ref")
    WIN+=("$tag ikepulse's $what rekey|$t")
    ikp_check "$tag: $what rekey request $d s after strongSwan's rekey made it ($after +-1)" \
      ikp_fcmp "$d >= $((after - 1)) && $d <= $((after + 1))"
  else
    ikp_bad "$tag: rekey request line in ikepulse's log"
  fi
}

# one_each: one IKE SA and one Child SA on both sides.
one_each() {
  [[ $(swan_ike_count) == 1 && $(swan_child_count) == 1 && $(ikp_sa_count) == 1 ]] &&
    [[ $(ikp_child | wc -w) == 4 ]]
}

# grown ENC DEC SIN SOUT: every counter of the current pair above the given values.
grown() {
  local e d si so
  read -r _ _ e d <<<"$(ikp_child)"
  read -r _ _ si so <<<"$(swan_child)"
  [[ $e =~ ^[0-9]+$ && $si =~ ^[0-9]+$ ]] && ((e > $1 && d > $2 && si > $3 && so > $4))
}

# check_state TAG IKE0 CHILD0 WHAT(child|ike): after a rekey of WHAT, one IKE SA and one
# Child SA on both sides; WHAT's SPIs changed (the other's kept), ikepulse's SPIs are
# strongSwan's, and both sides' counters of the current pair grow within 3 s.
check_state() {
  local tag=$1 ike0=$2 child0=$3 what=$4 ike1 si so sin sout ii io enc dec l r
  lab_wait_cmd 15 one_each || ikp_bad "$tag: down to one IKE SA and one Child SA on both sides within 15 s"
  ike1=$(swan_ike_spis)
  read -r si so sin sout <<<"$(swan_child)"
  read -r ii io enc dec <<<"$(ikp_child)"
  l=$(ikp_sa spi_local | lc)
  r=$(ikp_sa spi_remote | lc)
  echo "  strongSwan IKE SPIs [$ike1] (before [$ike0]); CHILD_SA in/out $si/$so (before [$child0])," \
    "packets in $sin out $sout"
  echo "  ikepulse IKE SPIs $l/$r; Child SA in/out $ii/$io, #pkts encaps $enc decaps $dec"
  ikp_check "$tag: strongSwan has one IKEv2 SA and one CHILD_SA, ikepulse one of each" one_each
  if [[ $what == ike ]]; then
    ikp_check "$tag: IKE SPIs changed" test -n "$ike1" -a "$ike1" != "$ike0"
    ikp_check "$tag: Child SA kept ($si $so)" test "$si $so" = "$child0"
  else
    ikp_check "$tag: IKE SA kept" test "$ike1" = "$ike0"
    ikp_check "$tag: CHILD SPIs changed ($child0 -> $si $so)" test -n "$si" -a "$si $so" != "$child0"
  fi
  ikp_check "$tag: ikepulse's IKE SPIs are strongSwan's" bash -c "grep -q -e '$l' <<<'$ike1' && grep -q -e '$r' <<<'$ike1'"
  ikp_check "$tag: ikepulse's Child SA is strongSwan's (in $ii = its out, out $io = its in)" \
    test "$ii $io" = "$so $si"
  if lab_wait_cmd 3 grown "${enc:-0}" "${dec:-0}" "${sin:-0}" "${sout:-0}"; then
    local e2 d2 in2 out2
    read -r _ _ e2 d2 <<<"$(ikp_child)"
    read -r _ _ in2 out2 <<<"$(swan_child)"
    ikp_ok "$tag: the ping moves on the new pair: ikepulse encaps $enc -> $e2, decaps $dec -> $d2;" \
      "strongSwan in $sin -> $in2, out $sout -> $out2"
  else
    ikp_bad "$tag: counters of the current pair grow within 3 s"
  fi
  IKE_NOW=$ike1
  CHILD_NOW="$si $so"
  ikp_check "$tag: ikepulse READY, not DOWN" bash -c "[[ \$1 == READY ]] && ! grep -q 'Crypto tunnel is DOWN' '$LOG'" _ "$(ikp_sa status)"
}

ikp_swan_v2 b $B esp_proposals=$ESP dpd_delay=10s log="default=1 ike=2 cfg=1 net=1 chd=1"
LB=$(lab_charon_log b)
# ikepulse: the lifetimes of the header (IOS's minimums), PFS on the Child SA rekeys if asked.
pfs=""
[[ $PFS == 1 ]] && pfs=group14
ikp_v2_config "$LAB_WORK/a.cfg" dpd="10 2 periodic" lifetime=120 keep_up=1 peers=$B pfs=$pfs \
  sa_lifetime=120
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "DATAPLANE: userspace ESP" 5 || lab_die "no data plane"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B" 15 || { ikp_bad "tunnel up"; ikp_finish ikev2_rekey; }
t_up=$(ikp_log_epoch "$(grep -m1 "Crypto tunnel is UP\. Peer $B" "$LOG")")
PING=$LAB_WORK/ping.txt
ikp_ping_bg a-host 203.0.113.10 170 "$PING" -O
# 2.2 s of answered pings before the first rekey, so every rekey's window below is full.
lab_wait_count "$PING" "bytes from 203\.0\.113\.10" 12 6 || ikp_bad "ping answered through the tunnel"
lab_wait_cmd 5 one_each || true
IKE_NOW=$(swan_ike_spis)
read -r si so _ <<<"$(swan_child)"
CHILD_NOW="$si $so"
echo "  up at $(date -d "@$t_up" +%T.%3N); IKE SPIs [$IKE_NOW], CHILD SPIs [$CHILD_NOW]; ping running"
l0=$(wc -l <"$LB")
declare -a WIN=()  # "label epoch" of each rekey

# --- 1. strongSwan rekeys on demand, ikepulse answers
echo "== 1a. swanctl --rekey --ike lab: strongSwan rekeys the IKE SA, ikepulse answers"
lab_swanctl b --rekey --ike lab >"$LAB_WORK/rekey-ike.out" 2>&1 || echo "  (swanctl --rekey returned non-zero)"
lab_wait_for "$LOG" "IKE SA rekeyed \(by the peer\)" 10 || ikp_bad "1a: ikepulse answered strongSwan's IKE SA rekey"
l=$(grep -m1 "IKE SA rekeyed (by the peer)" "$LOG")
t_si=$([[ -n $l ]] && ikp_log_epoch "$l")
t_si=${t_si:-$(date +%s.%3N)}
WIN+=("1a strongSwan's IKE SA rekey|$t_si")
lab_wait_for "$LOG" "Received DELETE for the old IKE SA" 10 || ikp_bad "1a: strongSwan deleted the old IKE SA"
check_state 1a "$IKE_NOW" "$CHILD_NOW" ike

echo "== 1b. swanctl --rekey --child net: strongSwan rekeys the Child SA, ikepulse answers"
lab_swanctl b --rekey --child net >"$LAB_WORK/rekey-child.out" 2>&1 || echo "  (swanctl --rekey returned non-zero)"
lab_wait_for "$LOG" "Rekeying Child SA [0-9]+ for the peer" 10 || ikp_bad "1b: ikepulse answered strongSwan's Child SA rekey"
l=$(grep -m1 -E "Rekeying Child SA [0-9]+ for the peer" "$LOG")
t_sc=$([[ -n $l ]] && ikp_log_epoch "$l")
t_sc=${t_sc:-$(date +%s.%3N)}
WIN+=("1b strongSwan's Child SA rekey|$t_sc")
check_state 1b "$IKE_NOW" "$CHILD_NOW" child

echo "  strongSwan's IKE SA rekey at +$(ikp_fsub "$t_si" "$t_up") s, Child SA rekey at +$(ikp_fsub "$t_sc" "$t_up") s after UP"

if [[ $SHORT != 1 ]]; then
  # --- 2. ikepulse rekeys on its lifetimes, strongSwan answers
  own_rekey 2a "$t_sc" 90 "Child SA rekeyed: SPI" "Sending CREATE_CHILD_SA request to rekey Child SA" "Child SA"
  check_state 2a "$IKE_NOW" "$CHILD_NOW" child
  own_rekey 2b "$t_si" 108 "IKE SA rekeyed \(by us\)" "Sending CREATE_CHILD_SA request to rekey the IKE SA" "IKE SA"
  lab_wait_for "$LOG" "old IKE SA deleted" 10 || ikp_bad "2b: strongSwan answered the Delete of the old IKE SA"
  check_state 2b "$IKE_NOW" "$CHILD_NOW" ike
fi

# --- liveness over the last IKE SA: an empty INFORMATIONAL exchange either way
echo "== liveness over the last IKE SA"
l1=$(wc -l <"$LB")
live() {
  tail -n +"$((l1 + 1))" "$LB" | grep -Eq "parsed INFORMATIONAL (response|request) [0-9]+ \[ \]"
}
if lab_wait_cmd 15 live; then
  ikp_ok "liveness: an empty INFORMATIONAL exchange over the last IKE SA within 15 s"
else
  ikp_bad "liveness: an empty INFORMATIONAL exchange over the last IKE SA within 15 s"
fi
tail -n +"$((l1 + 1))" "$LB" | grep -E "INFORMATIONAL (response|request) [0-9]+ \[ \]" | sed 's/^/  charon: /' | head -4
# The ping: let the last ones in flight come back, then stop it.
last=$(grep -c "bytes from" "$PING")
lab_wait_count "$PING" "bytes from 203\.0\.113\.10" $((last + 3)) 3 || true
lab_stop_pid "$PING_PID"
ikp_check "ikepulse not DOWN" bash -c "! grep -q 'Crypto tunnel is DOWN' '$LOG'"

# --- the ping across the rekeys. Each seq's send instant: its reply's timestamp minus its RTT;
# for an unanswered seq, the previous answered one's plus 0.2 s per seq.
awk '/bytes from/ { match($0, /icmp_seq=[0-9]+/); s = substr($0, RSTART + 9, RLENGTH - 9) + 0
       match($0, /time=[0-9.]+/); rtt = substr($0, RSTART + 5, RLENGTH - 5) / 1000
       ts = substr($1, 2, length($1) - 2) + 0; if (!(s in sent)) { sent[s] = ts - rtt; got[s] = 1 }
       if (s > max) max = s }
     END { prev = -1
       for (s = 1; s <= max; s++) {
         if (s in sent) prev = s; else if (prev > 0) sent[s] = sent[prev] + 0.2 * (s - prev); else sent[s] = 0
         printf "%d %.3f %d\n", s, sent[s], (s in got) }
     }' "$PING" >"$LAB_WORK/ping-seqs.txt"
total=$(wc -l <"$LAB_WORK/ping-seqs.txt")
recv=$(awk '$3 == 1' "$LAB_WORK/ping-seqs.txt" | wc -l)
echo "== ping 198.51.100.10 -> 203.0.113.10 every 0.2 s: $recv of $total answered (up to the last answered seq)"
awk '$3 == 0 { printf "  lost: icmp_seq %d sent ~%s\n", $1, $2 }' "$LAB_WORK/ping-seqs.txt" | head -20
min_sent=400
[[ $SHORT == 1 ]] && min_sent=40
ikp_check "ping: no loss over the whole run ($recv/$total; >= $min_sent sent)" test "$recv" = "$total" -a "$total" -ge "$min_sent"
for w in "${WIN[@]}"; do
  name=${w%|*}
  t=${w#*|}
  read -r s r < <(awk -v t="$t" '$2 >= t - 2 && $2 <= t + 3 { s++; r += $3 } END { print s + 0, r + 0 }' "$LAB_WORK/ping-seqs.txt")
  ikp_check "ping across $name at $(date -d "@$t" +%T.%3N) (-2 s .. +3 s): $r of $s answered" test "$s" -ge 22 -a "$r" = "$s"
done

tail -n +"$((l0 + 1))" "$LB" >"$LAB_WORK/b-run.log"
ikp_check "charon: CREATE_CHILD_SA responses parsed (its rekeys)" grep -q "parsed CREATE_CHILD_SA response" "$LAB_WORK/b-run.log"
if [[ $SHORT != 1 ]]; then
  ikp_check "charon: CREATE_CHILD_SA requests parsed (ikepulse's rekeys)" grep -q "parsed CREATE_CHILD_SA request" "$LAB_WORK/b-run.log"
  ikp_check "charon deleted the old CHILD_SA on ikepulse's Delete" grep -q "received DELETE for ESP CHILD_SA" "$LAB_WORK/b-run.log"
  ikp_check "charon deleted the old IKE_SA on ikepulse's Delete" grep -q "received DELETE for IKE_SA" "$LAB_WORK/b-run.log"
fi
if [[ $PFS == 1 ]]; then
  ikp_check "PFS: charon parsed KE in the answer to its Child SA rekey" \
    grep -Eq "parsed CREATE_CHILD_SA response [0-9]+ \[.*KE.*TSi" "$LAB_WORK/b-run.log"
  if [[ $SHORT != 1 ]]; then
    ikp_check "PFS: charon parsed KE in ikepulse's Child SA rekey request" \
      grep -Eq "parsed CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\).*KE.*TSi" "$LAB_WORK/b-run.log"
  fi
fi
ikp_check "no retransmission, give-up or error notify in charon's log" \
  bash -c "! grep -Eiq 'retransmit|giving up|NO_PROP|TS_UNACC|INVALID_KE|TEMPORARY_FAILURE|CHILD_SA_NOT_FOUND|failed' '$LAB_WORK/b-run.log'"
ikp_stop a
echo "== duration $(ikp_fsub "$(date +%s.%3N)" "$T_START") s"
ikp_finish ikev2_rekey
