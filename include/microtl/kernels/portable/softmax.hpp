// Softmax over the last axis, int8 (TFLite SOFTMAX, int8 reference kernel: gemmlowp
// fixed-point exp, bit-exact) and float32.
//
// Arguments of softmax_s8<Depth, Rows = 1>:
//   input   [Rows][Depth]   int8 logits, any scale and zero point (only differences matter)
//   output  [Rows][Depth]   int8 probabilities with TFLite's fixed output quantization:
//                           scale 1/256, zero point -128 (p = (q + 128) / 256)
//   params  from prepare_softmax_s8(beta, input_scale), once at setup
//   Depth < 4096 (the Q12.19 sum of exps must not overflow).
//
// The algorithm, per row (TFLite's reference, with its fixed-point formats):
//   d[i]   = input[i] - max(input)                          <= 0, in input codes
//   skip i when d[i] < diff_min (e^(beta * scale * d) is negligible): output -128
//   s[i]   = d[i] * beta * input_scale in Q5.26             (multiply_by_quantized_multiplier,
//                                                            a left shift >= 0)
//   e[i]   = exp(s[i]) in Q0.31                             (quant::exp_on_negative_values)
//   sum    = sum of e[i] in Q12.19                          (each term rounded to Q12.19)
//   1/sum  = r * 2^-k with r in Q0.31                       (quant::reciprocal)
//   output = round(r * e[i] / 2^(k + 23)) - 128, clamped    (p * 256 with p = e[i] / sum)
//
// softmax_f32<Depth, Rows = 1>(input, output, beta): the same layout in float, TFLite's float
// reference: output[i] = e^((x[i] - max) * beta) / sum_j e^((x[j] - max) * beta).
//
// Deviation: TFLite stops with an error when k + 23 > 31 (a sum of exps of 512 or more, so
// only rows of at least 512 elements): its shift would not be defined. Here that division is
// carried out: every such probability is below 1/512, so it rounds to 0 (output -128).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/core/assert.hpp"
#include "microtl/kernels/float_math.hpp"
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/fixed_point_math.hpp"
#include "microtl/quant/multiplier.hpp"

