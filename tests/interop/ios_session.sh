#!/usr/bin/env bash
# ios_session.sh — scripts/ios-session.sh (an IOS engineer's session typed through tmux, a pty,
# against two strongSwan peers) run as a test: every step of the transcript is checked.
#   the pasted saved configuration (with `!` lines and `end`) is accepted line by line;
#   `| section crypto map`, `| include keepalive`, `| count QM_IDLE`, `| begin` filter as IOS;
#   `ping ... source` through the tunnel prints IOS's lines and gets answers, before and after
#   the failover; `show access-lists` counts the ping's packets; `show logging` (the buffer set
#   by the pasted `logging buffered`) holds the DOWN of B1 and the UP of B2.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/interop/iplib.sh
command -v tmux >/dev/null || { echo "ios_session: tmux missing"; exit 77; }
out=$(mktemp /tmp/ikp-ios-session.XXXXXX)
trap 'rm -f "$out"' EXIT
timeout 150 bash scripts/ios-session.sh >"$out" 2>&1
rc=$?
sed 's/^/    /' "$out"
ikp_check "the session script finished (exit $rc)" test "$rc" -eq 0
ikp_check "the paste: no line refused" bash -c "! grep -Eq '^% (Invalid|Incomplete|Ambiguous)' '$out'"
ikp_check "the paste ended in exec mode (end)" grep -q '^BranchA(config)#end$' "$out"
section=$(sed -n '/^BranchA#show running-config | section crypto map$/,/^BranchA#/p' "$out")
ikp_check "| section crypto map: the entry with its indented lines" \
  grep -qx ' set peer 192.0.2.3' <<<"$section"
ikp_check "| section crypto map: nothing else (no isakmp policy)" \
  bash -c "! grep -q 'isakmp policy' <<<'$section'"
ikp_check "| include keepalive: the one line" \
  test "$(sed -n '/^BranchA#show running-config | include keepalive$/{n;p}' "$out")" = \
  "crypto isakmp keepalive 10 periodic"
ikp_check "ping 1: IOS's header and source line" \
  grep -qx 'Packet sent with a source address of 198.51.100.1 ' "$out"
rate1=$(grep -m1 -Eo '^Success rate is [0-9]+ percent \([0-9]+/5\)' "$out" | grep -Eo '[0-9]+' | head -1)
ikp_check "ping 1 through B1: success rate ${rate1:-?} >= 80" test "${rate1:-0}" -ge 80
matches=$(grep -Eo 'permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255 \([0-9]+ matches\)' "$out" |
  grep -Eo '\([0-9]+' | tr -d '(')
ikp_check "show access-lists: ${matches:-0} matches >= 5 (the pings)" test "${matches:-0}" -ge 5
ikp_check "show logging: B1 DOWN" \
  grep -Eq '^\*.*%CRYPTO-5-SESSION_STATUS: Crypto tunnel is DOWN\. Peer 192\.0\.2\.2:' "$out"
ikp_check "show logging: B2 UP" \
  grep -Eq '^\*.*%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP\. Peer 192\.0\.2\.3:' "$out"
session_peer=$(grep -A1 -x 'Session status: UP-ACTIVE' "$out" | tail -1)
ikp_check "show crypto session: UP-ACTIVE with B2 ($session_peer)" \
  test "$session_peer" = "Peer: 192.0.2.3 port 4500"
ikp_check "| count QM_IDLE: 1" grep -qx 'Number of lines which match regexp = 1' "$out"
rate2=$(grep -Eo '^Success rate is [0-9]+ percent \([0-9]+/10\)' "$out" | grep -Eo '[0-9]+' | head -1)
ikp_check "ping 2 through B2: success rate ${rate2:-?} >= 80" test "${rate2:-0}" -ge 80
ikp_check "| begin current_peer: starts at the peer line" \
  test "$(sed -n '/^BranchA#show crypto ipsec sa | begin current_peer$/{n;p}' "$out")" = \
  "   current_peer 192.0.2.3 port 4500"
ikp_finish ios_session
