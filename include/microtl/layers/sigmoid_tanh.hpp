// Sigmoid and Tanh as layers of their own (TFLite LOGISTIC and TANH), element by element on
// any shape (y has x's shape):
//
//   Sigmoid:  y = 1 / (1 + e^-x)            in (0, 1)
//   Tanh:     y = (e^x - e^-x) / (e^x + e^-x)  in (-1, 1)
//
// float: no intermediate can overflow, so every finite x gives a finite y. Sigmoid takes
//   e^-|x| <= 1 only: y = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) for x < 0, with the
//   library's exp (kernels/float_math.hpp: the same bits on every target); Tanh is
//   std::tanh, which saturates to +-1 (the C library's: it can differ between targets in the
//   last bit).
// int8: TFLite's reference integer kernels (reference_integer_ops::Logistic / Tanh, what
//   TFLite Micro runs), bit-exact, with gemmlowp's fixed-point logistic and tanh. The output
//   quantization is fixed by TFLite: Sigmoid scale 1/256, zero point -128 (y = (q + 128) / 256);
//   Tanh scale 1/128, zero point 0 (y = q / 128). What TFLite's Prepare derives from the input
//   scale is derived here from the quantization that arrives with the data (prepare_smooth_s8,
//   once per call, not per element: no parameters to supply).
//
// Neither fuses into the layer before it (TFLite has no fused sigmoid or tanh).
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/kernels/float_math.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/fixed_point_math.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

namespace layers {

enum class SmoothKind { sigmoid, tanh };

namespace smooth_detail {

constexpr std::int32_t kOneQ0_31 = std::numeric_limits<std::int32_t>::max();

// gemmlowp's logistic of a in Q4.27, the result in Q0.31:
//   a > 0:  1 / (1 + e^-a)        a < 0:  1 - logistic(-a)        a = 0:  1/2
constexpr std::int32_t logistic_q4_27(std::int32_t a) noexcept {
  if (a == 0) {
    return std::int32_t{1} << 30;
  }
  const std::int32_t magnitude = a > 0 ? a : -a;
  const std::int32_t positive =
      quant::one_over_one_plus_x_for_x_in_0_1(quant::exp_on_negative_values<4>(-magnitude));
  return a > 0 ? positive : kOneQ0_31 - positive;
}

// gemmlowp's tanh of a in Q4.27, the result in Q0.31:
//   a > 0:  (1 - e^-2a) / (1 + e^-2a)        a < 0:  -tanh(-a)        a = 0:  0
// e^-2a: the raw bits of -a read as Q5.26 are -2a.
constexpr std::int32_t tanh_q4_27(std::int32_t a) noexcept {
  if (a == 0) {
    return 0;
  }
  const std::int32_t negative_magnitude = a < 0 ? a : -a;
  const std::int32_t positive = quant::one_minus_x_over_one_plus_x_for_x_in_0_1(
      quant::exp_on_negative_values<5>(negative_magnitude));
  return a > 0 ? positive : -positive;
}

}  // namespace smooth_detail

// TFLite's Prepare of int8 LOGISTIC and TANH (the same for both): the input as Q4.27.
//   (multiplier, left_shift) = quantize_multiplier(input_scale * 2^27)
//   radius = floor(15 * 2^27 / 2^left_shift)
// The radius is 15 * (multiplier / 2^31) / input_scale codes: codes with |q - zero_point| >=
// radius stand for |x| >= 7.5 at least, and their outputs are the saturated ends.
struct SmoothInputS8 {
  std::int32_t multiplier;
  int left_shift;
  std::int32_t radius;
  std::int32_t zero_point;
};

constexpr SmoothInputS8 prepare_smooth_s8(quant::QuantParams input) noexcept {
  constexpr std::int64_t kFifteenQ4_27 = std::int64_t{15} << 27;
  const quant::QuantizedMultiplier m =
      quant::quantize_multiplier(static_cast<double>(input.scale) * 134217728.0);  // * 2^27
  // Scales of 16 and more give a shift of 32 or more: radius 0, every code saturates (as in
  // TFLite). Scales below 2^-28 give a negative shift (undefined in TFLite's radius formula):
  // a radius beyond every |q - zp| <= 255, nothing saturates.
  std::int32_t radius = 256;
  if (m.shift >= 32) {
    radius = 0;
  } else if (m.shift >= 0) {
    radius = static_cast<std::int32_t>(kFifteenQ4_27 >> m.shift);
  }
  return {m.multiplier, m.shift, radius, input.zero_point};
}

template <ShapeType S, ActivationElement E, SmoothKind Kind>
struct SmoothActivationLayer {
  using input_shape = S;
  using output_shape = S;
  using input_element = E;
  using output_element = E;
  using Params = NoParams;
  static constexpr const char* name = Kind == SmoothKind::sigmoid ? "Sigmoid" : "Tanh";
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr OutputPlacement placement = OutputPlacement::in_place;

