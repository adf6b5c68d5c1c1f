# Build settings for microtl's own tests, benchmarks and examples. Nothing here is
# needed by a project that consumes the library: it only includes the headers.

include_guard(GLOBAL)

set(CMAKE_CXX_EXTENSIONS OFF)

# True when the build runs on a Cortex-M under QEMU (set by cmake/toolchains/*.cmake).
if(CMAKE_CROSSCOMPILING)
  set(MICROTL_ON_TARGET ON)
else()
  set(MICROTL_ON_TARGET OFF)
endif()

# ---------------------------------------------------------------------------
# Warnings are errors, for GCC and Clang alike. Library headers are included
# normally (not as SYSTEM) so these flags apply to them too.
# ---------------------------------------------------------------------------
add_library(microtl_warnings INTERFACE)
target_compile_options(microtl_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
  -Wcast-align -Wnon-virtual-dtor -Wold-style-cast -Wdouble-promotion
  -Wnull-dereference -Wimplicit-fallthrough -Werror
  # __FILE__ (in assertion messages) relative to the repository: a program's bytes, and so
  # the instructions its counted regions execute, do not depend on where it was checked out.
  -fmacro-prefix-map=${PROJECT_SOURCE_DIR}/=)

# ---------------------------------------------------------------------------
# Third-party test headers (doctest, Catch2) come from Debian packages. The ARM
# compiler must never search /usr/include (it would pick up the host's libc), so
# the one header it needs is copied into a folder of its own.
# ---------------------------------------------------------------------------
function(microtl_vendor_header out_dir relative_path)
  find_file(_microtl_found_${out_dir} ${relative_path}
    PATHS /usr/include /usr/local/include
    NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  set(found "${_microtl_found_${out_dir}}")
  if(NOT found)
    message(FATAL_ERROR "microtl: ${relative_path} not found; run scripts/test once to install it "
                        "(Debian package: doctest-dev / catch2)")
  endif()
  configure_file(${found} ${CMAKE_BINARY_DIR}/third_party/${out_dir}/${relative_path} COPYONLY)
endfunction()

microtl_vendor_header(doctest doctest/doctest.h)

add_library(microtl_doctest INTERFACE)
target_include_directories(microtl_doctest SYSTEM INTERFACE ${CMAKE_BINARY_DIR}/third_party/doctest)
if(MICROTL_ON_TARGET)
  # No exceptions, no signals, no threads on bare metal (see README: targets).
  target_compile_definitions(microtl_doctest INTERFACE
    DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
    DOCTEST_CONFIG_NO_POSIX_SIGNALS
    DOCTEST_CONFIG_NO_MULTITHREADING
    DOCTEST_CONFIG_COLORS_NONE)
endif()

# doctest's implementation is compiled once per configuration and shared by
# every test program (it is the slowest file to compile).
add_library(microtl_test_main STATIC ${PROJECT_SOURCE_DIR}/tests/support/doctest_main.cpp)
target_link_libraries(microtl_test_main PUBLIC microtl_doctest microtl::microtl microtl_board)

# ---------------------------------------------------------------------------
# microtl_add_firmware(<target>): link an executable for the board (startup code,
# linker script, semihosting). On the host it links the host board shim.
# ---------------------------------------------------------------------------
function(microtl_add_firmware target)
  target_link_libraries(${target} PRIVATE microtl_board)
endfunction()

# ---------------------------------------------------------------------------
# microtl_add_test(<name> SOURCES <files...> [LABELS <labels...>])
# One doctest program; CTest runs it natively on the host and in QEMU (through
# CMAKE_CROSSCOMPILING_EMULATOR) on the Cortex-M presets. Exit status = result.
# ---------------------------------------------------------------------------
function(microtl_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE microtl::microtl microtl_test_main microtl_warnings)
  microtl_add_firmware(${name})
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "unit;${ARG_LABELS}")
endfunction()

# ---------------------------------------------------------------------------
# microtl_add_compile_fail_test(<name> SOURCE <file> EXPECT <regex>)
# The source must NOT compile, and the compiler's message must match <regex>, so
# the test fails if the file starts compiling or fails for another reason.
# Only on the host: what does not compile there does not compile anywhere.
# ---------------------------------------------------------------------------
function(microtl_add_compile_fail_test name)
  cmake_parse_arguments(ARG "" "SOURCE;EXPECT" "" ${ARGN})
  if(MICROTL_ON_TARGET)
    return()
  endif()
  add_library(${name} OBJECT EXCLUDE_FROM_ALL ${ARG_SOURCE})
  target_link_libraries(${name} PRIVATE microtl::microtl microtl_warnings)
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target ${name})
  # One build at a time in this build tree: concurrent ninja runs would fight over it.
  set_tests_properties(${name} PROPERTIES
    PASS_REGULAR_EXPRESSION "${ARG_EXPECT}"
    RESOURCE_LOCK microtl_build_tree
    LABELS "compile_fail")
endfunction()
