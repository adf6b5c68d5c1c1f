// The boundaries between the float and the int8 parts of a model.
//
// Quantize: float -> int8 with parameters of its own (TFLite's QUANTIZE):
//   q = clamp(round(x / scale) + zero_point, -128, 127)
// Dequantize: int8 -> float with the parameters that arrive with the data (DEQUANTIZE):
//   x = scale * (q - zero_point)
// A MicroTL model is typically an int8 extractor, a Dequantize, and a float head that trains.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E = float>
struct QuantizeLayer : LayerBase<S, float, QInt8> {
  static_assert(std::same_as<E, float>,
                "microtl::Quantize: its input must be float (it is already int8)");
  using output_shape = S;
  // The output's quantization parameters (chosen by calibration).
  using Params = quant::QuantParams;
  static constexpr const char* name = "Quantize";
  static constexpr bool backward_reads_input = false;

  static quant::QuantParams forward(const Params& params, input_view_t<QuantizeLayer> in, NoQuant,
                                    output_view_t<QuantizeLayer> out,
                                    std::span<std::byte>) noexcept {
    quant::quantize(in.span(), out.span(), params);
    return params;
  }

  // In real units the quantization is the identity where it did not clamp (the rounding is
  // treated as the identity, the straight-through estimate) and constant where it did:
  //   dx = dy [-128 < y < 127]
  // (a code at either end may have been clamped; like an activation's kink, it passes none).
  template <bool InputGrad, GradientSink Sink>
  static void backward(const Params&, const ForwardRecord<QuantizeLayer>& forward,
                       TensorView<float, S> dy, TensorView<float, S> dx, const Sink&) noexcept {
    if constexpr (InputGrad) {
      pass_unclamped_grad<S::size>(forward.y.data(), quant::ActivationRange{-128, 127}, dy.data());
      for (std::size_t i = 0; i < S::size; ++i) {
        dx[i] = dy[i];
      }
    }
  }
};

template <ShapeType S, ActivationElement E = QInt8>
struct DequantizeLayer : LayerBase<S, QInt8, float> {
  static_assert(std::same_as<E, QInt8>,
                "microtl::Dequantize: its input must be int8 (QInt8), it is float");
  using output_shape = S;
  static constexpr const char* name = "Dequantize";
  static constexpr bool backward_reads_input = false;
  static constexpr bool backward_reads_output = false;

  static NoQuant forward(const NoParams&, input_view_t<DequantizeLayer> in, quant::QuantParams q,
                         output_view_t<DequantizeLayer> out, std::span<std::byte>) noexcept {
    quant::dequantize(in.span(), out.span(), q);
    return {};
  }

  // The gradient with respect to the real values the int8 codes stand for is the gradient
  // with respect to the dequantized values: dx = dy (the rounding of the codes is treated as
  // the identity, the straight-through estimate).
  template <bool InputGrad, GradientSink Sink>
  static void backward(const NoParams&, const ForwardRecord<DequantizeLayer>&,
                       TensorView<float, S> dy, TensorView<float, S> dx, const Sink&) noexcept {
    if constexpr (InputGrad) {
      for (std::size_t i = 0; i < S::size; ++i) {
        dx[i] = dy[i];
      }
    }
  }
};

}  // namespace layers

struct Quantize {
  template <ShapeType S, ActivationElement E>
  using bind = layers::QuantizeLayer<S, E>;
};

struct Dequantize {
  template <ShapeType S, ActivationElement E>
  using bind = layers::DequantizeLayer<S, E>;
};

}  // namespace microtl
