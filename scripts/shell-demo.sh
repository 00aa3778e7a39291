#!/usr/bin/env bash
# An interactive `ikepulse` session, typed through tmux against a real strongSwan peer in
# network namespaces: configure a tunnel, show it, watch DPD in `debug crypto isakmp` with
# `terminal monitor`, clear the session. Prints the screen transcript. Root; < 1 min.
set -euo pipefail
cd "$(dirname "$0")/.."
IKP_BUILD=${IKP_BUILD:-build/release}
source tests/lab/lablib.sh
source tests/interop/iplib.sh
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=kd94j1ksldz \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=0s
lab_charon_start b
printf 'hostname BranchA\ninterface wan0\n ip address 192.0.2.1 255.255.255.0\n' >"$LAB_WORK/a.cfg"
ikp_start a "$LAB_WORK/a.cfg"
session="ikpdemo$$"
tmux new-session -d -s "$session" -x 110 -y 200 \
  "$IKP_BUILD/src/cli/shell/ikepulse --socket ${IKP_SOCK[a]}"
cleanup_tmux() { tmux kill-session -t "$session" 2>/dev/null || true; }
trap 'cleanup_tmux; lab_teardown' EXIT
type_line() { tmux send-keys -t "$session" -l "$1"; tmux send-keys -t "$session" Enter; }
screen() { tmux capture-pane -p -t "$session" -S -300 | sed -e :a -e "/^\n*$/{\$d;N;ba" -e "}"; }
wait_screen() {  # wait_screen REGEX TIMEOUT
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    screen | grep -Eq -- "$1" && return 0
    sleep 0.1
  done
  return 1
}
wait_screen 'BranchA>' 10
for l in "enable" "configure terminal" "crypto isakmp policy 10" "encryption aes" "hash sha" \
  "authentication pre-share" "group 14" "exit" \
  "crypto isakmp key kd94j1ksldz address 192.0.2.2" "crypto isakmp keepalive 10 periodic" \
  "crypto ipsec transform-set T1 esp-aes esp-sha-hmac" "exit" \
  "access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255" \
  "crypto map green 10 ipsec-isakmp" "set peer 192.0.2.2" "set transform-set T1" \
  "match address 101" "ikepulse keep-up" "exit" "interface wan0" "crypto map green" "end"; do
  type_line "$l"
  sleep 0.15
done
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 15 || { screen; cat "${IKP_LOG[a]}"; exit 1; }
sleep 0.5
type_line "show crypto isakmp sa"
type_line "terminal length 0"
type_line "show crypto ipsec sa"
type_line "debug crypto isakmp"
type_line "terminal monitor"
wait_screen "DPD/R_U_THERE_ACK received" 15 || true
type_line "clear crypto session"
sleep 1
type_line "show crypto isakmp sa"
sleep 0.5
screen
