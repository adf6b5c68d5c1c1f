// The float inner loops of a dense layer for Cortex-M cores with Helium floating point (MVE-F:
// Cortex-M55, M85): four float lanes per instruction, in place of the scalar FPU's VLDM/VFMA
// loops of kernels/arm/float_linear.hpp. kernels/float_linear.hpp calls them (when
// MICROTL_USE_MVE_FLOAT_KERNELS, config.hpp).
//
// The arithmetic is kernels/float_linear.hpp's, operation for operation: each output is one
// fused multiply-add chain in the same order (VFMA rounds once, as std::fma does), so the lanes
// are chosen where the chain allows them:
//
//   dot4     acc[k] = fma chain over i ascending of W[o+k][i] x[i]       (forward pass)
//            lanes = four outputs (rows o..o+3); the four weights of column i are strided
//            (In floats apart), so one gather load fetches them and its writeback moves the four
//            addresses on to column i+1; x[i] is the scalar operand of VFMA (Qd += Qn * Rm):
//            per column 1 gather + 1 VFMA for 4 MACs, x read four columns per LDM.
//   axpy4    out[i] = fma chain over r = 0..3 of row_r[i] g[r]           (input gradient)
//            lanes = four columns i: the rows are contiguous; per four columns 1 load and
//            1 store of out, 4 loads of the rows and 4 VFMA by g[r] (16 MACs in 10).
//   update4  row_r[i] (op)= s[r] x[i]                                     (outer product)
//            lanes = four columns: 1 load of x shared by the four rows, then per row 1 load,
//            1 VFMA (add; subtract with -s[r]: VFMS has no scalar form, and fma(-s, x, v) is
//            v - s x rounded once, what the portable code computes) or VMUL (set), 1 store.
//
// One difference from the scalar FPU that the kernels cannot undo: MVE floating-point
// instructions compute with the architecture's standard FPSCR value, not the FPSCR
// (Armv8.1-M; QEMU models it): subnormal inputs and results are flushed to zero and a NaN
// result is the default NaN. So the kernels match the scalar ones bit for bit whenever no
// operand or result is subnormal (|v| < 2^-126, not zero) and no NaN arises: what training
// produces unless values underflow (a gradient below 1e-38). tests/kernels/test_float_linear.cpp
// compares them with the portable arithmetic on the Cortex-M55, and shows the flush.
//
// Contract of each kernel (the caller, kernels/float_linear.hpp, guarantees it): n >= 1
// columns; the rows, x and out hold n floats each; the rows and the destination do not
// overlap x (update4 rows may not overlap each other).
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/config.hpp"

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

// out[i] = fma chain of out[i] + row_r[i] g[r] over r = 0..Rows-1 (in that order), i < n.
template <std::size_t Rows>
inline void axpy_f32(float* out, const float* const* rows, const float* g, std::size_t n) noexcept {
  static_assert(Rows >= 1 && Rows <= 4, "one to four rows");
  const float* r0 = rows[0];
  const float* r1 = Rows > 1 ? rows[1] : r0;
  const float* r2 = Rows > 2 ? rows[2] : r0;
  const float* r3 = Rows > 3 ? rows[3] : r0;
  const float g0 = g[0];
  const float g1 = Rows > 1 ? g[1] : 0.0f;
  const float g2 = Rows > 2 ? g[2] : 0.0f;
  const float g3 = Rows > 3 ? g[3] : 0.0f;
  const auto chain = [&](float32x4_t v, std::size_t i, auto load) {
    v = vfmaq_n_f32(v, load(r0 + i), g0);
    if constexpr (Rows > 1) {
      v = vfmaq_n_f32(v, load(r1 + i), g1);
    }
    if constexpr (Rows > 2) {
      v = vfmaq_n_f32(v, load(r2 + i), g2);
    }
    if constexpr (Rows > 3) {
      v = vfmaq_n_f32(v, load(r3 + i), g3);
    }
    return v;
  };
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vst1q_f32(out + i, chain(vld1q_f32(out + i), i, [](const float* p) { return vld1q_f32(p); }));
  }
  if (i < n) {
    // The last n % 4 columns: predicated (lanes past n neither read nor written).
    const mve_pred16_t p = vctp32q(static_cast<std::uint32_t>(n - i));
    const auto load = [p](const float* q) { return vldrwq_z_f32(q, p); };
    vstrwq_p_f32(out + i, chain(load(out + i), i, load), p);
  }
}

// What update_f32 does to each row value v with its row's step s and the column's x:
//   set v = s x (VMUL: the row is not read);  add v = fma(s, x, v);  subtract v = fma(-s, x, v).
enum class RowUpdate { set, add, subtract };

// row_r[i] (op)= step[r] x[i] for r < Rows, i < n.
template <RowUpdate Op, std::size_t Rows>
inline void update_f32(float* const* rows, const float* step, const float* x,
                       std::size_t n) noexcept {
  static_assert(Rows >= 1 && Rows <= 4, "one to four rows");
  float* r0 = rows[0];
  float* r1 = Rows > 1 ? rows[1] : r0;
  float* r2 = Rows > 2 ? rows[2] : r0;
  float* r3 = Rows > 3 ? rows[3] : r0;
  const auto signed_step = [step](std::size_t r) {
    return Op == RowUpdate::subtract ? -step[r] : step[r];
  };
  const float s0 = signed_step(0);
  const float s1 = Rows > 1 ? signed_step(1) : 0.0f;
  const float s2 = Rows > 2 ? signed_step(2) : 0.0f;
  const float s3 = Rows > 3 ? signed_step(3) : 0.0f;
  const auto one = [](float* row, float s, float32x4_t xv, auto load, auto store) {
    if constexpr (Op == RowUpdate::set) {
      store(row, vmulq_n_f32(xv, s));
    } else {
      store(row, vfmaq_n_f32(load(row), xv, s));
    }
  };
  const auto pass = [&](std::size_t i, auto load, auto store) {
    const float32x4_t xv = load(x + i);
    one(r0 + i, s0, xv, load, store);
    if constexpr (Rows > 1) {
      one(r1 + i, s1, xv, load, store);
    }
    if constexpr (Rows > 2) {
      one(r2 + i, s2, xv, load, store);
    }
    if constexpr (Rows > 3) {
      one(r3 + i, s3, xv, load, store);
    }
  };
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    pass(
        i, [](const float* q) { return vld1q_f32(q); },
        [](float* q, float32x4_t v) { vst1q_f32(q, v); });
  }
  if (i < n) {
    const mve_pred16_t p = vctp32q(static_cast<std::uint32_t>(n - i));
    pass(
        i, [p](const float* q) { return vldrwq_z_f32(q, p); },
        [p](float* q, float32x4_t v) { vstrwq_p_f32(q, v, p); });
  }
}

}  // namespace microtl::kernels::mve

#endif  // MICROTL_USE_MVE_FLOAT_KERNELS
