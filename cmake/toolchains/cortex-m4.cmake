# Cortex-M4F: Armv7E-M with the DSP extension and a single-precision FPU (fpv4-sp-d16),
# hard-float ABI, like the nRF52840. QEMU board mps2-an386.
set(MICROTL_CPU cortex-m4)
set(MICROTL_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
set(MICROTL_QEMU_MACHINE mps2-an386)
set(MICROTL_BOARD_LINKER_SCRIPT mps2.ld)
set(MICROTL_BOARD_SYSTICK_PERIOD_PS 40000)  # SysTick from the 25 MHz core clock
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-gcc.cmake)
