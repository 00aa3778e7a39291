#!/usr/bin/env bash
# Configures the `fuzz` preset into build/fuzz (clang, ASan+UBSan, libFuzzer), builds the fuzz
# targets only, and runs each for IKEPULSE_FUZZ_SECONDS (default 20) through `ctest -L fuzz`.
# Usage: tests/fuzz/run.sh            IKEPULSE_FUZZ_SECONDS=300 tests/fuzz/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"
seconds="${IKEPULSE_FUZZ_SECONDS:-20}"

cmake --preset fuzz -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DIKEPULSE_FUZZ_SECONDS="${seconds}"
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
