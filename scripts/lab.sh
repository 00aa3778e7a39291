#!/usr/bin/env bash
# scripts/lab.sh — the ikepulse DPD failover demo on a fresh Debian 12 machine (run as root).
#
#   sudo scripts/lab.sh
#
# 1. installs the dependencies (scripts/install-deps.sh) and builds the release preset if the
#    binaries are missing (IKP_BUILD=<dir> uses an existing build instead);
# 2. builds a lab of network namespaces (documentation addresses only, nothing leaves them):
#      host 198.51.100.10 -- A  ikepulse   192.0.2.1  `crypto isakmp keepalive 10 periodic`,
#                                crypto map: set peer B1, set peer B2; userspace ESP (TUN ikp0)
#      host 203.0.113.10  -- B1 strongSwan 192.0.2.2  (kernel-libipsec)
#      host 203.0.113.10  -- B2 strongSwan 192.0.2.3  (kernel-libipsec)
#    (one host behind each strongSwan gateway, same address: reachable through either peer);
# 3. brings the tunnel up with B1, starts a continuous ping (every 0.2 s) from the host behind
#    A to 203.0.113.10 and shows `show crypto isakmp sa` / `show crypto ipsec sa`;
# 4. SIGKILLs B1's charon and prints ikepulse's DPD trace live, with seconds since the kill;
# 5. shows the tunnel back up with B2 and the ping answered again through it, prints the
#    detection and failover times and the ping outage, tears down.
# Bounded: about 50 s, never more than 2 minutes. LAB_KEEP=1 keeps the work dir (logs, pcap).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

if [[ -t 1 ]]; then
  B=$'\e[1m' D=$'\e[2m' R=$'\e[31m' G=$'\e[32m' Y=$'\e[33m' C=$'\e[36m' N=$'\e[0m'
else
  B="" D="" R="" G="" Y="" C="" N=""
