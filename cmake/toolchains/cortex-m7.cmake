# Cortex-M7: Armv7E-M with the DSP extension and a double-precision FPU (fpv5-d16),
# hard-float ABI. QEMU board mps2-an500.
set(MICROTL_CPU cortex-m7)
set(MICROTL_CPU_FLAGS "-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard")
set(MICROTL_QEMU_MACHINE mps2-an500)
set(MICROTL_BOARD_LINKER_SCRIPT mps2.ld)
set(MICROTL_BOARD_SYSTICK_PERIOD_PS 40000)  # SysTick from the 25 MHz core clock
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-gcc.cmake)
