// Bit-exactness of the gemmlowp / TFLite fixed-point primitives.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "../support/random.hpp"
#include "microtl/quant/fixed_point.hpp"

namespace {

using microtl::quant::multiply_by_quantized_multiplier;
using microtl::quant::rounding_divide_by_pot;
using microtl::quant::saturating_rounding_doubling_high_mul;

constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
constexpr std::int32_t kHalf = 1 << 30;  // 0.5 in Q0.31

// The primitives are constant expressions.
static_assert(saturating_rounding_doubling_high_mul(kHalf, kHalf) == (1 << 29));
static_assert(saturating_rounding_doubling_high_mul(kMin, kMin) == kMax);
static_assert(rounding_divide_by_pot(-5, 1) == -3);
static_assert(multiply_by_quantized_multiplier(100, kHalf, -2) == 13);

// An independent reference for SRDHM, written differently from the library: gemmlowp's
// "add nudge, divide truncating toward zero" equals floor(a*b / 2^31 + 1/2), i.e. round to
// nearest with ties toward +infinity, which an arithmetic shift computes directly.
std::int32_t reference_srdhm(std::int32_t a, std::int32_t b) {
  if (a == kMin && b == kMin) {
    return kMax;
  }
  const std::int64_t product = std::int64_t{a} * std::int64_t{b};
  return static_cast<std::int32_t>((product + (std::int64_t{1} << 30)) >> 31);
}

// An independent reference for x / 2^e rounded half away from zero: round the magnitude
// half up, then put the sign back.
std::int32_t reference_rounding_divide(std::int64_t x, int exponent) {
  if (exponent == 0) {
    return static_cast<std::int32_t>(x);
  }
  const std::int64_t magnitude = x < 0 ? -x : x;
  const std::int64_t rounded = (magnitude + (std::int64_t{1} << (exponent - 1))) >> exponent;
  return static_cast<std::int32_t>(x < 0 ? -rounded : rounded);
}

}  // namespace

// TFLite rule (gemmlowp SaturatingRoundingDoublingHighMul): result = (a*b + nudge) / 2^31
// truncated toward zero, nudge = 2^30 for a*b >= 0 and 1 - 2^30 otherwise.
TEST_CASE("saturating_rounding_doubling_high_mul: hand-computed values") {
  // 0.5 * 0.5: (2^60 + 2^30) / 2^31 = 2^29 + 0.5 -> 2^29 (0.25 in Q0.31).
  CHECK(saturating_rounding_doubling_high_mul(kHalf, kHalf) == 536870912);
  // 1000 * 1518500250 (= 0.70710678 in Q0.31): (1518500250000 + 1073741824) / 2^31
  // = 707.6068 -> 707, i.e. 1000 * 0.7071 rounded.
  CHECK(saturating_rounding_doubling_high_mul(1000, 1518500250) == 707);
  CHECK(saturating_rounding_doubling_high_mul(1518500250, 1000) == 707);
  // 1 * 1: (1 + 2^30) / 2^31 = 0.5000000005 -> 0.
  CHECK(saturating_rounding_doubling_high_mul(1, 1) == 0);
  // 0 * anything is 0 (the nudge alone never reaches 2^31).
  CHECK(saturating_rounding_doubling_high_mul(0, kMin) == 0);
  CHECK(saturating_rounding_doubling_high_mul(kMax, 0) == 0);
}

