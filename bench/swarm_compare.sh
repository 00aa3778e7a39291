#!/usr/bin/env bash
# swarm_compare.sh N: the same swarm of N IKEv1 peers (ikepulse_swarm) against two gateways in
# one run, one after the other: (a) ikepulsed (--no-dataplane), (b) strongSwan's charon. A
# benchmark, not a test. Needs root.
#
# Topology (the same for both gateways): two network namespaces created by this script and named
# after its pid, ikpswg<pid> (the gateway) and ikpsws<pid> (the swarm), joined by one veth pair:
# gateway 192.0.2.1/30, swarm side 192.0.2.2/30. The N peer addresses are 198.18.0.1 + i (i < N,
# inside 198.18.0.0/15, the benchmarking range): local to the swarm namespace through one
# `local 198.18.0.0/15 dev lo` route, reached from the gateway namespace through one route via
# 192.0.2.2. So the gateway has one neighbour (192.0.2.2) whatever N is: no neighbour-table
# tuning, nothing changed outside the two namespaces. 198.51.100.1 is on the gateway's lo (the
# gateway's protected network 198.51.100.0/24; charon's userspace ESP routes need a local source
# in it). Everything uses UDP 500 inside the namespaces.
#
# Gateways, same suite (IKE AES-128/SHA-1/PSK, DH group GROUP (19, or 14), ESP AES-128/SHA-1,
# one IPsec SA per peer: 198.51.100.0/24 <-> 203.0.113.0/24):
#   ikepulsed  `crypto isakmp keepalive 10 periodic` (retry 2: a silent peer is declared dead
#              20 s after its last packet), one `crypto map green i` entry per peer.
#   charon     strongSwan 5.9.8, one connection answering the whole range (remote_addrs =
#              198.18.0.0/15, unique = never), dpd_delay = 10s, dpd_timeout = 30s,
#              dpd_action = clear; kernel-libipsec (this kernel has no ESP) loaded before
#              kernel-netlink; IKE SA table ikesa_table_size = 65536 / 16 segments (the default
#              is one bucket, a linked list); run in a private mount namespace with its own /run
#              (its pid file path is compiled in) and its vici socket in the work directory.
#
# IKEV2=1: the same with IKEv2 (ikepulse_swarm --ikev2: IKE_SA_INIT + IKE_AUTH with PSK and one
# Child SA per peer, answering the gateway's empty INFORMATIONAL liveness probes). Suite: IKE
# AES-CBC-128/SHA-256/DH GROUP, ESP AES-128/SHA-1.
#   ikepulsed  FlexVPN: one proposal, policy, a keyring with one wildcard peer, profile FLEX with
#              `dpd 10 2 periodic` (a silent peer is declared dead 20 s after its last packet),
#              and `set ikev2-profile FLEX` in every `crypto map green i` entry.
#   charon     the same connection with `version = 2` and `dpd_delay = 10s` (dpd_timeout is
#              IKEv1's; an IKEv2 peer is dead when charon's retransmissions of the liveness
#              request run out: with the default retransmit_timeout 4 s, retransmit_base 1.8,
#              retransmit_tries 5, about 165 s after the first probe), dpd_action = clear.
# Neither sends a Delete for a dead IKEv2 peer, so detection is the gateway's own record:
# ikepulsed's log ("Crypto tunnel is DOWN. Peer A", wall clock in ms, truncated: a verdict at
# 20.0003 s can read 19.999) and charon's ike-updown events, each against the killed peer's last
# packet (the swarm's timeline). OBSERVE (seconds after the kill) defaults to 35 for ikepulsed
# and 45 for charon, and to 200 for charon with IKEV2=1.
#
# For each gateway: start it, wait for it to listen, run the swarm (--gw-pid = the gateway's pid:
# the swarm reads its CPU and VmRSS from /proc), stop the gateway (TERM, KILL after a deadline).
# The swarm reports setup time, the gateway's CPU per DPD message over a WINDOW-second steady
# state, its CPU share, RSS per SA, and the detection time of KILL_FRACTION of the peers killed at
# once (time from a killed peer's last packet to the gateway's Delete arriving at it).
#
#   bench/swarm_compare.sh 1000
#   BUILD=build/release GROUP=19 WINDOW=60 RATE=500 GATEWAYS="ikepulse charon" bench/swarm_compare.sh 10000
#
# CHARON_COOKIE_THRESHOLD: charon's cookie_threshold (unset: charon's default). Above that many
# half-open IKE_SAs charon answers an IKE_SA_INIT with a COOKIE, which ikepulse's IKEv2 initiator
# (the swarm's peers) does not support yet: it drops such a response as malformed, retransmits
# and gives up, so a burst of IKEv2 peers gets only some of its SAs from charon unless this is
# raised.
# Environment: IKEV2 (0; 1 = IKEv2 peers), OBSERVE (see above), BUILD (build/release), GROUP (19), WINDOW (60), RATE (initiations per second,
# 500), KILL_FRACTION (0.01), SETUP_TIMEOUT (s, default 60 + N/RATE*3), GATEWAYS ("ikepulse
# charon"), OUT (a directory to keep the outputs and timelines in), KEEP=1 (keep the work dir),
# IKP_CAC (ikepulsed: `crypto call admission limit ike in-negotiation-sa IKP_CAC`; its default
# half-open bound is 1,000, which a burst of more simultaneous Main Modes than that overruns).
set -uo pipefail

