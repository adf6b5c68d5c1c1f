// The board's instruction counter, checked against loops of known length: `subs; bne` runs
// two instructions per iteration, so n iterations take 2n instructions plus a constant.
// The difference of two runs cancels the constant. The long run crosses several wraps of
// the 24-bit SysTick (one wrap = 2^24 ticks = 2^24 * P / 64 instructions at shift 6, P the
// tick in ns: 10,485,760 at 40 ns, 13,107,200 at 50 ns, 8,192,000 at 31.25 ns), which
// checks the 64-bit extension; each wrap runs the SysTick handler, whose few instructions
// are counted too (they are executed).
#include <doctest/doctest.h>

#include <cstdint>
#include <string_view>

#include "board/board.hpp"

namespace {

#if defined(__arm__)
__attribute__((noinline)) void spin(std::uint32_t iterations) {
  __asm volatile(
      "1: subs %0, %0, #1\n\t"
      "bne 1b"
      : "+r"(iterations)
      :
      : "cc");
}

// A frame of at least 2 KB below the caller's (its array is written, so it is touched).
__attribute__((noinline)) void use_stack() {
  volatile std::uint8_t big[2048];
  for (std::size_t i = 0; i < sizeof(big); ++i) {
    big[i] = static_cast<std::uint8_t>(i);
  }
}

__attribute__((noinline)) std::uint64_t count_spin(std::uint32_t iterations) {
  board::InstructionCounter counter;
  spin(iterations);
  return counter.elapsed();
}
#endif

// The cases that measure need the board (QEMU); on the host they are skipped (doctest counts
// them), and the host's stand-in is checked instead.
#if defined(__arm__)
constexpr bool kOnBoard = true;
// The board's SysTick period in picoseconds (the toolchain file's, as board.cpp gets it).
constexpr std::uint64_t kTickPs = MICROTL_BOARD_SYSTICK_PERIOD_PS;
constexpr std::uint64_t kInstructionPs = 64'000;  // -icount shift=6
// The most wraps a run of `instructions` can cross: the whole ones it spans, plus one for
// where it starts.
constexpr std::uint64_t max_wraps(std::uint64_t instructions) {
  return instructions * kInstructionPs / ((std::uint64_t{1} << 24) * kTickPs) + 1;
}
#else
constexpr bool kOnBoard = false;
#endif

}  // namespace

TEST_CASE("instruction counter: 2 instructions per subs/bne iteration" * doctest::skip(!kOnBoard)) {
#if defined(__arm__)
  REQUIRE(board::counts_instructions());
  const std::uint64_t short_run = count_spin(1000);
  const std::uint64_t long_run = count_spin(3000);
  // 2000 more iterations: exactly 4000 more instructions (the count is exact, not rounded
  // to SysTick's 0.625-instruction ticks).
  const auto extra = static_cast<std::int64_t>(long_run - short_run);
  CHECK(extra == 4000);
  // The constant part (call, return, counter reads) is small.
  CHECK(short_run >= 2000);
  CHECK(short_run <= 2040);
  // Repeatable: the same work counts the same.
  CHECK(count_spin(1000) == short_run);
#endif
}

TEST_CASE("instruction counter: a count does not depend on where in a tick it starts" *
          doctest::skip(!kOnBoard)) {
#if defined(__arm__)
  // An instruction is 64 ns and a tick 40 ns (25 MHz boards), 50 ns (mps2-an505) or
  // 31.25 ns (mps3-an547), so the ticks' phase at an instruction's start repeats every 5,
  // 25 or 125 instructions. 1..125 spin iterations before (2 instructions each, and 125 is
  // odd) start the measured run at every phase on every board.
  const std::uint64_t reference = count_spin(1000);
  for (std::uint32_t shift = 1; shift <= 125; ++shift) {
    CAPTURE(shift);
    spin(shift);
    CHECK(count_spin(1000) == reference);
  }
#endif
}

TEST_CASE("instruction counter: counts across SysTick wraps" * doctest::skip(!kOnBoard)) {
#if defined(__arm__)
  // 15,000,000 iterations = 30,000,000 instructions: almost three 24-bit wraps.
  const std::uint64_t short_run = count_spin(1000);
  const std::uint64_t long_run = count_spin(15'000'000);
  const auto extra = static_cast<std::int64_t>(long_run - short_run);
  // Two or three wraps at 40 or 50 ns a tick, three or four at 31.25 ns, each running the
  // wrap handler (under 8 instructions).
  CHECK(extra >= 29'998'000);
  CHECK(extra <= 29'998'000 + max_wraps(30'000'000) * 8);
#endif
}

TEST_CASE("stack painting: a deeper frame shows a larger peak" * doctest::skip(!kOnBoard)) {
#if defined(__arm__)
  board::paint_stack();
  const std::size_t base = board::stack_in_use();
  const std::size_t idle = board::stack_peak_since_paint() - base;
  CHECK(idle < 256);  // only the counter's own small frames
  board::paint_stack();
  use_stack();
  const std::size_t deep = board::stack_peak_since_paint() - base;
  // use_stack's frame: its 2048-byte array plus a few saved registers.
  CHECK(deep >= 2048);
  CHECK(deep <= 2048 + 128);
#endif
}

TEST_CASE("host stand-in: no instruction counter, no stack painting, all zeros" *
          doctest::skip(kOnBoard)) {
  CHECK_FALSE(board::counts_instructions());
  CHECK(board::instructions() == 0);
  const board::InstructionCounter counter;
  CHECK(counter.elapsed() == 0);
  board::paint_stack();
  CHECK(board::stack_in_use() == 0);
  CHECK(board::stack_peak_since_paint() == 0);
  CHECK(std::string_view(board::core_name()) == "host");
}
