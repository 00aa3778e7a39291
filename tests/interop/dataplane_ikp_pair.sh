#!/usr/bin/env bash
# ikepulse <-> ikepulse (ESP 3DES + HMAC-MD5): two ikepulsed gateways, neither with keep-up, so every tunnel is
# brought up by traffic. First a ping from behind A (A initiates, B responds), a TCP stream;
# then `clear crypto session` and a ping from behind B (B initiates on its own traffic, A
# responds), a TCP stream the other way. Both sides' traffic triggers IKE here with no lab
# help (strongSwan's kernel-libipsec needs the acquire relay for that; dataplane_tunnel.sh).
# Root; bounded (< 60 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites hosts
# 3DES with HMAC-MD5: the transform strongSwan's libipsec cannot carry (dataplane_transforms).
ESP="esp-3des esp-md5-hmac"
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=0 esp="$ESP"
ikp_config "$LAB_WORK/b.cfg" self=192.0.2.2 peers=192.0.2.1 keep_up=0 hostname=B \
  local_lan=203.0.113.0 remote_lan=198.51.100.0 esp="$ESP"
ikp_start a "$LAB_WORK/a.cfg" --debug --tun ikpa
ikp_start b "$LAB_WORK/b.cfg" --debug --tun ikpb
for g in a b; do
  lab_wait_for "${IKP_LOG[$g]}" "DATAPLANE: userspace ESP" 5 ||
    lab_die "ikepulsed $g has no data plane: $(grep DATAPLANE "${IKP_LOG[$g]}")"
done
ikp_check "no tunnel before traffic" bash -c "! grep -q 'Crypto tunnel is UP' '${IKP_LOG[a]}' '${IKP_LOG[b]}'"

# $1 initiator gateway, $2 responder, $3 source host, $4 destination address
bring_up() {
  local ini=$1 resp=$2 host=$3 dst=$4
  local i0 r0 t0 t1
  i0=$(grep -c "New State = IKE_I_MM1" "${IKP_LOG[$ini]}" || true)
  r0=$(grep -c "New State = IKE_R_MM2" "${IKP_LOG[$resp]}" || true)
  t0=$(date +%s.%N)
  ikp_check "ping from $host to $dst brings the tunnel up" ikp_ping "$host" "$dst" 5 -w 15
  t1=$(date +%s.%N)
  lab_log "5 pings from $host answered in $(ikp_fsub "$t1" "$t0") s (0.2 s apart, incl. MM+QM)"
  ikp_check "$ini initiated Main Mode on that traffic" \
    test "$(grep -c "New State = IKE_I_MM1" "${IKP_LOG[$ini]}")" -gt "$i0"
  ikp_check "$resp responded" test "$(grep -c "New State = IKE_R_MM2" "${IKP_LOG[$resp]}")" -gt "$r0"
}

bring_up a b a-host 203.0.113.10
ikp_check "TCP A-side -> B-side, 4,000,000 bytes" ikp_tcp a-host b-host 203.0.113.10 4000000

ikp_cli a "clear crypto session" >/dev/null
ikp_check "B saw the Delete: its tunnel is DOWN" lab_wait_for "${IKP_LOG[b]}" "Crypto tunnel is DOWN" 10
sas_b() { ikp_cli b "show crypto isakmp sa" | grep -c "QM_IDLE" || true; }
no_sa_b() { test "$(sas_b)" = 0; }
ikp_check "B holds no ISAKMP SA after the clear" lab_wait_cmd 5 no_sa_b

bring_up b a b-host 198.51.100.10
ikp_check "TCP B-side -> A-side, 2,000,000 bytes" ikp_tcp b-host a-host 198.51.100.10 2000000
ikp_cli a "show crypto ipsec sa" >"$LAB_WORK/ipsec-a.txt"
ikp_check "A's IPsec SA is esp-3des esp-md5-hmac" grep -q "esp-3des esp-md5-hmac" "$LAB_WORK/ipsec-a.txt"
lab_log "A: $(grep -Eo '#pkts (en|de)caps: [0-9]+' "$LAB_WORK/ipsec-a.txt" | head -2 | tr '\n' ' ')"
ikp_finish dataplane_ikp_pair
