#!/usr/bin/env bash
# libreswan_ikev2.sh — ikepulse <-> Libreswan 4.10 pluto with `ikev2=insist` (PSK), both roles,
# in lab namespaces (issue: Libreswan IKEv2). Topology as libreswan.sh:
#   A (ikepulse)  192.0.2.1, LAN 198.51.100.0/24   FlexVPN proposal aes-cbc-128/sha256/<group>,
#                                                   transform set esp-aes esp-sha256-hmac,
#                                                   profile `dpd 10 2 periodic`
#   B (Libreswan) 192.0.2.2, LAN 203.0.113.0/24    pluto's default proposals (no ike=/esp=),
#                                                   dpddelay=10 (dpdtimeout is unused in IKEv2)
# Libreswan comes unpacked, not installed (tests/lab/libreswan.sh): SKIP (exit 77) without it.
#
# The lab kernel has no ESP (nor AH or IPComp) and pluto 4.10 has only the XFRM stack, so no
# Child SA can exist on pluto's side. How far each role gets (docs/INTEROP.md):
#   1. pluto initiates: IKE_SA_INIT (pluto's KE is MODP2048, ikepulse wants group 19: one
#      INVALID_KE_PAYLOAD round) and IKE_AUTH complete on both sides; pluto then fails to add its
#      ESP SA and drops the IKE SA without telling us ("NOT sending notification"), and revives
#      the connection at once (a new IKE SA, same fate). ikepulse's responder SA, no longer known
#      to pluto, gets no answer to its liveness checks and is declared dead 20.0-20.5 s after
#      pluto's IKE_AUTH request, its last message on that SA.
#   1b. The same with pluto's `initial-contact=yes`: ikepulse deletes its previous SA with pluto
#      on each new IKE_AUTH carrying INITIAL_CONTACT, and holds one.
#   2. ikepulse initiates (keep-up): pluto answers IKE_AUTH with IDr, AUTH and TS_UNACCEPTABLE
#      and keeps its IKE SA; so does ikepulse (a childless IKE SA). On it:
#      2a. ikepulse's liveness checks every 10 s, each answered by pluto (no retry);
#          pluto itself sends none: its liveness runs on Child SAs only (none here);
#      2b. Delete from pluto (whack --terminate): ikepulse ends the SA, keep-up brings up another;
#      2c. `clear crypto ikev2 sa` on ikepulse: pluto deletes its IKE SA; keep-up again;
#      2d. pluto SIGKILLed right after a liveness response: ikepulse declares it dead
#          20.0-20.5 s after the last packet from pluto (tcpdump on A's wire).
# 1 and 1b run beside 2, in namespaces of their own (ikp_fork: the script again, IKP_PART=1).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_lsw_sites libreswan_ikev2

# v2_config FILE KEEP_UP GROUP: ikepulse's FlexVPN configuration.
v2_config() {
  ikp_v2_config "$1" ike="aes-cbc-128 sha256 - $3" dpd="10 2 periodic" keep_up="$2" peers=$B
}
# v2_status: "STATUS" of each ikepulse IKEv2 SA, one a line.
v2_status() { ikp_v2_sa a status; }
# lsw_states NAME: pluto's established IKEv2 IKE SAs (whack --showstates).
lsw_states() { lab_whack "$1" --showstates 2>/dev/null | grep -c 'STATE_V2_ESTABLISHED_IKE_SA' || true; }
lsw_one() { [[ $(lsw_states "$1") == 1 ]]; }
# log_t LINE: the epoch of an ikepulse log line.
log_t() { ikp_log_epoch "$1"; }

