// The float loops of a dense layer (Dense's forward, its input gradient, and the outer
// product that makes, accumulates or applies its weight gradient):
//
//   fully_connected_f32     y[o]  = act(b[o] + sum_i W[o][i] x[i])
//   dense_input_grad_f32  dx[i] = sum_o W[o][i] g[o]
//   dense_outer_f32       T[o][i]  =  s[o] x[i]     (set)
//                         T[o][i] +=  s[o] x[i]     (add)
//                         T[o][i] -=  s[o] x[i]     (subtract)
//
// The arithmetic, the same on every target: each output is one multiply-add chain in a
// fixed order (forward: from b[o] over i ascending; input gradient: over o ascending), and
// each T[o][i] one multiply-add: fused_mac (kernels/float_math.hpp), fused where
// MICROTL_FUSED_MULTIPLY_ADD (by default where the target has a fused instruction),
// otherwise a multiply and an add. On cores with a single-precision FPU the loops are
// assembly (VFMA / VFMS, kernels/arm/float_linear.hpp, eight columns of four rows per pass);
// on cores with Helium floating point (Cortex-M55) they are vector loops of four lanes
// (kernels/mve/float_linear.hpp, MICROTL_USE_MVE_FLOAT_KERNELS), the same chains.
//
// A row whose g[o] (or s[o]) is zero adds nothing: the input gradient and the add / subtract
// updates skip it (after a ReLU, about half the rows of a hidden layer). Skipping is exact
// for finite x (v + 0 * x = v, but for the sign of a zero v).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/config.hpp"
#include "microtl/kernels/arm/float_linear.hpp"
#include "microtl/kernels/float_math.hpp"
#include "microtl/kernels/mve/float_linear.hpp"
#include "microtl/quant/activation.hpp"

static_assert(!MICROTL_USE_MVE_FLOAT_KERNELS || MICROTL_FUSED_MULTIPLY_ADD,
              "MICROTL_FUSED_MULTIPLY_ADD=0 with the Helium float kernels, which fuse every "
              "multiply-add");

namespace microtl::kernels {

enum class OuterOp { set, add, subtract };

namespace float_linear_detail {

// One row of dense_outer_f32, columns [from, n).
template <OuterOp Op>
inline void outer_row(float* row, float s, const float* x, std::size_t from,
                      std::size_t n) noexcept {
  for (std::size_t i = from; i < n; ++i) {
    if constexpr (Op == OuterOp::set) {
      row[i] = s * x[i];
    } else if constexpr (Op == OuterOp::add) {
      row[i] = fused_mac(row[i], s, x[i]);
    } else {
      row[i] = fused_mac(row[i], -s, x[i]);
    }
  }
}

// Rows gathered four at a time (those that are not skipped), then handed to the kernel.
template <OuterOp Op, std::size_t In>
struct OuterBatch {
#if MICROTL_USE_MVE_FLOAT_KERNELS
  static constexpr mve::RowUpdate mve_op() noexcept {
    return Op == OuterOp::set   ? mve::RowUpdate::set
           : Op == OuterOp::add ? mve::RowUpdate::add
                                : mve::RowUpdate::subtract;
  }
#endif
  std::array<float*, 4> rows{};
  std::array<float, 4> steps{};
  std::size_t count = 0;

