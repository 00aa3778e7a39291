#!/usr/bin/env bash
# loopback_setup.sh: whole-daemon setup rate, ikepulsed <-> ikepulsed over loopback, per DH group.
# A benchmark, not a test. Needs root. Everything runs inside a network namespace the script
# creates (iklbench<pid>) with only `lo` up, so all of 127.0.0.0/8 is local there and the
# daemons' TUN devices (ikbA<pid>, ikbB<pid>) and routes never reach the host's namespace. The
# daemons and every CLI poll run under `ip netns exec`; teardown stops the daemons by the pids
# recorded (TERM, then KILL after a deadline) and deletes only that namespace. All loops are
# bounded. DATAPLANE=0 runs the daemons with --no-dataplane (no TUN, no data plane sync).
#
# Two daemons, A (initiator, every crypto map entry `ikepulse keep-up`) and B (responder).
# Two measurements per DH group:
#
#   mm  N parallel Main Mode + Quick Mode establishments between N distinct peer pairs:
#       A owns 127.1.h.l (N interfaces, N crypto maps m1..mN, map mi on A's address i with
#       `set peer` B's address i), B owns 127.2.h.l; address i is h = (i-1)/250,
#       l = (i-1)%250+1 (127.1.0.1 .. 127.1.0.250, 127.1.1.1, ...). Both daemons bind every
#       interface address,
#       so each pair is a separate ISAKMP SA on both sides (the engine keys SAs, INITIAL-CONTACT
#       and "newest SA" by peer address, so one address pair per SA is required). Phase 2: no
#       PFS. The figure is MM+QM per second.
#   qm  One ISAKMP SA (127.0.0.2 <-> 127.0.0.3) and N crypto map entries `green 1..N` with
#       distinct ACLs (10.1.i.0/24 <-> 10.2.i.0/24), PFS with the same group: 1 Main Mode then
#       N Quick Modes in parallel. The figure is Quick Modes per second. For N > 250 the ACLs
#       are 10.S.i.0/24 (S = 1 on A, 2 on B) for i <= 250, then 10.(63+2h+S).l.0/24 (h, l as
#       above).
#
# Method: start B, then A, and wait until both have every SA (the daemon start-up round is
# reported but not used). Then ROUNDS times: `clear crypto session` on A (A deletes all and,
# being keep-up, re-initiates everything at once); the clock runs from just before the clear
# command to the first poll that finds all N new IPsec SAs installed on B (outbound SPIs not
# seen before the clear; B installs last: on QM3). Polls are `ikepulse -c "show crypto ipsec sa"` every POLL_MS; so each figure is
# late by up to one poll interval plus one CLI round trip, and N is chosen so a round takes
# well over a second. Reported: the median round, as establishments per second (wall clock),
# plus the CPU time both daemons used over all rounds (from /proc/PID/stat) per establishment.
#
#   BUILD=build/release DH_GROUPS="14 19" N_MM=100 N_QM=100 ROUNDS=3 bench/loopback_setup.sh
set -uo pipefail

BUILD=${BUILD:-build/release}
GROUPS_LIST=${DH_GROUPS:-"14 19"}
N_MM=${N_MM:-100}
N_QM=${N_QM:-100}
ROUNDS=${ROUNDS:-3}
POLL_MS=${POLL_MS:-20}
ROUND_TIMEOUT=${ROUND_TIMEOUT:-120}
MODES=${MODES:-"mm qm"}
DATAPLANE=${DATAPLANE:-1}
ikepulsed=$BUILD/src/daemon/ikepulsed
cli=$BUILD/src/cli/shell/ikepulse
[[ -x $ikepulsed && -x $cli ]] || { echo "need $ikepulsed and $cli" >&2; exit 2; }
((N_MM >= 1 && N_MM <= 4000 && N_QM >= 1 && N_QM <= 4000)) || { echo "N must be 1..4000" >&2; exit 2; }
((EUID == 0)) || { echo "needs root (network namespace, UDP 500)" >&2; exit 2; }
command -v ip >/dev/null || { echo "needs ip(8)" >&2; exit 2; }

ns=iklbench$$
work=$(mktemp -d /tmp/ikepulse_loopback_bench.XXXXXX)
pids=()
ns_made=0
log() { echo "loopback_setup: $*" >&2; }
in_ns() { ip netns exec "$ns" "$@"; }

