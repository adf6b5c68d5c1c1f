// quantize / dequantize and the calibration helpers, against TFLite's int8 rules.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <span>

#include "../support/random.hpp"
#include "microtl/quant/qparams.hpp"

namespace {

using microtl::quant::choose_activation_params;
using microtl::quant::dequantize;
using microtl::quant::quantize;
using microtl::quant::quantize_bias;
using microtl::quant::quantize_symmetric_weight;
using microtl::quant::QuantParams;
using microtl::quant::symmetric_weight_scale;

constexpr QuantParams kHalfStep{0.5f, 10};  // real = 0.5 * (q - 10)

static_assert(quantize(1.25f, kHalfStep) == 13);
static_assert(dequantize(std::int8_t{13}, kHalfStep) == 1.5f);

}  // namespace

// TFLite rule (AffineQuantize): q = clamp(round(x / scale) + zero_point, -128, 127) with
// round half away from zero. Scale 0.5 makes every quotient exact, so the ties are real ties.
TEST_CASE("quantize: rounding ties away from zero and clamping") {
  // 1.25 / 0.5 = 2.5 -> 3, + 10 = 13.
  CHECK(quantize(1.25f, kHalfStep) == 13);
  // -1.25 / 0.5 = -2.5 -> -3, + 10 = 7.
  CHECK(quantize(-1.25f, kHalfStep) == 7);
  // 0.75 / 0.5 = 1.5 -> 2 -> 12; -0.75 -> -2 -> 8.
  CHECK(quantize(0.75f, kHalfStep) == 12);
  CHECK(quantize(-0.75f, kHalfStep) == 8);
  // 0.6 / 0.5 = 1.2 -> 1 -> 11.
  CHECK(quantize(0.6f, kHalfStep) == 11);
  // Real 0 is exactly the zero point.
  CHECK(quantize(0.0f, kHalfStep) == 10);
  // 58.5 / 0.5 = 117, + 10 = 127: the top code; 59 -> 128 clamps to 127.
  CHECK(quantize(58.5f, kHalfStep) == 127);
  CHECK(quantize(59.0f, kHalfStep) == 127);
  // -69 / 0.5 = -138, + 10 = -128; anything lower clamps.
  CHECK(quantize(-69.0f, kHalfStep) == -128);
  CHECK(quantize(-69.5f, kHalfStep) == -128);
  // Far outside the range, including beyond int32, saturates without overflow.
  CHECK(quantize(1e30f, kHalfStep) == 127);
  CHECK(quantize(-1e30f, kHalfStep) == -128);
}

// TFLite rule (Dequantize): x = scale * (q - zero_point).
TEST_CASE("dequantize: scale times offset code") {
  // 0.5 * (13 - 10) = 1.5.
  CHECK(dequantize(std::int8_t{13}, kHalfStep) == 1.5f);
  // 0.5 * (-128 - 10) = -69.
  CHECK(dequantize(std::int8_t{-128}, kHalfStep) == -69.0f);
  // 0.5 * (127 - 10) = 58.5.
  CHECK(dequantize(std::int8_t{127}, kHalfStep) == 58.5f);
  CHECK(dequantize(std::int8_t{10}, kHalfStep) == 0.0f);
}

// Property: for x inside the representable range, dequantize(quantize(x)) is within half a
// step of x (plus float rounding of the division), and the span versions agree with the
// scalar ones.
TEST_CASE("quantize / dequantize: round trip within half a step") {
  const QuantParams params = choose_activation_params(-3.0f, 5.0f);
  const float low = params.scale * static_cast<float>(-128 - params.zero_point);
  const float high = params.scale * static_cast<float>(127 - params.zero_point);
  microtl_test::Xorshift32 random(42U);
  std::array<float, 256> reals{};
  for (float& x : reals) {
    x = random.uniform_float(low, high);
  }
  std::array<std::int8_t, 256> codes{};
  std::array<float, 256> back{};
  quantize(std::span<const float, 256>(reals), std::span<std::int8_t, 256>(codes), params);
  dequantize(std::span<const std::int8_t, 256>(codes), std::span<float, 256>(back), params);
  const float tolerance = params.scale * 0.5f * 1.0001f;
  for (std::size_t i = 0; i < reals.size(); ++i) {
    REQUIRE(codes[i] == quantize(reals[i], params));
    REQUIRE(back[i] == dequantize(codes[i], params));
    REQUIRE(back[i] - reals[i] <= tolerance);
    REQUIRE(reals[i] - back[i] <= tolerance);
  }
}

