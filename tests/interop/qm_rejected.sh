#!/usr/bin/env bash
# qm_rejected.sh — a Quick Mode the other side cannot accept (ESP transforms that do not
# overlap), against strongSwan 5.9.8, with phase 1 up. Each side tells the other with an
# authenticated error notify, as IOS does, and the initiator stops at once:
#   1. ikepulse initiates (esp-aes 256 esp-sha256-hmac; strongSwan only aes128-sha1):
#      strongSwan answers NO_PROPOSAL_CHOSEN and ikepulse ends that Quick Mode on it, with no
#      retransmission (before: 23 s of retransmissions, "Death by retransmission P2").
#   2. strongSwan initiates (its child proposes aes128-sha1; ikepulse's transform set is
#      esp-aes 256 esp-sha256-hmac): ikepulse logs IKMP_MODE_FAILURE and sends
#      NO_PROPOSAL_CHOSEN; strongSwan logs it received that notify.
# Root; bounded (< 60 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lab/lablib.sh
source tests/interop/iplib.sh
ikp_two_sites
lab_charon_config b local=192.0.2.2 remote=192.0.2.1 psk=lab-secret-not-for-production \
  local_ts=203.0.113.0/24 remote_ts=198.51.100.0/24 dpd_delay=0s esp_proposals=aes128-sha1
lab_charon_start b
ikp_config "$LAB_WORK/a.cfg" self=192.0.2.1 peers=192.0.2.2 keep_up=1 \
  esp="esp-aes 256 esp-sha256-hmac"
ikp_start a "$LAB_WORK/a.cfg" --debug --no-dataplane
swan_log=$(lab_charon_log b)

# 1. ikepulse initiates.
ikp_check "phase 1 up (ISAKMP SA QM_IDLE)" lab_wait_for "${IKP_LOG[a]}" "New State = IKE_P1_COMPLETE" 15
ikp_check "strongSwan rejects the Quick Mode (no matching proposal)" \
  lab_wait_for "$swan_log" "no matching proposal found|NO_PROPOSAL_CHOSEN" 10
ikp_check "ikepulse ends the Quick Mode on strongSwan's notify" \
  lab_wait_for "${IKP_LOG[a]}" 'reason "peer sent NO_PROPOSAL_CHOSEN"' 5
t_qm=$(grep -m1 "beginning Quick Mode exchange" "${IKP_LOG[a]}" | grep -Eo '[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}')
t_end=$(grep -m1 'reason "peer sent NO_PROPOSAL_CHOSEN"' "${IKP_LOG[a]}" | grep -Eo '[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}')
lab_log "Quick Mode started $t_qm, ended on the notify $t_end"
ikp_check "no phase 2 retransmission" bash -c "! grep -q 'retransmitting phase 2' '${IKP_LOG[a]}'"
ikp_check "no IPsec SA on either side" bash -c \
  "! grep -q 'IPSEC(create_sa)' '${IKP_LOG[a]}' && ! grep -q 'CHILD_SA .* established' '$swan_log'"

# 2. strongSwan initiates its child over the same ISAKMP SA.
lab_initiate b net 10 || true
ikp_check "ikepulse logs IKMP_MODE_FAILURE (no acceptable proposal)" \
  lab_wait_for "${IKP_LOG[a]}" "IKMP_MODE_FAILURE.*no acceptable proposal" 10
ikp_check "ikepulse sends NO_PROPOSAL_CHOSEN" \
  lab_wait_for "${IKP_LOG[a]}" "sending NOTIFY NO_PROPOSAL_CHOSEN" 5
ikp_check "strongSwan received the NO_PROPOSAL_CHOSEN notify" \
  lab_wait_for "$swan_log" "received NO_PROPOSAL_CHOSEN" 10
grep -E "NO_PROPOSAL_CHOSEN|no matching proposal" "$swan_log" | head -4 | sed 's/^/  strongSwan: /'
ikp_finish qm_rejected
