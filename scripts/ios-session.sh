#!/usr/bin/env bash
# An IOS engineer's first session with ikepulse, typed through tmux against real strongSwan
# peers in network namespaces, and printed as the screen showed it:
#   - a saved configuration (with IOS's `!` lines and a final `end`) pasted into
#     `configure terminal` in one go (tmux paste-buffer: a real paste, not typed lines);
#   - output modifiers: `| section`, `| include`, `| count`, `| begin`;
#   - `ping` from the LAN address through the tunnel, with IOS's `!!!!!` output;
#   - the primary peer (B1) killed, DPD declares it dead and the crypto map fails over to B2;
#   - `show logging` after the failover, the session and a second ping through B2.
# Topology: A ikepulsed 192.0.2.1 (LAN 198.51.100.0/24), B1 192.0.2.2 and B2 192.0.2.3
# (strongSwan 5.9.8, kernel-libipsec, LAN 203.0.113.0/24 with host 203.0.113.10 behind each).
# Root; needs a build (IKP_BUILD, default build/release) and tmux. Bounded: about 70 s.
set -euo pipefail
cd "$(dirname "$0")/.."
IKP_BUILD=${IKP_BUILD:-build/release}
command -v tmux >/dev/null || { echo "ios-session: tmux missing (scripts/install-deps.sh)"; exit 1; }
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_failover_sites hosts
# ikepulsed starts from a bare startup-config; the rest is pasted.
printf 'hostname BranchA\ninterface wan0\n ip address 192.0.2.1 255.255.255.0\n' >"$LAB_WORK/a.cfg"
ikp_start a "$LAB_WORK/a.cfg"
LOG=${IKP_LOG[a]}
# The saved configuration, as `show running-config` printed it on another box.
cat >"$LAB_WORK/saved.cfg" <<EOF
!
hostname BranchA
!
logging buffered 16384
!
crypto isakmp policy 10
 encryption aes
 hash sha
 authentication pre-share
 group 14
crypto isakmp key $PSK address 192.0.2.2
crypto isakmp key $PSK address 192.0.2.3
crypto isakmp keepalive 10 periodic
!
crypto ipsec transform-set T1 esp-aes esp-sha-hmac
 mode tunnel
!
crypto map green 10 ipsec-isakmp
 set peer 192.0.2.2
 set peer 192.0.2.3
 set transform-set T1
 match address 101
 ikepulse keep-up
!
interface wan0
 ip address 192.0.2.1 255.255.255.0
 crypto map green
!
access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255
!
end
EOF

session="ikpios$$"
tmux new-session -d -s "$session" -x 100 -y 400 \
  "$IKP_BUILD/src/cli/shell/ikepulse --socket ${IKP_SOCK[a]}"
cleanup_tmux() { tmux kill-session -t "$session" 2>/dev/null || true; }
trap 'cleanup_tmux; lab_teardown' EXIT
type_line() { tmux send-keys -t "$session" -l "$1"; tmux send-keys -t "$session" Enter; }
screen() { tmux capture-pane -p -J -t "$session" -S -400 | sed -e :a -e "/^\n*$/{\$d;N;ba" -e "}"; }
# wait_screen REGEX TIMEOUT [COUNT]: until COUNT lines (default 1) on the screen match.
wait_screen() {
  local deadline=$((SECONDS + $2)) want=${3:-1}
  while ((SECONDS < deadline)); do
    (($(screen | grep -Ec -- "$1" || true) >= want)) && return 0
    sleep 0.1
  done
  echo "ios-session: timeout waiting for /$1/ on the screen" >&2
  return 1
}
prompts=0
# run CMD [TIMEOUT]: type a command and wait for the next prompt.
run() {
  prompts=$((prompts + 1))
  type_line "$1"
  wait_screen '^BranchA(\([a-z-]+\))?[>#]' "${2:-10}" $((prompts + 1)) || true
}
wait_screen 'BranchA>' 10
run "enable"
run "terminal length 0"
run "configure terminal"
tmux load-buffer -b saved "$LAB_WORK/saved.cfg"
tmux paste-buffer -b saved -t "$session"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer 192\.0\.2\.2" 20 || echo "ios-session: no tunnel with B1" >&2
prompts=$(screen | grep -Ec '^BranchA(\([a-z-]+\))?[>#]' || true)
prompts=$((prompts - 1))
run "show running-config | section crypto map"
run "show running-config | include keepalive"
run "show crypto isakmp sa"
run "ping 203.0.113.10 source 198.51.100.1" 20
run "show access-lists"
# The primary peer dies.
lab_kill_charon b1 KILL || true  # its exit status is the signal
t_kill=$(date +%s.%3N)
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer 192\.0\.2\.3" 40 || echo "ios-session: no failover" >&2
t_up=$(date +%s.%3N)
run "show logging | include CRYPTO|not responding"
run "show crypto session"
run "show crypto isakmp sa | count QM_IDLE"
run "ping 203.0.113.10 source 198.51.100.1 repeat 10" 30
run "show crypto ipsec sa | begin current_peer"
screen
echo
echo "== B1 (192.0.2.2) SIGKILLed at $(date -d "@$t_kill" +%T.%3N); tunnel UP with B2 at" \
  "$(date -d "@$t_up" +%T.%3N) (+$(ikp_fsub "$t_up" "$t_kill") s)"
