// Instruction counter and stack painting for the MPS2 boards in QEMU.
//
// Counting: QEMU runs with `-icount shift=N`: each guest instruction advances virtual time
// by 2^N ns. SysTick, clocked from the 25 MHz core clock on these boards, counts that
// virtual time, so   instructions = ticks * 40 ns / 2^N ns.   SysTick is a 24-bit down
// counter; its wrap interrupt extends it to 64 bits.
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "board/board.hpp"

#ifndef MICROTL_QEMU_ICOUNT_SHIFT
#error "MICROTL_QEMU_ICOUNT_SHIFT must match the -icount shift the emulator runs with"
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
constexpr std::uint64_t core_clock_period_ns = 40;  // 25 MHz
constexpr std::uint64_t ns_per_instruction = std::uint64_t{1} << MICROTL_QEMU_ICOUNT_SHIFT;

volatile std::uint32_t wraps = 0;
std::uint64_t counter_overhead = 0;

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
// counted t = floor(I * 2^N / 40) ticks, so  t <= I * 2^N / 40 < t + 1,  that is
//   t * 40 / 2^N  <=  I  <  (t + 1) * 40 / 2^N.
// With 2^N > 40 that interval is shorter than one, so I is the one integer in it:
//   I = ceil(t * 40 / 2^N).
// (Rounding down instead made a region's count depend, by one, on where in a tick it began:
// on anything before it, such as the length of a file path.)
static_assert(ns_per_instruction > core_clock_period_ns,
              "the exact inversion needs an instruction longer than a SysTick tick");
std::uint64_t instructions() {
  return (ticks() * core_clock_period_ns + ns_per_instruction - 1) / ns_per_instruction;
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
