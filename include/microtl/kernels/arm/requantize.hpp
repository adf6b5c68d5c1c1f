// The output stage of the Cortex-M DSP kernels: quant::requantize, bit for bit, in about a
// tenth of its instructions.
//
// quant::multiply_by_quantized_multiplier(x, m, shift) rounds twice (fixed_point.hpp): once
// to 32 bits in the doubling high multiply, once in the division by 2^e, e = -shift. Written
// with the 64-bit product p = x * m, for e >= 1 (the multipliers of real layers are below
// 1/4, e >= 2):
//
//   high multiply:  s = trunc((p + nudge) / 2^31), nudge = 2^30 (p >= 0) or 1 - 2^30 (p < 0)
//                     = floor((p + 2^30) / 2^31)          (for p < 0 the truncation is a
//                                                          ceiling, and ceil((p + 1 - 2^30) /
//                                                          2^31) = floor((p + 2^30) / 2^31))
//   division:       r = floor((s + 2^(e-1) - [s < 0]) / 2^e)     (ties away from zero)
//   nested floors:  r = floor((p + 2^30 + 2^(30+e) - [s < 0] 2^31) / 2^(31+e))
//   [s < 0] may be replaced by [p < 0]: they differ only for p in [-2^30, 0), where both
//   give r = 0; and [p < 0] is the sign bit of x ^ m (when p = 0, either sign gives r = 0).
//   So, with K = 2^(30+e) + 2^30 - [x ^ m < 0] 2^31 (positive, below 2^62):
//
//     r = floor((p + K) / 2^(31+e)) = (high word of p + K) >> (e - 1)
//
// On Armv7E-M: EOR, AND, ORR, ADD build K in a register pair (low word 2^30 or 3 * 2^30 mod
// 2^32, high word 2^(e-2) plus the sign), SMLAL adds p, ASR finishes: 6 instructions. The one
// input where the high multiply saturates (x = m = INT32_MIN, s = INT32_MAX instead of
// 2^31) gives the same r for e >= 1: both round to 2^(31-e).
//
// For e <= 1 (shift >= -1, a multiplier of 1/4 or more: not seen in real layers) rescale()
// calls quant::multiply_by_quantized_multiplier itself (rescale_fallback, out of line).
// tests/kernels/test_dsp_kernels.cpp checks rescale() against it on millions of random and
// constructed (tie, limit) inputs for every shift in [-31, 30].
#pragma once

#include <cstdint>

#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/multiplier.hpp"

namespace microtl::kernels::arm {

// One output channel's multiplier, prepared for rescale().
struct Rescale {
  std::int32_t multiplier;     // the Q0.31 mantissa m
  std::int32_t rounding_high;  // 2^(e-2): the high word of 2^(30+e); 0 when e <= 1
  std::int32_t right;          // e - 1 = ~shift; e <= 1 (right <= 0) takes the exact fallback
};

constexpr Rescale make_rescale(quant::QuantizedMultiplier q) noexcept {
  const std::int32_t right = ~q.shift;  // -shift - 1
  return {q.multiplier, right >= 1 ? std::int32_t{1} << (right - 1) : 0, right};
}

// A multiplier prepared for loops that must not branch per output, with the output zero
// point folded in: the high word starts at 2^(e-2) + zero_point * 2^(e-1), so that the final
// shift gives r + zero_point directly (floor(h / 2^k) + z = floor((h + z 2^k) / 2^k)).
// That stays inside int32 while e <= 23 (|high word| < 2^30 + 2^22 + 2^29): "fast" means
// shift in [-23, -2], a real multiplier in [2^-24, 2^-2), where calibrated layers' are (input
// scale * weight scale / output scale is typically 2^-8 .. 2^-16).
// Kernels prepare one per channel with make_fast_rescale and, for the rare channel that is not
// fast, compute its outputs again afterwards with the exact rescale().
struct FastRescale {
  std::int32_t multiplier;
  std::int32_t rounding_high;  // 2^(e-2) + zero_point * 2^(e-1)
  std::int32_t right;          // e - 1, in [1, 22]
};

constexpr bool is_fast(quant::QuantizedMultiplier q) noexcept {
  return q.shift <= -2 && q.shift >= -23;
}

// The prepared multiplier (zero_point in [-128, 127]), or for a multiplier that is not fast a
// harmless stand-in whose outputs the caller overwrites.
constexpr FastRescale make_fast_rescale(quant::QuantizedMultiplier q,
                                        std::int32_t zero_point) noexcept {
  if (!is_fast(q)) {
    return {0, 1, 1};
  }
  const std::int32_t right = ~q.shift;
  return {q.multiplier, (std::int32_t{1} << (right - 1)) + zero_point * (std::int32_t{1} << right),
          right};
}

namespace detail {

// The exact fallback for e <= 1, clamped to int32 after the offset. Out of line and cold: it
// is never taken by calibrated layers, and one copy serves every kernel instance.
#if defined(__GNUC__)
[[gnu::noinline, gnu::cold]]
#endif
inline std::int32_t
rescale_fallback(std::int32_t x, std::int32_t multiplier, int shift, std::int32_t offset) noexcept {
  const std::int64_t exact =
      std::int64_t{quant::multiply_by_quantized_multiplier(x, multiplier, shift)} + offset;
  constexpr std::int64_t kMin = -(std::int64_t{1} << 31);
  constexpr std::int64_t kMax = (std::int64_t{1} << 31) - 1;
  return static_cast<std::int32_t>(exact < kMin ? kMin : (exact > kMax ? kMax : exact));
}

// The fast formula, right = e - 1 >= 1, rounding_high = 2^(e-2).
inline std::int32_t rescale_fast(std::int32_t x, std::int32_t multiplier,
                                 std::int32_t rounding_high, std::int32_t right,
                                 std::int32_t offset) noexcept {
  // K: low word 2^30 or 3 * 2^30 (mod 2^32), high word 2^(e-2) plus the sign (0 or -1).
  const std::int32_t signs = x ^ multiplier;
  const std::uint32_t low = 0x4000'0000u | (static_cast<std::uint32_t>(signs) & 0x8000'0000u);
  const std::int32_t high = rounding_high + (signs >> 31);
  const auto k = static_cast<std::int64_t>(
      (static_cast<std::uint64_t>(static_cast<std::uint32_t>(high)) << 32) | low);
  const std::int64_t sum = k + std::int64_t{x} * multiplier;  // SMLAL
  // |result| <= 2^30 before the offset, so the addition cannot overflow.
  return (static_cast<std::int32_t>(sum >> 32) >> right) + offset;
}

}  // namespace detail

