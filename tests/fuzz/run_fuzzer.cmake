# One bounded libFuzzer run, for CTest (label fuzz):
#
#   cmake -DFUZZER=<binary> -DNAME=<harness> -DSECONDS=<n> -DSEEDS=<seed dir>
#         -DWORK=<scratch dir> -DSTATS=<file> -P run_fuzzer.cmake
#
# Copies the seed corpus into WORK/corpus (libFuzzer adds what it finds there; the
# repository is never written), fuzzes for SECONDS, and prints libFuzzer's final
# statistics (also written to STATS, which scripts/test prints). The whole log: WORK/log.
# A crash or a broken property fails the test; the input is in WORK/crashes/.
foreach(var FUZZER NAME SECONDS SEEDS WORK STATS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is missing")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(REMOVE "${STATS}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/crashes")
file(GLOB seed_files "${SEEDS}/*")
file(COPY ${seed_files} DESTINATION "${WORK}/corpus")

execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=20
          -print_final_stats=1 "-artifact_prefix=${WORK}/crashes/"
          "${WORK}/corpus"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE log
  ERROR_VARIABLE log)
file(WRITE "${WORK}/log" "${log}")

# "#123456	DONE   cov: 310 ft: 890 corp: 74/3521b lim: 4096 exec/s: 2469 rss: 40Mb"
# and "stat::number_of_executed_units: 123456", ...
string(REGEX MATCHALL "[^\n]*(DONE|stat::)[^\n]*" summary_lines "${log}")
list(JOIN summary_lines "\n" summary)
file(GLOB crashes "${WORK}/crashes/*")
if(NOT result EQUAL 0 OR crashes)
  string(LENGTH "${log}" length)
  if(length GREATER 8000)
    math(EXPR from "${length} - 8000")
    string(SUBSTRING "${log}" ${from} -1 log)
  endif()
  file(WRITE "${STATS}" "${NAME}: FAILED (exit ${result}); input saved in ${crashes}\n")
  message("${log}")
  message(FATAL_ERROR "${NAME}: the fuzzer failed (exit ${result}). Input: ${crashes}\n"
    "Reproduce: ${FUZZER} <input>; turn it into a regression test: see scripts/fuzz.")
endif()
if(summary STREQUAL "")
  message(FATAL_ERROR "${NAME}: no final statistics in the fuzzer's output:\n${log}")
endif()
string(REGEX MATCH "stat::number_of_executed_units: *([0-9]+)" _ "${log}")
set(executions "${CMAKE_MATCH_1}")
file(WRITE "${STATS}" "${NAME}: ${executions} executions in ${SECONDS} s\n${summary}\n")
message("${NAME}: ${executions} executions in ${SECONDS} s\n${summary}")
