// Fully connected (dense) layer, int8, for Cortex-M cores with Helium (MVE, M55, M85): the same
// contract as kernels::portable::fully_connected_s8 (see kernels/portable/fully_connected.hpp
// for the layouts and ranges) and the same output codes, bit for bit, for both roundings.
//
//   output[o] = requantize(bias[o] + sum_i weights[o][i] * input[i]
//                                  + input_offset * sum_i weights[o][i])
//
// which is the portable kernel's sum_i weights[o][i] * (input[i] + input_offset) regrouped (the
// same integer: x + offset does not fit in an int8 lane, so it is added once per row).
//
// How: three rows (outputs) per pass share each 16-byte load of the input (mve/dot.hpp: 48 MACs
// in 11 instructions, the rows' weight sums and the loop end included); Out % 3 trailing rows
// one at a time.
// The weight sums cost one VADDVA per 16 weights here, as much as CMSIS-NN's separate kernel-sum
// pass, but need no buffer and no preparation step. The requantization is scalar, once per
// output: arm/requantize.hpp's exact fast form (Rounding::twice) or quant::requantize
// (Rounding::once, TFLite 2.x's FULLY_CONNECTED).
//
// Scratch: none. Stack: saved registers only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/mve/dot.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/quant/requantize.hpp"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

namespace microtl::kernels::mve {

template <std::size_t In, std::size_t Out, quant::Rounding R = quant::Rounding::twice>
void fully_connected_s8(std::span<const std::int8_t, In> input,
                        std::span<const std::int8_t, In * Out> weights,
                        std::span<const std::int32_t, Out> bias, std::span<std::int8_t, Out> output,
                        const FullyConnectedParams<Out>& params) noexcept {
  static_assert(In >= 1 && Out >= 1, "extents must be at least 1");
  static_assert(In <= 66000, "the int32 accumulator could overflow");
  const arm::OutputRange range = arm::OutputRange::of(params.output_offset, params.activation);
  const std::int32_t offset = params.input_offset;
  const auto output_of = [&](std::int32_t dot, std::int32_t sum, std::size_t o) {
    const std::int32_t acc =
        detail::wrapping_mac(detail::wrapping_mac(dot, 1, bias[o]), offset, sum);
    if constexpr (R == quant::Rounding::twice) {
      return arm::requantize(acc, params.multipliers[o], range);
    } else {
      return params.template requantize<R>(acc, o);
    }
  };
  std::int8_t* out = output.data();
  // Three outputs per pass.
  for (std::size_t o = 0; o < Out / 3 * 3; o += 3) {
    const auto d = detail::dot_rows3<In>(input.data(), weights.data() + o * In, In);
    out[o] = output_of(d.dot[0], d.sum[0], o);
    out[o + 1] = output_of(d.dot[1], d.sum[1], o + 1);
    out[o + 2] = output_of(d.dot[2], d.sum[2], o + 2);
  }
  // The last Out % 3 outputs, one at a time.
  for (std::size_t o = Out / 3 * 3; o < Out; ++o) {
    const auto d = detail::dot_row<In, true>(input.data(), weights.data() + o * In);
    out[o] = output_of(d.dot[0], d.sum[0], o);
  }
}

}  // namespace microtl::kernels::mve

#endif  // __ARM_FEATURE_MVE
