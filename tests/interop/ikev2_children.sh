#!/usr/bin/env bash
# ikev2_children.sh — two crypto map entries to the same strongSwan 5.9.8 peer (`version = 2`)
# with the same IKEv2 profile: one IKE SA, the second entry's Child SA by CREATE_CHILD_SA
# (issue #11). Topology (as ikev2.sh):
#   A  ikepulse   192.0.2.1  LANs 198.51.100.0/24 (entry green 10, ACL 101) and
#                            198.51.101.0/24 (entry green 20, ACL 102), set peer B1 B2,
#                            profile `dpd 10 2 periodic`
#   B1 strongSwan 192.0.2.2  children net (203.0.113.0/24) and net2 (203.0.114.0/24)
#   B2 strongSwan 192.0.2.3  the same
# 1. ikepulse initiates both entries (keep-up): strongSwan holds ONE IKE SA with TWO
#    CHILD_SAs INSTALLED; the second came by a CREATE_CHILD_SA request from ikepulse.
# 2. B1 SIGKILLed: DOWN 20.0-20.5 s after its last packet; both entries fail over to B2,
#    again one IKE SA with two CHILD_SAs.
# 3. strongSwan B2 initiates net, then net2 over the same IKE SA: ikepulse answers the
#    additional Child SA as responder (one IKE SA, two Child SAs on both sides).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
PSK=lab-secret-not-for-production
ikp_sites nohosts b1 b2
# The second pair of LANs (kernel-libipsec routes a child's traffic from its own LAN address).
ip -n "$(lab_ns a)" addr add 198.51.101.1/24 dev lan0
for b in b1 b2; do ip -n "$(lab_ns $b)" addr add 203.0.114.1/24 dev lan0; done

# flex_config FILE KEEP_UP PEERS...: two entries, one profile.
flex_config() {
  local file=$1 keep=$2 p seq acl
  shift 2
  {
    echo "hostname A"
    printf '%s\n' "crypto ikev2 proposal PROP" " encryption aes-cbc-128" " integrity sha256" \
      " group 14" "crypto ikev2 policy POL" " proposal PROP" "crypto ikev2 keyring KR"
    for p in "$@"; do printf '%s\n' " peer p$p" "  address $p" "  pre-shared-key $PSK"; done
    echo "crypto ikev2 profile PROF"
    for p in "$@"; do echo " match identity remote address $p 255.255.255.255"; done
    printf '%s\n' " authentication remote pre-share" " authentication local pre-share" \
      " keyring local KR" " dpd 10 2 periodic" \
      "crypto ipsec transform-set T1 esp-aes esp-sha256-hmac" " mode tunnel"
    for seq in 10 20; do
      acl=$((seq == 10 ? 101 : 102))
      echo "crypto map green $seq ipsec-isakmp"
      for p in "$@"; do echo " set peer $p"; done
      printf '%s\n' " set transform-set T1" " set ikev2-profile PROF" " match address $acl"
      if [[ $keep == 1 ]]; then echo " ikepulse keep-up"; fi
    done
    printf '%s\n' "interface wan0" " ip address 192.0.2.1 255.255.255.0" " crypto map green" \
      "access-list 101 permit ip 198.51.100.0 0.0.0.255 203.0.113.0 0.0.0.255" \
      "access-list 102 permit ip 198.51.101.0 0.0.0.255 203.0.114.0 0.0.0.255"
  } >"$file"
}

# swan_counts NAME: "IKE_SAS CHILD_SAS_INSTALLED" in NAME's `swanctl --list-sas`.
swan_counts() {
  local out
  out=$(lab_list_sas "$1" 2>/dev/null)
  echo "$(grep -c 'IKEv2' <<<"$out") $(grep -c 'reqid.*INSTALLED' <<<"$out")"
}
# swan_has NAME COUNTS: swan_counts NAME is COUNTS.
swan_has() { [[ $(swan_counts "$1") == "$2" ]]; }
# ikp_counts: "IKE_SAS CHILD_SAS" in ikepulse's `show crypto ikev2 sa detailed --json`.
ikp_counts() {
  ikp_json a "show crypto ikev2 sa detailed" |
    jq -r '[((.ikev2_sas // []) | length), ([(.ikev2_sas // [])[] | (.children // []) | length] | add // 0)] | "\(.[0]) \(.[1])"' 2>/dev/null
}
# two_children TAG NAME: both sides hold one IKE SA with two Child SAs (waits up to 15 s).
two_children() {
  local tag=$1 name=$2 sw ik
  lab_wait_cmd 15 swan_has "$name" "1 2" || true
  sw=$(swan_counts "$name")
  ik=$(ikp_counts)
  ikp_json a "show crypto ikev2 sa detailed" >"$LAB_WORK/ikev2-sa-$tag.json"
  lab_list_sas "$name" 2>/dev/null | sed 's/^/    /'
  ikp_cli a "show crypto ikev2 sa" | sed 's/^/    /'
  ikp_check "$tag: strongSwan $name: 1 IKE SA, 2 CHILD_SAs INSTALLED ($sw)" test "$sw" = "1 2"
  ikp_check "$tag: ikepulse: 1 IKE SA, 2 Child SAs ($ik)" test "$ik" = "1 2"
}

