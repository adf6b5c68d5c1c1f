// convolve_s8 / convolve_1d_s8 against hand-computed values and against the float versions.
// kernels::<op>_s8 is the kernel the target uses (kernels/<op>.hpp): the DSP one on the
// Cortex-M4F and M7, the portable one elsewhere; test_dsp_kernels.cpp compares the two.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "kernel_test_support.hpp"
#include "microtl/kernels/convolve.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;
using kernels::Padding;

constexpr quant::ActivationRange kFullRange{-128, 127};
constexpr quant::QuantizedMultiplier kOne{1 << 30, 1};   // 0.5 * 2^1: x -> x exactly
constexpr quant::QuantizedMultiplier kHalf{1 << 30, 0};  // 0.5
constexpr quant::QuantizedMultiplier kTwo{1 << 30, 2};   // 0.5 * 2^2

// A 3x3 single-channel image and a 2x2 kernel:
//   input  1 2 3     weights  1 2
//          4 5 6              3 4
//          7 8 9
constexpr std::array<std::int8_t, 9> kImage3x3 = {1, 2, 3, 4, 5, 6, 7, 8, 9};
constexpr std::array<std::int8_t, 4> kKernel2x2 = {1, 2, 3, 4};
constexpr std::array<std::int32_t, 1> kZeroBias = {0};

// A 5x5 single-channel image: input[y][x] = 5y + x + 1 (1 .. 25).
constexpr std::array<std::int8_t, 25> kRamp5x5 = [] {
  std::array<std::int8_t, 25> image{};
  for (std::size_t i = 0; i < image.size(); ++i) {
    image[i] = static_cast<std::int8_t>(i + 1);
  }
  return image;
}();

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t K,
          std::size_t Stride, Padding Pad>
int float_comparison_error(std::uint32_t seed, quant::Activation activation) {
  constexpr std::size_t kOutputs = kernels::output_elements(H, W, K, K, Stride, Pad, Cout);
  microtl_test::Xorshift32 random(seed);
  const auto input = microtl_test::quantize_activations(
      microtl_test::random_floats<H * W * Cin>(random, -2.0f, 1.0f), -2.0f, 1.0f);
  const auto weights = microtl_test::quantize_weights<Cout>(
      microtl_test::random_floats<Cout * K * K * Cin>(random, -0.6f, 0.6f),
      [](std::size_t i) { return i / (K * K * Cin); });
  const auto bias = microtl_test::quantize_biases<Cout>(
      microtl_test::random_floats<Cout>(random, -0.3f, 0.3f), input.params.scale, weights.scales);

  std::array<float, kOutputs> unclamped{};
  kernels::convolve_f32<H, W, Cin, Cout, K, K, Stride, Pad>(input.reals, weights.reals, bias.reals,
                                                            unclamped, quant::Activation::none);
  const quant::QuantParams output_params = microtl_test::calibrate(unclamped);
  std::array<float, kOutputs> expected_reals{};
  kernels::convolve_f32<H, W, Cin, Cout, K, K, Stride, Pad>(input.reals, weights.reals, bias.reals,
                                                            expected_reals, activation);
  const auto expected = microtl_test::quantize_all(expected_reals, output_params);

  const auto multipliers = kernels::conv_output_multipliers<Cout>(
      input.params.scale, weights.scales, output_params.scale);
  const kernels::ConvParams<Cout> params{-input.params.zero_point, output_params.zero_point,
                                         quant::activation_range(activation, output_params),
                                         multipliers};
  std::array<std::int8_t, kOutputs> actual{};
  kernels::convolve_s8<H, W, Cin, Cout, K, K, Stride, Pad>(input.codes, weights.codes, bias.codes,
                                                           actual, params);
  return microtl_test::max_code_difference(actual, expected);
}

}  // namespace

// TFLite rule (VALID): out = in - k + 1 = 2 per axis; every window lies inside the input.
TEST_CASE("convolve_s8: valid padding, stride 1, hand-computed") {
  // out[0][0] = 1*1 + 2*2 + 3*4 + 4*5 = 37     out[0][1] = 1*2 + 2*3 + 3*5 + 4*6 = 47
  // out[1][0] = 1*4 + 2*5 + 3*7 + 4*8 = 67     out[1][1] = 1*5 + 2*6 + 3*8 + 4*9 = 77
  std::array<std::int8_t, 4> output{};
  kernels::convolve_s8<3, 3, 1, 1, 2, 2, 1, Padding::valid>(kImage3x3, kKernel2x2, kZeroBias,
                                                            output, {0, 0, kFullRange, kOne});
  CHECK(output == std::array<std::int8_t, 4>{37, 47, 67, 77});
}

