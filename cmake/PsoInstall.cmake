# Where `cmake --install` and `make package` put PSO-PRIME (GNUInstallDirs), and
# the three Debian packages built from that layout (CPack DEB, one component
# per package). docs/install.md describes the installed layout.
#
#   agent       pso-agent, /etc/pso/agent.yaml, pso-agent.service, examples
#   controller  pso-controller, /etc/pso/controller.yaml, pso-controller.service
#   psoctl      psoctl
#
# A package is built from an unstripped build (-g, e.g. RelWithDebInfo): CPack
# strips the binaries it packs and moves their symbols to pso-*-dbgsym
# packages under /usr/lib/debug/.build-id, as Debian's own -dbgsym packages do.
# `cmake --install <dir> --strip` strips without keeping the symbols.

include(GNUInstallDirs)

# /lib/systemd/system on Debian (a /usr prefix), beside the prefix otherwise
# (systemd also reads /usr/local/lib/systemd/system). Empty follows the prefix,
# also when it changes in an existing build directory.
set(PSO_SYSTEMD_UNITDIR "" CACHE PATH "Where the systemd units are installed (empty: from the prefix)")
if(PSO_SYSTEMD_UNITDIR)
  set(pso_unitdir "${PSO_SYSTEMD_UNITDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(pso_unitdir "/lib/systemd/system")
else()
  set(pso_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
# Absolute: with a /usr prefix GNUInstallDirs puts the config in /etc. The
# state is always /var/lib/pso: the units' StateDirectory= and the shipped
# configs' paths name it whatever the prefix.
set(PSO_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/pso")
set(PSO_STATEDIR "/var/lib/pso")

# Binaries.
install(TARGETS pso-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(TARGETS pso-controller RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT controller)
install(TARGETS psoctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT psoctl)

# Configuration: what config/ ships is what /etc/pso holds; both start as they are.
install(FILES ${PROJECT_SOURCE_DIR}/config/agent.yaml DESTINATION ${PSO_CONFDIR} COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/config/controller.yaml DESTINATION ${PSO_CONFDIR}
        COMPONENT controller)

# systemd units, with this install's paths.
foreach(unit pso-agent pso-controller)
  configure_file(${PROJECT_SOURCE_DIR}/installers/systemd/${unit}.service.in
                 ${PROJECT_BINARY_DIR}/installers/systemd/${unit}.service @ONLY)
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/installers/systemd/pso-agent.service
        DESTINATION ${pso_unitdir} COMPONENT agent)
install(FILES ${PROJECT_BINARY_DIR}/installers/systemd/pso-controller.service
        DESTINATION ${pso_unitdir} COMPONENT controller)

# Documentation and examples, per package as Debian lays them out.
set(pso_docdir ${CMAKE_INSTALL_DATAROOTDIR}/doc)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/install.md
              ${PROJECT_SOURCE_DIR}/docs/agent.md ${PROJECT_SOURCE_DIR}/docs/protocol.md
        DESTINATION ${pso_docdir}/pso-agent COMPONENT agent)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/examples/
        DESTINATION ${pso_docdir}/pso-agent/examples COMPONENT agent
        FILES_MATCHING PATTERN "agent-*.yaml" PATTERN "*.csv")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/installers/systemd/actuators/
        DESTINATION ${pso_docdir}/pso-agent/examples/systemd COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/install.md
              ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/protocol.md
              ${PROJECT_SOURCE_DIR}/docs/design-notes.md ${PROJECT_SOURCE_DIR}/docs/dashboard.md
        DESTINATION ${pso_docdir}/pso-controller COMPONENT controller)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/examples/
        DESTINATION ${pso_docdir}/pso-controller/examples COMPONENT controller
        FILES_MATCHING PATTERN "controller-*.yaml")
install(FILES ${PROJECT_SOURCE_DIR}/installers/grafana/pso-prime-fleet.json
              ${PROJECT_SOURCE_DIR}/installers/grafana/README.md
        DESTINATION ${pso_docdir}/pso-controller/grafana COMPONENT controller)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/trainer-guide.md
        DESTINATION ${pso_docdir}/psoctl COMPONENT psoctl)

# Man pages from each binary's own --help (help2man), so they never drift from
# the flags. Without help2man the build says so and installs none; sanitizer
# and fuzz builds, which nobody installs, skip them.
find_program(PSO_HELP2MAN help2man)
find_program(PSO_GZIP gzip)
if(PSO_SANITIZE OR PSO_FUZZ)
  message(STATUS "Sanitizer or fuzz build: no man pages")