// TFLite rule: exact ties (a*b an odd multiple of 2^30) round toward +infinity, because the
// negative nudge is one less than 2^30 in magnitude and the division truncates.
TEST_CASE("saturating_rounding_doubling_high_mul: ties round toward +infinity") {
  // 3 * 2^30 / 2^31 = 1.5: (3*2^30 + 2^30) / 2^31 = 2 exactly -> 2.
  CHECK(saturating_rounding_doubling_high_mul(3, kHalf) == 2);
  // -1.5: (-3*2^30 + 1 - 2^30) / 2^31 = (-2^32 + 1) / 2^31 = -1.9999999995 -> -1 (toward
  // zero). A floor-based shift would give -2 here.
  CHECK(saturating_rounding_doubling_high_mul(-3, kHalf) == -1);
  // -2.5: (-5*2^30 + 1 - 2^30) / 2^31 = -3 + 2^-31 -> -2.
  CHECK(saturating_rounding_doubling_high_mul(-5, kHalf) == -2);
  // -0.5: (-2^30 + 1 - 2^30) / 2^31 = -0.9999999995 -> 0.
  CHECK(saturating_rounding_doubling_high_mul(-1, kHalf) == 0);
  // 0.5: (2^30 + 2^30) / 2^31 = 1 -> 1.
  CHECK(saturating_rounding_doubling_high_mul(1, kHalf) == 1);
  // The same tie as -1610612736 * 2 = -3*2^30 -> -1.
  CHECK(saturating_rounding_doubling_high_mul(-1610612736, 2) == -1);
  // Just past that tie rounds down: -1610612737 * 2 = -3*2^30 - 2;
  // (-3*2^30 - 2 + 1 - 2^30) / 2^31 = (-2^32 - 1) / 2^31 = -2.0000000005 -> -2.
  CHECK(saturating_rounding_doubling_high_mul(-1610612737, 2) == -2);
}

// TFLite rule: the one product that overflows, INT32_MIN * INT32_MIN (-1 * -1 = +1.0 in
// Q0.31), saturates to INT32_MAX; every other product with INT32_MIN is exact-rounded.
TEST_CASE("saturating_rounding_doubling_high_mul: INT32_MIN and saturation") {
  CHECK(saturating_rounding_doubling_high_mul(kMin, kMin) == kMax);
  // -1 * (1 - 2^-31): product = -2^62 + 2^31, plus (1 - 2^30) = -2^62 + 2^30 + 1;
  // / 2^31 = -2^31 + 0.5000000005 -> -2147483647 (toward zero).
  CHECK(saturating_rounding_doubling_high_mul(kMin, kMax) == -2147483647);
  CHECK(saturating_rounding_doubling_high_mul(kMax, kMin) == -2147483647);
  // (1 - 2^-31)^2: (2^62 - 2^32 + 1 + 2^30) / 2^31 = 2^31 - 2 + 0.5000000005 -> 2147483646.
  CHECK(saturating_rounding_doubling_high_mul(kMax, kMax) == 2147483646);
  // -1 * 0.5 = -0.5 exactly: (-2^61 + 1 - 2^30) / 2^31 -> -2^30.
  CHECK(saturating_rounding_doubling_high_mul(kMin, kHalf) == -kHalf);
  // -1 * -0.5 = 0.5: (2^61 + 2^30) / 2^31 -> 2^30.
  CHECK(saturating_rounding_doubling_high_mul(kMin, -kHalf) == kHalf);
  // -1 * 1 (raw): (-2^31 + 1 - 2^30) / 2^31 = -1.4999999995 -> -1.
  CHECK(saturating_rounding_doubling_high_mul(kMin, 1) == -1);
}

// Property: SRDHM is floor(a*b / 2^31 + 1/2), checked on random operands against a reference
// built from a shift instead of the nudge-and-truncate of the library.
TEST_CASE("saturating_rounding_doubling_high_mul: random operands match the reference") {
  microtl_test::Xorshift32 random(0x1234567U);
  for (int i = 0; i < 3000; ++i) {
    const std::int32_t a = random.next_int32();
    const std::int32_t b = random.next_int32();
    REQUIRE(saturating_rounding_doubling_high_mul(a, b) == reference_srdhm(a, b));
  }
}