// TFLite rule (SAME): out = 3 per axis, pad_total = 1, pad_before = 0 (the padding is after);
// padded taps are skipped, so the input offset is not added for them.
TEST_CASE("convolve_s8: same padding skips padded taps, with an input offset") {
  // Input zero point -1 (offset +1): input + offset =  2 3 4 / 5 6 7 / 8 9 10.
  // out[0][0] = 2 + 2*3 + 3*5 + 4*6 = 47      out[0][1] = 3 + 2*4 + 3*6 + 4*7 = 57
  // out[0][2] = 4 + 3*7 = 25 (right column padded)
  // out[1][0] = 5 + 2*6 + 3*8 + 4*9 = 77      out[1][1] = 6 + 2*7 + 3*9 + 4*10 = 87
  // out[1][2] = 7 + 3*10 = 37
  // out[2][0] = 8 + 2*9 = 26 (bottom row padded)   out[2][1] = 9 + 2*10 = 29   out[2][2] = 10
  std::array<std::int8_t, 9> output{};
  kernels::convolve_s8<3, 3, 1, 1, 2, 2, 1, Padding::same>(kImage3x3, kKernel2x2, kZeroBias, output,
                                                           {1, 0, kFullRange, kOne});
  CHECK(output == std::array<std::int8_t, 9>{47, 57, 25, 77, 87, 37, 26, 29, 10});
}

// TFLite rule (SAME, stride 2): 5x5 input, 3x3 kernel: out = ceil(5 / 2) = 3, pad_total =
// 2 * 2 + 3 - 5 = 2, pad_before = 1, so windows start at rows/cols -1, 1, 3.
TEST_CASE("convolve_s8: same padding, stride 2, hand-computed") {
  // kRamp5x5, all-ones 3x3 kernel: each output is a window sum.
  std::array<std::int8_t, 9> ones{};
  ones.fill(1);
  // Window sums (rows, cols inside the input):
  //   (0-1, 0-1) 1+2+6+7 = 16        (0-1, 1-3) 2+3+4+7+8+9 = 33       (0-1, 3-4) 4+5+9+10 = 28
  //   (1-3, 0-1) 6+7+11+12+16+17 = 69   (1-3, 1-3) 117   (1-3, 3-4) 9+10+14+15+19+20 = 87
  //   (3-4, 0-1) 16+17+21+22 = 76    (3-4, 1-3) 17+18+19+22+23+24 = 123  (3-4, 3-4) 88
  // times 0.5 with SRDHM's ties toward +infinity: 8, 16.5 -> 17, 14, 34.5 -> 35, 58.5 -> 59,
  // 43.5 -> 44, 38, 61.5 -> 62, 44.
  std::array<std::int8_t, 9> output{};
  kernels::convolve_s8<5, 5, 1, 1, 3, 3, 2, Padding::same>(kRamp5x5, ones, kZeroBias, output,
                                                           {0, 0, kFullRange, kHalf});
  CHECK(output == std::array<std::int8_t, 9>{8, 17, 14, 35, 59, 44, 38, 62, 44});
}

// TFLite rule (VALID, stride 2): 5x5 input, 3x3 kernel: out = (5 - 3) / 2 + 1 = 2, windows
// start at 0 and 2.
TEST_CASE("convolve_s8: valid padding, stride 2, hand-computed") {
  // Kernel with a single 1 at its centre: out = input at (2y + 1, 2x + 1) = 7, 9, 17, 19.
  std::array<std::int8_t, 9> centre{};
  centre[4] = 1;
  std::array<std::int8_t, 4> output{};
  kernels::convolve_s8<5, 5, 1, 1, 3, 3, 2, Padding::valid>(kRamp5x5, centre, kZeroBias, output,
                                                            {0, 0, kFullRange, kOne});
  CHECK(output == std::array<std::int8_t, 4>{7, 9, 17, 19});
}