namespace microtl::kernels {

struct SoftmaxParams {
  std::int32_t input_beta_multiplier;  // beta * input_scale * 2^26 as a quantized multiplier
  int input_beta_left_shift;           // its shift, >= 0
  std::int32_t diff_min;               // differences below this are skipped (<= 0)
};

// TFLite's PreprocessSoftmaxScaling and CalculateInputRadius for 5 integer bits (Q5.26):
//
//   real = min(beta * input_scale * 2^(31 - 5), 2^31 - 1)
//   (multiplier, left_shift) = quantize_multiplier(real), left_shift must be >= 0
//   diff_min = -floor((2^5 - 1) * 2^(31 - 5) / 2^left_shift)
//
// diff_min is the most negative difference whose rescaled value still fits Q5.26 (-31).
// Setup code: double is fine here. Precondition: beta * input_scale >= 2^-27.
constexpr SoftmaxParams prepare_softmax_s8(float beta, float input_scale) noexcept {
  constexpr int kScaledDiffIntegerBits = 5;
  constexpr double kTwoPow26 = 67108864.0;             // 2^(31 - 5)
  constexpr double kLargestMultiplier = 2147483647.0;  // 2^31 - 1
  double real = static_cast<double>(beta) * static_cast<double>(input_scale) * kTwoPow26;
  real = real < kLargestMultiplier ? real : kLargestMultiplier;
  const quant::QuantizedMultiplier multiplier = quant::quantize_multiplier(real);
  MICROTL_ASSERT(multiplier.shift >= 0);
  // (2^5 - 1) * 2^26 / 2^shift, floored (it is positive: truncation is the floor).
  const double radius = static_cast<double>((1 << kScaledDiffIntegerBits) - 1) * kTwoPow26 /
                        static_cast<double>(std::int64_t{1} << multiplier.shift);
  return {multiplier.multiplier, multiplier.shift, -static_cast<std::int32_t>(radius)};
}

template <std::size_t Depth, std::size_t Rows = 1>
void softmax_s8(std::span<const std::int8_t, Rows * Depth> input,
                std::span<std::int8_t, Rows * Depth> output, const SoftmaxParams& params) noexcept {
  static_assert(Depth >= 1 && Rows >= 1, "extents must be at least 1");
  static_assert(Depth < 4096, "the Q12.19 sum of exponentials could overflow");
  constexpr int kScaledDiffIntegerBits = 5;     // e's input format: Q5.26
  constexpr int kAccumulationIntegerBits = 12;  // the sum's format: Q12.19
  constexpr int kOutputBits = 8;

  // e^(beta * input_scale * d) in Q0.31 for a difference d in [diff_min, 0].
  const auto exp_of_difference = [&params](std::int32_t difference) noexcept {
    const std::int32_t scaled = quant::multiply_by_quantized_multiplier(
        difference, params.input_beta_multiplier, params.input_beta_left_shift);
    return quant::exp_on_negative_values<kScaledDiffIntegerBits>(scaled);
  };

  for (std::size_t row = 0; row < Rows; ++row) {
    const std::int8_t* logits = input.data() + row * Depth;
    std::int8_t* probabilities = output.data() + row * Depth;

    // max = max_i logits[i]
    std::int32_t max = -128;
    for (std::size_t i = 0; i < Depth; ++i) {
      max = logits[i] > max ? logits[i] : max;
    }

    // sum = sum over the non-negligible i of e[i] (Q0.31 rounded to Q12.19)
    std::int32_t sum_of_exps = 0;
    for (std::size_t i = 0; i < Depth; ++i) {
      const std::int32_t difference = logits[i] - max;
      if (difference >= params.diff_min) {
        sum_of_exps += quant::saturating_rounding_multiply_by_pot<-kAccumulationIntegerBits>(
            exp_of_difference(difference));
      }
    }

    // 1 / sum = r * 2^-k; output = round(r * e[i] / 2^(k + 31 - 8)) - 128
    const quant::Reciprocal reciprocal = quant::reciprocal<kAccumulationIntegerBits>(sum_of_exps);
    const int exponent = reciprocal.bits_over_unit + 31 - kOutputBits;
    for (std::size_t i = 0; i < Depth; ++i) {
      const std::int32_t difference = logits[i] - max;
      std::int32_t code = -128;
      if (difference >= params.diff_min) {
        const std::int32_t probability_q0_31 = quant::saturating_rounding_doubling_high_mul(
            reciprocal.scale, exp_of_difference(difference));
        // probability_q0_31 < 2^31, so for exponent >= 32 the quotient is below 1/2: 0.
        const std::int32_t scaled =
            exponent <= 31 ? quant::rounding_divide_by_pot(probability_q0_31, exponent) : 0;
        code = scaled - 128;
        code = code > 127 ? 127 : code;
      }
      probabilities[i] = static_cast<std::int8_t>(code);
    }
  }
}

template <std::size_t Depth, std::size_t Rows = 1>
void softmax_f32(std::span<const float, Rows * Depth> input, std::span<float, Rows * Depth> output,
                 float beta = 1.0f) noexcept {
  static_assert(Depth >= 1 && Rows >= 1, "extents must be at least 1");
  for (std::size_t row = 0; row < Rows; ++row) {
    const float* logits = input.data() + row * Depth;
    float* probabilities = output.data() + row * Depth;
    // Subtracting the max changes nothing mathematically and keeps every exp <= 1.
    float max = logits[0];
    for (std::size_t i = 1; i < Depth; ++i) {
      max = logits[i] > max ? logits[i] : max;
    }
    // output[i] = e^((x[i] - max) * beta) / sum_j e^((x[j] - max) * beta)
    float sum = 0.0f;
    for (std::size_t i = 0; i < Depth; ++i) {
      probabilities[i] = exp_f32((logits[i] - max) * beta);
      sum += probabilities[i];
    }
    for (std::size_t i = 0; i < Depth; ++i) {
      probabilities[i] /= sum;
    }
  }
}

}  // namespace microtl::kernels
