#!/usr/bin/env bash
# Loopback smoke test (CTest label `loopback`): two ikepulsed instances, A on 127.0.0.2 and B
# on 127.0.0.3, both on UDP 500/4500 of their own address, bring up an IKEv1 tunnel (A has
# `ikepulse keep-up`, so it initiates without traffic). Passes when both logs show
#   %CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP
# within the deadline, and both daemons exit cleanly on SIGTERM.
#
# NOTE: this needs a working engine (src/ike) and root (port 500). It only talks to
# 127.0.0.2/127.0.0.3 (loopback). Every process it starts is stopped by its pid.
#
# With the `ikepulse` shell given as the second argument it also checks the control socket:
# `show crypto isakmp sa` lists the SA in QM_IDLE and `write memory` rewrites the
# startup-config (atomically) with the running configuration.
#
#   tests/loopback/tunnel_up.sh <path-to-ikepulsed> [<path-to-ikepulse>]   (KEEP=1 keeps the
#   work dir)
set -uo pipefail

ikepulsed=${1:?usage: tunnel_up.sh <path-to-ikepulsed> [<path-to-ikepulse>]}
shell=${2:-}
deadline_up=${DEADLINE_UP:-20}
work=$(mktemp -d /tmp/ikepulse_loopback.XXXXXX)
pids=()
tails=()

log() { echo "loopback: $*" >&2; }

cleanup() {
  for p in "${tails[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [[ -n "${KEEP:-}" ]]; then log "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# wait_for FILE REGEX SECONDS: waits (tail -F, no polling sleeps) until a line of FILE matches.
wait_for() {
  local file=$1 pattern=$2 secs=$3 fifo rc
  fifo=$(mktemp -u "$work/fifo.XXXXXX")
  mkfifo "$fifo"
  tail -n +1 -F "$file" >"$fifo" 2>/dev/null &
  local tp=$!
  tails+=("$tp")
  timeout "$secs" grep -q -m1 -E -- "$pattern" <"$fifo"
  rc=$?
  kill "$tp" 2>/dev/null
  wait "$tp" 2>/dev/null
  rm -f "$fifo"
  return $rc
}

# Waits (bounded) for a pid to exit; returns its status, or 124 on timeout.
wait_exit() {
  local pid=$1 secs=$2
  timeout "$secs" tail --pid="$pid" -f /dev/null || return 124
  wait "$pid"
}

config() {  # config NAME SELF PEER KEEPUP LOCALNET REMOTENET
  local name=$1 self=$2 peer=$3 keepup=$4 lnet=$5 rnet=$6
  cat <<CFG
hostname $name
!
crypto isakmp policy 10
 encryption aes 256
 hash sha256
 authentication pre-share
 group 14
crypto isakmp key loopback-only-test-psk address $peer
crypto isakmp keepalive 10 2 periodic
!
crypto ipsec transform-set TS esp-aes esp-sha-hmac
!
crypto map green 10 ipsec-isakmp
 set peer $peer
 set transform-set TS
 match address 101
$( [[ $keepup == yes ]] && echo " ikepulse keep-up" )
!
interface Loopback0
 ip address $self 255.255.255.255
 crypto map green
!
access-list 101 permit ip $lnet 0.0.255.255 $rnet 0.0.255.255
end
CFG
}

config A 127.0.0.2 127.0.0.3 yes 10.1.0.0 10.2.0.0 >"$work/a.cfg"
config B 127.0.0.3 127.0.0.2 no 10.2.0.0 10.1.0.0 >"$work/b.cfg"

for side in b a; do  # the responder first
  : >"$work/$side.log"
  "$ikepulsed" -f "$work/$side.cfg" --log "$work/$side.log" --socket "$work/$side.sock" \
    --foreground --debug 2>"$work/$side.stderr" &
  pids+=($!)
done

fail=0
for side in a b; do
  if wait_for "$work/$side.log" "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP" "$deadline_up"; then
    log "$side: tunnel UP"
  else
    log "$side: no 'Crypto tunnel is UP' within ${deadline_up}s"
    fail=1
  fi
done

if [[ -n "$shell" && $fail -eq 0 ]]; then
  out=$("$shell" --socket "$work/a.sock" -c "show crypto isakmp sa" 2>&1)
  echo "--- A# show crypto isakmp sa"
  echo "$out"
  grep -q "127.0.0.3 .*127.0.0.2 .*QM_IDLE" <<<"$out" || {
    log "show crypto isakmp sa: no QM_IDLE SA 127.0.0.3 <- 127.0.0.2"
    fail=1
  }
  before=$(cat "$work/a.cfg")
  out=$("$shell" --socket "$work/a.sock" -c "write memory" 2>&1) || {
    log "write memory failed: $out"
    fail=1
  }
  after=$(cat "$work/a.cfg")
  if [[ "$after" == "$before" ]] || ! grep -q "^crypto map green 10 ipsec-isakmp" <<<"$after"; then
    log "write memory did not rewrite the startup-config"
    fail=1
  fi
fi

# SIGHUP re-reads the startup-config: a good one is applied, a bad one changes nothing.
if ((fail == 0)); then
  b_pid=${pids[0]}
  sed -i 's/^crypto isakmp keepalive 10 2 periodic/crypto isakmp keepalive 20 2 periodic/' "$work/b.cfg"
  kill -HUP "$b_pid"
  wait_for "$work/b.log" "%SYS-5-CONFIG_I: Configured from .*b.cfg" 10 || {
    log "b: SIGHUP reload not logged"
    fail=1
  }
  sed -i 's/^end$/crypto isakmp keepalive 5\nend/' "$work/b.cfg"  # out of range (10-3600)
  kill -HUP "$b_pid"
  wait_for "$work/b.log" "%IKEPULSE-3-CONFIG: .*configuration unchanged" 10 || {
    log "b: bad config on SIGHUP not reported"
    fail=1
  }
  kill -0 "$b_pid" 2>/dev/null || { log "b died on a bad SIGHUP config"; fail=1; }
fi

# Clean shutdown: SIGTERM deletes the SAs and exits 0.
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
for i in "${!pids[@]}"; do
  wait_exit "${pids[$i]}" 10
  rc=$?
  [[ $rc -eq 0 ]] || { log "daemon pid ${pids[$i]} exited with $rc"; fail=1; }
done
pids=()

if ((fail)); then
  for side in a b; do
    echo "--- $side.log (last 40 lines)"
    tail -n 40 "$work/$side.log"
    echo "--- $side.stderr (last 10 lines)"
    tail -n 10 "$work/$side.stderr"
  done
  exit 1
fi
log "PASS"