// x * multiplier * 2^shift, rounded exactly as quant::multiply_by_quantized_multiplier, plus
// `offset`. The result may differ from that sum only when the sum is outside [-2^31, 2^31):
// then it is clamped to that range, which changes nothing once the caller clamps to int8.
// Precondition: shift in [-31, 30] (as for multiply_by_quantized_multiplier), offset in
// [-2^20, 2^20].
inline std::int32_t rescale(std::int32_t x, const Rescale& r, std::int32_t offset) noexcept {
  if (r.right >= 1) [[likely]] {
    return detail::rescale_fast(x, r.multiplier, r.rounding_high, r.right, offset);
  }
  return detail::rescale_fallback(x, r.multiplier, ~r.right, offset);
}

// rescale(x, q, zero_point) without a branch, for a prepared fast multiplier (whose zero
// point is folded in): 6 instructions.
inline std::int32_t rescale(std::int32_t x, const FastRescale& r) noexcept {
  return detail::rescale_fast(x, r.multiplier, r.rounding_high, r.right, 0);
}

// The same from the multiplier as stored in the params (prepared on the fly: 3 more
// instructions).
inline std::int32_t rescale(std::int32_t x, quant::QuantizedMultiplier q,
                            std::int32_t offset) noexcept {
  const std::int32_t right = ~q.shift;
  if (right >= 1) [[likely]] {
    // 2^(right - 1), as (1 << right) >> 1: right <= 30.
    const auto rounding_high = static_cast<std::int32_t>((1u << right) >> 1);
    return detail::rescale_fast(x, q.multiplier, rounding_high, right, offset);
  }
  return detail::rescale_fallback(x, q.multiplier, q.shift, offset);
}

// The clamp of the outputs: the activation range, also as four byte lanes for four outputs
// at once.
struct OutputRange {
  std::int32_t offset;  // output zero point
  std::int32_t min;     // activation range, within [-128, 127]
  std::int32_t max;
  std::int32_t min_quad;  // min in each byte lane
  std::int32_t max_quad;

  static constexpr OutputRange of(std::int32_t output_offset,
                                  quant::ActivationRange range) noexcept {
    return {output_offset, range.min, range.max, dsp::splat_quad(range.min),
            dsp::splat_quad(range.max)};
  }
};

// quant::requantize(acc, multiplier, offset, range) for one output; `r` is a Rescale or a
// quant::QuantizedMultiplier.
template <typename Multiplier>
inline std::int8_t requantize(std::int32_t acc, const Multiplier& r,
                              const OutputRange& out) noexcept {
  std::int32_t value = rescale(acc, r, out.offset);
  value = value < out.min ? out.min : value;
  value = value > out.max ? out.max : value;
  return static_cast<std::int8_t>(value);
}

