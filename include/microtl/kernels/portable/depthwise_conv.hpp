// Depthwise 2-D convolution, int8 (TFLite DEPTHWISE_CONV_2D, int8 per-channel reference
// kernel) and float32. NHWC layout for one image, dilation 1, one stride for both axes.
//
// Each input channel is convolved with its own DepthMultiplier filters; output channel
// o = c * DepthMultiplier + m comes from input channel c.
//
// Arguments of portable::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, DepthMultiplier = 1>
// (and of the dispatching kernels::depthwise_conv_s8 in kernels/depthwise_conv.hpp):
//   input    [H][W][C]          int8, real = input_scale * (q + params.input_offset)
//   weights  [KH][KW][C * M]    int8, symmetric (zero point 0), TFLite's [1][KH][KW][C * M]
//   bias     [C * M]            int32, scale input_scale * weight_scale[o], zero point 0
//   output   [OH][OW][C * M]    int8, zero point params.output_offset;
//                               OH = output_size(H, KH, Stride, Pad), same for OW
//   params   offsets, activation range, per-channel (or per-tensor) multipliers
//   Padding as in kernels/padding.hpp: taps outside the input are skipped.
//
// The float version takes the same layouts in float and a fused activation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl::kernels {

namespace detail {

// One output o of a depthwise convolution before its output stage, from input channel
// c = o / M:
//
//   acc + sum over the taps (ky, kx) of the window inside the input of the product of
//         weights[ky][kx][o] and input[iy][ix][c]
//
// `mac(acc, weight, value)` adds one product: the int8 and the float kernels differ only
// there and in the output stage.
template <std::size_t C, std::size_t M, typename Window, typename T, typename Acc, typename Mac>
MICROTL_KERNEL_INLINE constexpr Acc depthwise_window(const Window& window, const T* input,
                                                     const T* weights, std::size_t o, Acc acc,
                                                     Mac mac) noexcept {
  const std::size_t c = o / M;
  window.for_each_tap([&](std::size_t tap, std::size_t pixel) MICROTL_KERNEL_LAMBDA {
    acc = mac(acc, weights[tap * C * M + o], input[pixel * C + c]);
  });
  return acc;
}

// The loop of both depthwise kernels: *out++ = element(window, o) for each output position
// (its Window) and each output channel o, in the order of the NHWC output.
template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad, std::size_t M, typename Out, typename Element>
MICROTL_KERNEL_INLINE void depthwise(Out* output, Element&& element) noexcept {
  static_assert(C >= 1 && M >= 1, "channel counts must be at least 1");
  for_each_output<WindowAxis<H, KH, Stride, Pad>, WindowAxis<W, KW, Stride, Pad>, C * M>(output,
                                                                                         element);
}

}  // namespace detail

// The reference version, in plain C++ for every target. kernels/depthwise_conv.hpp exposes
// kernels::depthwise_conv_s8, which is this one or, on cores with the DSP extension, the
// bit-exact kernels::arm::depthwise_conv_s8.
namespace portable {

template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad, std::size_t DepthMultiplier = 1>
void depthwise_conv_s8(
    std::span<const std::int8_t, H * W * C> input,
    std::span<const std::int8_t, KH * KW * C * DepthMultiplier> weights,
    std::span<const std::int32_t, C * DepthMultiplier> bias,
    std::span<std::int8_t, output_elements(H, W, KH, KW, Stride, Pad, (C * DepthMultiplier))>
        output,
    const DepthwiseConvParams<C * DepthMultiplier>& params) noexcept {
  // output[y][x][o] = requantize(bias[o] + sum over the taps (ky, kx) inside the input of
  //                   weights[ky][kx][o] * (input[iy][ix][o / M] + input_offset))
  detail::depthwise<H, W, C, KH, KW, Stride, Pad, DepthMultiplier>(
      output.data(), [&](const auto& window, std::size_t o) MICROTL_KERNEL_LAMBDA {
        const std::int32_t acc = detail::depthwise_window<C, DepthMultiplier>(
            window, input.data(), weights.data(), o, bias[o], OffsetMac{params.input_offset});
        return params.requantize(acc, o);
      });
}

}  // namespace portable

template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad, std::size_t DepthMultiplier = 1>
void depthwise_conv_f32(
    std::span<const float, H * W * C> input,
    std::span<const float, KH * KW * C * DepthMultiplier> weights,
    std::span<const float, C * DepthMultiplier> bias,
    std::span<float, output_elements(H, W, KH, KW, Stride, Pad, (C * DepthMultiplier))> output,
    quant::Activation activation) noexcept {
  // output[y][x][o] = activation(bias[o] + sum over the taps inside the input of
  //                   weights[ky][kx][o] * input[iy][ix][o / M])
  //                   (the sum from 0, in the order of the taps, then the bias)
  detail::depthwise<H, W, C, KH, KW, Stride, Pad, DepthMultiplier>(
      output.data(), [&](const auto& window, std::size_t o) MICROTL_KERNEL_LAMBDA {
        const float acc = detail::depthwise_window<C, DepthMultiplier>(
            window, input.data(), weights.data(), o, 0.0f,
            [](float sum, float w, float x) MICROTL_KERNEL_LAMBDA { return sum + w * x; });
        return quant::apply_activation(acc + bias[o], activation);
      });
}

}  // namespace microtl::kernels
