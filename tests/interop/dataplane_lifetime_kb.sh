#!/usr/bin/env bash
# dataplane_lifetime_kb.sh — kilobyte lifetimes enforced by the data plane, against strongSwan.
# ikepulse's crypto map sets `set security-association lifetime kilobytes 2560` (the IOS
# minimum); a 7,000,000-byte TCP stream from behind ikepulse crosses 90 % of it several times.
# Each time ikepulse rekeys (a new Quick Mode with strongSwan, new SPIs, the old SA deleted)
# and the stream goes on without losing the connection. Root; bounded (< 60 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites hosts
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=0s
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=1 \
  extra="crypto map green 10 ipsec-isakmp
 set security-association lifetime kilobytes 2560"
ikp_start a "$LAB_WORK/a.cfg" --debug
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP" 15 || lab_die "tunnel not up"
created() { grep -c "IPSEC(create_sa): sa created" "${IKP_LOG[a]}" || true; }
c0=$(created)
ikp_cli a "show crypto map" >"$LAB_WORK/map.txt"
ikp_check "show crypto map: 2560 kilobytes" grep -q "2560 kilobytes" "$LAB_WORK/map.txt"
ikp_check "7,000,000 bytes of TCP through the tunnel across the rekeys" \
  ikp_tcp a-host b-host 203.0.113.10 7000000
c1=$(created)
rekeys=$((c1 - c0))  # one "sa created" line per Quick Mode (the SA pair)
lab_log "Quick Mode rekeys during the stream: $rekeys; hard expiries before the new SA was ready: $(grep -c "kilobyte lifetime expired" "${IKP_LOG[a]}" || true)"
ikp_check "ikepulse rekeyed on volume at least twice (7 MB / (90 % of 2560 KB))" test "$rekeys" -ge 2
ikp_check "strongSwan took part: CHILD_SA established more than once" \
  test "$(grep -c "CHILD_SA .* established" "$(lab_charon_log b)")" -ge 3
ikp_check "the replaced SAs were deleted on strongSwan too" \
  grep -Eq "received DELETE for (ESP )?CHILD_SA|closing CHILD_SA" "$(lab_charon_log b)"
ikp_cli a "show crypto ipsec sa" >"$LAB_WORK/ipsec.txt"
lab_log "show crypto ipsec sa: $(grep -Eo 'spi: 0x[0-9A-F]+' "$LAB_WORK/ipsec.txt" | tr '\n' ' ')"
ikp_check "ping still passes after the rekeys" ikp_ping a-host 203.0.113.10 3
ikp_finish dataplane_lifetime_kb
