// Dense<Units>: a fully connected layer,  y[o] = activation(b[o] + sum_i W[o][i] x[i]).
//
//   input   [In]            float, or int8 (QInt8)
//   weights [Units][In]     row o holds the weights of output o (TFLite's layout)
//   bias    [Units]         float, or int32 with scale input_scale * weight_scale
//   output  [Units]
//
// A following ReLU / ReLU6 is fused into it by Sequential. Dense<Units, quant::Rounding::once>
// rounds the int8 requantization once, as TFLite 2.x's FULLY_CONNECTED does (see below).
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/config.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/kernels/float_linear.hpp"
#include "microtl/kernels/fully_connected.hpp"
#include "microtl/kernels/portable/fully_connected.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/requantize.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E, std::size_t Units, quant::Activation A,
          quant::Rounding R = quant::Rounding::twice>
struct DenseLayer : LinearLayerBase<DenseLayer<S, E, Units, A, R>, S, E, A> {
  static_assert(
      S::rank == 1,
      "microtl::Dense: the input must be one-dimensional; put a Flatten before the Dense layer");
  static_assert(Units >= 1, "microtl::Dense: at least one unit");

  static constexpr std::size_t in_features = S::size;
  static constexpr std::size_t out_features = Units;

  using output_shape = Shape<Units>;
  using Params = LinearParams<E, Units * in_features, Units>;
  static constexpr const char* name = "Dense";

  static void forward_f32(const Params& params, std::span<const float, in_features> in,
                          std::span<float, Units> out) noexcept {
    kernels::fully_connected_f32<in_features, Units>(in, params.weights, params.bias, out, A);
  }
  static void forward_s8(const Params& params, std::span<const std::int8_t, in_features> in,
                         std::span<std::int8_t, Units> out,
                         const kernels::RequantizedOpParams<Units>& op) noexcept {
    if constexpr (R == quant::Rounding::twice) {
      kernels::fully_connected_s8<in_features, Units>(in, params.weights, params.bias, out, op);
    } else {
#if MICROTL_USE_MVE_KERNELS
      // The Helium kernel takes either rounding.
      kernels::mve::fully_connected_s8<in_features, Units, R>(in, params.weights, params.bias, out,
                                                              op);
#else
      // (The DSP kernels round twice: the portable kernel serves the other cores.)
      kernels::portable::fully_connected_s8<in_features, Units, R>(in, params.weights, params.bias,
                                                                   out, op);
#endif
    }
  }

  // g: dy with the activation's derivative applied (LinearLayerBase::backward)
  // dx[i]  = sum_o W[o][i] g[o]                    (when InputGrad)
  // dW[o][i] <- g[o] x[i]      db[o] <- g[o]       (to the sink, when they train)
  // all in real units (int8: W[o][i] = s_w[o] q[o][i], x[i] = s_in (x_q[i] - z_in)).
  // Each parameter's gradient is put once, after dx has read the weights: a sink may update
  // the parameters in place (single_gradient_write).
  static constexpr bool single_gradient_write = true;
  // dW = g x^T, db = g (train/fused_guard.hpp bounds the fused SGD step from g and x).
  static constexpr bool outer_product_gradient = true;
  // (Always inlined into the trainer's backward walk, as it was before int8 layers shared it:
  // a call here costs the training figures of bench/README.md a dozen instructions a step.)
  template <bool InputGrad, GradientSink Sink>
  [[gnu::always_inline]] static void backward_linear(const LinearOperands<E, Units>& ops,
                                                     const float* g, float* dx,
                                                     const Sink& sink) noexcept {
    if constexpr (std::same_as<E, float>) {
      if constexpr (InputGrad) {
        kernels::dense_input_grad_f32<in_features, Units>(
            std::span<const float, Units * in_features>(ops.w, Units * in_features),
            std::span<const float, Units>(g, Units),
            std::span<float, in_features>(dx, in_features));
      }
      if constexpr (Sink::template wants<linear_tensor::weights>) {
        sink.template put_outer<linear_tensor::weights, in_features, Units>(g, ops.x);
      }
    } else {
      if constexpr (InputGrad) {
        // Row by row, rows with g[o] == 0 skipped (as the float kernel does): each dx[i] sums
        // over o ascending.
        for (std::size_t i = 0; i < in_features; ++i) {
          dx[i] = 0.0f;
        }
        for (std::size_t o = 0; o < Units; ++o) {
          if (g[o] == 0.0f) {
            continue;
          }
          const float gain = g[o] * ops.weight_scale(o);
          const std::size_t row = o * in_features;
          for (std::size_t i = 0; i < in_features; ++i) {
            dx[i] = kernels::fused_mac(dx[i], ops.weight(row + i), gain);
          }
        }
      }
      if constexpr (Sink::template wants<linear_tensor::weights>) {
        for (std::size_t o = 0; o < Units; ++o) {
          const float go = g[o];
          sink.template put<linear_tensor::weights>(
              o * in_features, in_features,
              [&ops, go](std::size_t i) { return go * ops.input(i); });
        }
      }
    }
    if constexpr (Sink::template wants<linear_tensor::bias>) {
      sink.template put<linear_tensor::bias>(0, Units, [g](std::size_t o) { return g[o]; });
    }
  }
};

}  // namespace layers

// Rounding: how the int8 layer rounds its requantization (quant/requantize.hpp): twice
// (TFLite Micro, the default) or once (TFLite 2.x's FULLY_CONNECTED, what scripts/import
// emits for a .tflite model). The float layer ignores it.
template <std::size_t Units, quant::Rounding Rounding = quant::Rounding::twice>
struct Dense {
  static constexpr std::size_t units = Units;
  static constexpr bool fuses_activation = true;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::DenseLayer<S, E, Units, A, Rounding>;
};

}  // namespace microtl
