// Start-up code for the MPS2 and MPS3 boards in QEMU (Cortex-M3 / M4F / M7 / M33 / M55).
//
// Reset: copy .data from flash, zero .bss, enable the FPU when the core has one, start the
// instruction counter, run the constructors and main, then
//  - by default: open newlib's semihosting stdio first and leave through exit(), which
//    flushes stdio and passes main's value to QEMU as its exit status;
//  - with MICROTL_BOARD_BARE: leave through a raw semihosting exit; no C library start-up
//    or I/O at all (the zero-heap proof links this variant).
// newlib's own _start is not used: it moves the stack to wherever the semihosting host
// says (QEMU reports 0x22000000 on mps2-an386, outside the 4 MB SRAM its linker script
// describes), and the stack must stay where sections.ld puts it for stack painting to
// measure it.
#include <cstdint>

#include "board/semihosting.hpp"

extern "C" {
// Defined by sections.ld (included by the board's linker script).
extern std::uint32_t __etext;
extern std::uint32_t __data_start__;
extern std::uint32_t __data_end__;
extern std::uint32_t __bss_start__;
extern std::uint32_t __bss_end__;
extern std::uint32_t __StackTop;
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

int main();
void initialise_monitor_handles();  // librdimon: semihosting stdin/stdout/stderr
void exit(int);
void Reset_Handler();
void HardFault_Handler();
void Default_Handler();
void SysTick_Handler();              // board.cpp
void microtl_board_start_counter();  // board.cpp
}

namespace {

using Handler = void (*)();

// Word-wise copy/fill written out by hand: the C library is not initialised yet.
void copy_words(std::uint32_t* dst, const std::uint32_t* src, const std::uint32_t* dst_end) {
  while (dst < dst_end) {
    *dst++ = *src++;
  }
}

void zero_words(std::uint32_t* dst, const std::uint32_t* dst_end) {
  while (dst < dst_end) {
    *dst++ = 0;
  }
}

}  // namespace

// The Cortex-M vector table: initial stack pointer, then the 15 system exception
// handlers. No external interrupts are used.
extern "C" __attribute__((section(".isr_vector"), used)) const Handler microtl_vector_table[16] = {
    reinterpret_cast<Handler>(&__StackTop),
    Reset_Handler,
    Default_Handler,    // NMI
    HardFault_Handler,  // HardFault
    Default_Handler,    // MemManage
    Default_Handler,    // BusFault
    Default_Handler,    // UsageFault
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    Default_Handler,  // SVCall
    Default_Handler,  // DebugMonitor
    nullptr,
    Default_Handler,  // PendSV
    SysTick_Handler,
};

extern "C" void Reset_Handler() {
  copy_words(&__data_start__, &__etext, &__data_end__);
  zero_words(&__bss_start__, &__bss_end__);

#if defined(__ARM_FP)
  // CPACR: full access to coprocessors 10 and 11 (the FPU and, on the Cortex-M55, the MVE
  // vector extension, which needs no enable of its own), then synchronise. The Armv8-M
  // cores run secure here, so the non-secure NSACR does not matter.
  volatile std::uint32_t& cpacr = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED88u);
  cpacr = cpacr | (0xFu << 20);
  __asm volatile("dsb\n\tisb" ::: "memory");
#endif

  microtl_board_start_counter();

#if !defined(MICROTL_BOARD_BARE)
  initialise_monitor_handles();
#endif
  for (auto* ctor = __init_array_start; ctor != __init_array_end; ++ctor) {
    (*ctor)();
  }
  const int status = main();
#if defined(MICROTL_BOARD_BARE)
  board::semihosting::exit(status);
#else
  exit(status);
#endif
}

// A fault must end the test run with a visible failure, never hang it.
extern "C" void HardFault_Handler() {
  board::semihosting::write0("microtl board: HardFault\n");
  board::semihosting::exit(3);
}

extern "C" void Default_Handler() {
  board::semihosting::write0("microtl board: unexpected exception\n");
  board::semihosting::exit(4);
}
