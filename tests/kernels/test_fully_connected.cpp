// fully_connected_s8 against hand-computed values and against fully_connected_f32.
// kernels::<op>_s8 is the kernel the target uses (kernels/<op>.hpp): the DSP one on the
// Cortex-M4F and M7, the portable one elsewhere; test_dsp_kernels.cpp compares the two.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "kernel_test_support.hpp"
#include "microtl/kernels/fully_connected.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;

constexpr quant::ActivationRange kFullRange{-128, 127};
constexpr quant::QuantizedMultiplier kQuarter{1 << 30, -1};  // 0.5 * 2^-1
constexpr quant::QuantizedMultiplier kEighth{1 << 30, -2};   // 0.5 * 2^-2
static_assert(quant::quantize_multiplier(0.25) == kQuarter);

// input [10, -20, 30] with zero point -10 (offset +10): input + offset = [20, -10, 40]
// weights [[1, 2, 3], [-4, 5, -6]], bias [100, -50]
//   acc0 = 100 + 1*20 + 2*(-10) + 3*40      = 100 + 20 - 20 + 120 = 220
//   acc1 = -50 + (-4)*20 + 5*(-10) + (-6)*40 = -50 - 80 - 50 - 240 = -420
constexpr std::array<std::int8_t, 3> kInput = {10, -20, 30};
constexpr std::array<std::int8_t, 6> kWeights = {1, 2, 3, -4, 5, -6};
constexpr std::array<std::int32_t, 2> kBias = {100, -50};

std::array<std::int8_t, 2> run_golden(const kernels::FullyConnectedParams<2>& params) {
  std::array<std::int8_t, 2> output{};
  kernels::fully_connected_s8<3, 2>(kInput, kWeights, kBias, output, params);
  return output;
}

// The float comparison: random input, per-channel or per-tensor weights, random bias.
template <std::size_t In, std::size_t Out>
int float_comparison_error(std::uint32_t seed, quant::Activation activation, bool per_channel) {
  microtl_test::Xorshift32 random(seed);
  const auto input = microtl_test::quantize_activations(
      microtl_test::random_floats<In>(random, -1.0f, 2.0f), -1.0f, 2.0f);
  const auto weights = microtl_test::quantize_weights<Out>(
      microtl_test::random_floats<In * Out>(random, -0.5f, 0.5f),
      [per_channel](std::size_t i) { return per_channel ? i / In : std::size_t{0}; });
  // Per-tensor: channel 0 holds every weight, and every channel uses its scale.
  std::array<float, Out> scales = weights.scales;
  if (!per_channel) {
    scales.fill(weights.scales[0]);
  }
  const auto bias = microtl_test::quantize_biases<Out>(
      microtl_test::random_floats<Out>(random, -0.5f, 0.5f), input.params.scale, scales);

  // Float reference on exactly the reals the codes stand for; calibrate the output on it.
  std::array<float, Out> unclamped{};
  kernels::fully_connected_f32<In, Out>(input.reals, weights.reals, bias.reals, unclamped,
                                        quant::Activation::none);
  const quant::QuantParams output_params = microtl_test::calibrate(unclamped);
  std::array<float, Out> expected_reals{};
  kernels::fully_connected_f32<In, Out>(input.reals, weights.reals, bias.reals, expected_reals,
                                        activation);
  const auto expected = microtl_test::quantize_all(expected_reals, output_params);

  std::array<quant::QuantizedMultiplier, Out> multipliers{};
  for (std::size_t o = 0; o < Out; ++o) {
    multipliers[o] =
        kernels::conv_output_multiplier(input.params.scale, scales[o], output_params.scale);
  }
  const kernels::FullyConnectedParams<Out> per_channel_params{
      -input.params.zero_point, output_params.zero_point,
      quant::activation_range(activation, output_params), multipliers};
  const kernels::FullyConnectedParams<Out> per_tensor_params{
      -input.params.zero_point, output_params.zero_point,
      quant::activation_range(activation, output_params),
      kernels::fully_connected_output_multiplier(input.params.scale, scales[0],
                                                 output_params.scale)};
  std::array<std::int8_t, Out> actual{};
  kernels::fully_connected_s8<In, Out>(input.codes, weights.codes, bias.codes, actual,
                                       per_channel ? per_channel_params : per_tensor_params);
  return microtl_test::max_code_difference(actual, expected);
}

}  // namespace