// TFLite rule (ChooseQuantizationParams<int8_t>): the range is widened to contain 0,
// scale = (max - min) / 255, zero_point = the rounded solution of the affine equation from
// the end with the smaller terms, clamped to [-128, 127].
TEST_CASE("choose_activation_params: TFLite calibration") {
  // [-1, 3]: scale = 4/255; from min: -128 - (-1) / (4/255) = -128 + 63.75 = -64.25 (terms
  // 128 + 63.75), from max: 127 - 191.25 = -64.25 (terms 127 + 191.25) -> -64.25 -> -64.
  const QuantParams asymmetric = choose_activation_params(-1.0f, 3.0f);
  CHECK(asymmetric.scale == doctest::Approx(4.0 / 255.0).epsilon(1e-6));
  CHECK(asymmetric.zero_point == -64);
  // [0, 2.55]: only non-negative values, zero point at the bottom code.
  const QuantParams non_negative = choose_activation_params(0.0f, 2.55f);
  CHECK(non_negative.scale == doctest::Approx(0.01).epsilon(1e-6));
  CHECK(non_negative.zero_point == -128);
  // [-2.55, 0]: only non-positive values, zero point at the top code.
  const QuantParams non_positive = choose_activation_params(-2.55f, 0.0f);
  CHECK(non_positive.zero_point == 127);
  // [2, 5] does not contain 0: widened to [0, 5].
  const QuantParams widened = choose_activation_params(2.0f, 5.0f);
  CHECK(widened.scale == doctest::Approx(5.0 / 255.0).epsilon(1e-6));
  CHECK(widened.zero_point == -128);
  // [-5, -2] widened to [-5, 0].
  CHECK(choose_activation_params(-5.0f, -2.0f).zero_point == 127);
  // [-1.28, 1.27]: scale 0.01, zero point -128 + 128 = 0.
  const QuantParams centered = choose_activation_params(-1.28f, 1.27f);
  CHECK(centered.zero_point == 0);
  // Real 0 is always exactly representable: quantize(0) = zero_point, dequantize gives 0.
  CHECK(quantize(0.0f, asymmetric) == asymmetric.zero_point);
  CHECK(dequantize(static_cast<std::int8_t>(asymmetric.zero_point), asymmetric) == 0.0f);
}

// TFLite rule: of the two candidate zero points, the one from the end with the smaller
// terms is used (for a symmetric range, the max end: 127 + max/scale < 128 + -min/scale).
// A symmetric range [-a, a] puts the exact zero point at -0.5, a tie, so the double rounding
// error of the chosen candidate decides it; these results pin which candidate is used:
//   [-1.21f, 1.21f]: from min -0.5000000000000142 (-> -1), from max -0.4999999999999858 (-> 0)
//   [-1.39f, 1.39f]: from min -0.4999999999999858 (-> 0),  from max -0.5000000000000142 (-> -1)
TEST_CASE("choose_activation_params: zero point from the end with the smaller terms") {
  CHECK(choose_activation_params(-1.21f, 1.21f).zero_point == 0);
  CHECK(choose_activation_params(-1.39f, 1.39f).zero_point == -1);
}

// Documented deviation: the empty range {0} gets scale 1 (TFLite: scale 0), zero point 0.
TEST_CASE("choose_activation_params: empty range") {
  const QuantParams params = choose_activation_params(0.0f, 0.0f);
  CHECK(params.scale == 1.0f);
  CHECK(params.zero_point == 0);
}

// TFLite rule (per-channel symmetric weights): scale = max |w| / 127, zero point 0.
TEST_CASE("symmetric_weight_scale: largest magnitude maps to 127") {
  CHECK(symmetric_weight_scale(1.27f) == 1.27f / 127.0f);
  const float scale = symmetric_weight_scale(0.5f);
  CHECK(quantize(0.5f, QuantParams{scale, 0}) == 127);
  CHECK(quantize(-0.5f, QuantParams{scale, 0}) == -127);
  // Documented deviation: an all-zero channel gets scale 1 (finite multipliers).
  CHECK(symmetric_weight_scale(0.0f) == 1.0f);
}

