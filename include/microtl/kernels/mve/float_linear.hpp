// The float inner loops of a dense layer for Cortex-M cores with Helium floating point (MVE-F:
// Cortex-M55, M85): four float lanes per instruction, in place of the scalar FPU's VLDM/VFMA
// loops of kernels/arm/float_linear.hpp. kernels/float_linear.hpp calls them (when
// MICROTL_USE_MVE_FLOAT_KERNELS, config.hpp).
//
// The arithmetic is kernels/float_linear.hpp's, operation for operation: each output is one
// fused multiply-add chain in the same order (VFMA rounds once, as std::fma does), so the lanes
// are chosen where the chain allows them:
//
//   dot4_f32    acc[k] = fma chain over i ascending of W[o+k][i] x[i]     (forward pass)
//               lanes = four outputs (rows o..o+3); the four weights of column i are strided
//               (In floats apart), so one gather load fetches them and its writeback moves the
//               four addresses on to column i+1; x[i] is the scalar operand of VFMA
//               (Qd += Qn * Rm): per four columns 2 LDRD, 4 gathers, 4 VFMA and LE, 11 for
//               16 MACs.
//   axpy_f32    out[i] = fma chain over r = 0..3 of row_r[i] g[r]         (input gradient)
//               lanes = four columns i: the rows are contiguous; per four columns 1 load and
//               1 store of out, 4 loads of the rows, 4 VFMA by g[r] and LE: 11 for 16 MACs.
//   update_f32  row_r[i] (op)= s[r] x[i]                                   (outer product)
//               lanes = four columns: 1 load of x shared by the four rows, then per row 1
//               load, 1 VFMA (add; subtract with -s[r]: VFMS has no scalar form, and
//               fma(-s, x, v) is v - s x rounded once, what the portable code computes) or VMUL
//               (set, no load), 1 store: 14 for 16 values (set 10).
// The loops are asm (as the int8 kernels' are): given the intrinsics, GCC 12 recomputes every
// row's address per pass and spills the steps, and its gather-with-writeback intrinsic emits two
// gathers. Tails (N % 4 columns) are predicated intrinsics (VCTP); a last block of fewer than
// four outputs repeats its last row in the spare lanes.
//
// One difference from the scalar FPU that the kernels cannot undo: MVE floating-point
// instructions compute with the architecture's standard FPSCR value, not the FPSCR
// (Armv8.1-M; QEMU models it): subnormal inputs and results are flushed to zero and a NaN
// result is the default NaN. So the kernels match the scalar ones bit for bit whenever no
// operand or result is subnormal (|v| < 2^-126, not zero) and no NaN arises: what training
// produces unless values underflow (a gradient below 1e-38). tests/kernels/test_float_linear.cpp
// compares them with the portable arithmetic on the Cortex-M55, and shows the flush.
//
// Contract of each kernel (the caller, kernels/float_linear.hpp, guarantees it): N >= 1
// columns; the rows, x and out hold N floats each, 4-byte aligned; the rows and the destination
// do not overlap x, and the update's rows do not overlap each other.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/config.hpp"
#include "microtl/quant/activation.hpp"

#if MICROTL_USE_MVE_FLOAT_KERNELS

#include <arm_mve.h>