// Four int8 outputs packed as a quad, each clamped to the activation range (SSUB8/SEL x2).
inline std::int32_t clamp_quad(std::int32_t quad, const OutputRange& out) noexcept {
  return dsp::min_s8x4(dsp::max_s8x4(quad, out.min_quad), out.max_quad);
}

// Four values already rescaled and offset, clamped to int8 (SSAT), packed as a quad (lane k
// from v[k]) and clamped to the activation range per lane: the four int8 outputs of
// quant::requantize, ready for one word store.
inline std::int32_t clamp_pack4(std::int32_t v0, std::int32_t v1, std::int32_t v2, std::int32_t v3,
                                const OutputRange& out) noexcept {
  const auto saturated = [](std::int32_t v) { return static_cast<std::uint32_t>(dsp::ssat8(v)); };
  // PKHBT pairs lanes 0/2 and 1/3, then the bytes interleave: 5 instructions.
  const std::uint32_t even = (saturated(v0) & 0xFFFFu) | (saturated(v2) << 16);
  const std::uint32_t odd = (saturated(v1) & 0xFFFFu) | (saturated(v3) << 16);
  const auto packed =
      static_cast<std::int32_t>((even & 0x00FF'00FFu) | ((odd & 0x00FF'00FFu) << 8));
  return clamp_quad(packed, out);
}

// Four accumulators to four int8 outputs, packed as a quad (lane k from acc<k>), with the
// four prepared fast multipliers r[0..3] (zero point folded in) and the activation range:
// clamp_pack4(rescale(acc0, r[0]), ..., out). On DSP cores one asm block of 45 instructions
// (per output LDRD, EOR, ADD, AND, ORR, SMLAL, LDR, ASR, SSAT; then PKHBT x2, AND x2, ORR,
// SSUB8/SEL x2); GCC, given the same in C, reloads the multipliers and spills.
inline std::int32_t requantize4(std::int32_t acc0, std::int32_t acc1, std::int32_t acc2,
                                std::int32_t acc3, const FastRescale* r,
                                const OutputRange& out) noexcept {
#if defined(__ARM_FEATURE_DSP)
// clang-format off
#define MICROTL_ARM_RESCALE(A)            \
  "ldrd    %[m], %[h], [%[r]], #8\n\t"    \
  "eor     %[t], " A ", %[m]\n\t"         \
  "add     %[h], %[h], %[t], asr #31\n\t" \
  "and     %[t], %[t], #0x80000000\n\t"   \
  "orr     %[t], %[t], #0x40000000\n\t"   \
  "smlal   %[t], %[h], " A ", %[m]\n\t"   \
  "ldr     %[t], [%[r]], #4\n\t"          \
  "asr     %[h], %[h], %[t]\n\t"          \
  "ssat    " A ", #8, %[h]\n\t"
  // clang-format on
  std::int32_t multiplier;
  std::int32_t high;
  std::int32_t temp;
  const FastRescale* cursor = r;
  // clang-format off
  __asm(
      MICROTL_ARM_RESCALE("%[a0]")
      MICROTL_ARM_RESCALE("%[a1]")
      MICROTL_ARM_RESCALE("%[a2]")
      MICROTL_ARM_RESCALE("%[a3]")
      "pkhbt   %[a0], %[a0], %[a2], lsl #16\n\t"       // (out0, out2)
      "pkhbt   %[a1], %[a1], %[a3], lsl #16\n\t"       // (out1, out3)
      "and     %[a0], %[a0], #0x00FF00FF\n\t"
      "and     %[a1], %[a1], #0x00FF00FF\n\t"
      "orr     %[a0], %[a0], %[a1], lsl #8\n\t"        // bytes out0..out3
      "ssub8   %[t], %[a0], %[lo]\n\t"
      "sel     %[a0], %[a0], %[lo]\n\t"                // max(out, min)
      "ssub8   %[t], %[hi], %[a0]\n\t"
      "sel     %[a0], %[a0], %[hi]"                     // min(out, max)
      : [m] "=&r"(multiplier), [h] "=&r"(high), [t] "=&r"(temp),
        [r] "+r"(cursor), [a0] "+r"(acc0), [a1] "+r"(acc1), [a2] "+r"(acc2), [a3] "+r"(acc3)
      : [lo] "r"(out.min_quad), [hi] "r"(out.max_quad)
      : "cc", "memory");
  // clang-format on
#undef MICROTL_ARM_RESCALE
  return acc0;
#else
  return clamp_pack4(rescale(acc0, r[0]), rescale(acc1, r[1]), rescale(acc2, r[2]),
                     rescale(acc3, r[3]), out);
#endif
}

}  // namespace microtl::kernels::arm
