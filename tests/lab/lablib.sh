# shellcheck shell=bash
# lablib.sh — network-namespace lab for IKEv1 interop tests (sourced, not executed).
#
# What it gives a test script:
#   topology   lab_switch_create; lab_gw_add NAME WAN_CIDR [LAN_CIDR [HOST_CIDR]]
#   charon     lab_charon_config NAME key=value...; lab_charon_start NAME
#   swanctl    lab_swanctl NAME args...; lab_initiate NAME CHILD; lab_list_sas NAME;
#              lab_terminate_ike NAME IKE
#   acquire    lab_charon_acquire_relay NAME CHILD  (traffic-triggered initiation for a
#              start_action=trap child: kernel-libipsec raises no acquire; acquire_relay.sh)
#   waiting    lab_wait_for FILE ERE TIMEOUT_S; lab_wait_count FILE ERE N TIMEOUT_S
#   capture    lab_capture_start NS IFACE FILE [FILTER]; lab_capture_stop
#   any daemon lab_ns_bg NS LOGFILE cmd args...  (records the pid; ikepulse uses this too)
#   loss       lab_blackhole NAME [in|out|both]; lab_blackhole_clear NAME  (nftables)
#   teardown   lab_teardown (registered with trap by lab_init; kills recorded pids by pid,
#              TERM then KILL after a deadline, and deletes only the namespaces it created)
#
# Everything lives in a per-run work dir, $LAB_WORK (mktemp -d): configs, logs, captures.
# Namespace names carry $LAB_RUN (default: the shell's pid) so parallel runs do not collide.
# Addresses: only documentation ranges (192.0.2.0/24 WAN, 198.51.100.0/24 and
# 203.0.113.0/24 LANs). No traffic leaves the namespaces.
#
# Usage:
#   source tests/lab/lablib.sh
#   lab_init                      # work dir, trap
#   lab_switch_create
#   lab_gw_add a 192.0.2.1/24 198.51.100.1/24
#   lab_gw_add b 192.0.2.2/24 203.0.113.1/24
#   lab_charon_config a local=192.0.2.1 remote=192.0.2.2 psk=... local_ts=198.51.100.0/24 ...
#   lab_charon_start a
#   ...
# Function results are returned in globals (LAB_LAST_PID, LAB_CHARON_PID) rather than through
# $(...), because a command substitution is a subshell and would lose the recorded pids.

LAB_RUN=${LAB_RUN:-$$}
LAB_PREFIX=${LAB_PREFIX:-ikl}
LAB_WORK=${LAB_WORK:-}
LAB_KEEP=${LAB_KEEP:-0}          # 1: keep the work dir after teardown
LAB_KILL_GRACE=${LAB_KILL_GRACE:-5}  # seconds between TERM and KILL
LAB_CHARON=${LAB_CHARON:-/usr/lib/ipsec/charon}
LAB_PIDS=()          # every background process we started
LAB_NETNS=()         # every namespace we created
LAB_CAPTURE_PIDS=()  # subset of LAB_PIDS: tcpdump captures
LAB_LAST_PID=
LAB_T0=
LAB_TORN_DOWN=0

lab_log() { printf '[lab %6.2fs] %s\n' "$(lab_elapsed)" "$*" >&2; }
lab_die() { lab_log "ERROR: $*"; exit 1; }

# Seconds since lab_init, with two decimals.
lab_elapsed() {
  local now
  now=$(date +%s.%N)
  if [[ -z $LAB_T0 ]]; then echo 0; return; fi
  awk -v a="$now" -v b="$LAB_T0" 'BEGIN { printf "%.2f", a - b }'
}

# lab_init: create the work dir and register the teardown trap. Call once, first.
lab_init() {
  LAB_T0=$(date +%s.%N)
  if [[ -z $LAB_WORK ]]; then
    LAB_WORK=$(mktemp -d "/tmp/${LAB_PREFIX}-${LAB_RUN}.XXXXXX")
  else
    mkdir -p "$LAB_WORK"
  fi
  trap 'lab_teardown' EXIT
  trap 'lab_log "interrupted"; exit 130' INT TERM
  [[ $(id -u) -eq 0 ]] || lab_die "needs root (network namespaces)"
  local t
  for t in ip unshare; do command -v "$t" >/dev/null || lab_die "missing tool: $t"; done
  lab_log "work dir $LAB_WORK, run id $LAB_RUN"
}

# Full namespace name for a short name ("sw", "a", "b", "a-host").
lab_ns() { echo "${LAB_PREFIX}${LAB_RUN}-$1"; }

