// The float inner loops of a dense layer for Cortex-M cores with a single-precision FPU
// (FPv4-SP: Cortex-M4F; FPv5: Cortex-M7, M33, M55), eight columns of four rows per pass.
//
// Why assembly: the FPU loads and stores up to 32 registers with one VLDM / VSTM, and GCC
// does not merge the loads of a row into one. Eight columns of four rows then take
//   1 VLDM of x, 4 VLDM of the rows, 32 VFMA                       (dot4: 1.2 per MAC)
// where one VLDR per operand costs 2 instructions per MAC, or more. (VLDM of n registers
// takes 1 + n cycles: fewer instructions, about as many cycles.)
//
// The arithmetic is kernels/portable/float_linear.hpp's, operation for operation: one fused
// multiply-add chain per output, in the order of the columns (VFMA and VFMS round once, as
// std::fma does). The tests compare the two bit for bit on the Cortex-M targets.
//
// Contract of each kernel (the caller, kernels/float_linear.hpp, guarantees it):
//   chunks >= 1 (eight columns each); the rows and x hold 8 * chunks floats each; the rows
//   and the destination do not overlap x.
#pragma once

#include <cstddef>

#if defined(__ARM_FP) && (__ARM_FP & 4) && defined(__thumb2__)
#define MICROTL_ARM_FLOAT_KERNELS 1
#else
#define MICROTL_ARM_FLOAT_KERNELS 0
#endif

#if MICROTL_ARM_FLOAT_KERNELS

// Eight lines "OP sD, sA, sB" for registers D..D+7 (or D fixed), A.., B.. (text only).
#define MICROTL_F8(OP, D0, D1, D2, D3, D4, D5, D6, D7, A0, A1, A2, A3, A4, A5, A6, A7, B0, B1, B2, \
                   B3, B4, B5, B6, B7)                                                             \
  OP " s" #D0 ", s" #A0 ", s" #B0 "\n\t" OP " s" #D1 ", s" #A1 ", s" #B1 "\n\t" OP " s" #D2        \
     ", s" #A2 ", s" #B2 "\n\t" OP " s" #D3 ", s" #A3 ", s" #B3 "\n\t" OP " s" #D4 ", s" #A4       \
     ", s" #B4 "\n\t" OP " s" #D5 ", s" #A5 ", s" #B5 "\n\t" OP " s" #D6 ", s" #A6 ", s" #B6       \
     "\n\t" OP " s" #D7 ", s" #A7 ", s" #B7 "\n\t"
// acc sD += x (s8..s15) * row (sW..sW+7), in column order.
#define MICROTL_DOT8(D, W0, W1, W2, W3, W4, W5, W6, W7)                                            \
  MICROTL_F8("vfma.f32", D, D, D, D, D, D, D, D, 8, 9, 10, 11, 12, 13, 14, 15, W0, W1, W2, W3, W4, \
             W5, W6, W7)
// row (sR..sR+7) OP= step sS * x (s8..s15).
#define MICROTL_SCALE8(OP, S, R0, R1, R2, R3, R4, R5, R6, R7)                                      \
  MICROTL_F8(OP, R0, R1, R2, R3, R4, R5, R6, R7, S, S, S, S, S, S, S, S, 8, 9, 10, 11, 12, 13, 14, \
             15)
// out (s8..s15) += row (sW..sW+7) * sG.
#define MICROTL_AXPY8(W0, W1, W2, W3, W4, W5, W6, W7, G)                                           \
  MICROTL_F8("vfma.f32", 8, 9, 10, 11, 12, 13, 14, 15, W0, W1, W2, W3, W4, W5, W6, W7, G, G, G, G, \
             G, G, G, G)
#define MICROTL_FLOAT_CLOBBERS                                                                   \
  "s0", "s1", "s2", "s3", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17",    \
      "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", \
      "s31", "memory", "cc"

