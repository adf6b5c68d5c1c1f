// The fixed-point exp and reciprocal of TFLite's int8 softmax (gemmlowp semantics).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "microtl/quant/fixed_point_math.hpp"

namespace {

using microtl::quant::exp_on_negative_values;
using microtl::quant::one_over_one_plus_x_for_x_in_0_1;
using microtl::quant::reciprocal;
using microtl::quant::rounding_half_sum;
using microtl::quant::saturating_rounding_multiply_by_pot;

constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();

static_assert(exp_on_negative_values<5>(0) == kMax);
static_assert(saturating_rounding_multiply_by_pot<5>(1 << 26) == kMax);

double from_q0_31(std::int32_t raw) {
  return static_cast<double>(raw) / 2147483648.0;
}

}  // namespace

// gemmlowp rule (SaturatingRoundingMultiplyByPOT): a left shift by e saturates when
// |x| > 2^(31 - e) - 1; a negative e is a rounding division (ties away from zero).
TEST_CASE("saturating_rounding_multiply_by_pot: saturation threshold and rounding") {
  // e = 5: threshold 2^26 - 1. (2^26 - 1) * 32 = 2^31 - 32 fits; 2^26 saturates.
  CHECK(saturating_rounding_multiply_by_pot<5>((1 << 26) - 1) == kMax - 31);
  CHECK(saturating_rounding_multiply_by_pot<5>(1 << 26) == kMax);
  CHECK(saturating_rounding_multiply_by_pot<5>(-((1 << 26) - 1)) == kMin + 32);
  // -2^26 * 32 = -2^31 would fit, but gemmlowp's symmetric threshold saturates it: same value.
  CHECK(saturating_rounding_multiply_by_pot<5>(-(1 << 26)) == kMin);
  CHECK(saturating_rounding_multiply_by_pot<0>(-7) == -7);
  // 6 / 4 = 1.5 -> 2; -6 / 4 -> -2.
  CHECK(saturating_rounding_multiply_by_pot<-2>(6) == 2);
  CHECK(saturating_rounding_multiply_by_pot<-2>(-6) == -2);
}

// gemmlowp rule (RoundingHalfSum): (a + b + sign(a + b)) / 2 in 64 bits, truncated.
TEST_CASE("rounding_half_sum: halves ties away from zero without overflow") {
  CHECK(rounding_half_sum(3, 4) == 4);     // (7 + 1) / 2
  CHECK(rounding_half_sum(-3, -4) == -4);  // (-7 - 1) / 2
  CHECK(rounding_half_sum(0, 1) == 1);     // (1 + 1) / 2
  CHECK(rounding_half_sum(0, -1) == -1);   // (-1 - 1) / 2
  CHECK(rounding_half_sum(2, 4) == 3);     // (6 + 1) / 2 = 3.5 -> 3
  // (2^32 - 2 + 1) / 2 = 2^31 - 0.5 -> 2^31 - 1: no overflow.
  CHECK(rounding_half_sum(kMax, kMax) == kMax);
  CHECK(rounding_half_sum(kMin, kMin) == kMin);
}

// gemmlowp rule (exp_on_negative_values): exp(0) is exactly the largest Q0.31 value, and the
// result approximates e^a closely over the whole Q5.26 input range [-32, 0].
TEST_CASE("exp_on_negative_values: accuracy over [-32, 0] in Q5.26") {
  CHECK(exp_on_negative_values<5>(0) == kMax);
  // -1 in Q5.26 is -2^26: r = -1/4 and k/4 = 3/4, so e^(-1/4) * e^(-1/4) * e^(-1/2).
  CHECK(from_q0_31(exp_on_negative_values<5>(-(1 << 26))) ==
        doctest::Approx(std::exp(-1.0)).epsilon(1e-6));
  // Sweep: absolute error below 1e-6 (the Taylor step is accurate to about 2.5e-7 and each
  // fixed-point product adds at most 2^-31).
  for (std::int32_t a = 0; a > kMin + (1 << 22); a -= 2047 * 2039) {
    const double expected = std::exp(static_cast<double>(a) / 67108864.0);
    const double actual = from_q0_31(exp_on_negative_values<5>(a));
    REQUIRE(std::fabs(actual - expected) < 1e-6);
  }
  // The smallest input, -32: e^-32 is about 1.3e-14, which is 0 in Q0.31.
  CHECK(exp_on_negative_values<5>(kMin) == 0);
}

// gemmlowp rule (one_over_one_plus_x_for_x_in_0_1): three Newton-Raphson steps from 48/17 -
// 32/17 d give 1 / (1 + a) to within a few units of Q2.29.
TEST_CASE("one_over_one_plus_x_for_x_in_0_1: accuracy") {
  // 1 / (1 + 0) = 1: the Q0.31 result saturates at (or just below) 2^31 - 1.
  CHECK(one_over_one_plus_x_for_x_in_0_1(0) >= kMax - 8);
  // 1 / 1.5 = 2/3.
  CHECK(from_q0_31(one_over_one_plus_x_for_x_in_0_1(1 << 30)) ==
        doctest::Approx(2.0 / 3.0).epsilon(1e-8));
  for (std::int32_t a = 0; a < kMax - 3000007; a += 3000007) {
    const double expected = 1.0 / (1.0 + from_q0_31(a));
    REQUIRE(std::fabs(from_q0_31(one_over_one_plus_x_for_x_in_0_1(a)) - expected) < 1e-8);
  }
}

// TFLite rule (GetReciprocal): x = (1 + f) * 2^bits_over_unit; returns 1 / (1 + f) in Q0.31.
TEST_CASE("reciprocal: splits the power of two") {
  // 3.0 in Q12.19 is 3 * 2^19: leading bit 20, 11 leading zeros, bits_over_unit = 12 - 11 = 1;
  // f = (3 * 2^19 << 11) - 2^31 = 2^30 (0.5), so 1/3 = (1 / 1.5) * 2^-1.
  const auto third = reciprocal<12>(3 << 19);
  CHECK(third.bits_over_unit == 1);
  CHECK(from_q0_31(third.scale) == doctest::Approx(2.0 / 3.0).epsilon(1e-8));
  // 1.0 in Q12.19 is 2^19: 12 leading zeros, bits_over_unit 0, f = 0.
  const auto one = reciprocal<12>(1 << 19);
  CHECK(one.bits_over_unit == 0);
  CHECK(one.scale >= kMax - 8);
}