stop_daemons() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    timeout 10 tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  pids=()
}
cleanup() {
  stop_daemons
  if ((ns_made)); then ip netns delete "$ns" 2>/dev/null || log "could not delete netns $ns"; fi
  if [[ -n ${KEEP:-} ]]; then log "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

now_ns() { date +%s%N; }
# Address i (1-based) of side 1 (A) or 2 (B): 127.S.h.l, h = (i-1)/250, l = (i-1)%250+1.
addr() { echo "127.$1.$((($2 - 1) / 250)).$((($2 - 1) % 250 + 1))"; }
# Protected network i of side 1 or 2: 10.S.i.0 up to 250 (the N <= 250 layout), then
# 10.(63+2h+S).l.0.
qnet() {
  if (($2 <= 250)); then echo "10.$1.$2.0"; else
    echo "10.$((63 + 2 * (($2 - 1) / 250) + $1)).$((($2 - 1) % 250 + 1)).0"
  fi
}
# CPU seconds (user+sys) of a pid, from /proc/PID/stat fields 14 and 15.
cpu_s() {
  local tck
  tck=$(getconf CLK_TCK)
  awk -v t="$tck" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"
}

policy() {  # policy GROUP
  cat <<CFG
crypto isakmp policy 10
 encryption aes
 hash sha
 authentication pre-share
 group $1
crypto isakmp key loopback-bench-only-psk address 0.0.0.0 0.0.0.0
crypto ipsec transform-set TS esp-aes esp-sha-hmac
CFG
}

config_mm() {  # config_mm SIDE(A|B) GROUP N
  local side=$1 group=$2 n=$3 i
  echo "hostname $side"
  policy "$group"
  echo "access-list 101 permit ip 10.1.0.0 0.0.255.255 10.2.0.0 0.0.255.255"
  echo "access-list 102 permit ip 10.2.0.0 0.0.255.255 10.1.0.0 0.0.255.255"
  for ((i = 1; i <= n; i++)); do
    if [[ $side == A ]]; then
      printf 'crypto map m%d 10 ipsec-isakmp\n set peer %s\n set transform-set TS\n' "$i" "$(addr 2 "$i")"
      printf ' match address 101\n ikepulse keep-up\n'
      printf 'interface Loopback%d\n ip address %s 255.255.255.255\n crypto map m%d\n' \
        "$i" "$(addr 1 "$i")" "$i"
    else
      printf 'crypto map green %d ipsec-isakmp\n set peer %s\n set transform-set TS\n' "$i" "$(addr 1 "$i")"
      printf ' match address 102\n'
      printf 'interface Loopback%d\n ip address %s 255.255.255.255\n crypto map green\n' \
        "$i" "$(addr 2 "$i")"
    fi
  done
  echo "end"
}

config_qm() {  # config_qm SIDE(A|B) GROUP N
  local side=$1 group=$2 n=$3 i self peer l r
  if [[ $side == A ]]; then self=127.0.0.2 peer=127.0.0.3 l=1 r=2; else self=127.0.0.3 peer=127.0.0.2 l=2 r=1; fi
  echo "hostname $side"
  policy "$group"
  for ((i = 1; i <= n; i++)); do
    printf 'ip access-list extended Q%d\n permit ip %s 0.0.0.255 %s 0.0.0.255\n' \
      "$i" "$(qnet "$l" "$i")" "$(qnet "$r" "$i")"
    printf 'crypto map green %d ipsec-isakmp\n set peer %s\n set transform-set TS\n' "$i" "$peer"
    printf ' match address Q%d\n set pfs group%d\n' "$i" "$group"
    [[ $side == A ]] && printf ' ikepulse keep-up\n'
  done
  printf 'interface Loopback0\n ip address %s 255.255.255.255\n crypto map green\nend\n' "$self"
}

start_daemon() {  # start_daemon NAME CFG -> pid in $started_pid
  local name=$1 cfg=$2 i dp
  dp=(--tun "ikb${name^^}$$")
  ((DATAPLANE)) || dp=(--no-dataplane)
  : >"$work/$name.log"
  # Not via in_ns: $! must be the daemon's own pid (ip netns exec execs the command).
  ip netns exec "$ns" "$ikepulsed" -f "$cfg" --log "$work/$name.log" --socket "$work/$name.sock" --foreground \
    "${dp[@]}" 2>"$work/$name.stderr" &
  started_pid=$!
  pids+=("$started_pid")
  for ((i = 0; i < 200; i++)); do
    [[ -S $work/$name.sock ]] && return 0
    sleep 0.05
  done
  log "$name did not create its socket"
  return 1
}

# The outbound SPIs of the IPsec SA pairs installed on daemon NAME, one a line.
ipsec_spis() {
  in_ns "$cli" --socket "$work/$1.sock" -c "show crypto ipsec sa" 2>/dev/null |
    grep -o -E 'current outbound spi: 0x[0-9A-Fa-f]+' | grep -v -E ': 0x0+$'
}

# wait_all NAME N TIMEOUT_S [OLD]: polls until NAME has N IPsec SAs whose outbound SPI is not
# listed in file OLD (the SAs from before a clear: at large N, B may not have processed A's
# Deletes yet when the first poll comes); prints the ns timestamp.
wait_all() {
  local name=$1 n=$2 limit=$3 old=${4:-/dev/null} t_end c
  t_end=$(($(now_ns) + limit * 1000000000))
  while (($(now_ns) < t_end)); do
    c=$(ipsec_spis "$name" | grep -c -v -x -F -f "$old")
    if ((c >= n)); then
      now_ns
      return 0
    fi
    sleep "$(awk -v m="$POLL_MS" 'BEGIN { printf "%.3f", m / 1000 }')"
  done
  log "$name: only ${c:-0}/$n new IPsec SAs after ${limit}s"
  return 1
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

run_case() {  # run_case MODE GROUP
  local mode=$1 group=$2 n pid_a pid_b t0 t1 r rates=() cpu0 cpu1 label
  if [[ $mode == mm ]]; then n=$N_MM; label="MM+QM (N peer pairs)"; else n=$N_QM; label="QM with PFS (1 ISAKMP SA)"; fi
  "config_$mode" B "$group" "$n" >"$work/b.cfg"
  "config_$mode" A "$group" "$n" >"$work/a.cfg"
  start_daemon b "$work/b.cfg" || return 1
  pid_b=$started_pid
  t0=$(now_ns)
  start_daemon a "$work/a.cfg" || return 1
  pid_a=$started_pid
  t1=$(wait_all b "$n" "$ROUND_TIMEOUT") || { stop_daemons; return 1; }
  log "$mode group $group: start-up round $n in $(((t1 - t0) / 1000000)) ms (includes daemon start)"
  cpu0=$(awk -v a="$(cpu_s "$pid_a")" -v b="$(cpu_s "$pid_b")" 'BEGIN { print a + b }')
  for ((r = 1; r <= ROUNDS; r++)); do
    ipsec_spis b >"$work/old_spis"
    t0=$(now_ns)
    in_ns "$cli" --socket "$work/a.sock" -c "clear crypto session" >/dev/null 2>&1 ||
      { log "clear failed"; stop_daemons; return 1; }
    t1=$(wait_all b "$n" "$ROUND_TIMEOUT" "$work/old_spis") || { stop_daemons; return 1; }
    rates+=("$(awk -v n="$n" -v d="$((t1 - t0))" 'BEGIN { printf "%.1f", n / (d / 1e9) }')")
    log "$mode group $group round $r: $n in $(((t1 - t0) / 1000000)) ms -> ${rates[-1]}/s"
  done
  cpu1=$(awk -v a="$(cpu_s "$pid_a")" -v b="$(cpu_s "$pid_b")" 'BEGIN { print a + b }')
  stop_daemons
  printf '| %s | %s | %d | %s | %s | %.2f |\n' "$label" "$group" "$n" \
    "$(printf '%s\n' "${rates[@]}" | median)" "${rates[*]}" \
    "$(awk -v c0="$cpu0" -v c1="$cpu1" -v n="$n" -v r="$ROUNDS" 'BEGIN { print 1000 * (c1 - c0) / (n * r) }')"
}

ip netns add "$ns" || { log "cannot create netns $ns"; exit 2; }
ns_made=1
ip -n "$ns" link set lo up || { log "cannot bring up lo in $ns"; exit 2; }
# Each daemon binds UDP 500 and 4500 on every interface address: 4 N sockets in the mm case.
ulimit -n "$((4 * (N_MM > N_QM ? N_MM : N_QM) + 1024))" 2>/dev/null || log "ulimit -n failed"
log "loadavg $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, N_MM=$N_MM N_QM=$N_QM ROUNDS=$ROUNDS DATAPLANE=$DATAPLANE netns $ns"
echo "| exchange | DH group | N | median /s (wall) | rounds /s | CPU ms per establishment (A+B) |"
echo "|---|---|---|---|---|---|"
fail=0
for g in $GROUPS_LIST; do
  for m in $MODES; do
    run_case "$m" "$g" || { fail=1; for s in a b; do tail -n 5 "$work/$s.log" "$work/$s.stderr" >&2; done; }
  done
done
log "loadavg at end $(cut -d' ' -f1-3 /proc/loadavg)"
exit $fail
