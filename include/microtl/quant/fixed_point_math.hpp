// Fixed-point exp and reciprocal with gemmlowp's semantics, bit-exact: the building blocks of
// TFLite's int8 softmax.
//
// Notation: a raw int32 "in Qm.n" (m integer bits, n = 31 - m fractional bits) means the real
// raw / 2^n. Multiplying a Qa value by a Qb value with saturating_rounding_doubling_high_mul
// gives a Q(a+b) value; adding or subtracting needs equal formats. Additions here are plain
// int32 additions, as in gemmlowp; the ranges noted in the comments keep them from overflowing.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/rounding.hpp"

namespace microtl::quant {

namespace detail {

// e^x for x <= 0 in double, for computing constants at compile time: e^x = (e^(x/64))^64,
// with e^(x/64) (|x/64| <= 1/4 for |x| <= 16) from 20 terms of its Taylor series.
constexpr double exp_for_constants(double x) noexcept {
  const double reduced = x / 64.0;
  double term = 1.0;
  double sum = 1.0;
  for (int k = 1; k <= 20; ++k) {
    term *= reduced / static_cast<double>(k);
    sum += term;
  }
  for (int squaring = 0; squaring < 6; ++squaring) {
    sum *= sum;
  }
  return sum;
}

// The Q0.31 raw value nearest to a real in [-1, 1).
constexpr std::int32_t q0_31(double real) noexcept {
  return static_cast<std::int32_t>(round_half_away_from_zero(real * 2147483648.0));
}

// The Q2.29 raw value nearest to a real in [-4, 4).
constexpr std::int32_t q2_29(double real) noexcept {
  return static_cast<std::int32_t>(round_half_away_from_zero(real * 536870912.0));
}

// e^(-2^e) in Q0.31 for e = -2 .. 4 (e^(-1/4), e^(-1/2), e^(-1), ..., e^(-16)): the factors of
// exp_on_negative_values. Computed by the compiler; the values are gemmlowp's.
inline constexpr int kFirstQuarterExponent = -2;
inline constexpr std::array<std::int32_t, 7> kExpOfMinusPowersOfTwo = [] {
  std::array<std::int32_t, 7> table{};
  double power = 0.25;
  for (std::int32_t& factor : table) {
    factor = q0_31(exp_for_constants(-power));
    power *= 2.0;
  }
  return table;
}();
static_assert(kExpOfMinusPowersOfTwo[0] == 1672461947 && kExpOfMinusPowersOfTwo[1] == 1302514674 &&
              kExpOfMinusPowersOfTwo[2] == 790015084 && kExpOfMinusPowersOfTwo[3] == 290630308 &&
              kExpOfMinusPowersOfTwo[4] == 39332535 && kExpOfMinusPowersOfTwo[5] == 720401 &&
              kExpOfMinusPowersOfTwo[6] == 242);

}  // namespace detail

// x * 2^Exponent (gemmlowp SaturatingRoundingMultiplyByPOT): for Exponent < 0 a rounding
// division (ties away from zero); for Exponent > 0 a left shift that saturates to
// [INT32_MIN, INT32_MAX] when |x| > 2^(31 - Exponent) - 1.
template <int Exponent>
constexpr std::int32_t saturating_rounding_multiply_by_pot(std::int32_t x) noexcept {
  static_assert(Exponent > -32 && Exponent < 32, "shift out of range");
  if constexpr (Exponent < 0) {
    return rounding_divide_by_pot(x, -Exponent);
  } else if constexpr (Exponent == 0) {
    return x;
  } else {
    constexpr std::int32_t kThreshold = static_cast<std::int32_t>((1LL << (31 - Exponent)) - 1);
    if (x > kThreshold) {
      return std::numeric_limits<std::int32_t>::max();
    }
    if (x < -kThreshold) {
      return std::numeric_limits<std::int32_t>::min();
    }
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << Exponent);
  }
}

// (a + b) / 2 rounded to nearest, ties away from zero, without overflow (gemmlowp
// RoundingHalfSum): the sum is formed in int64.
constexpr std::int32_t rounding_half_sum(std::int32_t a, std::int32_t b) noexcept {
  const std::int64_t sum = std::int64_t{a} + std::int64_t{b};
  const std::int64_t sign = sum >= 0 ? 1 : -1;
  return static_cast<std::int32_t>((sum + sign) / 2);
}