// TFLite rule (gemmlowp RoundingDivideByPOT): x / 2^e rounded to nearest, ties away from zero.
TEST_CASE("rounding_divide_by_pot: ties away from zero, both signs") {
  // 5 / 2 = 2.5 -> 3: floor 2, remainder 1 > threshold 0 -> +1.
  CHECK(rounding_divide_by_pot(5, 1) == 3);
  // -5 / 2 = -2.5 -> -3: floor -3, remainder (-5 & 1) = 1, threshold 0 + 1 = 1, not > -> -3.
  CHECK(rounding_divide_by_pot(-5, 1) == -3);
  // 6 / 4 = 1.5 -> 2 and -6 / 4 = -1.5 -> -2.
  CHECK(rounding_divide_by_pot(6, 2) == 2);
  CHECK(rounding_divide_by_pot(-6, 2) == -2);
  // 5 / 4 = 1.25 -> 1 and -5 / 4 = -1.25 -> -1 (floor -2, remainder 3, threshold 2 -> +1).
  CHECK(rounding_divide_by_pot(5, 2) == 1);
  CHECK(rounding_divide_by_pot(-5, 2) == -1);
  // 7 / 4 = 1.75 -> 2 and -7 / 4 = -1.75 -> -2.
  CHECK(rounding_divide_by_pot(7, 2) == 2);
  CHECK(rounding_divide_by_pot(-7, 2) == -2);
  // Exact quotients are unchanged.
  CHECK(rounding_divide_by_pot(-8, 2) == -2);
  CHECK(rounding_divide_by_pot(8, 3) == 1);
}

// TFLite rule: exponent 0 is the identity and exponent 31 is the largest legal one.
TEST_CASE("rounding_divide_by_pot: exponent 0 and 31, int32 extremes") {
  CHECK(rounding_divide_by_pot(kMin, 0) == kMin);
  CHECK(rounding_divide_by_pot(kMax, 0) == kMax);
  CHECK(rounding_divide_by_pot(-1, 0) == -1);
  // (2^31 - 1) / 2^31 = 0.99999 -> 1.
  CHECK(rounding_divide_by_pot(kMax, 31) == 1);
  // -2^31 / 2^31 = -1 exactly.
  CHECK(rounding_divide_by_pot(kMin, 31) == -1);
  // 2^30 / 2^31 = 0.5 -> 1; -2^30 / 2^31 = -0.5 -> -1 (away from zero).
  CHECK(rounding_divide_by_pot(kHalf, 31) == 1);
  CHECK(rounding_divide_by_pot(-kHalf, 31) == -1);
  // (2^30 - 1) / 2^31 just below 0.5 -> 0, both signs.
  CHECK(rounding_divide_by_pot(kHalf - 1, 31) == 0);
  CHECK(rounding_divide_by_pot(-(kHalf - 1), 31) == 0);
  // INT32_MIN / 2 = -2^30 exactly; INT32_MAX / 2 = 2^30 - 0.5 -> 2^30.
  CHECK(rounding_divide_by_pot(kMin, 1) == -kHalf);
  CHECK(rounding_divide_by_pot(kMax, 1) == kHalf);
}

// Property: matches "round the magnitude half up, restore the sign" on random inputs and
// every exponent.
TEST_CASE("rounding_divide_by_pot: random inputs match the reference") {
  microtl_test::Xorshift32 random(0xBEEFU);
  for (int i = 0; i < 3000; ++i) {
    const std::int32_t x = random.next_int32();
    const int exponent = static_cast<int>(random.next() % 32U);
    REQUIRE(rounding_divide_by_pot(x, exponent) == reference_rounding_divide(x, exponent));
  }
}

// TFLite rule (MultiplyByQuantizedMultiplier): shift left by max(shift, 0), SRDHM with the
// multiplier, then rounding_divide_by_pot by max(-shift, 0): two roundings.
TEST_CASE("multiply_by_quantized_multiplier: hand-computed values") {
  // 100 * 0.5 = 50: SRDHM(100, 2^30) = (100*2^30 + 2^30) / 2^31 = 50.5 -> 50.
  CHECK(multiply_by_quantized_multiplier(100, kHalf, 0) == 50);
  // 100 * 0.5 * 2^-2 = 12.5: SRDHM gives 50, 50 / 4 = 12.5 -> 13.
  CHECK(multiply_by_quantized_multiplier(100, kHalf, -2) == 13);
  // -100 * 0.5 * 2^-2 = -12.5: SRDHM gives (-100*2^30 + 1 - 2^30) / 2^31 = -50.4999 -> -50;
  // -50 / 4 = -12.5 -> -13.
  CHECK(multiply_by_quantized_multiplier(-100, kHalf, -2) == -13);
  // 3 * 0.5 * 2^2 = 6: 3 << 2 = 12, SRDHM(12, 2^30) = 6, no right shift.
  CHECK(multiply_by_quantized_multiplier(3, kHalf, 2) == 6);
  // 1000 * 0.01: quantize_multiplier(0.01) = {1374389535, -6};
  // SRDHM(1000, 1374389535) = (1374389535000 + 2^30) / 2^31 = 640.5000001 -> 640; 640/64 = 10.
  CHECK(multiply_by_quantized_multiplier(1000, 1374389535, -6) == 10);
}

