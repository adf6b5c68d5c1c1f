// DepthwiseConv2D<Kernel<KH, KW>, Padding, Stride, DepthMultiplier>: each input channel
// convolved with its own DepthMultiplier filters (TFLite DEPTHWISE_CONV_2D).
//
//   y[oy][ox][c*M + m] = activation(b[c*M + m] + sum_{ky, kx} W[ky][kx][c*M + m]
//                                                  x[oy*s + ky - pad_top][ox*s + kx - pad_left][c])
//   input   [H][W][C]                 float, or int8 (QInt8)
//   weights [KH][KW][C * M]           TFLite's 1HWC layout; int8: symmetric, per channel
//   bias    [C * M]                   float, or int32
//   output  [OH][OW][C * M]
//
// A following ReLU / ReLU6 is fused.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/kernels/depthwise_conv.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/layers/window.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E, class K, Padding Pad, std::size_t Stride, std::size_t M,
          quant::Activation A>
struct DepthwiseConv2DLayer
    : LinearLayerBase<DepthwiseConv2DLayer<S, E, K, Pad, Stride, M, A>, S, E, A> {
  static_assert(S::rank == 3,
                "microtl::DepthwiseConv2D: the input must be height x width x channels (rank 3)");
  static_assert(M >= 1 && Stride >= 1,
                "microtl::DepthwiseConv2D: depth multiplier and stride at least 1");
  static_assert(Pad == Padding::same || (K::height <= S::dim(0) && K::width <= S::dim(1)),
                "microtl::DepthwiseConv2D: with Padding::valid the kernel must fit in the input");

  static constexpr std::size_t height = S::dim(0);
  static constexpr std::size_t width = S::dim(1);
  static constexpr std::size_t in_channels = S::dim(2);
  static constexpr std::size_t out_channels = in_channels * M;
  static constexpr std::size_t out_height = kernels::output_size(height, K::height, Stride, Pad);
  static constexpr std::size_t out_width = kernels::output_size(width, K::width, Stride, Pad);

  using output_shape = Shape<out_height, out_width, out_channels>;
  using Params = LinearParams<E, K::height * K::width * out_channels, out_channels>;
  static constexpr const char* name = "DepthwiseConv2D";
  static constexpr bool weights_channel_last = true;  // [KH][KW][C*M]

  static void forward_f32(const Params& params, std::span<const float, S::size> in,
                          std::span<float, output_shape::size> out) noexcept {
    kernels::depthwise_conv_f32<height, width, in_channels, K::height, K::width, Stride, Pad, M>(
        in, params.weights, params.bias, out, A);
  }
  static void forward_s8(const Params& params, std::span<const std::int8_t, S::size> in,
                         std::span<std::int8_t, output_shape::size> out,
                         const kernels::RequantizedOpParams<out_channels>& op) noexcept {
    kernels::depthwise_conv_s8<height, width, in_channels, K::height, K::width, Stride, Pad, M>(
        in, params.weights, params.bias, out, op);
  }

  // In real units for float and int8 alike (LinearOperands, layers/linear_params.hpp);
  // g = dy with the activation's derivative applied, k = c*M + m:
  // db[k]              += sum_{oy, ox} g[oy][ox][k]
  // dW[ky][kx][k]      += sum_{oy, ox} g[oy][ox][k] x[iy][ix][c]
  // dx[iy][ix][c]       = sum_{oy, ox, m} W[ky][kx][c*M + m] g[oy][ox][c*M + m]
  //                     = sum_{oy, ox, m} q[ky][kx][k] (s_w[k] g[oy][ox][k])          (int8)
  static constexpr bool single_gradient_write = false;
  template <bool InputGrad, GradientSink Sink>
  static void backward_linear(const LinearOperands<E, out_channels>& ops, const float* g_all,
                              float* dx, const Sink& sink) noexcept {
    using Rows = kernels::WindowAxis<height, K::height, Stride, Pad>;
    using Cols = kernels::WindowAxis<width, K::width, Stride, Pad>;
    if constexpr (InputGrad) {
      for (std::size_t i = 0; i < S::size; ++i) {
        dx[i] = 0.0f;
      }
    }
    for (std::size_t oy = 0; oy < out_height; ++oy) {
      const int y_origin = Rows::origin(oy);
      for (std::size_t ox = 0; ox < out_width; ++ox) {
        const int x_origin = Cols::origin(ox);
        const float* g = g_all + (oy * out_width + ox) * out_channels;
        if constexpr (Sink::template wants<linear_tensor::bias>) {
          sink.template put<linear_tensor::bias>(0, out_channels,
                                                 [g](std::size_t k) { return g[k]; });
        }
        for (int ky = Rows::first_tap(y_origin); ky < Rows::end_tap(y_origin); ++ky) {
          const auto iy = static_cast<std::size_t>(y_origin + ky);
          for (int kx = Cols::first_tap(x_origin); kx < Cols::end_tap(x_origin); ++kx) {
            const auto ix = static_cast<std::size_t>(x_origin + kx);
            const std::size_t tap =
                (static_cast<std::size_t>(ky) * K::width + static_cast<std::size_t>(kx)) *
                out_channels;
            const std::size_t pixel = (iy * width + ix) * in_channels;
            for (std::size_t c = 0; c < in_channels; ++c) {
              if constexpr (Sink::template wants<linear_tensor::weights>) {
                const float value = ops.input(pixel + c);
                sink.template put<linear_tensor::weights>(
                    tap + c * M, M, [g, c, value](std::size_t m) { return g[c * M + m] * value; });
              }
              if constexpr (InputGrad) {
                for (std::size_t m = 0; m < M; ++m) {
                  const std::size_t k = c * M + m;
                  dx[pixel + c] += ops.weight(tap + k) * (g[k] * ops.weight_scale(k));
                }
              }
            }
          }
        }
      }
    }
  }
};

}  // namespace layers

template <class K, Padding Pad = Padding::valid, std::size_t Stride = 1,
          std::size_t DepthMultiplier = 1>
struct DepthwiseConv2D {
  static_assert(is_kernel_v<K>,
                "microtl::DepthwiseConv2D: the first argument is the kernel size, Kernel<KH, KW>");
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::DepthwiseConv2DLayer<S, E, K, Pad, Stride, DepthMultiplier, A>;
};

}  // namespace microtl
