# install() rules for ikepulse. Included from the top-level CMakeLists.txt:
#   include(${CMAKE_SOURCE_DIR}/packaging/install.cmake)
# after the targets are defined (it installs ikepulsed and ikepulse when they exist).
#
#   sbin/ikepulsed, bin/ikepulse, share/man/man8/ikepulsed.8, share/man/man1/ikepulse.1,
#   <systemd unit dir>/ikepulsed.service, share/doc/ikepulse/startup-config.example,
#   <sysconfdir>/ikepulse/startup-config (only when absent: never overwrites a configuration)
include(GNUInstallDirs)

set(IKEPULSE_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where ikepulsed.service is installed (relative to the prefix, or absolute)")

set(_ikp_pkg ${CMAKE_CURRENT_LIST_DIR})
set(_ikp_man ${CMAKE_CURRENT_LIST_DIR}/../man)

if(TARGET ikepulsed)
  install(TARGETS ikepulsed RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
endif()
if(TARGET ikepulse)
  install(TARGETS ikepulse RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(FILES ${_ikp_man}/ikepulsed.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${_ikp_man}/ikepulse.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The unit names /usr/sbin and /etc; rewrite them for other prefixes.
file(READ ${_ikp_pkg}/ikepulsed.service _ikp_unit)
string(REPLACE "/usr/sbin/ikepulsed" "${CMAKE_INSTALL_FULL_SBINDIR}/ikepulsed" _ikp_unit
       "${_ikp_unit}")
string(REPLACE "/etc/ikepulse" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/ikepulse" _ikp_unit
       "${_ikp_unit}")
file(WRITE ${CMAKE_BINARY_DIR}/packaging/ikepulsed.service "${_ikp_unit}")
install(FILES ${CMAKE_BINARY_DIR}/packaging/ikepulsed.service
        DESTINATION ${IKEPULSE_SYSTEMD_UNIT_DIR})

install(FILES ${_ikp_pkg}/startup-config.example DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The default startup-config: mode 0600 (it holds pre-shared keys), installed only if absent.
set(_ikp_etc "${CMAKE_INSTALL_FULL_SYSCONFDIR}/ikepulse")
install(CODE "
  set(_dest \"\$ENV{DESTDIR}${_ikp_etc}\")
  if(NOT EXISTS \"\${_dest}/startup-config\")
    file(MAKE_DIRECTORY \"\${_dest}\")
    file(COPY_FILE \"${_ikp_pkg}/startup-config.example\" \"\${_dest}/startup-config\")
    file(CHMOD \"\${_dest}/startup-config\" FILE_PERMISSIONS OWNER_READ OWNER_WRITE)
    message(STATUS \"Installing: \${_dest}/startup-config\")
  else()
    message(STATUS \"Keeping existing: \${_dest}/startup-config\")
  endif()
")
