# shellcheck shell=bash
# iplib.sh — ikepulse helpers on top of tests/lab/lablib.sh (sourced).
#   ikp_config FILE self=IP peers="IP1 IP2" local_lan=NET remote_lan=NET psk=K
#              [keepalive="10 periodic"] [policy="aes|aes 256|3des" hash=sha group=14]
#              [keep_up=1] [pfs=groupN] [debug=1]
#   ikp_start NAME CONFIG       start ikepulsed in gateway NAME (records the pid)
#   ikp_cli NAME cmd...         run `ikepulse -c` against that daemon's socket
#   ikp_v2_config FILE key=value...   the FlexVPN (IKEv2) configuration (ikp_flex_config: positional)
#   ikp_sites, ikp_two_sites, ikp_failover_sites, ikp_lsw_sites   the lab topologies
#   ikp_swan_v2 NAME IP [key=value...]   an IKEv2 strongSwan peer, configured and started
#   ikp_fork PART / ikp_join PART   run an independent part of a test beside it, in its own lab
IKP_BUILD=${IKP_BUILD:-build/release}

# ikp_map_head TRANSFORMS PEERS...: transform set T1 and the head of crypto map green 10 (its
# peers and transform set), as ikp_config and ikp_v2_config write them.
ikp_map_head() {
  local ts=$1 p
  shift
  echo "crypto ipsec transform-set T1 $ts"
  echo " mode tunnel"
  echo "crypto map green 10 ipsec-isakmp"
  for p in "$@"; do echo " set peer $p"; done
  echo " set transform-set T1"
}

