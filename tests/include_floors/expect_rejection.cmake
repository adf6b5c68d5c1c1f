# Runs scripts/check_includes on a fixture tree and passes only when the checker rejects it
# (exit status 1) with the expected message, so a checker that fails for another reason
# (a usage error, a crash) fails this test too.
#
#   cmake -DPYTHON=... -DCHECKER=... -DROOT=... -DEXPECT=<regex> -P expect_rejection.cmake
execute_process(COMMAND ${PYTHON} ${CHECKER} ${ROOT}
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
message("${output}${errors}")
if(NOT status EQUAL 1)
  message(FATAL_ERROR "check_includes exited with ${status} on ${ROOT}; expected 1 (rejected)")
endif()
if(NOT errors MATCHES "${EXPECT}")
  message(FATAL_ERROR "check_includes did not report: ${EXPECT}")
endif()
string(REGEX MATCHALL "may not include" reported "${errors}")
list(LENGTH reported count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "check_includes reported ${count} includes; the fixture has exactly one")
endif()
