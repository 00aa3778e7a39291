# Debian package: `cpack -G DEB` in a build directory configured with the install prefix /usr
# (the `release` preset is) makes ikepulse_VERSION_ARCH.deb, e.g. ikepulse_0.1.0_amd64.deb.
#   /usr/sbin/ikepulsed, /usr/bin/ikepulse, their man pages, /lib/systemd/system/ikepulsed.service,
#   /usr/share/doc/ikepulse/startup-config.example, /etc/ikepulse/startup-config (a conffile,
#   mode 0600: it will hold pre-shared keys). Runtime dependencies come from dpkg-shlibdeps.
# Maintainer scripts (packaging/debian/): see each file; in short, the unit is registered but
# neither enabled nor started on first install (a keying daemon binding UDP 500 with an
# example configuration would surprise a host that already runs IKE), an upgrade restarts a
# running daemon, removal stops it, purge removes /etc/ikepulse.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "ikepulse")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "ikepulse maintainers <ikepulse@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "IKEv1 keying daemon with Cisco IOS configuration and Dead Peer Detection")
# The long description (CPack puts the summary above it as the synopsis line).
set(CPACK_PACKAGE_DESCRIPTION
    "ikepulse negotiates IPsec SAs with IKEv1 (Main Mode with pre-shared keys,
Quick Mode) and is configured and operated like a Cisco IOS router: a
startup-config, an IOS-style shell (ikepulse), crypto maps with several
peers for stateless failover, and RFC 3706 Dead Peer Detection with the
IOS keepalive semantics. It carries the traffic itself (userspace ESP over
a TUN device) and can serve Prometheus metrics.")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_LIST_DIR}/debian/conffiles;${CMAKE_CURRENT_LIST_DIR}/debian/postinst;${CMAKE_CURRENT_LIST_DIR}/debian/prerm;${CMAKE_CURRENT_LIST_DIR}/debian/postrm")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
include(CPack)