ikp_config() {
  local file=$1
  shift
  local -A c=([self]="" [peers]="" [local_lan]=198.51.100.0 [remote_lan]=203.0.113.0
              [psk]=lab-secret-not-for-production [keepalive]="" [policy]="aes" [hash]=sha
              [group]=14 [keep_up]=1 [pfs]="" [esp]="esp-aes esp-sha-hmac" [hostname]=A
              [extra]="")
  local kv
  for kv in "$@"; do c[${kv%%=*}]=${kv#*=}; done
  {
    echo "hostname ${c[hostname]}"
    echo "crypto isakmp policy 10"
    echo " encryption ${c[policy]}"
    echo " hash ${c[hash]}"
    echo " authentication pre-share"
    echo " group ${c[group]}"
    local p
    for p in ${c[peers]}; do echo "crypto isakmp key ${c[psk]} address $p"; done
    if [[ -n ${c[keepalive]} ]]; then echo "crypto isakmp keepalive ${c[keepalive]}"; fi
    ikp_map_head "${c[esp]}" ${c[peers]}
    echo " match address 101"
    if [[ -n ${c[pfs]} ]]; then echo " set pfs ${c[pfs]}"; fi
    if [[ ${c[keep_up]} == 1 ]]; then echo " ikepulse keep-up"; fi
    echo "interface wan0"
    echo " ip address ${c[self]} 255.255.255.0"
    echo " crypto map green"
    echo "access-list 101 permit ip ${c[local_lan]} 0.0.0.255 ${c[remote_lan]} 0.0.0.255"
    if [[ -n ${c[extra]} ]]; then printf '%s\n' "${c[extra]}"; fi
  } >"$file"
}

# ikp_v2_config FILE key=value...: ikepulse's FlexVPN (IKEv2) configuration as an IOS user
# types it: proposal PROP, policy POL, keyring KR (the lab PSK for each peer), profile PROF,
# transform set T1, crypto map green 10 with `set ikev2-profile PROF`, A 192.0.2.1 protecting
# 198.51.100.0/24 toward 203.0.113.0/24. Keys (defaults):
#   ike="aes-cbc-128 sha256 - 14"   "ENC INTEG PRF GROUP"; INTEG/PRF "-": not configured
#                                   (AES-GCM takes a PRF and no integrity)
#   ts="esp-aes esp-sha256-hmac"    the transform set
#   dpd=""                          `dpd DPD` in the profile unless empty
#   keep_up=0  peers=""             keyring and `match identity` entries for each peer
#   map_peers=                      the `set peer`s of entry 10 (default: peers)
#   lifetime=                       `lifetime N` in the profile
#   pfs=  sa_lifetime=              `set pfs X`, `set security-association lifetime seconds N`
#   entries=  extra=                raw lines after entry 10 / at the end
ikp_v2_config() {
  local file=$1
  shift
  local -A c=([ike]="aes-cbc-128 sha256 - 14" [ts]="esp-aes esp-sha256-hmac" [dpd]="" [keep_up]=0
              [peers]="" [map_peers]="-" [lifetime]="" [pfs]="" [sa_lifetime]="" [entries]=""
              [extra]="")
  local kv p enc integ prf group
  for kv in "$@"; do c[${kv%%=*}]=${kv#*=}; done
  [[ ${c[map_peers]} == - ]] && c[map_peers]=${c[peers]}
  read -r enc integ prf group <<<"${c[ike]}"
  {
    echo "hostname A"
    echo "crypto ikev2 proposal PROP"
    echo " encryption $enc"
    if [[ $integ != - ]]; then echo " integrity $integ"; fi
    if [[ $prf != - ]]; then echo " prf $prf"; fi
    echo " group $group"
    echo "crypto ikev2 policy POL"
    echo " proposal PROP"
    echo "crypto ikev2 keyring KR"
    for p in ${c[peers]}; do
      echo " peer p$p"
      echo "  address $p"
      echo "  pre-shared-key ${PSK:-lab-secret-not-for-production}"
    done
    echo "crypto ikev2 profile PROF"
    for p in ${c[peers]}; do echo " match identity remote address $p 255.255.255.255"; done
    echo " authentication remote pre-share"
    echo " authentication local pre-share"
    echo " keyring local KR"
    if [[ -n ${c[dpd]} ]]; then echo " dpd ${c[dpd]}"; fi
    if [[ -n ${c[lifetime]} ]]; then echo " lifetime ${c[lifetime]}"; fi
    ikp_map_head "${c[ts]}" ${c[map_peers]}
    if [[ -n ${c[pfs]} ]]; then echo " set pfs ${c[pfs]}"; fi
    echo " set ikev2-profile PROF"
    if [[ -n ${c[sa_lifetime]} ]]; then echo " set security-association lifetime seconds ${c[sa_lifetime]}"; fi
    echo " match address 101"
    if [[ ${c[keep_up]} == 1 ]]; then echo " ikepulse keep-up"; fi
    if [[ -n ${c[entries]} ]]; then printf '%s\n' "${c[entries]}"; fi
    echo "interface wan0"
    echo " ip address 192.0.2.1 255.255.255.0"
    echo " crypto map green"
    echo "access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255"
    if [[ -n ${c[extra]} ]]; then printf '%s\n' "${c[extra]}"; fi
  } >"$file"
}

# ikp_flex_config FILE "ENC INTEG PRF GROUP" "TRANSFORM-SET" "DPD" KEEP_UP PEERS...: the same,
# positional (ikp_v2_config ike= ts= dpd= keep_up= peers=).
ikp_flex_config() {
  local file=$1 ike=$2 ts=$3 dpd=$4 keep=$5
  shift 5
  ikp_v2_config "$file" ike="$ike" ts="$ts" dpd="$dpd" keep_up="$keep" peers="$*"
}

# ikp_start NAME CONFIG [extra ikepulsed args]: logs to $LAB_WORK/ikepulse-NAME.log
# (a previous log of NAME is moved to ikepulse-NAME.log.N first)
ikp_start() {
  local name=$1 cfg=$2
  shift 2
  local ns
  ns=$(lab_ns "$name")
  IKP_LOG[$name]="$LAB_WORK/ikepulse-$name.log"
  IKP_SOCK[$name]="$LAB_WORK/ikepulse-$name.sock"
  # A restart in the same gateway gets a fresh log (the old one is kept as .1, .2, ...), so
  # waits on log lines never match an earlier run's lines.
  local k=1
  while [[ -e ${IKP_LOG[$name]} && $k -lt 100 ]]; do
    [[ -e ${IKP_LOG[$name]}.$k ]] || { mv "${IKP_LOG[$name]}" "${IKP_LOG[$name]}.$k"; break; }
    k=$((k + 1))
  done
  lab_ns_bg "$ns" "$LAB_WORK/ikepulsed-$name.stderr" "$IKP_BUILD/src/daemon/ikepulsed" \
    -f "$cfg" --log "${IKP_LOG[$name]}" --socket "${IKP_SOCK[$name]}" --foreground "$@"
  IKP_PID[$name]=$LAB_LAST_PID
  lab_wait_cmd 10 test -S "${IKP_SOCK[$name]}" || lab_die "ikepulsed $name did not start"
}

ikp_cli() {
  local name=$1
  shift
  local args=() a
  for a in "$@"; do args+=(-c "$a"); done
  "$IKP_BUILD/src/cli/shell/ikepulse" --socket "${IKP_SOCK[$name]}" "${args[@]}"
}

declare -gA IKP_LOG IKP_SOCK IKP_PID

# The lab's pre-shared key: every peer of the interop tests uses it unless a test says otherwise.
PSK=${PSK:-lab-secret-not-for-production}

# ikp_sites nohosts|hosts|bhosts NAME...: the lab: lab_init (unless done), the switch, gateway a
# (WAN 192.0.2.1, LAN 198.51.100.0/24) and one gateway per NAME (WAN 192.0.2.2, .3, ... in
# order, each with LAN 203.0.113.0/24). hosts: a host behind every gateway (a-host
# 198.51.100.10, NAME-host 203.0.113.10); bhosts: behind the NAME gateways only. Sets A and
# B1, B2, ... (and B = B1) to the WAN addresses.
ikp_sites() {
  local ha="" hb="" i=2 n
  case $1 in
    hosts) ha=198.51.100.10/24 hb=203.0.113.10/24 ;;
    bhosts) hb=203.0.113.10/24 ;;
  esac
  shift
  [[ -n $LAB_T0 ]] || lab_init
  lab_switch_create
  lab_gw_add a 192.0.2.1/24 198.51.100.1/24 $ha
  A=192.0.2.1
  for n in "$@"; do
    lab_gw_add "$n" "192.0.2.$i/24" 203.0.113.1/24 $hb
    printf -v "B$((i - 1))" %s "192.0.2.$i"
    i=$((i + 1))
  done
  B=${B1:-}
}

