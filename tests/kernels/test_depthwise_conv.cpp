// depthwise_conv_s8 against hand-computed values and against depthwise_conv_f32.
// kernels::<op>_s8 is the kernel the target uses (kernels/<op>.hpp): the DSP one on the
// Cortex-M4F and M7, the portable one elsewhere; test_dsp_kernels.cpp compares the two.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "kernel_test_support.hpp"
#include "microtl/kernels/depthwise_conv.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;
using kernels::Padding;

constexpr quant::ActivationRange kFullRange{-128, 127};
constexpr quant::QuantizedMultiplier kOne{1 << 30, 1};  // x -> x exactly

template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t Stride,
          Padding Pad, std::size_t M>
int float_comparison_error(std::uint32_t seed, quant::Activation activation) {
  constexpr std::size_t kChannels = C * M;
  constexpr std::size_t kOutputs = kernels::output_elements(H, W, K, K, Stride, Pad, kChannels);
  microtl_test::Xorshift32 random(seed);
  const auto input = microtl_test::quantize_activations(
      microtl_test::random_floats<H * W * C>(random, -1.5f, 1.5f), -1.5f, 1.5f);
  // Weights [K][K][C * M]: element i belongs to output channel i % (C * M).
  const auto weights = microtl_test::quantize_weights<kChannels>(
      microtl_test::random_floats<K * K * kChannels>(random, -1.0f, 1.0f),
      [](std::size_t i) { return i % kChannels; });
  const auto bias = microtl_test::quantize_biases<kChannels>(
      microtl_test::random_floats<kChannels>(random, -0.3f, 0.3f), input.params.scale,
      weights.scales);

  std::array<float, kOutputs> unclamped{};
  kernels::depthwise_conv_f32<H, W, C, K, K, Stride, Pad, M>(input.reals, weights.reals, bias.reals,
                                                             unclamped, quant::Activation::none);
  const quant::QuantParams output_params = microtl_test::calibrate(unclamped);
  std::array<float, kOutputs> expected_reals{};
  kernels::depthwise_conv_f32<H, W, C, K, K, Stride, Pad, M>(input.reals, weights.reals, bias.reals,
                                                             expected_reals, activation);
  const auto expected = microtl_test::quantize_all(expected_reals, output_params);

  const auto multipliers = kernels::conv_output_multipliers<kChannels>(
      input.params.scale, weights.scales, output_params.scale);
  const kernels::DepthwiseConvParams<kChannels> params{
      -input.params.zero_point, output_params.zero_point,
      quant::activation_range(activation, output_params), multipliers};
  std::array<std::int8_t, kOutputs> actual{};
  kernels::depthwise_conv_s8<H, W, C, K, K, Stride, Pad, M>(input.codes, weights.codes, bias.codes,
                                                            actual, params);
  return microtl_test::max_code_difference(actual, expected);
}

}  // namespace

// TFLite rule (int8 DEPTHWISE_CONV_2D): each channel is convolved with its own filter;
// weights [KH][KW][C], bias and multiplier per channel.
TEST_CASE("depthwise_conv_s8: hand-computed, valid padding") {
  // 2x2 image, 2 channels: (y, x) -> (c0, c1): (0,0) (1,-1), (0,1) (2,-2), (1,0) (3,-3),
  // (1,1) (4,-4). Weights (ky, kx) -> (c0, c1): (1, 1), (1, 2), (1, 3), (1, 4). Bias [0, 5].
  //   c0 = 1 + 2 + 3 + 4 = 10
  //   c1 = 5 + (-1)*1 + (-2)*2 + (-3)*3 + (-4)*4 = 5 - 30 = -25
  const std::array<std::int8_t, 8> input = {1, -1, 2, -2, 3, -3, 4, -4};
  const std::array<std::int8_t, 8> weights = {1, 1, 1, 2, 1, 3, 1, 4};
  const std::array<std::int32_t, 2> bias = {0, 5};
  std::array<std::int8_t, 2> output{};
  kernels::depthwise_conv_s8<2, 2, 2, 2, 2, 1, Padding::valid>(input, weights, bias, output,
                                                               {0, 0, kFullRange, kOne});
  CHECK(output == std::array<std::int8_t, 2>{10, -25});
}

