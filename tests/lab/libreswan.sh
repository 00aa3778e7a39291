# shellcheck shell=bash
# libreswan.sh — a Libreswan 4.10 pluto peer in a lab gateway namespace (sourced after
# tests/lab/lablib.sh, which it uses for pids, namespaces, waits and teardown).
#
# Debian 12's `libreswan` package Conflicts with strongSwan's, so it is not installed:
# scripts/install-deps.sh extracts the .deb (dpkg-deb -x) into $LAB_LSW_ROOT and installs only
# its runtime libraries and libnss3-tools (certutil). The binaries are called straight from
# that tree: pluto, whack and addconn in usr/libexec/ipsec.
#
#   lab_lsw_available            0 if the extracted tree runs; else 1, reason in LAB_LSW_WHY
#   lab_lsw_config NAME k=v...   ipsec.conf + ipsec.secrets in $LAB_WORK/pluto-NAME
#   lab_lsw_start NAME [T]       pluto in its gateway (private mount ns, $dir/run on /run),
#                                NSS db made with certutil, conn added (addconn), listen
#   lab_whack NAME args...       whack against NAME's control socket
#   lab_lsw_initiate NAME        whack --initiate --asynchronous (conn name from the config)
#   lab_lsw_log NAME             pluto's log (its stderr, --stderrlog)
#   lab_lsw_kill NAME [SIGNAL]   TERM (stop and reap) or e.g. KILL (a dead peer)
# pluto runs in its own dir ($LAB_WORK/pluto-NAME); LAB_LSW_CORE=1 lets it dump core there.
#
# The kernel of the lab has no ESP (docs/DESIGN.md §5.1), and pluto 4.10 has only the XFRM kernel
# backend (no "none"/test stack): Main Mode, Informational exchanges (DPD, Delete) work;
# a Quick Mode ends when pluto installs its IPsec SA into the kernel and that fails.

LAB_LSW_ROOT=${LAB_LSW_ROOT:-/var/cache/ikepulse/libreswan/root}
LAB_LSW_WHY=
declare -gA LAB_LSW_PID=()

lab_lsw_bin() { echo "$LAB_LSW_ROOT/usr/libexec/ipsec/$1"; }
lab_lsw_dir() { echo "$LAB_WORK/pluto-$1"; }
lab_lsw_log() { echo "$(lab_lsw_dir "$1")/pluto.log"; }

lab_lsw_available() {
  local b out
  for b in pluto whack addconn; do
    if [[ ! -x $(lab_lsw_bin "$b") ]]; then
      LAB_LSW_WHY="no $(lab_lsw_bin "$b") (scripts/install-deps.sh extracts Libreswan there)"
      return 1
    fi
  done
  command -v certutil >/dev/null || { LAB_LSW_WHY="certutil missing (libnss3-tools)"; return 1; }
  if ! out=$("$(lab_lsw_bin pluto)" --version 2>&1); then
    LAB_LSW_WHY="pluto does not run: $(head -2 <<<"$out" | tr '\n' ' ')"
    return 1
  fi
  if ! out=$(ldd "$(lab_lsw_bin pluto)" "$(lab_lsw_bin whack)" "$(lab_lsw_bin addconn)" 2>&1) ||
    grep -q 'not found' <<<"$out"; then
    LAB_LSW_WHY="missing libraries: $(grep 'not found' <<<"$out" | awk '{print $1}' | sort -u | tr '\n' ' ')"
    return 1
  fi
  return 0
}

