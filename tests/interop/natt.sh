#!/usr/bin/env bash
# natt.sh — `ikepulse nat-t force-encapsulation` against strongSwan (RFC 3947/3948):
#   - ikepulse fakes its NAT-D hash, so strongSwan sees "remote host is behind NAT";
#   - MM1..MM4 on UDP 500, everything after MM4 on UDP 4500 with the 4-byte non-ESP marker;
#   - the CHILD_SA is TUNNEL-in-UDP, and ESP from strongSwan (a ping from B's LAN address
#     into the tunnel, via kernel-libipsec) travels as ESP-in-UDP 4500 with its SPI first.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites
A=192.0.2.1
B=192.0.2.2
lab_charon_config b local=$B remote=$A psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 log="default=1 ike=2 cfg=1 net=1"
lab_charon_start b
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap" "udp"
ikp_config "$LAB_WORK/a.cfg" self=$A peers=$B keep_up=1 extra="ikepulse nat-t force-encapsulation"
ikp_start a "$LAB_WORK/a.cfg" --debug
LOG=${IKP_LOG[a]}
CLOG=$(lab_charon_log b)
lab_wait_for "$LOG" "Crypto tunnel is UP" 15 || { ikp_bad "tunnel up"; ikp_finish natt; }
lab_wait_for "$CLOG" "CHILD_SA .* established" 10 || ikp_bad "CHILD_SA established"
run=$(ikp_cli a "show running-config" 2>/dev/null)
ikp_check "show running-config carries 'ikepulse nat-t force-encapsulation'" \
  grep -q "^ikepulse nat-t force-encapsulation" <<<"$run"
ikp_check "strongSwan: remote host is behind NAT (ikepulse's faked NAT-D)" \
  grep -q "remote host is behind NAT" "$CLOG"
grep -E "behind NAT|faking NAT" "$CLOG" | sed 's/^/    /'
enc=$(ikp_swan_sa b encap)
ikp_check "strongSwan CHILD_SA is $enc" test "$enc" = TUNNEL-in-UDP
lab_list_sas b | grep -q "remote '$A' @ ${A}\[4500\]" && ikp_ok "strongSwan sees ikepulse at ${A}[4500]" ||
  ikp_bad "strongSwan sees ikepulse at ${A}[4500]"
spi_out=$(ikp_swan_sa b spi_out)
# ESP from B's LAN into the tunnel (kernel-libipsec encapsulates it in UDP 4500).
ip netns exec "$(lab_ns b)" ping -c 3 -i 0.2 -W 1 -I 203.0.113.1 198.51.100.1 >"$LAB_WORK/ping.out" 2>&1 || true
lab_wait_cmd 5 bash -c "tshark -r '$LAB_WORK/a.pcap' -Y 'udp.srcport==4500 && ip.src==$B' -T fields -e udp.payload 2>/dev/null | grep -q '^${spi_out:-x}'"
lab_capture_stop

echo "== UDP on A's wire (src:port -> dst:port, first 4 payload bytes, what it is)"
tshark -r "$LAB_WORK/a.pcap" -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e udp.length \
  -e udp.payload -e isakmp.exchangetype 2>/dev/null |
  awk -v spi="$spi_out" '{
    p = substr($6, 1, 8); what = "?"
    if ($4 == 500 || $2 == 500) what = "IKE (port 500, no marker), exch " $7
    else if ($5 == 9 && $6 == "ff") what = "NAT-T keepalive"
    else if (p == "00000000") what = "IKE after non-ESP marker, exch " $7
    else if (p == spi) what = "ESP-in-UDP, SPI " p " (strongSwan out)"
    else what = "ESP-in-UDP, SPI " p
    printf "  %s:%s -> %s:%s  %s  %s\n", $1, $2, $3, $4, p, what }' | tee "$LAB_WORK/udp.txt"
n500=$(grep -c "IKE (port 500" "$LAB_WORK/udp.txt" || true)
mm500=$(tshark -r "$LAB_WORK/a.pcap" -Y "udp.port==500 && isakmp.exchangetype==2" 2>/dev/null | wc -l)
n4500_ike=$(grep -c "after non-ESP marker" "$LAB_WORK/udp.txt" || true)
n4500_bad=$(awk '$1 ~ /:4500$/ || $3 ~ /:4500$/' "$LAB_WORK/udp.txt" | grep -c "?" || true)
first4500=$(grep -n ":4500" "$LAB_WORK/udp.txt" | head -1 | cut -d: -f1)
last500=$(grep -n "port 500" "$LAB_WORK/udp.txt" | tail -1 | cut -d: -f1)
esp=$(grep -c "(strongSwan out)" "$LAB_WORK/udp.txt" || true)
echo "  port 500: $n500 packets ($mm500 Main Mode); port 4500 IKE with marker: $n4500_ike; ESP-in-UDP from B: $esp"
ikp_check "Main Mode MM1..MM4 on port 500 ($mm500 packets, >= 4)" test "$mm500" -ge 4
ikp_check "nothing on port 500 after the switch to 4500" test "${last500:-0}" -lt "${first4500:-0}"
ikp_check "IKE on 4500 carries the non-ESP marker ($n4500_ike packets: MM5, MM6, QM1..3)" test "$n4500_ike" -ge 5
ikp_check "no unclassified packet on 4500" test "$n4500_bad" = 0
ikp_check "ESP-in-UDP on 4500 with strongSwan's outbound SPI $spi_out ($esp packets)" test "$esp" -ge 1
io=$(ikp_json a "show crypto ipsec sa" | jq -r '.ipsec_sas[0] | "decaps \(.pkts_decaps) encaps \(.pkts_encaps) port \(.peer_port)"' 2>/dev/null)
echo "  ikepulse ipsec sa: $io; ping from B's LAN: $(grep -Eo '[0-9]+ received' "$LAB_WORK/ping.out" || echo '?')"
ikp_finish natt
