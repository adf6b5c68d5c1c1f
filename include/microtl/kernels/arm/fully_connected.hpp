// Fully connected (dense) layer, int8, for Cortex-M cores with the DSP extension (M4, M7,
// M33, M55): the same contract as kernels::portable::fully_connected_s8 (see
// kernels/portable/fully_connected.hpp for the layouts and ranges) and the same output
// codes, bit for bit.
//
//   output[o] = requantize(bias[o] + sum_i weights[o][i] * (input[i] + input_offset))
//
// How:
//   - four rows (outputs) per pass share each input word: 16 MACs in 23 instructions
//     (arm/dot.hpp: LDR, SXTAB16 adds the input offset, SXTB16, SMLAD); the rows are In
//     bytes apart, addressed from one pointer;
//   - In % 4 trailing inputs take a plain loop, Out % 4 trailing rows one row at a time;
//   - the requantization (arm/requantize.hpp, ~10 instructions instead of ~80) is outside
//     the loop; the four outputs of a pass are clamped as byte lanes (SSAT, SSUB8/SEL) and
//     written with one STR.
// The integer sum is the same whatever the order of the additions, so the outputs equal the
// portable kernel's as long as the accumulator stays in int32 (the contract's bound).
// Words are read at any alignment (LDR allows it on Armv7-M), never beyond the tensors.
//
// Scratch: none. Stack: saved registers only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/arm/dot.hpp"
#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/params.hpp"

namespace microtl::kernels::arm {

template <std::size_t In, std::size_t Out>
void fully_connected_s8(std::span<const std::int8_t, In> input,
                        std::span<const std::int8_t, In * Out> weights,
                        std::span<const std::int32_t, Out> bias, std::span<std::int8_t, Out> output,
                        const FullyConnectedParams<Out>& params) noexcept {
  static_assert(In >= 1 && Out >= 1, "extents must be at least 1");
  static_assert(In <= 66000, "the int32 accumulator could overflow");
  const OutputRange range = OutputRange::of(params.output_offset, params.activation);
  const std::int32_t offset = params.input_offset;
  std::int8_t* out = output.data();
  // Four outputs per pass.
  for (std::size_t o = 0; o < Out / 4 * 4; o += 4) {
    const detail::Acc4 acc = detail::dot4<In>(input.data(), weights.data() + o * In, In, offset,
                                              {bias[o], bias[o + 1], bias[o + 2], bias[o + 3]});
    // The multipliers are each used once: prepared on the fly (arm/requantize.hpp).
    const std::int32_t v0 = rescale(acc.a0, params.multipliers[o], range.offset);
    const std::int32_t v1 = rescale(acc.a1, params.multipliers[o + 1], range.offset);
    const std::int32_t v2 = rescale(acc.a2, params.multipliers[o + 2], range.offset);
    const std::int32_t v3 = rescale(acc.a3, params.multipliers[o + 3], range.offset);
    dsp::store_quad(out + o, clamp_pack4(v0, v1, v2, v3, range));
  }
  // The last Out % 4 outputs, one at a time.
  if constexpr (Out % 4 != 0) {
    for (std::size_t o = Out / 4 * 4; o < Out; ++o) {
      const std::int32_t acc =
          detail::dot1(input.data(), weights.data() + o * In, In, offset, bias[o]);
      out[o] = requantize(acc, params.multipliers[o], range);
    }
  }
}

}  // namespace microtl::kernels::arm
