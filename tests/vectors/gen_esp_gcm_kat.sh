#!/usr/bin/env bash
# ESP AES-GCM-16 packets produced by strongSwan 5.9.8's kernel-libipsec, for the known answers
# in src/dataplane/esp_test.cc (EspGcmStrongSwanKat). For each of aes128gcm16 / aes256gcm16:
# charon B1 (IKEv2, chd=4 key logging: lab only, throw-away SAs) against ikepulsed A
# (`esp-gcm` / `esp-gcm 256`); A initiates (a ping from a-host), then b1-host pings a-host
# once; a capture on A's WAN gives the first ESP-in-UDP packet B1 sent, and B1's log the key
# it sent it with (charon is the responder: "encryption responder key", key | salt).
# Prints "name spi key packet" lines.
#   sudo IKP_BUILD=build/release tests/vectors/gen_esp_gcm_kat.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
IKP_BUILD=${IKP_BUILD:-build/release}
source tests/lab/lablib.sh
source tests/interop/iplib.sh
lab_init
lab_switch_create
lab_gw_add a 192.0.2.1/24 198.51.100.1/24 198.51.100.10/24
lab_gw_add b1 192.0.2.2/24 203.0.113.1/24 203.0.113.10/24
PSK=lab-secret-not-for-production
B1=192.0.2.2
for c in "esp-gcm|aes128gcm16|aes128_gcm16_strongswan" "esp-gcm 256|aes256gcm16|aes256_gcm16_strongswan"; do
  IFS='|' read -r ts swesp name <<<"$c"
  lab_charon_config b1 version=2 local=$B1 remote=192.0.2.1 psk=$PSK \
    proposals=aes256-sha256-ecp256 esp_proposals="$swesp" local_ts=203.0.113.0/24 \
    remote_ts=198.51.100.0/24 dpd_delay=0s log="default=1 ike=2 chd=4 cfg=1" \
    extra_charon="    keep_alive = 0s"
  lab_charon_start b1
  cap="$LAB_WORK/$name.pcap"
  lab_capture_start "$(lab_ns a)" wan0 "$cap" "udp port 4500 and src host $B1"
  ikp_flex_config "$LAB_WORK/$name.cfg" "aes-cbc-256 sha256 - 19" "$ts" "" 0 $B1
  ikp_start a "$LAB_WORK/$name.cfg"
  lab_wait_for "${IKP_LOG[a]}" "DATAPLANE: userspace ESP" 5 || lab_die "no data plane"
  ikp_ping a-host 203.0.113.10 2 -w 15 >/dev/null || lab_die "$name: no tunnel"
  ikp_ping b1-host 198.51.100.10 1 >/dev/null || lab_die "$name: no ping from b1-host"
  lab_capture_stop
  LAB_CAPTURE_PIDS=()
  python3 - "$cap" "$(lab_charon_log b1)" "$name" <<'PY'
import sys
sys.path.insert(0, "tests/vectors")
from extract_vectors import CharonLog, read_pcap
cap, log, name = sys.argv[1:4]
key = CharonLog(log).blob("encryption responder key", "CHD")
esp = [p for (_t, _s, _d, sp, dp, p) in read_pcap(cap) if sp == 4500 and dp == 4500 and len(p) > 8 and p[:4] != bytes(4)]
if not esp: sys.exit("no ESP from B1 in " + cap)
print(name, esp[0][:4].hex(), key.hex(), esp[0].hex())
PY
  ikp_stop a
  lab_kill_charon b1 TERM
done
