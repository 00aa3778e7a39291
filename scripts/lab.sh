#!/usr/bin/env bash
# scripts/lab.sh — the ikepulse DPD failover demo on a fresh Debian 12 machine (run as root).
#
#   sudo scripts/lab.sh            IKEv1: crypto isakmp keepalive, Main Mode
#   sudo scripts/lab.sh --ikev2    IKEv2 (FlexVPN: crypto ikev2 profile with `dpd 10 2 periodic`,
#                                  the entry `set ikev2-profile`; strongSwan `version = 2`)
#
# 1. installs the dependencies (scripts/install-deps.sh) and builds the release preset if the
#    binaries are missing (IKP_BUILD=<dir> uses an existing build instead);
# 2. builds a lab of network namespaces (documentation addresses only, nothing leaves them):
#      host 198.51.100.10 -- A  ikepulse   192.0.2.1  `crypto isakmp keepalive 10 periodic`
#                                (--ikev2: the profile's `dpd 10 2 periodic`),
#                                crypto map: set peer B1, set peer B2; userspace ESP (TUN ikp0)
#      host 203.0.113.10  -- B1 strongSwan 192.0.2.2  (kernel-libipsec)
#      host 203.0.113.10  -- B2 strongSwan 192.0.2.3  (kernel-libipsec)
#    (one host behind each strongSwan gateway, same address: reachable through either peer);
# 3. brings the tunnel up with B1, starts a continuous ping (every 0.2 s) from the host behind
#    A to 203.0.113.10 and shows `show crypto isakmp sa` / `show crypto ipsec sa`;
# 4. SIGKILLs B1's charon and prints ikepulse's DPD (IKEv2: liveness) trace live, with seconds
#    since the kill;
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

V2=0
for arg in "$@"; do
  case $arg in
    --ikev2) V2=1 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (usage: $0 [--ikev2])" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root (network namespaces): sudo $0 $*"

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
VER=IKEv1
((V2)) && VER=IKEv2
say "Lab ($VER): A (ikepulse) + B1, B2 (strongSwan 5.9.8) on a switch, a host behind each, in network namespaces"
SWAN_V2=()
((V2)) && SWAN_V2=(version=2 proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256)
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
      log="default=1 ike=2 cfg=1" extra_charon="    keep_alive = 0s" "${SWAN_V2[@]}"
    lab_charon_start "$b"
  done
  lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
} 2>"$LAB_WORK/lab.err" || die "lab setup failed: $(tail -3 "$LAB_WORK/lab.err")"
note "B1 charon pid ${LAB_CHARON_PID[b1]}, B2 charon pid ${LAB_CHARON_PID[b2]}; work dir $LAB_WORK"
if ((V2)); then
  ikp_flex_config "$LAB_WORK/a.cfg" "aes-cbc-128 sha256 - 14" "esp-aes esp-sha256-hmac" "10 2 periodic" 1 \
    192.0.2.2 192.0.2.3
  SHOW_IKE="show crypto ikev2 sa"
else
  ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers="192.0.2.2 192.0.2.3" keepalive="10 periodic" keep_up=1
  SHOW_IKE="show crypto isakmp sa"
fi
say "ikepulse configuration (A)"
sed 's/^/    /' "$LAB_WORK/a.cfg" | sed -E "s/(keepalive.*| dpd .*|set peer.*|set ikev2-profile.*|ikepulse keep-up)/$Y\1$N/"

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
printf '    %sA# %s%s\n' "$B" "$SHOW_IKE" "$N"
ikp_cli a "$SHOW_IKE" | sed 's/^/    /'
printf '    %sA# show crypto ipsec sa%s\n' "$B" "$N"
ikp_cli a "show crypto ipsec sa" | sed 's/^/    /'

# --- 4. kill B1 and watch
say "Killing B1's charon (SIGKILL, pid ${LAB_CHARON_PID[b1]}): a dead peer that says nothing"
kill_ms=$(date +%s.%3N)
start_line=$(wc -l <"$LOG")
ping_seen=$(wc -l <"$PING")
lab_kill_charon b1 KILL
if ((V2)); then
  note "IKEv2 periodic liveness: an empty INFORMATIONAL request 10 s after the last IKE message from"
  note "the peer (inbound ESP does not defer it in periodic mode); unanswered, it is resent 4 times 2 s"
  note "apart, dead 2 s after the last: 10 s after the first check, 10-20 s after the kill"
else
  note "periodic DPD: an R-U-THERE every 10 s whatever the traffic (inbound ESP does not defer it in"
  note "periodic mode); the first unanswered one gets 4 retries 2 s apart, dead 2 s after the last:"
  note "the verdict comes 10 s after the first unanswered R-U-THERE, 10-20 s after the kill"
