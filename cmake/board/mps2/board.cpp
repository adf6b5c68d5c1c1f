// Instruction counter and stack painting for the MPS2 and MPS3 boards in QEMU.
//
// Counting: QEMU runs with `-icount shift=N`: each guest instruction advances virtual time
// by 2^N ns. SysTick, clocked from the core clock, counts that virtual time, so
//   instructions = ticks * P ns / 2^N ns,   P the clock period: 40 ns (25 MHz: mps2-an385,
// an386, an500), 50 ns (20 MHz: mps2-an505), 31.25 ns (32 MHz: mps3-an547), given in
// picoseconds by the toolchain file (MICROTL_BOARD_SYSTICK_PERIOD_PS) so that 31.25 is exact.
// SysTick is a 24-bit down counter; its wrap interrupt extends it to 64 bits.
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "board/board.hpp"
#include "board/semihosting.hpp"

#ifndef MICROTL_QEMU_ICOUNT_SHIFT
#error "MICROTL_QEMU_ICOUNT_SHIFT must match the -icount shift the emulator runs with"
#endif
#ifndef MICROTL_BOARD_SYSTICK_PERIOD_PS
#error \
    "MICROTL_BOARD_SYSTICK_PERIOD_PS: the board's SysTick clock period (set by the toolchain file)"
#endif
#ifndef MICROTL_BOARD_CORE
#error "MICROTL_BOARD_CORE names the core (set by the toolchain file)"
#endif

extern "C" {
extern std::uint32_t __StackLimit;
extern std::uint32_t __StackTop;
void SysTick_Handler();
void microtl_board_start_counter();
}

namespace {

struct SysTickRegisters {
  std::uint32_t csr;  // control and status
  std::uint32_t rvr;  // reload value
  std::uint32_t cvr;  // current value (counts down)
};
volatile SysTickRegisters& systick() {
  return *reinterpret_cast<volatile SysTickRegisters*>(0xE000E010u);
}

constexpr std::uint32_t reload = 0x00FF'FFFFu;
constexpr std::uint64_t ticks_per_wrap = std::uint64_t{reload} + 1;
// Time in quarter nanoseconds: every board's tick is a whole number of them (31.25 ns is
// 125), and an instruction, 2^N ns, is a power of two of them, so that turning ticks into
// instructions divides by a shift, whose cost does not depend on the value (a call to
// libgcc's 64-bit division did: the counter's overhead then moved by one from reading to
// reading).
static_assert(MICROTL_BOARD_SYSTICK_PERIOD_PS % 250 == 0, "a tick of whole quarter ns");
constexpr std::uint64_t core_clock_period_qns = MICROTL_BOARD_SYSTICK_PERIOD_PS / 250;
constexpr unsigned qns_per_instruction_log2 = MICROTL_QEMU_ICOUNT_SHIFT + 2;
constexpr std::uint64_t qns_per_instruction = std::uint64_t{1} << qns_per_instruction_log2;

volatile std::uint32_t wraps = 0;
std::uint64_t counter_overhead = 0;
std::uint64_t tick_phase_qns = 0;  // calibrate_phase()

std::uint64_t ticks() {
  std::uint32_t before = 0;
  std::uint32_t value = 0;
  // Re-read when a wrap lands between the two halves of the reading.
  do {
    before = wraps;
    value = systick().cvr;
  } while (before != wraps);
  return std::uint64_t{before} * ticks_per_wrap + (reload - value);
}

// Where SysTick's tick edges fall between instruction starts. QEMU starts the tick grid at
// an instant that need not be an instruction's start, and where it falls differs from
// program to program: assuming it aligned, the mps2-an505 build counted a region one
// instruction more or less by which of the 25 phases of 64 ns against 50 ns it began at,
// and on mps2-an386 the demo's cycle probe counted its regions 14 to 16 instructions above
// QEMU's own trace (test_board's program happened to be aligned). So the phase is measured
// once, on every board: SysTick is read every 4 instructions, 125 times (t_i ticks at
// instruction I_0 + 4 i). With Q = 2^N ns the instruction and P the tick,
// I = ceil((t * P + a) / Q) + a constant is exact for every reading when, with
// u_i = (t_i - t_0) * P - 4 i Q and s = -(t_0 * P + a) mod Q,
//   max u_i  <=  s  <  min u_i + Q;
// a is chosen for s = max u_i. The inversion's error repeats every 5, 25 or 125 instructions
// (5 Q = 8 P at 40 ns, 25 Q = 32 P at 50 ns, 125 Q = 256 P at 31.25 ns), and 4 i modulo 125
// takes every value, so the 125 readings see every phase a later reading can have.
constexpr std::uint32_t calibration_reads = 125;

void calibrate_phase() {
  std::uint32_t values[calibration_reads];
  std::uint32_t* out = values;
  std::uint32_t left = calibration_reads;
  std::uint32_t value = 0;
  // Exactly 4 instructions per reading, whatever the compiler would make of a C++ loop.
  __asm volatile(
      "1: ldr %[value], [%[cvr]]\n\t"
      "str %[value], [%[out]], #4\n\t"
      "subs %[left], %[left], #1\n\t"
      "bne 1b"
      : [value] "=&r"(value), [out] "+r"(out), [left] "+r"(left)
      : [cvr] "r"(&systick().cvr)
      : "cc", "memory");
  constexpr auto q = static_cast<std::int64_t>(qns_per_instruction);
  constexpr auto p = static_cast<std::int64_t>(core_clock_period_qns);
  // No wrap among the readings: the counter has just reloaded 2^24 ticks.
  const std::int64_t first_ticks = reload - values[0];
  std::int64_t max_u = 0;
  std::int64_t min_u = 0;
  for (std::uint32_t i = 1; i < calibration_reads; ++i) {
    const std::int64_t u = (static_cast<std::int64_t>(reload - values[i]) - first_ticks) * p -
                           4 * static_cast<std::int64_t>(i) * q;
    max_u = u > max_u ? u : max_u;
    min_u = u < min_u ? u : min_u;
  }
  if (max_u >= min_u + q) {
    // No phase explains the readings: SysTick does not tick at the period the toolchain
    // file gives. Counting would be wrong, so nothing runs.
    board::semihosting::write0("microtl board: SysTick period does not match the board\n");
    board::semihosting::exit(5);
  }
  const std::int64_t shifted = (max_u + first_ticks * p) % q;
  tick_phase_qns = static_cast<std::uint64_t>((q - shifted) % q);
}

constexpr std::uint32_t stack_paint = 0xC5C5'C5C5u;
bool painted = false;

}  // namespace