# --- 1. pluto initiates ------------------------------------------------------------------------
# 1 and 1b share nothing with 2 and run beside it, in a lab of their own (ikp_fork).
if [[ ${IKP_PART:-} == 1 ]]; then
  echo "== 1. Libreswan initiates (whack --initiate, default proposals), ikepulse responds (group 19)"
  lab_lsw_config b1 gw=b ikev2=insist local=$B remote=$A psk=$PSK ike= esp= \
    local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpddelay=10
  lab_lsw_start b1
  P1=$(lab_lsw_log b1)
  v2_config "$LAB_WORK/a1.cfg" 0 19
  ikp_start a "$LAB_WORK/a1.cfg" --debug
  LOG=${IKP_LOG[a]}
  lab_lsw_initiate b1 || echo "  (whack --initiate: $(tail -1 "$(lab_lsw_dir b1)/initiate.out"))"
  ok=1
  lab_wait_for "$P1" '"lab" #[0-9]+: initiator established IKE SA' 15 || ok=0
  lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B" 5 || ok=0
  ikp_check "1: both sides logged the IKE SA up" test $ok = 1
  est=$(grep -Em1 '"lab" #[0-9]+: initiator established IKE SA.*' "$P1" | sed 's/^.*: "lab"/"lab"/')
  auth=$(grep -Em1 '"lab" #[0-9]+: sent IKE_AUTH request \{[^}]*\}' "$P1" | grep -o '{.*}')
  echo "  pluto: $est"
  echo "  pluto: IKE_AUTH $auth"
  ikp_check "1: ikepulse answered pluto's KE (MODP2048) with INVALID_KE_PAYLOAD for group 19" \
    grep -q "Sending IKE_SA_INIT error INVALID_KE_PAYLOAD to $B" "$LOG"
  ikp_check "1: pluto: AES_CBC_128 / HMAC_SHA2_256_128 / PRF SHA2_256 / DH19" \
    test "$auth" = "{cipher=AES_CBC_128 integ=HMAC_SHA2_256_128 prf=HMAC_SHA2_256 group=DH19}"
  ikp_check "1: pluto authenticated ikepulse as ID_IPV4_ADDR '$A'" \
    grep -q "authenticated peer using authby=secret and ID_IPV4_ADDR '$A'" <<<"$est"
  lab_wait_for "$P1" "$IKP_LSW_SA_FAIL" 5
  ikp_check "1: pluto accepted ikepulse's Child SA and reached its kernel SA install" grep -Eq "$IKP_LSW_SA_FAIL" "$P1"
  echo "  KNOWN: pluto: $(grep -Em1 "$IKP_LSW_SA_FAIL" "$P1" | sed 's/^.*ERROR: //')"
  lab_wait_for "$P1" 'deleting state \(STATE_V2_ESTABLISHED_IKE_SA\).*NOT sending notification' 5
  ikp_check "1: pluto then dropped its IKE SA without a Delete" \
    grep -Eq '#1: deleting state \(STATE_V2_ESTABLISHED_IKE_SA\).*NOT sending notification' "$P1"
  lab_wait_count "$P1" '"lab" #[0-9]+: initiator established IKE SA' 2 10
  n_est=$(grep -Ec '"lab" #[0-9]+: initiator established IKE SA' "$P1")
  ikp_check "1: pluto revived the connection: IKE SA established again ($n_est)" test "$n_est" -ge 2
  # SA 1001 is ikepulse's first responder SA; its last message from pluto is the IKE_AUTH request,
  # answered at once ("Sending IKE_AUTH response").
  first=$(sed -n 's/^.*IKEv2:(SA ID = \([0-9]*\)):Sending IKE_AUTH response.*$/\1/p' "$LOG" | head -1)
  l_auth=$(grep -m1 "(SA ID = $first):Sending IKE_AUTH response" "$LOG")
  lab_wait_for "$LOG" "\(SA ID = $first\):peer $B not responding!" 30
  l_dead=$(grep -m1 "(SA ID = $first):peer $B not responding!" "$LOG")
  n_rt=$(grep -c "(SA ID = $first):Liveness retry" "$LOG")
  if [[ -n $l_auth && -n $l_dead ]]; then
    d=$(ikp_fsub "$(log_t "$l_dead")" "$(log_t "$l_auth")")
    echo "  ikepulse SA $first: IKE_AUTH answered $(sed 's/^\*[A-Za-z]* *[0-9]* //; s/: .*//' <<<"$l_auth"), 'not responding!' +$d s ($n_rt liveness retries, none answered)"
    ikp_check "1: ikepulse declared its stale SA $first dead $d s after pluto's IKE_AUTH ($IKP_DEAD_MIN..$IKP_DEAD_MAX)" \
      ikp_fcmp "$d >= $IKP_DEAD_MIN && $d <= $IKP_DEAD_MAX"
    ikp_check "1: probe + 4 retries sent on it ($n_rt retries)" test "$n_rt" = 4
  else
    ikp_bad "1: stale SA dead-peer timing (IKE_AUTH '${l_auth:-}', verdict '${l_dead:-}')"
  fi
  n_est=$(grep -Ec '"lab" #[0-9]+: initiator established IKE SA' "$P1")
  n_fail=$(grep -Ec "$IKP_LSW_SA_FAIL" "$P1")
  ikp_check "1: every pluto IKE SA ended at its Child SA install ($n_est established, $n_fail failed)" \
    test "$n_fail" -ge "$n_est"
  echo "  pluto's revivals (IKE SA established at): $(grep -E '"lab" #[0-9]+: initiator established IKE SA' "$P1" | awk '{print $3}' | tr -d : | tr '\n' ' ')"
  ikp_stop a
  lab_lsw_kill b1 TERM

  # --- 1b. the same with pluto's initial-contact=yes -----------------------------------------------
  echo "== 1b. Libreswan initiates with initial-contact=yes: each new IKE SA replaces the stale one"
  lab_lsw_config b3 gw=b ikev2=insist local=$B remote=$A psk=$PSK ike= esp= \
    local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 extra="    initial-contact=yes"
  lab_lsw_start b3
  P3=$(lab_lsw_log b3)
  ikp_start a "$LAB_WORK/a1.cfg" --debug
  LOG=${IKP_LOG[a]}
  lab_lsw_initiate b3 || echo "  (whack --initiate: $(tail -1 "$(lab_lsw_dir b3)/initiate.out"))"
  lab_wait_count "$P3" '"lab" #[0-9]+: initiator established IKE SA' 3 15
  lab_wait_count "$LOG" "Received INITIAL_CONTACT" 3 5
  n_est=$(grep -Ec '"lab" #[0-9]+: initiator established IKE SA' "$P3")
  n_ic=$(grep -c "Received INITIAL_CONTACT" "$LOG")
  n_del=$(grep -c "Deleting SA: initial contact" "$LOG")
  n_sa=$(v2_status | grep -c . || true)
  echo "  pluto established $n_est IKE SAs; ikepulse got INITIAL_CONTACT $n_ic times, deleted $n_del stale SAs, holds $n_sa"
  ikp_check "1b: ikepulse saw INITIAL_CONTACT in every IKE_AUTH ($n_ic of $n_est, >= 3)" test "$n_ic" -ge 3 -a "$n_ic" -ge "$n_est"
  ikp_check "1b: each one deleted the previous SA ($n_del = $n_ic - 1)" test "$n_del" = $((n_ic - 1))
  ikp_check "1b: ikepulse holds one IKEv2 SA with pluto ($n_sa)" test "$n_sa" = 1
  ikp_check "1b: the tunnel was never logged DOWN" bash -c "! grep -q 'Crypto tunnel is DOWN' '$LOG'"
  ikp_stop a
  lab_lsw_kill b3 TERM
  ikp_finish libreswan_ikev2-1
