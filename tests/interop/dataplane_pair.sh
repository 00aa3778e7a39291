#!/usr/bin/env bash
# esp_tool <-> esp_tool: two gateways forward between their LAN host and a TUN device
# through one hand-keyed SA pair, over ESP-in-UDP 4500 (RFC 3948) and raw ESP (IP protocol
# 50), each between IPv4 and between IPv6 WAN addresses (the inner packets are IPv4). Proves
# the TUN/rtnetlink/raw-socket I/O and the DataPlane end to end inside lab namespaces. Needs
# root. Exit 0 = all four modes passed.
#   ESP_TOOL=path (default $IKP_BUILD/src/dataplane/esp_tool, else build-dp's)
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
ESP_TOOL=${ESP_TOOL:-${IKP_BUILD:-build-dp}/src/dataplane/esp_tool}
[[ -x $ESP_TOOL ]] || ESP_TOOL=build-dp/src/dataplane/esp_tool
[[ -x $ESP_TOOL ]] || { echo "no esp_tool at $ESP_TOOL" >&2; exit 1; }
source tests/lab/lablib.sh
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24 198.51.100.10/24
lab_gw_add b 192.0.2.2/24 203.0.113.1/24 203.0.113.10/24
# IPv6 on the same WAN (documentation prefix; nodad: usable at once).
ip -n "$(lab_ns a)" addr add 2001:db8::1/64 dev wan0 nodad
ip -n "$(lab_ns b)" addr add 2001:db8::2/64 dev wan0 nodad

# Lab-only throw-away keys.
EK_AB=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
EK_BA=202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
IK_AB=404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f
IK_BA=606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f
pass=0

run_mode() {  # MODE(udp|raw) FAMILY(4|6) TAG
  local mode=$1 family=$2 tag=$3 extra=() wa=192.0.2.1 wb=192.0.2.2 ipv=IP
  [[ $mode == raw ]] && extra=(--raw)
  [[ $family == 6 ]] && wa=2001:db8::1 wb=2001:db8::2 ipv=IP6
  mode="$mode/IPv$family"
  lab_gw_bg a "$LAB_WORK/esp-a-$tag.log" "$ESP_TOOL" --tun "ipsec$tag" --local $wa \
    --remote $wb --spi-in c0000b0a --spi-out c0000a0b --enc aes256 --integ sha256 \
    --enc-key-in "$EK_BA" --enc-key-out "$EK_AB" --integ-key-in "$IK_BA" \
    --integ-key-out "$IK_AB" --local-net 198.51.100.0/24 --remote-net 203.0.113.0/24 \
    --max-seconds 60 "${extra[@]}"
  local pa=$LAB_LAST_PID
  lab_gw_bg b "$LAB_WORK/esp-b-$tag.log" "$ESP_TOOL" --tun "ipsec$tag" --local $wb \
    --remote $wa --spi-in c0000a0b --spi-out c0000b0a --enc aes256 --integ sha256 \
    --enc-key-in "$EK_AB" --enc-key-out "$EK_BA" --integ-key-in "$IK_AB" \
    --integ-key-out "$IK_BA" --local-net 203.0.113.0/24 --remote-net 198.51.100.0/24 \
    --max-seconds 60 "${extra[@]}"
  local pb=$LAB_LAST_PID
  lab_wait_for "$LAB_WORK/esp-a-$tag.log" "esp_tool: ready" 10 || lab_die "esp_tool a ($mode) not ready: $(cat "$LAB_WORK/esp-a-$tag.log")"
  lab_wait_for "$LAB_WORK/esp-b-$tag.log" "esp_tool: ready" 10 || lab_die "esp_tool b ($mode) not ready: $(cat "$LAB_WORK/esp-b-$tag.log")"
  local filter=udp
  [[ ${extra[*]} == --raw ]] && filter="ip proto 50 or ip6 proto 50"
  lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/wan-$tag.pcap" "$filter" || true
  if ip netns exec "$(lab_ns a-host)" ping -c 5 -i 0.2 -W 2 203.0.113.10 >"$LAB_WORK/ping-$tag.txt"; then
    lab_log "$mode: ping 198.51.100.10 -> 203.0.113.10 through ESP: $(grep -o '[0-9]* received' "$LAB_WORK/ping-$tag.txt")"
  else
    cat "$LAB_WORK/ping-$tag.txt" "$LAB_WORK/esp-a-$tag.log" "$LAB_WORK/esp-b-$tag.log" >&2
    lab_die "$mode: ping failed"
  fi
  ip netns exec "$(lab_ns b-host)" ping -c 3 -i 0.2 -W 2 198.51.100.10 >/dev/null ||
    lab_die "$mode: reverse ping failed"
  # A full-MTU inner packet (1372 + 8 ICMP + 20 IP = 1400 = the TUN MTU).
  ip netns exec "$(lab_ns a-host)" ping -c 2 -i 0.2 -W 2 -s 1372 203.0.113.10 >/dev/null ||
    lab_die "$mode: large ping failed"
  lab_capture_stop
  local esp_count
  # Counted only in the expected outer family ("IP " or "IP6 " before the addresses).
  esp_count=$(tcpdump -nr "$LAB_WORK/wan-$tag.pcap" 2>/dev/null |
    grep -c "${ipv} ${wa}[. ].*ESP(spi=0xc0000a0b" || true)
  lab_log "$mode: $esp_count ESP packets with SPI 0xc0000a0b from $wa on a's WAN"
  [[ $esp_count -ge 5 ]] || lab_die "$mode: expected ESP over IPv$family on the wire"
  kill -TERM "$pa" "$pb"
  lab_wait_for "$LAB_WORK/esp-a-$tag.log" "esp_tool: stopped" 10 || true
  lab_wait_for "$LAB_WORK/esp-b-$tag.log" "esp_tool: stopped" 10 || true
  grep "stats" "$LAB_WORK/esp-a-$tag.log" | tail -1 >&2
  pass=$((pass + 1))
}

run_mode udp 4 u
run_mode raw 4 r
run_mode udp 6 u6
run_mode raw 6 r6
lab_log "PASS: $pass/4 modes"