# lab_lsw_config NAME key=value...
#   local=, remote=   WAN addresses (required; also the IKE identities)
#   psk=              pre-shared key (required)
#   conn=lab          connection name
#   ike=aes128-sha1;modp2048   esp=aes128-sha1
#   local_ts=, remote_ts=      subnets (default: the hosts themselves)
#   dpddelay=, dpdtimeout=, dpdaction=   (default: no DPD of its own)
#   pfs=no            (pluto's default, yes, refuses a Quick Mode without KE)
#   auto=add  ikelifetime=1h  salifetime=8h
#   debug=none        plutodebug (e.g. "base")
#   extra=            raw lines appended to the conn (indented by the caller)
#   gw=NAME           gateway namespace (default: NAME)
#   ikev2=no          IKE version: no (IKEv1, the default here), insist (IKEv2 only; 4.10
#                     takes yes/no/insist, insist = yes); IKEv2 conns omit pfs= (no meaning
#                     for IKE_AUTH) and ikev1-policy
#   ike=, esp=        empty: the line is left out (pluto's default proposals)
#   leftid=, rightid= identities (default: local / remote address; "@name" is an FQDN)
lab_lsw_config() {
  local name=$1
  shift
  local -A c=(
    [local]="" [remote]="" [psk]="" [conn]=lab [ike]="aes128-sha1;modp2048" [esp]=aes128-sha1
    [local_ts]="" [remote_ts]="" [dpddelay]="" [dpdtimeout]="" [dpdaction]=""
    [pfs]=no [auto]=add [ikelifetime]=1h [salifetime]=8h [debug]=none [extra]="" [gw]=$name
    [ikev2]=no [leftid]="" [rightid]=""
  )
  local kv
  for kv in "$@"; do
    [[ $kv == *=* ]] || lab_die "lab_lsw_config: bad arg '$kv'"
    c[${kv%%=*}]=${kv#*=}
  done
  [[ -n ${c[local]} && -n ${c[remote]} && -n ${c[psk]} ]] ||
    lab_die "lab_lsw_config $name: local, remote and psk are required"
  local dir
  dir=$(lab_lsw_dir "$name")
  mkdir -p "$dir/run" "$dir/nss" "$dir/ipsec.d"
  echo "${c[gw]}" >"$dir/gw"
  echo "${c[conn]}" >"$dir/conn"
  local dpd=""
  [[ -n ${c[dpddelay]} ]] && dpd+="    dpddelay=${c[dpddelay]}"$'\n'
  [[ -n ${c[dpdtimeout]} ]] && dpd+="    dpdtimeout=${c[dpdtimeout]}"$'\n'
  [[ -n ${c[dpdaction]} ]] && dpd+="    dpdaction=${c[dpdaction]}"$'\n'
  local alg="" setup=""
  [[ -n ${c[ike]} ]] && alg+="    ike=${c[ike]}"$'\n'
  [[ -n ${c[esp]} ]] && alg+="    esp=${c[esp]}"$'\n'
  [[ ${c[ikev2]} == no ]] && alg+="    pfs=${c[pfs]}"$'\n' && setup="    ikev1-policy=accept"$'\n'
  local sub=""
  [[ -n ${c[local_ts]} ]] && sub+="    leftsubnet=${c[local_ts]}"$'\n'
  [[ -n ${c[remote_ts]} ]] && sub+="    rightsubnet=${c[remote_ts]}"$'\n'
  cat >"$dir/ipsec.conf" <<EOF
# generated by tests/lab/libreswan.sh for the lab only
config setup
    protostack=xfrm
    plutodebug=${c[debug]}
    dnssec-enable=no
    uniqueids=no
${setup}
conn ${c[conn]}
    ikev2=${c[ikev2]}
    authby=secret
    left=${c[local]}
    leftid=${c[leftid]:-${c[local]}}
    right=${c[remote]}
    rightid=${c[rightid]:-${c[remote]}}
${sub}    type=tunnel
${alg}    ikelifetime=${c[ikelifetime]}
    salifetime=${c[salifetime]}
    leftupdown=/bin/true
    auto=${c[auto]}
${dpd}${c[extra]}
EOF
  printf '%s %s : PSK "%s"\n' "${c[leftid]:-${c[local]}}" "${c[rightid]:-${c[remote]}}" "${c[psk]}" \
    >"$dir/ipsec.secrets"
  chmod 600 "$dir/ipsec.secrets"
}

# lab_whack NAME args... : whack against NAME's pluto (bounded).
lab_whack() {
  local name=$1
  shift
  timeout 20 "$(lab_lsw_bin whack)" --ctlsocket "$(lab_lsw_dir "$name")/run/pluto.ctl" "$@"
}

# lab_lsw_ready NAME: whack answers (fails at once, loudly, if pluto has exited).
lab_lsw_ready() {
  local p=${LAB_LSW_PID[$1]}
  kill -0 "$p" 2>/dev/null || return 0  # exited: stop waiting; the caller checks the pid
  lab_whack "$1" --status
}

# lab_lsw_start NAME [TIMEOUT_S]: starts pluto NAME in its gateway, records the pid
# (LAB_PIDS, LAB_LSW_PID[NAME]), waits until whack answers, adds the conn and listens.
lab_lsw_start() {
  local name=$1 timeout=${2:-15}
  local dir ns
  dir=$(lab_lsw_dir "$name")
  [[ -f $dir/ipsec.conf ]] || lab_die "no config for pluto $name"
  ns=$(lab_ns "$(cat "$dir/gw")")
  if [[ ! -f $dir/nss/cert9.db ]]; then
    certutil -N -d "sql:$dir/nss" --empty-password >"$dir/certutil.out" 2>&1 ||
      lab_die "certutil -N for pluto $name: $(cat "$dir/certutil.out")"
  fi
  # ip netns exec, unshare (no --fork) and bash's exec keep the pid: $! is pluto. /run is
  # $dir/run inside, so pluto's compiled-in defaults under /run stay private too. pluto runs
  # its compiled-in /usr/libexec/ipsec/addconn (and refuses to start without it): the
  # extracted usr/libexec is bind-mounted on /usr/libexec in that mount namespace only.
  lab_ns_bg "$ns" "$dir/pluto.log" unshare --mount --propagation private \
    bash -c "mount --bind '$dir/run' /run && mount --bind '$LAB_LSW_ROOT/usr/libexec' /usr/libexec &&
      cd '$dir' && ulimit -c $([[ ${LAB_LSW_CORE:-0} == 1 ]] && echo unlimited || echo 0) &&
      exec '$(lab_lsw_bin pluto)' --nofork --stderrlog \
      --config '$dir/ipsec.conf' --rundir '$dir/run' \
      --nssdir '$dir/nss' --ipsecdir '$dir/ipsec.d' --secretsfile '$dir/ipsec.secrets' \
      --no-dnssec --listen '$(awk -F= '/^ *left=/ {print $2; exit}' "$dir/ipsec.conf")'"
  LAB_LSW_PID[$name]=$LAB_LAST_PID
  # pluto 4.10 has no --ctlsocket: the socket is <rundir>/pluto.ctl.
  if ! lab_wait_cmd "$timeout" lab_lsw_ready "$name"; then
    tail -20 "$dir/pluto.log" >&2
    lab_die "pluto $name: whack got no answer within ${timeout}s"
  fi
  if ! kill -0 "${LAB_LSW_PID[$name]}" 2>/dev/null; then
    tail -20 "$dir/pluto.log" >&2
    lab_die "pluto $name exited at start"
  fi
  timeout 20 "$(lab_lsw_bin addconn)" --config "$dir/ipsec.conf" \
    --ctlsocket "$dir/run/pluto.ctl" "$(cat "$dir/conn")" >"$dir/addconn.out" 2>&1 || {
    cat "$dir/addconn.out" >&2
    lab_die "pluto $name: addconn failed"
  }
  lab_whack "$name" --listen >"$dir/listen.out" 2>&1 || {
    cat "$dir/listen.out" >&2
    lab_die "pluto $name: whack --listen failed"
  }
  lab_log "pluto $name up (pid ${LAB_LSW_PID[$name]})"
}

# lab_lsw_initiate NAME : asynchronous initiate of the conn (watch the log for the result).
lab_lsw_initiate() {
  local name=$1
  lab_whack "$name" --initiate --asynchronous --name "$(cat "$(lab_lsw_dir "$name")/conn")" \
    >"$(lab_lsw_dir "$name")/initiate.out" 2>&1
}

# lab_lsw_kill NAME [SIGNAL]: TERM: pluto shuts down (Deletes sent), KILL after
# LAB_KILL_GRACE s; any other signal is sent once. Reaps it and logs its exit status
# (LAB_LSW_STATUS[NAME]; 128+N: killed by signal N).
declare -gA LAB_LSW_STATUS=()
lab_lsw_kill() {
  local name=$1 sig=${2:-TERM}
  local p=${LAB_LSW_PID[$name]:-} n=0 st
  [[ -n $p ]] || return 0
  kill -"$sig" "$p" 2>/dev/null
  if [[ $sig == TERM ]]; then
    while kill -0 "$p" 2>/dev/null && [[ $(ps -o stat= -p "$p" 2>/dev/null) != Z* ]] &&
      ((n < LAB_KILL_GRACE * 20)); do
      sleep 0.05
      n=$((n + 1))
    done
    if kill -0 "$p" 2>/dev/null && [[ $(ps -o stat= -p "$p" 2>/dev/null) != Z* ]]; then
      lab_log "pluto $name ignored TERM, sending KILL"
      kill -KILL "$p" 2>/dev/null
    fi
  fi
  wait "$p" 2>/dev/null
  st=$?
  LAB_LSW_STATUS[$name]=$st
  lab_log "pluto $name (pid $p) exited, status $st"
  LAB_LSW_PID[$name]=
  return 0
}
