// Post-training quantization of a linear layer (layers/quantize_linear.hpp) against values
// worked out by hand. The weights are multiples of powers of two, so every scale and every
// quotient below is exact in float and the ties are real ties.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "microtl/layers/quantize_linear.hpp"

using namespace microtl;

namespace {

constexpr std::int32_t kHalfMantissa = 1 << 30;  // 0.5 in Q0.31

// Three output channels:
//   ch0: max |w| = 1.984375 = 127/64  -> scale 1/64: codes 127, -32.5 -> -33, 1.5 -> 2
//   ch1: all zero                      -> scale 1 (symmetric_weight_scale): codes 0
//   ch2: max |w| = 3.96875 = 127/32    -> scale 1/32: codes 1.5 -> 2, 32, -127
constexpr float kW00 = 1.984375f, kW01 = -0.5078125f, kW02 = 0.0234375f;
constexpr float kW20 = 0.046875f, kW21 = 1.0f, kW22 = -3.96875f;

// Input scale 0.5, output scale 0.25. Bias scales input_scale * weight_scale:
//   ch0: 0.5 / 64 = 1/128:  0.01171875 * 128 = 1.5 -> 2
//   ch1: 0.5 * 1 = 0.5:     0.75 / 0.5 = 1.5 -> 2
//   ch2: 0.5 / 32 = 1/64:   -0.0234375 * 64 = -1.5 -> -2
constexpr std::array<float, 3> kBias = {0.01171875f, 0.75f, -0.0234375f};
constexpr quant::QuantParams kInput{0.5f, -3};
constexpr quant::QuantParams kOutput{0.25f, 5};

// Multipliers input_scale * weight_scale / output_scale = 0.5 * 2^-k / 0.25:
//   ch0: 2^-5 = 0.5 * 2^-4 -> {2^30, -4};  ch1: 2 = 0.5 * 2^2 -> {2^30, 2};
//   ch2: 2^-4 = 0.5 * 2^-3 -> {2^30, -3}
void check_scales_bias_multipliers(const std::array<float, 3>& weight_scales,
                                   const std::array<std::int32_t, 3>& bias,
                                   const std::array<quant::QuantizedMultiplier, 3>& multipliers) {
  CHECK(weight_scales[0] == 0.015625f);
  CHECK(weight_scales[1] == 1.0f);
  CHECK(weight_scales[2] == 0.03125f);
  CHECK(bias[0] == 2);
  CHECK(bias[1] == 2);
  CHECK(bias[2] == -2);
  CHECK(multipliers[0] == quant::QuantizedMultiplier{kHalfMantissa, -4});
  CHECK(multipliers[1] == quant::QuantizedMultiplier{kHalfMantissa, 2});
  CHECK(multipliers[2] == quant::QuantizedMultiplier{kHalfMantissa, -3});
}

}  // namespace

// Dense [Out][In]: the output channel leads.
TEST_CASE("quantize_linear: Dense layout, channel axis leading") {
  const std::array<float, 9> weights = {kW00, kW01, kW02,  //
                                        0.0f, 0.0f, 0.0f,  //
                                        kW20, kW21, kW22};
  const auto q =
      quantize_linear<ChannelAxis::leading>(std::span(weights), std::span(kBias), kInput, kOutput);

  const std::array<std::int8_t, 9> expected = {127, -33, 2, 0, 0, 0, 2, 32, -127};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(q.weights[i] == expected[i]);
  }
  check_scales_bias_multipliers(q.weight_scales, q.bias, q.multipliers);
  CHECK(q.input.scale == kInput.scale);
  CHECK(q.input.zero_point == kInput.zero_point);
  CHECK(q.output.scale == kOutput.scale);
  CHECK(q.output.zero_point == kOutput.zero_point);

  // From the arrays themselves: the same result.
  const auto from_arrays = quantize_linear<ChannelAxis::leading>(weights, kBias, kInput, kOutput);
  CHECK(from_arrays.weights == q.weights);
  CHECK(from_arrays.bias == q.bias);
}

// DepthwiseConv2D [KH][KW][C*M], here [1][2][3]: the output channel trails (i % 3).
TEST_CASE("quantize_linear: DepthwiseConv2D layout, channel axis trailing") {
  const std::array<float, 6> weights = {kW00, 0.0f, kW20,  //
                                        kW01, 0.0f, kW22};
  const std::array<float, 3> bias = {kBias[0], kBias[1], kBias[2]};
  const auto q =
      quantize_linear<ChannelAxis::trailing>(std::span(weights), std::span(bias), kInput, kOutput);

  // ch0 {1.984375, -0.5078125} -> 127, -33; ch1 zeros; ch2 {0.046875, -3.96875} -> 2, -127.
  const std::array<std::int8_t, 6> expected = {127, 0, 2, -33, 0, -127};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(q.weights[i] == expected[i]);
  }
  check_scales_bias_multipliers(q.weight_scales, q.bias, q.multipliers);
}

