// The parameters of the layers that compute  y = activation(W x + b):  Dense, Conv2D,
// DepthwiseConv2D and Conv1D. One struct per element type; the layer decides the extents.
//
// They hold spans (pointer and compile-time length), not arrays: the weights stay wherever
// the caller put them (const data in flash for a deployed model), and a span of the wrong
// length does not compile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/params.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

template <ActivationElement E, std::size_t WeightCount, std::size_t Channels>
struct LinearParams;

// float: weights in the layer's documented layout, one bias per output channel.
template <std::size_t WeightCount, std::size_t Channels>
struct LinearParams<float, WeightCount, Channels> {
  static constexpr std::size_t weights_extent = WeightCount;
  static constexpr std::size_t bias_extent = Channels;
  std::span<const float, WeightCount> weights;
  std::span<const float, Channels> bias;
};

// int8, TFLite's scheme: symmetric int8 weights (zero point 0, per output channel or per
// tensor), int32 bias with scale input_scale * weight_scale[c] and zero point 0, the
// requantization multiplier input_scale * weight_scale[c] / output_scale of each channel,
// and the output's quantization parameters.
template <std::size_t WeightCount, std::size_t Channels>
struct LinearParams<QInt8, WeightCount, Channels> {
  static constexpr std::size_t weights_extent = WeightCount;
  static constexpr std::size_t bias_extent = Channels;
  std::span<const std::int8_t, WeightCount> weights;
  std::span<const std::int32_t, Channels> bias;
  kernels::ChannelMultipliers<Channels> multipliers;
  quant::QuantParams output;
};

template <class P>
inline constexpr bool is_linear_params_v = false;
template <ActivationElement E, std::size_t WeightCount, std::size_t Channels>
inline constexpr bool is_linear_params_v<LinearParams<E, WeightCount, Channels>> = true;

// Gradients of a linear layer's parameters, accumulated by backward passes: same layout as
// the parameters.
template <std::size_t WeightCount, std::size_t Channels>
struct LinearGrads {
  float* weights;  // WeightCount values, or nullptr when the weights are frozen (bias-only)
  float* bias;     // Channels values
  // True for the first sample of a mini-batch: the backward pass writes the gradients
  // instead of adding to them, which spares clearing them after every update.
  bool overwrite = false;
  // Nonzero: plain SGD fused into the backward pass (batch 1, no guard): `weights` and
  // `bias` are the parameters themselves, and the layer subtracts fused_step * gradient
  // instead of storing the gradient (layers that offer it say `fused_sgd = true`).
  float fused_step = 0.0f;
};

// For backward passes that only accumulate: clears the gradients when this sample starts a
// mini-batch (then accumulation gives the same as writing).
template <std::size_t WeightCount, std::size_t Channels>
inline void begin_accumulation(LinearGrads<WeightCount, Channels>& grads) noexcept {
  if (grads.overwrite) {
    if (grads.weights != nullptr) {
      for (std::size_t i = 0; i < WeightCount; ++i)
        grads.weights[i] = 0.0f;
    }
    if (grads.bias != nullptr) {
      for (std::size_t i = 0; i < Channels; ++i)
        grads.bias[i] = 0.0f;
    }
    grads.overwrite = false;
  }
}

namespace layers {

// The kernel arguments of an int8 linear layer: offsets from the zero points of the input
// (flowing in with the data) and of the output, the fused activation's clamp range.
template <std::size_t WeightCount, std::size_t Channels>
constexpr kernels::RequantizedOpParams<Channels> requantized_op_params(
    const LinearParams<QInt8, WeightCount, Channels>& params, quant::QuantParams input,
    quant::Activation activation) noexcept {
  return {-input.zero_point, params.output.zero_point,
          quant::activation_range(activation, params.output), params.multipliers};
}

}  // namespace layers
}  // namespace microtl
