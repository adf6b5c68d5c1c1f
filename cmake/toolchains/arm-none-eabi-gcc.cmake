# Cross-compiling for Cortex-M with Arm's GNU toolchain (Debian: gcc-arm-none-eabi).
# Do not use this file directly: the per-core files (cortex-m3.cmake, ...) set
# MICROTL_CPU, MICROTL_CPU_FLAGS and MICROTL_QEMU_MACHINE and include it.
#
# Every test program runs under qemu-system-arm (CMAKE_CROSSCOMPILING_EMULATOR) with
# semihosting, so that printf reaches the console and main's return value becomes QEMU's
# exit status, and with -icount so that the board's instruction counter is exact.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
set(CMAKE_NM arm-none-eabi-nm CACHE FILEPATH "")
set(CMAKE_OBJDUMP arm-none-eabi-objdump CACHE FILEPATH "")

# A test link would need start-up code; a static library needs none.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# No exceptions, no RTTI anywhere on the target: the library must not need them.
set(_microtl_common "${MICROTL_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_C_FLAGS_INIT "${_microtl_common}")
set(CMAKE_CXX_FLAGS_INIT "${_microtl_common} -fno-exceptions -fno-rtti -fno-threadsafe-statics")
set(CMAKE_ASM_FLAGS_INIT "${MICROTL_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${MICROTL_CPU_FLAGS}")

# -icount shift=6: one guest instruction = 64 ns of virtual time (finer than one SysTick
# tick at 25 MHz), no real-time alignment, so counts are identical from run to run.
set(MICROTL_QEMU_ICOUNT_SHIFT 6)
find_program(MICROTL_QEMU qemu-system-arm)
if(NOT MICROTL_QEMU)
  set(MICROTL_QEMU qemu-system-arm)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR
  ${MICROTL_QEMU} -M ${MICROTL_QEMU_MACHINE} -nographic -monitor none -serial none
  -semihosting-config enable=on,target=native
  -icount shift=${MICROTL_QEMU_ICOUNT_SHIFT},align=off,sleep=off
  -kernel)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