lab_netns_add() {
  local ns=$1
  ip netns add "$ns" || lab_die "ip netns add $ns failed"
  LAB_NETNS+=("$ns")
  ip -n "$ns" link set lo up
}

# lab_switch_create: the "internet" switch: namespace sw with bridge br0.
lab_switch_create() {
  local sw
  sw=$(lab_ns sw)
  lab_netns_add "$sw"
  ip -n "$sw" link add br0 type bridge || lab_die "bridge"
  # No STP / forwarding delay: ports forward at once.
  ip -n "$sw" link set br0 type bridge forward_delay 0 stp_state 0 2>/dev/null || true
  ip -n "$sw" link set br0 up
}

# lab_gw_add NAME WAN_CIDR [LAN_CIDR [HOST_CIDR]]
#   Creates namespace NAME with interface wan0 (veth, other end p-NAME on br0 in sw) and
#   address WAN_CIDR (e.g. 192.0.2.1/24). With LAN_CIDR (e.g. 198.51.100.1/24): without
#   HOST_CIDR the LAN is interface lan0 (a veth whose peer lan0p
#   stays in the gateway: the lab kernel has no dummy module); with HOST_CIDR (e.g. 198.51.100.10/24) it is a
#   veth lan0 to a host namespace NAME-host whose eth0 has HOST_CIDR and a default route via
#   the gateway's LAN address.
lab_gw_add() {
  local name=$1 wan=$2 lan=${3:-} host=${4:-}
  local gw sw
  gw=$(lab_ns "$name")
  sw=$(lab_ns sw)
  lab_netns_add "$gw"
  ip -n "$gw" link add wan0 type veth peer name "p-$name" netns "$sw" ||
    lab_die "veth wan0 for $name"
  ip -n "$sw" link set "p-$name" master br0
  ip -n "$sw" link set "p-$name" up
  ip -n "$gw" addr add "$wan" dev wan0
  ip -n "$gw" link set wan0 up
  ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1
  if [[ -n $lan ]]; then
    if [[ -z $host ]]; then
      # No dummy module on the lab kernel: a veth whose peer stays in the gateway.
      ip -n "$gw" link add lan0 type veth peer name lan0p
      ip -n "$gw" link set lan0p up
    else
      local hns
      hns=$(lab_ns "$name-host")
      lab_netns_add "$hns"
      ip -n "$gw" link add lan0 type veth peer name eth0 netns "$hns"
      ip -n "$hns" addr add "$host" dev eth0
      ip -n "$hns" link set eth0 up
      ip -n "$hns" route add default via "${lan%/*}"
    fi
    ip -n "$gw" addr add "$lan" dev lan0
    ip -n "$gw" link set lan0 up
  fi
}