// TFLite's symmetric int8 weights: q = clamp(round(w / scale), -127, 127), ties away from
// zero, zero point 0 (as a division; see qparams.hpp). Scale 0.5 makes every quotient exact,
// so the ties are real ties.
TEST_CASE("quantize_symmetric_weight: rounding ties away from zero, symmetric clamp") {
  // 1.25 / 0.5 = 2.5 -> 3; -2.5 -> -3; 0.75 / 0.5 = 1.5 -> 2; 0.2 / 0.5 = 0.4 -> 0.
  CHECK(quantize_symmetric_weight(1.25f, 0.5f) == 3);
  CHECK(quantize_symmetric_weight(-1.25f, 0.5f) == -3);
  CHECK(quantize_symmetric_weight(0.75f, 0.5f) == 2);
  CHECK(quantize_symmetric_weight(0.2f, 0.5f) == 0);
  CHECK(quantize_symmetric_weight(-0.2f, 0.5f) == 0);
  // 63.5 / 0.5 = 127 exactly; 63.25 / 0.5 = 126.5 -> 127; -126.5 -> -127.
  CHECK(quantize_symmetric_weight(63.5f, 0.5f) == 127);
  CHECK(quantize_symmetric_weight(63.25f, 0.5f) == 127);
  CHECK(quantize_symmetric_weight(-63.25f, 0.5f) == -127);
  // -63.75 / 0.5 = -127.5 would round to -128: the range is [-127, 127].
  CHECK(quantize_symmetric_weight(-63.75f, 0.5f) == -127);
  CHECK(quantize_symmetric_weight(63.75f, 0.5f) == 127);
  CHECK(quantize_symmetric_weight(-1e30f, 0.5f) == -127);
  CHECK(quantize_symmetric_weight(1e30f, 0.5f) == 127);
  // The channel's largest magnitude maps to +-127 with symmetric_weight_scale.
  const float scale = symmetric_weight_scale(0.3f);
  CHECK(quantize_symmetric_weight(0.3f, scale) == 127);
  CHECK(quantize_symmetric_weight(-0.3f, scale) == -127);
  // An all-zero channel (scale 1) stays zero.
  CHECK(quantize_symmetric_weight(0.0f, symmetric_weight_scale(0.0f)) == 0);
  // NaN gives 0.
  CHECK(quantize_symmetric_weight(std::numeric_limits<float>::quiet_NaN(), 0.5f) == 0);
}

// TFLite rule (SymmetricPerChannelBiasQuantize): q = round(bias * (1 / (input_scale *
// weight_scale))), ties away from zero, clamped to [-(2^31 - 1), 2^31 - 1].
TEST_CASE("quantize_bias: scale is input_scale * weight_scale") {
  // Scales 0.5 and 0.25: bias scale 0.125, inverse exactly 8.
  // 0.3125 * 8 = 2.5 -> 3; -0.3125 * 8 = -2.5 -> -3 (ties away from zero).
  CHECK(quantize_bias(0.3125f, 0.5f, 0.25f) == 3);
  CHECK(quantize_bias(-0.3125f, 0.5f, 0.25f) == -3);
  // 1 * 8 = 8.
  CHECK(quantize_bias(1.0f, 0.5f, 0.25f) == 8);
  // 0.5 / (0.5 * 0.01): 1 / 0.005f = 200.0000045 -> 200.0f; 0.5 * 200 = 100.
  CHECK(quantize_bias(0.5f, 0.5f, 0.01f) == 100);
  // Saturation is symmetric: never INT32_MIN.
  CHECK(quantize_bias(1e30f, 0.5f, 0.25f) == 2147483647);
  CHECK(quantize_bias(-1e30f, 0.5f, 0.25f) == -2147483647);
  // Zero scale gives 0, as TFLite's inverse of 0 is taken as 0.
  CHECK(quantize_bias(1.0f, 0.0f, 0.25f) == 0);
}