fi
ikp_fork 1

# --- 2. ikepulse initiates -----------------------------------------------------------------------
echo "== 2. ikepulse initiates (keep-up, dpd 10 2 periodic, group 14), Libreswan responds"
lab_lsw_config b2 gw=b ikev2=insist local=$B remote=$A psk=$PSK ike= esp= \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpddelay=10
lab_lsw_start b2
P2=$(lab_lsw_log b2)
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
v2_config "$LAB_WORK/a2.cfg" 1 14
ikp_start a "$LAB_WORK/a2.cfg" --debug
LOG=${IKP_LOG[a]}
ok=1
lab_wait_for "$P2" '"lab" #[0-9]+: responder established IKE SA' 15 || ok=0
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B" 5 || ok=0
ikp_check "2: both sides logged the IKE SA up" test $ok = 1
echo "  pluto: $(grep -Em1 '"lab" #[0-9]+: sent IKE_SA_INIT reply \{[^}]*\}' "$P2" | grep -o '{.*}')"
ikp_check "2: pluto chose AES_CBC_128 / HMAC_SHA2_256_128 / PRF SHA2_256 / MODP2048 from its defaults" \
  grep -q 'sent IKE_SA_INIT reply {cipher=AES_CBC_128 integ=HMAC_SHA2_256_128 prf=HMAC_SHA2_256 group=MODP2048}' "$P2"