N=${1:-}
[[ $N =~ ^[0-9]+$ ]] && ((N >= 1 && N <= 200000)) || { echo "usage: $0 N (1..200000)" >&2; exit 2; }
((EUID == 0)) || { echo "needs root (network namespaces, UDP 500)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$here/../build/release}
GROUP=${GROUP:-19}
WINDOW=${WINDOW:-60}
RATE=${RATE:-500}
KILL_FRACTION=${KILL_FRACTION:-0.01}
GATEWAYS=${GATEWAYS:-"ikepulse charon"}
IKEV2=${IKEV2:-0}
[[ $IKEV2 == 0 || $IKEV2 == 1 ]] || { echo "IKEV2 must be 0 or 1" >&2; exit 2; }
SETTLE=${SETTLE:-5}
if ((RATE > 0)); then def_setup=$((60 + 3 * N / RATE)); else def_setup=$((60 + N / 50)); fi
SETUP_TIMEOUT=${SETUP_TIMEOUT:-$def_setup}
swarm=$BUILD/bench/ikepulse_swarm
ikepulsed=$BUILD/src/daemon/ikepulsed
charon=/usr/lib/ipsec/charon
[[ $GROUP == 19 || $GROUP == 14 ]] || { echo "GROUP must be 19 or 14" >&2; exit 2; }
[[ -x $swarm ]] || { echo "need $swarm (cmake --build --preset release --target ikepulse_swarm)" >&2; exit 2; }

nsg=ikpswg$$
nss=ikpsws$$
vg=ikpvg$$
vs=ikpvs$$
work=$(mktemp -d /tmp/ikepulse_swarm_compare.XXXXXX)
pids=()
made_ns=()
log() { echo "swarm_compare: $*" >&2; }
forget_pid() {  # removes $1 from pids
  local p keep=()
  for p in "${pids[@]}"; do [[ $p != "$1" ]] && keep+=("$p"); done
  pids=("${keep[@]}")
}

stop_pid() {  # TERM, then KILL after $2 seconds (default 20)
  local p=$1 d=${2:-20}
  kill -TERM "$p" 2>/dev/null || return 0
  timeout "$d" tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
}
cleanup() {
  local p n
  for p in "${pids[@]}"; do stop_pid "$p" 20; done
  pids=()
  for n in "${made_ns[@]}"; do ip netns delete "$n" 2>/dev/null || log "could not delete netns $n"; done
  if [[ -n ${KEEP:-} ]]; then log "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- namespaces ----------------------------------------------------------------------------
ip netns add "$nsg" && made_ns+=("$nsg") || exit 1
ip netns add "$nss" && made_ns+=("$nss") || exit 1
ip link add "$vg" type veth peer name "$vs" || exit 1
ip link set "$vg" netns "$nsg" && ip link set "$vs" netns "$nss" || exit 1
ip -n "$nsg" link set lo up
ip -n "$nsg" addr add 192.0.2.1/30 dev "$vg"
ip -n "$nsg" link set "$vg" up
ip -n "$nsg" addr add 198.51.100.1/32 dev lo
ip -n "$nsg" route add 198.18.0.0/15 via 192.0.2.2
ip -n "$nss" link set lo up
ip -n "$nss" addr add 192.0.2.2/30 dev "$vs"
ip -n "$nss" link set "$vs" up
ip -n "$nss" route add local 198.18.0.0/15 dev lo
# A crypto map numbers its entries 1-65535 and an interface carries one map, so ikepulsed gets
# one interface (and address) per block of PER_GW peers: block 0 talks to 192.0.2.1, block m > 0
# to 192.0.2.(128+m) (on the gateway's lo). charon answers on all of them the same way.
PER_GW=50000
blocks=$(((N - 1) / PER_GW + 1))
gw_addrs=192.0.2.1
for ((m = 1; m < blocks; m++)); do
  ip -n "$nsg" addr add "192.0.2.$((128 + m))/32" dev lo
  gw_addrs+=",192.0.2.$((128 + m))"
done
ip -n "$nss" route add 192.0.2.128/25 via 192.0.2.1
# Bounded wait for the link (no bare sleep: each try is a 1-packet ping with a 1 s deadline).
ok=0
for ((i = 0; i < 20; i++)); do
  if ip netns exec "$nss" ping -c1 -W1 -I 198.18.0.1 192.0.2.1 >/dev/null 2>&1; then ok=1; break; fi
done
((ok)) || { log "the veth link does not pass traffic"; exit 1; }

psk="swarm-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
umask 077
printf '%s\n' "$psk" >"$work/psk"

# Peer i (0-based) address: 198.18.0.1 + i.
peer_list() {
  awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) { v = 198 * 16777216 + 18 * 65536 + 1 + i;
    printf "%d.%d.%d.%d\n", int(v / 16777216), int(v / 65536) % 256, int(v / 256) % 256, v % 256 } }'
}

