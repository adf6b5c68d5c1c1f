// Post-training quantization of one linear layer (Dense, Conv2D, DepthwiseConv2D, Conv1D):
// float weights and bias, plus the calibrated quantization of the layer's input and output,
// become the parameters of its int8 version (LinearParams<QInt8, ...>), by TFLite's rules:
//
//   weight_scale[c] = quant::symmetric_weight_scale(max_i |W_c[i]|)      max |W_c| / 127
//   Wq_c[i]         = quant::quantize_symmetric_weight(W_c[i], weight_scale[c])
//   bq[c]           = quant::quantize_bias(b[c], input_scale, weight_scale[c])
//   multiplier[c]   = kernels::conv_output_multiplier(input_scale, weight_scale[c],
//                                                     output_scale)
//
// Weights are symmetric per output channel, in [-127, 127]; an all-zero channel gets weight
// scale 1 (symmetric_weight_scale), so its bias scale and multiplier stay finite.
//
// This is setup code for the host (or for a device that converts once): it returns the
// parameters by value in std::array storage (no heap). Keep the returned object alive while
// a model refers to its params(). constexpr: weights designed at compile time can be
// quantized at compile time too (a constexpr object: const data, in flash on a device).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/core/element.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

// Where the output channel sits in a weight layout: first for Dense [Out][In], Conv2D
// [Cout][KH][KW][Cin] and Conv1D [Cout][K][Cin]; last for DepthwiseConv2D [KH][KW][C*M].
enum class ChannelAxis : std::uint8_t { leading, trailing };

// The int8 parameters of one linear layer, with the scales they were derived from.
template <std::size_t WeightCount, std::size_t Channels>
struct QuantizedLinear {
  std::array<std::int8_t, WeightCount> weights{};
  std::array<std::int32_t, Channels> bias{};
  std::array<float, Channels> weight_scales{};
  std::array<quant::QuantizedMultiplier, Channels> multipliers{};
  quant::QuantParams input{1.0f, 0};
  quant::QuantParams output{1.0f, 0};

  // The parameters a QInt8 layer takes, referring to this object's arrays.
  constexpr LinearParams<QInt8, WeightCount, Channels> params() const noexcept {
    return {weights, bias, multipliers, output};
  }
};

template <ChannelAxis Axis, std::size_t WeightCount, std::size_t Channels>
constexpr QuantizedLinear<WeightCount, Channels> quantize_linear(
    std::span<const float, WeightCount> weights, std::span<const float, Channels> bias,
    quant::QuantParams input, quant::QuantParams output) noexcept {
  static_assert(Channels >= 1, "a linear layer has at least one output channel");
  static_assert(WeightCount % Channels == 0, "the weights must split evenly into output channels");
  constexpr std::size_t per_channel = WeightCount / Channels;
  const auto channel_of = [](std::size_t i) {
    return Axis == ChannelAxis::leading ? i / per_channel : i % Channels;
  };

  QuantizedLinear<WeightCount, Channels> q{};
  q.input = input;
  q.output = output;

  std::array<float, Channels> max_abs{};
  for (std::size_t i = 0; i < WeightCount; ++i) {
    const float magnitude = weights[i] < 0.0f ? -weights[i] : weights[i];
    float& channel_max = max_abs[channel_of(i)];
    channel_max = magnitude > channel_max ? magnitude : channel_max;
  }
  for (std::size_t c = 0; c < Channels; ++c) {
    q.weight_scales[c] = quant::symmetric_weight_scale(max_abs[c]);
    q.multipliers[c] =
        kernels::conv_output_multiplier(input.scale, q.weight_scales[c], output.scale);
    q.bias[c] = quant::quantize_bias(bias[c], input.scale, q.weight_scales[c]);
  }
  for (std::size_t i = 0; i < WeightCount; ++i) {
    q.weights[i] = quant::quantize_symmetric_weight(weights[i], q.weight_scales[channel_of(i)]);
  }
  return q;
}

// The same from arrays (a span's extent is not deduced from a std::array).
template <ChannelAxis Axis, std::size_t WeightCount, std::size_t Channels>
constexpr QuantizedLinear<WeightCount, Channels> quantize_linear(
    const std::array<float, WeightCount>& weights, const std::array<float, Channels>& bias,
    quant::QuantParams input, quant::QuantParams output) noexcept {
  return quantize_linear<Axis>(std::span<const float, WeightCount>(weights),
                               std::span<const float, Channels>(bias), input, output);
}

}  // namespace microtl