  void add(float* row, float s, const float* x) noexcept {
    rows[count] = row;
    steps[count] = s;
    if (++count == 4) {
      flush4(x);
    }
  }
  void flush4(const float* x) noexcept {
#if MICROTL_USE_MVE_FLOAT_KERNELS
    mve::update_f32<mve_op(), In, 4>(rows.data(), steps.data(), x);
    count = 0;
#else
    std::size_t from = 0;
#if MICROTL_ARM_FLOAT_KERNELS
    constexpr std::size_t chunks = In / 8;
    if constexpr (chunks > 0) {
      constexpr auto op = Op == OuterOp::set   ? arm::RowUpdate::set
                          : Op == OuterOp::add ? arm::RowUpdate::add
                                               : arm::RowUpdate::subtract;
      arm::update4_f32<op>(rows[0], rows[1], rows[2], rows[3], steps.data(), x, chunks);
      from = 8 * chunks;
    }
#endif
    for (std::size_t r = 0; r < 4; ++r) {
      outer_row<Op>(rows[r], steps[r], x, from, In);
    }
    count = 0;
#endif
  }
  void finish(const float* x) noexcept {
#if MICROTL_USE_MVE_FLOAT_KERNELS
    // The last one to three rows, together (each row's values as flush4 computes them).
    if (count == 3) {
      mve::update_f32<mve_op(), In, 3>(rows.data(), steps.data(), x);
    } else if (count == 2) {
      mve::update_f32<mve_op(), In, 2>(rows.data(), steps.data(), x);
    } else if (count == 1) {
      mve::update_f32<mve_op(), In, 1>(rows.data(), steps.data(), x);
    }
    count = 0;
    return;
#endif
    for (std::size_t r = 0; r < count; ++r) {
      outer_row<Op>(rows[r], steps[r], x, 0, In);
    }
    count = 0;
  }
};

}  // namespace float_linear_detail

// y[o] = act(b[o] + sum_i W[o][i] x[i]); W row-major [Out][In].
template <std::size_t In, std::size_t Out>
void fully_connected_f32(std::span<const float, In> input, std::span<const float, In * Out> weights,
                         std::span<const float, Out> bias, std::span<float, Out> output,
                         quant::Activation activation) noexcept {
  static_assert(In >= 1 && Out >= 1, "extents must be at least 1");
  const float* x = input.data();
  const float* w = weights.data();
#if MICROTL_USE_MVE_FLOAT_KERNELS
  {
    // Four outputs per pass, one per lane (mve::dot4_f32), then the activation on the lanes;
    // the last Out % 4 in a pass whose spare lanes repeat the last row (read, computed, not
    // stored).
    const std::uint32_t base = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(w));
    constexpr std::uint32_t row_bytes = In * sizeof(float);
    uint32x4_t rows = vaddq_n_u32(vmulq_n_u32(vidupq_n_u32(0u, 1), row_bytes), base);
    for (std::size_t o = 0; o + 4 <= Out; o += 4) {
      const float32x4_t acc = mve::dot4_f32<In>(vld1q_f32(bias.data() + o), x, rows);
      vst1q_f32(output.data() + o, mve::activation_f32(acc, activation));
      rows = vaddq_n_u32(rows, 4 * row_bytes);
    }
    if constexpr (Out % 4 != 0) {
      constexpr std::size_t o = Out / 4 * 4;
      // Lanes past the last row: the last row again.
      rows = vminq_u32(rows, vdupq_n_u32(base + (Out - 1) * row_bytes));
      std::array<float, 4> b{};
      for (std::size_t k = 0; k < 4; ++k) {
        b[k] = bias[o + k < Out ? o + k : Out - 1];
      }
      const float32x4_t acc = mve::dot4_f32<In>(vld1q_f32(b.data()), x, rows);
      vstrwq_p_f32(output.data() + o, mve::activation_f32(acc, activation), vctp32q(Out % 4));
    }
    return;
  }
#endif
  constexpr std::size_t blocks = Out / 4;
  for (std::size_t block = 0; block < blocks; ++block) {
    const std::size_t o = 4 * block;
    std::array<float, 4> acc = {bias[o], bias[o + 1], bias[o + 2], bias[o + 3]};
    const float* row = w + o * In;
    std::size_t from = 0;
#if MICROTL_ARM_FLOAT_KERNELS
    constexpr std::size_t chunks = In / 8;
    if constexpr (chunks > 0) {
      arm::dot4_f32(acc.data(), x, row, row + In, row + 2 * In, row + 3 * In, chunks);
      from = 8 * chunks;
    }
#endif
    // Four chains side by side: each x[i] is read once for the four rows.
    for (std::size_t i = from; i < In; ++i) {
      const float xi = x[i];
      acc[0] = fused_mac(acc[0], row[i], xi);
      acc[1] = fused_mac(acc[1], row[In + i], xi);
      acc[2] = fused_mac(acc[2], row[2 * In + i], xi);
      acc[3] = fused_mac(acc[3], row[3 * In + i], xi);
    }
    for (std::size_t r = 0; r < 4; ++r) {
      output[o + r] = quant::apply_activation(acc[r], activation);
    }
  }
  for (std::size_t o = 4 * blocks; o < Out; ++o) {
    const float* row = w + o * In;
    float acc = bias[o];
    for (std::size_t i = 0; i < In; ++i) {
      acc = fused_mac(acc, row[i], x[i]);
    }
    output[o] = quant::apply_activation(acc, activation);
  }
}

