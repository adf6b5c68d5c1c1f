// Standalone ReLU and ReLU6, int8 and float32.
//
// In the int8 domain with the same scale and zero point for input and output (the case of
// CMSIS-NN's arm_relu_s8 / arm_relu6_s8 and of every fused activation), ReLU and ReLU6 are
// clamps of the codes to quant::activation_range(relu or relu6, params):
//
//   relu:  q -> max(q, zero_point)
//   relu6: q -> min(max(q, zero_point), zero_point + round(6 / scale))
//
// Arguments (all four): input and output [N], same layout; output may be the same memory as
// input (element-wise). The int8 versions take the tensor's QuantParams (scale > 0, zero point
// in [-128, 127]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl::kernels {

namespace detail {

template <std::size_t N>
void clamp_codes(std::span<const std::int8_t, N> input, std::span<std::int8_t, N> output,
                 quant::ActivationRange range) noexcept {
  // output[i] = min(max(input[i], range.min), range.max)
  for (std::size_t i = 0; i < N; ++i) {
    const std::int32_t value = input[i];
    const std::int32_t low_clamped = value < range.min ? range.min : value;
    output[i] = static_cast<std::int8_t>(low_clamped > range.max ? range.max : low_clamped);
  }
}

template <std::size_t N>
void clamp_reals(std::span<const float, N> input, std::span<float, N> output,
                 quant::Activation activation) noexcept {
  // output[i] = activation(input[i])
  for (std::size_t i = 0; i < N; ++i) {
    output[i] = quant::apply_activation(input[i], activation);
  }
}

}  // namespace detail

template <std::size_t N>
void relu_s8(std::span<const std::int8_t, N> input, std::span<std::int8_t, N> output,
             quant::QuantParams params) noexcept {
  detail::clamp_codes(input, output, quant::activation_range(quant::Activation::relu, params));
}

template <std::size_t N>
void relu6_s8(std::span<const std::int8_t, N> input, std::span<std::int8_t, N> output,
              quant::QuantParams params) noexcept {
  detail::clamp_codes(input, output, quant::activation_range(quant::Activation::relu6, params));
}

template <std::size_t N>
void relu_f32(std::span<const float, N> input, std::span<float, N> output) noexcept {
  detail::clamp_reals(input, output, quant::Activation::relu);
}

template <std::size_t N>
void relu6_f32(std::span<const float, N> input, std::span<float, N> output) noexcept {
  detail::clamp_reals(input, output, quant::Activation::relu6);
}

}  // namespace microtl::kernels
