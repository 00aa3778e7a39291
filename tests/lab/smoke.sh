#!/usr/bin/env bash
# Smoke test of the lab: two strongSwan 5.9.8 peers in namespaces establish IKEv1 Main Mode
# (aes128-sha1-modp2048) and a CHILD_SA (esp aes128-sha1); both sides must show the IKE SA
# ESTABLISHED and the CHILD_SA INSTALLED. Exits 0 on success, 1 on failure. ~10 s.
#
#   sudo tests/lab/smoke.sh          (LAB_KEEP=1 keeps the work dir with logs)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lablib.sh
source "$here/lablib.sh"

lab_init
PSK="lab-only-test-secret-not-for-production"

t_start=$(lab_elapsed)
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24
t_topo=$(lab_elapsed)

common=(psk="$PSK" proposals=aes128-sha1-modp2048 esp_proposals=aes128-sha1
  dpd_delay=10s dpd_timeout=30s log="default=1 ike=2 cfg=1")
lab_charon_config a local=192.0.2.1 remote=192.0.2.2 \
  local_ts=198.51.100.0/24 remote_ts=203.0.113.0/24 "${common[@]}"
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 "${common[@]}"
lab_charon_start a
lab_charon_start b
t_charon=$(lab_elapsed)

fail=0
if ! lab_initiate a net 20; then
  lab_log "initiate failed:"
  cat "$(lab_charon_dir a)/initiate.out" >&2
  fail=1
fi
t_up=$(lab_elapsed)

for side in a b; do
  out=$(lab_list_sas "$side" 2>&1)
  echo "--- swanctl --list-sas ($side)"
  echo "$out"
  grep -q "ESTABLISHED" <<<"$out" || { lab_log "$side: no ESTABLISHED IKE SA"; fail=1; }
  grep -q "INSTALLED" <<<"$out" || { lab_log "$side: no INSTALLED CHILD_SA"; fail=1; }
  grep -q "IKEv1" <<<"$out" || { lab_log "$side: not IKEv1"; fail=1; }
done

lab_terminate_ike a lab 10 || { lab_log "terminate failed"; fail=1; }
lab_wait_for "$(lab_charon_log b)" "deleting IKE_SA|received DELETE for IKE_SA" 10 || fail=1
t_down=$(lab_elapsed)

if ((fail)); then
  for side in a b; do
    echo "--- charon log ($side)"
    tail -n 40 "$(lab_charon_log "$side")"
  done
fi
lab_teardown
t_end=$(lab_elapsed)
printf 'timings: topology %.2fs, charons %.2fs, establish %.2fs, delete %.2fs, teardown %.2fs, total %.2fs\n' \
  "$(awk -v a="$t_topo" -v b="$t_start" 'BEGIN{print a-b}')" \
  "$(awk -v a="$t_charon" -v b="$t_topo" 'BEGIN{print a-b}')" \
  "$(awk -v a="$t_up" -v b="$t_charon" 'BEGIN{print a-b}')" \
  "$(awk -v a="$t_down" -v b="$t_up" 'BEGIN{print a-b}')" \
  "$(awk -v a="$t_end" -v b="$t_down" 'BEGIN{print a-b}')" "$t_end"
if ((fail)); then echo "smoke: FAIL"; exit 1; fi
echo "smoke: PASS"
exit 0
