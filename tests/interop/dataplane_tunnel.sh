#!/usr/bin/env bash
# The real thing: hosts behind ikepulsed (198.51.100.10) and behind strongSwan 5.9.8 with
# kernel-libipsec (203.0.113.10) ping each other and move a TCP stream through ikepulse's own
# userspace ESP (TUN ikp0 <-> ESP-in-UDP 4500). No keep-up: the tunnel is brought up by the
# traffic itself: first from ikepulse's side, then (after clear) from strongSwan's side, then
# from ikepulse's again.
# Checks the counters in `show crypto ipsec sa`, and that routes into ikp0 follow live
# configuration changes without touching the live tunnel. Root; bounded (< 90 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites hosts
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=0s start_action=trap
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=0
ikp_start a "$LAB_WORK/a.cfg" --debug
lab_wait_for "${IKP_LOG[a]}" "DATAPLANE: userspace ESP" 5 ||
  lab_die "ikepulsed has no data plane: $(grep DATAPLANE "${IKP_LOG[a]}")"

# 1. Traffic from behind ikepulse brings the tunnel up (the first packets wait in a small queue).
t0=$(date +%s.%N)
ikp_check "ping 198.51.100.10 -> 203.0.113.10 brings the tunnel up (traffic-triggered)" \
  ikp_ping a-host 203.0.113.10 5 -w 15
t1=$(date +%s.%N)
lab_log "first ping answered after $(ikp_fsub "$t1" "$t0") s (5 pings, 0.2 s apart, incl. setup)"
ikp_check "strongSwan installed the CHILD_SA" grep -Eq "CHILD_SA .* established" "$(lab_charon_log b)"
ikp_check "ping 203.0.113.10 -> 198.51.100.10" ikp_ping b-host 198.51.100.10 5
ikp_check "full-size packets (1372-byte payload) both ways" ikp_ping a-host 203.0.113.10 3 -s 1372
# 2. A TCP stream through the tunnel.
ikp_check "TCP: 4,000,000 bytes through the tunnel" ikp_tcp a-host b-host 203.0.113.10 4000000
# 3. Counters in show crypto ipsec sa.
ikp_cli a "show crypto ipsec sa" >"$LAB_WORK/ipsec.txt"
enc=$(grep -Eo '#pkts encaps: [0-9]+' "$LAB_WORK/ipsec.txt" | grep -Eo '[0-9]+' | head -1)
dec=$(grep -Eo '#pkts decaps: [0-9]+' "$LAB_WORK/ipsec.txt" | grep -Eo '[0-9]+' | head -1)
lab_log "show crypto ipsec sa: #pkts encaps ${enc:-?}, decaps ${dec:-?}"
ikp_check "show crypto ipsec sa counts encapsulated packets" test "${enc:-0}" -gt 10
ikp_check "show crypto ipsec sa counts decapsulated packets" test "${dec:-0}" -gt 10
benc=$(grep -Eo '#bytes encaps: [0-9]+' "$LAB_WORK/ipsec.txt" | grep -Eo '[0-9]+' | head -1)
ikp_check "show crypto ipsec sa: #bytes encaps ${benc:-?} >= the 4,000,000 TCP bytes" test "${benc:-0}" -ge 4000000
ikp_check "show crypto ipsec sa: last packet in/out seconds ago" \
  grep -Eq "last packet in: 0:00:0[0-9] ago, last packet out: 0:00:0[0-9] ago" "$LAB_WORK/ipsec.txt"
# show access-lists: the crypto ACL's permit line counted every packet the data plane
# classified to the tunnel (at least the encapsulated ones).
ikp_cli a "show access-lists" >"$LAB_WORK/acl.txt"
acl_n=$(grep -Eo '\(([0-9]+) match(es)?\)' "$LAB_WORK/acl.txt" | grep -Eo '[0-9]+' | head -1)
lab_log "show access-lists: ${acl_n:-?} matches on the permit line"
ikp_check "show access-lists counts the tunnel's packets (${acl_n:-0} >= ${enc:-0} encaps)" \
  test "${acl_n:-0}" -ge "${enc:-1}"
# 4. Cleared; now traffic from behind strongSwan brings the tunnel up: the ping meets
#    strongSwan's trap policy, strongSwan initiates Main Mode, ikepulse responds. (Its
#    kernel-libipsec backend raises no acquire, so the lab's acquire relay turns libipsec's
#    "no outbound SA for reqid" drop into the initiate a kernel acquire would cause; see
#    tests/lab/acquire_relay.sh.)
lab_charon_acquire_relay b net 120
ikp_cli a "clear crypto session" >/dev/null
lab_wait_for "${IKP_LOG[a]}" "Crypto tunnel is DOWN" 5
swan_no_sa() { ! lab_list_sas b 2>/dev/null | grep -q ESTABLISHED; }
lab_wait_cmd 10 swan_no_sa || lab_log "strongSwan still lists an SA after the clear"
mm_swan=$(grep -c "initiating Main Mode" "$(lab_charon_log b)" || true)
mm_resp=$(grep -c "New State = IKE_R_MM2" "${IKP_LOG[a]}" || true)
t0=$(date +%s.%N)
ikp_check "ping 203.0.113.10 -> 198.51.100.10 brings the tunnel up from strongSwan's side" \
  ikp_ping b-host 198.51.100.10 5 -w 20