fi
note "the ping keeps sending; ikepulse encrypts it for B1 until the verdict, then for B2"
printf '    %s%9s  %s%s\n' "$D" "since kill" "ikepulse debug (DPD lines)" "$N"
pat="${IKP_DPD_RE}|Crypto tunnel is UP|beginning Main Mode|Sending liveness check|Liveness retry|Sending IKE_SA_INIT request"
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
      msg=${msg#IKEv2:(SA ID = *):}
      col="" tag=""
      case $line in
        *IKE_TIMER_IM_ALIVE*) col=$Y tag="<- R-U-THERE sent" ;;
        *"Sending liveness check"*) col=$Y tag="<- liveness check sent" ;;
        *"Liveness retry"*) retry=$((retry + 1)) col=$Y tag="<- retransmission $retry/4" ;;
        *"Sending IKE_SA_INIT request"*) col=$C tag="<- failover: next set peer" ;;
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
printf '    %sA# %s%s\n' "$B" "$SHOW_IKE" "$N"
ikp_cli a "$SHOW_IKE" | sed 's/^/    /'
printf '    %sA# show crypto ipsec sa%s  (counters)\n' "$B" "$N"
ikp_cli a "show crypto ipsec sa" | grep -E "current_peer|#pkts" | sed 's/^/    /'
lab_capture_stop 2>/dev/null
# Last UDP (IKE / ESP-in-UDP) from B1; B1's kernel answers the ESP still sent to it after the
# kill with ICMP port unreachable, which is not a sign of life.
# IKEv2 (periodic): inbound ESP is not liveness, so the clock runs from B1's last IKE message.
last_filter="ip.src==192.0.2.2 && udp && !icmp"
((V2)) && last_filter="ip.src==192.0.2.2 && isakmp"
last_b1=$(tshark -r "$LAB_WORK/a.pcap" -Y "$last_filter" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
# Ping outage: the largest gap between consecutive replies.
read -r p_last p_first < <(awk '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0
    if (p != "" && ts - p > g) { g = ts - p; a = p; b = ts } p = ts }
  END { if (g > 0) printf "%.6f %.6f\n", a, b }' "$PING")
lost=$(awk '/icmp_seq=/ { split($0, a, "icmp_seq="); s = a[2] + 0; r[s] = 1; if (s > m) m = s }
  END { for (i = 1; i <= m; i++) if (!(i in r)) n++; print n + 0 }' "$PING")
t_dead=$(ikp_log_epoch "$(grep -m1 'peer 192.0.2.2 not responding!' "$LOG")")
t_up=$(ikp_log_epoch "$(grep -m1 'Crypto tunnel is UP. Peer 192.0.2.3' "$LOG")")
if ((V2)); then
  t_sa=$t_up  # the Child SA comes up with the IKE SA (IKE_AUTH)
else
  t_sa=$(ikp_log_epoch "$(grep -m1 'IPSEC(create_sa).*sa_dest= 192.0.2.3' "$LOG")")
fi
det=$(ikp_fsub "$t_dead" "${last_b1:-$kill_ms}")
say "Measured"
what="packet"
((V2)) && what="IKE message"
printf '    detection: %s%s s%s from the last %s received from B1 to "peer 192.0.2.2 not responding!"\n' "$B" "$det" "$N" "$what"
printf '               (%s s after the SIGKILL; expected: 10 s after the first unanswered check, which\n               goes out up to 10 s after the kill: 10-20 s)\n' "$(ikp_fsub "$t_dead" "$kill_ms")"
printf '    failover:  %s%s s%s from the verdict to the %s SA up with B2, %s s to its IPsec SAs\n' "$B" \
  "$(ikp_fsub "$t_up" "$t_dead")" "$N" "$( ((V2)) && echo IKEv2 || echo ISAKMP)" "$(ikp_fsub "$t_sa" "$t_dead")"
if [[ -n ${p_last:-} ]]; then
  printf '    ping:      %s%s s%s without replies (last through B1 %s, first through B2 %s; %s of them lost)\n' \
    "$B" "$(ikp_fsub "$p_first" "$p_last")" "$N" "$(date -d "@$p_last" +%T.%3N)" \
    "$(date -d "@$p_first" +%T.%3N)" "$lost"
fi
if ((V2)); then
  note "strongSwan B2: $(lab_list_sas b2 2>/dev/null | awk '/IKEv2/ { gsub(",", "", $3); s = $3; f = 1; next }
    f && /^  [A-Z0-9_]+[-\/]/ { p = $1; f = 0 } /reqid/ { gsub(",", "", $5); gsub(",", "", $6); c = $5 " " $6 }
    END { print "IKEv2 " s " " p ", CHILD_SA " c }')"
else
  note "strongSwan B2: $(ikp_swan_sa b2 ike_state) $(ikp_swan_sa b2 proposal), CHILD_SA $(ikp_swan_sa b2 child_state) $(ikp_swan_sa b2 encap)"
fi
say "Tearing down (namespaces, ikepulsed, charon B2, tcpdump)"
exit 0