  // TFLite's fixed int8 output quantization.
  static constexpr quant::QuantParams int8_output = Kind == SmoothKind::sigmoid
                                                        ? quant::QuantParams{1.0f / 256.0f, -128}
                                                        : quant::QuantParams{1.0f / 128.0f, 0};

  static float apply(float x) noexcept {
    if constexpr (Kind == SmoothKind::sigmoid) {
      if (x >= 0.0f) {
        return 1.0f / (1.0f + kernels::exp_f32(-x));
      }
      const float e = kernels::exp_f32(x);
      return e / (1.0f + e);
    } else {
      return std::tanh(x);
    }
  }

  // int8, per code q (TFLite's reference kernel):
  //   d = q - zero_point
  //   d <= -radius: -128        d >= radius: 127
  //   otherwise a = d * input_scale in Q4.27     (multiply_by_quantized_multiplier)
  //     Sigmoid: y = clamp(round(logistic(a) * 2^8) - 128)    logistic in Q0.31, / 2^23
  //     Tanh:    y = clamp(round(tanh(a) * 2^7))              tanh in Q0.31, / 2^24
  static std::int8_t apply(std::int8_t q, const SmoothInputS8& in) noexcept {
    const std::int32_t d = std::int32_t{q} - in.zero_point;
    if (d <= -in.radius) {
      return std::numeric_limits<std::int8_t>::min();
    }
    if (d >= in.radius) {
      return std::numeric_limits<std::int8_t>::max();
    }
    const std::int32_t a = quant::multiply_by_quantized_multiplier(d, in.multiplier, in.left_shift);
    std::int32_t y = 0;
    if constexpr (Kind == SmoothKind::sigmoid) {
      y = quant::rounding_divide_by_pot(smooth_detail::logistic_q4_27(a), 23) +
          int8_output.zero_point;
    } else {
      y = quant::rounding_divide_by_pot(smooth_detail::tanh_q4_27(a), 24);
    }
    return static_cast<std::int8_t>(y < -128 ? -128 : (y > 127 ? 127 : y));
  }

  // `in` and `out` may be the same memory.
  static quant_info_t<E> forward(const Params&, input_view_t<SmoothActivationLayer> in,
                                 quant_info_t<E> q, output_view_t<SmoothActivationLayer> out,
                                 std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      for (std::size_t i = 0; i < S::size; ++i) {
        out[i] = apply(in[i]);
      }
      return q;
    } else {
      const SmoothInputS8 prepared = prepare_smooth_s8(q);
      for (std::size_t i = 0; i < S::size; ++i) {
        out[i] = apply(in[i], prepared);
      }
      return int8_output;
    }
  }

  // From the saved output alone (int8: its real value, dequantized):
  //   Sigmoid:  dy/dx = y (1 - y)        Tanh:  dy/dx = 1 - y^2
  //   dx = dy * dy/dx
  static constexpr std::size_t backward_saved_bytes = 0;
  static constexpr bool backward_reads_input = false;  // the derivative is a function of y
  template <bool InputGrad, GradientSink Sink>
  static void backward(const Params&, const ForwardRecord<SmoothActivationLayer>& forward,
                       TensorView<float, S> dy, TensorView<float, S> dx, const Sink&) noexcept {
    if constexpr (InputGrad) {
      for (std::size_t i = 0; i < S::size; ++i) {
        float y = 0.0f;
        if constexpr (std::same_as<E, float>) {
          y = forward.y[i];
        } else {
          y = quant::dequantize(forward.y[i], forward.y_quant);
        }
        const float slope = Kind == SmoothKind::sigmoid ? y * (1.0f - y) : 1.0f - y * y;
        dx[i] = dy[i] * slope;
      }
    }
  }
};

}  // namespace layers

// The logistic function y = 1 / (1 + e^-x).
struct Sigmoid {
  template <ShapeType S, ActivationElement E>
  using bind = layers::SmoothActivationLayer<S, E, layers::SmoothKind::sigmoid>;
};

// The hyperbolic tangent y = tanh(x).
struct Tanh {
  template <ShapeType S, ActivationElement E>
  using bind = layers::SmoothActivationLayer<S, E, layers::SmoothKind::tanh>;
};

}  // namespace microtl
