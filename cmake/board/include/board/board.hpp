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

// Stack painting: fill the unused part of the stack with a pattern, later find the
// deepest byte that was overwritten. paint_stack() must be called from a shallow frame.
void paint_stack();
// Bytes of stack used below the point paint_stack() was called from (0 on the host).
std::size_t stack_peak_since_paint();

}  // namespace board
