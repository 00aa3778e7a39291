#!/usr/bin/env bash
# deb.sh — the Debian package, installed and removed as an administrator would (issue #13
# item 6). Needs root and a build directory configured with the `release` preset (install
# prefix /usr): IKP_BUILD (default build/release).
#   1. `cpack -G DEB` makes ikepulse_VERSION_amd64.deb: binaries, man pages, systemd unit,
#      /etc/ikepulse/startup-config as a 0600 conffile, maintainer scripts, runtime Depends
#      from dpkg-shlibdeps (libssl3, libedit2, libmicrohttpd12);
#   2. `apt-get install ./ikepulse_*.deb` on this machine (no chroot: debootstrap is not part of
#      the toolset here, and the package is self-contained); the unit is not enabled or started;
#   3. /usr/sbin/ikepulsed runs from the installed paths with the installed example config, in
#      a network namespace of its own, and the installed shell talks to it;
#   4. `apt-get purge ikepulse` removes every file, /etc/ikepulse included.
# Refuses to run (exit 77, skipped) if an ikepulse package is already installed: it never
# touches an administrator's installation. Bounded; cleans up its namespace and process.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
IKP_BUILD=${IKP_BUILD:-build/release}
source tests/lab/lablib.sh
source tests/interop/iplib.sh
export DEBIAN_FRONTEND=noninteractive
if dpkg-query -W -f='${Status}' ikepulse 2>/dev/null | grep -q "install ok installed"; then
  echo "deb: an ikepulse package is installed already; not touching it"
  exit 77
fi
lab_init
trap 'apt-get purge -y ikepulse >/dev/null 2>&1; lab_teardown' EXIT

# 1. Build the package.
rm -f "$IKP_BUILD"/ikepulse_*.deb
(cd "$IKP_BUILD" && cpack -G DEB >"$LAB_WORK/cpack.log" 2>&1)
deb=$(ls "$IKP_BUILD"/ikepulse_*_amd64.deb 2>/dev/null | head -1)
ikp_check "cpack made $(basename "${deb:-none}")" test -n "$deb"
[[ -n $deb ]] || ikp_finish deb
dpkg-deb -c "$deb" >"$LAB_WORK/contents.txt"
for f in ./usr/sbin/ikepulsed ./usr/bin/ikepulse ./usr/share/man/man8/ikepulsed.8 \
  ./usr/share/man/man1/ikepulse.1 ./usr/lib/systemd/system/ikepulsed.service \
  ./usr/share/doc/ikepulse/startup-config.example; do
  ikp_check "contains $f" grep -q " $f\$" "$LAB_WORK/contents.txt"
done
ikp_check "startup-config is root:root 0600" grep -Eq '^-rw------- root/root .* \./etc/ikepulse/startup-config$' "$LAB_WORK/contents.txt"
ikp_check "conffile /etc/ikepulse/startup-config" bash -c "dpkg-deb -I '$deb' conffiles | grep -qx /etc/ikepulse/startup-config"
depends=$(dpkg-deb -f "$deb" Depends)
echo "  Depends: $depends"
for d in libssl3 libedit2 libmicrohttpd12; do
  ikp_check "Depends on $d" grep -q "$d" <<<"$depends"
done

# 2. Install it.
apt-get install -y "$(realpath "$deb")" >"$LAB_WORK/install.log" 2>&1
ikp_check "apt-get install ./$(basename "$deb")" bash -c "dpkg-query -W -f='\${Status}' ikepulse | grep -q 'install ok installed'"
ikp_check "installed: /usr/sbin/ikepulsed, /usr/bin/ikepulse, man pages" \
  test -x /usr/sbin/ikepulsed -a -x /usr/bin/ikepulse -a -f /usr/share/man/man8/ikepulsed.8
ikp_check "ikepulsed --version: $(/usr/sbin/ikepulsed --version 2>&1)" \
  bash -c "/usr/sbin/ikepulsed --version | grep -qx 'ikepulsed $(dpkg-deb -f "$deb" Version)'"
ikp_check "installed: /etc/ikepulse/startup-config mode 600" test "$(stat -c %a /etc/ikepulse/startup-config)" = 600
ikp_check "postinst told the administrator what to do" grep -q "systemctl enable --now ikepulsed" "$LAB_WORK/install.log"
if [[ -d /run/systemd/system ]]; then
  ikp_check "the unit is not enabled or started on install" \
    bash -c "! systemctl is-enabled --quiet ikepulsed && ! systemctl is-active --quiet ikepulsed"
fi

# 3. Run the installed daemon with the installed configuration.
ns=$(lab_ns pkg)
lab_netns_add "$ns"
ip -n "$ns" addr add 192.0.2.1/24 dev lo
lab_ns_bg "$ns" "$LAB_WORK/ikepulsed.stderr" /usr/sbin/ikepulsed -f /etc/ikepulse/startup-config \
  --log "$LAB_WORK/ikepulsed.log" --socket "$LAB_WORK/ikepulse.sock" --foreground --no-dataplane
pid=$LAB_LAST_PID
lab_wait_for "$LAB_WORK/ikepulsed.log" "IKEPULSE-5-STARTED" 10 || ikp_bad "installed ikepulsed started"
lab_wait_cmd 10 test -S "$LAB_WORK/ikepulse.sock"
ver=$(/usr/bin/ikepulse --socket "$LAB_WORK/ikepulse.sock" -c "show version" 2>&1)
echo "$ver" | head -3 | sed 's/^/  /'
ikp_check "the installed shell talks to it (show version)" grep -q "ikepulse" <<<"$ver"
ikp_check "the installed config is the one running (hostname Router)" \
  bash -c "/usr/bin/ikepulse --socket '$LAB_WORK/ikepulse.sock' -c 'show running-config' | grep -qx 'hostname Router'"
lab_stop_pid "$pid"

# 4. Purge.
apt-get purge -y ikepulse >"$LAB_WORK/purge.log" 2>&1
ikp_check "apt-get purge ikepulse" bash -c "! dpkg-query -W -f='\${Status}' ikepulse 2>/dev/null | grep -q 'install ok installed'"
left=""
for f in /usr/sbin/ikepulsed /usr/bin/ikepulse /usr/share/man/man8/ikepulsed.8 \
  /usr/lib/systemd/system/ikepulsed.service /usr/share/doc/ikepulse /etc/ikepulse; do
  [[ -e $f ]] && left+=" $f"
done
ikp_check "nothing left behind${left:+:$left}" test -z "$left"
ikp_finish deb
