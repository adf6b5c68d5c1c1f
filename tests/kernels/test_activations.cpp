// relu_s8 / relu6_s8 (clamps of the codes) and relu_f32 / relu6_f32.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>

#include "microtl/kernels/portable/activations.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;

}  // namespace

// TFLite rule: with the same input and output quantization, ReLU is max(q, zero_point) and
// ReLU6 also caps at zero_point + round(6 / scale) (CalculateActivationRangeQuantized).
TEST_CASE("relu_s8 / relu6_s8: clamps in the quantized domain") {
  // scale 0.1, zero point -10: real 0 is code -10, real 6 is code -10 + 60 = 50.
  const quant::QuantParams params{0.1f, -10};
  const std::array<std::int8_t, 6> input = {-128, -11, -10, 0, 60, 127};
  std::array<std::int8_t, 6> output{};
  kernels::relu_s8<6>(input, output, params);
  CHECK(output == std::array<std::int8_t, 6>{-10, -10, -10, 0, 60, 127});
  kernels::relu6_s8<6>(input, output, params);
  CHECK(output == std::array<std::int8_t, 6>{-10, -10, -10, 0, 50, 50});
}

TEST_CASE("relu_s8: in place") {
  std::array<std::int8_t, 3> data = {-5, 0, 5};
  kernels::relu_s8<3>(data, data, quant::QuantParams{0.5f, 0});
  CHECK(data == std::array<std::int8_t, 3>{0, 0, 5});
}

TEST_CASE("relu_f32 / relu6_f32") {
  const std::array<float, 4> input = {-1.5f, 0.0f, 3.0f, 7.0f};
  std::array<float, 4> output{};
  kernels::relu_f32<4>(input, output);
  CHECK(output == std::array<float, 4>{0.0f, 0.0f, 3.0f, 7.0f});
  kernels::relu6_f32<4>(input, output);
  CHECK(output == std::array<float, 4>{0.0f, 0.0f, 3.0f, 6.0f});
}
