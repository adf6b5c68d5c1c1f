// Fully connected (dense) layer, int8 (TFLite FULLY_CONNECTED, int8 reference kernel); the
// float32 one is in kernels/float_linear.hpp.
//
// Arguments of portable::fully_connected_s8<In, Out> (and of the dispatching
// kernels::fully_connected_s8 in kernels/fully_connected.hpp):
//   input    [In]        int8, asymmetric: real = input_scale * (q + params.input_offset)
//   weights  [Out][In]   int8, symmetric (zero point 0), row o holds the weights of output o
//   bias     [Out]       int32, scale input_scale * weight_scale[o], zero point 0
//                        (quant::quantize_bias); pass zeros for a layer without bias
//   output   [Out]       int8, asymmetric with zero point params.output_offset
//   params   offsets, activation range and the per-tensor or per-channel multipliers
//            (input_scale * weight_scale / output_scale, see kernels/params.hpp)
// In * 255 * 127 must fit in int32 (In below 66,000): the accumulator does not saturate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/params.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl::kernels {

// The reference version, in plain C++ for every target. kernels/fully_connected.hpp exposes
// kernels::fully_connected_s8, which is this one or, on cores with the DSP extension, the
// bit-exact kernels::arm::fully_connected_s8.
namespace portable {

// R = Rounding::once: TFLite 2.x's FULLY_CONNECTED requantization (quant/requantize.hpp);
// the default rounds twice, as TFLite Micro does.
template <std::size_t In, std::size_t Out, quant::Rounding R = quant::Rounding::twice>
void fully_connected_s8(std::span<const std::int8_t, In> input,
                        std::span<const std::int8_t, In * Out> weights,
                        std::span<const std::int32_t, Out> bias, std::span<std::int8_t, Out> output,
                        const FullyConnectedParams<Out>& params) noexcept {
  static_assert(In >= 1 && Out >= 1, "extents must be at least 1");
  static_assert(In <= 66000, "the int32 accumulator could overflow");
  // output[o] = requantize(bias[o] + sum_i weights[o][i] * (input[i] + input_offset))
  for (std::size_t o = 0; o < Out; ++o) {
    const std::int8_t* row = weights.data() + o * In;
    std::int32_t acc = bias[o];
    for (std::size_t i = 0; i < In; ++i) {
      acc = OffsetMac{params.input_offset}(acc, row[i], input[i]);
    }
    output[o] = params.template requantize<R>(acc, o);
  }
}

}  // namespace portable

}  // namespace microtl::kernels
