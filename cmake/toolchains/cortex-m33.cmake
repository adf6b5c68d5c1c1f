# Cortex-M33: Armv8-M Mainline with the DSP extension and a single-precision FPU
# (fpv5-sp-d16), hard-float ABI, like the nRF5340 and STM32U5. QEMU board mps2-an505, which
# boots the core in the secure state: mps2-an505.ld puts the program in the secure aliases.
set(MICROTL_CPU cortex-m33)
set(MICROTL_CPU_FLAGS "-mcpu=cortex-m33 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
set(MICROTL_QEMU_MACHINE mps2-an505)
set(MICROTL_BOARD_LINKER_SCRIPT mps2-an505.ld)
set(MICROTL_BOARD_SYSTICK_PERIOD_PS 50000)  # SysTick from the 20 MHz core clock
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-gcc.cmake)
