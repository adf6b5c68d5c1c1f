// kernels/float_math.hpp: exp_f32 and log_f32 against the C library's double-precision exp
// and log (the reference: correctly rounded to float, a double result is within a few
// double ulps of the truth, far below a float ulp), over every part of the float range, and
// their special values; fused_mac against std::fma or a multiply and an add, as
// MICROTL_FUSED_MULTIPLY_ADD says.
//
// The bound, in float ulps of the exact result: 1 for log; 1 for exp where the multiply-adds
// are fused, 1.5 where each product is rounded on its own (measured on the host: log 0.89
// and 0.86, exp 0.89 and 1.13, over these arguments). On the host
// every 1021st float is tried (log: every positive finite float's 1021st, about 2 million),
// on the Cortex-M targets every 65521st (their double maths is soft-float).
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "../support/random.hpp"
#include "microtl/kernels/float_math.hpp"

namespace {

using microtl::kernels::exp_f32;
using microtl::kernels::fused_mac;
using microtl::kernels::log_f32;

#if defined(__arm__)
constexpr std::uint32_t kStride = 65521;
#else
constexpr std::uint32_t kStride = 1021;
#endif

// How far `got` is from the exact value `exact`, in ulps of the float nearest `exact`
// (subnormal: 2^-149).
double ulp_error(float got, double exact) {
  const double magnitude = std::fabs(exact);
  int exponent = 0;
  std::frexp(magnitude, &exponent);  // magnitude in [2^(exponent-1), 2^exponent)
  const double ulp = std::ldexp(1.0, std::max(exponent - 24, -149));
  return std::fabs(static_cast<double>(got) - exact) / ulp;
}

float from_bits(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}

bool same_bits(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

constexpr float kInf = std::numeric_limits<float>::infinity();

// The largest error seen over a sweep, and where.
struct WorstError {
  double ulps = 0.0;
  float x = 0.0f;
  std::uint32_t tried = 0;
  void record(float argument, double error) {
    ++tried;
    if (error > ulps) {
      ulps = error;
      x = argument;
    }
  }
};

// exp_f32's bound (see above).
constexpr double kExpBound = MICROTL_FUSED_MULTIPLY_ADD ? 1.0 : 1.5;

TEST_CASE("exp_f32 is within its bound of e^x wherever e^x is a finite nonzero float") {
  // Every kStride-th float from -104 (e^x below 2^-150) up to 88.73 (above FLT_MAX), both
  // signs: the bit patterns of the positive and the negative floats, walked separately.
  WorstError worst;
  for (const std::uint32_t sign : {0u, 0x80000000u}) {
    for (std::uint32_t bits = 0; bits < 0x7f800000u; bits += kStride) {
      const float x = from_bits(bits | sign);
      if (x < -103.97f || x > 88.72f) {
        continue;
      }
      worst.record(x, ulp_error(exp_f32(x), std::exp(static_cast<double>(x))));
    }
  }
  INFO("worst x = " << worst.x << ", " << worst.ulps << " ulp, over " << worst.tried
                    << " arguments");
  CHECK(worst.tried > 1000);
  CHECK(worst.ulps <= kExpBound);
}

TEST_CASE("exp_f32 near the ends of its range and at its special values") {
  CHECK(same_bits(exp_f32(0.0f), 1.0f));
  CHECK(same_bits(exp_f32(-0.0f), 1.0f));
  CHECK(exp_f32(kInf) == kInf);
  CHECK(same_bits(exp_f32(-kInf), 0.0f));
  CHECK(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
  // The largest float argument with a finite result, and the next one.
  const float largest_finite = std::nextafter(88.72283935546875f, 0.0f);
  CHECK(ulp_error(exp_f32(largest_finite), std::exp(static_cast<double>(largest_finite))) <=
        kExpBound);
  CHECK(exp_f32(88.72283935546875f) == kInf);
  CHECK(exp_f32(1000.0f) == kInf);
  // Subnormal results: to the nearest multiple of 2^-149, within 1 of it.
  for (float x = -103.9f; x < -87.0f; x += 0.37f) {
    INFO("x = " << x);
    CHECK(ulp_error(exp_f32(x), std::exp(static_cast<double>(x))) <= kExpBound);
  }
  CHECK(same_bits(exp_f32(-104.0f), 0.0f));
  CHECK(same_bits(exp_f32(-1000.0f), 0.0f));
  // Worked by hand: e^(ln 2 * 3) = 8 to within the rounding of the argument.
  CHECK(std::fabs(exp_f32(2.07944155f) - 8.0f) <= 8.0f * 1.2e-7f * 2.0f);
}

TEST_CASE("exp_f32 never decreases") {
  microtl_test::Xorshift32 rng(0x5eed0e8u);
  float previous_x = -110.0f;
  float previous = exp_f32(previous_x);
  for (int i = 0; i < 20000; ++i) {
    const float x = previous_x + rng.uniform_float(0.0f, 0.01f);
    const float y = exp_f32(x);
    INFO("x = " << x);
    CHECK(y >= previous);
    previous_x = x;
    previous = y;
  }
}

TEST_CASE("log_f32 is within 1 ulp of log(x) for every positive finite float tried") {
  WorstError worst;
  for (std::uint32_t bits = 1; bits < 0x7f800000u; bits += kStride) {
    const float x = from_bits(bits);
    worst.record(x, ulp_error(log_f32(x), std::log(static_cast<double>(x))));
  }
  // Near 1, where log(x) is small and a float's ulp fine: every float in [0.5, 2] tried at
  // a finer stride.
  for (std::uint32_t bits = 0x3f000000u; bits <= 0x40000000u; bits += kStride / 64 + 1) {
    const float x = from_bits(bits);
    worst.record(x, ulp_error(log_f32(x), std::log(static_cast<double>(x))));
  }
  INFO("worst x = " << worst.x << ", " << worst.ulps << " ulp, over " << worst.tried
                    << " arguments");
  CHECK(worst.tried > 1000);
  CHECK(worst.ulps <= 1.0);
}

TEST_CASE("log_f32 at its special values, and log(exp(x)) = x") {
  CHECK(same_bits(log_f32(1.0f), 0.0f));
  CHECK(log_f32(0.0f) == -kInf);
  CHECK(log_f32(-0.0f) == -kInf);
  CHECK(std::isnan(log_f32(-1.0f)));
  CHECK(std::isnan(log_f32(-kInf)));
  CHECK(std::isnan(log_f32(std::numeric_limits<float>::quiet_NaN())));
  CHECK(log_f32(kInf) == kInf);
  // The smallest subnormal: log(2^-149) = -149 ln 2.
  CHECK(ulp_error(log_f32(from_bits(1)), -149.0 * std::log(2.0)) <= 1.0);
  CHECK(ulp_error(log_f32(std::numeric_limits<float>::max()), std::log(3.4028234663852886e38)) <=
        1.0);
  // Worked by hand: log(8) = 3 ln 2.
  CHECK(ulp_error(log_f32(8.0f), 3.0 * std::log(2.0)) <= 1.0);
  microtl_test::Xorshift32 rng(0x10e1u);
  for (int i = 0; i < 2000; ++i) {
    const float x = rng.uniform_float(-80.0f, 80.0f);
    INFO("x = " << x);
    CHECK(std::fabs(log_f32(exp_f32(x)) - x) <= 2.4e-7f * std::fmax(1.0f, std::fabs(x)));
  }
}

TEST_CASE("fused_mac rounds once where MICROTL_FUSED_MULTIPLY_ADD, twice elsewhere") {
  microtl_test::Xorshift32 rng(0xfa5eu);
  int differ_from_unfused = 0;
  for (int i = 0; i < 5000; ++i) {
    const float acc = rng.uniform_float(-4.0f, 4.0f);
    const float a = rng.uniform_float(-4.0f, 4.0f);
    const float b = rng.uniform_float(-4.0f, 4.0f);
    const volatile float product = a * b;  // rounded on its own
    const float unfused = acc + product;
#if MICROTL_FUSED_MULTIPLY_ADD
    // The exact a * b + acc, rounded once, worked out in double: a * b is exact there; the
    // sum is rounded to double first, which could move the float result only where the sum
    // lies within 2^-53 of a float tie (not among these arguments).
    const float expected = static_cast<float>(static_cast<double>(a) * static_cast<double>(b) +
                                              static_cast<double>(acc));
#else
    const float expected = unfused;
#endif
    INFO("acc = " << acc << ", a = " << a << ", b = " << b);
    CHECK(same_bits(fused_mac(acc, a, b), expected));
    differ_from_unfused += same_bits(fused_mac(acc, a, b), unfused) ? 0 : 1;
  }
  // The two arithmetics are told apart: a fused multiply-add differs from the unfused one on
  // some of these arguments, not on none.
  CHECK((differ_from_unfused > 0) == (MICROTL_FUSED_MULTIPLY_ADD == 1));
}

}  // namespace
