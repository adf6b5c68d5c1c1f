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
#include "microtl/quant/requantize.hpp"

namespace microtl::kernels {

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
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  constexpr std::size_t kOutChannels = C * DepthMultiplier;
  static_assert(C >= 1 && DepthMultiplier >= 1, "channel counts must be at least 1");

  // output[y][x][o] = requantize(bias[o] + sum over the taps (ky, kx) inside the input of
  //                   weights[ky][kx][o] * (input[iy][ix][o / M] + input_offset))
  std::int8_t* out = output.data();
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const int y_origin = Rows::origin(y);
    const int ky_begin = Rows::first_tap(y_origin);
    const int ky_end = Rows::end_tap(y_origin);
    for (std::size_t x = 0; x < Cols::output; ++x) {
      const int x_origin = Cols::origin(x);
      const int kx_begin = Cols::first_tap(x_origin);
      const int kx_end = Cols::end_tap(x_origin);
      for (std::size_t o = 0; o < kOutChannels; ++o) {
        const std::size_t c = o / DepthMultiplier;
        std::int32_t acc = bias[o];
        for (int ky = ky_begin; ky < ky_end; ++ky) {
          const auto iy = static_cast<std::size_t>(y_origin + ky);
          for (int kx = kx_begin; kx < kx_end; ++kx) {
            const auto ix = static_cast<std::size_t>(x_origin + kx);
            const std::int32_t value = input[(iy * W + ix) * C + c];
            const std::int32_t weight =
                weights[(static_cast<std::size_t>(ky) * KW + static_cast<std::size_t>(kx)) *
                            kOutChannels +
                        o];
            acc += weight * (value + params.input_offset);
          }
        }
        *out++ =
            quant::requantize(acc, params.multipliers[o], params.output_offset, params.activation);
      }
    }
  }
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
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  constexpr std::size_t kOutChannels = C * DepthMultiplier;
  static_assert(C >= 1 && DepthMultiplier >= 1, "channel counts must be at least 1");

  // output[y][x][o] = activation(bias[o] + sum over the taps inside the input of
  //                   weights[ky][kx][o] * input[iy][ix][o / M])
  float* out = output.data();
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const int y_origin = Rows::origin(y);
    const int ky_begin = Rows::first_tap(y_origin);
    const int ky_end = Rows::end_tap(y_origin);
    for (std::size_t x = 0; x < Cols::output; ++x) {
      const int x_origin = Cols::origin(x);
      const int kx_begin = Cols::first_tap(x_origin);
      const int kx_end = Cols::end_tap(x_origin);
      for (std::size_t o = 0; o < kOutChannels; ++o) {
        const std::size_t c = o / DepthMultiplier;
        float acc = 0.0f;
        for (int ky = ky_begin; ky < ky_end; ++ky) {
          const auto iy = static_cast<std::size_t>(y_origin + ky);
          for (int kx = kx_begin; kx < kx_end; ++kx) {
            const auto ix = static_cast<std::size_t>(x_origin + kx);
            acc += weights[(static_cast<std::size_t>(ky) * KW + static_cast<std::size_t>(kx)) *
                               kOutChannels +
                           o] *
                   input[(iy * W + ix) * C + c];
          }
        }
        *out++ = quant::apply_activation(acc + bias[o], activation);
      }
    }
  }
}

}  // namespace microtl::kernels
