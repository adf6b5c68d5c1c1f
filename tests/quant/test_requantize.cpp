// requantize: the int32 accumulator -> int8 output stage of every int8 kernel.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include "microtl/quant/requantize.hpp"

namespace {

using microtl::quant::ActivationRange;
using microtl::quant::quantize_multiplier;
using microtl::quant::QuantizedMultiplier;
using microtl::quant::requantize;

constexpr ActivationRange kFullRange{-128, 127};
constexpr QuantizedMultiplier kOneHundredth = quantize_multiplier(0.01);  // {1374389535, -6}

static_assert(requantize(1000, kOneHundredth, 5, kFullRange) == 15);

}  // namespace

// TFLite rule: output = clamp(MultiplyByQuantizedMultiplier(acc) + output_zero_point,
// act_min, act_max).
TEST_CASE("requantize: hand-computed values") {
  // 1000 * 0.01: SRDHM(1000, 1374389535) = 640.5000001 -> 640, 640 / 2^6 = 10; + 5 = 15.
  CHECK(requantize(1000, kOneHundredth, 5, kFullRange) == 15);
  // -1000 * 0.01: SRDHM = (-1374389535000 + 1 - 2^30) / 2^31 = -640.4999 -> -640 -> -10;
  // + 5 = -5.
  CHECK(requantize(-1000, kOneHundredth, 5, kFullRange) == -5);
  // 250 * 0.01 = 2.5: SRDHM(250, 1374389535) = (343597383750 + 2^30) / 2^31 = 160.5000 -> 160,
  // 160 / 64 = 2.5 -> 3 (away from zero); + 0 = 3.
  CHECK(requantize(250, kOneHundredth, 0, kFullRange) == 3);
  // -250 * 0.01 = -2.5: SRDHM = (-343597383750 + 1 - 2^30) / 2^31 = -160.4999 -> -160,
  // -160 / 64 = -2.5 -> -3.
  CHECK(requantize(-250, kOneHundredth, 0, kFullRange) == -3);
  // A multiplier above one: 3 * 3.0 = 9, + -128 = -119.
  CHECK(requantize(3, quantize_multiplier(3.0), -128, kFullRange) == -119);
}

// TFLite rule: the zero point is added before the clamp, and the clamp is to the activation
// range (fused relu / relu6), not just to int8.
TEST_CASE("requantize: clamping to int8 and to the activation range") {
  // 100000 * 0.01 = 1000, + 5 -> clamped to 127.
  CHECK(requantize(100000, kOneHundredth, 5, kFullRange) == 127);
  CHECK(requantize(-100000, kOneHundredth, 5, kFullRange) == -128);
  // relu with zero point 5: range [5, 127]; -1000 * 0.01 + 5 = -5 -> 5.
  CHECK(requantize(-1000, kOneHundredth, 5, ActivationRange{5, 127}) == 5);
  // relu6 range [5, 29]: 3000 * 0.01 + 5 = 35 -> 29.
  CHECK(requantize(3000, kOneHundredth, 5, ActivationRange{5, 29}) == 29);
  // Accumulators at the int32 limits with a multiplier near 1: no overflow in the addition.
  const QuantizedMultiplier almost_one{2147483647, 0};
  CHECK(requantize(2147483647, almost_one, 127, kFullRange) == 127);
  CHECK(requantize(-2147483647 - 1, almost_one, -128, kFullRange) == -128);
}

