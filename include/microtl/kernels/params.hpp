// Parameters of the int8 kernels that requantize an int32 accumulator (fully connected,
// convolution, depthwise convolution), and the TFLite rules that derive them from scales.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/quant/activation.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/requantize.hpp"

namespace microtl::kernels {

// The requantization multiplier of each of `Channels` output channels: either one multiplier
// shared by all of them (per-tensor quantization) or one per channel (per-channel weights).
//
// Per-channel multipliers are referenced, not copied: the array must outlive the params
// (binding a temporary array is rejected at compile time). Its size must equal Channels,
// checked at compile time by the static extent.
template <std::size_t Channels>
class ChannelMultipliers {
 public:
  // The constructors are implicit on purpose, so that params read
  // `.multipliers = quantize_multiplier(0.01)` or `.multipliers = per_channel_array`.

  // Per-tensor: every channel uses `shared`.
  constexpr ChannelMultipliers(quant::QuantizedMultiplier shared) noexcept : shared_(shared) {}
  // Per-channel: channel c uses per_channel[c].
  constexpr ChannelMultipliers(
      std::span<const quant::QuantizedMultiplier, Channels> per_channel) noexcept
      : per_channel_(per_channel.data()) {}
  constexpr ChannelMultipliers(
      const std::array<quant::QuantizedMultiplier, Channels>& per_channel) noexcept
      : per_channel_(per_channel.data()) {}
  ChannelMultipliers(const std::array<quant::QuantizedMultiplier, Channels>&&) = delete;

  constexpr quant::QuantizedMultiplier operator[](std::size_t channel) const noexcept {
    return per_channel_ != nullptr ? per_channel_[channel] : shared_;
  }

 private:
  const quant::QuantizedMultiplier* per_channel_ = nullptr;
  quant::QuantizedMultiplier shared_{0, 0};
};

// What an accumulating int8 kernel needs besides its tensors.
//
//   input_offset   = -input zero point, in [-127, 128]; added to every input code
//   output_offset  = output zero point, in [-128, 127]; added after requantization
//   activation     = clamp range of the output codes (quant::activation_range)
//   multipliers    = input_scale * weight_scale[c] / output_scale per output channel c
//
// Weights are symmetric (zero point 0), as TFLite's int8 spec requires, so there is no
// weight offset.
template <std::size_t OutChannels>
struct RequantizedOpParams {
  std::int32_t input_offset;
  std::int32_t output_offset;
  quant::ActivationRange activation;
  ChannelMultipliers<OutChannels> multipliers;

  // The output stage of output channel c: the int8 code of its accumulator (bias included),
  // quant::requantize with this channel's multiplier, the output offset and the clamp.
  template <quant::Rounding R = quant::Rounding::twice>
  constexpr std::int8_t requantize(std::int32_t acc, std::size_t c) const noexcept {
    return quant::requantize<R>(acc, multipliers[c], output_offset, activation);
  }
};

// One product of the portable int8 kernels: acc + weight * (value + input_offset), in int32
// (weights are symmetric: no weight offset; value + input_offset is in [-255, 255]).
struct OffsetMac {
  std::int32_t input_offset;

  constexpr std::int32_t operator()(std::int32_t acc, std::int8_t weight,
                                    std::int8_t value) const noexcept {
    return acc + std::int32_t{weight} * (std::int32_t{value} + input_offset);
  }
};

template <std::size_t Out>
using FullyConnectedParams = RequantizedOpParams<Out>;
template <std::size_t OutChannels>
using ConvParams = RequantizedOpParams<OutChannels>;
template <std::size_t OutChannels>
using DepthwiseConvParams = RequantizedOpParams<OutChannels>;

// The multiplier of one output channel of a convolution or depthwise convolution, as TFLite
// Micro's PopulateConvolutionQuantizationParams computes it (product in double):
//
//   real = double(input_scale) * double(weight_scale) / double(output_scale)
//
// Setup code: double is fine here.
constexpr quant::QuantizedMultiplier conv_output_multiplier(float input_scale, float weight_scale,
                                                            float output_scale) noexcept {
  return quant::quantize_multiplier(static_cast<double>(input_scale) *
                                    static_cast<double>(weight_scale) /
                                    static_cast<double>(output_scale));
}

// The per-tensor multiplier of a fully connected layer, as TFLite's
// GetQuantizedConvolutionMultipler computes it (the scale product is rounded to float first):
//
//   real = double(input_scale * weight_scale) / double(output_scale)
constexpr quant::QuantizedMultiplier fully_connected_output_multiplier(
    float input_scale, float weight_scale, float output_scale) noexcept {
  return quant::quantize_multiplier(static_cast<double>(input_scale * weight_scale) /
                                    static_cast<double>(output_scale));
}

// Per-channel multipliers for Channels output channels: conv_output_multiplier of each
// weight scale.
template <std::size_t Channels>
constexpr std::array<quant::QuantizedMultiplier, Channels> conv_output_multipliers(
    float input_scale, std::span<const float, Channels> weight_scales,
    float output_scale) noexcept {
  std::array<quant::QuantizedMultiplier, Channels> multipliers{};
  for (std::size_t c = 0; c < Channels; ++c) {
    multipliers[c] = conv_output_multiplier(input_scale, weight_scales[c], output_scale);
  }
  return multipliers;
}

}  // namespace microtl::kernels