ikepulse_config() {
  if ((IKEV2)); then
    ikepulse_config_v2
    return
  fi
  cat <<CFG
hostname gw
crypto isakmp policy 10
 encryption aes
 hash sha
 authentication pre-share
 group $GROUP
crypto isakmp key $psk address 0.0.0.0 0.0.0.0
crypto isakmp keepalive 10 periodic
${IKP_CAC:+crypto call admission limit ike in-negotiation-sa $IKP_CAC}
crypto ipsec transform-set TS esp-aes esp-sha-hmac
access-list 102 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255
CFG
  peer_list | awk -v per="$PER_GW" '{ m = int((NR - 1) / per); printf "crypto map green%s %d ipsec-isakmp\n set peer %s\n set transform-set TS\n match address 102\n", (m ? m : ""), (NR - 1) % per + 1, $1 }'
  printf 'interface GigabitEthernet0/0\n ip address 192.0.2.1 255.255.255.252\n crypto map green\n'
  for ((m = 1; m < blocks; m++)); do
    printf 'interface Loopback%d\n ip address 192.0.2.%d 255.255.255.255\n crypto map green%d\n' "$m" "$((128 + m))" "$m"
  done
  echo end
}

# The IKEv2 gateway: FlexVPN objects, then one `crypto map green i` entry per peer with
# `set ikev2-profile FLEX`.
ikepulse_config_v2() {
  cat <<CFG
hostname gw
crypto ikev2 proposal P1
 encryption aes-cbc-128
 integrity sha256
 group $GROUP
crypto ikev2 policy POL
 proposal P1
crypto ikev2 keyring KR
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key $psk
crypto ikev2 profile FLEX
 match identity remote address 0.0.0.0 0.0.0.0
 authentication remote pre-share
 authentication local pre-share
 keyring local KR
 dpd 10 2 periodic
${IKP_CAC:+crypto call admission limit ike in-negotiation-sa $IKP_CAC}
crypto ipsec transform-set TS esp-aes esp-sha-hmac
access-list 102 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255
CFG
  peer_list | awk -v per="$PER_GW" '{ m = int((NR - 1) / per); printf "crypto map green%s %d ipsec-isakmp\n set peer %s\n set transform-set TS\n set ikev2-profile FLEX\n match address 102\n", (m ? m : ""), (NR - 1) % per + 1, $1 }'
  printf 'interface GigabitEthernet0/0\n ip address 192.0.2.1 255.255.255.252\n crypto map green\n'
  for ((m = 1; m < blocks; m++)); do
    printf 'interface Loopback%d\n ip address 192.0.2.%d 255.255.255.255\n crypto map green%d\n' "$m" "$((128 + m))" "$m"
  done
  echo end
}