namespace microtl::kernels::arm {

// acc[r] = fma chain of acc[r] + row_r[i] * x[i] over i < 8 * chunks, for the four rows.
inline void dot4_f32(float* acc, const float* x, const float* row0, const float* row1,
                     const float* row2, const float* row3, std::size_t chunks) noexcept {
  asm volatile(
      "vldmia %[acc], {s0-s3}\n\t"
      "1:\n\t"
      "vldmia %[x]!, {s8-s15}\n\t"
      "vldmia %[r0]!, {s16-s23}\n\t"                   //
      MICROTL_DOT8(0, 16, 17, 18, 19, 20, 21, 22, 23)  //
      "vldmia %[r1]!, {s24-s31}\n\t"                   //
      MICROTL_DOT8(1, 24, 25, 26, 27, 28, 29, 30, 31)  //
      "vldmia %[r2]!, {s16-s23}\n\t"                   //
      MICROTL_DOT8(2, 16, 17, 18, 19, 20, 21, 22, 23)  //
      "vldmia %[r3]!, {s24-s31}\n\t"                   //
      MICROTL_DOT8(3, 24, 25, 26, 27, 28, 29, 30, 31)  //
      "subs %[n], %[n], #1\n\t"
      "bne 1b\n\t"
      "vstmia %[acc], {s0-s3}\n\t"
      : [x] "+r"(x), [r0] "+r"(row0), [r1] "+r"(row1), [r2] "+r"(row2), [r3] "+r"(row3),
        [n] "+r"(chunks)
      : [acc] "r"(acc)
      : MICROTL_FLOAT_CLOBBERS);
}

// out[i] = fma chain of out[i] + row_r[i] * g[r] over r = 0..3 (in that order), i < 8 * chunks.
inline void axpy4_f32(float* out, const float* g, const float* row0, const float* row1,
                      const float* row2, const float* row3, std::size_t chunks) noexcept {
  asm volatile(
      "vldmia %[g], {s0-s3}\n\t"
      "1:\n\t"
      "vldmia %[out], {s8-s15}\n\t"
      "vldmia %[r0]!, {s16-s23}\n\t"                    //
      MICROTL_AXPY8(16, 17, 18, 19, 20, 21, 22, 23, 0)  //
      "vldmia %[r1]!, {s24-s31}\n\t"                    //
      MICROTL_AXPY8(24, 25, 26, 27, 28, 29, 30, 31, 1)  //
      "vldmia %[r2]!, {s16-s23}\n\t"                    //
      MICROTL_AXPY8(16, 17, 18, 19, 20, 21, 22, 23, 2)  //
      "vldmia %[r3]!, {s24-s31}\n\t"                    //
      MICROTL_AXPY8(24, 25, 26, 27, 28, 29, 30, 31, 3)  //
      "vstmia %[out]!, {s8-s15}\n\t"
      "subs %[n], %[n], #1\n\t"
      "bne 1b\n\t"
      : [out] "+r"(out), [r0] "+r"(row0), [r1] "+r"(row1), [r2] "+r"(row2), [r3] "+r"(row3),
        [n] "+r"(chunks)
      : [g] "r"(g)
      : MICROTL_FLOAT_CLOBBERS);
}

// What update4_f32 does to each row value v with its row's step s and the column's x:
//   set         v = s * x             (VMUL: the row is not read)
//   add         v = fma(s, x, v)      (VFMA)
//   subtract    v = fma(-s, x, v)     (VFMS)
enum class RowUpdate { set, add, subtract };

// row_r[i] (op)= step[r] * x[i] for the four rows, i < 8 * chunks.
template <RowUpdate Op>
inline void update4_f32(float* row0, float* row1, float* row2, float* row3, const float* step,
                        const float* x, std::size_t chunks) noexcept {
#define MICROTL_UPDATE_LOOP(LOAD0, LOAD1, LOAD2, LOAD3, OP) \
  "vldmia %[step], {s0-s3}\n\t"                                                            \
  "1:\n\t"                                                                                 \
  "vldmia %[x]!, {s8-s15}\n\t" LOAD0 MICROTL_SCALE8(OP, 0, 16, 17, 18, 19, 20, 21, 22, 23) \
      "vstmia %[r0]!, {s16-s23}\n\t" LOAD1                                                 \
          MICROTL_SCALE8(OP, 1, 24, 25, 26, 27, 28, 29, 30, 31) "vstmia %[r1]!, {s24-s31}\n\t" \
              LOAD2 MICROTL_SCALE8(OP, 2, 16, 17, 18, 19, 20, 21, 22, 23)                    \
                  "vstmia %[r2]!, {s16-s23}\n\t" LOAD3                                     \
                      MICROTL_SCALE8(OP, 3, 24, 25, 26, 27, 28, 29, 30, 31)                  \
                          "vstmia %[r3]!, {s24-s31}\n\t"                                   \
                          "subs %[n], %[n], #1\n\t"                                        \
                          "bne 1b\n\t"
#define MICROTL_UPDATE_OPERANDS                                                      \
  : [x] "+r"(x), [r0] "+r"(row0), [r1] "+r"(row1), [r2] "+r"(row2), [r3] "+r"(row3),           \
    [n] "+r"(chunks)                                                                           \
  : [step] "r"(step)                                                                           \
  : MICROTL_FLOAT_CLOBBERS
  if constexpr (Op == RowUpdate::set) {
    asm volatile(MICROTL_UPDATE_LOOP("", "", "", "", "vmul.f32") MICROTL_UPDATE_OPERANDS);
  } else {
    constexpr bool add = Op == RowUpdate::add;
    if constexpr (add) {
      asm volatile(MICROTL_UPDATE_LOOP("vldmia %[r0], {s16-s23}\n\t", "vldmia %[r1], {s24-s31}\n\t",
                                       "vldmia %[r2], {s16-s23}\n\t", "vldmia %[r3], {s24-s31}\n\t",
                                       "vfma.f32") MICROTL_UPDATE_OPERANDS);
    } else {
      asm volatile(MICROTL_UPDATE_LOOP("vldmia %[r0], {s16-s23}\n\t", "vldmia %[r1], {s24-s31}\n\t",
                                       "vldmia %[r2], {s16-s23}\n\t", "vldmia %[r3], {s24-s31}\n\t",
                                       "vfms.f32") MICROTL_UPDATE_OPERANDS);
    }
  }
#undef MICROTL_UPDATE_LOOP
#undef MICROTL_UPDATE_OPERANDS
}

}  // namespace microtl::kernels::arm

#endif  // MICROTL_ARM_FLOAT_KERNELS