// e^a for a in [-1/4, 0), a and the result in Q0.31 (gemmlowp
// exp_on_interval_between_negative_one_quarter_and_0_excl). Fourth-order Taylor expansion
// around -1/8: with x = a + 1/8,
//
//   e^a = e^(-1/8) * e^x ~= e^(-1/8) * (1 + x + x^2/2 + x^3/6 + x^4/24)
//       = e^(-1/8) + e^(-1/8) * (x + ((x^4/4 + x^3) / 3 + x^2) / 2)
constexpr std::int32_t exp_on_interval_minus_quarter_to_zero(std::int32_t a) noexcept {
  constexpr std::int32_t kExpMinusOneEighth = detail::q0_31(detail::exp_for_constants(-0.125));
  constexpr std::int32_t kOneThird = detail::q0_31(1.0 / 3.0);
  constexpr std::int32_t kOneEighth = std::int32_t{1} << 28;  // 1/8 in Q0.31
  static_assert(kExpMinusOneEighth == 1895147668 && kOneThird == 715827883);

  const std::int32_t x = a + kOneEighth;  // in [1/8 - 1/4, 1/8): no overflow
  const std::int32_t x2 = saturating_rounding_doubling_high_mul(x, x);
  const std::int32_t x3 = saturating_rounding_doubling_high_mul(x2, x);
  const std::int32_t x4 = saturating_rounding_doubling_high_mul(x2, x2);
  const std::int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
  // x^4/24 + x^3/6 + x^2/2 = ((x^4/4 + x^3) * 1/3 + x^2) / 2
  const std::int32_t higher_terms = rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(x4_over_4 + x3, kOneThird) + x2, 1);
  return kExpMinusOneEighth +
         saturating_rounding_doubling_high_mul(kExpMinusOneEighth, x + higher_terms);
}

// e^a for a <= 0, a in Q(IntegerBits).(31 - IntegerBits), the result in Q0.31 (gemmlowp
// exp_on_negative_values). Split -a into a multiple of 1/4 plus a rest:
//
//   a = r - (k / 4),   r in [-1/4, 0),   k >= 0
//   e^a = e^r * product over the set bits b of k of e^(-2^b / 4)
//
// e^r comes from the Taylor expansion above; each bit of k multiplies by a precomputed
// constant e^(-1/4), e^(-1/2), e^(-1), ..., e^(-16). a = 0 gives 1 (INT32_MAX, the largest
// Q0.31 value).
template <int IntegerBits>
constexpr std::int32_t exp_on_negative_values(std::int32_t a) noexcept {
  static_assert(IntegerBits >= 0 && IntegerBits <= 5,
                "inputs below -32 would need the extra clamp of gemmlowp's larger formats");
  constexpr int kFractionalBits = 31 - IntegerBits;
  constexpr std::int32_t kOneQuarter = std::int32_t{1} << (kFractionalBits - 2);
  constexpr std::int32_t kQuarterMask = kOneQuarter - 1;

  // r = (a mod 1/4) - 1/4, in [-1/4, 0); k/4 = r - a >= 0.
  const std::int32_t rest = (a & kQuarterMask) - kOneQuarter;
  const std::int32_t quarters = rest - a;
  std::int32_t result = exp_on_interval_minus_quarter_to_zero(
      saturating_rounding_multiply_by_pot<IntegerBits>(rest));  // to Q0.31

  // Bit (kFractionalBits + e) of `quarters` stands for 2^e; e runs from -2 (1/4) up to the
  // largest power of two the input format holds.
  for (int exponent = detail::kFirstQuarterExponent; exponent < IntegerBits; ++exponent) {
    const std::int32_t bit = std::int32_t{1} << (kFractionalBits + exponent);
    if ((quarters & bit) != 0) {
      const std::int32_t factor = detail::kExpOfMinusPowersOfTwo[static_cast<std::size_t>(
          exponent - detail::kFirstQuarterExponent)];
      result = saturating_rounding_doubling_high_mul(result, factor);
    }
  }
  return a == 0 ? std::numeric_limits<std::int32_t>::max() : result;
}