charon_conf() {
  local prop=ecp256 ver=1 ike_prop dpd_timeout="    dpd_timeout = 30s"
  [[ $GROUP == 14 ]] && prop=modp2048
  ike_prop=aes128-sha1-$prop
  if ((IKEV2)); then
    ver=2
    ike_prop=aes128-sha256-$prop
    dpd_timeout=""
  fi
  cat >"$work/strongswan.conf" <<CONF
charon {
  load = random nonce aes sha1 sha2 hmac gmp kdf pem pkcs1 pubkey x509 openssl kernel-libipsec kernel-netlink socket-default vici
  load_modular = no
  install_virtual_ip = no
  keep_alive = 0s
${CHARON_COOKIE_THRESHOLD:+  cookie_threshold = $CHARON_COOKIE_THRESHOLD}
  ikesa_table_size = 65536
  ikesa_table_segments = 16
  plugins {
    vici {
      socket = unix://$work/charon.vici
    }
  }
  filelog {
    stderr {
      default = 0
$(for lv in ${CHARON_LOG:-}; do echo "      ${lv%%=*} = ${lv#*=}"; done)
      time_format = %s
      time_add_ms = yes
      flush_line = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
    auth {
      default = -1
    }
  }
}
swanctl {
  load = pem pkcs1 x509 pubkey random openssl
}
CONF
  cat >"$work/swanctl.conf" <<CONF
connections {
  gw {
    version = $ver
    aggressive = no
    local_addrs = %any
    remote_addrs = 198.18.0.0/15
    proposals = $ike_prop
    dpd_delay = 10s
$dpd_timeout
    unique = never
    local {
      auth = psk
    }
    remote {
      auth = psk
    }
    children {
      c {
        mode = tunnel
        local_ts = 198.51.100.0/24
        remote_ts = 203.0.113.0/24
        esp_proposals = aes128-sha1
        dpd_action = clear
      }
    }
  }
}
secrets {
  ike-any {
    secret = "$psk"
  }
}
CONF
}

# Starts the gateway $1; sets gw_pid. Returns non-zero if it did not come up.
start_gateway() {
  local gw=$1 i
  gw_pid=
  case $gw in
    ikepulse)
      [[ -x $ikepulsed ]] || { log "no $ikepulsed"; return 1; }
      ikepulse_config >"$work/gw.cfg"
      : >"$work/ikepulse.log"
      ip netns exec "$nsg" "$ikepulsed" -f "$work/gw.cfg" --log "$work/ikepulse.log" \
        --socket "$work/ikepulse.sock" --foreground --no-dataplane 2>"$work/ikepulse.stderr" &
      gw_pid=$!
      pids+=("$gw_pid")
      # Bounded: the control socket appears once the configuration is applied.
      for ((i = 0; i < 3000; i++)); do
        [[ -S $work/ikepulse.sock ]] && return 0
        kill -0 "$gw_pid" 2>/dev/null || break
        timeout 0.1 tail --pid="$gw_pid" -f /dev/null
      done
      log "ikepulsed did not start: $(tail -3 "$work/ikepulse.stderr")"
      return 1
      ;;
    charon)
      [[ -x $charon ]] || { log "no $charon (scripts/install-deps.sh)"; return 1; }
      charon_conf
      mkdir -p "$work/run"
      ip netns exec "$nsg" unshare --mount --propagation private env STRONGSWAN_CONF="$work/strongswan.conf" \
        bash -c "mount --bind '$work/run' /run && exec '$charon'" 2>"$work/charon.log" &
      gw_pid=$!
      pids+=("$gw_pid")
      for ((i = 0; i < 300; i++)); do
        [[ -S $work/charon.vici ]] && break
        kill -0 "$gw_pid" 2>/dev/null || break
        timeout 0.1 tail --pid="$gw_pid" -f /dev/null
      done
      [[ -S $work/charon.vici ]] || { log "charon did not start: $(tail -3 "$work/charon.log")"; return 1; }
      # Bounded: the socket file can exist a moment before charon answers on it.
      for ((i = 0; i < 20; i++)); do
        ip netns exec "$nsg" env STRONGSWAN_CONF="$work/strongswan.conf" timeout 30 swanctl --load-all \
          --uri "unix://$work/charon.vici" --noprompt --file "$work/swanctl.conf" >"$work/swanctl.out" 2>&1 && break
        timeout 0.25 tail --pid="$gw_pid" -f /dev/null
      done
      ((i < 20)) || { log "swanctl --load-all failed: $(tail -3 "$work/swanctl.out")"; return 1; }
      return 0
      ;;
  esac
  return 1
}

