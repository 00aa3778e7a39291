#!/usr/bin/env bash
# Configures the `fuzz` preset into build/fuzz (clang, ASan+UBSan -O1, libFuzzer), builds the
# fuzz targets only, and runs each through `ctest -L fuzz`: the codec targets for
# IKEPULSE_FUZZ_SECONDS (default 20), fuzz_node for IKEPULSE_FUZZ_NODE_SECONDS (default 120),
# fuzz_ikev2_session for IKEPULSE_FUZZ_IKEV2_SESSION_SECONDS (default 60).
# fuzz_node gets longer because one of its inputs drives whole exchanges between two nodes
# (~1,300 inputs/s against 10-100k/s for a parser), and the states after authentication are
# only reached by inputs built on earlier finds. fuzz_ikev2_session drives one IKEv2 SA pair
# from snapshots and forges authenticated messages itself (a few thousand inputs/s), so it
# needs less. The whole CI fuzz step takes ~5 minutes.
# Usage: tests/fuzz/run.sh
#        IKEPULSE_FUZZ_SECONDS=300 IKEPULSE_FUZZ_NODE_SECONDS=3600 tests/fuzz/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"
seconds="${IKEPULSE_FUZZ_SECONDS:-20}"
node_seconds="${IKEPULSE_FUZZ_NODE_SECONDS:-120}"
ikev2_session_seconds="${IKEPULSE_FUZZ_IKEV2_SESSION_SECONDS:-60}"

cmake --preset fuzz -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DIKEPULSE_FUZZ_SECONDS="${seconds}" \
  -DIKEPULSE_FUZZ_NODE_SECONDS="${node_seconds}" \
  -DIKEPULSE_FUZZ_IKEV2_SESSION_SECONDS="${ikev2_session_seconds}"
cmake --build build/fuzz -j2 --target ikepulse_fuzz
status=0
ctest --test-dir build/fuzz -L fuzz --output-on-failure || status=$?

# One line per target: how many inputs it ran.
log="build/fuzz/Testing/Temporary/LastTest.log"
if [[ -f "${log}" ]]; then
  awk '/^[0-9]+\/[0-9]+ Test: /{t=$3} /stat::number_of_executed_units/{print t": "$2" execs"}' \
    "${log}"
fi
exit "${status}"
