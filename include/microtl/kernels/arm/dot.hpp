// Dot products of int8 rows with an int8 vector plus an input offset, the inner loop of the
// fully connected and (general) convolution kernels:
//
//   acc[r] += sum_{i < n} row_r[i] * (x[i] + offset)      row_r = w + r * Stride
//
// One step takes four bytes of x:
//   LDR x word; SXTAB16 / SXTAB16 ROR #8 -> (x0 + off, x2 + off), (x1 + off, x3 + off)
// and, for each row, LDR its word; SXTB16 / SXTB16 ROR #8 -> (w0, w2), (w1, w3); two SMLAD:
// 16 MACs in 23 instructions for four rows, 4 MACs in 8 for one. x + offset is in
// [-255, 255] (input_offset in [-127, 128]), so the 16-bit lanes never overflow.
//
// On DSP cores the loops are inline assembly: GCC 12's scheduler, given the same code as
// intrinsics, hoists the loads of a whole unrolled iteration and spills the accumulators to
// the stack (8 extra loads and stores per 32 MACs). The registers are still chosen by the
// compiler. Elsewhere the steps are the dsp.hpp emulations, with the same arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/kernels/arm/dsp.hpp"

namespace microtl::kernels::arm::detail {

// Four int8 weights as two pairs: (w0, w2) and (w1, w3), what SXTB16 and SXTB16 ROR #8 make
// of a word. The convolution kernels keep tables of them on the stack and read one with LDRD.
struct TapPairs {
  std::int32_t even;
  std::int32_t odd;
};

// Accumulators of four rows.
struct Acc4 {
  std::int32_t a0;
  std::int32_t a1;
  std::int32_t a2;
  std::int32_t a3;
};

// The asm loops hold 12 registers: unoptimized builds (-O0, where the frame pointer takes r7
// and nothing is shared) use the intrinsics version below instead.
#if defined(__ARM_FEATURE_DSP) && defined(__OPTIMIZE__)
#define MICROTL_DETAIL_ARM_ASM_LOOPS 1
#else
#define MICROTL_DETAIL_ARM_ASM_LOOPS 0
#endif

#if MICROTL_DETAIL_ARM_ASM_LOOPS
// The assembly of one step of four rows (dot4_steps): four bytes of x, the rows at
// [w + S1], [w + S2], [w + S3] (operands or registers) and [w] (post-incremented last).
// clang-format off
#define MICROTL_ARM_DOT4_ROW(ADDRESS, ACC)       \
  "ldr     %[q], " ADDRESS "\n\t"                \
  "sxtb16  %[t], %[q]\n\t"                       \
  "smlad   " ACC ", %[t], %[lo], " ACC "\n\t"    \
  "sxtb16  %[q], %[q], ror #8\n\t"               \
  "smlad   " ACC ", %[q], %[hi], " ACC "\n\t"
#define MICROTL_ARM_DOT4_INPUT                   \
  "ldr     %[q], [%[x]], #4\n\t"                 \
  "sxtab16 %[lo], %[off], %[q]\n\t"              \
  "sxtab16 %[hi], %[off], %[q], ror #8\n\t"
#define MICROTL_ARM_DOT4_STEP_IMM                \
  MICROTL_ARM_DOT4_INPUT                         \
  MICROTL_ARM_DOT4_ROW("[%[w], %[s1]]", "%[a1]") \
  MICROTL_ARM_DOT4_ROW("[%[w], %[s2]]", "%[a2]") \
  MICROTL_ARM_DOT4_ROW("[%[w], %[s3]]", "%[a3]") \
  MICROTL_ARM_DOT4_ROW("[%[w]], #4", "%[a0]")
#define MICROTL_ARM_DOT2_STEP                    \
  MICROTL_ARM_DOT4_INPUT                         \
  MICROTL_ARM_DOT4_ROW("[%[w], %[s]]", "%[a1]")  \
  MICROTL_ARM_DOT4_ROW("[%[w]], #4", "%[a0]")
// The loop of every asm block: %[n] times two steps.
#define MICROTL_ARM_TWO_STEPS_LOOP(STEP)         \
  "1:\n\t"                                       \
  STEP                                           \
  STEP                                           \
  "subs    %[n], %[n], #1\n\t"                   \
  "bne     1b"
// clang-format on
#else
// Elsewhere, the same arithmetic with the dsp.hpp emulations: `pairs` times two steps of
// four bytes of x (plus the offset, as pairs) against four bytes of each of Rows rows
// `stride` bytes apart, accumulated into *acc[r]; x += 8 * pairs, w += 8 * pairs.
template <std::size_t Rows>
inline void dot_steps_emulated(const std::int8_t*& x, const std::int8_t*& w, std::size_t pairs,
                               std::size_t stride, std::int32_t offset_pair,
                               std::int32_t* const (&acc)[Rows]) noexcept {
  for (std::size_t step = 0; step < 2 * pairs; ++step, x += 4, w += 4) {
    const std::int32_t quad = dsp::load_quad(x);
    const std::int32_t low = dsp::sxtab16(offset_pair, quad);
    const std::int32_t high = dsp::sxtab16_ror8(offset_pair, quad);
    for (std::size_t r = 0; r < Rows; ++r) {
      const std::int32_t row = dsp::load_quad(w + r * stride);
      *acc[r] = dsp::smlad(dsp::sxtb16_ror8(row), high, dsp::smlad(dsp::sxtb16(row), low, *acc[r]));
    }
  }
}
#endif

// `pairs` times two steps of four rows Stride bytes apart (pairs >= 1): 8 bytes of x per
// iteration (x += 8 * pairs, w += 8 * pairs). On DSP cores the whole loop is one asm block
// (GCC otherwise copies the four accumulators between registers on every iteration). Rows 1..3
// are at immediate offsets from row 0's pointer (LDR imm12): 3 * Stride <= 4095.
template <std::size_t Stride>
inline void dot4_steps(const std::int8_t*& x, const std::int8_t*& w, std::size_t pairs,
                       std::int32_t offset_pair, std::int32_t& a0, std::int32_t& a1,
                       std::int32_t& a2, std::int32_t& a3) noexcept {
  static_assert(3 * Stride <= 4095, "rows too far apart for immediate offsets: use dot2_steps");
#if MICROTL_DETAIL_ARM_ASM_LOOPS
  std::int32_t quad;
  std::int32_t low;
  std::int32_t high;
  std::int32_t ext;
  // clang-format off
  __asm(
      MICROTL_ARM_TWO_STEPS_LOOP(MICROTL_ARM_DOT4_STEP_IMM)
      : [q] "=&r"(quad), [lo] "=&r"(low), [hi] "=&r"(high), [t] "=&r"(ext), [x] "+r"(x),
        [w] "+r"(w), [n] "+r"(pairs), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)
      : [off] "r"(offset_pair), [s1] "n"(Stride), [s2] "n"(2 * Stride), [s3] "n"(3 * Stride)
      : "cc", "memory");
  // clang-format on
#else
  dot_steps_emulated<4>(x, w, pairs, Stride, offset_pair, {&a0, &a1, &a2, &a3});
#endif
}