elseif(PSO_HELP2MAN AND PSO_GZIP)
  set(pso_man_pages "")
  foreach(entry "pso-agent;8;agent" "pso-controller;8;controller" "psoctl;1;psoctl")
    list(GET entry 0 binary)
    list(GET entry 1 section)
    list(GET entry 2 component)
    set(page ${PROJECT_BINARY_DIR}/man/${binary}.${section})
    # The page's date is the build's, or SOURCE_DATE_EPOCH's when the
    # environment sets it (reproducible builds, as Debian's do).
    add_custom_command(
      OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${PSO_HELP2MAN} --no-info
              --section=${section} --version-string=${PROJECT_VERSION}
              --include=${PROJECT_SOURCE_DIR}/installers/man/${binary}.h2m
              --output=${page} $<TARGET_FILE:${binary}>
      COMMAND ${PSO_GZIP} -9nf ${page}
      DEPENDS ${binary} ${PROJECT_SOURCE_DIR}/installers/man/${binary}.h2m
      COMMENT "Generating the ${binary}(${section}) man page"
      VERBATIM)
    list(APPEND pso_man_pages ${page}.gz)
    # OPTIONAL: a build of only the binaries' targets still installs.
    install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
            COMPONENT ${component} OPTIONAL)
  endforeach()
  add_custom_target(pso_man_pages ALL DEPENDS ${pso_man_pages})
else()
  message(STATUS "help2man or gzip not found: no man pages (installers/install-deps.sh installs help2man)")
endif()

# Maintainer scripts, one template each for both services' packages.
set(pso_debian_dir ${PROJECT_BINARY_DIR}/installers/debian)
foreach(component agent controller)
  set(PSO_PACKAGE pso-${component})
  set(PSO_UNIT pso-${component}.service)
  if(component STREQUAL "agent")
    set(PSO_CONFFILES "${PSO_CONFDIR}/agent.yaml")
    set(PSO_STATE_FILES "agent-spool.db")
    set(PSO_MAKE_TOKEN 0)
  else()
    set(PSO_CONFFILES "${PSO_CONFDIR}/controller.yaml")
    set(PSO_STATE_FILES "controller.db")
    set(PSO_MAKE_TOKEN 1)
  endif()
  foreach(script postinst prerm postrm)
    configure_file(${PROJECT_SOURCE_DIR}/installers/debian/${script}.in
                   ${pso_debian_dir}/${component}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                    GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endforeach()
  file(WRITE ${pso_debian_dir}/${component}/conffiles "${PSO_CONFFILES}\n")
  string(TOUPPER ${component} upper)
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_EXTRA
      "${pso_debian_dir}/${component}/conffiles;${pso_debian_dir}/${component}/postinst;${pso_debian_dir}/${component}/prerm;${pso_debian_dir}/${component}/postrm")
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pso-prime)
set(CPACK_PACKAGE_VENDOR "PSO-PRIME")
set(CPACK_PACKAGE_CONTACT "PSO-PRIME maintainers <pso-prime@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent controller psoctl)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the libraries the binaries actually load (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME pso-agent)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME pso-controller)
set(CPACK_DEBIAN_PSOCTL_PACKAGE_NAME psoctl)
# useradd (passwd) makes the service user. The agent loads libcurl only for
# HTTPS and the Docker and Kubernetes actuators (agent/http/curl_loader.h),
# so shlibdeps cannot see it.
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "libcurl4")
# libssl3 serves the HTTP API over TLS (http_tls); dpkg-shlibdeps finds it
# too, it is named so a package built without shlibdeps still pulls it in.
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS "passwd, libssl3")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_RECOMMENDS "psoctl")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "PSO-PRIME agent: samples a host and applies scaling directives\nThe agent runs beside the systems it manages, samples host, cgroup and\napplication metrics, sends them to a pso-controller over ZeroMQ and applies\nits directives through process-pool, exec, systemd, cgroup, docker or\nkubernetes actuators. As shipped it samples the host and manages nothing.")
set(CPACK_COMPONENT_CONTROLLER_DESCRIPTION
    "PSO-PRIME controller: forecasts demand and scales a fleet\nThe controller collects the agents' telemetry, forecasts each system's demand,\ndecides replica counts before the load arrives, sends directives back and\nrecords every decision cycle as an education scenario. As shipped it listens\non loopback only.")
set(CPACK_COMPONENT_PSOCTL_DESCRIPTION
    "PSO-PRIME command-line client and offline tools\npsoctl drives a pso-controller through its HTTP API (status, systems,\ndirectives, scenarios) and runs the decision engine offline on traces\n(forecast, simulate).")

include(CPack)
