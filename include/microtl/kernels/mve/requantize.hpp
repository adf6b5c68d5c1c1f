// The output stage of the Helium (MVE) convolution kernels: quant::requantize (Rounding::twice,
// TFLite Micro's), bit for bit, on four accumulators at once.
//
// quant::multiply_by_quantized_multiplier(x, m, shift) is, with left = max(shift, 0) and
// right = max(-shift, 0):
//
//   s = SRDHM(x * 2^left, m)                    x * 2^left wraps mod 2^32 (quant's cast)
//   r = rounding_divide_by_pot(s, right)        ties away from zero
//
// Lane by lane with MVE:
//   VSHL  x by left (register shift, no saturation: it wraps as quant's does)
//   VQRDMULH  (2 x m + 2^31) >> 32, saturating only for INT32_MIN * INT32_MIN: exactly SRDHM
//             (fixed_point.hpp's floor((x m + 2^30) / 2^31))
//   VRSHL by -right rounds ties up: floor((s + 2^(right-1)) / 2^right). Ties away from zero
//   need s - 1 for s < 0 (right >= 1): requantize.hpp of kernels/arm derives
//   r = floor((s + 2^(right-1) - [s < 0]) / 2^right). The -1 is (s AND -right) >> 31 (-right
//   has its sign bit set exactly when right >= 1), added with saturation: only s = INT32_MIN
//   saturates, where floor((-2^31 + 2^(right-1) - 1) / 2^right) = -2^(31-right) =
//   floor((-2^31 + 2^(right-1)) / 2^right) (2^31 is a multiple of 2^right): the same r.
//   Then + zero point (saturating: quant adds in int64; either way the value clamps the same)
//   and the activation clamp (VMAX, VMIN).
// 9 vector instructions for four outputs. tests/kernels/test_dsp_kernels.cpp checks it against
// quant::requantize for every shift in [-31, 30] on random and constructed (tie, limit) inputs.
#pragma once

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#endif

#include <cstdint>

#include "microtl/quant/activation.hpp"
#include "microtl/quant/multiplier.hpp"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

namespace microtl::kernels::mve {

// One channel's multiplier in the form the vector requantization loads, one array per field
// (a group of four channels is one VLDRW from each).
struct RescaleFields {
  std::int32_t multiplier;  // the Q0.31 mantissa
  std::int32_t left;        // max(shift, 0)
  std::int32_t right_neg;   // min(shift, 0) = -right
};

constexpr RescaleFields rescale_fields(quant::QuantizedMultiplier q) noexcept {
  return {q.multiplier, q.shift > 0 ? q.shift : 0, q.shift < 0 ? q.shift : 0};
}

// The zero point and the clamp, as vectors.
struct OutputVectors {
  int32x4_t zero_point;
  int32x4_t min;
  int32x4_t max;

  static OutputVectors of(std::int32_t zero_point, quant::ActivationRange range) noexcept {
    return {vdupq_n_s32(zero_point), vdupq_n_s32(range.min), vdupq_n_s32(range.max)};
  }
};

// quant::requantize(acc[k], {multiplier[k], shift[k]}, zero_point, range) in lane k.
inline int32x4_t requantize4(int32x4_t acc, int32x4_t multiplier, int32x4_t left,
                             int32x4_t right_neg, const OutputVectors& out) noexcept {
  const int32x4_t high = vqrdmulhq_s32(vshlq_s32(acc, left), multiplier);
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(high, right_neg), 31);
  const int32x4_t divided = vrshlq_s32(vqaddq_s32(high, fixup), right_neg);
  return vminq_s32(vmaxq_s32(vqaddq_s32(divided, out.zero_point), out.min), out.max);
}

}  // namespace microtl::kernels::mve

#endif  // __ARM_FEATURE_MVE
