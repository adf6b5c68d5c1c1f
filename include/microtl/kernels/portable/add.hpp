// Element-wise addition of two tensors of the same shape: TFLite's int8 ADD
// (reference_integer_ops::Add, what TFLite Micro's add kernel runs for int8 without
// broadcasting), bit-exact, and float32.
//
// Arguments of add_s8<N> and add_f32<N>:
//   input1, input2   [N]   same layout (any shape, flattened); int8 codes with their own
//                          scale and zero point, or floats
//   output           [N]   may be the same memory as input1 or input2 (element-wise)
//   params           AddParamsS8 from prepare_add_s8 (int8); the fused activation (float)
//
// TFLite's Prepare (prepare_add_s8), once per call, from the three quantizations:
//
//   left_shift           = 20
//   twice_max            = 2 * max(s1, s2)
//   input1 multiplier    = s1 / twice_max                    in (0, 1/2]
//   input2 multiplier    = s2 / twice_max                    in (0, 1/2]
//   output multiplier    = twice_max / (2^20 * s_out)        must be < 1: s_out > twice_max / 2^20
//   each as quant::quantize_multiplier (TFLite's QuantizeMultiplierSmallerThanOneExp: its
//   shift is <= 0 for reals below 1)
//   range                = quant::activation_range(activation, output)
//
// and per element (with the shifts <= 0, quant::multiply_by_quantized_multiplier is exactly
// TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp: SRDHM, then a rounding right shift):
//
//   a_k  = (q_k - zero_point_k) * 2^20                         |a_k| <= 255 * 2^20 < 2^28
//   b_k  = multiply_by_quantized_multiplier(a_k, input_k multiplier)    |b_k| <= |a_k| / 2
//   sum  = b_1 + b_2                                           |sum| < 2^28: no overflow
//   y    = clamp(multiply_by_quantized_multiplier(sum, output multiplier) + zp_out, range)
//
// So y ~= (s1 (q1 - zp1) + s2 (q2 - zp2)) / s_out + zp_out, the real sum requantized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/quant/activation.hpp"
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl::kernels {

// What add_s8 needs besides its tensors (TFLite's ArithmeticParams for ADD).
struct AddParamsS8 {
  std::int32_t input1_offset;  // -zero point of input 1
  std::int32_t input2_offset;  // -zero point of input 2
  std::int32_t output_offset;  // zero point of the output
  int left_shift;              // 20
  quant::QuantizedMultiplier input1_multiplier;
  quant::QuantizedMultiplier input2_multiplier;
  quant::QuantizedMultiplier output_multiplier;
  quant::ActivationRange range;
};

inline constexpr int kAddLeftShift = 20;

// TFLite's Prepare of int8 ADD (see above). The float scales are combined in double, as
// TFLite Micro does (the factors 2 and 2^20 are exact there).
constexpr AddParamsS8 prepare_add_s8(quant::QuantParams input1, quant::QuantParams input2,
                                     quant::QuantParams output,
                                     quant::Activation activation) noexcept {
  const float larger = input1.scale > input2.scale ? input1.scale : input2.scale;
  const double twice_max = 2.0 * static_cast<double>(larger);
  const double output_unit =
      static_cast<double>(std::int32_t{1} << kAddLeftShift) * static_cast<double>(output.scale);
  return {-input1.zero_point,
          -input2.zero_point,
          output.zero_point,
          kAddLeftShift,
          quant::quantize_multiplier(static_cast<double>(input1.scale) / twice_max),
          quant::quantize_multiplier(static_cast<double>(input2.scale) / twice_max),
          quant::quantize_multiplier(twice_max / output_unit),
          quant::activation_range(activation, output)};
}

// Whether TFLite's Prepare accepts these scales: the output multiplier must be below 1
// (shift <= 0), i.e. s_out > 2 max(s1, s2) / 2^20. TFLite refuses the model otherwise.
constexpr bool add_scales_supported(const AddParamsS8& params) noexcept {
  return params.output_multiplier.shift <= 0 && params.input1_multiplier.shift <= 0 &&
         params.input2_multiplier.shift <= 0;
}

template <std::size_t N>
void add_s8(std::span<const std::int8_t, N> input1, std::span<const std::int8_t, N> input2,
            std::span<std::int8_t, N> output, const AddParamsS8& p) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    const std::int32_t a1 = (std::int32_t{input1[i]} + p.input1_offset) * (1 << p.left_shift);
    const std::int32_t a2 = (std::int32_t{input2[i]} + p.input2_offset) * (1 << p.left_shift);
    const std::int32_t b1 = quant::multiply_by_quantized_multiplier(
        a1, p.input1_multiplier.multiplier, p.input1_multiplier.shift);
    const std::int32_t b2 = quant::multiply_by_quantized_multiplier(
        a2, p.input2_multiplier.multiplier, p.input2_multiplier.shift);
    const std::int32_t y = quant::multiply_by_quantized_multiplier(
                               b1 + b2, p.output_multiplier.multiplier, p.output_multiplier.shift) +
                           p.output_offset;
    output[i] = static_cast<std::int8_t>(y < p.range.min ? p.range.min
                                                         : (y > p.range.max ? p.range.max : y));
  }
}

// output[i] = activation(input1[i] + input2[i])
template <std::size_t N>
void add_f32(std::span<const float, N> input1, std::span<const float, N> input2,
             std::span<float, N> output, quant::Activation activation) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    output[i] = quant::apply_activation(input1[i] + input2[i], activation);
  }
}

}  // namespace microtl::kernels