// Property: requantize is monotonic (non-decreasing) in the accumulator, for multipliers
// below and above one, several zero points and activation ranges.
TEST_CASE("requantize: monotonic in the accumulator") {
  const std::array<QuantizedMultiplier, 4> multipliers = {
      quantize_multiplier(0.0037), quantize_multiplier(0.5), quantize_multiplier(0.999),
      quantize_multiplier(2.7)};
  const std::array<ActivationRange, 2> ranges = {kFullRange, ActivationRange{-20, 40}};
  for (const QuantizedMultiplier& multiplier : multipliers) {
    for (const ActivationRange& range : ranges) {
      for (const std::int32_t zero_point : {-128, -3, 0, 77}) {
        // One CHECK per combination (not per accumulator) keeps the test fast in QEMU.
        int violations = 0;
        std::int8_t previous = requantize(-40000, multiplier, zero_point, range);
        for (std::int32_t acc = -40000 + 7; acc <= 40000; acc += 7) {
          const std::int8_t current = requantize(acc, multiplier, zero_point, range);
          if (current < previous || current < range.min || current > range.max) {
            ++violations;
          }
          previous = current;
        }
        CHECK(violations == 0);
      }
    }
  }
}

// Rounding::once (TFLite 2.x's FULLY_CONNECTED): the exact product rounded once, ties toward
// +infinity, where the default rounds twice (high multiply, then the power-of-two division).
TEST_CASE("multiply_by_quantized_multiplier_single_rounding: hand-worked values") {
  using microtl::quant::multiply_by_quantized_multiplier;
  using microtl::quant::multiply_by_quantized_multiplier_single_rounding;
  constexpr std::int32_t kHalf = std::int32_t{1} << 30;  // 0.5 in Q0.31
  // -6 * 0.5 * 2^-1 = -1.5: once -> -1 (toward +inf); twice -> -3.5 -> -3, then -1.5 -> -2.
  CHECK(multiply_by_quantized_multiplier_single_rounding(-6, kHalf, -1) == -1);
  CHECK(multiply_by_quantized_multiplier(-6, kHalf, -1) == -2);
  // 6 * 0.25 = 1.5 -> 2 both ways; 5 * 0.25 = 1.25 -> 1; -5 * 0.25 = -1.25 -> -1.
  CHECK(multiply_by_quantized_multiplier_single_rounding(6, kHalf, -1) == 2);
  CHECK(multiply_by_quantized_multiplier_single_rounding(5, kHalf, -1) == 1);
  CHECK(multiply_by_quantized_multiplier_single_rounding(-5, kHalf, -1) == -1);
  // Left shifts: 3 * 0.5 * 2^2 = 6; 1000 * 0.75 * 2^3 = 6000.
  CHECK(multiply_by_quantized_multiplier_single_rounding(3, kHalf, 2) == 6);
  CHECK(multiply_by_quantized_multiplier_single_rounding(1000, 3 * (kHalf / 2), 3) == 6000);
  // Shift -31 (the smallest): (2^31 - 1)^2 / 2^62 is just below 1: it rounds to 1.
  CHECK(multiply_by_quantized_multiplier_single_rounding(2147483647, 2147483647, -31) == 1);
  // The two differ by at most one, and only near ties (under 1 % of these accumulators).
  int differing = 0;
  int count = 0;
  for (std::int32_t x = -5000; x <= 5000; x += 3) {
    const microtl::quant::QuantizedMultiplier m = quantize_multiplier(0.00731);
    const std::int32_t once =
        multiply_by_quantized_multiplier_single_rounding(x, m.multiplier, m.shift);
    const std::int32_t twice = multiply_by_quantized_multiplier(x, m.multiplier, m.shift);
    differing += once != twice ? 1 : 0;
    ++count;
    CHECK(once - twice <= 1);
    CHECK(twice - once <= 1);
  }
  CHECK(differing * 100 < count);
}

TEST_CASE("requantize<Rounding::once>: the single-rounding output stage") {
  using microtl::quant::Rounding;
  const QuantizedMultiplier quarter{std::int32_t{1} << 30, -1};         // 0.25
  CHECK(requantize<Rounding::once>(-6, quarter, 3, kFullRange) == 2);   // -1.5 -> -1, + 3
  CHECK(requantize<Rounding::twice>(-6, quarter, 3, kFullRange) == 1);  // -1.5 -> -2, + 3
  CHECK(requantize<Rounding::once>(-6, quarter, 3, ActivationRange{3, 127}) == 3);
}
