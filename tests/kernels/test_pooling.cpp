// max_pool_s8, avg_pool_s8, global_avg_pool_s8 against hand-computed values and the float
// versions.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "kernel_test_support.hpp"
#include "microtl/kernels/pooling.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;
using kernels::Padding;

constexpr quant::ActivationRange kFullRange{-128, 127};

// A 4x4 single-channel image, pooled 2x2 with stride 2 (VALID: four disjoint windows):
//    1  5 |  2  0
//    3  5 |  8 -1
//   ------+------
//   -7 -6 | -5 -4
//   -3 -2 | -1 -7
constexpr std::array<std::int8_t, 16> kImage4x4 = {1,  5,  2,  0,  3,  5,  8,  -1,
                                                   -7, -6, -5, -4, -3, -2, -1, -7};

// A 3x3 image for SAME padding with a 2x2 window and stride 2: out = 2, pad_total =
// (2 - 1) * 2 + 2 - 3 = 1, pad_before = 0: the last row and column of windows hang over.
constexpr std::array<std::int8_t, 9> kImage3x3 = {1, 2, 3, 4, 5, 6, 7, 8, 9};

}  // namespace

// TFLite rule (int8 MAX_POOL_2D): the largest code in the window, then the activation clamp.
TEST_CASE("max_pool_s8: valid, stride 2, hand-computed") {
  // max(1, 5, 3, 5) = 5, max(2, 0, 8, -1) = 8, max(-7, -6, -3, -2) = -2, max(-5, -4, -1, -7) = -1
  std::array<std::int8_t, 4> output{};
  kernels::max_pool_s8<4, 4, 1, 2, 2, 2, Padding::valid>(kImage4x4, output, kFullRange);
  CHECK(output == std::array<std::int8_t, 4>{5, 8, -2, -1});
  // A fused relu with zero point 0 clamps the negatives to 0.
  kernels::max_pool_s8<4, 4, 1, 2, 2, 2, Padding::valid>(kImage4x4, output, {0, 127});
  CHECK(output == std::array<std::int8_t, 4>{5, 8, 0, 0});
}

// TFLite rule (int8 AVERAGE_POOL_2D): sum / count rounded half away from zero:
// (sum + count/2) / count for sum > 0, (sum - count/2) / count otherwise (C++ truncation).
TEST_CASE("avg_pool_s8: valid, stride 2, rounding ties away from zero") {
  //   1 + 5 + 3 + 5 = 14:     14 / 4 = 3.5   -> (14 + 2) / 4 = 4
  //   2 + 0 + 8 - 1 = 9:      9 / 4 = 2.25   -> (9 + 2) / 4 = 2
  //   -7 - 6 - 3 - 2 = -18:   -4.5           -> (-18 - 2) / 4 = -5
  //   -5 - 4 - 1 - 7 = -17:   -4.25          -> (-17 - 2) / 4 = -4.75 -> -4
  std::array<std::int8_t, 4> output{};
  kernels::avg_pool_s8<4, 4, 1, 2, 2, 2, Padding::valid>(kImage4x4, output, kFullRange);
  CHECK(output == std::array<std::int8_t, 4>{4, 2, -5, -4});
}

// TFLite rule: with SAME padding only the taps inside the input are averaged.
TEST_CASE("avg_pool_s8: same padding divides by the real taps only") {
  //   (1 + 2 + 4 + 5) / 4 = 3     (3 + 6) / 2 = 4.5 -> 5     (7 + 8) / 2 = 7.5 -> 8     9 / 1 = 9
  // (Dividing by the full window of 4 would give 2, 4, 9 / 4 -> 2.)
  std::array<std::int8_t, 4> output{};
  kernels::avg_pool_s8<3, 3, 1, 2, 2, 2, Padding::same>(kImage3x3, output, kFullRange);
  CHECK(output == std::array<std::int8_t, 4>{3, 5, 8, 9});
}

// TFLite rule: with SAME padding the max ignores padded taps (they are not zeros).
TEST_CASE("max_pool_s8: same padding ignores padded taps") {
  // Negated image: max(-1, -2, -4, -5) = -1, max(-3, -6) = -3, max(-7, -8) = -7, -9.
  std::array<std::int8_t, 9> negated{};
  for (std::size_t i = 0; i < negated.size(); ++i) {
    negated[i] = static_cast<std::int8_t>(-kImage3x3[i]);
  }
  std::array<std::int8_t, 4> output{};
  kernels::max_pool_s8<3, 3, 1, 2, 2, 2, Padding::same>(negated, output, kFullRange);
  CHECK(output == std::array<std::int8_t, 4>{-1, -3, -7, -9});
}

