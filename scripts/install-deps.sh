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
  libmicrohttpd-dev     # HTTP server of `ikepulse metrics listen` (Prometheus metrics)
  libclang-rt-14-dev    # libFuzzer + sanitizer runtimes for clang (tests/fuzz)
  # lab and interop: a real strongSwan 5.9.8 IKEv1 peer in network namespaces
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
  iproute2 nftables iputils-ping tcpdump tshark util-linux procps tmux
  iperf3                # bench/throughput.sh
  curl                  # tests/interop/metrics.sh scrapes the metrics endpoint
  ike-scan              # tests/interop/ikescan.sh: a third-party scanner's view (IOS fingerprint)
)

# Libreswan 4.10 for tests/interop/libreswan.sh. Debian's `libreswan` package Conflicts with
# strongswan-libcharon/strongswan-starter, so it is NOT installed: its .deb is fetched with
# `apt-get download` into LSW_CACHE and unpacked with `dpkg-deb -x` into LSW_CACHE/root
# (tests/lab/libreswan.sh runs pluto/whack/addconn from there), and only its runtime libraries
# and certutil are installed. Optional: if any of it fails, the rest of this script is unaffected
# and the Libreswan test reports SKIP.
LSW_CACHE=${IKP_LIBRESWAN_CACHE:-/var/cache/ikepulse/libreswan}
LSW_LIBS=(
  libnss3-tools         # certutil: pluto's NSS database
  libnss3 libnspr4 libunbound8 libldns3 libevent-core-2.1-7 libevent-pthreads-2.1-7
  libcurl3-nss libcap-ng0 libaudit1 libldap-2.5-0 libpam0g libselinux1 libsystemd0 libcrypt1
)

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing_of() { local p; for p in "$@"; do is_installed "$p" || echo "$p"; done; }
lsw_ready() {
  local b
  for b in pluto whack addconn; do [ -x "$LSW_CACHE/root/usr/libexec/ipsec/$b" ] || return 1; done
  "$LSW_CACHE/root/usr/libexec/ipsec/pluto" --version >/dev/null 2>&1 || return 1
  ! ldd "$LSW_CACHE/root/usr/libexec/ipsec/pluto" "$LSW_CACHE/root/usr/libexec/ipsec/whack" \
    "$LSW_CACHE/root/usr/libexec/ipsec/addconn" 2>&1 | grep -q 'not found'
}

mapfile -t missing < <(missing_of "${PKGS[@]}")
mapfile -t lsw_missing < <(missing_of "${LSW_LIBS[@]}")
lsw_todo=0
if [ ${#lsw_missing[@]} -gt 0 ] || ! lsw_ready; then lsw_todo=1; fi
if [ ${#missing[@]} -eq 0 ] && [ $lsw_todo -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
    exit 1
  fi
  echo "install-deps: Libreswan for the interop lab is not set up in $LSW_CACHE (run as root;" \
    "optional: tests/interop/libreswan.sh reports SKIP without it)" >&2
  exit 0
fi

# Never let package scripts start a host-wide charon on UDP 500/4500 while we install:
# a temporary policy-rc.d forbids service starts (docs/DESIGN.md §5.2).
prc=/usr/sbin/policy-rc.d
own_prc=0
if [ ! -e "$prc" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; own_prc=1
fi
trap '[ $own_prc -eq 1 ] && rm -f "$prc"' EXIT

export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
updated=0
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  updated=1
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Libreswan (see LSW_CACHE above). Every step checked explicitly: this runs in an `||` context,
# where `set -e` does not apply.
lsw_setup() {
  local deb="" tmp f
  if [ ${#lsw_missing[@]} -gt 0 ]; then
    if [ $updated -eq 0 ]; then apt-get update -qq || return 1; updated=1; fi
    apt-get install -y -qq --no-install-recommends "${lsw_missing[@]}" || return 1
  fi
  lsw_ready && return 0
  mkdir -p "$LSW_CACHE" || return 1
  for f in "$LSW_CACHE"/libreswan_*.deb; do [ -e "$f" ] && deb=$f; done
  if [ -z "$deb" ]; then
    if [ $updated -eq 0 ]; then apt-get update -qq || return 1; updated=1; fi
    (cd "$LSW_CACHE" && apt-get download -qq -o APT::Sandbox::User=root libreswan) || return 1
    for f in "$LSW_CACHE"/libreswan_*.deb; do [ -e "$f" ] && deb=$f; done
    [ -n "$deb" ] || return 1
  fi
  tmp=$(mktemp -d "$LSW_CACHE/root.XXXXXX") || return 1
  if ! dpkg-deb -x "$deb" "$tmp"; then rm -rf "$tmp"; return 1; fi
  rm -rf "$LSW_CACHE/root" && mv "$tmp" "$LSW_CACHE/root" || return 1
  lsw_ready
}
if [ $lsw_todo -eq 1 ]; then
  if lsw_setup; then
    echo "install-deps: Libreswan $("$LSW_CACHE/root/usr/libexec/ipsec/pluto" --version 2>&1 |
      awk 'NR == 1 { print $2 }') unpacked in $LSW_CACHE/root (not installed)"
  else
    echo "install-deps: WARNING: could not set up Libreswan in $LSW_CACHE;" \
      "tests/interop/libreswan.sh will report SKIP" >&2
  fi
fi
exit 0
