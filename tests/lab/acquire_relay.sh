#!/usr/bin/env bash
# acquire_relay.sh — the acquire that strongSwan's kernel-libipsec does not raise, for the lab.
#
# With the kernel-netlink backend, a packet that meets a trap policy (start_action = trap) and
# has no SA makes the kernel send an XFRM acquire, and charon initiates that CHILD_SA. The
# kernel here has no ESP, so the lab's strongSwan peers run kernel-libipsec, whose outbound
# path has no acquire: it logs "could not find an outbound IPsec SA for reqid {N}, dropping
# packet" and drops the packet (libipsec/ipsec_processor.c, a TODO in strongSwan 5.9.8).
# This relay watches charon's log for that line and does what the acquire would have done:
# `swanctl --initiate --child CHILD`. So traffic from the host behind strongSwan brings the
# tunnel up, strongSwan initiating and ikepulse responding.
#
# Usage: acquire_relay.sh CHARON_DIR CHILD [MAX_SECONDS] [MAX_INITIATES]
#   CHARON_DIR: the lab's charon directory (strongswan.conf, run/charon.vici, charon.log).
# Bounded: exits after MAX_SECONDS (default 300) or MAX_INITIATES initiations (default 20).
# One initiation at a time; drop lines logged while one runs are covered by it. Output: one
# line per relayed acquire ("acquire relay: reqid {N} -> initiate CHILD: rc R, S s").
set -u
dir=$1 child=$2 max_s=${3:-300} max_n=${4:-20}
log=$dir/charon.log
re='could not find an outbound IPsec SA for reqid'
initiator=
trap '[[ -n $initiator ]] && kill -TERM "$initiator" 2>/dev/null; exit 0' TERM INT
count() { grep -c -- "$re" "$log" 2>/dev/null || true; }
seen=$(count)
seen=${seen:-0}
n=0
end=$((SECONDS + max_s))
echo "acquire relay: watching $log for child $child (max ${max_s}s, $max_n initiations)"
while ((SECONDS < end && n < max_n)); do
  now=$(count)
  now=${now:-0}
  if ((now > seen)); then
    reqid=$(grep -- "$re" "$log" | tail -1 | grep -Eo 'reqid \{[0-9]+\}')
    n=$((n + 1))
    t0=$(date +%s.%N)
    STRONGSWAN_CONF="$dir/strongswan.conf" timeout 30 swanctl --initiate \
      --uri "unix://$dir/run/charon.vici" --child "$child" --timeout 15 >>"$dir/relay-initiate.out" 2>&1 &
    initiator=$!
    wait "$initiator"
    rc=$?
    initiator=
    t1=$(date +%s.%N)
    echo "acquire relay: $reqid -> initiate $child: rc $rc, $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }') s"
    # Drops logged while the initiation ran were waiting for it: skip them.
    seen=$(count)
    seen=${seen:-0}
  fi
  sleep 0.05
done
echo "acquire relay: done after $n initiation(s)"