// Global average pooling is AVERAGE_POOL_2D over the whole image, per channel.
TEST_CASE("global_avg_pool_s8: per-channel average of the image") {
  // 2x2 image, 2 channels: c0 = 1, 2, 3, 5 -> 11 / 4 = 2.75 -> 3;
  // c1 = -1, -2, -3, -4 -> -10 / 4 = -2.5 -> -3 (away from zero).
  const std::array<std::int8_t, 8> input = {1, -1, 2, -2, 3, -3, 5, -4};
  std::array<std::int8_t, 2> output{};
  kernels::global_avg_pool_s8<2, 2, 2>(input, output, kFullRange);
  CHECK(output == std::array<std::int8_t, 2>{3, -3});
}

TEST_CASE("pooling f32: hand-computed") {
  std::array<float, 16> image{};
  for (std::size_t i = 0; i < image.size(); ++i) {
    image[i] = static_cast<float>(kImage4x4[i]);
  }
  std::array<float, 4> output{};
  kernels::max_pool_f32<4, 4, 1, 2, 2, 2, Padding::valid>(image, output, quant::Activation::none);
  CHECK(output == std::array<float, 4>{5, 8, -2, -1});
  kernels::avg_pool_f32<4, 4, 1, 2, 2, 2, Padding::valid>(image, output, quant::Activation::none);
  CHECK(output == std::array<float, 4>{3.5f, 2.25f, -4.5f, -4.25f});
  const std::array<float, 9> small = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  kernels::avg_pool_f32<3, 3, 1, 2, 2, 2, Padding::same>(small, output, quant::Activation::none);
  CHECK(output == std::array<float, 4>{3, 4.5f, 7.5f, 9});
  std::array<float, 1> global{};
  kernels::global_avg_pool_f32<3, 3, 1>(small, global, quant::Activation::relu6);
  CHECK(global[0] == 5.0f);
}

// Property: pooling keeps the input's quantization, so the int8 result is the float result
// quantized with the same parameters: exactly for max, within 1 LSB for average.
TEST_CASE("pooling s8: against the float computation on random data") {
  constexpr std::size_t kH = 7;
  constexpr std::size_t kW = 6;
  constexpr std::size_t kC = 3;
  for (std::uint32_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    microtl_test::Xorshift32 random(seed);
    const auto input = microtl_test::quantize_activations(
        microtl_test::random_floats<kH * kW * kC>(random, -3.0f, 2.0f), -3.0f, 2.0f);
    const quant::ActivationRange relu =
        quant::activation_range(quant::Activation::relu, input.params);
    constexpr std::size_t kSame = kernels::output_elements(kH, kW, 3, 3, 2, Padding::same, kC);
    std::array<float, kSame> reals{};
    std::array<std::int8_t, kSame> codes{};

    kernels::max_pool_f32<kH, kW, kC, 3, 3, 2, Padding::same>(input.reals, reals,
                                                              quant::Activation::relu);
    kernels::max_pool_s8<kH, kW, kC, 3, 3, 2, Padding::same>(input.codes, codes, relu);
    CHECK(microtl_test::max_code_difference(codes,
                                            microtl_test::quantize_all(reals, input.params)) == 0);

    kernels::avg_pool_f32<kH, kW, kC, 3, 3, 2, Padding::same>(input.reals, reals,
                                                              quant::Activation::none);
    kernels::avg_pool_s8<kH, kW, kC, 3, 3, 2, Padding::same>(input.codes, codes, {-128, 127});
    CHECK(microtl_test::max_code_difference(codes,
                                            microtl_test::quantize_all(reals, input.params)) <= 1);

    constexpr std::size_t kValid = kernels::output_elements(kH, kW, 2, 2, 1, Padding::valid, kC);
    std::array<float, kValid> valid_reals{};
    std::array<std::int8_t, kValid> valid_codes{};
    kernels::avg_pool_f32<kH, kW, kC, 2, 2, 1, Padding::valid>(input.reals, valid_reals,
                                                               quant::Activation::relu);
    kernels::avg_pool_s8<kH, kW, kC, 2, 2, 1, Padding::valid>(input.codes, valid_codes, relu);
    CHECK(microtl_test::max_code_difference(
              valid_codes, microtl_test::quantize_all(valid_reals, input.params)) <= 1);
  }
}
