# The Debian package: what `cmake --install` puts where, and CPack's DEB settings, so that
# `cpack -G DEB` in the build directory makes rawlb_VERSION_ARCH.deb (README "Installing as a
# Debian package"; test/package/test_deb.sh checks the result). Included from the top
# CMakeLists.txt after every packaged target exists. Only the daemon, rawlb-ctl, rawlb-announce
# (the BGP announcer ExaBGP runs) and rawlb-replay are installed: tests, benches, fuzzers and rawlb-pcap have no install() rule on purpose.

# The package's prefix: binaries in /usr/sbin and /usr/bin, as rawlb.service's ExecStart names.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debian 12 keeps packaged units here (its /usr/lib/systemd/system is the same directory once
# /usr is merged, but dpkg tracks the path a package ships).
set(RAWLB_SYSTEMD_UNIT_DIR /lib/systemd/system
    CACHE STRING "Where the package puts rawlb.service")
# Absolute, as the unit's EnvironmentFile= names it. A plain `cmake --install` as root writes it
# there too, over an operator's edits (dpkg keeps those, the conffile below): install the package.
set(RAWLB_DEFAULTS_DIR /etc/default)
set(RAWLB_DOC_DIR share/doc/rawlb)
set(RAWLB_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

# ---- binaries: root's daemon and its control tool in sbin; the replay benchmark is a user's tool
install(TARGETS rawlb rawlb-ctl rawlb-announce RUNTIME DESTINATION sbin)
install(TARGETS rawlb-replay RUNTIME DESTINATION bin)

# ---- systemd: the unit and its flags file; the flags file is the operator's (a conffile below)
install(FILES ${RAWLB_PACKAGING_DIR}/rawlb.service DESTINATION ${RAWLB_SYSTEMD_UNIT_DIR})
install(FILES ${RAWLB_PACKAGING_DIR}/rawlb.default DESTINATION ${RAWLB_DEFAULTS_DIR} RENAME rawlb)

# ---- compressed at build time, as Debian ships man pages and changelogs: -9 for size, -n so
# that no file name or time stamp goes in and the same source gives the same bytes.
find_program(GZIP_PROGRAM gzip REQUIRED)
set(RAWLB_GZ_DIR ${PROJECT_BINARY_DIR}/deb)
set(RAWLB_GZ_OUTPUTS)
# Copies SRC to the build tree as NAME and gzips it there into NAME.gz; OUT_VAR gets its path.
function(rawlb_gzip src name out_var)
  set(plain ${RAWLB_GZ_DIR}/${name})
  add_custom_command(OUTPUT ${plain}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${RAWLB_GZ_DIR}
    COMMAND ${CMAKE_COMMAND} -E copy ${src} ${plain}
    COMMAND ${GZIP_PROGRAM} -9nf ${plain}
    DEPENDS ${src}
    COMMENT "Compressing ${name}.gz"
    VERBATIM)
  set(${out_var} ${plain}.gz PARENT_SCOPE)
endfunction()

# The man pages (docs/man): one a binary, each in the section its binary's directory implies.
set(RAWLB_MAN_PAGES rawlb.8 rawlb-ctl.8 rawlb-announce.8 rawlb-replay.1)
foreach(page ${RAWLB_MAN_PAGES})
  set(src ${PROJECT_SOURCE_DIR}/docs/man/${page})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  rawlb_gzip(${src} ${page} gz)
  list(APPEND RAWLB_GZ_OUTPUTS ${gz})
  install(FILES ${gz} DESTINATION share/man/man${section})
endforeach()

# The Debian changelog. Its top entry must be this project's version: checked here rather than
# generated, so the entry's text stays in the source tree, and a release that bumps
# project(VERSION) without a changelog entry fails at configure time instead of shipping a
# package whose changelog names another version.
set(RAWLB_CHANGELOG ${RAWLB_PACKAGING_DIR}/changelog)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${RAWLB_CHANGELOG})
file(STRINGS ${RAWLB_CHANGELOG} changelog_top LIMIT_COUNT 1)
if(NOT changelog_top MATCHES "^rawlb \\(([^)]+)\\) ")
  message(FATAL_ERROR "packaging/changelog: the first line is no Debian changelog header "
                      "('rawlb (VERSION) DISTRIBUTION; urgency=...'): '${changelog_top}'")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "packaging/changelog: the top entry is version ${CMAKE_MATCH_1}, "
                      "project(VERSION) is ${PROJECT_VERSION}: add an entry for ${PROJECT_VERSION}")
endif()
rawlb_gzip(${RAWLB_CHANGELOG} changelog gz)
list(APPEND RAWLB_GZ_OUTPUTS ${gz})
install(FILES ${gz} DESTINATION ${RAWLB_DOC_DIR})
install(FILES ${RAWLB_PACKAGING_DIR}/copyright DESTINATION ${RAWLB_DOC_DIR})

# ALL: a plain `cmake --build` leaves everything cpack packs.
add_custom_target(rawlb_package_files ALL DEPENDS ${RAWLB_GZ_OUTPUTS})

# ---- the control file's list of conffiles: dpkg keeps the operator's edits over upgrades
set(RAWLB_CONTROL_DIR ${PROJECT_BINARY_DIR}/deb/control)
file(WRITE ${RAWLB_CONTROL_DIR}/conffiles "${RAWLB_DEFAULTS_DIR}/rawlb\n")

# ---- CPack
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rawlb)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "rawlb developers <rawlb@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "userspace Layer-4 load balancer (LVS-NAT without IPVS)")
# The long description, one control-file line a line (CPack indents them; an empty line becomes
# the " ." that separates paragraphs).
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "rawlb does what LVS in NAT mode does, without the kernel's IPVS: clients\n"
  "connect to a virtual IP, rawlb spreads their TCP and UDP connections over\n"
  "real servers on a private network whose default gateway is the director.\n"
  "It takes ipvsadm's flags and schedulers (rr, wrr, lc, wlc, sh), checks the\n"
  "real servers' health, runs as a master and backup pair that sync their\n"
  "connections, and drops its privileges after start-up.\n"
  "\n"
  "This package holds the daemon (rawlb.service, flags in /etc/default/rawlb),\n"
  "its control tool rawlb-ctl and the rawlb-replay traffic replay benchmark.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
# Debian ships stripped binaries; the build tree keeps its debug information.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries come from dpkg-shlibdeps; adduser from postinst's and postrm's use of it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
# rawlb-announce is run by ExaBGP; without it the rest of the package works as it did
set(CPACK_DEBIAN_PACKAGE_SUGGESTS exabgp)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${RAWLB_CONTROL_DIR}/conffiles
  ${RAWLB_PACKAGING_DIR}/postinst ${RAWLB_PACKAGING_DIR}/prerm ${RAWLB_PACKAGING_DIR}/postrm)
# Maintainer scripts 0755 and conffiles 0644 in the package whatever their modes in the tree.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
