#!/usr/bin/env bash
# `ping` from ikepulse's CLI through its own data plane (issue #13): ikepulsed (192.0.2.1,
# LAN 198.51.100.0/24) and strongSwan 5.9.8 with kernel-libipsec (192.0.2.2, LAN
# 203.0.113.0/24, host 203.0.113.10). No keep-up: the first echo is interesting traffic that
# brings the tunnel up (it waits in the data plane's queue), as on IOS.
#   1. ping 203.0.113.10 source 198.51.100.1 repeat 5: at least 4 of 5 answered, success
#      rate >= 80 percent, IOS's output lines;
#   2. repeat 100 size 1400 over the established tunnel: 100/100, the marks wrapped at 70;
#   3. without `source` (the crypto map interface's address, which the ACL does not
#      protect): every echo times out after 2 s: "Success rate is 0 percent (0/2)";
#   4. the replies were consumed by the ping (never written to the TUN device: the gateway's
#      kernel counted no ICMP echo reply in).
# Root; bounded (< 60 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites hosts
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=0s start_action=trap
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=0
ikp_start a "$LAB_WORK/a.cfg"
lab_wait_for "${IKP_LOG[a]}" "DATAPLANE: userspace ESP" 5 ||
  lab_die "ikepulsed has no data plane: $(grep DATAPLANE "${IKP_LOG[a]}")"
in_echo_replies() {
  ip netns exec "$(lab_ns a)" awk '/^Icmp:/ { if (!seen) { seen = 1; split($0, h); next }
    split($0, v); for (i in h) if (h[i] == "InEchoReps") print v[i] }' /proc/net/snmp
}
reps0=$(in_echo_replies)

# 1. The first ping brings the tunnel up.
t0=$(date +%s.%N)
ikp_cli a "ping 203.0.113.10 source 198.51.100.1 repeat 5" >"$LAB_WORK/ping1.txt" 2>&1 || true
t1=$(date +%s.%N)
lab_log "ping 1 took $(ikp_fsub "$t1" "$t0") s:"
sed 's/^/    /' "$LAB_WORK/ping1.txt"
marks=$(grep -E '^[!.]+$' "$LAB_WORK/ping1.txt" | head -1 || true)
bangs=$(tr -cd '!' <<<"$marks" | wc -c)
rate=$(grep -Eo 'Success rate is [0-9]+ percent' "$LAB_WORK/ping1.txt" | grep -Eo '[0-9]+' || echo 0)
ikp_check "IOS header: 5 100-byte echos, 2 s timeout" \
  grep -qx "Sending 5, 100-byte ICMP Echos to 203.0.113.10, timeout is 2 seconds:" "$LAB_WORK/ping1.txt"
ikp_check "IOS header: the source line (trailing space)" \
  grep -qx "Packet sent with a source address of 198.51.100.1 " "$LAB_WORK/ping1.txt"
ikp_check "5 marks, at least 4 '!' (got '$marks')" test "${#marks}" -eq 5 -a "$bangs" -ge 4
ikp_check "Success rate is $rate percent >= 80" test "$rate" -ge 80
ikp_check "the round-trip line" \
  grep -Eq "^Success rate is [0-9]+ percent \([45]/5\), round-trip min/avg/max = [0-9]+/[0-9]+/[0-9]+ ms$" \
  "$LAB_WORK/ping1.txt"
ikp_check "the ping's traffic brought the tunnel up" \
  grep -Eq "CHILD_SA .* established" "$(lab_charon_log b)"

# 2. Over the established tunnel: all answered; marks wrap at 70 per line.
ikp_cli a "ping 203.0.113.10 size 1400 repeat 100 source 198.51.100.1" >"$LAB_WORK/ping2.txt" 2>&1 || true
sed 's/^/    /' "$LAB_WORK/ping2.txt"
ikp_check "repeat 100 size 1400: Success rate is 100 percent (100/100)" \
  grep -q "^Success rate is 100 percent (100/100), round-trip" "$LAB_WORK/ping2.txt"
ikp_check "marks: a line of 70 then a line of 30" \
  test "$(grep -E '^!+$' "$LAB_WORK/ping2.txt" | awk '{ printf "%d ", length($0) }')" = "70 30 "

# 3. No source: the crypto map interface's address; its echoes match no crypto map entry and
#    time out (2 s each).
#    The output streams as IOS's does: the header shows while the echoes are still out.
t0=$(date +%s.%N)
ikp_cli a "ping 203.0.113.10 repeat 2" >"$LAB_WORK/ping3.txt" 2>&1 &
cli_pid=$!
if lab_wait_for "$LAB_WORK/ping3.txt" "^Sending 2, 100-byte ICMP Echos" 2; then
  ikp_check "streamed: the header printed before the first 2 s timeout ended" \
    ikp_fcmp "$(ikp_fsub "$(date +%s.%N)" "$t0") < 2 && $(grep -c '^Success rate' "$LAB_WORK/ping3.txt") == 0"
else
  ikp_bad "streamed: the header printed before the first 2 s timeout ended"
fi
wait "$cli_pid"
t1=$(date +%s.%N)
sed 's/^/    /' "$LAB_WORK/ping3.txt"
ikp_check "no source: two timeouts, Success rate is 0 percent (0/2)" \
  grep -q "^Success rate is 0 percent (0/2)$" "$LAB_WORK/ping3.txt"
ikp_check "no source: '..'" grep -qx '\.\.' "$LAB_WORK/ping3.txt"
took=$(ikp_fsub "$t1" "$t0")
ikp_check "two timeouts took about 4 s ($took s)" ikp_fcmp "$took >= 3.9 && $took < 6"

# 4. The replies never reached the gateway's kernel.
reps1=$(in_echo_replies)
ikp_check "no echo reply was written to the TUN (InEchoReps $reps0 -> $reps1)" test "$reps1" -eq "$reps0"
# And the shell's errors: a bad option is refused by the parser.
if ikp_cli a "ping 203.0.113.10 size 20" >"$LAB_WORK/bad.txt" 2>&1; then
  ikp_bad "size 20 accepted"
else
  ikp_check "size 20 refused with IOS's marker" grep -q "% Invalid input detected at '^' marker." "$LAB_WORK/bad.txt"
fi
ikp_finish ping
