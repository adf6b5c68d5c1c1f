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