// The same for two rows `stride` bytes apart, any stride (a register): for rows too far apart
// for dot4_steps (more than 1365 bytes), at 3 instructions more per 8 MACs.
inline void dot2_steps(const std::int8_t*& x, const std::int8_t*& w, std::size_t pairs,
                       std::size_t stride, std::int32_t offset_pair, std::int32_t& a0,
                       std::int32_t& a1) noexcept {
#if MICROTL_DETAIL_ARM_ASM_LOOPS
  std::int32_t quad;
  std::int32_t low;
  std::int32_t high;
  std::int32_t ext;
  // clang-format off
  __asm(
      MICROTL_ARM_TWO_STEPS_LOOP(MICROTL_ARM_DOT2_STEP)
      : [q] "=&r"(quad), [lo] "=&r"(low), [hi] "=&r"(high), [t] "=&r"(ext), [x] "+r"(x),
        [w] "+r"(w), [n] "+r"(pairs), [a0] "+r"(a0), [a1] "+r"(a1)
      : [off] "r"(offset_pair), [s] "r"(stride)
      : "cc", "memory");
  // clang-format on
#else
  dot_steps_emulated<2>(x, w, pairs, stride, offset_pair, {&a0, &a1});
#endif
}

// `pairs` times two steps of one row (pairs >= 1): x += 8 * pairs, w += 8 * pairs.
inline void dot1_steps(const std::int8_t*& x, const std::int8_t*& w, std::size_t pairs,
                       std::int32_t offset_pair, std::int32_t& acc) noexcept {
#if MICROTL_DETAIL_ARM_ASM_LOOPS
// clang-format off
#define MICROTL_ARM_DOT1_STEP              \
  "ldr     %[q], [%[x]], #4\n\t"           \
  "ldr     %[r], [%[w]], #4\n\t"           \
  "sxtab16 %[t], %[off], %[q]\n\t"         \
  "sxtab16 %[q], %[off], %[q], ror #8\n\t" \
  "sxtb16  %[e], %[r]\n\t"                 \
  "smlad   %[a], %[e], %[t], %[a]\n\t"     \
  "sxtb16  %[r], %[r], ror #8\n\t"         \
  "smlad   %[a], %[r], %[q], %[a]\n\t"
  // clang-format on
  std::int32_t quad;
  std::int32_t row;
  std::int32_t low;
  std::int32_t ext;
  // clang-format off
  __asm(
      MICROTL_ARM_TWO_STEPS_LOOP(MICROTL_ARM_DOT1_STEP)
      : [q] "=&r"(quad), [r] "=&r"(row), [t] "=&r"(low), [e] "=&r"(ext), [x] "+r"(x),
        [w] "+r"(w), [n] "+r"(pairs), [a] "+r"(acc)
      : [off] "r"(offset_pair)
      : "cc", "memory");
  // clang-format on
#undef MICROTL_ARM_DOT1_STEP
#else
  dot_steps_emulated<1>(x, w, pairs, 0, offset_pair, {&acc});
#endif
}

