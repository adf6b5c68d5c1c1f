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

#include <cstddef>
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

// The most output channels the convolutions' stack tables take (2 KB of tables).
inline constexpr std::size_t kMaxChannels = 64;

// Per output channel of a convolution, the tables its output stage loads four channels at a
// time: the accumulator's constant part (bias plus what the kernel folds in), the multiplier's
// fields. The lanes beyond Cout stay zero: their outputs are never stored.
template <std::size_t Cout>
struct ChannelTables {
  static_assert(Cout <= kMaxChannels, "too many output channels for the stack tables");
  static constexpr std::size_t kLanes = (Cout + 3) / 4 * 4;
  alignas(16) std::int32_t base[kLanes] = {};
  alignas(16) std::int32_t multiplier[kLanes] = {};
  alignas(16) std::int32_t left[kLanes] = {};
  alignas(16) std::int32_t right_neg[kLanes] = {};

  void set(std::size_t c, std::int32_t constant, quant::QuantizedMultiplier q) noexcept {
    const RescaleFields f = rescale_fields(q);
    base[c] = constant;
    multiplier[c] = f.multiplier;
    left[c] = f.left;
    right_neg[c] = f.right_neg;
  }

  // The tables' entries of the channels [c, c + 4), loaded once for several pixels.
  struct Group {
    std::size_t c;
    int32x4_t base;
    int32x4_t multiplier;
    int32x4_t left;
    int32x4_t right_neg;
  };

  Group group(std::size_t c) const noexcept {
    return {c, vldrwq_s32(base + c), vldrwq_s32(multiplier + c), vldrwq_s32(left + c),
            vldrwq_s32(right_neg + c)};
  }

  // output[g.c + k] = requantize(base[g.c + k] + acc[k]) for the lanes k < 4 with
  // g.c + k < Cout: one VSTRB, predicated when the group is the last, partial one.
  static void requantize_store4(const Group& g, int32x4_t acc, std::int8_t* output,
                                const OutputVectors& out) noexcept {
    const int32x4_t codes =
        requantize4(vaddq_s32(acc, g.base), g.multiplier, g.left, g.right_neg, out);
    if (g.c + 4 <= Cout) {
      vstrbq_s32(output + g.c, codes);
    } else {
      vstrbq_p_s32(output + g.c, codes, vctp32q(Cout - g.c));
    }
  }

  void requantize_store4(std::size_t c, int32x4_t acc, std::int8_t* output,
                         const OutputVectors& out) const noexcept {
    requantize_store4(group(c), acc, output, out);
  }

  // output[c] = requantize(base[c] + acc[c]) for c < Cout. acc: kLanes entries, 16-byte
  // aligned.
  void requantize_store(const std::int32_t* acc, std::int8_t* output,
                        const OutputVectors& out) const noexcept {
    for (std::size_t c = 0; c < kLanes; c += 4) {
      requantize_store4(c, vldrwq_s32(acc + c), output, out);
    }
  }
};

}  // namespace microtl::kernels::mve

#endif  // __ARM_FEATURE_MVE
