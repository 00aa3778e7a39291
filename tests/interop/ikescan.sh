#!/usr/bin/env bash
# ikescan.sh — ikepulsed as a third-party IKE scanner (ike-scan, a Debian package) sees it,
# next to what it records for Cisco IOS (issue #13 item 5):
#   1. a Main Mode 1 matching a policy gets a Main Mode reply with IOS's vendor IDs: Cisco
#      Unity, Dead Peer Detection v1.0, XAUTH;
#   2. left unanswered, that reply comes again on IOS's responder schedule: ike-scan's backoff
#      fingerprint (0, 10, 10, 10, 10, 10 s) matches its pattern for Cisco IOS 12.1-15.0;
#   3. a Main Mode 1 matching no policy gets NO-PROPOSAL-CHOSEN (notify 14), as from IOS.
# ikepulsed 192.0.2.1 (policy aes/sha/group 14), the scanner in namespace b (192.0.2.2, a
# configured peer). Root; bounded (about 75 s).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
command -v ike-scan >/dev/null || { echo "ikescan: ike-scan missing (scripts/install-deps.sh)"; exit 77; }
ikp_two_sites
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=0
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
scan() { timeout 120 ip netns exec "$(lab_ns b)" ike-scan "$@" 2>&1; }

# 1 and 2: one scan, AES-128 / SHA-1 / PSK / group 14, watching the reply's retransmissions
# for 15 s after the last one.
t0=$(date +%s.%N)
scan --trans=7/128,2,1,14 --showbackoff=15 192.0.2.1 >"$LAB_WORK/scan1.txt"
took=$(ikp_fsub "$(date +%s.%N)" "$t0")
sed 's/^/    /' "$LAB_WORK/scan1.txt"
ikp_check "Main Mode Handshake returned" grep -q "Main Mode Handshake returned" "$LAB_WORK/scan1.txt"
for vid in "Cisco Unity" "Dead Peer Detection v1.0" "XAUTH"; do
  ikp_check "vendor ID: $vid" grep -q "VID=[0-9a-f]* ($vid)" "$LAB_WORK/scan1.txt"
done
pattern=$(awk '/^192\.0\.2\.1[[:space:]]+Implementation guess:/ { sub(/.*guess: /, ""); print }' \
  "$LAB_WORK/scan1.txt")
ikp_check "backoff fingerprint: ${pattern:-none} (Cisco IOS 12.1 .. 15.0)" \
  grep -q "Implementation guess: Cisco IOS 12.1, 12.2, 12.3, 12.4 or 15.0" "$LAB_WORK/scan1.txt"
packets=$(grep -cE "^192\.0\.2\.1[[:space:]]+[0-9]+[[:space:]]+[0-9]+\.[0-9]+" "$LAB_WORK/scan1.txt" || true)
ikp_check "six replies in the backoff table ($packets)" test "$packets" -eq 6
ikp_check "the scan took about 65 s ($took s): five resends 10 s apart, then silence" \
  ikp_fcmp "$took >= 60 && $took < 75"
ikp_check "ikepulsed logged the resends" grep -q "retransmitting phase 1 MM_SA_SETUP" "$LOG"
ikp_check "no ISAKMP SA was created" test -z "$(ikp_isakmp_states a)"

# 3: 3DES / MD5 / PSK / group 2 matches no policy.
scan --trans=5,1,1,2 192.0.2.1 >"$LAB_WORK/scan2.txt"
sed 's/^/    /' "$LAB_WORK/scan2.txt"
ikp_check "no acceptable policy: Notify message 14 (NO-PROPOSAL-CHOSEN)" \
  grep -q "Notify message 14 (NO-PROPOSAL-CHOSEN)" "$LAB_WORK/scan2.txt"
ikp_finish ikescan
