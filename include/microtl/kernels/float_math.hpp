// Scalar float maths that computes the same bits on every target: the multiply-add of the
// float kernels, and the exp and log of the training loss.
//
// Why the library has its own exp and log: the C library's differ between targets (newlib
// on the device, glibc on the host round some results differently), and a host that replays
// a device's learning session must compute the same floats. These use only +, -, *, /, the
// fused multiply-add of fused_mac and exact bit manipulation, each correctly rounded by IEEE
// 754, so two builds that agree on MICROTL_FUSED_MULTIPLY_ADD (config.hpp) and do not
// contract on their own return the same bits. They are also cheap on a Cortex-M4F: 7 (exp)
// or 5 (log) fused multiply-adds for the polynomial, and no errno to set.
//
// Accuracy, measured over the whole range by tests/kernels/test_float_math.cpp: within 1 ulp
// of the exact result (log; exp where fused_mac fuses, 1.5 ulp where it does not), special
// values as C's expf and logf.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

#include "microtl/config.hpp"
#include "microtl/kernels/arm/float_linear.hpp"

static_assert(!MICROTL_ARM_FLOAT_KERNELS || MICROTL_FUSED_MULTIPLY_ADD,
              "MICROTL_FUSED_MULTIPLY_ADD=0 on a Cortex-M FPU: the assembly float kernels "
              "(kernels/arm/float_linear.hpp) fuse every multiply-add; the rest of the library "
              "must too, or training would mix two arithmetics");

namespace microtl::kernels {

// acc + a * b: one rounding where MICROTL_FUSED_MULTIPLY_ADD (the target's fused instruction,
// or fmaf); otherwise the product is rounded on its own (a statement of its own: a compiler
// may contract a * b + c written as one expression into a fused one, Clang even when it folds
// constants).
[[gnu::always_inline]] inline float fused_mac(float acc, float a, float b) noexcept {
#if MICROTL_FUSED_MULTIPLY_ADD
  return __builtin_fmaf(a, b, acc);
#else
  const float product = a * b;
  return acc + product;
#endif
}

namespace float_math_detail {

// ln 2 split in two: kLn2High has 15 significant bits, so k * kLn2High is exact for every
// |k| < 512 (fused or not, the same bits); kLn2Low is the rest, ln 2 - kLn2High.
inline constexpr float kLn2High = 0.693145751953125f;  // 0x3f317200
inline constexpr float kLn2Low = 1.42860677e-06f;      // 0x35bfbe8e

// 2^k for -126 <= k <= 127, from its bits.
inline float power_of_two(int k) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(k + 127) << 23);
}

}  // namespace float_math_detail

// e^x, for every float x.
//
//   x = k ln2 + r,  k = round(x / ln2),  |r| <= ln2 / 2 (plus rounding)
//   e^x = 2^k e^r,  e^r = sum_{n=0..7} r^n / n!     (Horner; the first term left out is
//                                                    r^8 / 8! < 6e-9 e^r: below half an ulp)
//
// k comes from adding 1.5 * 2^23 to x / ln2: the sum's last bit is then the units, rounded to
// nearest (|x / ln2| < 2^22 here). r is x - k ln2 in two steps, the first exact (kLn2High).
// 2^k scales in two exact halves, so that the one rounding is the last multiply, also where
// e^x is subnormal (k < -126) or k = 128 (e^x just below FLT_MAX).
//
// Above ln(FLT_MAX) the result is +inf, below ln(2^-150) +0 (what rounding gives).
inline float exp_f32(float x) noexcept {
  using namespace float_math_detail;
  constexpr float kOverflow = 88.72283935546875f;   // the least float with e^x > FLT_MAX
  constexpr float kUnderflow = -103.972084045410f;  // e^x < 2^-150 below: rounds to +0
  constexpr float kLog2e = 1.44269502f;
  constexpr float kRoundingShift = 12582912.0f;  // 1.5 * 2^23
  if (!(x < kOverflow)) {
    return x != x ? x : std::numeric_limits<float>::infinity();  // NaN stays NaN
  }
  if (x < kUnderflow) {
    return 0.0f;
  }
  const float shifted = fused_mac(kRoundingShift, x, kLog2e);
  const float k_float = shifted - kRoundingShift;  // exact: an integer, |k| <= 150
  const int k = static_cast<int>(k_float);
  float r = fused_mac(x, k_float, -kLn2High);  // exact
  r = fused_mac(r, k_float, -kLn2Low);
  float p = 1.0f / 5040.0f;  // 1/7!
  p = fused_mac(1.0f / 720.0f, p, r);
  p = fused_mac(1.0f / 120.0f, p, r);
  p = fused_mac(1.0f / 24.0f, p, r);
  p = fused_mac(1.0f / 6.0f, p, r);
  p = fused_mac(0.5f, p, r);
  p = fused_mac(1.0f, p, r);
  p = fused_mac(1.0f, p, r);
  if (k >= -126 && k <= 127) {
    return p * power_of_two(k);
  }
  const int half = k / 2;  // both halves within [-75, 64]: normal powers, exact first step
  return (p * power_of_two(half)) * power_of_two(k - half);
}

// The natural logarithm, for every float x: -inf at +-0, NaN below 0 (and for NaN), +inf at
// +inf.
//
//   x = 2^e m,  sqrt(1/2) <= m < sqrt(2),  f = m - 1 (exact)
//   log(x) = e ln2 + log(1 + f)
//   log(1 + f) = 2 atanh(s) = 2s + s R,   s = f / (2 + f),  |s| <= 0.1716
//              R = 2 s^2 / 3 + 2 s^4 / 5 + 2 s^6 / 7 + 2 s^8 / 9   (the next term, 2 s^10 / 11,
//                                                                    is < 1e-9 of the result)
//   and as 2s = f - s f:   log(1 + f) = f - s (f - R)
//
// Written so, the rounding of s only reaches the result through s (f - R), about f^2 / 2: a
// small part of it. A subnormal x is first scaled by 2^23 (exact).
inline float log_f32(float x) noexcept {
  using namespace float_math_detail;
  constexpr float kSqrt2 = 1.41421354f;
  constexpr float kSmallestNormal = 1.17549435e-38f;  // 2^-126
  if (!(x > 0.0f)) {
    if (x == 0.0f) {
      return -std::numeric_limits<float>::infinity();
    }
    return x != x ? x : std::numeric_limits<float>::quiet_NaN();
  }
  if (x == std::numeric_limits<float>::infinity()) {
    return x;
  }
  int e = 0;
  if (x < kSmallestNormal) {
    x *= 8388608.0f;  // 2^23
    e = -23;
  }
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  e += static_cast<int>(bits >> 23) - 127;
  float m = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f800000u);  // [1, 2)
  if (m >= kSqrt2) {
    m *= 0.5f;
    ++e;
  }
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float s2 = s * s;
  float poly = 2.0f / 9.0f;
  poly = fused_mac(2.0f / 7.0f, poly, s2);
  poly = fused_mac(2.0f / 5.0f, poly, s2);
  poly = fused_mac(2.0f / 3.0f, poly, s2);
  const float r = poly * s2;
  const float log1p_f = fused_mac(f, -s, f - r);
  const auto e_float = static_cast<float>(e);
  return fused_mac(fused_mac(log1p_f, e_float, kLn2Low), e_float, kLn2High);
}

}  // namespace microtl::kernels
