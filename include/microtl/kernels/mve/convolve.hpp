// 2-D and 1-D convolution, int8, for Cortex-M cores with Helium (MVE, M55, M85): the same
// contracts as kernels::portable::convolve_s8 / convolve_1d_s8 (see
// kernels/portable/convolve.hpp for layouts, ranges and the padding rule) and the same output
// codes, bit for bit.
//
//   output[y][x][c] = requantize(bias[c] + sum over the taps inside the input and every input
//                     channel i of weights[c][ky][kx][i] * (input[iy][ix][i] + input_offset))
//
// How: per output position, the window's K = KH * KW * Cin input codes are copied into a
// column on the stack, in the filters' [ky][kx][i] order (whole rows of KW * Cin bytes with
// vector copies where the window is inside the input), a padded tap holding -input_offset
// (an int8 for every input_offset in [-127, 128]), so that
//
//   acc[c] = bias[c] + input_offset * sum_k weights[c][k] + sum_k weights[c][k] * column[k]
//
// is the portable kernel's sum: a padded tap adds w * (-offset + offset) = 0, a real one
// w * (x + offset). The first two terms are computed once per call (the weight sums: VADDVA).
// The dot products take four filters per pass (mve/dot.hpp: 64 MACs in 10 instructions, one
// predicated step for K % 16). One input channel with at most 16 taps (a grayscale image's
// first layer) takes mve/convolve_one_channel.hpp instead: the window as one gather load. The
// outputs are requantized four channels at a time (mve/requantize.hpp: 9 vector instructions) and
// stored with one VSTRB (predicated for Cout % 4). The integer sums are taken mod 2^32 and their
// total fits in int32 (the contract), so they are exact.
//
// Larger shapes (K > 1024 bytes of column, or more than 64 output channels: the stack tables)
// take the DSP kernel (arm/convolve.hpp), also exact.
//
// Scratch: none. Stack: the column (K bytes) and five tables of 4 * Cout bytes (at most 2,304
// bytes in all), saved registers.
#pragma once

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#endif

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/arm/convolve.hpp"
#include "microtl/kernels/mve/column.hpp"
#include "microtl/kernels/mve/convolve_one_channel.hpp"
#include "microtl/kernels/mve/dot.hpp"
#include "microtl/kernels/mve/requantize.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

namespace microtl::kernels::mve {

namespace detail {

inline constexpr std::size_t kMaxColumn = 1024;

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_columns(const std::int8_t* input, const std::int8_t* weights,
                      const std::int32_t* bias, std::int8_t* output,
                      const ConvParams<Cout>& params) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  constexpr std::size_t K = KH * KW * Cin;
  const std::int32_t offset = params.input_offset;
  ChannelTables<Cout> tables;
  for (std::size_t c = 0; c < Cout; ++c) {
    tables.set(c, wrapping_mac(bias[c], offset, sum_bytes<K>(weights + c * K)),
               params.multipliers[c]);
  }
  const OutputVectors out = OutputVectors::of(params.output_offset, params.activation);
  const int8x16_t pad = vdupq_n_s8(static_cast<std::int8_t>(-offset));
  alignas(16) std::int8_t column[K];
  alignas(16) std::int32_t acc[ChannelTables<Cout>::kLanes];
  std::int8_t* o = output;
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const WindowSpan rows = Rows::window(y);
    for (std::size_t x = 0; x < Cols::output; ++x, o += Cout) {
      window_column<W, Cin, KH, KW>(column, input, rows, Cols::window(x), pad);
      for (std::size_t c = 0; c < Cout / 4 * 4; c += 4) {
        const Dots<4> d = dot_rows4<K>(column, weights + c * K, K);
        acc[c] = d.dot[0];
        acc[c + 1] = d.dot[1];
        acc[c + 2] = d.dot[2];
        acc[c + 3] = d.dot[3];
      }
      for (std::size_t c = Cout / 4 * 4; c < Cout; ++c) {
        acc[c] = dot_row<K, false>(column, weights + c * K).dot[0];
      }
      tables.requantize_store(acc, o, out);
    }
  }
}

}  // namespace detail

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_s8(std::span<const std::int8_t, H * W * Cin> input,
                 std::span<const std::int8_t, Cout * KH * KW * Cin> weights,
                 std::span<const std::int32_t, Cout> bias,
                 std::span<std::int8_t, output_elements(H, W, KH, KW, Stride, Pad, Cout)> output,
                 const ConvParams<Cout>& params) noexcept {
  static_assert(Cin >= 1 && Cout >= 1, "channel counts must be at least 1");
  static_assert(KH * KW * Cin <= 66000, "the int32 accumulator could overflow");
  static_assert(WindowAxis<H, KH, Stride, Pad>::output >= 1);
  static_assert(WindowAxis<W, KW, Stride, Pad>::output >= 1);
  if constexpr (Cin == 1 && detail::kOneChannelGather<W, KH, KW> && Cout <= kMaxChannels) {
    detail::convolve_one_channel<H, W, Cout, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  } else if constexpr (KH * KW * Cin <= detail::kMaxColumn && Cout <= kMaxChannels) {
    detail::convolve_columns<H, W, Cin, Cout, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  } else {
    arm::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>(input, weights, bias, output, params);
  }
}

template <std::size_t Length, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          Padding Pad>
void convolve_1d_s8(std::span<const std::int8_t, Length * Cin> input,
                    std::span<const std::int8_t, Cout * K * Cin> weights,
                    std::span<const std::int32_t, Cout> bias,
                    std::span<std::int8_t, output_size(Length, K, Stride, Pad) * Cout> output,
                    const ConvParams<Cout>& params) noexcept {
  mve::convolve_s8<1, Length, Cin, Cout, 1, K, Stride, Pad>(input, weights, bias, output, params);
}

}  // namespace microtl::kernels::mve

#endif  // __ARM_FEATURE_MVE
