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
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E, std::size_t Units, quant::Activation A>
struct DenseLayer {
  static_assert(
      S::rank == 1,
      "microtl::Dense: the input must be one-dimensional; put a Flatten before the Dense layer");
  static_assert(Units >= 1, "microtl::Dense: at least one unit");

  static constexpr std::size_t in_features = S::size;
  static constexpr std::size_t out_features = Units;
  static constexpr quant::Activation activation = A;

  using input_shape = S;
  using output_shape = Shape<Units>;
  using input_element = E;
  using output_element = E;
  using Params = LinearParams<E, Units * in_features, Units>;
  static constexpr const char* name = "Dense";
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr OutputPlacement placement = OutputPlacement::separate;

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
  // dW[o][i] += g[o] x[i]        db[o] += g[o]        (when the parameters train)
  // dx[i]     = sum_o W[o][i] g[o]                   (when InputGrad)
  using Grads = LinearGrads<Units * in_features, Units>;
  static constexpr bool fused_sgd = std::same_as<E, float>;
  template <bool InputGrad>
  static void backward(const Params& params, TensorView<const float, S> x,
                       TensorView<const float, output_shape> y, TensorView<float, output_shape> dy,
                       TensorView<float, S> dx, Grads grads) noexcept {
    static_assert(std::same_as<E, float>, "microtl::Dense: backward is for float layers");
    apply_activation_grad<A, Units>(y.data(), dy.data());
    const float* g = dy.data();
    if constexpr (InputGrad) {
      // dx[i] = sum_o W[o][i] g[o]: first, while W is still the weights of the forward pass
      // (a fused update changes them below). Row by row: contiguous reads of W.
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
    constexpr std::size_t body = in_features - in_features % 4;
    if (grads.weights != nullptr) {
      // dW[o][i] (+)= g[o] x[i], four elements per loop pass; the first sample of a batch
      // writes (no read of the old value, no clearing between batches); fused SGD subtracts
      // step * g[o] x[i] from the weights directly.
      for (std::size_t o = 0; o < Units; ++o) {
        float* row = grads.weights + o * in_features;
        const float go = g[o];
        const float* xi = x.data();
        if (grads.fused_step != 0.0f) {
          const float s = grads.fused_step;
          for (std::size_t i = 0; i < body; i += 4) {
            row[i] -= s * (go * xi[i]);
            row[i + 1] -= s * (go * xi[i + 1]);
            row[i + 2] -= s * (go * xi[i + 2]);
            row[i + 3] -= s * (go * xi[i + 3]);
          }
          for (std::size_t i = body; i < in_features; ++i)
            row[i] -= s * (go * xi[i]);
        } else if (grads.overwrite) {
          for (std::size_t i = 0; i < body; i += 4) {
            row[i] = go * xi[i];
            row[i + 1] = go * xi[i + 1];
            row[i + 2] = go * xi[i + 2];
            row[i + 3] = go * xi[i + 3];
          }
          for (std::size_t i = body; i < in_features; ++i)
            row[i] = go * xi[i];
        } else {
          for (std::size_t i = 0; i < body; i += 4) {
            row[i] += go * xi[i];
            row[i + 1] += go * xi[i + 1];
            row[i + 2] += go * xi[i + 2];
            row[i + 3] += go * xi[i + 3];
          }
          for (std::size_t i = body; i < in_features; ++i)
            row[i] += go * xi[i];
        }
      }
    }
    if (grads.bias != nullptr) {
      for (std::size_t o = 0; o < Units; ++o) {
        grads.bias[o] = grads.fused_step != 0.0f ? grads.bias[o] - grads.fused_step * g[o]
                        : grads.overwrite        ? g[o]
                                                 : grads.bias[o] + g[o];
      }
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
