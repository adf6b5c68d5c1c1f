// Affine int8 quantization parameters and the conversions between real and quantized values,
// following TFLite's int8 quantization spec:
//
//   real = scale * (q - zero_point)
//
// Activations are per-tensor asymmetric (any zero point in [-128, 127]); weights are
// symmetric (zero point 0), per output channel, in [-127, 127]; biases are int32 with
// scale = input_scale * weight_scale and zero point 0.
//
// quantize / dequantize run per element on the device: float only, no double. The
// calibration helpers (choose_activation_params, symmetric_weight_scale,
// quantize_symmetric_weight, quantize_bias) are setup code and may use double to match
// TFLite's tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/quant/rounding.hpp"

namespace microtl::quant {

struct QuantParams {
  float scale;              // > 0: the real size of one quantization step
  std::int32_t zero_point;  // in [-128, 127]: the code that represents real 0 exactly
};

namespace detail {

constexpr std::int32_t clamp_int32(std::int32_t value, std::int32_t low,
                                   std::int32_t high) noexcept {
  return value < low ? low : (value > high ? high : value);
}

}  // namespace detail

// TFLite's AffineQuantize for one element:
//
//   q = clamp(round(x / scale) + zero_point, -128, 127),  round = half away from zero
//
// The division is in float, as TFLite does it (val / static_cast<float>(scale)).
// Values whose quotient lies beyond +-512 saturate whatever the zero point; they are clamped
// before the float-to-int conversion so it is always defined. NaN gives -128.
constexpr std::int8_t quantize(float x, QuantParams params) noexcept {
  // Any |x / scale| >= 512 lands outside [-128, 127] for every zero point in [-128, 127].
  constexpr float kSaturating = 512.0f;
  float steps = x / params.scale;
  if (!(steps > -kSaturating)) {  // also catches NaN
    steps = -kSaturating;
  } else if (steps > kSaturating) {
    steps = kSaturating;
  }
  const std::int32_t q = detail::round_half_away_from_zero(steps) + params.zero_point;
  return static_cast<std::int8_t>(detail::clamp_int32(q, -128, 127));
}

// TFLite's Dequantize for one element: x = scale * (q - zero_point).
// TFLite computes this in double and rounds to float once. Here it is one float multiply:
// q - zero_point is an integer of at most 9 bits, so the exact product has at most 24 + 9
// significant bits, which double holds exactly; both ways therefore round the same exact
// product once, and the results are identical.
constexpr float dequantize(std::int8_t q, QuantParams params) noexcept {
  return params.scale * static_cast<float>(std::int32_t{q} - params.zero_point);
}

// quantize() over a whole tensor: output[i] = quantize(input[i], params).
template <std::size_t N>
constexpr void quantize(std::span<const float, N> input, std::span<std::int8_t, N> output,
                        QuantParams params) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    output[i] = quantize(input[i], params);
  }
}

// dequantize() over a whole tensor: output[i] = dequantize(input[i], params).
template <std::size_t N>
constexpr void dequantize(std::span<const std::int8_t, N> input, std::span<float, N> output,
                          QuantParams params) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    output[i] = dequantize(input[i], params);
  }
}

