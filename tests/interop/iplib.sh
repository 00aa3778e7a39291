# shellcheck shell=bash
# iplib.sh — ikepulse helpers on top of tests/lab/lablib.sh (sourced).
#   ikp_config FILE self=IP peers="IP1 IP2" local_lan=NET remote_lan=NET psk=K
#              [keepalive="10 periodic"] [policy="aes|aes 256|3des" hash=sha group=14]
#              [keep_up=1] [pfs=groupN] [debug=1]
#   ikp_start NAME CONFIG       start ikepulsed in gateway NAME (records the pid)
#   ikp_cli NAME cmd...         run `ikepulse -c` against that daemon's socket
IKP_BUILD=${IKP_BUILD:-build/release}

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
    echo "crypto ipsec transform-set T1 ${c[esp]}"
    echo " mode tunnel"
    echo "crypto map green 10 ipsec-isakmp"
    for p in ${c[peers]}; do echo " set peer $p"; done
    echo " set transform-set T1"
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

# ikp_start NAME CONFIG [extra ikepulsed args]: logs to $LAB_WORK/ikepulse-NAME.log
ikp_start() {
  local name=$1 cfg=$2
  shift 2
  local ns
  ns=$(lab_ns "$name")
  IKP_LOG[$name]="$LAB_WORK/ikepulse-$name.log"
  IKP_SOCK[$name]="$LAB_WORK/ikepulse-$name.sock"
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
