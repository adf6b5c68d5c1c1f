# Cortex-M3: Armv7-M, no FPU (float in software), no DSP extension. QEMU board mps2-an385.
set(MICROTL_CPU cortex-m3)
set(MICROTL_CPU_FLAGS "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft")
set(MICROTL_QEMU_MACHINE mps2-an385)
set(MICROTL_BOARD_LINKER_SCRIPT mps2.ld)
set(MICROTL_BOARD_SYSTICK_PERIOD_PS 40000)  # SysTick from the 25 MHz core clock
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-gcc.cmake)
