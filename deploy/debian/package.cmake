# The Debian package: `cpack --config build/CPackConfig.cmake -G DEB -B build/package`
# (or `scripts/package.sh`). Installs /usr/bin/sipi and the /usr/sbin/sipi path SIPI's image
# and DSP's probes call (/sbin is /usr/sbin on Debian 12), the systemd unit (not enabled: the
# images directory is the operator's to set), the configuration as a conffile, and the guides.
# Runtime dependencies come from dpkg-shlibdeps, i.e. from what the binary really links.

include(GNUInstallDirs)
install(TARGETS sipi RUNTIME DESTINATION bin COMPONENT sipi)
install(CODE "execute_process(COMMAND \${CMAKE_COMMAND} -E make_directory \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/sbin\")
              execute_process(COMMAND \${CMAKE_COMMAND} -E create_symlink ../bin/sipi \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/sbin/sipi\")"
        COMPONENT sipi)

# The unit as shipped in deploy/, with the packaged paths.
file(READ ${PROJECT_SOURCE_DIR}/deploy/sipi.service SIPI_UNIT)
string(REPLACE "/usr/local/bin/sipi" "/usr/bin/sipi" SIPI_UNIT "${SIPI_UNIT}")
string(REPLACE "/usr/local/share/doc/sipi" "/usr/share/doc/sipi" SIPI_UNIT "${SIPI_UNIT}")
string(REGEX REPLACE "# Install:\n(#   [^\n]*\n)+" "# Installed by the sipi package. Enable it once sipi.imgroot is set:\n#   systemctl enable --now sipi\n" SIPI_UNIT "${SIPI_UNIT}")
file(WRITE ${PROJECT_BINARY_DIR}/package/sipi.service "${SIPI_UNIT}")
install(FILES ${PROJECT_BINARY_DIR}/package/sipi.service DESTINATION lib/systemd/system COMPONENT sipi)

install(FILES ${PROJECT_SOURCE_DIR}/deploy/sipi.config.lua DESTINATION /etc/sipi COMPONENT sipi)
install(FILES README.md docs/user-guide.md docs/operator-guide.md docs/architecture.md
              ${PROJECT_SOURCE_DIR}/deploy/debian/copyright
        DESTINATION share/doc/sipi COMPONENT sipi)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sipi)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "sipi maintainers <sipi@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "IIIF Image API 3.0 media server, SIPI-compatible")
# cpack puts the summary on the first line and indents this body itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "sipi serves TIFF, JPEG 2000, JPEG, PNG and WebP masters as IIIF images and tiles,
converts between them keeping their metadata (sipi convert), and runs SIPI's Lua
configuration, access hooks and routes.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# server.http() verifies TLS peers; the demo pages' viewer is served from the document root.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
