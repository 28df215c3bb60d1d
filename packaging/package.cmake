# Installation layout and the .deb. Included unconditionally from the top-level CMakeLists.txt,
# so `cmake --install` and `cpack -G DEB` work in every build tree that builds lacquerd
# (tools/package.sh does both for the release preset). The package holds:
#   /usr/bin/lacquerd, /usr/bin/lacquerctl    the daemon and its admin CLI
#   /etc/lacquer/lacquer.yaml                 conffile (packaging/lacquer.yaml, not the demo's)
#   /etc/logrotate.d/lacquer                  conffile
#   /lib/systemd/system/lacquer.service
#   /usr/share/lacquer/grafana/, prometheus/  the dashboard, alert rules, example scrape config
#   /usr/share/lacquer/haproxy/, nginx/       a fleet behind a load balancer (README)
#   /usr/share/doc/lacquer/                   README.md, examples/full.yaml, copyright, changelog
#   /usr/share/man/man8/lacquerd.8.gz, /usr/share/man/man1/lacquerctl.1.gz
# /etc and /lib/systemd are absolute (fixed by Debian and systemd, and the unit names
# /usr/bin/lacquerd); CPack installs with DESTDIR, so they land inside the package.
if(NOT TARGET lacquerd)
  return()
endif()
include(GNUInstallDirs)

set(LACQUER_PKG_DIR ${CMAKE_CURRENT_LIST_DIR})
set(LACQUER_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/lacquer)

install(TARGETS lacquerd lacquerctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${LACQUER_PKG_DIR}/lacquer.yaml DESTINATION /etc/lacquer)
install(FILES ${LACQUER_PKG_DIR}/logrotate/lacquer DESTINATION /etc/logrotate.d)
install(FILES ${LACQUER_PKG_DIR}/systemd/lacquer.service DESTINATION /lib/systemd/system)
install(FILES ${LACQUER_PKG_DIR}/grafana/lacquer.json
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lacquer/grafana)
install(FILES ${LACQUER_PKG_DIR}/prometheus/lacquer-alerts.yml
              ${LACQUER_PKG_DIR}/prometheus/prometheus.example.yml
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lacquer/prometheus)
install(FILES ${LACQUER_PKG_DIR}/haproxy/lacquer-fleet.cfg
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lacquer/haproxy)
install(FILES ${LACQUER_PKG_DIR}/nginx/lacquer-fleet.conf
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lacquer/nginx)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${LACQUER_PKG_DIR}/debian/copyright
        DESTINATION ${LACQUER_DOC_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/vcl-like-config/examples/full.yaml
        DESTINATION ${LACQUER_DOC_DIR}/examples)

# The changelog of a native package and the man page, gzip -9n as Debian wants. The changelog
# date honours SOURCE_DATE_EPOCH.
set(LACQUER_DEB_MAINTAINER "Lacquer developers <dev@lacquer.invalid>")
string(TIMESTAMP LACQUER_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
find_program(LACQUER_GZIP gzip REQUIRED)
function(lacquer_gzipped source name destination)  # configure SOURCE, gzip it, install NAME.gz
  set(out ${PROJECT_BINARY_DIR}/packaging/deb/${name})
  configure_file(${source} ${out} @ONLY)
  execute_process(COMMAND ${LACQUER_GZIP} -9nkf ${out} COMMAND_ERROR_IS_FATAL ANY)
  install(FILES ${out}.gz DESTINATION ${destination})
endfunction()
lacquer_gzipped(${LACQUER_PKG_DIR}/debian/changelog.in changelog ${LACQUER_DOC_DIR})
lacquer_gzipped(${LACQUER_PKG_DIR}/man/lacquerd.8 lacquerd.8 ${CMAKE_INSTALL_MANDIR}/man8)
lacquer_gzipped(${LACQUER_PKG_DIR}/man/lacquerctl.1 lacquerctl.1 ${CMAKE_INSTALL_MANDIR}/man1)

# `install` and cpack package what is built instead of first building every target (tests and
# benchmarks included): tools/package.sh builds lacquerd and lacquerctl, then runs cpack.
if(NOT DEFINED CMAKE_SKIP_INSTALL_ALL_DEPENDENCY)
  set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lacquer)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Lacquer")
set(CPACK_PACKAGE_CONTACT "${LACQUER_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "caching HTTP reverse proxy for origin API pools")
# CPack puts the summary on the Description line; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"Lacquer sits in front of a pool of origin API servers and answers repeated
requests from memory: cache keys from an allow-list of request params plus
locale, currency and region variants, a bounded staleness window, one origin
request per missing key, Prometheus metrics on an admin listener.
.
This package runs it as the systemd service lacquer.service, configured by
/etc/lacquer/lacquer.yaml, ships lacquerctl (status, stats, purge and ban
over the admin listener), and a Grafana dashboard and Prometheus alert
rules in /usr/share/lacquer.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)          # needs dpkg-shlibdeps (dpkg-dev)
# adduser: postinst creates the lacquer user. libprometheus-cpp-core1.0: the /metrics text
# (dpkg-shlibdeps finds it too; named here so the .deb says so even without shlibdeps).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libprometheus-cpp-core1.0 (>= 1.0.1)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${LACQUER_PKG_DIR}/debian/conffiles ${LACQUER_PKG_DIR}/debian/postinst
    ${LACQUER_PKG_DIR}/debian/prerm ${LACQUER_PKG_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# DESTDIR keeps the absolute destinations (/etc, /lib/systemd) inside the package; with it,
# CPack takes the prefix from CPACK_INSTALL_PREFIX, whatever CMAKE_INSTALL_PREFIX says.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)                       # the release preset builds with debug info
set(CPACK_SOURCE_GENERATOR TXZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/out/")
include(CPack)