namespace microtl::kernels::mve {

namespace detail {

// One column: acc[k] += W[o+k][i] x  (the gather adds 4 to each address, then loads).
inline float32x4_t dot4_column(float32x4_t acc, uint32x4_t& addresses, float x) noexcept {
  __asm(
      "vldrw.u32 q0, [%q[a], #4]!\n\t"
      "vfma.f32  %q[acc], q0, %[x]"
      : [acc] "+w"(acc), [a] "+w"(addresses)
      : [x] "r"(x)
      : "q0", "memory");
  return acc;
}

// `steps` (>= 1) steps of four columns: one asm loop of 11 instructions (2 LDRD for the four x,
// 4 gathers, 4 VFMA, LE) for 16 MACs. Why asm: GCC 12's intrinsic for the gather with writeback
// (vldrwq_gather_base_wb_f32) compiles to two gathers, and does not compile at all where its
// offset is a parameter of an inline function.
inline float32x4_t dot4_steps(float32x4_t acc, const float*& x, uint32x4_t& addresses,
                              std::size_t steps) noexcept {
  register std::size_t count asm("lr") = steps;
  std::uint32_t x0 = 0;
  std::uint32_t x1 = 0;
  std::uint32_t x2 = 0;
  std::uint32_t x3 = 0;
  // clang-format off
  __asm(
      "dls       lr, lr\n"
      "1:\n\t"
      "ldrd      %[x2], %[x3], [%[x], #8]\n\t"
      "ldrd      %[x0], %[x1], [%[x]], #16\n\t"
      "vldrw.u32 q0, [%q[a], #4]!\n\t"
      "vfma.f32  %q[acc], q0, %[x0]\n\t"
      "vldrw.u32 q1, [%q[a], #4]!\n\t"
      "vfma.f32  %q[acc], q1, %[x1]\n\t"
      "vldrw.u32 q0, [%q[a], #4]!\n\t"
      "vfma.f32  %q[acc], q0, %[x2]\n\t"
      "vldrw.u32 q1, [%q[a], #4]!\n\t"
      "vfma.f32  %q[acc], q1, %[x3]\n\t"
      "le        lr, 1b"
      : [acc] "+w"(acc), [a] "+w"(addresses), [x] "+r"(x), [x0] "=&r"(x0), [x1] "=&r"(x1),
        [x2] "=&r"(x2), [x3] "=&r"(x3), "+r"(count)
      :
      : "q0", "q1", "memory");
  // clang-format on
  return acc;
}

}  // namespace detail

// acc[k] = fma chain of acc[k] + W[o+k][i] x[i] over i < N, for the four rows whose addresses
// are the lanes of `rows` (a row may repeat: the caller keeps the lanes it needs, and every
// address read stays inside the matrix).
template <std::size_t N>
inline float32x4_t dot4_f32(float32x4_t acc, const float* x, uint32x4_t rows) noexcept {
  // Less 4 bytes: the gather's writeback adds 4 to each address before it loads.
  uint32x4_t addresses = vsubq_n_u32(rows, 4u);
  if constexpr (N >= 4) {
    acc = detail::dot4_steps(acc, x, addresses, N / 4);
  }
  for (std::size_t i = 0; i < N % 4; ++i) {
    acc = detail::dot4_column(acc, addresses, x[i]);
  }
  return acc;
}

// quant::apply_activation on each lane: x > 0 ? x : 0 (NaN and -0 give +0), then x > 6 ? 6 : x
// for ReLU6. (Exact: a lane that VFMA computed is never subnormal.)
inline float32x4_t activation_f32(float32x4_t v, quant::Activation activation) noexcept {
  if (activation == quant::Activation::none) {
    return v;
  }
  v = vpselq_f32(v, vdupq_n_f32(0.0f), vcmpgtq_n_f32(v, 0.0f));
  if (activation == quant::Activation::relu6) {
    v = vpselq_f32(vdupq_n_f32(6.0f), v, vcmpgtq_n_f32(v, 6.0f));
  }
  return v;
}

// What update_f32 does to each row value v with its row's step s and the column's x:
//   set v = s x (VMUL: the row is not read);  add v = fma(s, x, v);  subtract v = fma(-s, x, v).
enum class RowUpdate { set, add, subtract };

namespace detail {

// clang-format off
// The asm loops below, for one to four rows (Rows): the text of rows 0..Rows-1 from ROW(r, Q),
// alternating two vector registers so that a row's load can overlap the previous row's
// arithmetic on a dual-beat core.
#define MICROTL_MVE_ROWS_1(ROW) ROW("0", "q1")
#define MICROTL_MVE_ROWS_2(ROW) MICROTL_MVE_ROWS_1(ROW) ROW("1", "q2")
#define MICROTL_MVE_ROWS_3(ROW) MICROTL_MVE_ROWS_2(ROW) ROW("2", "q1")
#define MICROTL_MVE_ROWS_4(ROW) MICROTL_MVE_ROWS_3(ROW) ROW("3", "q2")
// out (q0) += row r (four columns) * g[r].
#define MICROTL_MVE_AXPY_ROW(R, Q)            \
  "vldrw.u32 " Q ", [%[r" R "]], #16\n\t" \
  "vfma.f32  q0, " Q ", %[g" R "]\n\t"
// row r (four columns) = x (q0) * s[r], or += x * s[r] (s already negated for subtract).
#define MICROTL_MVE_SET_ROW(R, Q)      \
  "vmul.f32  " Q ", q0, %[s" R "]\n\t" \
  "vstrw.32  " Q ", [%[r" R "]], #16\n\t"
#define MICROTL_MVE_FMA_ROW(R, Q)       \
  "vldrw.u32 " Q ", [%[r" R "]]\n\t"    \
  "vfma.f32  " Q ", q0, %[s" R "]\n\t"  \
  "vstrw.32  " Q ", [%[r" R "]], #16\n\t"
// clang-format on

// `steps` (>= 1) steps of four columns of out[i] = chain over the rows of row_r[i] g[r]:
// 2 + 2 Rows instructions and LE (four rows: 11 for 16 MACs). The row pointers and out move on.
template <std::size_t Rows>
inline void axpy_steps(float*& out, const float** r, const float* g, std::size_t steps) noexcept {
  register std::size_t count asm("lr") = steps;
  const float* r0 = r[0];
  const float* r1 = r[Rows > 1 ? 1 : 0];
  const float* r2 = r[Rows > 2 ? 2 : 0];
  const float* r3 = r[Rows > 3 ? 3 : 0];
  const float g0 = g[0];
  const float g1 = g[Rows > 1 ? 1 : 0];
  const float g2 = g[Rows > 2 ? 2 : 0];
  const float g3 = g[Rows > 3 ? 3 : 0];
  // clang-format off
#define MICROTL_MVE_AXPY_LOOP(ROWS)                                                      \
  __asm volatile(                                                                        \
      "dls       lr, lr\n"                                                               \
      "1:\n\t"                                                                           \
      "vldrw.u32 q0, [%[out]]\n\t"                                                       \
      ROWS(MICROTL_MVE_AXPY_ROW)                                                         \
      "vstrw.32  q0, [%[out]], #16\n\t"                                                  \
      "le        lr, 1b"                                                                 \
      : [out] "+r"(out), [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [r3] "+r"(r3),     \
        "+r"(count)                                                                      \
      : [g0] "r"(g0), [g1] "r"(g1), [g2] "r"(g2), [g3] "r"(g3)                           \
      : "q0", "q1", "q2", "memory")
  // clang-format on
  if constexpr (Rows == 1) {
    MICROTL_MVE_AXPY_LOOP(MICROTL_MVE_ROWS_1);
  } else if constexpr (Rows == 2) {
    MICROTL_MVE_AXPY_LOOP(MICROTL_MVE_ROWS_2);
  } else if constexpr (Rows == 3) {
    MICROTL_MVE_AXPY_LOOP(MICROTL_MVE_ROWS_3);
  } else {
    MICROTL_MVE_AXPY_LOOP(MICROTL_MVE_ROWS_4);
  }
#undef MICROTL_MVE_AXPY_LOOP
  r[0] = r0;
  r[Rows > 1 ? 1 : 0] = Rows > 1 ? r1 : r0;
  r[Rows > 2 ? 2 : 0] = Rows > 2 ? r2 : r0;
  r[Rows > 3 ? 3 : 0] = Rows > 3 ? r3 : r0;
}

// `steps` (>= 1) steps of four columns of row_r[i] (op)= s[r] x[i], s[r] already negated for
// subtract: 1 + 3 Rows instructions (set: 1 + 2 Rows) and LE (four rows: 14 for 16 values).
template <RowUpdate Op, std::size_t Rows>
inline void update_steps(float** r, const float* s, const float*& x, std::size_t steps) noexcept {
  register std::size_t count asm("lr") = steps;
  float* r0 = r[0];
  float* r1 = r[Rows > 1 ? 1 : 0];
  float* r2 = r[Rows > 2 ? 2 : 0];
  float* r3 = r[Rows > 3 ? 3 : 0];
  const float s0 = s[0];
  const float s1 = s[Rows > 1 ? 1 : 0];
  const float s2 = s[Rows > 2 ? 2 : 0];
  const float s3 = s[Rows > 3 ? 3 : 0];
#define MICROTL_MVE_UPDATE_LOOP(ROWS, ROW)                                                   \
  __asm volatile(                                                                            \
      "dls       lr, lr\n"                                                                   \
      "1:\n\t"                                                                               \
      "vldrw.u32 q0, [%[x]], #16\n\t" ROWS(ROW) "le        lr, 1b"                           \
      : [x] "+r"(x), [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [r3] "+r"(r3), "+r"(count) \
      : [s0] "r"(s0), [s1] "r"(s1), [s2] "r"(s2), [s3] "r"(s3)                               \
      : "q0", "q1", "q2", "memory")
#define MICROTL_MVE_UPDATE_ROWS(ROW)                  \
  if constexpr (Rows == 1) {                          \
    MICROTL_MVE_UPDATE_LOOP(MICROTL_MVE_ROWS_1, ROW); \
  } else if constexpr (Rows == 2) {                   \
    MICROTL_MVE_UPDATE_LOOP(MICROTL_MVE_ROWS_2, ROW); \
  } else if constexpr (Rows == 3) {                   \
    MICROTL_MVE_UPDATE_LOOP(MICROTL_MVE_ROWS_3, ROW); \
  } else {                                            \
    MICROTL_MVE_UPDATE_LOOP(MICROTL_MVE_ROWS_4, ROW); \
  }
  if constexpr (Op == RowUpdate::set) {
    MICROTL_MVE_UPDATE_ROWS(MICROTL_MVE_SET_ROW)
  } else {
    MICROTL_MVE_UPDATE_ROWS(MICROTL_MVE_FMA_ROW)
  }
#undef MICROTL_MVE_UPDATE_ROWS
#undef MICROTL_MVE_UPDATE_LOOP
  r[0] = r0;
  r[Rows > 1 ? 1 : 0] = Rows > 1 ? r1 : r0;
  r[Rows > 2 ? 2 : 0] = Rows > 2 ? r2 : r0;
  r[Rows > 3 ? 3 : 0] = Rows > 3 ? r3 : r0;
}

#undef MICROTL_MVE_ROWS_1
#undef MICROTL_MVE_ROWS_2
#undef MICROTL_MVE_ROWS_3
#undef MICROTL_MVE_ROWS_4
#undef MICROTL_MVE_AXPY_ROW
#undef MICROTL_MVE_SET_ROW
#undef MICROTL_MVE_FMA_ROW

}  // namespace detail

// out[i] = fma chain of out[i] + row_r[i] g[r] over r = 0..Rows-1 (in that order), i < N.
template <std::size_t N, std::size_t Rows>
inline void axpy_f32(float* out, const float* const* rows, const float* g) noexcept {
  static_assert(Rows >= 1 && Rows <= 4, "one to four rows");
  const float* r[Rows];
  for (std::size_t k = 0; k < Rows; ++k) {
    r[k] = rows[k];
  }
  if constexpr (N >= 4) {
    detail::axpy_steps<Rows>(out, r, g, N / 4);
  }
  if constexpr (N % 4 != 0) {
    // The last N % 4 columns, predicated (lanes past N neither read nor written).
    const mve_pred16_t p = vctp32q(N % 4);
    float32x4_t v = vldrwq_z_f32(out, p);
    for (std::size_t k = 0; k < Rows; ++k) {
      v = vfmaq_n_f32(v, vldrwq_z_f32(r[k], p), g[k]);
    }
    vstrwq_p_f32(out, v, p);
  }
}

// row_r[i] (op)= step[r] x[i] for r < Rows, i < N.
template <RowUpdate Op, std::size_t N, std::size_t Rows>
inline void update_f32(float* const* rows, const float* step, const float* x) noexcept {
  static_assert(Rows >= 1 && Rows <= 4, "one to four rows");
  float* r[Rows];
  float s[Rows];
  for (std::size_t k = 0; k < Rows; ++k) {
    r[k] = rows[k];
    // fma(-s, x, v) is the portable subtract's v - s x, rounded once.
    s[k] = Op == RowUpdate::subtract ? -step[k] : step[k];
  }
  if constexpr (N >= 4) {
    detail::update_steps<Op, Rows>(r, s, x, N / 4);
  }
  if constexpr (N % 4 != 0) {
    const mve_pred16_t p = vctp32q(N % 4);
    const float32x4_t xv = vldrwq_z_f32(x, p);
    for (std::size_t k = 0; k < Rows; ++k) {
      if constexpr (Op == RowUpdate::set) {
        vstrwq_p_f32(r[k], vmulq_n_f32(xv, s[k]), p);
      } else {
        vstrwq_p_f32(r[k], vfmaq_n_f32(vldrwq_z_f32(r[k], p), xv, s[k]), p);
      }
    }
  }
}

}  // namespace microtl::kernels::mve

#endif  // MICROTL_USE_MVE_FLOAT_KERNELS