# ikepulse_detection OUT TIMELINE LOG (IKEv2): the same from ikepulsed's log, whose lines start
# with the local wall clock "*Mon DD HH:MM:SS.mmm:" (no year; the run does not cross a day
# boundary by more than the day's wrap handled below).
ikepulse_detection() {
  local start midnight
  start=$(awk -F= '$1 == "start_epoch" { print $2 }' "$1")
  midnight=$(date -d "$(date -d "@${start%.*}" +%F)" +%s)
  awk -v start="$start" -v midnight="$midnight" '
    FNR == NR {
      if (FNR > 1) { killed[$2] = $3; last[$2] = $6 }
      next
    }
    /Crypto tunnel is DOWN\. Peer / {
      t = $3; sub(/:$/, "", t); split(t, hms, ":")
      e = midnight + hms[1] * 3600 + hms[2] * 60 + hms[3]
      if (e < start - 43200) e += 86400
      if (match($0, /Peer [0-9.]+/)) {
        a = substr($0, RSTART + 5, RLENGTH - 5)
        if (!(a in seen)) { seen[a] = 1; if (killed[a] == 1) d[++n] = e - start - last[a]; else fd++ }
      }
    }
    END {
      for (i = 2; i <= n; i++) { v = d[i]; for (j = i - 1; j >= 1 && d[j] > v; j--) d[j + 1] = d[j]; d[j + 1] = v }
      printf "killed_detected=%d\n", n
      printf "false_dead=%d\n", fd + 0
      if (n > 0) {
        printf "detect_min_s=%.3f\ndetect_median_s=%.3f\ndetect_max_s=%.3f\n", d[1], d[int((n + 1) / 2)], d[n]
      }
      print "detect_source=gateway_log"
    }' FS=, "$2" FS=' ' "$3"
}

# charon_detection OUT TIMELINE EVENTS: detection times of the killed peers from charon's
# ike-updown "down" events (wall clock) and the swarm's timeline (last packet each killed peer
# sent, seconds after start_epoch). Prints key=value lines that override the swarm's own
# (Delete-based) figures; down events for peers that were not killed count as false deaths.
charon_detection() {
  local start
  start=$(awk -F= '$1 == "start_epoch" { print $2 }' "$1")
  awk -v start="$start" '
    FNR == NR {  # timeline: index,address,killed,mm1,up,last_tx,delete
      if (FNR > 1) { killed[$2] = $3; last[$2] = $6 }
      next
    }
    /ike-updown/ && !/up=yes/ {
      if (match($0, /remote-host=[0-9.]+/)) {
        a = substr($0, RSTART + 12, RLENGTH - 12)
        if (!(a in seen)) { seen[a] = 1; if (killed[a] == 1) d[++n] = $1 - start - last[a]; else fd++ }
      }
    }
    END {
      # sort d[1..n]
      for (i = 2; i <= n; i++) { v = d[i]; for (j = i - 1; j >= 1 && d[j] > v; j--) d[j + 1] = d[j]; d[j + 1] = v }
      printf "killed_detected=%d\n", n
      printf "false_dead=%d\n", fd + 0
      if (n > 0) {
        printf "detect_min_s=%.3f\ndetect_median_s=%.3f\ndetect_max_s=%.3f\n", d[1], d[int((n + 1) / 2)], d[n]
      }
      print "detect_source=gateway_events"
    }' FS=, "$2" FS=' ' "$3"
}

