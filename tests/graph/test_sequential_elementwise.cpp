// Sequential with the parameter-free and boundary layers: shapes flow, quantization
// parameters flow with int8 data, the arena plan keeps live buffers apart, and the caller's
// input is never written.
#include <doctest/doctest.h>

#include <cstdint>
#include <type_traits>

#include "microtl/graph/sequential.hpp"
#include "microtl/layers/activation.hpp"
#include "microtl/layers/flatten.hpp"
#include "microtl/layers/quantize.hpp"

using namespace microtl;

namespace {

// float [2,3] -> ReLU (in place? no: the input is the caller's) -> Flatten (view) -> Quantize
// -> ReLU6 (int8, in place) -> Dequantize.
using Model = Sequential<Input<Shape<2, 3>>, ReLU, Flatten, Quantize, ReLU6, Dequantize>;

static_assert(Model::layer_count == 5);
static_assert(std::is_same_v<Model::output_shape, Shape<6>>);
static_assert(std::is_same_v<Model::output_element, float>);
static_assert(std::is_same_v<Model::layer<2>::output_element, QInt8>);

// Its memory plan is checked in test_memory_plan.cpp.

}  // namespace

TEST_CASE("sequential: elementwise chain, float -> int8 -> float") {
  const quant::QuantParams q{0.05f, -10};  // codes: x = 0.05 (q + 10)
  const Model model(q);
  Model::InferenceArena arena;
  // Writable memory (a const array could be read back from its initialiser by the compiler,
  // so a stray write would not show).
  float input[6] = {-1.0f, 0.0f, 0.5f, 2.0f, 6.5f, 100.0f};
  const float input_copy[6] = {-1.0f, 0.0f, 0.5f, 2.0f, 6.5f, 100.0f};

  const auto out = model.forward(Model::input_view(input), arena);

  // By hand: ReLU -> {0, 0, 0.5, 2, 6.5, 100}; quantize q = round(x / 0.05) - 10, clamped:
  // {-10, -10, 0, 30, 120, 127}; ReLU6 clamps to [zp, quantize(6)] = [-10, 110]:
  // {-10, -10, 0, 30, 110, 110}; dequantize: {0, 0, 0.5, 2, 6, 6}.
  const float expected[6] = {0.0f, 0.0f, 0.5f, 2.0f, 6.0f, 6.0f};
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(out.values[i] == doctest::Approx(static_cast<double>(expected[i])).epsilon(1e-6));
    CHECK(input[i] == input_copy[i]);  // the caller's input is untouched
  }
}

TEST_CASE("sequential: int8 input takes its parameters from the model, nested models splice") {
  using Inner = Sequential<Input<Shape<4>, QInt8>, ReLU>;
  using Outer = Sequential<Input<Shape<2, 2>, QInt8>, Flatten, Inner, Dequantize>;
  static_assert(Outer::layer_count == 3);  // Flatten, ReLU, Dequantize
  // (Its plan, ReLU not in place over the caller's input: test_memory_plan.cpp.)

  const Outer model(quant::QuantParams{0.5f, 3});
  Outer::InferenceArena arena;
  const std::int8_t input[4] = {-100, 3, 4, 127};
  const auto out = model.forward(Outer::input_view(input), arena);
  // ReLU clamps at the zero point 3: {3, 3, 4, 127}; x = 0.5 (q - 3): {0, 0, 0.5, 62}.
  CHECK(out.values[0] == 0.0f);
  CHECK(out.values[1] == 0.0f);
  CHECK(out.values[2] == 0.5f);
  CHECK(out.values[3] == 62.0f);
}
