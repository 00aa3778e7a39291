#!/usr/bin/env bash
# Scratch: ikepulse initiates to strongSwan.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 log="default=1 ike=2 cfg=1 enc=1 net=1"
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keepalive="10 periodic"
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap" "udp" || true
ikp_start a "$LAB_WORK/a.cfg" --debug
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 15 || true
lab_wait_for "$(lab_charon_log b)" "CHILD_SA .* established" 10 || true
lab_list_sas b || true
cat "${IKP_LOG[a]}" | head -80
cat "$LAB_WORK/ikepulsed-a.stderr" | tail -5
grep -E "ESTABLISHED|CHILD_SA|error|failed|invalid|received" "$(lab_charon_log b)" | head -40