t1=$(date +%s.%N)
lab_log "first ping from behind strongSwan answered after $(ikp_fsub "$t1" "$t0") s (5 pings, incl. setup)"
lab_log "$(grep "acquire relay: reqid" "$LAB_WORK/acquire-relay-b.log" | head -1)"
ikp_check "libipsec dropped the first packet on the trap policy and the relay initiated" \
  grep -q "acquire relay: reqid {[0-9]*} -> initiate net: rc 0" "$LAB_WORK/acquire-relay-b.log"
ikp_check "strongSwan initiated Main Mode on that traffic" \
  test "$(grep -c "initiating Main Mode" "$(lab_charon_log b)")" -gt "$mm_swan"
ikp_check "ikepulse responded (IKE_R_MM2)" \
  test "$(grep -c "New State = IKE_R_MM2" "${IKP_LOG[a]}")" -gt "$mm_resp"
ikp_check "TCP from behind strongSwan to behind ikepulse" ikp_tcp b-host a-host 198.51.100.10 1000000
# 5. Traffic from behind ikepulse after a second clear brings it up again from our side.
ikp_cli a "clear crypto session" >/dev/null
ikp_check "after clear, ping 198.51.100.10 -> 203.0.113.10 brings it up again" \
  ikp_ping a-host 203.0.113.10 5 -w 15
# 6. Routes into ikp0 follow the configuration: the ACL's remote network is routed while the
#    crypto map protects it, and removed when the ACL no longer names it (SAs cleared first).
tun_routes() { ip -n "$(lab_ns a)" route show dev ikp0 2>/dev/null; }
route_is() { tun_routes | grep -q "^$1 "; }
route_not() { ! tun_routes | grep -q "^$1 "; }
ikp_check "route 203.0.113.0/24 dev ikp0 while the crypto map protects it" route_is 203.0.113.0/24
# 7. Entries come and go beside the live one (a line costs O(the change), DESIGN.md §6.4):
#    the live entry's SAs stay (same SPI, no Delete reaches strongSwan), traffic goes on, and
#    the new entry's ACL route appears with the entry and goes with it.
out_spi() { ikp_cli a "show crypto ipsec sa" | grep -Eo 'current outbound spi: 0x[0-9A-F]+' | head -1; }
spi0=$(out_spi)
del0=$(grep -c "received DELETE" "$(lab_charon_log b)" || true)
ikp_cli a "configure terminal" \
  "access-list 102 permit ip 198.51.100.0 0.0.0.255 203.0.115.0 0.0.0.255" "end" >/dev/null
ikp_check "an ACL no entry uses routes nothing" route_not 203.0.115.0/24
ikp_cli a "configure terminal" "crypto map green 20 ipsec-isakmp" "set peer 192.0.2.9" \
  "set transform-set T1" "match address 102" "end" >"$LAB_WORK/entry20.txt"
ikp_check "entry green 20 added: route 203.0.115.0/24 dev ikp0" lab_wait_cmd 5 route_is 203.0.115.0/24
ikp_check "ping through the live tunnel after the entry was added" ikp_ping a-host 203.0.113.10 3
ikp_cli a "configure terminal" "no crypto map green 20" "end" >/dev/null
ikp_check "entry green 20 removed: its route goes" lab_wait_cmd 5 route_not 203.0.115.0/24
ikp_check "ping through the live tunnel after the entry was removed" ikp_ping a-host 203.0.113.10 3
spi1=$(out_spi)
lab_log "live entry's outbound SPI before/after: ${spi0#*: } / ${spi1#*: }"
ikp_check "the live entry kept its IPsec SA (${spi0#*: })" test -n "$spi0" -a "$spi0" = "$spi1"
ikp_check "strongSwan received no Delete for it" \
  test "$(grep -c "received DELETE" "$(lab_charon_log b)" || true)" = "$del0"
ikp_cli a "clear crypto session" >/dev/null
ikp_cli a "configure terminal" "no access-list 101" \
  "access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.114.0 0.0.0.255" "end" >"$LAB_WORK/reconf.txt"
ikp_check "ACL changed: route 203.0.114.0/24 dev ikp0 added" lab_wait_cmd 5 route_is 203.0.114.0/24
ikp_check "ACL changed: route 203.0.113.0/24 removed" lab_wait_cmd 5 route_not 203.0.113.0/24
lab_log "routes via ikp0 now: $(tun_routes | tr '\n' ';')"
ikp_finish dataplane_tunnel
