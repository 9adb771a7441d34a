# mpisnap_add_mpi_test(NAME name NP n COMMAND prog [args...]
#                      [ENV VAR=value ...] [TIMEOUT s])
# Runs `prog` under mpiexec with n ranks, with MPISNAP_DIR
# <binary dir>/snaps-<name> unless ENV sets it.  MPIEXEC_PREFLAGS is split
# into separate arguments: passed as one string, "--allow-run-as-root
# --oversubscribe" would reach mpiexec as a single unknown option.
function(mpisnap_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;NP;TIMEOUT" "COMMAND;ENV" ${ARGN})
  separate_arguments(_pre UNIX_COMMAND "${MPIEXEC_PREFLAGS}")
  separate_arguments(_post UNIX_COMMAND "${MPIEXEC_POSTFLAGS}")
  list(POP_FRONT T_COMMAND _prog)
  set(_args ${T_COMMAND})
  if(TARGET ${_prog})
    set(_prog $<TARGET_FILE:${_prog}>)
  endif()
  add_test(NAME ${T_NAME}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${T_NP}
                   ${_pre} ${_prog} ${_post} ${_args})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  # A snapshot directory of its own: a job locks its MPISNAP_DIR, so tests
  # run in parallel (ctest -j) must not share the default one.
  if(NOT "${T_ENV}" MATCHES "MPISNAP_DIR=")
    list(APPEND T_ENV MPISNAP_DIR=${CMAKE_CURRENT_BINARY_DIR}/snaps-${T_NAME})
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "${T_ENV}")
endfunction()