// The same six weights grouped with the channel leading (i / 2) form other channels:
//   ch0 {1.984375, 0}          -> scale 1/64: 127, 0
//   ch1 {0.046875, -0.5078125} -> scale 0.5078125 / 127: 0.046875 / 0.5078125 * 127
//                                 = 381 / 32.5 = 11.72 -> 12, and -127
//   ch2 {0, -3.96875}          -> scale 1/32: 0, -127
TEST_CASE("quantize_linear: the channel axis decides the grouping") {
  const std::array<float, 6> weights = {kW00, 0.0f, kW20, kW01, 0.0f, kW22};
  const auto q =
      quantize_linear<ChannelAxis::leading>(std::span(weights), std::span(kBias), kInput, kOutput);
  const std::array<std::int8_t, 6> expected = {127, 0, 12, -127, 0, -127};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(q.weights[i] == expected[i]);
  }
  CHECK(q.weight_scales[0] == 0.015625f);
  CHECK(q.weight_scales[1] == 0.5078125f / 127.0f);
  CHECK(q.weight_scales[2] == 0.03125f);
}

// An all-zero channel: weight scale 1, so its bias is quantized with scale input_scale * 1 and
// its multiplier is input_scale / output_scale; its weights stay 0.
TEST_CASE("quantize_linear: all-zero channel") {
  const std::array<float, 4> weights = {0.0f, 0.0f, 0.0f, 0.0f};
  const std::array<float, 2> bias = {0.75f, -1.25f};
  const auto q =
      quantize_linear<ChannelAxis::leading>(std::span(weights), std::span(bias), kInput, kOutput);
  for (const std::int8_t w : q.weights) {
    CHECK(w == 0);
  }
  CHECK(q.weight_scales[0] == 1.0f);
  CHECK(q.weight_scales[1] == 1.0f);
  // 0.75 / 0.5 = 1.5 -> 2; -1.25 / 0.5 = -2.5 -> -3 (ties away from zero).
  CHECK(q.bias[0] == 2);
  CHECK(q.bias[1] == -3);
  // 0.5 / 0.25 = 2 = 0.5 * 2^2.
  CHECK(q.multipliers[0] == quant::QuantizedMultiplier{kHalfMantissa, 2});
  CHECK(q.multipliers[1] == quant::QuantizedMultiplier{kHalfMantissa, 2});
}

// Bias codes saturate symmetrically at +-(2^31 - 1), as TFLite's bias quantizer clamps them.
// Weight scale 1/64, input scale 0.5: bias scale 1/128.
TEST_CASE("quantize_linear: a bias that saturates") {
  const std::array<float, 8> weights = {kW00, kW01, kW00, kW01, kW00, kW01, kW00, kW01};
  // 2^24 - 1 = 16777215 (exact in float) * 128 = 2147483520: the largest float code below
  // 2^31, kept. 2^24 * 128 = 2^31 and 1e8 * 128: beyond int32, clamped to 2^31 - 1; the
  // negative side clamps to -(2^31 - 1), never INT32_MIN.
  const std::array<float, 4> bias = {16777215.0f, 16777216.0f, 1e8f, -1e8f};
  const auto q =
      quantize_linear<ChannelAxis::leading>(std::span(weights), std::span(bias), kInput, kOutput);
  CHECK(q.bias[0] == 2147483520);
  CHECK(q.bias[1] == 2147483647);
  CHECK(q.bias[2] == 2147483647);
  CHECK(q.bias[3] == -2147483647);
}

// The bias is quantized in float as TFLite's quantizer does: steps = bias * float(1 / scale).
// Weights {381, -190.5}: weight scale 381 / 127 = 3 (codes 127, -63.5 -> -64); input scale 1:
// bias scale 3, float(1/3) = 11184811 / 2^25 = 0.3333333433.
//   393217.46875 * 0.3333333433 = 131072.4934896..., which rounds to the float 131072.5
//   (floats there are 1/64 apart) -> 131073, ties away from zero.
// The exact quotient 393217.46875 / 3 = 131072.4896 would round to 131072.
TEST_CASE("quantize_linear: the bias is quantized in float, as TFLite does") {
  const std::array<float, 2> weights = {381.0f, -190.5f};
  const std::array<float, 1> bias = {393217.46875f};
  const auto q = quantize_linear<ChannelAxis::leading>(std::span(weights), std::span(bias),
                                                       quant::QuantParams{1.0f, 0}, kOutput);
  CHECK(q.weight_scales[0] == 3.0f);
  CHECK(q.weights[0] == 127);
  CHECK(q.weights[1] == -64);
  CHECK(q.bias[0] == 131073);
}

// params() refers to the object's own arrays, for a QInt8 layer to use.
TEST_CASE("quantize_linear: params() refer to the quantized arrays") {
  const std::array<float, 9> weights = {kW00, kW01, kW02, 0.0f, 0.0f, 0.0f, kW20, kW21, kW22};
  const auto q =
      quantize_linear<ChannelAxis::leading>(std::span(weights), std::span(kBias), kInput, kOutput);
  const LinearParams<QInt8, 9, 3> params = q.params();
  CHECK(params.weights.data() == q.weights.data());
  CHECK(params.bias.data() == q.bias.data());
  for (std::size_t c = 0; c < 3; ++c) {
    CAPTURE(c);
    CHECK(params.multipliers[c] == q.multipliers[c]);
  }
  CHECK(params.output.scale == kOutput.scale);
  CHECK(params.output.zero_point == kOutput.zero_point);
}