extern "C" void SysTick_Handler() {
  wraps = wraps + 1;
}

extern "C" void microtl_board_start_counter() {
  systick().csr = 0;
  systick().rvr = reload;
  systick().cvr = 0;      // any write clears the counter; the next tick reloads it
  systick().csr = 0b111;  // enable, interrupt on wrap, core clock
  while (systick().cvr == 0) {
    // The current value reads 0 until the first reload (seen in QEMU 7.2).
  }
  calibrate_phase();
  const std::uint64_t a = board::instructions();
  const std::uint64_t b = board::instructions();
  counter_overhead = b - a;
}

namespace board {

const char* core_name() {
  return MICROTL_BOARD_CORE;
}

bool counts_instructions() {
  return true;
}

// Exact, not rounded: after I instructions the virtual time is I * 2^N ns and SysTick has
// counted t = floor((I * 2^N - A) / P) ticks (P the tick in ns, A where its grid starts), so
//   (t * P + A) / 2^N  <=  I  <  ((t + 1) * P + A) / 2^N.
// With 2^N > P that interval is shorter than one, so I is the one integer in it:
//   I = ceil((t * P + A) / 2^N)   (in quarter ns here; A modulo 2^N is calibrate_phase()'s
// tick_phase_qns, the rest a constant).
// (Rounding down instead made a region's count depend, by one, on where in a tick it began:
// on anything before it, such as the length of a file path.)
static_assert(qns_per_instruction > core_clock_period_qns,
              "the exact inversion needs an instruction longer than a SysTick tick");
std::uint64_t instructions() {
  return (ticks() * core_clock_period_qns + tick_phase_qns + qns_per_instruction - 1) >>
         qns_per_instruction_log2;
}

std::uint64_t InstructionCounter::elapsed() const {
  const std::uint64_t now = instructions();
  const std::uint64_t raw = now - start_;
  return raw > counter_overhead ? raw - counter_overhead : 0;
}

// Painting and scanning are plain word loops on purpose: they must not call into anything
// that uses the stack region they are painting.
__attribute__((noinline)) void paint_stack() {
  std::uint32_t marker = 0;
  // Leave a margin below this frame: the scan and the counter calls that follow use it.
  const auto below_here = reinterpret_cast<std::uintptr_t>(&marker) - 64u;
  for (auto p = reinterpret_cast<volatile std::uint32_t*>(&__StackLimit);
       reinterpret_cast<std::uintptr_t>(p) < below_here; ++p) {
    *p = stack_paint;
  }
  painted = true;
}

std::size_t stack_peak_since_paint() {
  if (!painted) {
    return 0;
  }
  auto p = reinterpret_cast<const volatile std::uint32_t*>(&__StackLimit);
  while (reinterpret_cast<std::uintptr_t>(p) < reinterpret_cast<std::uintptr_t>(&__StackTop) &&
         *p == stack_paint) {
    ++p;
  }
  return reinterpret_cast<std::uintptr_t>(&__StackTop) - reinterpret_cast<std::uintptr_t>(p);
}

std::size_t stack_top_address() {
  return reinterpret_cast<std::uintptr_t>(&__StackTop);
}

}  // namespace board

#if !defined(MICROTL_BOARD_BARE)
// libstdc++ references getentropy (std::random_device); bare metal has no entropy source.
extern "C" int getentropy(void*, std::size_t) {
  errno = ENOSYS;
  return -1;
}
#endif
