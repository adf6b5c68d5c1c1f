// Fused activations of int8 kernels, as the integer range their outputs are clamped to.
//
// In TFLite a fused ReLU/ReLU6 costs nothing at inference: the kernel clamps its requantized
// output to the codes that represent [0, inf) or [0, 6] instead of [-128, 127].
#pragma once

#include <cstdint>

#include "microtl/quant/qparams.hpp"
#include "microtl/quant/rounding.hpp"

namespace microtl::quant {

enum class Activation : std::uint8_t { none, relu, relu6 };

// Inclusive range of output codes: min <= output <= max, within [-128, 127].
struct ActivationRange {
  std::int32_t min;
  std::int32_t max;

  friend constexpr bool operator==(const ActivationRange&,
                                   const ActivationRange&) noexcept = default;
};

namespace detail {

// TFLite's Quantize helper of CalculateActivationRangeQuantized, without the int8 clamp:
// zero_point + round(real / scale), in float, ties away from zero. The quotient is limited
// to +-2^24 first so the conversion is always defined (the result is clamped to
// [-128, 127] by the caller anyway; TFLite reports an error where it would not fit).
constexpr std::int32_t quantize_unclamped(float real, QuantParams output) noexcept {
  constexpr float kLimit = 16777216.0f;
  float steps = real / output.scale;
  if (!(steps > -kLimit)) {
    steps = -kLimit;
  } else if (steps > kLimit) {
    steps = kLimit;
  }
  return output.zero_point + round_half_away_from_zero(steps);
}

}  // namespace detail

// TFLite's CalculateActivationRangeQuantized for an int8 output with parameters `output`:
//
//   none:  [-128, 127]
//   relu:  [max(-128, quantize(0)), 127]                   quantize(0) = zero_point
//   relu6: [max(-128, quantize(0)), min(127, quantize(6))]
//
// where quantize(r) = zero_point + round(r / scale), not clamped to int8 before the max/min.
constexpr ActivationRange activation_range(Activation activation, QuantParams output) noexcept {
  constexpr std::int32_t kQmin = -128;
  constexpr std::int32_t kQmax = 127;
  ActivationRange range{kQmin, kQmax};
  if (activation == Activation::relu || activation == Activation::relu6) {
    const std::int32_t zero = detail::quantize_unclamped(0.0f, output);
    range.min = zero > kQmin ? zero : kQmin;
  }
  if (activation == Activation::relu6) {
    const std::int32_t six = detail::quantize_unclamped(6.0f, output);
    range.max = six < kQmax ? six : kQmax;
  }
  return range;
}

// The real-valued clamp of the float kernels: none (-inf, inf), relu [0, inf), relu6 [0, 6].
constexpr float apply_activation(float x, Activation activation) noexcept {
  if (activation == Activation::none) {
    return x;
  }
  const float low_clamped = x > 0.0f ? x : 0.0f;
  if (activation == Activation::relu6 && low_clamped > 6.0f) {
    return 6.0f;
  }
  return low_clamped;
}

}  // namespace microtl::quant