// Activation parameters from a calibrated range [min, max], as TFLite's
// ChooseQuantizationParams<int8_t> (used by its converter and calibrator) computes them:
//
//   min = min(min, 0), max = max(max, 0)       the range must contain real 0
//   scale = (max - min) / 255                  255 = 127 - (-128) steps
//   zero_point = round(-128 - min / scale)     from the pair (min, -128); TFLite takes the
//                (or 127 - max / scale)        pair (max, 127) instead when its terms are
//                                              smaller, which has less rounding error
//   zero_point clamped to [-128, 127]
//
// The arithmetic is in double, like TFLite's, and the scale is then stored as float.
// Deviation: for the empty range min == max == 0, TFLite returns scale 0, which cannot be
// divided by; this returns scale 1 (any positive scale represents an all-zero tensor).
constexpr QuantParams choose_activation_params(float min, float max) noexcept {
  const double low = min < 0.0f ? static_cast<double>(min) : 0.0;
  const double high = max > 0.0f ? static_cast<double>(max) : 0.0;
  if (low == high) {
    return {1.0f, 0};
  }
  constexpr double kQmin = -128.0;
  constexpr double kQmax = 127.0;
  const double scale = (high - low) / (kQmax - kQmin);
  const double zero_point_from_min = kQmin - low / scale;
  const double zero_point_from_max = kQmax - high / scale;
  // Sum of the magnitudes of the terms: the rounding error of each candidate grows with it.
  // (low <= 0 <= high, so the magnitudes are -kQmin, -low / scale, kQmax, high / scale.)
  const double error_from_min = -kQmin - low / scale;
  const double error_from_max = kQmax + high / scale;
  const double zero_point =
      error_from_min < error_from_max ? zero_point_from_min : zero_point_from_max;
  std::int32_t nudged = 0;
  if (zero_point < kQmin) {
    nudged = -128;
  } else if (zero_point > kQmax) {
    nudged = 127;
  } else {
    nudged = static_cast<std::int32_t>(detail::round_half_away_from_zero(zero_point));
  }
  return {static_cast<float>(scale), nudged};
}

// Scale of one output channel of symmetric int8 weights (zero point 0), as TFLite's
// per-channel weight quantization chooses it: the largest magnitude maps to 127.
//
//   scale = max_abs / 127
//
// Deviation: an all-zero channel (max_abs == 0) gets scale 1 instead of 0, so that the
// bias scale and the requantization multiplier derived from it stay finite.
constexpr float symmetric_weight_scale(float max_abs) noexcept {
  return max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
}

// The int8 code of one symmetric weight (zero point 0) with its channel's scale:
//
//   q = clamp(round(weight / scale), -127, 127)        round = half away from zero
//
// The division is in float. -128 is never produced: TFLite's int8 weights are symmetric in
// [-127, 127]. NaN gives 0. (TFLite's quantizer multiplies by 127 / max_abs instead of
// dividing by max_abs / 127; the two quotients can round to different codes when one lies
// within a float rounding error of a tie.)
constexpr std::int8_t quantize_symmetric_weight(float weight, float scale) noexcept {
  constexpr float kLimit = 127.0f;
  const float steps = weight / scale;
  if (steps != steps) {  // NaN
    return 0;
  }
  if (steps >= kLimit) {
    return 127;
  }
  if (steps <= -kLimit) {
    return -127;
  }
  return static_cast<std::int8_t>(detail::round_half_away_from_zero(steps));
}

// A bias as TFLite's quantizer stores it (SymmetricPerLayer/PerChannelBiasQuantize):
//
//   scale = input_scale * weight_scale                 (float product)
//   q = round(bias * (1 / scale))                      ties away from zero; 1 / scale is
//                                                      computed in double, then kept as float
//   q clamped to [-(2^31 - 1), 2^31 - 1]               symmetric range
//
// A zero scale gives 0, as in TFLite.
constexpr float bias_inverse_scale(float input_scale, float weight_scale) noexcept {
  const float scale = input_scale * weight_scale;
  return scale == 0.0f ? 0.0f : static_cast<float>(1.0 / static_cast<double>(scale));
}

// The second half of quantize_bias: q from steps = bias * bias_inverse_scale(...), rounded
// and clamped (for code that keeps the inverse scale, as a trained int8 bias does).
constexpr std::int32_t quantize_bias_steps(float steps) noexcept {
  // 2^31 is the first float above int32's range; every float below it converts exactly
  // (floats from 2^24 up are integers already), so only the ends need clamping.
  constexpr float kTwoPow31 = 2147483648.0f;
  constexpr std::int32_t kLimit = 2147483647;
  if (steps != steps) {  // NaN
    return 0;
  }
  if (steps >= kTwoPow31) {
    return kLimit;
  }
  if (steps <= -kTwoPow31) {
    return -kLimit;
  }
  return detail::round_half_away_from_zero(steps);
}

constexpr std::int32_t quantize_bias(float bias, float input_scale, float weight_scale) noexcept {
  return quantize_bias_steps(bias * bias_inverse_scale(input_scale, weight_scale));
}

}  // namespace microtl::quant
