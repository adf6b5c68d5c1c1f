// The parameters of the layers that compute  y = activation(W x + b):  Dense, Conv2D,
// DepthwiseConv2D and Conv1D. One struct per element type; the layer decides the extents.
//
// They hold spans (pointer and compile-time length), not arrays: the weights stay wherever
// the caller put them (const data in flash for a deployed model), and a span of the wrong
// length does not compile.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/kernels/params.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

template <ActivationElement E, std::size_t WeightCount, std::size_t Channels>
struct LinearParams;

// The parameter tensors of a linear layer, as gradient sinks and trained-tensor lists name
// them (layers/contract.hpp).
namespace linear_tensor {
inline constexpr std::size_t weights = 0;
inline constexpr std::size_t bias = 1;
}  // namespace linear_tensor

// The values of a float linear layer owned in RAM, for training (TrainableParams::Values,
// layers/contract.hpp).
template <std::size_t WeightCount, std::size_t Channels>
struct LinearValues {
  static constexpr std::array<TrainedTensor, 2> tensors = {
      {{linear_tensor::weights, WeightCount}, {linear_tensor::bias, Channels}}};
  std::array<float, WeightCount> weights{};
  std::array<float, Channels> bias{};

  void assign(const LinearParams<float, WeightCount, Channels>& from) noexcept {
    std::copy(from.weights.begin(), from.weights.end(), weights.begin());
    std::copy(from.bias.begin(), from.bias.end(), bias.begin());
  }
  LinearParams<float, WeightCount, Channels> view() const noexcept { return {weights, bias}; }
  template <class F>
  void for_each(F&& f) noexcept {
    f(std::integral_constant<std::size_t, linear_tensor::weights>{},
      std::span<float, WeightCount>(weights));
    f(std::integral_constant<std::size_t, linear_tensor::bias>{}, std::span<float, Channels>(bias));
  }
  template <class F>
  void for_each(F&& f) const noexcept {
    f(std::integral_constant<std::size_t, linear_tensor::weights>{},
      std::span<const float, WeightCount>(weights));
    f(std::integral_constant<std::size_t, linear_tensor::bias>{},
      std::span<const float, Channels>(bias));
  }
};

// float: weights in the layer's documented layout, one bias per output channel.
template <std::size_t WeightCount, std::size_t Channels>
struct LinearParams<float, WeightCount, Channels> {
  static constexpr std::size_t weights_extent = WeightCount;
  static constexpr std::size_t bias_extent = Channels;
  using Values = LinearValues<WeightCount, Channels>;
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
