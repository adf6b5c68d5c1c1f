# cmake -DNM=<nm> -DELF=<program.elf> -P CheckNoHeap.cmake
#
# Fails when the linked program contains dynamic allocation or exception machinery:
# malloc/free/realloc/calloc (and newlib's reentrant _r variants), _sbrk, any operator
# new or delete, or the C++ exception runtime and unwinder. Since the program is linked
# with --gc-sections, a symbol present in the ELF is one something actually references.
cmake_policy(SET CMP0057 NEW)  # if(IN_LIST)
if(NOT NM OR NOT ELF)
  message(FATAL_ERROR "usage: cmake -DNM=<nm> -DELF=<elf> -P CheckNoHeap.cmake")
endif()
execute_process(COMMAND ${NM} --defined-only ${ELF}
  OUTPUT_VARIABLE symbols RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${ELF}")
endif()

set(forbidden
  "malloc" "free" "realloc" "calloc" "memalign" "posix_memalign" "aligned_alloc"
  "_malloc_r" "_free_r" "_realloc_r" "_calloc_r" "_memalign_r" "_malloc_trim_r"
  "_sbrk" "_sbrk_r" "sbrk"
  "__cxa_allocate_exception" "__cxa_throw" "__cxa_begin_catch" "__cxa_end_catch"
  "__cxa_rethrow" "__gxx_personality_v0" "__cxa_call_unexpected"
  "_Unwind_RaiseException" "_Unwind_Resume" "_Unwind_Backtrace" "__gnu_unwind_frame"
  "__aeabi_unwind_cpp_pr0" "__aeabi_unwind_cpp_pr1" "__aeabi_unwind_cpp_pr2")

string(REPLACE "\n" ";" lines "${symbols}")
set(found)
set(count 0)
foreach(line IN LISTS lines)
  # "<address> <type> <name>"
  if(line MATCHES "^[0-9a-fA-F]+ [A-Za-z] (.+)$")
    set(name "${CMAKE_MATCH_1}")
    math(EXPR count "${count} + 1")
    if(name IN_LIST forbidden OR name MATCHES "^_Zn[wa]" OR name MATCHES "^_Zd[la]")
      list(APPEND found ${name})
    endif()
  endif()
endforeach()

if(count LESS 10)
  message(FATAL_ERROR "only ${count} symbols read from ${ELF}: is it a linked program?")
endif()
if(found)
  list(JOIN found ", " found_text)
  message(FATAL_ERROR "heap or exception machinery linked into ${ELF}: ${found_text}")
endif()
message(STATUS "no heap, no exceptions: ${count} symbols checked in ${ELF}")
