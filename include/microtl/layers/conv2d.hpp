// Conv2D<Filters, Kernel<KH, KW>, Padding, Stride>: 2-D convolution over an NHWC image.
//
//   y[oy][ox][f] = activation(b[f] + sum_{ky, kx, c} W[f][ky][kx][c] x[oy*s + ky - pad_top]
//                                                                      [ox*s + kx - pad_left][c])
//   input   [H][W][Cin]               float, or int8 (QInt8)
//   weights [Filters][KH][KW][Cin]    TFLite's OHWI layout; int8: symmetric, per channel
//   bias    [Filters]                 float, or int32
//   output  [OH][OW][Filters]         OH = ceil(H / s) (same) or (H - KH) / s + 1 (valid)
//
// Taps outside the input (padding) contribute nothing. A following ReLU / ReLU6 is fused.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/kernels/convolve.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/layers/window.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

// Backward pass of a convolution (also used by Conv1D, as a one-row image), in real units for
// float and int8 layers alike (LinearOperands, layers/linear_params.hpp):
//
//   g[oy][ox][f]                        (dy with the activation's derivative applied)
//   db[f]              += sum_{oy, ox} g[oy][ox][f]
//   dW[f][ky][kx][c]   += sum_{oy, ox} g[oy][ox][f] x[iy][ix][c]
//   dx[iy][ix][c]       = sum_{oy, ox, f} W[f][ky][kx][c] g[oy][ox][f]
//                       = sum_{oy, ox, f} q[f][ky][kx][c] (s_w[f] g[oy][ox][f])     (int8)
//   with iy = oy*s + ky - pad_top, ix = ox*s + kx - pad_left inside the input (padding taps
//   take no part, as in the forward pass).
// One walk over the output positions and their in-range taps serves all three sums. Each
// parameter receives one contribution per output position: the sink must add them up.
template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t F, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad, bool InputGrad, class Operands,
          GradientSink Sink>
void convolve_backward(const Operands& ops, const float* g_all, float* dx,
                       const Sink& sink) noexcept {
  using Rows = kernels::WindowAxis<H, KH, Stride, Pad>;
  using Cols = kernels::WindowAxis<W, KW, Stride, Pad>;
  if constexpr (InputGrad) {
    for (std::size_t i = 0; i < H * W * Cin; ++i) {
      dx[i] = 0.0f;
    }
  }
  for (std::size_t oy = 0; oy < Rows::output; ++oy) {
    const int y_origin = Rows::origin(oy);
    const int ky_begin = Rows::first_tap(y_origin);
    const int ky_end = Rows::end_tap(y_origin);
    for (std::size_t ox = 0; ox < Cols::output; ++ox) {
      const int x_origin = Cols::origin(ox);
      const int kx_begin = Cols::first_tap(x_origin);
      const int kx_end = Cols::end_tap(x_origin);
      const float* g = g_all + (oy * Cols::output + ox) * F;
      if constexpr (Sink::template wants<linear_tensor::bias>) {
        sink.template put<linear_tensor::bias>(0, F, [g](std::size_t f) { return g[f]; });
      }
      for (int ky = ky_begin; ky < ky_end; ++ky) {
        const auto iy = static_cast<std::size_t>(y_origin + ky);
        for (int kx = kx_begin; kx < kx_end; ++kx) {
          const auto ix = static_cast<std::size_t>(x_origin + kx);
          const std::size_t pixel = (iy * W + ix) * Cin;
          const std::size_t tap = static_cast<std::size_t>(ky) * KW + static_cast<std::size_t>(kx);
          for (std::size_t f = 0; f < F; ++f) {
            const float gf = g[f];
            if (gf == 0.0f) {
              continue;  // common after a ReLU: nothing to add
            }
            const std::size_t offset = (f * KH * KW + tap) * Cin;
            if constexpr (Sink::template wants<linear_tensor::weights>) {
              sink.template put<linear_tensor::weights>(
                  offset, Cin,
                  [gf, pixel, &ops](std::size_t c) { return gf * ops.input(pixel + c); });
            }
            if constexpr (InputGrad) {
              const float gain = gf * ops.weight_scale(f);
              float* dpixel = dx + pixel;
              for (std::size_t c = 0; c < Cin; ++c) {
                dpixel[c] += ops.weight(offset + c) * gain;
              }
            }
          }
        }
      }
    }
  }
}

template <ShapeType S, ActivationElement E, std::size_t Filters, class K, Padding Pad,
          std::size_t Stride, quant::Activation A>
struct Conv2DLayer : LinearLayerBase<Conv2DLayer<S, E, Filters, K, Pad, Stride, A>, S, E, A> {
  static_assert(S::rank == 3,
                "microtl::Conv2D: the input must be height x width x channels (rank 3)");
  static_assert(Filters >= 1 && Stride >= 1,
                "microtl::Conv2D: at least one filter, stride at least 1");
  static_assert(Pad == Padding::same || (K::height <= S::dim(0) && K::width <= S::dim(1)),
                "microtl::Conv2D: with Padding::valid the kernel must fit in the input");

  static constexpr std::size_t height = S::dim(0);
  static constexpr std::size_t width = S::dim(1);
  static constexpr std::size_t in_channels = S::dim(2);
  static constexpr std::size_t out_channels = Filters;
  static constexpr std::size_t out_height = kernels::output_size(height, K::height, Stride, Pad);
  static constexpr std::size_t out_width = kernels::output_size(width, K::width, Stride, Pad);

  using output_shape = Shape<out_height, out_width, Filters>;
  using Params = LinearParams<E, Filters * K::height * K::width * in_channels, Filters>;
  static constexpr const char* name = "Conv2D";

  static void forward_f32(const Params& params, std::span<const float, S::size> in,
                          std::span<float, output_shape::size> out) noexcept {
    kernels::convolve_f32<height, width, in_channels, Filters, K::height, K::width, Stride, Pad>(
        in, params.weights, params.bias, out, A);
  }
  static void forward_s8(const Params& params, std::span<const std::int8_t, S::size> in,
                         std::span<std::int8_t, output_shape::size> out,
                         const kernels::RequantizedOpParams<Filters>& op) noexcept {
    kernels::convolve_s8<height, width, in_channels, Filters, K::height, K::width, Stride, Pad>(
        in, params.weights, params.bias, out, op);
  }

  static constexpr bool single_gradient_write = false;
  template <bool InputGrad, GradientSink Sink>
  static void backward_linear(const LinearOperands<E, Filters>& ops, const float* g, float* dx,
                              const Sink& sink) noexcept {
    convolve_backward<height, width, in_channels, Filters, K::height, K::width, Stride, Pad,
                      InputGrad>(ops, g, dx, sink);
  }
};

}  // namespace layers

template <std::size_t Filters, class K, Padding Pad = Padding::valid, std::size_t Stride = 1>
struct Conv2D {
  static_assert(is_kernel_v<K>,
                "microtl::Conv2D: the second argument is the kernel size, Kernel<KH, KW>");
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::Conv2DLayer<S, E, Filters, K, Pad, Stride, A>;
};

}  // namespace microtl
