# Cortex-M55: Armv8.1-M Mainline with the DSP extension, the Helium vector extension (MVE,
# integer and float: GCC 12.2 defines __ARM_FEATURE_MVE 3 for -mcpu=cortex-m55, whose
# default -mfpu=auto includes it) and a double-precision FPU, hard-float ABI. QEMU board
# mps3-an547, secure state like the an505.
set(MICROTL_CPU cortex-m55)
set(MICROTL_CPU_FLAGS "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard")
set(MICROTL_QEMU_MACHINE mps3-an547)
set(MICROTL_BOARD_LINKER_SCRIPT mps3-an547.ld)
set(MICROTL_BOARD_SYSTICK_PERIOD_PS 31250)  # SysTick from the 32 MHz core clock
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-gcc.cmake)
