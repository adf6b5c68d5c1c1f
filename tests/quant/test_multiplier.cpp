// quantize_multiplier: TFLite's QuantizeMultiplier, in constant expressions.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>

#include "../support/random.hpp"
#include "microtl/quant/multiplier.hpp"

namespace {

using microtl::quant::quantize_multiplier;
using microtl::quant::QuantizedMultiplier;

constexpr std::int32_t kHalf = 1 << 30;

// quantize_multiplier is usable in constant expressions (the point of writing frexp and
// round by hand): these are evaluated by the compiler.
static_assert(quantize_multiplier(0.0) == QuantizedMultiplier{0, 0});
static_assert(quantize_multiplier(0.5) == QuantizedMultiplier{kHalf, 0});
static_assert(quantize_multiplier(1.0) == QuantizedMultiplier{kHalf, 1});
static_assert(quantize_multiplier(0.1) == QuantizedMultiplier{1717986918, -3});
static_assert(quantize_multiplier(1.0 - 0x1p-33) == QuantizedMultiplier{kHalf, 1});
static_assert(quantize_multiplier(0x1p-33) == QuantizedMultiplier{0, 0});
static_assert(quantize_multiplier(4.9e-324) == QuantizedMultiplier{0, 0});  // subnormal
constexpr QuantizedMultiplier kCompileTime = quantize_multiplier(0.003921568627450980);
static_assert(kCompileTime.multiplier >= kHalf && kCompileTime.shift == -7);

// TFLite's QuantizeMultiplier written with the standard library, as the reference.
QuantizedMultiplier reference_quantize_multiplier(double real) {
  if (real == 0.0) {
    return {0, 0};
  }
  int shift = 0;
  const double fraction = std::frexp(real, &shift);
  auto q = static_cast<std::int64_t>(std::round(fraction * 2147483648.0));
  if (q == (std::int64_t{1} << 31)) {
    q /= 2;
    ++shift;
  }
  if (shift < -31) {
    return {0, 0};
  }
  return {static_cast<std::int32_t>(q), shift};
}

// A random double: 52 random mantissa bits, the sign and the exponent of 2 chosen by the
// caller's range.
double random_double(microtl_test::Xorshift32& random, int min_exponent, int max_exponent) {
  const std::uint64_t mantissa =
      (std::uint64_t{random.next()} << 20) ^ std::uint64_t{random.next() >> 12};
  const double fraction = 1.0 + static_cast<double>(mantissa) * 0x1p-52;  // [1, 2)
  const int exponent = random.uniform_int(min_exponent, max_exponent);
  return std::ldexp(fraction, exponent);
}

}  // namespace

// TFLite rule: q = round(fraction * 2^31) with frexp's fraction in [0.5, 1) and shift = its
// exponent. Values whose fraction needs no rounding.
TEST_CASE("quantize_multiplier: exact fractions") {
  // 0.5 = 0.5 * 2^0: q = 2^30.
  CHECK(quantize_multiplier(0.5) == QuantizedMultiplier{kHalf, 0});
  // 0.75 = 0.75 * 2^0: q = 0.75 * 2^31 = 1610612736.
  CHECK(quantize_multiplier(0.75) == QuantizedMultiplier{1610612736, 0});
  // 0.25 = 0.5 * 2^-1.
  CHECK(quantize_multiplier(0.25) == QuantizedMultiplier{kHalf, -1});
  // 2^-32 = 0.5 * 2^-31: the smallest exponent that is kept.
  CHECK(quantize_multiplier(0x1p-32) == QuantizedMultiplier{kHalf, -31});
}

// TFLite rule: the fraction is rounded to nearest, ties away from zero.
TEST_CASE("quantize_multiplier: rounded fractions") {
  // 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4 -> 1717986918.
  CHECK(quantize_multiplier(0.1) == QuantizedMultiplier{1717986918, -3});
  // 0.01 = 0.64 * 2^-6; 0.64 * 2^31 = 1374389534.72 -> 1374389535.
  CHECK(quantize_multiplier(0.01) == QuantizedMultiplier{1374389535, -6});
  // Above a tie: (0.5 + 2^-32 + 2^-33) * 2^31 = 2^30 + 0.5 + 0.25 -> 2^30 + 1.
  CHECK(quantize_multiplier(0.5 + 0x1p-32 + 0x1p-33) == QuantizedMultiplier{kHalf + 1, 0});
  // An exact tie: 0.5 + 2^-32 -> 2^30 + 0.5 -> 2^30 + 1 (away from zero).
  CHECK(quantize_multiplier(0.5 + 0x1p-32) == QuantizedMultiplier{kHalf + 1, 0});
  // Just below that tie: 2^30 + 0.5 - 2^-22 -> 2^30.
  CHECK(quantize_multiplier(0.5 + 0x1p-32 - 0x1p-53) == QuantizedMultiplier{kHalf, 0});
  // A negative tie rounds away from zero too: -(2^30 + 0.5) -> -(2^30 + 1).
  CHECK(quantize_multiplier(-(0.5 + 0x1p-32)) == QuantizedMultiplier{-(kHalf + 1), 0});
}