ikp_check "2: pluto authenticated ikepulse as ID_IPV4_ADDR '$A'" \
  grep -q "responder established IKE SA; authenticated peer using authby=secret and ID_IPV4_ADDR '$A'" "$P2"
ikp_check "2: pluto chose ikepulse's ESP proposal (no ESN)" \
  grep -q 'proposal 1:ESP=AES_CBC_128-HMAC_SHA2_256_128-DISABLED SPI=' "$P2"
lab_wait_for "$LOG" "refused the Child SA \(TS_UNACCEPTABLE\)" 5
ikp_check "2: pluto refused the Child SA with TS_UNACCEPTABLE (its kernel SA install failed)" \
  grep -q "refused the Child SA (TS_UNACCEPTABLE): IKE SA without a Child SA" "$LOG"
echo "  KNOWN: pluto: $(grep -Em1 "$IKP_LSW_SA_FAIL" "$P2" | sed 's/^.*ERROR: //')"
ikp_check "2: pluto keeps its IKE SA ($(lsw_states b2) established)" test "$(lsw_states b2)" = 1
ikp_check "2: ikepulse READY" test "$(v2_status)" = READY
ikp_check "2: ikepulse sent no Delete and made one IKE SA" test "$(grep -c 'Sending IKE_SA_INIT request' "$LOG")" = 1

echo "== 2a. liveness on the childless IKE SA, 25 s"
t_a=$(date +%s.%3N)
lab_wait_for "$LOG" "Crypto tunnel is DOWN" 25 && ikp_bad "2a: ikepulse logged DOWN during 25 s"
n_chk=$(grep -c "Sending liveness check" "$LOG")
n_rsp=$(grep -c "Received liveness response" "$LOG")
n_rt=$(grep -c "Liveness retry" "$LOG")
# pluto's own requests after the set-up: INFORMATIONAL (37) from B without the Response flag.
lsw_req=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B && isakmp.exchangetype==37 && isakmp.flag_r==0" 2>/dev/null | wc -l)
echo "  ikepulse: $n_chk liveness checks, $n_rsp responses, $n_rt retries; pluto sent $lsw_req requests of its own"
ikp_check "2a: ikepulse's liveness checks answered by pluto ($n_rsp of $n_chk, >= 2)" \
  test "$n_chk" -ge 2 -a "$n_rsp" = "$n_chk"
ikp_check "2a: no liveness retry ($n_rt)" test "$n_rt" = 0
ikp_check "2a: pluto sent no liveness request of its own (dpddelay=10; it probes on Child SAs only)" \
  test "$lsw_req" = 0
ikp_check "2a: same single IKE SA on both sides" test "$(lsw_states b2)" = 1 -a "$(v2_status)" = READY

