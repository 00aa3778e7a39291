#!/usr/bin/env bash
# no_proposal.sh — issue #10 item 6: strongSwan b initiates Main Mode with a proposal that
# matches no `crypto isakmp policy` of ikepulsed (aes256-sha256 vs aes/sha). ikepulsed answers
# the MM1 with an unauthenticated NO_PROPOSAL_CHOSEN notify (responder cookie zero), and
# strongSwan's log says why the negotiation failed; ikepulsed creates no ISAKMP SA.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites
PSK=lab-secret-not-for-production
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=$PSK proposals=aes256-sha256-modp2048 \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 log="default=1 ike=2 enc=1 cfg=1"
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=0
ikp_start a "$LAB_WORK/a.cfg"
LOG=${IKP_LOG[a]}
CLOG=$(lab_charon_log b)
( lab_initiate b net 10 ) &
INIT_PID=$!
ok=1
lab_wait_for "$CLOG" "received NO_PROPOSAL_CHOSEN error notify" 15 || ok=0
wait "$INIT_PID" 2>/dev/null
grep -E "NO_PROPOSAL_CHOSEN|INFORMATIONAL_V1" "$CLOG" | head -3 | sed 's/^/  charon: /'
ikp_check "strongSwan logged: received NO_PROPOSAL_CHOSEN error notify" test $ok = 1
ikp_check "ikepulsed logged the mode failure" grep -q "IKMP_MODE_FAILURE" "$LOG"
ikp_check "ikepulsed holds no ISAKMP SA" test -z "$(ikp_isakmp_states a)"
sent=$(ikp_json a "show crypto call admission statistics" | jq -r .no_proposal_sent)
ikp_check "ikepulsed counted the notify ($sent)" test "${sent:-0}" -ge 1
ikp_finish no_proposal
