// QuantizedMultiplier: a positive real factor as an int32 fixed-point mantissa and a
// power-of-two shift, computed exactly as TFLite's QuantizeMultiplier does.
//
//   real ~= multiplier / 2^31 * 2^shift,   multiplier in [2^30, 2^31) (or 0)
//
// quantize_multiplier runs in constant expressions (on g++ and clang alike), so a model
// whose scales are known at compile time can have its multipliers computed by the compiler.
// It uses double, which is fine: it is setup code, never run per element.
#pragma once

#include <bit>
#include <cstdint>

#include "microtl/quant/rounding.hpp"

namespace microtl::quant {

struct QuantizedMultiplier {
  std::int32_t multiplier;  // Q0.31 mantissa; 0 means the real factor is 0 (or below 2^-32)
  int shift;                // power of two; > 0 shifts left, < 0 shifts right

  friend constexpr bool operator==(const QuantizedMultiplier&,
                                   const QuantizedMultiplier&) noexcept = default;
};

namespace detail {

// The result of frexp: value = fraction * 2^exponent with |fraction| in [0.5, 1).
struct FrexpResult {
  double fraction;
  int exponent;
};

// std::frexp for finite doubles, in a constant expression. It reads the IEEE-754 binary64
// fields: value = 1.m * 2^(e - 1023) for normal numbers, 0.m * 2^-1022 for subnormals.
// Rebuilding the fraction only changes the exponent field, so it is exact.
constexpr FrexpResult frexp(double value) noexcept {
  constexpr int kMantissaBits = 52;
  constexpr std::uint64_t kExponentMask = std::uint64_t{0x7FF} << kMantissaBits;
  // The exponent field that makes a normal number lie in [0.5, 1): 2^-1 = field 1022.
  constexpr std::uint64_t kHalfExponentField = std::uint64_t{1022} << kMantissaBits;

  if (value == 0.0) {
    return {value, 0};
  }
  std::uint64_t bits = std::bit_cast<std::uint64_t>(value);
  int exponent_adjust = 0;
  if ((bits & kExponentMask) == 0) {
    // Subnormal: scale by 2^64 (exact) so it becomes normal, and remember the 64.
    bits = std::bit_cast<std::uint64_t>(value * 18446744073709551616.0);
    exponent_adjust = -64;
  }
  const auto biased_exponent = static_cast<int>((bits & kExponentMask) >> kMantissaBits);
  const std::uint64_t sign_and_mantissa = bits & ~kExponentMask;
  const double fraction = std::bit_cast<double>(sign_and_mantissa | kHalfExponentField);
  return {fraction, biased_exponent - 1022 + exponent_adjust};
}

}  // namespace detail

// TFLite's QuantizeMultiplier(double_multiplier, &quantized_multiplier, &shift):
//
//   real == 0                  -> {0, 0}
//   (fraction, e) = frexp(real)    fraction in [0.5, 1), real = fraction * 2^e
//   q = round(fraction * 2^31)     ties away from zero, q in [2^30, 2^31]
//   q == 2^31                  -> q = 2^30, e = e + 1   (the fraction rounded up to 1.0)
//   e < -31                    -> {0, 0}                (too small: every product rounds to 0)
//   else                       -> {q, e}
//
// Precondition: real is finite. Reals >= 2^31 give shift > 30, which
// multiply_by_quantized_multiplier cannot apply; TFLite never produces them for its scales.
// Negative reals are handled the same way, with a negative mantissa.
constexpr QuantizedMultiplier quantize_multiplier(double real) noexcept {
  if (real == 0.0) {
    return {0, 0};
  }
  const detail::FrexpResult parts = detail::frexp(real);
  // fraction * 2^31 only moves the exponent, so it is exact; the rounding is the only step.
  std::int64_t q = detail::round_half_away_from_zero(parts.fraction * 2147483648.0);
  int shift = parts.exponent;
  if (q == (std::int64_t{1} << 31)) {
    q /= 2;
    ++shift;
  }
  if (shift < -31) {
    return {0, 0};
  }
  return {static_cast<std::int32_t>(q), shift};
}

// The real factor a QuantizedMultiplier stands for, in float: multiplier * 2^(shift - 31)
// (the mantissa rounded to float's 24 bits, the power of two exact). The backward pass of an
// int8 layer uses it to recover the weight scale its multiplier was made from: an int8
// layer's parameters carry no other scale. Every shift quantize_multiplier makes (-31 .. 30)
// gives a power of two float represents, no division, no library call.
constexpr float real_multiplier(QuantizedMultiplier m) noexcept {
  const int exponent = m.shift - 31;  // in [-62, -1]
  const float power = std::bit_cast<float>(static_cast<std::uint32_t>(127 + exponent) << 23);
  return static_cast<float>(m.multiplier) * power;
}

}  // namespace microtl::quant
