#!/usr/bin/env bash
# Regenerates the IKEv2 strongSwan interop vectors tests/vectors/ikev2-<proposal>.vec (see
# README.md).
#
# For each proposal: two strongSwan charons in lab namespaces (tests/lab/lablib.sh) speaking
# IKEv2 with a pre-shared key, logging ike/chd/enc/net at level 4 (key logging: lab only), a
# tcpdump capture of UDP 500/4500 on the initiator's WAN interface, then IKE_SA_INIT +
# IKE_AUTH (with the CHILD_SA), liveness checks (empty INFORMATIONAL exchanges, dpd_delay = 2s
# on both sides) until the initiator has had one answered (or a deadline), and a Delete
# (swanctl --terminate --ike). extract_vectors_ikev2.py turns capture + logs into the .vec.
#
#   sudo tests/vectors/gen_vectors_ikev2.sh [OUTDIR]      (default: tests/vectors)
#   LAB_KEEP=1 keeps the work dir (configs, logs, captures).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lab/lablib.sh
source "$here/../lab/lablib.sh"
outdir=${1:-$here}
mkdir -p "$outdir"

# ike proposal : esp proposal
PROPOSALS=(
  "aes128-sha256-modp2048:aes128-sha256"
  "aes256-sha1-modp2048:aes256-sha1"
  "aes128gcm16-prfsha256-ecp256:aes128gcm16"
  "aes256gcm16-prfsha384-ecp384:aes256gcm16"
)
PSK="ikepulse-lab-ikev2-vector-psk"  # lab-only test secret
I=192.0.2.1
R=192.0.2.2
LOG="default=1 ike=4 enc=4 chd=4 net=4 cfg=2 knl=1 lib=1 job=1 mgr=1"

# liveness_answered LOG: the charon of LOG sent an empty INFORMATIONAL request (a liveness
# check; not e.g. a MOBIKE address update) and parsed the (empty) response with its message ID.
liveness_answered() {
  local log=$1 mid
  [[ -f $log ]] || return 1
  for mid in $(grep -oE 'generating INFORMATIONAL request [0-9]+ \[ \]' "$log" | awk '{print $4}'); do
    grep -Eq "parsed INFORMATIONAL response $mid \[ \]" "$log" && return 0
  done
  return 1
}

lab_init
lab_switch_create
lab_gw_add a "$I/24" 198.51.100.1/24
lab_gw_add b "$R/24" 203.0.113.1/24
version=$(/usr/lib/ipsec/charon --version 2>/dev/null | head -n1)
[[ -n $version ]] || version="strongSwan 5.9.8"

rc=0
n=0
for entry in "${PROPOSALS[@]}"; do
  n=$((n + 1))
  ike=${entry%%:*}
  esp=${entry#*:}
  t0=$(lab_elapsed)
  ia="a$n" ib="b$n"
  lab_charon_config "$ia" gw=a version=2 local=$I remote=$R psk="$PSK" proposals="$ike" \
    esp_proposals="$esp" local_ts=198.51.100.0/24 remote_ts=203.0.113.0/24 \
    dpd_delay=2s log="$LOG"
  lab_charon_config "$ib" gw=b version=2 local=$R remote=$I psk="$PSK" proposals="$ike" \
    esp_proposals="$esp" local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 \
    dpd_delay=2s log="$LOG"
  cap="$LAB_WORK/ikev2-$ike.pcap"
  lab_capture_start "$(lab_ns a)" wan0 "$cap"
  cap_pid=$LAB_LAST_PID
  lab_charon_start "$ia"
  lab_charon_start "$ib"
  if ! lab_initiate "$ia" net 20; then
    lab_log "$ike: initiate failed"
    cat "$(lab_charon_dir "$ia")/initiate.out" >&2
    rc=1
  fi
  # Liveness: strongSwan sends an empty INFORMATIONAL request only after dpd_delay without
  # hearing from the peer, so whichever side fires first holds the other back (observed: the
  # responder, 2 s after IKE_AUTH; the initiator then never needs to probe). Wait until one
  # side has had an answer.
  ok_i=0 ok_r=0
  for _ in $(seq 1 150); do
    liveness_answered "$(lab_charon_log "$ia")" && ok_i=1
    liveness_answered "$(lab_charon_log "$ib")" && ok_r=1
    ((ok_i + ok_r)) && break
    sleep 0.1
  done
  if ((ok_i + ok_r == 0)); then
    lab_log "$ike: no liveness check answered"
    rc=1
  fi
  lab_terminate_ike "$ia" lab 10 || { lab_log "$ike: terminate failed"; rc=1; }
  lab_wait_for "$(lab_charon_log "$ib")" "received DELETE for IKE_SA|deleting IKE_SA" 10 || rc=1
  lab_kill_charon "$ia"
  lab_kill_charon "$ib"
  lab_capture_stop "$cap_pid"
  if python3 "$here/extract_vectors_ikev2.py" --pcap "$cap" \
    --log-i "$(lab_charon_log "$ia")" --log-r "$(lab_charon_log "$ib")" \
    --proposal "$ike" --esp "$esp" --psk "$PSK" --initiator $I --responder $R \
    --version "$version" --out "$outdir/ikev2-$ike.vec"; then
    lab_log "$ike: done in $(awk -v a="$(lab_elapsed)" -v b="$t0" 'BEGIN{printf "%.2f", a-b}')s" \
      "(liveness answered: initiator=$ok_i responder=$ok_r)"
  else
    rc=1
  fi
done
lab_log "total $(lab_elapsed)s"
exit $rc