# lab_ns_bg NS LOGFILE cmd args... : runs cmd in namespace NS (full name) in the background,
# stdout+stderr to LOGFILE; records the pid (LAB_PIDS) and sets LAB_LAST_PID.
lab_ns_bg() {
  local ns=$1 log=$2
  shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_gw_bg NAME LOGFILE cmd args... : same with a gateway short name.
lab_gw_bg() {
  local ns
  ns=$(lab_ns "$1")
  shift
  lab_ns_bg "$ns" "$@"
}

# lab_wait_for FILE ERE TIMEOUT_S : polls FILE until a line matches ERE. 0 if seen, 1 on
# deadline. Polls every 50 ms.
lab_wait_for() {
  local file=$1 re=$2 timeout=${3:-10}
  local deadline=$((SECONDS + timeout)) n=0
  while ((SECONDS <= deadline && n < timeout * 40 + 40)); do
    if [[ -f $file ]] && grep -Eq -- "$re" "$file"; then return 0; fi
    sleep 0.05
    n=$((n + 1))
  done
  lab_log "timeout (${timeout}s) waiting for /$re/ in $file"
  return 1
}

# lab_wait_count FILE ERE N TIMEOUT_S : until at least N lines match.
lab_wait_count() {
  local file=$1 re=$2 want=$3 timeout=${4:-10}
  local deadline=$((SECONDS + timeout)) n=0 c
  while ((SECONDS <= deadline && n < timeout * 40 + 40)); do
    if [[ -f $file ]]; then
      c=$(grep -Ec -- "$re" "$file" || true)
      ((c >= want)) && return 0
    fi
    sleep 0.05
    n=$((n + 1))
  done
  lab_log "timeout (${timeout}s) waiting for $want x /$re/ in $file"
  return 1
}

# lab_wait_cmd TIMEOUT_S cmd args... : until cmd succeeds.
lab_wait_cmd() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout)) n=0
  while ((SECONDS <= deadline && n < timeout * 20 + 20)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
    n=$((n + 1))
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# strongSwan charon in a gateway namespace.

lab_charon_dir() { echo "$LAB_WORK/charon-$1"; }

# lab_charon_config NAME key=value...
#   Writes strongswan.conf + swanctl.conf into $LAB_WORK/charon-NAME. Keys (defaults):
#     local=, remote=        WAN addresses (required); also the IKE identities
#     psk=                   pre-shared key (required)
#     conn=lab  child=net    connection and child names
#     proposals=aes128-sha1-modp2048   esp_proposals=aes128-sha1
#     local_ts=  remote_ts=  (default: dynamic)
#     dpd_delay=10s dpd_timeout=30s dpd_action=clear
#     mode=tunnel  start_action=none  rekey_time=  (empty: strongSwan default)
#     send_vendor_id=no
#     log="default=1 ike=2 cfg=1"  levels for the file log (subsystem=level ...)
#     plugins=  plugin list (default: the list of docs/DESIGN.md §5.1 plus openssl)
#     extra_charon=  raw text appended inside charon { }
#     gw=NAME        gateway namespace to run in (default: NAME), so one gateway can run
#                    several charon instances one after another (e.g. one per proposal)
#     version=1      IKE version of the connection (2: IKEv2; `aggressive` and
#                    `dpd_timeout` then have no effect in strongSwan)
lab_charon_config() {
  local name=$1
  shift
  local -A c=(
    [local]="" [remote]="" [psk]="" [conn]=lab [child]=net
    [proposals]=aes128-sha1-modp2048 [esp_proposals]=aes128-sha1
    [local_ts]=dynamic [remote_ts]=dynamic
    [dpd_delay]=10s [dpd_timeout]=30s [dpd_action]=clear
    [mode]=tunnel [start_action]=none [rekey_time]="" [send_vendor_id]=no
    [log]="default=1 ike=2 cfg=1"
    [plugins]="random nonce openssl aes sha1 sha2 md5 hmac gmp kdf pem pkcs1 pubkey x509 kernel-libipsec kernel-netlink socket-default vici"
    [extra_charon]="" [gw]=$name [version]=1
  )
  local kv
  for kv in "$@"; do
    [[ $kv == *=* ]] || lab_die "lab_charon_config: bad arg '$kv'"
    c[${kv%%=*}]=${kv#*=}
  done
  [[ -n ${c[local]} && -n ${c[remote]} && -n ${c[psk]} ]] ||
    lab_die "lab_charon_config $name: local, remote and psk are required"
  local dir
  dir=$(lab_charon_dir "$name")
  mkdir -p "$dir/run"
  echo "${c[gw]}" >"$dir/gw"
  local levels="" lv
  for lv in ${c[log]}; do levels+="        ${lv%%=*} = ${lv#*=}"$'\n'; done
  cat >"$dir/strongswan.conf" <<EOF
# generated by tests/lab/lablib.sh for the lab only
charon {
    load = ${c[plugins]}
    load_modular = no
    install_virtual_ip = no
    send_vendor_id = ${c[send_vendor_id]}
    retransmit_tries = 3
    plugins {
        vici {
            socket = unix://$dir/run/charon.vici
        }
    }
    filelog {
        lab {
            path = $dir/charon.log
            time_format = %H:%M:%S
            time_add_ms = yes
            ike_name = yes
            flush_line = yes
            append = no
$levels        }
    }
    syslog {
        identifier = charon-lab
        daemon {
            default = -1
        }
        auth {
            default = -1
        }
    }
${c[extra_charon]}
}
swanctl {
    load = pem pkcs1 x509 pubkey random openssl
}
EOF
  local rekey=""
  [[ -n ${c[rekey_time]} ]] && rekey="rekey_time = ${c[rekey_time]}"
  cat >"$dir/swanctl.conf" <<EOF
# generated by tests/lab/lablib.sh for the lab only (PSK is a test secret)
connections {
    ${c[conn]} {
        version = ${c[version]}
        aggressive = no
        local_addrs = ${c[local]}
        remote_addrs = ${c[remote]}
        proposals = ${c[proposals]}
        dpd_delay = ${c[dpd_delay]}
        dpd_timeout = ${c[dpd_timeout]}
        $rekey
        local {
            auth = psk
            id = ${c[local]}
        }
        remote {
            auth = psk
            id = ${c[remote]}
        }
        children {
            ${c[child]} {
                mode = ${c[mode]}
                local_ts = ${c[local_ts]}
                remote_ts = ${c[remote_ts]}
                esp_proposals = ${c[esp_proposals]}
                dpd_action = ${c[dpd_action]}
                start_action = ${c[start_action]}
            }
        }
    }
}
secrets {
    ike-lab {
        id-1 = ${c[local]}
        id-2 = ${c[remote]}
        secret = "${c[psk]}"
    }
}
EOF
}

# lab_swanctl NAME args... : swanctl against NAME's charon. Output in stdout.
lab_swanctl() {
  local name=$1
  shift
  local dir
  dir=$(lab_charon_dir "$name")
  # swanctl wants the command first, then its options (--uri is an option of each command).
  local cmd=$1
  shift
  STRONGSWAN_CONF="$dir/strongswan.conf" timeout 30 swanctl "$cmd" --uri "unix://$dir/run/charon.vici" "$@"
}

# lab_charon_start NAME [TIMEOUT_S]: starts charon NAME in its gateway (gw=, default NAME) (private mount namespace,
# $dir/run bind-mounted on /run), records its pid in LAB_PIDS and LAB_CHARON_PID[NAME], waits
# until the vici socket answers, then loads swanctl.conf.
declare -gA LAB_CHARON_PID=()
lab_charon_start() {
  local name=$1 timeout=${2:-15}
  local dir ns
  dir=$(lab_charon_dir "$name")
  [[ -f $dir/strongswan.conf ]] || lab_die "no config for charon $name"
  ns=$(lab_ns "$(cat "$dir/gw")")
  # ip netns exec, unshare (no --fork) and bash's final exec all keep the pid: $! is charon.
  lab_ns_bg "$ns" "$dir/charon.out" unshare --mount --propagation private \
    env STRONGSWAN_CONF="$dir/strongswan.conf" \
    bash -c "mount --bind '$dir/run' /run && exec '$LAB_CHARON'"
  LAB_CHARON_PID[$name]=$LAB_LAST_PID
  if ! lab_wait_cmd "$timeout" lab_swanctl "$name" --stats; then
    cat "$dir/charon.out" >&2
    lab_die "charon $name: vici socket did not answer within ${timeout}s"
  fi
  lab_swanctl "$name" --load-all --noprompt --file "$dir/swanctl.conf" >"$dir/load.out" 2>&1 || {
    cat "$dir/load.out" >&2
    lab_die "charon $name: swanctl --load-all failed"
  }
  lab_log "charon $name up (pid ${LAB_CHARON_PID[$name]})"
}

lab_charon_log() { echo "$(lab_charon_dir "$1")/charon.log"; }

# lab_initiate NAME CHILD [TIMEOUT_S]: initiates CHILD (blocks until done or timeout).
lab_initiate() {
  local name=$1 child=$2 t=${3:-20}
  lab_swanctl "$name" --initiate --child "$child" --timeout "$t" \
    >"$(lab_charon_dir "$name")/initiate.out" 2>&1
}

# lab_charon_acquire_relay NAME CHILD [MAX_SECONDS]: starts tests/lab/acquire_relay.sh for
# charon NAME (records the pid; its output in $LAB_WORK/acquire-relay-NAME.log). A packet
# meeting CHILD's trap policy without an SA then makes charon initiate CHILD, as an XFRM
# acquire would with kernel-netlink (kernel-libipsec has none; see the script).
LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lab_charon_acquire_relay() {
  local name=$1 child=$2 max=${3:-300}
  local out="$LAB_WORK/acquire-relay-$name.log"
  bash "$LAB_LIB_DIR/acquire_relay.sh" "$(lab_charon_dir "$name")" "$child" "$max" >"$out" 2>&1 &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
  lab_wait_for "$out" "acquire relay: watching" 5 || lab_die "acquire relay for $name did not start"
}

# lab_list_sas NAME : prints `swanctl --list-sas`.
lab_list_sas() { lab_swanctl "$1" --list-sas; }

# lab_terminate_ike NAME IKE [TIMEOUT_S]
lab_terminate_ike() {
  local name=$1 ike=$2 t=${3:-10}
  lab_swanctl "$name" --terminate --ike "$ike" --timeout "$t" \
    >"$(lab_charon_dir "$name")/terminate.out" 2>&1
}

# lab_terminate_child NAME CHILD [TIMEOUT_S]
lab_terminate_child() {
  local name=$1 child=$2 t=${3:-10}
  lab_swanctl "$name" --terminate --child "$child" --timeout "$t" \
    >"$(lab_charon_dir "$name")/terminate-child.out" 2>&1
}

# ---------------------------------------------------------------------------------------------
# Captures.

# lab_capture_start NS IFACE FILE [FILTER]: tcpdump in namespace NS (full name) writing FILE,
# packet-buffered; returns once tcpdump reports it is listening (deadline 10 s).
lab_capture_start() {
  local ns=$1 ifc=$2 file=$3 filter=${4:-udp port 500 or udp port 4500}
  command -v tcpdump >/dev/null || lab_die "tcpdump missing"
  # shellcheck disable=SC2086
  lab_ns_bg "$ns" "$file.log" tcpdump -n -Z root -i "$ifc" -s 0 -U --immediate-mode -w "$file" $filter
  LAB_CAPTURE_PIDS+=("$LAB_LAST_PID")
  lab_wait_for "$file.log" "listening on" 10 || lab_die "tcpdump did not start: $(cat "$file.log")"
}

# lab_capture_stop [PID]: stops one capture (or all), waiting until tcpdump has exited so the
# file is complete.
lab_capture_stop() {
  local pids=("$@")
  ((${#pids[@]})) || pids=("${LAB_CAPTURE_PIDS[@]}")
  local p
  for p in "${pids[@]}"; do lab_stop_pid "$p"; done
}

# lab_stop_pid PID : TERM, then KILL after LAB_KILL_GRACE seconds; reaps it.
lab_stop_pid() {
  local p=$1 n=0
  kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
  kill -TERM "$p" 2>/dev/null || true
  while kill -0 "$p" 2>/dev/null && ((n < LAB_KILL_GRACE * 20)); do
    # A child of this shell stays a zombie (kill -0 succeeds) until waited for.
    if [[ $(ps -o stat= -p "$p" 2>/dev/null) == Z* ]]; then break; fi
    sleep 0.05
    n=$((n + 1))
  done
  if kill -0 "$p" 2>/dev/null && [[ $(ps -o stat= -p "$p" 2>/dev/null) != Z* ]]; then
    lab_log "pid $p ignored TERM, sending KILL"
    kill -KILL "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true  # its status (e.g. 137 after SIGKILL) is not the test's
  return 0
}

# lab_kill_charon NAME [SIGNAL]: e.g. KILL to simulate a dead peer.
lab_kill_charon() {
  local name=$1 sig=${2:-TERM}
  local p=${LAB_CHARON_PID[$name]:-}
  [[ -n $p ]] || return 0
  if [[ $sig == TERM ]]; then lab_stop_pid "$p"; else kill -"$sig" "$p" 2>/dev/null; wait "$p" 2>/dev/null; fi
  return 0
}

# ---------------------------------------------------------------------------------------------
# Packet loss (no netem on the lab kernel): nftables in the gateway namespace.

# lab_blackhole NAME [in|out|both]: drop all traffic on NAME's wan0 (a "dead" peer without
# killing its daemon). The table lives in NAME's namespace and goes away with it.
lab_blackhole() {
  local name=$1 dir=${2:-both} ns
  ns=$(lab_ns "$name")
  command -v nft >/dev/null || lab_die "nft missing"
  ip netns exec "$ns" nft -f - <<EOF_NFT || lab_die "nft in $ns"
table inet lab_drop
delete table inet lab_drop
table inet lab_drop {
  chain input { type filter hook input priority 0; policy accept; }
  chain output { type filter hook output priority 0; policy accept; }
}
EOF_NFT
  [[ $dir == in || $dir == both ]] &&
    ip netns exec "$ns" nft add rule inet lab_drop input iifname wan0 drop
  [[ $dir == out || $dir == both ]] &&
    ip netns exec "$ns" nft add rule inet lab_drop output oifname wan0 drop
  return 0
}

# lab_blackhole_clear NAME: removes the drop rules.
lab_blackhole_clear() {
  ip netns exec "$(lab_ns "$1")" nft delete table inet lab_drop 2>/dev/null
  return 0
}

# ---------------------------------------------------------------------------------------------
# Teardown: every recorded pid (reverse order), then every namespace we created.
lab_teardown() {
  ((LAB_TORN_DOWN)) && return 0
  LAB_TORN_DOWN=1
  local i p ns
  for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
    p=${LAB_PIDS[i]}
    kill -TERM "$p" 2>/dev/null || true  # may have been stopped by the test already
  done
  for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
    lab_stop_pid "${LAB_PIDS[i]}"
  done
  for ((i = ${#LAB_NETNS[@]} - 1; i >= 0; i--)); do
    ns=${LAB_NETNS[i]}
    ip netns del "$ns" 2>/dev/null || lab_log "could not delete netns $ns"
  done
  if [[ -n $LAB_WORK && -d $LAB_WORK ]]; then
    if [[ $LAB_KEEP == 1 ]]; then
      lab_log "kept work dir $LAB_WORK"
    else
      rm -rf -- "$LAB_WORK"
    fi
  fi
  return 0
}
