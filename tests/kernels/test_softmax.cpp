// softmax_s8 (TFLite's int8 reference softmax) and softmax_f32.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "kernel_test_support.hpp"
#include "microtl/kernels/portable/softmax.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;

// TFLite's fixed output quantization of int8 softmax.
constexpr quant::QuantParams kSoftmaxOutput{1.0f / 256.0f, -128};

// prepare_softmax_s8 is a constant expression.
static_assert(kernels::prepare_softmax_s8(1.0f, 1.0f).diff_min == -15);

template <std::size_t Depth, std::size_t Rows>
int float_comparison_error(std::uint32_t seed, float input_scale, float beta) {
  microtl_test::Xorshift32 random(seed);
  const quant::QuantParams input_params{input_scale, random.uniform_int(-20, 20)};
  const auto codes = microtl_test::random_int8s<Rows * Depth>(random);
  std::array<float, Rows * Depth> reals{};
  for (std::size_t i = 0; i < codes.size(); ++i) {
    reals[i] = quant::dequantize(codes[i], input_params);
  }
  std::array<float, Rows * Depth> probabilities{};
  kernels::softmax_f32<Depth, Rows>(reals, probabilities, beta);
  const auto expected = microtl_test::quantize_all(probabilities, kSoftmaxOutput);
  std::array<std::int8_t, Rows * Depth> actual{};
  kernels::softmax_s8<Depth, Rows>(codes, actual, kernels::prepare_softmax_s8(beta, input_scale));
  return microtl_test::max_code_difference(actual, expected);
}

}  // namespace

// TFLite rule (PreprocessSoftmaxScaling, CalculateInputRadius with 5 integer bits):
// multiplier = quantize(min(beta * scale * 2^26, 2^31 - 1)), diff_min = -floor(31 * 2^26 /
// 2^shift).
TEST_CASE("prepare_softmax_s8: multiplier, shift and diff_min") {
  // beta 1, scale 1: 2^26 = 0.5 * 2^27 -> {2^30, 27}; 31 * 2^26 / 2^27 = 15.5 -> -15.
  const kernels::SoftmaxParams unit = kernels::prepare_softmax_s8(1.0f, 1.0f);
  CHECK(unit.input_beta_multiplier == (1 << 30));
  CHECK(unit.input_beta_left_shift == 27);
  CHECK(unit.diff_min == -15);
  // scale 1/16: 2^22 -> {2^30, 23}; 31 * 2^26 / 2^23 = 248 -> -248.
  const kernels::SoftmaxParams sixteenth = kernels::prepare_softmax_s8(1.0f, 0.0625f);
  CHECK(sixteenth.input_beta_multiplier == (1 << 30));
  CHECK(sixteenth.input_beta_left_shift == 23);
  CHECK(sixteenth.diff_min == -248);
  // beta * scale * 2^26 beyond 2^31 - 1 is capped there: {2^31 - 1, 31}, and
  // 31 * 2^26 / 2^31 = 0.97 -> diff_min 0 (only the maximum counts).
  const kernels::SoftmaxParams capped = kernels::prepare_softmax_s8(1.0f, 1000.0f);
  CHECK(capped.input_beta_multiplier == 2147483647);
  CHECK(capped.input_beta_left_shift == 31);
  CHECK(capped.diff_min == 0);
}

// TFLite rule: equal logits give equal probabilities 1/N, output (1/N) * 256 - 128.
TEST_CASE("softmax_s8: equal logits") {
  const kernels::SoftmaxParams params = kernels::prepare_softmax_s8(1.0f, 0.1f);
  // N = 4: every exp is 1 (2^31 - 1), rounded to Q12.19: 2^19; sum 2^21 = 4.0, so
  // bits_over_unit = 2 and f = 0, r ~= 1; output = round(r * 1 / 2^(2 + 23) * 2^31) - 128 =
  // 64 - 128 = -64.
  std::array<std::int8_t, 4> four{};
  four.fill(17);
  std::array<std::int8_t, 4> output4{};
  kernels::softmax_s8<4>(four, output4, params);
  CHECK(output4 == std::array<std::int8_t, 4>{-64, -64, -64, -64});
  // N = 8: 256 / 8 = 32 -> -96. N = 2: 128 -> 0.
  std::array<std::int8_t, 8> eight{};
  eight.fill(-100);
  std::array<std::int8_t, 8> output8{};
  kernels::softmax_s8<8>(eight, output8, params);
  CHECK(output8 == std::array<std::int8_t, 8>{-96, -96, -96, -96, -96, -96, -96, -96});
  const std::array<std::int8_t, 2> two = {5, 5};
  std::array<std::int8_t, 2> output2{};
  kernels::softmax_s8<2>(two, output2, params);
  CHECK(output2 == std::array<std::int8_t, 2>{0, 0});
}