echo "== 2b. Delete from pluto (whack --terminate)"
n_up=$(grep -c "IKE SA established" "$LOG")
lab_whack b2 --terminate --name lab >"$LAB_WORK/terminate.out" 2>&1
lab_wait_for "$LOG" "Received DELETE for the IKE SA" 5
ikp_check "2b: ikepulse processed pluto's Delete" grep -q "Received DELETE for the IKE SA" "$LOG"
ikp_check "2b: ikepulse logged the tunnel DOWN" grep -q "Crypto tunnel is DOWN\. Peer $B" "$LOG"
lab_wait_count "$LOG" "IKE SA established" $((n_up + 1)) 10
l_del=$(grep -m1 "Received DELETE for the IKE SA" "$LOG")
l_new=$(grep "IKE SA established" "$LOG" | sed -n "$((n_up + 1))p")
[[ -n $l_del && -n $l_new ]] &&
  echo "  Delete received $(sed 's/^\*[A-Za-z]* *[0-9]* //; s/: .*//' <<<"$l_del"), new IKE SA up +$(ikp_fsub "$(log_t "$l_new")" "$(log_t "$l_del")") s"
ikp_check "2b: keep-up brought a new IKE SA up" test "$(grep -c "IKE SA established" "$LOG")" -ge $((n_up + 1))
lab_wait_cmd 5 lsw_one b2 || true
ikp_check "2b: pluto holds the new one ($(lsw_states b2))" test "$(lsw_states b2)" = 1

echo "== 2c. clear crypto ikev2 sa on ikepulse"
n_up=$(grep -c "IKE SA established" "$LOG")
n_del=$(grep -Ec 'deleting state \(STATE_V2_ESTABLISHED_IKE_SA\)' "$P2")
ikp_cli a "clear crypto ikev2 sa" >/dev/null
lab_wait_count "$P2" 'deleting state \(STATE_V2_ESTABLISHED_IKE_SA\)' $((n_del + 1)) 5
ikp_check "2c: pluto deleted its IKE SA on ikepulse's Delete" \
  test "$(grep -Ec 'deleting state \(STATE_V2_ESTABLISHED_IKE_SA\)' "$P2")" -ge $((n_del + 1))
lab_wait_count "$LOG" "IKE SA established" $((n_up + 1)) 10
ikp_check "2c: keep-up brought a new IKE SA up" test "$(grep -c "IKE SA established" "$LOG")" -ge $((n_up + 1))

echo "== 2d. pluto SIGKILLed right after a liveness response"
n0=$(grep -c "Received liveness response" "$LOG")
lab_wait_count "$LOG" "Received liveness response" $((n0 + 1)) 15 || ikp_bad "2d: a liveness exchange before the kill"
t_kill=$(date +%s.%3N)
lab_lsw_kill b2 KILL
echo "  pluto SIGKILLed at $(date -d "@$t_kill" +%T.%3N)"
lab_wait_for "$LOG" "peer $B not responding!" 30 || ikp_bad "2d: ikepulse declared $B dead"
lab_wait_for "$LOG" "Crypto tunnel is DOWN" 5
lab_capture_stop
last=$(ikp_pcap_last "$LAB_WORK/a.pcap" "ip.src==$B")
after=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B && frame.time_epoch > $t_kill" 2>/dev/null | wc -l)
probes=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.dst==$B && frame.time_epoch > ${last:-0}" -T fields -e frame.time_epoch 2>/dev/null |
  awk -v t0="${last:-0}" '{ printf "+%.3f ", $1 - t0 }')
l_dead=$(grep "peer $B not responding!" "$LOG" | tail -1)
if [[ -n $last && -n $l_dead ]]; then
  d=$(ikp_fsub "$(log_t "$l_dead")" "$last")
  echo "  last packet from pluto $(date -d "@$last" +%T.%3N); to pluto after it: $probes; 'not responding!' +$d s"
  ikp_check "2d: declared dead $d s after the last packet from pluto ($IKP_DEAD_MIN..$IKP_DEAD_MAX)" \
    ikp_fcmp "$d >= $IKP_DEAD_MIN && $d <= $IKP_DEAD_MAX"
else
  ikp_bad "2d: dead-peer timing (last packet '${last:-}', verdict '${l_dead:-}')"
fi
ikp_check "2d: nothing from pluto after the kill ($after packets)" test "$after" = 0
ikp_check "2d: ikepulse logged the tunnel DOWN" test "$(grep -c "Crypto tunnel is DOWN" "$LOG")" -ge 3
ikp_stop a
ikp_join 1
ikp_finish libreswan_ikev2