// dx[i] = sum_o W[o][i] g[o], over the rows with g[o] != 0, o ascending.
template <std::size_t In, std::size_t Out>
void dense_input_grad_f32(std::span<const float, In * Out> weights, std::span<const float, Out> g,
                          std::span<float, In> dx) noexcept {
  for (float& v : dx) {
    v = 0.0f;
  }
  std::array<const float*, 4> rows{};
  std::array<float, 4> gains{};
  std::size_t count = 0;
  const auto rows_into_dx = [&](std::size_t from, std::size_t n) {
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t i = from; i < In; ++i) {
        dx[i] = fused_mac(dx[i], rows[r][i], gains[r]);
      }
    }
  };
  for (std::size_t o = 0; o < Out; ++o) {
    if (g[o] == 0.0f) {
      continue;
    }
    rows[count] = weights.data() + o * In;
    gains[count] = g[o];
    if (++count < 4) {
      continue;
    }
#if MICROTL_USE_MVE_FLOAT_KERNELS
    mve::axpy_f32<In, 4>(dx.data(), rows.data(), gains.data());
    count = 0;
    continue;
#endif
    std::size_t from = 0;
#if MICROTL_ARM_FLOAT_KERNELS
    if constexpr (In / 8 > 0) {
      arm::axpy4_f32(dx.data(), gains.data(), rows[0], rows[1], rows[2], rows[3], In / 8);
      from = 8 * (In / 8);
    }
#endif
    // Row by row over the columns the kernel left: the same order per dx[i].
    for (std::size_t i = from; i < In; ++i) {
      dx[i] = fused_mac(
          fused_mac(fused_mac(fused_mac(dx[i], rows[0][i], gains[0]), rows[1][i], gains[1]),
                    rows[2][i], gains[2]),
          rows[3][i], gains[3]);
    }
    count = 0;
  }
#if MICROTL_USE_MVE_FLOAT_KERNELS
  // The last one to three rows, in order (each dx[i]'s chain as above).
  if (count == 3) {
    mve::axpy_f32<In, 3>(dx.data(), rows.data(), gains.data());
  } else if (count == 2) {
    mve::axpy_f32<In, 2>(dx.data(), rows.data(), gains.data());
  } else if (count == 1) {
    mve::axpy_f32<In, 1>(dx.data(), rows.data(), gains.data());
  }
  return;
#endif
  rows_into_dx(0, count);
}

// T[o][...] (op)= s[o] x[...] for o < Out, with s[o] = step_of(o); add and subtract skip the
// rows whose s[o] is zero.
template <OuterOp Op, std::size_t In, std::size_t Out, class StepOf>
void dense_outer_f32(float* target, const float* x, StepOf&& step_of) noexcept {
  float_linear_detail::OuterBatch<Op, In> batch;
  for (std::size_t o = 0; o < Out; ++o) {
    const float s = step_of(o);
    if (Op != OuterOp::set && s == 0.0f) {
      continue;
    }
    batch.add(target + o * In, s, x);
  }
  batch.finish(x);
}

}  // namespace microtl::kernels
