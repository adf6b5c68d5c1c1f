// Dense<Units>: a fully connected layer,  y[o] = activation(b[o] + sum_i W[o][i] x[i]).
//
//   input   [In]            float, or int8 (QInt8)
//   weights [Units][In]     row o holds the weights of output o (TFLite's layout)
//   bias    [Units]         float, or int32 with scale input_scale * weight_scale
//   output  [Units]
//
// A following ReLU / ReLU6 is fused into it by Sequential.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/kernels/fully_connected.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E, std::size_t Units, quant::Activation A>
struct DenseLayer : LayerBase<S, E> {
  static_assert(
      S::rank == 1,
      "microtl::Dense: the input must be one-dimensional; put a Flatten before the Dense layer");
  static_assert(Units >= 1, "microtl::Dense: at least one unit");

  static constexpr std::size_t in_features = S::size;
  static constexpr std::size_t out_features = Units;
  static constexpr quant::Activation activation = A;

  using output_shape = Shape<Units>;
  using Params = LinearParams<E, Units * in_features, Units>;
  static constexpr const char* name = "Dense";

  static quant_info_t<E> forward(const Params& params, input_view_t<DenseLayer> in,
                                 quant_info_t<E> q, output_view_t<DenseLayer> out,
                                 std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      kernels::fully_connected_f32<in_features, Units>(in.span(), params.weights, params.bias,
                                                       out.span(), A);
      return q;
    } else {
      kernels::fully_connected_s8<in_features, Units>(
          in.span(), params.weights, params.bias, out.span(), requantized_op_params(params, q, A));
      return params.output;
    }
  }

  // g = dy * activation'(y)                         (in place in dy)
  // dx[i]  = sum_o W[o][i] g[o]                    (when InputGrad)
  // dW[o][i] <- g[o] x[i]      db[o] <- g[o]       (to the sink, when they train)
  // Each parameter's gradient is put once, after dx has read the weights: a sink may update
  // the parameters in place (single_gradient_write).
  static constexpr bool single_gradient_write = true;
  template <bool InputGrad, GradientSink Sink>
  static void backward(const Params& params, const ForwardRecord<DenseLayer>& forward,
                       TensorView<float, output_shape> dy, TensorView<float, S> dx,
                       const Sink& sink) noexcept {
    static_assert(std::same_as<E, float>,
                  "microtl::Dense: backward is for float layers (an int8 Dense trains as "
                  "BiasOnly<Dense<...>>)");
    apply_activation_grad<A, Units>(forward.y.data(), dy.data());
    const float* g = dy.data();
    if constexpr (InputGrad) {
      // Row by row: contiguous reads of W.
      float* out = dx.data();
      for (std::size_t i = 0; i < in_features; ++i) {
        out[i] = 0.0f;
      }
      for (std::size_t o = 0; o < Units; ++o) {
        const float* row = params.weights.data() + o * in_features;
        const float go = g[o];
        for (std::size_t i = 0; i < in_features; ++i) {
          out[i] += row[i] * go;
        }
      }
    }
    if constexpr (Sink::template wants<linear_tensor::weights>) {
      const float* x = forward.x.data();
      for (std::size_t o = 0; o < Units; ++o) {
        const float go = g[o];
        sink.template put<linear_tensor::weights>(o * in_features, in_features,
                                                  [go, x](std::size_t i) { return go * x[i]; });
      }
    }
    if constexpr (Sink::template wants<linear_tensor::bias>) {
      sink.template put<linear_tensor::bias>(0, Units, [g](std::size_t o) { return g[o]; });
    }
  }
};

}  // namespace layers

template <std::size_t Units>
struct Dense {
  static constexpr std::size_t units = Units;
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::DenseLayer<S, E, Units, A>;
};

}  // namespace microtl
