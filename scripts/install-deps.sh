#!/usr/bin/env bash
# Installs every Debian 12 package ikepulse needs to build, test, fuzz and run its lab.
# Idempotent: packages already present are not fetched again; `apt-get update` runs at
# most once per call, and only when something is missing. Shared by README, .ci/run and tests.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake ninja-build pkg-config g++ clang
  # libraries
  libssl-dev            # OpenSSL 3: all cryptography (src/crypto only)
  libgtest-dev libgmock-dev googletest   # unit, simulator and scenario tests
  libbenchmark-dev      # Google Benchmark (bench/)
  libedit-dev           # line editing and history in the `ikepulse` shell
  libclang-rt-14-dev    # libFuzzer + sanitizer runtimes for clang (tests/fuzz)
  # lab and interop: a real strongSwan 5.9.8 IKEv1 peer in network namespaces
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
  iproute2 nftables iputils-ping tcpdump tshark util-linux procps tmux
  iperf3                # bench/throughput.sh
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
  exit 1
fi

# Never let package scripts start a host-wide charon on UDP 500/4500 while we install:
# a temporary policy-rc.d forbids service starts (LAB.md).
prc=/usr/sbin/policy-rc.d
own_prc=0
if [ ! -e "$prc" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; own_prc=1
fi
trap '[ $own_prc -eq 1 ] && rm -f "$prc"' EXIT

export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