// 1 / (1 + a) for a in [0, 1), a in Q0.31, the result in Q0.31 (gemmlowp
// one_over_one_plus_x_for_x_in_0_1). Newton-Raphson on d = (1 + a) / 2 in [1/2, 1):
//
//   x0 = 48/17 - 32/17 * d               (the best linear start on [1/2, 1))
//   x(n+1) = x(n) + x(n) * (1 - d * x(n))    three times, in Q2.29
//   1 / (1 + a) = x / 2
// x ~= 2 / (1 + a) in Q2.29 for a in [0, 1] in Q0.31, by the iteration above (gemmlowp's, for
// 1 / (1 + a) and (1 - a) / (1 + a) alike).
constexpr std::int32_t two_over_one_plus_x_q2_29(std::int32_t a) noexcept {
  constexpr std::int32_t kOneQ0_31 = std::numeric_limits<std::int32_t>::max();
  constexpr std::int32_t kOneQ2_29 = std::int32_t{1} << 29;
  constexpr std::int32_t k48Over17 = detail::q2_29(48.0 / 17.0);
  constexpr std::int32_t kMinus32Over17 = detail::q2_29(-32.0 / 17.0);
  static_assert(k48Over17 == 1515870810 && kMinus32Over17 == -1010580540);

  const std::int32_t half_denominator = rounding_half_sum(a, kOneQ0_31);  // Q0.31
  // Q0.31 * Q2.29 -> Q2.29.
  std::int32_t x =
      k48Over17 + saturating_rounding_doubling_high_mul(half_denominator, kMinus32Over17);
  for (int iteration = 0; iteration < 3; ++iteration) {
    const std::int32_t half_denominator_times_x =
        saturating_rounding_doubling_high_mul(half_denominator, x);  // Q2.29
    const std::int32_t one_minus_half_denominator_times_x = kOneQ2_29 - half_denominator_times_x;
    // Q2.29 * Q2.29 -> Q4.27, brought back to Q2.29 by a saturating doubling.
    x += saturating_rounding_multiply_by_pot<2>(
        saturating_rounding_doubling_high_mul(x, one_minus_half_denominator_times_x));
  }
  return x;
}

constexpr std::int32_t one_over_one_plus_x_for_x_in_0_1(std::int32_t a) noexcept {
  // x / 2 in Q1.30 has the raw bits of x; Q1.30 -> Q0.31 doubles them, saturating at 1.
  return saturating_rounding_multiply_by_pot<1>(two_over_one_plus_x_q2_29(a));
}

// (1 - a) / (1 + a) for a in (0, 1], a and the result in Q0.31 (gemmlowp's
// one_minus_x_over_one_plus_x_for_x_in_0_1): 2 / (1 + a) - 1, brought from Q2.29 to Q0.31
// by a saturating * 4.
constexpr std::int32_t one_minus_x_over_one_plus_x_for_x_in_0_1(std::int32_t a) noexcept {
  constexpr std::int32_t kOneQ2_29 = std::int32_t{1} << 29;
  return saturating_rounding_multiply_by_pot<2>(two_over_one_plus_x_q2_29(a) - kOneQ2_29);
}

// The reciprocal of a positive Q(IntegerBits).(31 - IntegerBits) value x, as TFLite's
// GetReciprocal: x = (1 + f) * 2^bits_over_unit with f in [0, 1), so
//
//   1 / x = one_over_one_plus_x(f) * 2^-bits_over_unit
//
// Returns 1 / (1 + f) in Q0.31 and sets bits_over_unit (the caller applies the power of two).
struct Reciprocal {
  std::int32_t scale;  // 1 / (1 + f) in Q0.31
  int bits_over_unit;  // 1 / x = scale * 2^-bits_over_unit
};

template <int IntegerBits>
constexpr Reciprocal reciprocal(std::int32_t x) noexcept {
  const auto bits = static_cast<std::uint32_t>(x);
  const int headroom_plus_one = std::countl_zero(bits);
  // Shifting the leading 1 to bit 31 gives 1 + f in Q1.31 (unsigned); dropping it gives f.
  const auto f = static_cast<std::int32_t>((bits << headroom_plus_one) - (1U << 31));
  return {one_over_one_plus_x_for_x_in_0_1(f), IntegerBits - headroom_plus_one};
}

}  // namespace microtl::quant
