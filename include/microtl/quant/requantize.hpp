// The output stage shared by every int8 kernel that accumulates products (fully connected,
// convolution, depthwise convolution): from an int32 accumulator to an int8 output code.
#pragma once

#include <cstdint>

#include "microtl/quant/activation.hpp"
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/multiplier.hpp"

namespace microtl::quant {

// How a requantization rounds the scaled accumulator (fixed_point.hpp):
//   twice   multiply_by_quantized_multiplier: TFLite's convolutions, TFLite Micro (default)
//   once    multiply_by_quantized_multiplier_single_rounding: TFLite 2.x's int8
//           FULLY_CONNECTED
enum class Rounding : std::uint8_t { twice, once };

// TFLite's per-output requantization (R: how the product is rounded, see Rounding):
//
//   scaled = multiply_by_quantized_multiplier(acc, multiplier)   acc includes the bias;
//                                                                multiplier = input_scale *
//                                                                weight_scale / output_scale
//   output = clamp(scaled + output_zero_point, range.min, range.max)
//
// The addition is done in int64: `scaled` may be near the int32 limits when the accumulator
// is (TFLite's int32 addition would overflow there; any such value clamps anyway).
template <Rounding R = Rounding::twice>
constexpr std::int8_t requantize(std::int32_t acc, QuantizedMultiplier multiplier,
                                 std::int32_t output_zero_point, ActivationRange range) noexcept {
  const std::int32_t scaled =
      R == Rounding::twice
          ? multiply_by_quantized_multiplier(acc, multiplier.multiplier, multiplier.shift)
          : multiply_by_quantized_multiplier_single_rounding(acc, multiplier.multiplier,
                                                             multiplier.shift);
  std::int64_t shifted = std::int64_t{scaled} + output_zero_point;
  if (shifted < range.min) {
    shifted = range.min;
  }
  if (shifted > range.max) {
    shifted = range.max;
  }
  return static_cast<std::int8_t>(shifted);
}

}  // namespace microtl::quant