fi
say() { printf '%s==>%s %s%s%s\n' "$C" "$N" "$B" "$*" "$N"; }
note() { printf '    %s%s%s\n' "$D" "$*" "$N"; }
die() { printf '%sERROR:%s %s\n' "$R" "$N" "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (network namespaces): sudo $0"

# --- 1. dependencies and build
say "Dependencies"
bash scripts/install-deps.sh || die "scripts/install-deps.sh failed"
note "Debian packages present (strongSwan $(/usr/lib/ipsec/charon --version 2>/dev/null | awk '{print $NF}' || echo '?'))"
if [[ -z ${IKP_BUILD:-} ]]; then
  IKP_BUILD=build/release
  if [[ ! -x $IKP_BUILD/src/daemon/ikepulsed || ! -x $IKP_BUILD/src/cli/shell/ikepulse ]]; then
    say "Building (cmake --preset release)"
    { cmake --preset release >/dev/null && cmake --build --preset release; } || die "build failed"
  fi
fi
export IKP_BUILD
[[ -x $IKP_BUILD/src/daemon/ikepulsed ]] || die "no ikepulsed in $IKP_BUILD"
note "binaries: $IKP_BUILD/src/daemon/ikepulsed, $IKP_BUILD/src/cli/shell/ikepulse"

# shellcheck source=tests/lab/lablib.sh
source tests/lab/lablib.sh
# shellcheck source=tests/interop/iplib.sh
source tests/interop/iplib.sh
LAB_PREFIX=ikdemo
lab_init 2>/dev/null
DEADLINE=$((SECONDS + 115))
trap 'lab_teardown' EXIT

# --- 2. the lab
say "Lab: A (ikepulse) + B1, B2 (strongSwan 5.9.8) on a switch, a host behind each, in network namespaces"
{
  lab_switch_create
  lab_gw_add a 192.0.2.1/24 198.51.100.1/24 198.51.100.10/24
  lab_gw_add b1 192.0.2.2/24 203.0.113.1/24 203.0.113.10/24
  lab_gw_add b2 192.0.2.3/24 203.0.113.1/24 203.0.113.10/24
  for b in b1 b2; do
    ip=192.0.2.2
    [[ $b == b2 ]] && ip=192.0.2.3
    lab_charon_config "$b" local=$ip remote=192.0.2.1 psk=lab-secret-not-for-production \
      local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=10s dpd_timeout=30s \
      log="default=1 ike=2 cfg=1" extra_charon="    keep_alive = 0s"
    lab_charon_start "$b"
  done
  lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
} 2>"$LAB_WORK/lab.err" || die "lab setup failed: $(tail -3 "$LAB_WORK/lab.err")"
note "B1 charon pid ${LAB_CHARON_PID[b1]}, B2 charon pid ${LAB_CHARON_PID[b2]}; work dir $LAB_WORK"
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers="192.0.2.2 192.0.2.3" keepalive="10 periodic" keep_up=1
say "ikepulse configuration (A)"
sed 's/^/    /' "$LAB_WORK/a.cfg" | sed -E "s/(keepalive.*|set peer.*|ikepulse keep-up)/$Y\1$N/"

say "Starting ikepulsed --debug in A; waiting for the tunnel to B1"
ikp_start a "$LAB_WORK/a.cfg" --debug 2>>"$LAB_WORK/lab.err"
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer 192\.0\.2\.2" 15 2>/dev/null || die "tunnel to B1 did not come up (see $LOG)"
lab_wait_cmd 5 test -n "$(ikp_sa_spis a)"
grep -m1 "Crypto tunnel is UP" "$LOG" | sed "s/^/    $G/; s/\$/$N/"
grep -m1 "DATAPLANE" "$LOG" | sed "s/^/    /"

say "Continuous ping from the host behind A: 198.51.100.10 -> 203.0.113.10, every 0.2 s"
PING=$LAB_WORK/ping.txt
lab_ns_bg "$(lab_ns a-host)" "$PING" stdbuf -oL ping -D -n -i 0.2 -W 1 -w 90 203.0.113.10
PING_PID=$LAB_LAST_PID
lab_wait_count "$PING" "bytes from" 10 10 2>/dev/null || die "no ping replies through B1 (see $PING)"
grep "bytes from" "$PING" | tail -3 | sed "s/^/    /"
# ping_ts LINE: the epoch seconds ping -D put in brackets.
ping_ts() { local l=${1#[}; echo "${l%%]*}"; }
echo
printf '    %sA# show crypto isakmp sa%s\n' "$B" "$N"
ikp_cli a "show crypto isakmp sa" | sed 's/^/    /'
printf '    %sA# show crypto ipsec sa%s\n' "$B" "$N"
ikp_cli a "show crypto ipsec sa" | sed 's/^/    /'

# --- 4. kill B1 and watch
say "Killing B1's charon (SIGKILL, pid ${LAB_CHARON_PID[b1]}): a dead peer that says nothing"
kill_ms=$(date +%s.%3N)
start_line=$(wc -l <"$LOG")
ping_seen=$(wc -l <"$PING")
lab_kill_charon b1 KILL
note "periodic DPD: an R-U-THERE every 10 s whatever the traffic (inbound ESP does not defer it in"
note "periodic mode); the first unanswered one gets 4 retries 2 s apart, dead 2 s after the last:"
note "the verdict comes 10 s after the first unanswered R-U-THERE, 10-20 s after the kill"
note "the ping keeps sending; ikepulse encrypts it for B1 until the verdict, then for B2"
printf '    %s%9s  %s%s\n' "$D" "since kill" "ikepulse debug (DPD lines)" "$N"
pat="${IKP_DPD_RE}|Crypto tunnel is UP|beginning Main Mode"
seen=$start_line
done_at=0
retry=0
n=0
while ((SECONDS < DEADLINE && n < 900)); do
  total=$(wc -l <"$LOG")
  if ((total > seen)); then
    while IFS= read -r line; do
      [[ $line =~ $pat ]] || continue
      t=$(ikp_log_epoch "$line")
      el=$(ikp_fsub "$t" "$kill_ms")
      msg=${line#*: }
      msg=${msg#ISAKMP:(*):}
      col="" tag=""
      case $line in
        *IKE_TIMER_IM_ALIVE*) col=$Y tag="<- R-U-THERE sent" ;;
        *IKE_TIMER_PEERS_ALIVE*) retry=$((retry + 1)) col=$Y tag="<- retransmission $retry/4" ;;
        *"incrementing error counter"*) col=$Y ;;
        *"not responding!"*) col=$R$B tag="<- verdict" ;;
        *"Crypto tunnel is DOWN"*) col=$R ;;
        *"beginning Main Mode"*) col=$C tag="<- failover: next set peer" ;;
        *"Crypto tunnel is UP"*) col=$G$B ;;
      esac
      printf '    %s%+8.3fs  %s%s%s %s%s%s\n' "$D" "$el" "$N$col" "$msg" "$N" "$D" "$tag" "$N"
      [[ $line == *"Crypto tunnel is UP. Peer 192.0.2.3"* ]] && done_at=1
    done < <(sed -n "$((seen + 1)),${total}p" "$LOG" | awk '/sending packet/ || !s[$0]++')
    seen=$total
  fi
  # The ping: the first reply after the verdict is the one through B2.
  ptotal=$(wc -l <"$PING")
  if ((done_at && ptotal > ping_seen)); then
    while IFS= read -r line; do
      [[ $line == *"bytes from"* ]] || continue
      t=$(ping_ts "$line")
      ikp_fcmp "$t > $(ikp_log_epoch "$(grep -m1 'peer 192.0.2.2 not responding!' "$LOG")")" || continue
      printf '    %s%+8.3fs  %sping: %s%s %s<- the ping answered again, through B2%s\n' "$D" \
        "$(ikp_fsub "$t" "$kill_ms")" "$N$G$B" "${line#*] }" "$N" "$D" "$N"
      done_at=2
      break
    done < <(sed -n "$((ping_seen + 1)),${ptotal}p" "$PING")
    ping_seen=$ptotal
  fi
  ((done_at == 2)) && break
  sleep 0.1
  n=$((n + 1))
