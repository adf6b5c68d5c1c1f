// The header scripts/import generates at build time from its test builder's sample model
// (tools/microtl_import/tests/make_sample.py: Conv2D 3x3 same + ReLU, MaxPool 2, Reshape,
// FullyConnected, Softmax) compiles with the project's warnings as errors and runs. The
// expected outputs are TFLite 2.21's for the same .tflite file (reference kernels), recorded
// once: every byte must be equal.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "imported_sample.hpp"

namespace {

// Sample k: x[i] = (i * (37 + 11 k)) mod 256 - 128, i = 0 .. 15 (the 4 x 4 x 1 image).
constexpr std::array<std::int8_t, 16> sample_input(std::size_t k) {
  std::array<std::int8_t, 16> x{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<std::int8_t>(static_cast<int>((i * (37 + 11 * k)) % 256) - 128);
  }
  return x;
}

constexpr std::array<std::array<std::int8_t, 3>, 4> kTfliteOutputs = {{
    {{-40, -47, -40}},
    {{-45, -48, -36}},
    {{-47, -42, -40}},
    {{-42, -47, -40}},
}};

// The model can be built at compile time: no constructor code runs at start-up.
constinit const imported_sample::Model kModel = imported_sample::make_model();

}  // namespace

TEST_CASE("scripts/import: the generated sample model gives TFLite's outputs") {
  using Model = imported_sample::Model;
  static_assert(std::is_same_v<Model::input_shape, microtl::Shape<4, 4, 1>>);
  static_assert(std::is_same_v<Model::output_shape, microtl::Shape<3>>);
  static Model::InferenceArena arena;
  for (std::size_t k = 0; k < kTfliteOutputs.size(); ++k) {
    const std::array<std::int8_t, 16> x = sample_input(k);
    const auto y = kModel.forward(Model::input_view(x), arena);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(int{y.values.data()[i]} == int{kTfliteOutputs[k][i]});
    }
    CHECK(y.quant.scale == imported_sample::output_quant.scale);
    CHECK(y.quant.zero_point == imported_sample::output_quant.zero_point);
  }
}
