#!/usr/bin/env bash
# Scaling guard (a test, label `sim`): runs the virtual-time DPD benchmark at a CI size and
# fails if the engine's CPU per DPD exchange or its memory per established SA has regressed by
# more than 2x from the figures recorded in docs/PERFORMANCE.md ("Scaling guard"). The full
# runs (100,000 and 1,000,000 SAs) stay benchmarks.
# Usage: bench/scale_guard.sh <path to scale_bench> [SAS]
set -euo pipefail
bench="$1"
sas="${2:-2000}"
# Recorded (2,000 SAs, one virtual minute, Release -O2 on the 2-core CI-sized machine): 13 us
# of CPU per DPD exchange (both engines and the simulator; commit 6df6a73), 968 B of engine
# memory per established SA at the gateway (operator new, steady state; EntryRefs inline).
recorded_us=13
recorded_bytes=968

out="$("${bench}" --sas "${sas}" --minutes 1)"
echo "${out}"
us="$(sed -n 's/.* -> \([0-9.]*\) us CPU per DPD exchange.*/\1/p' <<<"${out}")"
bytes="$(sed -n 's/.*steady state (after the DPD phase): GW operator new live bytes per SA \([0-9]*\) B.*/\1/p' <<<"${out}")"
dead="$(sed -n 's/.*peers dead \([0-9]*\),.*/\1/p' <<<"${out}")"
if [[ -z "${us}" || -z "${bytes}" || -z "${dead}" ]]; then
  echo "scale_guard: could not read the figures from scale_bench's output" >&2
  exit 1
fi
status=0
echo "scale_guard: ${us} us per DPD exchange (limit $((2 * recorded_us))), ${bytes} B per SA" \
     "(limit $((2 * recorded_bytes))), ${dead} peers declared dead (must be 0)"
if awk -v a="${us}" -v b="$((2 * recorded_us))" 'BEGIN { exit !(a > b) }'; then
  echo "scale_guard: FAIL: CPU per DPD exchange regressed more than 2x" >&2
  status=1
fi
if (( bytes > 2 * recorded_bytes )); then
  echo "scale_guard: FAIL: memory per established SA regressed more than 2x" >&2
  status=1
fi
if (( dead != 0 )); then
  echo "scale_guard: FAIL: false peer death under steady DPD" >&2
  status=1
fi
exit "${status}"
