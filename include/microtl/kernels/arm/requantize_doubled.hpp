// The output stage of the Cortex-M kernels that prepare their filters as doubled int16
// pairs (arm/convolve_3x3_one_channel.hpp, arm/convolve_prepared.hpp): quant::requantize, bit
// for bit, from an accumulator that holds twice TFLite's, in 4 instructions per output
// instead of requantize.hpp's 9.
//
// Let x be the accumulator (bias included) and a = 2x what the kernel holds. For a multiplier
// m > 0 (Q0.31) and shift = -e, e >= 1:
//
//   SMMLAR(a, m, r) = r + floor((a m + 2^31) / 2^32) = r + floor((x m + 2^30) / 2^31) = r + s
//
// where s is TFLite's rounding doubling high multiply (its floor form, requantize.hpp; it
// never saturates here: |x| < 2^30). The division by 2^e, ties away from zero, then the zero
// point z:
//
//   floor((s + 2^(e-1) - [s < 0]) / 2^e) + z = (r + s - [s < 0]) >> e,   r = 2^(e-1) + z 2^e
//
// and [s < 0] may be [x < 0], the sign bit of a: s < 0 implies x < 0 (m > 0), and for x < 0
// with s = 0 both give z, since 0 <= 2^(e-1) - 1 < 2^e. On Armv7E-M that is SMMLAR, ADD ...
// ASR #31, ASR, SSAT.
//
// Ranges. a = 2x fits in int32 when |x| < 2^30: the bias is at most 2^30 - 1 - 2^15 K in
// magnitude for K products (each below 2^15: int8 weight times input + offset in [-255, 255]),
// what doubled_fast() checks. Then |s| <= 2^30 and, for e in [1, 22] (a real multiplier in
// [2^-23, 2^-1), where calibrated layers' are), |r| <= 2^21 + 2^29: r + s fits in int32.
// A channel outside these bounds gets a stand-in here and the kernel computes it again exactly.
// tests/kernels/test_dsp_kernels.cpp checks rescale_doubled against
// quant::multiply_by_quantized_multiplier on random and constructed (tie, limit) inputs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/quant/multiplier.hpp"

namespace microtl::kernels::arm {

// One output channel's multiplier and zero point, prepared for doubled accumulators. The
// order of the members is the order requantize4_doubled loads them in (one LDM).
struct DoubledRescale {
  std::int32_t multiplier;  // m > 0
  std::int32_t rounding;    // r = 2^(e-1) + zero_point 2^e
  std::int32_t shift;       // e = -shift of the multiplier, in [1, 22]
};

// Whether a channel's outputs can be computed from doubled accumulators with the formula
// above: the multiplier's ranges, and the bias bound for `products` products per output.
constexpr bool doubled_fast(quant::QuantizedMultiplier q, std::int32_t bias,
                            std::size_t products) noexcept {
  const std::int64_t bias_limit =
      (std::int64_t{1} << 30) - 1 - (std::int64_t{1} << 15) * static_cast<std::int64_t>(products);
  const std::int64_t magnitude = bias < 0 ? -std::int64_t{bias} : std::int64_t{bias};
  return q.multiplier > 0 && q.shift <= -1 && q.shift >= -22 && magnitude <= bias_limit;
}

// The prepared multiplier (zero_point in [-128, 127]), or for a channel that is not
// doubled_fast a harmless stand-in whose outputs the kernel overwrites.
constexpr DoubledRescale make_doubled_rescale(quant::QuantizedMultiplier q, std::int32_t bias,
                                              std::size_t products,
                                              std::int32_t zero_point) noexcept {
  if (!doubled_fast(q, bias, products)) {
    return {0, 0, 1};
  }
  const std::int32_t e = -q.shift;
  return {q.multiplier, (std::int32_t{1} << (e - 1)) + zero_point * (std::int32_t{1} << e), e};
}

// quant::requantize's value before the clamp (multiply_by_quantized_multiplier plus the zero
// point) from the doubled accumulator a = 2x, for a prepared doubled_fast multiplier.
inline std::int32_t rescale_doubled(std::int32_t doubled, const DoubledRescale& r) noexcept {
  const std::int32_t high = dsp::smmlar(doubled, r.multiplier, r.rounding);
  return (high + (doubled >> 31)) >> r.shift;
}

// Four doubled accumulators to four int8 outputs, packed as a quad (lane k from acc<k>), with
// the prepared multipliers r[0..3] and the activation range: quant::requantize of each.
// On DSP cores 27 instructions: one asm block (per output LDM, SMMLAR, ADD, ASR, SSAT; BFI
// x3), then clamp_quad (SSUB8/SEL x2).
inline std::int32_t requantize4_doubled(std::int32_t acc0, std::int32_t acc1, std::int32_t acc2,
                                        std::int32_t acc3, const DoubledRescale* r,
                                        const OutputRange& out) noexcept {
#if defined(__ARM_FEATURE_DSP) && defined(__OPTIMIZE__)
  // LDM fills its registers in ascending order: m, h, e are pinned so that they are.
  register std::int32_t multiplier asm("r10");
  register std::int32_t high asm("r11");
  register std::int32_t shift asm("r12");
  const DoubledRescale* cursor = r;
  // clang-format off
#define MICROTL_ARM_RESCALE_DOUBLED(A)              \
  "ldm     %[r]!, {%[m], %[h], %[e]}\n\t"           \
  "smmlar  %[h], " A ", %[m], %[h]\n\t"             \
  "add     %[h], %[h], " A ", asr #31\n\t"          \
  "asr     %[h], %[h], %[e]\n\t"                    \
  "ssat    " A ", #8, %[h]\n\t"
  __asm(
      MICROTL_ARM_RESCALE_DOUBLED("%[a0]")
      MICROTL_ARM_RESCALE_DOUBLED("%[a1]")
      MICROTL_ARM_RESCALE_DOUBLED("%[a2]")
      MICROTL_ARM_RESCALE_DOUBLED("%[a3]")
      "bfi     %[a0], %[a1], #8, #8\n\t"
      "bfi     %[a0], %[a2], #16, #8\n\t"
      "bfi     %[a0], %[a3], #24, #8"                  // bytes out0..out3
      : [a0] "+r"(acc0), [a1] "+r"(acc1), [a2] "+r"(acc2), [a3] "+r"(acc3), [r] "+r"(cursor),
        [m] "=&r"(multiplier), [h] "=&r"(high), [e] "=&r"(shift)
      : "m"(*reinterpret_cast<const DoubledRescale(*)[4]>(r)));
#undef MICROTL_ARM_RESCALE_DOUBLED
  // clang-format on
  return clamp_quad(acc0, out);
#else
  return clamp_pack4(rescale_doubled(acc0, r[0]), rescale_doubled(acc1, r[1]),
                     rescale_doubled(acc2, r[2]), rescale_doubled(acc3, r[3]), out);
#endif
}

}  // namespace microtl::kernels::arm
