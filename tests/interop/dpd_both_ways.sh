#!/usr/bin/env bash
# dpd_both_ways.sh — both sides run DPD for 60 s: ikepulse `keepalive 10 periodic`, strongSwan
# dpd_delay=10s (dpd_timeout=30s). Neither side may declare the other dead (same SAs at the
# end, no DOWN, no "DPD check timed out"), and every R-U-THERE in either direction must be
# answered by an R-U-THERE-ACK carrying the same sequence number. 60 s hold about five probe
# rounds a side and twice the longer verdict timer (strongSwan's 30 s); every probe's answer
# is checked on the wire, so a missed ACK shows without waiting for a verdict.
# Method: the sequence numbers are read from the wire: a capture in A's namespace decrypted
# by tshark with the IKE encryption key strongSwan logs at ike=4 (lab only). ikepulse's own
# debug lines (`DPD/R_U_THERE received ... sequence 0x..`, `DPD/R_U_THERE_ACK received ...`)
# are cross-checked against the wire.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
DURATION=${DPD_BOTH_WAYS_S:-120}
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24
A=192.0.2.1
B=192.0.2.2
lab_charon_config b local=$B remote=$A psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=10s dpd_timeout=30s \
  log="default=1 ike=4 cfg=1"
lab_charon_start b
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
ikp_config "$LAB_WORK/a.cfg" self=$A peers=$B keepalive="10 periodic" keep_up=1
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
CLOG=$(lab_charon_log b)
lab_wait_for "$LOG" "Crypto tunnel is UP" 15 || { ikp_bad "tunnel up"; ikp_finish dpd_both_ways; }
lab_wait_for "$CLOG" "CHILD_SA .* established" 10 || ikp_bad "CHILD_SA established"
s_ike0=$(ikp_swan_sa b ike_spis)
s_child0="$(ikp_swan_sa b spi_in) $(ikp_swan_sa b spi_out)"
i_child0=$(ikp_sa_spis a)
echo "== up: strongSwan IKE $s_ike0, CHILD $s_child0; ikepulse ipsec $i_child0; watching ${DURATION} s"

# Watch for DURATION seconds (deadline-bounded), failing early on any death verdict.
bad_re_i='Crypto tunnel is DOWN|not responding!'
bad_re_s='DPD check timed out|deleting IKE_SA|closing CHILD_SA'
end=$((SECONDS + DURATION))
n=0
died=""
while ((SECONDS < end && n < DURATION * 2 + 10)); do
  if grep -Eq "$bad_re_i" "$LOG"; then died="ikepulse: $(grep -Em1 "$bad_re_i" "$LOG")"; break; fi
  if grep -Eq "$bad_re_s" "$CLOG"; then died="strongSwan: $(grep -Em1 "$bad_re_s" "$CLOG")"; break; fi
  sleep 0.5
  n=$((n + 1))
done
ikp_check "no death verdict on either side during ${DURATION} s${died:+ ($died)}" test -z "$died"
s_ike1=$(ikp_swan_sa b ike_spis)
s_child1="$(ikp_swan_sa b spi_in) $(ikp_swan_sa b spi_out)"
i_child1=$(ikp_sa_spis a)
ikp_check "strongSwan IKE SA unchanged ($s_ike1)" test -n "$s_ike0" -a "$s_ike0" = "$s_ike1"
ikp_check "strongSwan CHILD SA unchanged ($s_child1)" test "$s_child0" = "$s_child1"
ikp_check "ikepulse IPsec SA unchanged ($i_child1)" test -n "$i_child0" -a "$i_child0" = "$i_child1"
ikp_check "exactly one IKE SA on strongSwan" test "$(ikp_swan_sa b count)" = 1
lab_capture_stop

# --- sequence numbers on the wire
ikp_tshark_setup "$LAB_WORK/a.pcap" b
ikp_tshark -r "$LAB_WORK/a.pcap" -Y "isakmp.notify.msgtype == 36136 || isakmp.notify.msgtype == 36137" \
  -T fields -e frame.time_relative -e ip.src -e isakmp.notify.msgtype -e isakmp.notify.data \
  >"$LAB_WORK/dpd.tsv"
awk -v a=$A '{ printf "  %8.3f  %s  %-13s seq 0x%s\n", $1, ($2 == a ? "A->B" : "B->A"),
  ($3 == 36136 ? "R-U-THERE" : "R-U-THERE-ACK"), toupper($4) }' "$LAB_WORK/dpd.tsv" >"$LAB_WORK/dpd.txt"