// TFLite rule: the double rounding is part of the spec. 1 * 0.5 * 2^-1 = 0.25 exactly, yet
// TFLite gives 1: SRDHM(1, 2^30) = 0.5 rounds up to 1, then 1 / 2 = 0.5 rounds up to 1.
// For -1 the first rounding goes toward +infinity (to 0), so the result is 0, not -1.
TEST_CASE("multiply_by_quantized_multiplier: double rounding as TFLite does it") {
  CHECK(multiply_by_quantized_multiplier(1, kHalf, -1) == 1);
  CHECK(multiply_by_quantized_multiplier(-1, kHalf, -1) == 0);
  // 3 * 0.5 * 2^-1 = 0.75: SRDHM(3, 2^30) = 1.5 -> 2, 2 / 2 = 1.
  CHECK(multiply_by_quantized_multiplier(3, kHalf, -1) == 1);
}

// TFLite rule: INT32_MIN inputs and the largest right shift (31) stay exact.
TEST_CASE("multiply_by_quantized_multiplier: extreme inputs and shifts") {
  // -2^31 * -1 in Q0.31 saturates to 2^31 - 1.
  CHECK(multiply_by_quantized_multiplier(kMin, kMin, 0) == kMax);
  // -2^31 * 0.5 = -2^30 exactly.
  CHECK(multiply_by_quantized_multiplier(kMin, kHalf, 0) == -kHalf);
  // -2^31 * 0.5 * 2^-31 = -0.5 -> -1 (away from zero in the second rounding).
  CHECK(multiply_by_quantized_multiplier(kMin, kHalf, -31) == -1);
  // (2^31 - 1) * (1 - 2^-31) * 2^-31: SRDHM = 2147483646, / 2^31 = 0.99999 -> 1.
  CHECK(multiply_by_quantized_multiplier(kMax, kMax, -31) == 1);
  // Left shift of 30: 1 << 30 = 2^30, times 0.5 = 2^29.
  CHECK(multiply_by_quantized_multiplier(1, kHalf, 30) == (1 << 29));
  // A zero multiplier gives 0 whatever the input.
  CHECK(multiply_by_quantized_multiplier(kMax, 0, 0) == 0);
  CHECK(multiply_by_quantized_multiplier(kMin, 0, -31) == 0);
}

// Property: on random accumulators, multipliers in [2^30, 2^31) and shifts in [-31, 8]
// (inputs small enough that the left shift does not overflow), the result is the two-step
// rounding computed with plain 64-bit arithmetic, and it is within 1 of the real product
// x * multiplier * 2^(shift - 31) computed in double.
TEST_CASE("multiply_by_quantized_multiplier: random inputs vs 64-bit and double references") {
  microtl_test::Xorshift32 random(0xC0FFEEU);
  for (int i = 0; i < 3000; ++i) {
    const int shift = random.uniform_int(-31, 8);
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const std::int32_t limit = kMax >> left;
    const std::int32_t x = random.uniform_int(-limit, limit);
    const std::int32_t multiplier = random.uniform_int(kHalf, kMax);

    const std::int32_t high = reference_srdhm(x * (1 << left), multiplier);
    const std::int32_t expected = reference_rounding_divide(high, right);
    const std::int32_t actual = multiply_by_quantized_multiplier(x, multiplier, shift);
    REQUIRE(actual == expected);

    // x * 2^left and multiplier / 2^31 are exact in double; their product has at most
    // 62 significant bits, so this has a relative error of 2^-53 at most.
    const double real = static_cast<double>(x) * static_cast<double>(multiplier) *
                        static_cast<double>(1LL << left) / 2147483648.0 /
                        static_cast<double>(1LL << right);
    const double error = static_cast<double>(actual) - real;
    REQUIRE(error <= 1.0);
    REQUIRE(error >= -1.0);
  }
}