# ikp_two_sites [hosts]: the usual lab: gateway a and gateway b (192.0.2.2); with "hosts", a host
# behind each (198.51.100.10, 203.0.113.10) in namespaces a-host and b-host.
ikp_two_sites() { ikp_sites "${1:-nohosts}" b; }

# ikp_lsw_sites TEST: sources tests/lab/libreswan.sh; lab_init; without Libreswan TEST prints
# SKIP and exits 77; else ikp_two_sites and pluto's version line. IKP_LSW_SA_FAIL: what pluto
# logs when the lab kernel (no ESP) refuses its IPsec SA.
IKP_LSW_SA_FAIL='netlink response for Add SA esp\.[0-9a-f]+@[0-9.]+: Protocol not supported'
ikp_lsw_sites() {
  source tests/lab/libreswan.sh
  lab_init
  if ! lab_lsw_available; then
    echo "$1: SKIP ($LAB_LSW_WHY)"
    exit 77
  fi
  ikp_two_sites
  "$(lab_lsw_bin pluto)" --version 2>&1 | head -1 | sed 's/^/== /'
}

# ikp_failover_sites [hosts|nohosts|allhosts] [charon key=value ...]: the failover topology. A
# 192.0.2.1 (LAN 198.51.100.0/24), B1 192.0.2.2 and B2 192.0.2.3 (strongSwan, LAN
# 203.0.113.0/24, each with host 203.0.113.10 behind it when `hosts`; allhosts: A with
# 198.51.100.10 too), both charons started with the lab PSK, DPD 10 s / 30 s and the extra
# lab_charon_config settings given. Sets B1, B2.
ikp_failover_sites() {
  local mode=nohosts b ip
  case ${1:-} in hosts) mode=bhosts ;; allhosts) mode=hosts ;; esac
  shift
  ikp_sites $mode b1 b2
  for b in b1 b2; do
    ip=$B1
    [[ $b == b2 ]] && ip=$B2
    lab_charon_config "$b" local=$ip remote=192.0.2.1 psk=$PSK local_ts=203.0.113.0/24 \
      remote_ts=198.51.100.0/24 dpd_delay=10s dpd_timeout=30s "$@"
    lab_charon_start "$b"
  done
}

