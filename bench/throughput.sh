#!/usr/bin/env bash
# bench/throughput.sh — TCP throughput (iperf3, one stream, 10 s) through an IPsec tunnel
# between two lab sites, for three gateway pairs in the same run and the same topology shape:
#   host 198.51.100.10 — gateway a 192.0.2.1 — switch — gateway b 192.0.2.2 — host 203.0.113.10
#     ikp-swan   a: ikepulsed (userspace ESP, TUN ikp0)   b: strongSwan 5.9.8 kernel-libipsec
#     ikp-ikp    a: ikepulsed (TUN ikpa)                  b: ikepulsed (TUN ikpb)
#     swan-swan  a: strongSwan kernel-libipsec            b: strongSwan kernel-libipsec
# Phase 1 AES-128/SHA-1/group 14, phase 2 esp-aes (128) esp-sha-hmac, ESP-in-UDP 4500 in every
# case (kernel-libipsec forces UDP encapsulation). Each pair runs in its own fresh lab (a child
# run of this script). Also prints the CPU seconds the gateways' daemons used during the 10 s
# (from /proc/PID/stat utime+stime).
#   sudo IKP_BUILD=build-dp2 bench/throughput.sh [PAIR...]     (root; bounded, ~1.5 min)
#   DURATION=10 (iperf3 -t)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
IKP_BUILD=${IKP_BUILD:-build/release}
DURATION=${DURATION:-10}
export IKP_BUILD DURATION

if [[ ${1:-} != --one ]]; then
  pairs=("$@")
  ((${#pairs[@]})) || pairs=(ikp-swan ikp-ikp swan-swan)
  command -v iperf3 >/dev/null || { echo "iperf3 missing (scripts/install-deps.sh)" >&2; exit 1; }
  echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# iperf3 -c 203.0.113.10 -t $DURATION (TCP, one stream), IKP_BUILD=$IKP_BUILD"
  printf '%-10s %10s %10s %12s %12s %s\n' pair "Mbit/s" retrans "cpu_a(s)" "cpu_b(s)" load
  rc=0
  for p in "${pairs[@]}"; do
    out=$(timeout 120 bash "$0" --one "$p" 2>"/tmp/throughput-$p.$$.err") || {
      echo "$p: FAILED ($(tail -3 "/tmp/throughput-$p.$$.err" | tr '\n' ' '))"
      rc=1
      continue
    }
    rm -f "/tmp/throughput-$p.$$.err"
    echo "$out"
  done
  exit $rc
fi

PAIR=$2
source tests/lab/lablib.sh
source tests/interop/iplib.sh
LAB_PREFIX=iktp
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24 198.51.100.10/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24 203.0.113.10/24
PSK=lab-secret-not-for-production
case $PAIR in
  ikp-swan)
    lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=$PSK local_ts=203.0.113.0/24 \
      remote_ts=198.51.100.0/24 dpd_delay=0s log="default=0"
    lab_charon_start b
    ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=1
    ikp_start a "$LAB_WORK/a.cfg" --tun ikp0
    pid_a=${IKP_PID[a]} pid_b=${LAB_CHARON_PID[b]}
    lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 20 || lab_die "tunnel not up"
    ;;
  ikp-ikp)
    ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=1
    ikp_config "$LAB_WORK/b.cfg" self=192.0.2.2 peers=192.0.2.1 keep_up=0 hostname=B \
      local_lan=203.0.113.0 remote_lan=198.51.100.0
    ikp_start b "$LAB_WORK/b.cfg" --tun ikpb
    ikp_start a "$LAB_WORK/a.cfg" --tun ikpa
    pid_a=${IKP_PID[a]} pid_b=${IKP_PID[b]}
    lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 20 || lab_die "tunnel not up"
    ;;
  swan-swan)
    lab_charon_config a local=192.0.2.1 remote=192.0.2.2 psk=$PSK local_ts=198.51.100.0/24 \
      remote_ts=203.0.113.0/24 dpd_delay=0s log="default=0"
    lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=$PSK local_ts=203.0.113.0/24 \
      remote_ts=198.51.100.0/24 dpd_delay=0s log="default=0"
    lab_charon_start a
    lab_charon_start b
    lab_initiate a net 20 >/dev/null 2>&1 || lab_die "swanctl --initiate failed"
    pid_a=${LAB_CHARON_PID[a]} pid_b=${LAB_CHARON_PID[b]}
    ;;
  *) lab_die "unknown pair $PAIR" ;;
esac
# The tunnel carries traffic (also brings up the IPsec SAs where only phase 1 was up).
lab_wait_cmd 20 ip netns exec "$(lab_ns a-host)" ping -c 1 -W 1 203.0.113.10 ||
  lab_die "no ping through the $PAIR tunnel"

lab_ns_bg "$(lab_ns b-host)" "$LAB_WORK/iperf-s.txt" timeout $((DURATION + 40)) \
  iperf3 -s -1 -B 203.0.113.10
lab_wait_cmd 5 ip netns exec "$(lab_ns b-host)" bash -c 'ss -ltn | grep -q ":5201 "' ||
  lab_die "iperf3 server did not listen"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
ca0=$(cpu "$pid_a")
cb0=$(cpu "$pid_b")
ip netns exec "$(lab_ns a-host)" timeout $((DURATION + 30)) \
  iperf3 -c 203.0.113.10 -t "$DURATION" -J >"$LAB_WORK/iperf.json" 2>&1 ||
  lab_die "iperf3 client failed: $(head -c 400 "$LAB_WORK/iperf.json")"
ca1=$(cpu "$pid_a")
cb1=$(cpu "$pid_b")
hz=$(getconf CLK_TCK)
read -r mbps retr < <(jq -r '"\(.end.sum_received.bits_per_second / 1e6) \(.end.sum_sent.retransmits)"' \
  "$LAB_WORK/iperf.json")
printf '%-10s %10.1f %10s %12.2f %12.2f %s\n' "$PAIR" "$mbps" "$retr" \
  "$(awk -v a="$ca0" -v b="$ca1" -v h="$hz" 'BEGIN { print (b - a) / h }')" \
  "$(awk -v a="$cb0" -v b="$cb1" -v h="$hz" 'BEGIN { print (b - a) / h }')" \
  "$(cut -d' ' -f1 /proc/loadavg)"
