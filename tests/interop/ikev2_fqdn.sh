#!/usr/bin/env bash
# ikev2_fqdn.sh — FQDN identities with strongSwan 5.9.8 (`version = 2`, PSK; DESIGN.md §6.6).
# Topology: ikepulse a 192.0.2.1 (LAN 198.51.100.0/24) and strongSwan b 192.0.2.2 (LAN
# 203.0.113.0/24) as ikev2.sh, but the identities are names: strongSwan `local { id =
# @b.example.net }`, `remote { id = @hub.example.net }`; ikepulse's profile `identity local
# fqdn hub.example.net`, `match identity remote fqdn domain example.net`, and its keyring peer
# `identity fqdn b.example.net` beside `address 192.0.2.2`.
# 1. strongSwan initiates: ikepulse (responder) matches IDi b.example.net by domain, takes the
#    key by identity, answers IDr hub.example.net: both sides up, strongSwan shows both names.
# 2. ikepulse initiates (keep-up, restarted): IDi hub.example.net accepted by strongSwan.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites
lab_charon_config b version=2 local="$B" remote=192.0.2.1 psk="$PSK" \
  proposals=aes128-sha256-modp2048 esp_proposals=aes128-sha256 local_ts=203.0.113.0/24 \
  remote_ts=198.51.100.0/24 extra_charon="    keep_alive = 0s" log="default=1 ike=2 cfg=1 net=1"
# The lab writes address identities; this test wants names (the key is bound to them too).
CONF="$(lab_charon_dir b)/swanctl.conf"
sed -i -e "s/^\( *\)id = $B\$/\1id = @b.example.net/" -e "s/^\( *\)id = 192.0.2.1\$/\1id = @hub.example.net/" \
  -e "s/^\( *\)id-1 = $B\$/\1id-1 = @b.example.net/" -e "s/^\( *\)id-2 = 192.0.2.1\$/\1id-2 = @hub.example.net/" "$CONF"
ikp_check "strongSwan configured with FQDN identities" grep -q "id = @hub.example.net" "$CONF"
lab_charon_start b
CLOG=$(lab_charon_log b)

# fqdn_config FILE KEEP_UP: ikev2.sh's FlexVPN configuration with FQDN identities.
fqdn_config() {
  ikp_v2_config "$1" keep_up="$2" peers="$B"
  sed -i -e "s/^ match identity remote address $B 255.255.255.255\$/ match identity remote fqdn domain example.net\n identity local fqdn hub.example.net/" \
    -e "s/^  address $B\$/  address $B\n  identity fqdn b.example.net/" "$1"
}

echo "== 1. strongSwan initiates with IDi @b.example.net, ikepulse responds as hub.example.net"
fqdn_config "$LAB_WORK/a1.cfg" 0
ikp_check "ikepulse configured with FQDN identities" grep -q "^ identity local fqdn hub.example.net" "$LAB_WORK/a1.cfg"
ikp_start a "$LAB_WORK/a1.cfg" --debug
ikp_cli a "show crypto ikev2 profile PROF" | sed 's/^/    /'
ikp_swan_initiate b
ok=1
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B" 15 || ok=0
ikp_check "1: ikepulse logged the tunnel up" test $ok = 1
ikp_check "1: strongSwan: established b.example.net...hub.example.net" \
  grep -q "IKE_SA lab\[[0-9]*\] established between 192.0.2.2\[b.example.net\]...192.0.2.1\[hub.example.net\]" "$CLOG"
ikp_check "1: strongSwan IKE SA ESTABLISHED" test "$(ikp_swan_sa b ike_state)" = ESTABLISHED
ikp_check "1: strongSwan CHILD_SA INSTALLED" test "$(ikp_swan_sa b child_state)" = INSTALLED
ikp_check "1: ikepulse show crypto ikev2 sa READY" grep -q READY <<<"$(ikp_v2_sa a status)"
ikp_stop a
lab_wait_cmd 5 ikp_swan_idle b || true

echo "== 2. ikepulse initiates (keep-up) with IDi hub.example.net"
l2=$(wc -l <"$CLOG")
fqdn_config "$LAB_WORK/a2.cfg" 1
ikp_start a "$LAB_WORK/a2.cfg" --debug
ok=1
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is UP\. Peer $B" 15 || ok=0
ikp_check "2: ikepulse logged the tunnel up" test $ok = 1
lab_wait_for "$CLOG" "CHILD_SA .* established" 5 || true
tail -n +"$((l2 + 1))" "$CLOG" >"$LAB_WORK/b-2.log"
ikp_check "2: strongSwan (responder): established b.example.net...hub.example.net" \
  grep -q "IKE_SA lab\[[0-9]*\] established between 192.0.2.2\[b.example.net\]...192.0.2.1\[hub.example.net\]" "$LAB_WORK/b-2.log"
ikp_check "2: strongSwan CHILD_SA INSTALLED" test "$(ikp_swan_sa b child_state)" = INSTALLED
ikp_check "2: ikepulse show crypto ikev2 sa READY" grep -q READY <<<"$(ikp_v2_sa a status)"
ikp_stop a
ikp_finish ikev2_fqdn