// TFLite rule: probability 1 is 256 - 128 = 128, which saturates to 127; a difference below
// diff_min is skipped and gives -128.
TEST_CASE("softmax_s8: certainty saturates, negligible logits give -128") {
  const kernels::SoftmaxParams params = kernels::prepare_softmax_s8(1.0f, 1.0f);  // diff_min -15
  const std::array<std::int8_t, 1> single = {42};
  std::array<std::int8_t, 1> output1{};
  kernels::softmax_s8<1>(single, output1, params);
  CHECK(output1[0] == 127);
  // Differences 0, -16 (skipped: below -15), -200 (skipped).
  const std::array<std::int8_t, 3> spread = {100, 84, -100};
  std::array<std::int8_t, 3> output3{};
  kernels::softmax_s8<3>(spread, output3, params);
  CHECK(output3 == std::array<std::int8_t, 3>{127, -128, -128});
}

// Each row is normalized on its own.
TEST_CASE("softmax_s8: rows are independent") {
  const kernels::SoftmaxParams params = kernels::prepare_softmax_s8(1.0f, 0.1f);
  const std::array<std::int8_t, 4> input = {3, 3, -128, 127};
  std::array<std::int8_t, 4> output{};
  kernels::softmax_s8<2, 2>(input, output, params);
  // Row 0 equal: 0, 0. Row 1: difference -255 * 0.1 = -25.5 -> e^-25.5 ~ 0: -128, 127.
  CHECK(output == std::array<std::int8_t, 4>{0, 0, -128, 127});
}

TEST_CASE("softmax_f32: hand-computed") {
  // Equal logits: 1/3 each. [0, ln 3] -> [1/4, 3/4].
  const std::array<float, 3> equal = {2.0f, 2.0f, 2.0f};
  std::array<float, 3> output{};
  kernels::softmax_f32<3>(equal, output);
  CHECK(output[0] == doctest::Approx(1.0 / 3.0));
  CHECK(output[2] == doctest::Approx(1.0 / 3.0));
  const std::array<float, 2> pair = {0.0f, 1.0986123f};
  std::array<float, 2> pair_output{};
  kernels::softmax_f32<2>(pair, pair_output);
  CHECK(pair_output[0] == doctest::Approx(0.25));
  CHECK(pair_output[1] == doctest::Approx(0.75));
  // beta 2 doubles the logits: [0, ln 3 / 2] with beta 2 is [1/4, 3/4] again.
  const std::array<float, 2> half = {0.0f, 0.54930615f};
  kernels::softmax_f32<2>(half, pair_output, 2.0f);
  CHECK(pair_output[1] == doctest::Approx(0.75));
}

// Property: within 1 LSB of the float softmax quantized to scale 1/256, zero point -128, for
// several input scales and betas.
TEST_CASE("softmax_s8: within 1 LSB of the float computation") {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    CHECK(float_comparison_error<10, 3>(seed, 0.05f, 1.0f) <= 1);
    CHECK(float_comparison_error<10, 3>(seed, 0.1f, 1.0f) <= 1);
    CHECK(float_comparison_error<16, 2>(seed, 0.02f, 1.0f) <= 1);
    CHECK(float_comparison_error<5, 4>(seed, 0.25f, 0.5f) <= 1);
    CHECK(float_comparison_error<100, 1>(seed, 0.01f, 1.0f) <= 1);
  }
}
