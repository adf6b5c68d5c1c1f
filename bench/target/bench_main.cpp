// On-target benchmark of the int8 kernels: for each case, the instructions of one kernel call
// (QEMU -icount through board::InstructionCounter: instructions, not cycles) and its stack
// peak (stack painting). One line per case:
//
//   BENCH <case> macs=<N> instructions=<N> insn_per_mac=<X.XX> stack_bytes=<N>
//
// The program fails (non-zero exit) when a case's output does not vary, a sign that the
// kernel did not run on the data. scripts/bench runs it and adds the code size per case.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "bench_cases.hpp"
#include "board/board.hpp"
#include "train_cases.hpp"

namespace {

// Masks interrupts while a kernel runs for the stack measurement: the SysTick wrap
// interrupt (every ~10.5 million instructions) would otherwise push an exception frame
// onto the stack under the kernel's and be counted as its stack use. A wrap that falls in
// this window stays pending and is taken, late, at the cpsie.
void disable_interrupts() {
  __asm volatile("cpsid i" ::: "memory");
}
void enable_interrupts() {
  __asm volatile("cpsie i" ::: "memory");
}

// The stack bytes one call of `run` uses, measured from a frame 256 bytes below the caller
// of board::paint_stack(): paint_stack leaves a small margin under its caller unpainted (for
// the counter's own calls), and a kernel whose stack fits in that margin would otherwise
// read as using all of it.
__attribute__((noinline)) std::size_t stack_of_call_below_paint(void (*run)()) {
  std::uint32_t spacer[64];
  __asm volatile("" : : "r"(spacer) : "memory");  // the spacer (this frame's depth) stays
  const std::size_t base = board::stack_in_use();
  disable_interrupts();
  run();
  enable_interrupts();
  return board::stack_peak_since_paint() - base;
}

std::size_t stack_bytes_of(void (*run)()) {
  board::paint_stack();
  return stack_of_call_below_paint(run);
}

// "12.34" from a ratio of integers, without printf's floating point.
void format_ratio(char* text, std::size_t size, std::uint64_t numerator,
                  std::uint64_t denominator) {
  const std::uint64_t hundredths = (numerator * 100u + denominator / 2u) / denominator;
  std::snprintf(text, size, "%lu.%02lu", static_cast<unsigned long>(hundredths / 100u),
                static_cast<unsigned long>(hundredths % 100u));
}

}  // namespace

int main() {
  microtl_bench::bench_setup();
  std::printf("BENCH_INFO core=%s\n", board::core_name());
  if (!board::counts_instructions()) {
    std::printf("BENCH_ERROR the instruction counter is not available\n");
    return 1;
  }

  int failures = 0;
  for (const microtl_bench::Case& c : microtl_bench::bench_cases()) {
    // Instructions of exactly one call (QEMU models no caches: no warm-up run is needed).
    board::InstructionCounter counter;
    c.run();
    const std::uint64_t instructions = counter.elapsed();
    if (!microtl_bench::output_varies(c)) {
      std::printf("BENCH_ERROR %s: every output code is the same\n", c.name);
      ++failures;
    }
    // A second, identical call (same inputs, same outputs) for the stack peak.
    const std::size_t stack_bytes = stack_bytes_of(c.run);

    char ratio[24];
    format_ratio(ratio, sizeof(ratio), instructions, c.macs);
    std::printf("BENCH %s macs=%lu instructions=%llu insn_per_mac=%s stack_bytes=%lu\n", c.name,
                static_cast<unsigned long>(c.macs), static_cast<unsigned long long>(instructions),
                ratio, static_cast<unsigned long>(stack_bytes));
  }

  // Training: one step each (forward, loss, backward, SGD update; batch 1), after one
  // warm-up step (the first step's arithmetic is the same; it only shows the loss moving).
  microtl_bench::train_setup();
  for (const microtl_bench::TrainCase& t : microtl_bench::train_cases()) {
    t.step();
    const float first_loss = t.loss();
    board::InstructionCounter counter;
    t.step();
    const std::uint64_t instructions = counter.elapsed();
    if (!(t.loss() < first_loss)) {
      std::printf("BENCH_ERROR %s: the loss did not decrease\n", t.name);
      ++failures;
    }
    const std::size_t stack_bytes = stack_bytes_of(t.step);
    std::printf("BENCH %s instructions=%llu arena_bytes=%lu stack_bytes=%lu\n", t.name,
                static_cast<unsigned long long>(instructions),
                static_cast<unsigned long>(t.arena_bytes), static_cast<unsigned long>(stack_bytes));
  }
  return failures == 0 ? 0 : 1;
}
