// Post-training quantization of one linear layer (Dense, Conv2D, DepthwiseConv2D, Conv1D):
// float weights and bias, plus the calibrated quantization of the layer's input and output,
// become TFLite-style int8 parameters.
//
//   weight_scale[c] = max_i |W_c[i]| / 127                 symmetric, per output channel
//   Wq_c[i]         = clamp(round(W_c[i] / weight_scale[c]), -127, 127)
//   bias_scale[c]   = input_scale * weight_scale[c]
//   bq[c]           = round(b[c] / bias_scale[c])          int32
//   multiplier[c]   = input_scale * weight_scale[c] / output_scale
//
// This is setup code for the host (or for a device that converts once): it uses double
// where TFLite's tools do, and returns the parameters by value in std::array storage (no
// heap). Keep the returned object alive while a model refers to its params().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/params.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/quant/rounding.hpp"

namespace microtl::quant {

// Where the output channel sits in a weight layout: first for Dense [Out][In], Conv2D
// [Cout][KH][KW][Cin] and Conv1D [Cout][K][Cin]; last for DepthwiseConv2D [KH][KW][C*M].
enum class ChannelAxis : std::uint8_t { leading, trailing };

template <std::size_t WeightCount, std::size_t Channels>
struct QuantizedLinear {
  std::array<std::int8_t, WeightCount> weights{};
  std::array<std::int32_t, Channels> bias{};
  std::array<float, Channels> weight_scales{};
  std::array<QuantizedMultiplier, Channels> multipliers{};
  QuantParams input{1.0f, 0};
  QuantParams output{1.0f, 0};

  // The parameters a QInt8 layer takes, referring to this object's arrays.
  LinearParams<QInt8, WeightCount, Channels> params() const noexcept {
    return {weights, bias, multipliers, output};
  }
};

template <ChannelAxis Axis, std::size_t WeightCount, std::size_t Channels>
QuantizedLinear<WeightCount, Channels> quantize_linear(std::span<const float, WeightCount> weights,
                                                       std::span<const float, Channels> bias,
                                                       QuantParams input,
                                                       QuantParams output) noexcept {
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
    // An all-zero channel quantizes to zeros with any scale; 1 keeps every division defined.
    q.weight_scales[c] = max_abs[c] > 0.0f ? max_abs[c] / 127.0f : 1.0f;
    q.multipliers[c] =
        kernels::conv_output_multiplier(input.scale, q.weight_scales[c], output.scale);
    const double bias_scale =
        static_cast<double>(input.scale) * static_cast<double>(q.weight_scales[c]);
    double steps = static_cast<double>(bias[c]) / bias_scale;
    constexpr double limit = 2147483647.0;
    steps = steps > limit ? limit : (steps < -limit ? -limit : steps);
    q.bias[c] = static_cast<std::int32_t>(detail::round_half_away_from_zero(steps));
  }
  for (std::size_t i = 0; i < WeightCount; ++i) {
    const std::int32_t code =
        detail::round_half_away_from_zero(weights[i] / q.weight_scales[channel_of(i)]);
    q.weights[i] = static_cast<std::int8_t>(code < -127 ? -127 : (code > 127 ? 127 : code));
  }
  return q;
}

}  // namespace microtl::quant