done
((done_at)) || die "no failover to B2 before the deadline (see $LOG)"
((done_at == 2)) || die "the ping did not resume through B2 before the deadline (see $PING)"
sleep 1
lab_stop_pid "$PING_PID"
lab_wait_for "$(lab_charon_log b2)" "CHILD_SA .* established" 5 2>/dev/null
lab_wait_cmd 5 test -n "$(ikp_sa_spis a)"

# --- 5. back up, figures
say "Tunnel back up with B2"
printf '    %sA# show crypto isakmp sa%s\n' "$B" "$N"
ikp_cli a "show crypto isakmp sa" | sed 's/^/    /'
printf '    %sA# show crypto ipsec sa%s  (counters)\n' "$B" "$N"
ikp_cli a "show crypto ipsec sa" | grep -E "current_peer|#pkts" | sed 's/^/    /'
lab_capture_stop 2>/dev/null
# Last UDP (IKE / ESP-in-UDP) from B1; B1's kernel answers the ESP still sent to it after the
# kill with ICMP port unreachable, which is not a sign of life.
last_b1=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==192.0.2.2 && udp && !icmp" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
# Ping outage: the largest gap between consecutive replies.
read -r p_last p_first < <(awk '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0
    if (p != "" && ts - p > g) { g = ts - p; a = p; b = ts } p = ts }
  END { if (g > 0) printf "%.6f %.6f\n", a, b }' "$PING")
lost=$(awk '/icmp_seq=/ { split($0, a, "icmp_seq="); s = a[2] + 0; r[s] = 1; if (s > m) m = s }
  END { for (i = 1; i <= m; i++) if (!(i in r)) n++; print n + 0 }' "$PING")
t_dead=$(ikp_log_epoch "$(grep -m1 'peer 192.0.2.2 not responding!' "$LOG")")
t_up=$(ikp_log_epoch "$(grep -m1 'Crypto tunnel is UP. Peer 192.0.2.3' "$LOG")")
t_sa=$(ikp_log_epoch "$(grep -m1 'IPSEC(create_sa).*sa_dest= 192.0.2.3' "$LOG")")
det=$(ikp_fsub "$t_dead" "${last_b1:-$kill_ms}")
say "Measured"
printf '    detection: %s%s s%s from the last packet received from B1 to "peer 192.0.2.2 not responding!"\n' "$B" "$det" "$N"
printf '               (%s s after the SIGKILL; expected: 10 s after the first unanswered R-U-THERE, which\n               goes out up to 10 s after the kill: 10-20 s)\n' "$(ikp_fsub "$t_dead" "$kill_ms")"
printf '    failover:  %s%s s%s from the verdict to ISAKMP SA up with B2, %s s to its IPsec SAs\n' "$B" \
  "$(ikp_fsub "$t_up" "$t_dead")" "$N" "$(ikp_fsub "$t_sa" "$t_dead")"
if [[ -n ${p_last:-} ]]; then
  printf '    ping:      %s%s s%s without replies (last through B1 %s, first through B2 %s; %s of them lost)\n' \
    "$B" "$(ikp_fsub "$p_first" "$p_last")" "$N" "$(date -d "@$p_last" +%T.%3N)" \
    "$(date -d "@$p_first" +%T.%3N)" "$lost"
fi
note "strongSwan B2: $(ikp_swan_sa b2 ike_state) $(ikp_swan_sa b2 proposal), CHILD_SA $(ikp_swan_sa b2 child_state) $(ikp_swan_sa b2 encap)"
say "Tearing down (namespaces, ikepulsed, charon B2, tcpdump)"
exit 0