// TFLite rule: when the fraction rounds up to 1.0 (q == 2^31), q is halved and the shift
// incremented, so the mantissa always fits in int32.
TEST_CASE("quantize_multiplier: mantissa rounding up to 2^31") {
  // 1 - 2^-31: q = 2^31 - 1 exactly, no overflow.
  CHECK(quantize_multiplier(1.0 - 0x1p-31) == QuantizedMultiplier{2147483647, 0});
  // 1 - 2^-32: q = 2^31 - 0.5, a tie -> 2^31 -> {2^30, 1}.
  CHECK(quantize_multiplier(1.0 - 0x1p-32) == QuantizedMultiplier{kHalf, 1});
  // 1 - 2^-33: q = 2^31 - 0.25 -> 2^31 -> {2^30, 1}.
  CHECK(quantize_multiplier(1.0 - 0x1p-33) == QuantizedMultiplier{kHalf, 1});
  // The same at another exponent: (1 - 2^-40) * 2^-6 = frexp (1 - 2^-40, -6); the fraction
  // rounds to 2^31 -> {2^30, -5}.
  CHECK(quantize_multiplier((1.0 - 0x1p-40) * 0x1p-6) == QuantizedMultiplier{kHalf, -5});
}

// TFLite rule: a shift below -31 (reals below 2^-32) flushes to {0, 0}, and 0 gives {0, 0}.
TEST_CASE("quantize_multiplier: tiny reals and zero") {
  CHECK(quantize_multiplier(0.0) == QuantizedMultiplier{0, 0});
  // 2^-33 = 0.5 * 2^-32: shift -32 < -31.
  CHECK(quantize_multiplier(0x1p-33) == QuantizedMultiplier{0, 0});
  // 0.75 * 2^-32: shift -32.
  CHECK(quantize_multiplier(0.75 * 0x1p-32) == QuantizedMultiplier{0, 0});
  // (1 - 2^-40) * 2^-32 has frexp exponent -32, but its fraction rounds up to 1.0, which
  // moves the shift back to -31: kept as {2^30, -31}.
  CHECK(quantize_multiplier((1.0 - 0x1p-40) * 0x1p-32) == QuantizedMultiplier{kHalf, -31});
  // Subnormals.
  CHECK(quantize_multiplier(4.9e-324) == QuantizedMultiplier{0, 0});
  CHECK(quantize_multiplier(1e-310) == QuantizedMultiplier{0, 0});
}

// TFLite rule: reals >= 1 give a positive shift (a left shift before the high multiply).
TEST_CASE("quantize_multiplier: reals above one") {
  // 1.0 = 0.5 * 2^1.
  CHECK(quantize_multiplier(1.0) == QuantizedMultiplier{kHalf, 1});
  // 3.0 = 0.75 * 2^2.
  CHECK(quantize_multiplier(3.0) == QuantizedMultiplier{1610612736, 2});
  // 1000 = 0.9765625 * 2^10; 0.9765625 * 2^31 = 2097152000.
  CHECK(quantize_multiplier(1000.0) == QuantizedMultiplier{2097152000, 10});
  // 2^30 = 0.5 * 2^31.
  CHECK(quantize_multiplier(0x1p30) == QuantizedMultiplier{kHalf, 31});
}

// Property: identical to the std::frexp / std::round formulation on many values, across
// normal magnitudes, the flush-to-zero boundary, negatives and subnormals.
TEST_CASE("quantize_multiplier: matches std::frexp-based reference") {
  microtl_test::Xorshift32 random(0xABCDEFU);
  for (int i = 0; i < 2000; ++i) {
    const double positive = random_double(random, -40, 30);
    const double real = (random.next() & 1U) != 0 ? positive : -positive;
    const QuantizedMultiplier expected = reference_quantize_multiplier(real);
    const QuantizedMultiplier actual = quantize_multiplier(real);
    REQUIRE(actual.multiplier == expected.multiplier);
    REQUIRE(actual.shift == expected.shift);
  }
  for (int i = 0; i < 200; ++i) {
    const double subnormal = random_double(random, -1074, -1023);
    CHECK(quantize_multiplier(subnormal) == reference_quantize_multiplier(subnormal));
  }
}

// Property: the mantissa of every non-zero result lies in [2^30, 2^31) and the pair
// reconstructs the real within half a unit of the mantissa's last bit.
TEST_CASE("quantize_multiplier: result reconstructs the real") {
  microtl_test::Xorshift32 random(0x5EEDU);
  for (int i = 0; i < 1000; ++i) {
    const double real = random_double(random, -31, 20);
    const QuantizedMultiplier q = quantize_multiplier(real);
    REQUIRE(q.multiplier >= kHalf);
    const double rebuilt = std::ldexp(static_cast<double>(q.multiplier), q.shift - 31);
    REQUIRE(std::fabs(rebuilt - real) <= std::ldexp(0.5, q.shift - 31));
  }
}
