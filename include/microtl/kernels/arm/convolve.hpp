// 2-D and 1-D convolution, int8, for Cortex-M cores with the DSP extension (M4, M7, M33,
// M55): the same contracts as kernels::portable::convolve_s8 / convolve_1d_s8 (see
// kernels/portable/convolve.hpp for layouts, ranges and the padding rule) and the same output
// codes, bit for bit.
//
//   output[y][x][c] = requantize(bias[c] + sum over the taps inside the input and every input
//                     channel i of weights[c][ky][kx][i] * (input[iy][ix][i] + input_offset))
//
// Three paths, chosen at compile time, each in its header with its instruction counts:
//
//   one input channel, kernel of at most 3 x 3      arm/convolve_one_channel.hpp
//     (a grayscale image's first layer: the window's nine taps as five int16 pairs)
//   Cin % 4 == 0, at most 144 taps (KH * KW * Cin)   arm/convolve_prepared.hpp
//     (filters prepared as int16 pairs in a stack table: 16 MACs in 13 instructions)
//   every other shape                               arm/convolve_general.hpp
//     (dot products of the window's rows, the weights sign-extended on the fly)
//
// The first two requantize from doubled accumulators (arm/requantize_doubled.hpp), the third
// with arm/requantize.hpp; a channel whose multiplier or bias is outside the fast form's range
// (none in calibrated layers) is computed again afterwards by a plain exact loop
// (arm/convolve_exact.hpp).
//
// What the caller guarantees: the contract of kernels/portable/convolve.hpp (input_offset in
// [-127, 128], output_offset in [-128, 127], an activation range within [-128, 127], the
// accumulator within int32). The sums are the same integers whatever their order, so the
// outputs equal the portable kernel's. No read outside the tensors. Scratch: none. Stack: the
// paths' tables (one input channel: 288 bytes; prepared: 8 * KH * KW * Cin + 64 bytes, at
// most 1,216; general: up to 192), saved registers and spills.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/arm/convolve_general.hpp"
#include "microtl/kernels/arm/convolve_one_channel.hpp"
#include "microtl/kernels/arm/convolve_prepared.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

namespace microtl::kernels::arm {

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_s8(std::span<const std::int8_t, H * W * Cin> input,
                 std::span<const std::int8_t, Cout * KH * KW * Cin> weights,
                 std::span<const std::int32_t, Cout> bias,
                 std::span<std::int8_t, output_elements(H, W, KH, KW, Stride, Pad, Cout)> output,
                 const ConvParams<Cout>& params) noexcept {
  static_assert(Cin >= 1 && Cout >= 1, "channel counts must be at least 1");
  static_assert(KH * KW * Cin <= 66000, "the int32 accumulator could overflow");
  // WindowAxis checks the geometry (extents, stride, valid padding that fits).
  static_assert(WindowAxis<H, KH, Stride, Pad>::output >= 1);
  static_assert(WindowAxis<W, KW, Stride, Pad>::output >= 1);
  if constexpr (Cin == 1 && KH <= 3 && KW <= 3) {
    detail::convolve_one_channel<H, W, Cout, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  } else if constexpr (Cin % 4 == 0 && KH * KW * Cin <= detail::kMaxPreparedTaps) {
    detail::convolve_prepared<H, W, Cin, Cout, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  } else {
    detail::convolve_general<H, W, Cin, Cout, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  }
}

template <std::size_t Length, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          Padding Pad>
void convolve_1d_s8(std::span<const std::int8_t, Length * Cin> input,
                    std::span<const std::int8_t, Cout * K * Cin> weights,
                    std::span<const std::int32_t, Cout> bias,
                    std::span<std::int8_t, output_size(Length, K, Stride, Pad) * Cout> output,
                    const ConvParams<Cout>& params) noexcept {
  arm::convolve_s8<1, Length, Cin, Cout, 1, K, Stride, Pad>(input, weights, bias, output, params);
}

}  // namespace microtl::kernels::arm
