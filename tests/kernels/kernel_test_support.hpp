// Helpers for checking int8 kernels against their float32 versions on random data:
// quantize random reals the way a converter would, run the float kernel on the dequantized
// values (exactly the reals the int8 kernel sees), quantize its result and compare.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "../support/random.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl_test {

// An activation tensor: its codes, its parameters and the reals its codes stand for.
template <std::size_t N>
struct QuantizedActivations {
  microtl::quant::QuantParams params;
  std::array<std::int8_t, N> codes;
  std::array<float, N> reals;  // dequantize(codes)
};

template <std::size_t N>
QuantizedActivations<N> quantize_activations(const std::array<float, N>& reals, float low,
                                             float high) {
  QuantizedActivations<N> result{microtl::quant::choose_activation_params(low, high), {}, {}};
  for (std::size_t i = 0; i < N; ++i) {
    result.codes[i] = microtl::quant::quantize(reals[i], result.params);
    result.reals[i] = microtl::quant::dequantize(result.codes[i], result.params);
  }
  return result;
}

// Symmetric per-channel weights: element i belongs to channel channel_of(i).
template <std::size_t N, std::size_t Channels>
struct QuantizedWeights {
  std::array<float, Channels> scales;
  std::array<std::int8_t, N> codes;
  std::array<float, N> reals;  // scale[channel] * code
};

template <std::size_t Channels, std::size_t N, typename ChannelOf>
QuantizedWeights<N, Channels> quantize_weights(const std::array<float, N>& reals,
                                               ChannelOf channel_of) {
  QuantizedWeights<N, Channels> result{};
  std::array<float, Channels> max_abs{};
  for (std::size_t i = 0; i < N; ++i) {
    const float magnitude = reals[i] < 0.0f ? -reals[i] : reals[i];
    float& channel_max = max_abs[channel_of(i)];
    channel_max = magnitude > channel_max ? magnitude : channel_max;
  }
  for (std::size_t c = 0; c < Channels; ++c) {
    result.scales[c] = microtl::quant::symmetric_weight_scale(max_abs[c]);
  }
  for (std::size_t i = 0; i < N; ++i) {
    const microtl::quant::QuantParams params{result.scales[channel_of(i)], 0};
    result.codes[i] = microtl::quant::quantize(reals[i], params);
    result.reals[i] = microtl::quant::dequantize(result.codes[i], params);
  }
  return result;
}

// int32 biases with scale input_scale * weight_scale[c], and the reals they stand for.
template <std::size_t Channels>
struct QuantizedBias {
  std::array<std::int32_t, Channels> codes;
  std::array<float, Channels> reals;
};

template <std::size_t Channels>
QuantizedBias<Channels> quantize_biases(const std::array<float, Channels>& reals, float input_scale,
                                        const std::array<float, Channels>& weight_scales) {
  QuantizedBias<Channels> result{};
  for (std::size_t c = 0; c < Channels; ++c) {
    result.codes[c] = microtl::quant::quantize_bias(reals[c], input_scale, weight_scales[c]);
    result.reals[c] = static_cast<float>(result.codes[c]) * (input_scale * weight_scales[c]);
  }
  return result;
}

template <std::size_t N>
std::array<std::int8_t, N> quantize_all(const std::array<float, N>& reals,
                                        microtl::quant::QuantParams params) {
  std::array<std::int8_t, N> codes{};
  for (std::size_t i = 0; i < N; ++i) {
    codes[i] = microtl::quant::quantize(reals[i], params);
  }
  return codes;
}

// Output parameters calibrated on the reals a layer actually produces.
template <std::size_t N>
microtl::quant::QuantParams calibrate(const std::array<float, N>& reals) {
  float low = reals[0];
  float high = reals[0];
  for (const float x : reals) {
    low = x < low ? x : low;
    high = x > high ? x : high;
  }
  return microtl::quant::choose_activation_params(low, high);
}

// Largest |a[i] - b[i]| in codes.
template <std::size_t N>
int max_code_difference(const std::array<std::int8_t, N>& a, const std::array<std::int8_t, N>& b) {
  int largest = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const int difference = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    largest = difference > largest ? difference : largest;
  }
  return largest;
}

}  // namespace microtl_test
