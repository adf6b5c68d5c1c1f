// Conv1D<Filters, KernelSize, Padding, Stride>: 1-D convolution over a window of samples
// (audio frames, IMU axes), as converters express it for TFLite: a 2-D convolution over a
// one-row image.
//
//   y[o][f] = activation(b[f] + sum_{k, c} W[f][k][c] x[o*s + k - pad][c])
//   input   [Length][Cin]             float, or int8 (QInt8)
//   weights [Filters][K][Cin]
//   bias    [Filters]                 float, or int32
//   output  [OL][Filters]             OL = ceil(Length / s) (same) or (Length - K) / s + 1
//
// A following ReLU / ReLU6 is fused.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/kernels/convolve.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/conv2d.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/layers/window.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E, std::size_t Filters, std::size_t K, Padding Pad,
          std::size_t Stride, quant::Activation A>
struct Conv1DLayer : LinearLayerBase<Conv1DLayer<S, E, Filters, K, Pad, Stride, A>, S, E, A> {
  static_assert(S::rank == 2, "microtl::Conv1D: the input must be length x channels (rank 2)");
  static_assert(Filters >= 1 && K >= 1 && Stride >= 1,
                "microtl::Conv1D: filters, kernel and stride at least 1");
  static_assert(Pad == Padding::same || K <= S::dim(0),
                "microtl::Conv1D: with Padding::valid the kernel must fit in the input");

  static constexpr std::size_t length = S::dim(0);
  static constexpr std::size_t in_channels = S::dim(1);
  static constexpr std::size_t out_channels = Filters;
  static constexpr std::size_t out_length = kernels::output_size(length, K, Stride, Pad);

  using output_shape = Shape<out_length, Filters>;
  using Params = LinearParams<E, Filters * K * in_channels, Filters>;
  static constexpr const char* name = "Conv1D";

  static void forward_f32(const Params& params, std::span<const float, S::size> in,
                          std::span<float, output_shape::size> out) noexcept {
    kernels::convolve_1d_f32<length, in_channels, Filters, K, Stride, Pad>(in, params.weights,
                                                                           params.bias, out, A);
  }
  static void forward_s8(const Params& params, std::span<const std::int8_t, S::size> in,
                         std::span<std::int8_t, output_shape::size> out,
                         const kernels::RequantizedOpParams<Filters>& op) noexcept {
    kernels::convolve_1d_s8<length, in_channels, Filters, K, Stride, Pad>(in, params.weights,
                                                                          params.bias, out, op);
  }

  // The backward pass of the equivalent one-row Conv2D (see conv2d.hpp for the math).
  static constexpr bool single_gradient_write = false;
  template <bool InputGrad, GradientSink Sink>
  static void backward_linear(const LinearOperands<E, Filters>& ops, const float* g, float* dx,
                              const Sink& sink) noexcept {
    convolve_backward<1, length, in_channels, Filters, 1, K, Stride, Pad, InputGrad>(ops, g, dx,
                                                                                     sink);
  }
};

}  // namespace layers

template <std::size_t Filters, std::size_t KernelSize, Padding Pad = Padding::valid,
          std::size_t Stride = 1>
struct Conv1D {
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::Conv1DLayer<S, E, Filters, KernelSize, Pad, Stride, A>;
};

}  // namespace microtl