# ikp_swan_v2 NAME IP [key=value...]: strongSwan NAME (IKEv2) configured and started in gateway
# NAME at IP toward A: the lab PSK, IKE aes128-sha256-modp2048, ESP aes128-sha256, TS
# 203.0.113.0/24 === 198.51.100.0/24, DPD every 10 s, `keep_alive = 0s` (no NAT-T keepalives:
# kernel-libipsec fakes a NAT, so the last packet from the peer is an IKE message); the
# key=value pairs (lab_charon_config's) override these.
ikp_swan_v2() {
  local name=$1 ip=$2
  shift 2
  lab_charon_config "$name" version=2 local="$ip" remote=192.0.2.1 psk="$PSK" \
    proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 local_ts=203.0.113.0/24 \
    remote_ts=198.51.100.0/24 extra_charon="    keep_alive = 0s" "$@"
  lab_charon_start "$name"
}

# ---------------------------------------------------------------------------------------------
# Helpers for the interop tests (tests/interop/*.sh).

# ikp_stop NAME: SIGTERM ikepulsed NAME by its recorded pid (it sends Deletes and exits).
ikp_stop() {
  local p=${IKP_PID[$1]:-}
  [[ -n $p ]] && lab_stop_pid "$p"
  IKP_PID[$1]=
  return 0
}

# ikp_json NAME CMD: one show command's JSON (the shell's --json mode), newline-terminated.
ikp_json() {
  local name=$1
  shift
  "$IKP_BUILD/src/cli/shell/ikepulse" --socket "${IKP_SOCK[$name]}" --json -c "$1"
  echo
}