for b in b1 b2; do
  ip=$B1
  [[ $b == b2 ]] && ip=$B2
  ikp_swan_v2 "$b" "$ip" dpd_delay=30s log="default=1 ike=2 cfg=1 net=1"
  # A second child, net2, beside net in the same connection (then loaded again).
  python3 - "$(lab_charon_dir "$b")/swanctl.conf" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
m = re.search(r"( *)net \{\n(.*?)\n\1\}\n", s, re.S)
block = m.group(0).replace("net {", "net2 {", 1)
block = block.replace("203.0.113.0/24", "203.0.114.0/24").replace("198.51.100.0/24", "198.51.101.0/24")
s = s[:m.end()] + block + s[m.end():]
open(p, "w").write(s)
EOF
  lab_swanctl "$b" --load-all --noprompt --file "$(lab_charon_dir "$b")/swanctl.conf" >/dev/null 2>&1 ||
    lab_die "swanctl --load-all $b"
done
L1=$(lab_charon_log b1)
L2=$(lab_charon_log b2)

# --- 1. ikepulse initiates both entries
echo "== 1. ikepulse: entries green 10 and green 20 to B1 (keep-up)"
lab_capture_start "$(lab_ns a)" wan0 "$LAB_WORK/a.pcap"
flex_config "$LAB_WORK/a1.cfg" 1 $B1 $B2
ikp_start a "$LAB_WORK/a1.cfg" --debug
LOG=${IKP_LOG[a]}
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B1" 15 || ikp_bad "1: tunnel up with B1"
two_children 1 b1
ikp_check "1: ikepulse sent CREATE_CHILD_SA for green 20" \
  grep -q "Sending CREATE_CHILD_SA request for crypto map green 20" "$LOG"
ikp_check "1: strongSwan parsed a CREATE_CHILD_SA request and established net2" \
  bash -c "grep -q 'parsed CREATE_CHILD_SA request' '$L1' && grep -q 'CHILD_SA net2{[0-9]*} established' '$L1'"
ikp_check "1: one IKE_SA_INIT from ikepulse" test "$(grep -c 'Sending IKE_SA_INIT request' "$LOG")" = 1

# --- 2. B1 SIGKILLed
echo "== 2. B1 SIGKILLed: both entries fail over to B2"
l1=$(wc -l <"$L1")
lab_wait_cmd 15 bash -c "tail -n +$((l1 + 1)) '$L1' | grep -q 'INFORMATIONAL response'" || true
t_kill=$(date +%s.%3N)
lab_kill_charon b1 KILL
lab_wait_for "$LOG" "Crypto tunnel is DOWN\. Peer $B1" 35 || ikp_bad "2: ikepulse DOWN with B1"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 10 || ikp_bad "2: ikepulse UP with B2"
two_children 2 b2
lab_capture_stop
last_b1=$(tshark -r "$LAB_WORK/a.pcap" -Y "ip.src==$B1" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
l_down=$(grep -m1 "Crypto tunnel is DOWN\. Peer $B1" "$LOG")
t_down=$([[ -n $l_down ]] && ikp_log_epoch "$l_down")
if [[ -n $last_b1 && -n $t_down ]]; then
  det=$(ikp_fsub "$t_down" "$last_b1")
  echo "  SIGKILL $t_kill, last packet from B1 $last_b1, DOWN $t_down: $det s"
  ikp_check "2: DOWN $det s after the last packet from B1, within [$IKP_DEAD_MIN, $IKP_DEAD_MAX]" \
    ikp_fcmp "$det >= $IKP_DEAD_MIN && $det <= $IKP_DEAD_MAX"
else
  ikp_bad "2: DOWN delay measurable"
fi
ikp_check "2: ikepulse sent CREATE_CHILD_SA for green 20 to B2" \
  grep -q "parsed CREATE_CHILD_SA request" "$L2"
ikp_stop a
lab_wait_cmd 5 swan_has b2 "0 0" || true

# --- 3. strongSwan initiates both children
echo "== 3. strongSwan B2 initiates net, then net2 over the same IKE SA"
flex_config "$LAB_WORK/a3.cfg" 0 $B2
ikp_start a "$LAB_WORK/a3.cfg" --debug
LOG=${IKP_LOG[a]}
l2=$(wc -l <"$L2")
lab_initiate b2 net 20 || echo "  (swanctl --initiate net: $(tail -1 "$(lab_charon_dir b2)/initiate.out"))"
lab_wait_for "$LOG" "Crypto tunnel is UP\. Peer $B2" 15 || ikp_bad "3: tunnel up with B2"
lab_initiate b2 net2 20 || echo "  (swanctl --initiate net2: $(tail -1 "$(lab_charon_dir b2)/initiate.out"))"
two_children 3 b2
ikp_check "3: strongSwan sent CREATE_CHILD_SA for net2, ikepulse answered" \
  bash -c "tail -n +$((l2 + 1)) '$L2' | grep -q 'generating CREATE_CHILD_SA request' && tail -n +$((l2 + 1)) '$L2' | grep -q 'CHILD_SA net2{[0-9]*} established'"
ikp_check "3: ikepulse sent no IKE_SA_INIT" test "$(grep -c 'Sending IKE_SA_INIT request' "$LOG")" = 0
ikp_stop a
ikp_finish ikev2_children
