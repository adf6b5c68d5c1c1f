// Fixed-point primitives of TFLite's int8 arithmetic (gemmlowp semantics), bit-exact.
//
// A real multiplier M (for example input_scale * weight_scale / output_scale) is stored as
// an int32 `multiplier` q in [2^30, 2^31) meaning q / 2^31, times 2^shift (multiplier.hpp).
// Applying it to an int32 accumulator x is multiply_by_quantized_multiplier(x, q, shift):
//
//   x * M  ~=  rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x * 2^left, q), right)
//   with left = max(shift, 0) and right = max(-shift, 0).
//
// This is TFLite's default ("double rounding") path: the product is rounded once to 32 bits
// in the high multiply, then once more in the power-of-two division. Rounding twice is what
// makes it bit-exact with TFLite Micro's reference kernels; a single-rounding version would
// differ by one in rare ties.
//
// Everything here is constexpr, noexcept and integer-only.
#pragma once

#include <cstdint>
#include <limits>

namespace microtl::quant {

// Returns the high 32 bits of 2*a*b, i.e. (a/2^31)*(b/2^31) in Q0.31, rounded to nearest
// with ties toward +infinity (gemmlowp's SaturatingRoundingDoublingHighMul):
//
//   result = trunc_toward_zero((a*b + nudge) / 2^31),
//   nudge  = 2^30 if a*b >= 0, else 1 - 2^30
//
// which equals floor((a*b + 2^30) / 2^31): a positive tie rounds up (1.5 -> 2), and so does a
// negative one (-1.5 -> -1), because the negative nudge is one short of 2^30. The only
// product that does not fit is INT32_MIN * INT32_MIN (= +1.0 in Q0.31), which saturates to
// INT32_MAX.
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a,
                                                             std::int32_t b) noexcept {
  constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
  if (a == kMin && b == kMin) {
    return std::numeric_limits<std::int32_t>::max();
  }
  // |a*b| <= 2^62, so the product and the nudge fit in int64.
  const std::int64_t product = std::int64_t{a} * std::int64_t{b};
  const std::int64_t nudge = product >= 0 ? (std::int64_t{1} << 30) : 1 - (std::int64_t{1} << 30);
  // int64 division truncates toward zero, as gemmlowp's does (not an arithmetic shift, which
  // would floor). The quotient is within int32 once the INT32_MIN^2 case is excluded.
  return static_cast<std::int32_t>((product + nudge) / (std::int64_t{1} << 31));
}

// Returns x / 2^exponent rounded to nearest, ties away from zero, for exponent in [0, 31]:
//
//   remainder = x mod 2^exponent (the low bits, always >= 0)
//   threshold = (2^exponent - 1) / 2, plus 1 when x < 0
//   result    = floor(x / 2^exponent) + (remainder > threshold ? 1 : 0)
//
// For x < 0 the raised threshold turns "round half up" of the floored quotient into
// "round half away from zero": -5 / 2 gives -3, 5 / 2 gives 3.
constexpr std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) noexcept {
  // The mask is built in int64: for exponent 31, 2^31 - 1 is still exact there.
  const std::int64_t mask = (std::int64_t{1} << exponent) - 1;
  const std::int64_t remainder = std::int64_t{x} & mask;
  const std::int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  // >> on a negative int32 is an arithmetic shift (guaranteed since C++20): it floors.
  const std::int32_t floored = x >> exponent;
  return floored + (remainder > threshold ? 1 : 0);
}

// Returns x * (multiplier / 2^31) * 2^shift, TFLite's MultiplyByQuantizedMultiplier:
//
//   SRDHM(x * 2^max(shift, 0), multiplier), then rounding_divide_by_pot by max(-shift, 0).
//
// Preconditions (as in TFLite): shift in [-31, 30]; for shift > 0, x * 2^shift fits in int32.
// If it does not, the left shift wraps modulo 2^32 here (what the reference kernels compile
// to on two's-complement hardware) instead of being undefined.
constexpr std::int32_t multiply_by_quantized_multiplier(std::int32_t x, std::int32_t multiplier,
                                                        int shift) noexcept {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const auto shifted = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << left_shift);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier),
                                right_shift);
}

// The single-rounding form of the same product (TFLite's MultiplyByQuantizedMultiplier built
// with TFLITE_SINGLE_ROUNDING, and ruy's rule): the exact product x * multiplier is rounded
// once, to nearest with ties toward +infinity:
//
//   result = (x * multiplier + 2^(30 - shift)) >> (31 - shift)     (in int64; >> floors)
//
// It differs from multiply_by_quantized_multiplier by one in rare ties (x = -6, multiplier
// 2^30, shift -1: -1.5 gives -1 here, -2 there). TFLite 2.x's int8 FULLY_CONNECTED kernels
// round this way (measured on TFLite 2.21, reference kernels included); its convolutions and
// TFLite Micro's kernels round twice. Preconditions: multiplier >= 0, shift in [-31, 30];
// the result must fit in int32 (it does for every accumulator a TFLite multiplier below 2^31
// can scale: |x * multiplier| < 2^62, and requantize clamps).
constexpr std::int32_t multiply_by_quantized_multiplier_single_rounding(std::int32_t x,
                                                                        std::int32_t multiplier,
                                                                        int shift) noexcept {
  const int total_shift = 31 - shift;  // in [1, 62]
  const std::int64_t round = std::int64_t{1} << (total_shift - 1);
  const std::int64_t product = std::int64_t{x} * std::int64_t{multiplier};
  return static_cast<std::int32_t>((product + round) >> total_shift);
}

}  // namespace microtl::quant