declare -A R
run_gateway() {
  local gw=$1 observe t0 dur rc
  case $gw in ikepulse) observe=35 ;; *) observe=45; ((IKEV2)) && observe=200 ;; esac
  observe=${OBSERVE:-$observe}
  local v2flag=()
  ((IKEV2)) && v2flag=(--ikev2)
  t0=$(date +%s)
  if ! start_gateway "$gw"; then R[$gw,status]="did not start"; return 1; fi
  log "$gw started (pid $gw_pid, $(($(date +%s) - t0)) s); swarm of $N peers"
  dur=$((SETUP_TIMEOUT + SETTLE + WINDOW + observe + 30))
  ip netns exec "$nss" "$swarm" --peers "$N" --psk-file "$work/psk" --gateway "$gw_addrs" --per-gateway "$PER_GW" \
    --group "$GROUP" --rate "$RATE" --setup-timeout "$SETUP_TIMEOUT" --settle "$SETTLE" \
    --window "$WINDOW" --kill-fraction "$KILL_FRACTION" --kill-at window --observe "$observe" \
    --duration "$dur" --gw-pid "$gw_pid" --timeline "$work/$gw.timeline.csv" "${v2flag[@]}" \
    >"$work/$gw.out" 2>"$work/$gw.progress" &
  local sp=$!
  pids+=("$sp")
  local mp=""
  if [[ $gw == charon ]]; then
    # charon deletes a peer it declares dead without sending a Delete, so its verdicts are
    # taken from its own event stream (vici ike-updown, `swanctl --monitor-sa`), each line
    # stamped with the wall clock as it arrives. Started once the steady-state window begins
    # (no events then), so it costs charon nothing during setup or the window.
    local i
    for ((i = 0; i < dur * 4; i++)); do
      grep -q "window starts" "$work/$gw.progress" 2>/dev/null && break
      kill -0 "$sp" 2>/dev/null || break
      timeout 0.25 tail --pid="$sp" -f /dev/null
    done
    mkfifo "$work/mon.fifo"
    (while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done <"$work/mon.fifo" >"$work/charon.events") &
    local rp=$!
    ip netns exec "$nsg" stdbuf -oL env STRONGSWAN_CONF="$work/strongswan.conf" swanctl --monitor-sa --raw \
      --uri "unix://$work/charon.vici" >"$work/mon.fifo" 2>/dev/null &
    mp=$!
    pids+=("$mp" "$rp")
  fi
  wait "$sp"
  rc=$?
  if [[ -n $mp ]]; then
    stop_pid "$mp" 5
    forget_pid "$mp"
    stop_pid "$rp" 5
    forget_pid "$rp"
    charon_detection "$work/$gw.out" "$work/$gw.timeline.csv" "$work/charon.events" >>"$work/$gw.out"
  fi
  forget_pid "$sp"
  if [[ $gw == ikepulse ]] && ((IKEV2)); then
    ikepulse_detection "$work/$gw.out" "$work/$gw.timeline.csv" "$work/ikepulse.log" >>"$work/$gw.out"
  fi
  [[ $rc == 0 ]] || log "$gw: swarm exit code $rc: $(tail -2 "$work/$gw.progress")"
  while IFS='=' read -r k v; do [[ -n $k ]] && R[$gw,$k]=$v; done <"$work/$gw.out"
  R[$gw,status]=ran
  stop_pid "$gw_pid" 60
  forget_pid "$gw_pid"
  [[ -n ${OUT:-} ]] && { mkdir -p "$OUT"; cp "$work/$gw.out" "$work/$gw.progress" "$work/$gw.timeline.csv" "$OUT/" 2>/dev/null; }
  log "$gw done in $(($(date +%s) - t0)) s"
}

log "IKEv$((IKEV2 + 1)) N=$N group=$GROUP window=${WINDOW}s rate=${RATE}/s kill=$KILL_FRACTION loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
for gw in $GATEWAYS; do run_gateway "$gw"; done

v() { local x=${R[$1,$2]:-}; echo "${x:--}"; }
echo
echo "IKEv$((IKEV2 + 1)) N=$N group=$GROUP window=${WINDOW}s rate=${RATE}/s kill_fraction=$KILL_FRACTION commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null) date=$(date -u +%FT%TZ) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| gateway | N | SAs up | setup (s) | GW CPU per DPD msg (µs): stat / schedstat | GW CPU share (% of a core): stat / schedstat | DPD msgs in window | GW RSS per SA (B) | killed | detected | detection min / median / max (s) | live peers falsely deleted |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for gw in $GATEWAYS; do
  if [[ ${R[$gw,status]:-} != ran ]]; then echo "| $gw | $N | ${R[$gw,status]:-not run} | | | | | | | | | |"; continue; fi
  echo "| $gw | $N | $(v $gw established) | $(v $gw setup_s) | $(v $gw gw_cpu_per_dpd_msg_us) / $(v $gw gw_sched_per_dpd_msg_us) | $(v $gw gw_cpu_share_pct) / $(v $gw gw_sched_share_pct) | $(v $gw window_gw_dpd_msgs) | $(v $gw gw_rss_per_sa_b) | $(v $gw killed) | $(v $gw killed_detected) | $(v $gw detect_min_s) / $(v $gw detect_median_s) / $(v $gw detect_max_s) | $(v $gw false_dead) |"
done
