// 2-D and 1-D convolution, int8 (TFLite CONV_2D, int8 per-channel reference kernel) and
// float32. NHWC layout for one image, dilation 1, one stride for both axes.
//
// Arguments of portable::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad> (and of the
// dispatching kernels::convolve_s8 in kernels/convolve.hpp):
//   input    [H][W][Cin]           int8, real = input_scale * (q + params.input_offset)
//   weights  [Cout][KH][KW][Cin]   int8, symmetric (zero point 0), per output channel scales
//   bias     [Cout]                int32, scale input_scale * weight_scale[c], zero point 0
//   output   [OH][OW][Cout]        int8, zero point params.output_offset;
//                                  OH = output_size(H, KH, Stride, Pad), same for OW
//   params   offsets, activation range, per-channel (or per-tensor) multipliers
//            input_scale * weight_scale[c] / output_scale
//   Stride >= 1; Pad same (OH = ceil(H / Stride)) or valid (needs KH <= H, KW <= W);
//   see kernels/padding.hpp for the padding rule. KH * KW * Cin * 255 * 127 must fit in int32.
//
// Padded taps (window positions outside the input) are skipped: they contribute nothing,
// which is what real zeros would contribute. (With an input zero point, TFLite could not pad
// with code 0 anyway: it would be the real value -zero_point * scale.)
//
// convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>: input [Length][Cin], weights
// [Cout][K][Cin], output [OL][Cout]; the 2-D kernel with H = 1 and KH = 1 (TFLite has no 1-D
// convolution: converters express it as CONV_2D over a 1-pixel-high image).
//
// The float versions take the same layouts in float and a fused activation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl::kernels {

namespace detail {

// One output of a convolution before its output stage, for the output channel whose filter
// [KH][KW][Cin] is `filter`:
//
//   acc + sum over the taps (ky, kx) of the window inside the input and every input channel i
//         of the product of filter[ky][kx][i] and input[iy][ix][i]
//
// `mac(acc, weight, value)` adds one product: the int8 and the float kernels differ only
// there and in the output stage.
template <std::size_t Cin, typename Window, typename T, typename Acc, typename Mac>
MICROTL_KERNEL_INLINE constexpr Acc convolve_window(const Window& window, const T* input,
                                                    const T* filter, Acc acc, Mac mac) noexcept {
  window.template for_each_value<Cin>([&](std::size_t k, std::size_t i) MICROTL_KERNEL_LAMBDA {
    acc = mac(acc, filter[k], input[i]);
  });
  return acc;
}

// The loop of both convolution kernels: *out++ = element(window, c) for each output position
// (its Window) and each output channel c, in the order of the NHWC output.
template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad, typename Out, typename Element>
MICROTL_KERNEL_INLINE void convolve(Out* output, Element&& element) noexcept {
  static_assert(Cin >= 1 && Cout >= 1, "channel counts must be at least 1");
  for_each_output<WindowAxis<H, KH, Stride, Pad>, WindowAxis<W, KW, Stride, Pad>, Cout>(output,
                                                                                        element);
}

}  // namespace detail

// The reference versions, in plain C++ for every target. kernels/convolve.hpp exposes
// kernels::convolve_s8 and kernels::convolve_1d_s8, which are these or, on cores with the DSP
// extension, the bit-exact kernels::arm ones.
namespace portable {

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_s8(std::span<const std::int8_t, H * W * Cin> input,
                 std::span<const std::int8_t, Cout * KH * KW * Cin> weights,
                 std::span<const std::int32_t, Cout> bias,
                 std::span<std::int8_t, output_elements(H, W, KH, KW, Stride, Pad, Cout)> output,
                 const ConvParams<Cout>& params) noexcept {
  static_assert(KH * KW * Cin <= 66000, "the int32 accumulator could overflow");

  // output[y][x][c] = requantize(bias[c] + sum over the taps (ky, kx) inside the input and
  //                   every input channel i of weights[c][ky][kx][i] * (input[iy][ix][i] +
  //                   input_offset)),  iy = y * Stride - pad_top + ky, ix likewise
  detail::convolve<H, W, Cin, Cout, KH, KW, Stride, Pad>(
      output.data(), [&](const auto& window, std::size_t c) MICROTL_KERNEL_LAMBDA {
        const std::int32_t acc =
            detail::convolve_window<Cin>(window, input.data(), weights.data() + c * KH * KW * Cin,
                                         bias[c], OffsetMac{params.input_offset});
        return params.requantize(acc, c);
      });
}

template <std::size_t Length, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          Padding Pad>
void convolve_1d_s8(std::span<const std::int8_t, Length * Cin> input,
                    std::span<const std::int8_t, Cout * K * Cin> weights,
                    std::span<const std::int32_t, Cout> bias,
                    std::span<std::int8_t, output_size(Length, K, Stride, Pad) * Cout> output,
                    const ConvParams<Cout>& params) noexcept {
  portable::convolve_s8<1, Length, Cin, Cout, 1, K, Stride, Pad>(input, weights, bias, output,
                                                                 params);
}

}  // namespace portable

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_f32(std::span<const float, H * W * Cin> input,
                  std::span<const float, Cout * KH * KW * Cin> weights,
                  std::span<const float, Cout> bias,
                  std::span<float, output_elements(H, W, KH, KW, Stride, Pad, Cout)> output,
                  quant::Activation activation) noexcept {
  // output[y][x][c] = activation(bias[c] + sum over the taps inside the input and every
  //                   input channel i of weights[c][ky][kx][i] * input[iy][ix][i])
  //                   (the sum from 0, in the order of the taps, then the bias)
  detail::convolve<H, W, Cin, Cout, KH, KW, Stride, Pad>(
      output.data(), [&](const auto& window, std::size_t c) MICROTL_KERNEL_LAMBDA {
        const float acc = detail::convolve_window<Cin>(
            window, input.data(), weights.data() + c * KH * KW * Cin, 0.0f,
            [](float sum, float w, float x) MICROTL_KERNEL_LAMBDA { return sum + w * x; });
        return quant::apply_activation(acc + bias[c], activation);
      });
}

template <std::size_t Length, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          Padding Pad>
void convolve_1d_f32(std::span<const float, Length * Cin> input,
                     std::span<const float, Cout * K * Cin> weights,
                     std::span<const float, Cout> bias,
                     std::span<float, output_size(Length, K, Stride, Pad) * Cout> output,
                     quant::Activation activation) noexcept {
  convolve_f32<1, Length, Cin, Cout, 1, K, Stride, Pad>(input, weights, bias, output, activation);
}

}  // namespace microtl::kernels