// acc[r] + sum_{i < n} w[r * Stride + i] * (x[i] + offset) for r < 4.
template <std::size_t Stride>
inline Acc4 dot4(const std::int8_t* x, const std::int8_t* w, std::size_t n, std::int32_t offset,
                 Acc4 acc) noexcept {
  const std::int32_t offset_pair = dsp::splat_pair(offset);
  std::int32_t a0 = acc.a0;
  std::int32_t a1 = acc.a1;
  std::int32_t a2 = acc.a2;
  std::int32_t a3 = acc.a3;
  if (n >= 8) {
    if constexpr (3 * Stride <= 4095) {
      dot4_steps<Stride>(x, w, n / 8, offset_pair, a0, a1, a2, a3);
    } else {
      // Rows 0, 1 then rows 2, 3 (the registers do not hold four rows' addressing).
      const std::int8_t* x01 = x;
      const std::int8_t* w01 = w;
      dot2_steps(x01, w01, n / 8, Stride, offset_pair, a0, a1);
      const std::int8_t* w23 = w + 2 * Stride;
      dot2_steps(x, w23, n / 8, Stride, offset_pair, a2, a3);
      w = w01;
    }
  }
  // The last n % 8 inputs, one at a time.
  for (std::size_t i = 0; i < n % 8; ++i) {
    const std::int32_t value = std::int32_t{x[i]} + offset;
    a0 += std::int32_t{w[i]} * value;
    a1 += std::int32_t{w[i + Stride]} * value;
    a2 += std::int32_t{w[i + 2 * Stride]} * value;
    a3 += std::int32_t{w[i + 3 * Stride]} * value;
  }
  return {a0, a1, a2, a3};
}

// acc + sum_{i < n} w[i] * (x[i] + offset).
inline std::int32_t dot1(const std::int8_t* x, const std::int8_t* w, std::size_t n,
                         std::int32_t offset, std::int32_t acc) noexcept {
  const std::int32_t offset_pair = dsp::splat_pair(offset);
  if (n >= 8) {
    dot1_steps(x, w, n / 8, offset_pair, acc);
  }
  for (std::size_t i = 0; i < n % 8; ++i) {
    acc += std::int32_t{w[i]} * (std::int32_t{x[i]} + offset);
  }
  return acc;
}

}  // namespace microtl::kernels::arm::detail

#undef MICROTL_ARM_DOT4_ROW
#undef MICROTL_ARM_DOT4_INPUT
#undef MICROTL_ARM_DOT4_STEP_IMM
#undef MICROTL_ARM_DOT2_STEP
#undef MICROTL_ARM_TWO_STEPS_LOOP
