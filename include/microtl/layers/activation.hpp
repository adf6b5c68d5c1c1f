// ReLU and ReLU6 as layers of their own. After a Dense or convolution layer a Sequential
// fuses them into that layer's output stage instead (see fuses_activation_v), so this
// element-wise pass runs only where nothing can absorb it (after a pool, at the input).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/kernels/portable/activations.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E, quant::Activation A>
struct ActivationLayer : LayerBase<S, E, E, OutputPlacement::in_place> {
  static_assert(A != quant::Activation::none, "ActivationLayer needs ReLU or ReLU6");

  using output_shape = S;
  // |dx| <= |dy| value by value (the derivative is 0 or 1): train/fused_guard.hpp.
  static constexpr bool nonexpanding_gradient = true;
  static constexpr const char* name = A == quant::Activation::relu ? "ReLU" : "ReLU6";
  static constexpr bool backward_reads_input = false;  // the output tells the same

  // The kernels of kernels/portable/activations.hpp:
  // float:  y = max(x, 0)                      (ReLU6: min(max(x, 0), 6))
  // int8:   y = clamp(x, range.min, range.max) with the range TFLite computes for the
  //         tensor's own parameters: [zero_point, 127] (ReLU6: up to quantize(6)).
  //         The parameters pass through unchanged, as TFLite requires for these ops.
  // `in` and `out` may be the same memory.
  static quant_info_t<E> forward(const NoParams&, input_view_t<ActivationLayer> in,
                                 quant_info_t<E> q, output_view_t<ActivationLayer> out,
                                 std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      if constexpr (A == quant::Activation::relu) {
        kernels::relu_f32(in.span(), out.span());
      } else {
        kernels::relu6_f32(in.span(), out.span());
      }
    } else {
      if constexpr (A == quant::Activation::relu) {
        kernels::relu_s8(in.span(), out.span(), q);
      } else {
        kernels::relu6_s8(in.span(), out.span(), q);
      }
    }
    return q;
  }

  // dx = dy * activation'(y); for int8, in real units: dx = dy where the output code was
  // not clamped.
  template <bool InputGrad, GradientSink Sink>
  static void backward(const NoParams&, const ForwardRecord<ActivationLayer>& forward,
                       TensorView<float, S> dy, TensorView<float, S> dx, const Sink&) noexcept {
    if constexpr (InputGrad) {
      apply_output_activation_grad<ActivationLayer, A>(forward, dy);
      for (std::size_t i = 0; i < S::size; ++i) {
        dx[i] = dy[i];
      }
    }
  }
};

}  // namespace layers

// Rectified linear unit: y = max(x, 0).
struct ReLU {
  static constexpr quant::Activation activation = quant::Activation::relu;
  template <ShapeType S, ActivationElement E>
  using bind = layers::ActivationLayer<S, E, quant::Activation::relu>;
};

// ReLU capped at 6: y = min(max(x, 0), 6).
struct ReLU6 {
  static constexpr quant::Activation activation = quant::Activation::relu6;
  template <ShapeType S, ActivationElement E>
  using bind = layers::ActivationLayer<S, E, quant::Activation::relu6>;
};

template <class Spec>
concept ActivationSpec = std::same_as<Spec, ReLU> || std::same_as<Spec, ReLU6>;

}  // namespace microtl
