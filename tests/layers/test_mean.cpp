// Mean (TFLite's int8 MEAN over height and width, layers/mean.hpp): hand-worked values.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

// s_in / s_out = 0.5 / 0.25 = 2: quantize_multiplier gives (2^30, 2); N = 4, k = 2:
// (2^30 * 4 / 4, 2 - 2) = (2^30, 0), i.e. 0.5 = 2 / N.
constexpr MeanParams kParams = prepare_mean_s8(0.5f, {0.25f, 3}, 4);
static_assert(kParams.multiplier == quant::QuantizedMultiplier{std::int32_t{1} << 30, 0});
// N = 60 (not a power of two): k = 5, (2^30 * 32) / 60 = 572662306 (truncated), shift 1 - 5.
static_assert(prepare_mean_s8(0.5f, {0.5f, 0}, 60).multiplier ==
              quant::QuantizedMultiplier{572662306, -4});

using Model = Sequential<Input<Shape<2, 2, 1>, QInt8>, Mean>;

int run(const std::array<std::int8_t, 4>& x) {
  static const Model model(quant::QuantParams{0.5f, -2}, kParams);
  static Model::InferenceArena arena;
  const auto y = model.forward(Model::input_view(x), arena);
  CHECK(y.quant.scale == 0.25f);
  CHECK(y.quant.zero_point == 3);
  return y.values.data()[0];
}

}  // namespace

TEST_CASE("Mean: TFLite's int8 MEAN, zero point subtracted, 1/N folded into the multiplier") {
  // sum = 10 + 11 + 12 + 14 - (-2) * 4 = 55; 55 * 0.5 = 27.5 -> 28 (a tie rounds up); + 3.
  CHECK(run({{10, 11, 12, 14}}) == 31);
  // sum = -47 + 8 = -39; -39 * 0.5 = -19.5 -> -19 (toward +infinity); + 3.
  CHECK(run({{-10, -11, -12, -14}}) == -16);
  // Saturation: 127 everywhere: (127 + 2) * 4 * 0.5 = 258 -> 127.
  CHECK(run({{127, 127, 127, 127}}) == 127);
}

TEST_CASE("Mean: float is the average over height and width") {
  using FloatModel = Sequential<Input<Shape<2, 3, 2>>, Mean>;
  static const FloatModel model;
  static FloatModel::InferenceArena arena;
  const std::array<float, 12> x = {{1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}};
  const auto y = model.forward(FloatModel::input_view(x), arena);
  CHECK(std::fabs(y.values.data()[0] - 3.5f) <= 1e-5f);
  CHECK(std::fabs(y.values.data()[1] - 35.0f) <= 1e-4f);
}