// TFLite rule (int8 FULLY_CONNECTED): acc = bias + sum w * (x + input_offset), then
// requantize: MultiplyByQuantizedMultiplier, + output zero point, clamp.
TEST_CASE("fully_connected_s8: hand-computed, per-tensor multiplier") {
  // acc0 220 * 0.25: SRDHM(220, 2^30) = (220*2^30 + 2^30) / 2^31 = 110.5 -> 110; 110 / 2 = 55;
  //   + 3 = 58.
  // acc1 -420 * 0.25: SRDHM = (-420*2^30 + 1 - 2^30) / 2^31 = -210.4999 -> -210; -210 / 2 =
  //   -105; + 3 = -102.
  const std::array<std::int8_t, 2> output = run_golden({10, 3, kFullRange, kQuarter});
  CHECK(output[0] == 58);
  CHECK(output[1] == -102);
}

// TFLite rule: per-channel quantization uses multiplier c for output c.
TEST_CASE("fully_connected_s8: hand-computed, per-channel multipliers") {
  // acc1 -420 * 0.125: SRDHM gives -210, -210 / 4 = -52.5 -> -53 (ties away from zero); + 3 =
  // -50. acc0 keeps 0.25: 58.
  const std::array<quant::QuantizedMultiplier, 2> multipliers = {kQuarter, kEighth};
  const std::array<std::int8_t, 2> output = run_golden({10, 3, kFullRange, multipliers});
  CHECK(output[0] == 58);
  CHECK(output[1] == -50);
}

// TFLite rule: the fused activation is a clamp to the activation range after the zero point.
TEST_CASE("fully_connected_s8: fused relu clamps at the output zero point") {
  const std::array<std::int8_t, 2> output = run_golden({10, 3, {3, 127}, kQuarter});
  CHECK(output[0] == 58);
  CHECK(output[1] == 3);
}

// The float reference on hand-computable values: [1, 2] . [[1, -1], [0.5, 2]] + [0.5, -1].
TEST_CASE("fully_connected_f32: hand-computed") {
  const std::array<float, 2> input = {1.0f, 2.0f};
  const std::array<float, 4> weights = {1.0f, -1.0f, 0.5f, 2.0f};
  const std::array<float, 2> bias = {0.5f, -1.0f};
  std::array<float, 2> output{};
  // o0 = 1 - 2 + 0.5 = -0.5; o1 = 0.5 + 4 - 1 = 3.5
  kernels::fully_connected_f32<2, 2>(input, weights, bias, output, quant::Activation::none);
  CHECK(output[0] == -0.5f);
  CHECK(output[1] == 3.5f);
  kernels::fully_connected_f32<2, 2>(input, weights, bias, output, quant::Activation::relu);
  CHECK(output[0] == 0.0f);
  kernels::fully_connected_f32<2, 2>(input, weights, bias, output, quant::Activation::relu6);
  CHECK(output[1] == 3.5f);
}

// Property: on random data the int8 result is within 1 LSB of the float result quantized,
// for per-channel and per-tensor weights and every fused activation.
TEST_CASE("fully_connected_s8: within 1 LSB of the float computation") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    CHECK(float_comparison_error<16, 8>(seed, quant::Activation::none, true) <= 1);
    CHECK(float_comparison_error<16, 8>(seed, quant::Activation::none, false) <= 1);
    CHECK(float_comparison_error<16, 8>(seed, quant::Activation::relu, true) <= 1);
    CHECK(float_comparison_error<40, 3>(seed, quant::Activation::relu6, true) <= 1);
  }
}
