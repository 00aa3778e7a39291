#!/usr/bin/env bash
# The whole test suite, for a fresh Debian 12 machine, as root:
#   sudo ./scripts/test.sh            install deps, build (release), run unit + sim + interop
#                                     tests and the .deb install/purge test, then the fuzz
#                                     targets (clang, ASan+UBSan, bounded)
#   sudo ./scripts/test.sh --asan     build with ASan+UBSan and run the unit + sim tests
#   ./scripts/test.sh --quick         unit + sim only (no root needed once deps are installed)
# Every phase prints ctest's summary; the script exits non-zero on the first failing phase.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
jobs=${JOBS:-$(nproc)}

log() { printf '\n=== %s ===\n' "$*"; }

if [[ $(id -u) -eq 0 ]]; then
  log "dependencies (scripts/install-deps.sh)"
  bash scripts/install-deps.sh
fi

build() {  # build PRESET [targets...]
  local preset=$1
  shift
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs" "$@"
}

case "$mode" in
  --asan)
    log "ASan+UBSan build"
    build asan
    log "unit + sim tests under ASan+UBSan"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --preset asan -L 'unit|sim' -j "$jobs" --timeout 600
    ;;
  --quick)
    log "release build"
    build release
    log "unit + sim tests"
    ctest --preset release -L 'unit|sim' -j "$jobs"
    ;;
  full)
    log "release build"
    build release
    log "unit + sim tests"
    ctest --preset release -L 'unit|sim' -j "$jobs"
    log "interop tests (strongSwan 5.9.8 in network namespaces) and the Debian package"
    ctest --preset release -L 'interop|loopback|package' --timeout 900
    log "fuzz targets (clang, ASan+UBSan: fuzz_node ${IKEPULSE_FUZZ_NODE_SECONDS:-120} s, the others ${IKEPULSE_FUZZ_SECONDS:-20} s each)"
    bash tests/fuzz/run.sh
    ;;
  *)
    echo "usage: $0 [--asan|--quick]" >&2
    exit 2
    ;;
esac
