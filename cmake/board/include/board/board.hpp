// Board support for microtl's tests, benchmarks and examples (never part of the library).
//
// On the Cortex-M presets the program runs on an Arm MPS2 board in QEMU: start-up code in
// cmake/board/mps2, output and file input through semihosting, and an instruction counter
// built on SysTick under QEMU's `-icount` (every guest instruction advances virtual time by
// a fixed step, so SysTick ticks count instructions, deterministically). On the host the
// same functions exist so that the same sources build; the instruction counter reports
// that it is unavailable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace board {

// Name of the core the program was built for ("cortex-m4", ..., "host").
const char* core_name();

// True where instructions() counts guest instructions (QEMU with -icount).
bool counts_instructions();

// Guest instructions executed since the counter started (start-up starts it), 64-bit so
// it never wraps in practice. Instructions, not cycles. Zero on the host.
std::uint64_t instructions();

// Measures the instructions executed between construction (or restart()) and elapsed().
// The counter's own overhead (a handful of instructions) is subtracted.
class InstructionCounter {
 public:
  InstructionCounter() { restart(); }
  void restart() { start_ = instructions(); }
  [[nodiscard]] std::uint64_t elapsed() const;

 private:
  std::uint64_t start_ = 0;
};

// Stack painting: paint_stack() fills the free part of the stack (below the caller) with a
// pattern; stack_peak_since_paint() finds the deepest word overwritten since. Both count
// bytes from the top of the stack, like stack_in_use(), so the peak of a piece of work is
//   board::paint_stack(); auto base = board::stack_in_use(); work();
//   auto work_bytes = board::stack_peak_since_paint() - base;
// All three return 0 on the host.
void paint_stack();
std::size_t stack_peak_since_paint();
std::size_t stack_top_address();  // 0 on the host

// Bytes between the top of the stack and the caller's stack pointer (inline, so that it
// reads the caller's own stack pointer, not that of a helper frame).
inline std::size_t stack_in_use() {
#if defined(__arm__)
  std::uintptr_t sp = 0;
  __asm volatile("mov %0, sp" : "=r"(sp));
  return stack_top_address() - sp;
#else
  return 0;
#endif
}

}  // namespace board