// TFLite rule: with depth multiplier M, output channel o = c * M + m reads input channel c.
TEST_CASE("depthwise_conv_s8: depth multiplier 2 maps output o to input o / 2") {
  // 1x1 image (3, -2) with input zero point -1 (offset +1): (4, -1). 1x1 weights (1, 2, 3, 4):
  //   o0 = 4 * 1 = 4, o1 = 4 * 2 = 8 (from c0); o2 = -1 * 3 = -3, o3 = -1 * 4 = -4 (from c1)
  const std::array<std::int8_t, 2> input = {3, -2};
  const std::array<std::int8_t, 4> weights = {1, 2, 3, 4};
  const std::array<std::int32_t, 4> bias = {0, 0, 0, 0};
  std::array<std::int8_t, 4> output{};
  kernels::depthwise_conv_s8<1, 1, 2, 1, 1, 1, Padding::valid, 2>(input, weights, bias, output,
                                                                  {1, 0, kFullRange, kOne});
  CHECK(output == std::array<std::int8_t, 4>{4, 8, -3, -4});
}

// TFLite rule (SAME, stride 2): 3x3 input, 3x3 kernel: out = ceil(3 / 2) = 2, pad_total =
// 2 + 3 - 3 = 2, pad_before = 1: windows start at -1 and 1. Padded taps are skipped.
TEST_CASE("depthwise_conv_s8: same padding, stride 2, hand-computed") {
  // One channel, input 1..9 (row-major), all-ones kernel, input offset +1 (values 2..10):
  //   (rows 0-1, cols 0-1) 2+3+5+6 = 16     (rows 0-1, cols 1-2) 3+4+6+7 = 20
  //   (rows 1-2, cols 0-1) 5+6+8+9 = 28     (rows 1-2, cols 1-2) 6+7+9+10 = 32
  const std::array<std::int8_t, 9> input = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::array<std::int8_t, 9> ones{};
  ones.fill(1);
  const std::array<std::int32_t, 1> bias = {0};
  std::array<std::int8_t, 4> output{};
  kernels::depthwise_conv_s8<3, 3, 1, 3, 3, 2, Padding::same>(input, ones, bias, output,
                                                              {1, 0, kFullRange, kOne});
  CHECK(output == std::array<std::int8_t, 4>{16, 20, 28, 32});
}

TEST_CASE("depthwise_conv_f32: hand-computed") {
  // The first int8 case in float, with relu: c1 = -25 -> 0.
  const std::array<float, 8> input = {1, -1, 2, -2, 3, -3, 4, -4};
  const std::array<float, 8> weights = {1, 1, 1, 2, 1, 3, 1, 4};
  const std::array<float, 2> bias = {0, 5};
  std::array<float, 2> output{};
  kernels::depthwise_conv_f32<2, 2, 2, 2, 2, 1, Padding::valid>(input, weights, bias, output,
                                                                quant::Activation::relu);
  CHECK(output == std::array<float, 2>{10, 0});
}

// Property: within 1 LSB of the float computation on random data.
TEST_CASE("depthwise_conv_s8: within 1 LSB of the float computation") {
  for (std::uint32_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    CHECK(float_comparison_error<6, 6, 4, 3, 1, Padding::same, 1>(seed, quant::Activation::none) <=
          1);
    CHECK(float_comparison_error<6, 6, 4, 3, 2, Padding::same, 1>(seed, quant::Activation::relu) <=
          1);
    CHECK(float_comparison_error<7, 6, 3, 3, 2, Padding::valid, 2>(seed, quant::Activation::none) <=
          1);
    CHECK(float_comparison_error<5, 5, 2, 5, 1, Padding::same, 3>(seed, quant::Activation::relu6) <=
          1);
  }
}