# Result bookkeeping: ikp_check DESC cmd args... runs cmd, records PASS/FAIL; ikp_ok/ikp_bad
# record a verdict computed by the caller; ikp_finish prints the summary and exits 0/1.
IKP_FAILS=0
IKP_CHECKS=0
ikp_ok() { IKP_CHECKS=$((IKP_CHECKS + 1)); printf '  PASS  %s\n' "$*"; }
ikp_bad() { IKP_CHECKS=$((IKP_CHECKS + 1)); IKP_FAILS=$((IKP_FAILS + 1)); printf '  FAIL  %s\n' "$*"; }
ikp_check() {
  local desc=$1
  shift
  if "$@"; then ikp_ok "$desc"; else ikp_bad "$desc"; fi
}
ikp_finish() {
  local name=${1:-$(basename "$0" .sh)}
  if ((IKP_FAILS == 0 && IKP_CHECKS > 0)); then
    printf '%s: PASS (%d checks)\n' "$name" "$IKP_CHECKS"
    exit 0
  fi
  printf '%s: FAIL (%d of %d checks failed; work dir kept: %s)\n' "$name" "$IKP_FAILS" "$IKP_CHECKS" "$LAB_WORK"
  # A CI machine keeps only what is printed: the end of every daemon's log (bounded).
  local f
  for f in "$LAB_WORK"/ikepulse-*.log "$LAB_WORK"/*/charon.log; do
    [[ -f $f ]] || continue
    printf -- '--- last 60 lines of %s\n' "${f#"$LAB_WORK"/}"
    tail -n 60 "$f" | cut -c1-200
  done
  LAB_KEEP=1
  exit 1
}

# Timestamps -> epoch seconds (float). ikepulse: "*Nov 26 21:27:58.725: ..." (wall clock, ms);
# charon filelog (time_format %H:%M:%S + ms): "21:27:58.725 ..." (today's date assumed).
ikp_log_epoch() {
  local line=${1#\*}
  date -d "$(awk '{print $1, $2, $3}' <<<"${line%%: *}")" +%s.%3N
}
ikp_charon_epoch() {
  date -d "$(date +%F) ${1%% *}" +%s.%3N
}
# The verdict must come 20 s (interval 10 + 5 x retry 2) after the peer's last packet. The
# packet's time comes from the capture (us), the verdict's from ikepulse's log, which shows
# milliseconds truncated: a verdict 20.0003 s after the packet can read 19.999. So the window
# checked is [IKP_DEAD_MIN, IKP_DEAD_MAX].
IKP_DEAD_MIN=19.999
IKP_DEAD_MAX=20.5
# ikp_fsub A B: A - B with 3 decimals.
ikp_fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# ikp_fcmp EXPR: awk float comparison, e.g. ikp_fcmp "$d >= 20.0 && $d <= 20.5".
ikp_fcmp() { awk "BEGIN { exit !($1) }"; }

# ikp_swan_sa NAME FIELD: one field of the first SA (IKEv1 or IKEv2) in `swanctl --list-sas`
# (text output): ike_state | ike_spis | proposal | child_state | child_prop | encap | spi_in |
# spi_out | ts (local === remote) | count (IKE SAs)
ikp_swan_sa() {
  local name=$1 field=$2 out
  out=$(lab_list_sas "$name" 2>/dev/null) || return 1
  case $field in
    ike_state) awk '/IKEv[12]/ { gsub(",", "", $3); print $3; exit }' <<<"$out" ;;
    ike_spis) awk '/IKEv[12]/ { print $5, $6; exit }' <<<"$out" ;;
    proposal) awk '/IKEv[12]/ { f = 1; next } f && /^  [A-Z0-9_]+[-\/]/ { print $1; exit }' <<<"$out" ;;
    child_state) awk '/reqid/ { gsub(",", "", $5); print $5; exit }' <<<"$out" ;;
    encap) awk '/reqid/ { gsub(",", "", $6); print $6; exit }' <<<"$out" ;;
    child_prop) awk '/reqid/ { gsub(",", "", $7); print $7; exit }' <<<"$out" ;;
    spi_in) awk '$1 == "in" { gsub(",", "", $2); print $2; exit }' <<<"$out" ;;
    spi_out) awk '$1 == "out" { gsub(",", "", $2); print $2; exit }' <<<"$out" ;;
    ts) awk '$1 == "local" && $2 ~ /\// { l = $2 } $1 == "remote" && $2 ~ /\// { print l " === " $2; exit }' <<<"$out" ;;
    count) grep -Ec "IKEv[12]" <<<"$out" || true ;;
    *) return 1 ;;
  esac
}

# ikp_swan_idle NAME: strongSwan NAME lists no IKE SA (or no longer answers); for lab_wait_cmd.
ikp_swan_idle() { ! lab_list_sas "$1" 2>/dev/null | grep -Eq "IKEv[12]"; }

# ikp_swan_initiate NAME [TIMEOUT_S]: swanctl --initiate --child net; says so when it fails.
ikp_swan_initiate() {
  lab_initiate "$1" net "${2:-20}" ||
    echo "  (swanctl --initiate returned non-zero: $(tail -1 "$(lab_charon_dir "$1")/initiate.out"))"
}

# ikp_v2_sa NAME FIELD: FIELD (status, spi_local, ...) of each of ikepulse NAME's IKEv2 SAs,
# one a line.
ikp_v2_sa() {
  ikp_json "$1" "show crypto ikev2 sa" | jq -r ".ikev2_sas[]? | .$2 // empty" 2>/dev/null
}

# ikp_sa_spis NAME: "in out" SPIs (8 hex digits, lower case) of ikepulse's first IPsec SA.
ikp_sa_spis() {
  ikp_json "$1" "show crypto ipsec sa" |
    jq -r '.ipsec_sas[0] | "\(.inbound[0].spi) \(.outbound[0].spi)"' 2>/dev/null |
    awk '$1 != "null" { printf "%08x %08x\n", $1, $2 }'
}
# ikp_isakmp_states NAME: the state of each ISAKMP SA, one a line (empty: none).
ikp_isakmp_states() {
  ikp_json "$1" "show crypto isakmp sa" | jq -r '.isakmp_sas[]? | "\(.state) \(.dst)"' 2>/dev/null
}

# ikp_charon_ka NAME: the IKEv1 encryption keys charon logged (ike=4), in log order, as hex.
# Lab only: the key is logged so tshark can decrypt the capture.
ikp_charon_ka() {
  awk '
    / encryption key Ka => / { th = $2; want = 1; key = ""; next }
    want && $2 == th && $4 ~ /^[0-9]+:$/ {
      for (i = 5; i <= NF && $i ~ /^[0-9A-F][0-9A-F]$/; i++) key = key tolower($i); next }
    want { if (key != "") print key; want = 0 }
    END { if (want && key != "") print key }' "$(lab_charon_log "$1")"
}

# ikp_tshark_setup PCAP CHARON...: writes a Wireshark config dir with the IKEv1 decryption
# table (initiator cookies from the capture, in order of first appearance, paired with the
# keys each charon logged, in order) and exports WIRESHARK_CONFIG_DIR for ikp_tshark.
ikp_tshark_setup() {
  local pcap=$1
  shift
  local dir="$LAB_WORK/wireshark" n
  mkdir -p "$dir"
  : >"$dir/ikev1_decryption_table"
  local -a keys=() ispis=()
  for n in "$@"; do mapfile -t -O "${#keys[@]}" keys < <(ikp_charon_ka "$n"); done
  mapfile -t ispis < <(tshark -r "$pcap" -Y isakmp -T fields -e isakmp.ispi 2>/dev/null | awk 'NF && !s[$1]++')
  local i k
  for i in "${ispis[@]}"; do
    # Paired by order: the n-th IKE SA in the capture with the n-th key charon logged.
    k=${keys[0]:-}
    ((${#keys[@]})) && keys=("${keys[@]:1}")
    [[ -n $k ]] && printf '%s,%s\n' "$i" "$k" >>"$dir/ikev1_decryption_table"
  done
  export WIRESHARK_CONFIG_DIR=$dir
}
ikp_tshark() { tshark "$@" 2>/dev/null; }

# ikp_setup_time LOG: seconds from the first Main Mode state change (IKE_READY) to the first
# IPsec SA created, from ikepulse's debug log.
ikp_setup_time() {
  local a b
  a=$(grep -m1 'Old State = IKE_READY' "$1") || return 1
  b=$(grep -m1 'IPSEC(create_sa)' "$1") || return 1
  ikp_fsub "$(ikp_log_epoch "$b")" "$(ikp_log_epoch "$a")"
}

# ikp_dpd_lines LOG: the DPD-related lines of an ikepulse debug log (for live display).
IKP_DPD_RE='IKE_DPD|R_U_THERE|IKE_TIMER_IM_ALIVE|IKE_TIMER_PEERS_ALIVE|incrementing error counter|not responding|paranoid|deleting SA reason|SESSION_STATUS'

# ikp_ping HOST_GW DST COUNT [ping args]: COUNT pings from gateway namespace HOST_GW (e.g.
# a-host), 0.2 s apart, 2 s reply deadline each; output in $LAB_WORK/ping.txt.
ikp_ping() {
  local ns=$1 dst=$2 count=$3
  shift 3
  ip netns exec "$(lab_ns "$ns")" ping -c "$count" -i 0.2 -W 2 "$@" "$dst" >"$LAB_WORK/ping.txt" 2>&1
}

# ikp_tcp FROM TO TO_IP BYTES: one TCP stream of BYTES from namespace FROM to a bounded
# python3 listener on TO_IP:5001 in namespace TO; succeeds when the listener counted BYTES.
ikp_tcp() {
  local from=$1 to=$2 ip=$3 bytes=$4 out="$LAB_WORK/tcp-$1-$2.bytes"
  rm -f "$out"
  ip netns exec "$(lab_ns "$to")" timeout 20 python3 -c "
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(15)
c,_=s.accept(); n=0
while True:
    b=c.recv(65536)
    if not b: break
    n+=len(b)
open(sys.argv[2],'w').write(str(n))
" "$ip" "$out" &
  local listener=$!
  lab_wait_cmd 5 ip netns exec "$(lab_ns "$to")" bash -c 'ss -ltn | grep -q 5001'
  ip netns exec "$(lab_ns "$from")" timeout 20 python3 -c "
import socket,sys
s=socket.create_connection((sys.argv[1], 5001), timeout=10)
s.sendall(b'x' * int(sys.argv[2])); s.close()" "$ip" "$bytes" || true
  wait "$listener" || true
  lab_log "TCP $from -> $to: $(cat "$out" 2>/dev/null || echo 0) of $bytes bytes"
  test "$(cat "$out" 2>/dev/null)" = "$bytes"
}

# ikp_ping_bg HOST_GW DST SECONDS FILE [ping args]: a continuous ping from namespace HOST_GW
# (e.g. a-host) every 0.2 s, 1 s reply deadline, epoch timestamps (-D), line-buffered into FILE,
# for at most SECONDS; sets PING_PID.
ikp_ping_bg() {
  local ns=$1 dst=$2 secs=$3 out=$4
  shift 4
  lab_ns_bg "$(lab_ns "$ns")" "$out" stdbuf -oL ping -D -n -i 0.2 -W 1 -w "$secs" "$@" "$dst"
  PING_PID=$LAB_LAST_PID
}
# ikp_ping_resumed FILE T: FILE (ping -D output) holds a reply stamped after epoch T.
ikp_ping_resumed() {
  awk -v t="$2" '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0; if (ts > t) { f = 1; exit } }
    END { exit !f }' "$1"
}
# ikp_ping_gap FILE: "LAST FIRST": the stamps of the two replies around the largest gap between
# consecutive replies in FILE (ping -D output); nothing without a gap.
ikp_ping_gap() {
  awk '/bytes from/ { ts = substr($1, 2, length($1) - 2) + 0
      if (p != "" && ts - p > g) { g = ts - p; a = p; b = ts } p = ts }
    END { if (g > 0) printf "%.6f %.6f\n", a, b }' "$1"
}

# ikp_pcap_last PCAP FILTER: the epoch of the last packet in PCAP matching the tshark FILTER.
ikp_pcap_last() {
  tshark -r "$1" -Y "$2" -T fields -e frame.time_epoch 2>/dev/null | tail -1
}

# ikp_row REF REF_NAME LABEL T: one timeline row: LABEL, T as a time of day and T - REF.
ikp_row() {
  printf '  %-44s %s  (%+8.3f s from %s)\n' "$3" "$(date -d "@$4" +%T.%3N)" "$(ikp_fsub "$4" "$1")" "$2"
}

# Independent parts of a test can run at the same time, each in a lab of its own (namespaces,
# work dir, daemons). ikp_fork PART [TIMEOUT_S]: runs this script again with IKP_PART=PART in
# the background (at most TIMEOUT_S, default 120; its output in $LAB_WORK/part-PART.out).
# ikp_join PART: waits for it, prints its output indented and counts its PASS and FAIL lines as
# this run's checks (a part that ended without a verdict is a FAIL). The script itself, seeing
# IKP_PART=PART, runs only PART and ends with ikp_finish.
declare -gA IKP_FORK_PID=()
ikp_fork() {
  local part=$1 t=${2:-120}
  IKP_PART=$part timeout "$t" bash "tests/interop/$(basename "$0")" >"$LAB_WORK/part-$part.out" 2>&1 &
  IKP_FORK_PID[$part]=$!
  LAB_PIDS+=("$!")
  lab_log "part $part runs beside this one (pid $!)"
}
ikp_join() {
  local part=$1 out="$LAB_WORK/part-$1.out" rc=0 np nf
  wait "${IKP_FORK_PID[$part]}" || rc=$?
  echo "== part $part (run beside the others, in its own namespaces)"
  sed 's/^/  /' "$out"
  np=$(grep -c '^  PASS  ' "$out" || true)
  nf=$(grep -c '^  FAIL  ' "$out" || true)
  IKP_CHECKS=$((IKP_CHECKS + np + nf))
  IKP_FAILS=$((IKP_FAILS + nf))
  if ((rc != 0 && nf == 0)); then ikp_bad "part $part ended with status $rc and no failed check"; fi
  if ((np + nf == 0)); then ikp_bad "part $part made no check"; fi
  return 0
}

# ikp_ping_failover TAG DEAD_RE: with a ping running into $PING and ikepulse (log $LOG) up with
# B1 of `set peer B1 B2`: B1's charon SIGKILLed (at T_KILL, epoch); waits for DEAD_RE in the
# log (30 s), the tunnel UP with B2 (8 s), then a ping reply after the verdict (10 s).
ikp_ping_failover() {
  local tag=$1 re=$2 t_dead
  T_KILL=$(date +%s.%3N)
  lab_kill_charon b1 KILL
  echo "== B1's charon SIGKILLed at $(date -d "@$T_KILL" +%T.%3N); ping continues"
  lab_wait_for "$LOG" "$re" 30 || ikp_bad "${tag}ikepulse declared B1 dead"
  t_dead=$(date +%s.%3N)
  lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 8 || ikp_bad "${tag}traffic brings the tunnel up with B2"
  lab_wait_cmd 10 ikp_ping_resumed "$PING" "$t_dead" || ikp_bad "${tag}ping resumed after the failover"
}