// TFLite rule: weights are [Cout][KH][KW][Cin], the bias and multiplier are per output channel.
TEST_CASE("convolve_s8: channels, bias and per-channel multipliers") {
  // 1x2 image with 2 channels: pixels (1, 2) and (3, 4); 1x1 kernel, weights [[1, -1], [2, 3]],
  // bias [10, -10], multipliers [1, 2], output zero point 5.
  //   pixel 0: c0 = 10 + 1 - 2 = 9            c1 = (-10 + 2 + 6) * 2 = -4
  //   pixel 1: c0 = 10 + 3 - 4 = 9            c1 = (-10 + 6 + 12) * 2 = 16
  //   plus the output zero point 5: 14, 1, 14, 21
  const std::array<std::int8_t, 4> input = {1, 2, 3, 4};
  const std::array<std::int8_t, 4> weights = {1, -1, 2, 3};
  const std::array<std::int32_t, 2> bias = {10, -10};
  const std::array<quant::QuantizedMultiplier, 2> multipliers = {kOne, kTwo};
  std::array<std::int8_t, 4> output{};
  kernels::convolve_s8<1, 2, 2, 2, 1, 1, 1, Padding::valid>(input, weights, bias, output,
                                                            {0, 5, kFullRange, multipliers});
  CHECK(output == std::array<std::int8_t, 4>{14, 1, 14, 21});
}

// A 1-D convolution is the 2-D one over a 1-pixel-high image: SAME pads (3 - 1) / 2 = 1 tap
// before, VALID with stride 2 gives (5 - 3) / 2 + 1 = 2 outputs.
TEST_CASE("convolve_1d_s8: same and valid, hand-computed") {
  const std::array<std::int8_t, 5> input = {1, 2, 3, 4, 5};
  const std::array<std::int8_t, 3> weights = {1, 2, 3};
  // out[i] = 1*in[i-1] + 2*in[i] + 3*in[i+1], padded taps skipped:
  //   2*1 + 3*2 = 8, 1 + 4 + 9 = 14, 2 + 6 + 12 = 20, 3 + 8 + 15 = 26, 4 + 10 = 14
  std::array<std::int8_t, 5> same{};
  kernels::convolve_1d_s8<5, 1, 1, 3, 1, Padding::same>(input, weights, kZeroBias, same,
                                                        {0, 0, kFullRange, kOne});
  CHECK(same == std::array<std::int8_t, 5>{8, 14, 20, 26, 14});
  // Windows at 0 and 2: 1 + 4 + 9 = 14, 3 + 8 + 15 = 26.
  std::array<std::int8_t, 2> valid{};
  kernels::convolve_1d_s8<5, 1, 1, 3, 2, Padding::valid>(input, weights, kZeroBias, valid,
                                                         {0, 0, kFullRange, kOne});
  CHECK(valid == std::array<std::int8_t, 2>{14, 26});
}

// The float reference on the same hand-computed SAME case.
TEST_CASE("convolve_f32 / convolve_1d_f32: hand-computed") {
  const std::array<float, 9> input = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::array<float, 4> weights = {1, 2, 3, 4};
  const std::array<float, 1> bias = {-20.0f};
  // The SAME sums above without the offset: 37, 47, 21, 67, 77, 33, 23, 26, 9; minus 20;
  // relu clamps the negatives.
  std::array<float, 9> output{};
  kernels::convolve_f32<3, 3, 1, 1, 2, 2, 1, Padding::same>(input, weights, bias, output,
                                                            quant::Activation::relu);
  CHECK(output == std::array<float, 9>{17, 27, 1, 47, 57, 13, 3, 6, 0});
  const std::array<float, 5> line = {1, 2, 3, 4, 5};
  const std::array<float, 3> taps = {1, 2, 3};
  const std::array<float, 1> no_bias = {0.0f};
  std::array<float, 5> same{};
  kernels::convolve_1d_f32<5, 1, 1, 3, 1, Padding::same>(line, taps, no_bias, same,
                                                         quant::Activation::none);
  CHECK(same == std::array<float, 5>{8, 14, 20, 26, 14});
}

// Property: within 1 LSB of the float computation on random data, for SAME and VALID padding,
// strides 1 and 2, several channel counts and fused activations.
TEST_CASE("convolve_s8: within 1 LSB of the float computation") {
  for (std::uint32_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    CHECK(float_comparison_error<6, 6, 3, 4, 3, 1, Padding::same>(seed, quant::Activation::none) <=
          1);
    CHECK(float_comparison_error<6, 6, 3, 4, 3, 2, Padding::same>(seed, quant::Activation::relu) <=
          1);
    CHECK(float_comparison_error<7, 5, 2, 3, 3, 2, Padding::valid>(seed, quant::Activation::none) <=
          1);
    CHECK(float_comparison_error<5, 5, 4, 2, 3, 1, Padding::valid>(seed,
                                                                   quant::Activation::relu6) <= 1);
    CHECK(float_comparison_error<1, 16, 3, 4, 5, 2, Padding::same>(seed, quant::Activation::none) <=
          1);
  }
}