echo "== DPD messages on the wire (decrypted capture, seconds since capture start)"
cat "$LAB_WORK/dpd.txt"
total=$(wc -l <"$LAB_WORK/dpd.tsv")
ikp_check "capture decrypted: $total DPD notifies" test "$total" -gt 0
# For each direction: every R-U-THERE answered by an ACK with the same seq from the other side.
check_dir() {
  local from=$1 to=$2
  awk -v f="$from" -v t="$to" '
    $2 == f && $3 == 36136 { q[++n] = $4 }
    $2 == t && $3 == 36137 { ack[$4]++ }
    END { u = 0; for (i = 1; i <= n; i++) if (!(q[i] in ack)) u++
          printf "%d %d\n", n, u }' "$LAB_WORK/dpd.tsv"
}
read -r na ua <<<"$(check_dir $A $B)"
read -r nb ub <<<"$(check_dir $B $A)"
# ACKs whose seq no R-U-THERE from the other side carried (wrong echo).
stray=$(awk '$3 == 36136 { q[$2 " " $4] = 1 } $3 == 36137 { ack[++n] = $2 " " $4 }
  END { s = 0; for (i = 1; i <= n; i++) { split(ack[i], x, " "); found = 0
          for (k in q) { split(k, y, " "); if (y[1] != x[1] && y[2] == x[2]) found = 1 }
          if (!found) s++ } print s }' "$LAB_WORK/dpd.tsv")
echo "== ikepulse sent $na R-U-THERE ($ua unanswered); strongSwan sent $nb R-U-THERE ($ub unanswered); ACKs echoing no probe: $stray"
ikp_check "DPD was exercised ($((na + nb)) R-U-THEREs in ${DURATION} s)" test $((na + nb)) -ge $((DURATION / 10 - 2))
ikp_check "every ikepulse R-U-THERE ACKed by strongSwan with the same seq" test "$ua" = 0
ikp_check "every strongSwan R-U-THERE ACKed by ikepulse with the same seq" test "$ub" = 0
ikp_check "no ACK with a sequence number nobody sent" test "$stray" = 0
if ((na == 0 || nb == 0)); then
  echo "  note: only one side probed: each side's R-U-THERE reset the other's idle timer"
fi
# Cross-check ikepulse's debug log against the wire. ikepulse prints the seq IOS-style without
# leading zeros (the seed: "sequence 0x9"), so both sides are compared without them.
wire_rx=$(awk -v b=$B '$2 == b && $3 == 36136 { print toupper($4) }' "$LAB_WORK/dpd.tsv" | sed 's/^0*//' | sort -u | tr '\n' ' ')
log_rx=$(grep -o "DPD/R_U_THERE received from peer $B, sequence 0x[0-9A-Fa-f]*" "$LOG" |
  sed 's/.*0x//; s/^0*//' | tr a-f A-F | sort -u | tr '\n' ' ')
wire_ack=$(awk -v b=$B '$2 == b && $3 == 36137 { print toupper($4) }' "$LAB_WORK/dpd.tsv" | sed 's/^0*//' | sort -u | tr '\n' ' ')
log_ack=$(grep -o "DPD/R_U_THERE_ACK received from peer $B, sequence 0x[0-9A-Fa-f]*" "$LOG" |
  sed 's/.*0x//; s/^0*//' | tr a-f A-F | sort -u | tr '\n' ' ')
echo "  ikepulse log R_U_THERE seqs: ${log_rx:-none}; wire: ${wire_rx:-none}"
echo "  ikepulse log ACK seqs:       ${log_ack:-none}; wire: ${wire_ack:-none}"
# The capture stops before the log is read: a probe arriving in between is in the log only.
same_but_last() {  # "LOG" "WIRE": equal, or LOG = WIRE + one newer seq (hex, sorted)
  python3 - "$1" "$2" <<'PY'
import sys
log = sys.argv[1].split(); wire = sys.argv[2].split()
ok = log == wire or (log[:-1] == wire and (not wire or int(log[-1], 16) > int(wire[-1], 16)))
sys.exit(0 if ok else 1)
PY
}
ikp_check "ikepulse's R_U_THERE debug lines match the wire" same_but_last "$log_rx" "$wire_rx"
ikp_check "ikepulse's R_U_THERE_ACK debug lines match the wire" same_but_last "$log_ack" "$wire_ack"
# An ACK carrying a seq ikepulse did send must be taken as such, not "unexpected, ignored".
sent_a=$(awk -v a=$A '$2 == a && $3 == 36136 { print toupper($4) }' "$LAB_WORK/dpd.tsv" | sed 's/^0*//' | sort -u)
unexp=$(grep -o "R_U_THERE_ACK received from peer $B, sequence 0x[0-9A-Fa-f]*: unexpected" "$LOG" |
  sed 's/.*0x//; s/:.*//; s/^0*//' | tr a-f A-F | sort -u)
wrongly=$(comm -12 <(echo "$sent_a") <(echo "$unexp") | grep -c . || true)
ikp_check "no ACK for a seq ikepulse sent is logged 'unexpected sequence, ignored' ($wrongly are)" \
  test "$wrongly" = 0
ikp_check "no 'invalid DPD sequence' in strongSwan's log" bash -c "! grep -q 'invalid DPD sequence' '$CLOG'"
ikp_finish dpd_both_ways
