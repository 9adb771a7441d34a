# CMake package (find_package(mpisnap CONFIG)) and pkg-config file.
#
# Installed layout:
#   lib/cmake/mpisnap/   mpisnapConfig.cmake, mpisnapConfigVersion.cmake,
#                        mpisnapTargets*.cmake (mpisnap::mpisnap,
#                        mpisnap::mpisnap_static)
#   lib/pkgconfig/       mpisnap.pc
#   share/mpisnap/jobscripts/   the Slurm batch scripts, when there are any
include(CMakePackageConfigHelpers)

set(MPISNAP_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mpisnap)

install(EXPORT mpisnapTargets
        NAMESPACE mpisnap::
        FILE mpisnapTargets.cmake
        DESTINATION ${MPISNAP_CMAKE_INSTALL_DIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/mpisnapConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mpisnapConfig.cmake
  INSTALL_DESTINATION ${MPISNAP_CMAKE_INSTALL_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/mpisnapConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mpisnapConfig.cmake
              ${PROJECT_BINARY_DIR}/mpisnapConfigVersion.cmake
        DESTINATION ${MPISNAP_CMAKE_INSTALL_DIR})

# The .pc file finds its prefix from its own location (${pcfiledir}), so an
# install with `cmake --install build --prefix DIR` or DESTDIR stays right.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MPISNAP_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(MPISNAP_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  # lib/pkgconfig -> ../..; lib/x86_64-linux-gnu/pkgconfig -> ../../..
  string(REGEX REPLACE "[^/]+" ".." _mpisnap_up
         "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  set(MPISNAP_PC_PREFIX "\${pcfiledir}/${_mpisnap_up}")
  set(MPISNAP_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(MPISNAP_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(MPISNAP_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/mpisnap.pc.in
               ${PROJECT_BINARY_DIR}/mpisnap.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mpisnap.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# jobscripts/ is empty (so absent from a clone) until the Slurm scripts land.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/jobscripts/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mpisnap/jobscripts
        USE_SOURCE_PERMISSIONS OPTIONAL)
