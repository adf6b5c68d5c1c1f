// Dense<Units, quant::Rounding::once>: the int8 layer rounds its requantization once, as
// TFLite 2.x's FULLY_CONNECTED does (scripts/import emits it for .tflite models); the default
// rounds twice, as TFLite Micro does. The float layer is the same either way.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>

#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

// One unit, one input: acc = w * (x - z_in) + b = -6, scaled by 0.25 (multiplier 2^30, shift
// -1): -1.5, a tie. Once: -1 (toward +infinity); twice: -2 (the high multiply gives -3, the
// halving rounds -1.5 away from zero). Output zero point 3.
constexpr std::array<std::int8_t, 1> kWeights = {{-6}};
constexpr std::array<std::int32_t, 1> kBias = {{0}};
constexpr quant::QuantizedMultiplier kQuarter{std::int32_t{1} << 30, -1};
constexpr LinearParams<QInt8, 1, 1> kParams{kWeights, kBias, kQuarter, {0.5f, 3}};

template <class Model>
int run(std::int8_t x) {
  static const Model model(quant::QuantParams{1.0f, 0}, kParams);
  static typename Model::InferenceArena arena;
  const std::array<std::int8_t, 1> input = {{x}};
  return model.forward(typename Model::input_view(input), arena).values.data()[0];
}

}  // namespace

TEST_CASE("Dense<U, Rounding::once>: a tie rounds toward +infinity, the default away from 0") {
  using Once = Sequential<Input<Shape<1>, QInt8>, Dense<1, quant::Rounding::once>>;
  using Twice = Sequential<Input<Shape<1>, QInt8>, Dense<1>>;
  CHECK(run<Once>(1) == 2);   // -1 + 3
  CHECK(run<Twice>(1) == 1);  // -2 + 3
  CHECK(run<Once>(-1) == 5);  // +1.5 -> 2 both ways, + 3
  CHECK(run<Twice>(-1) == 5);
  static_assert(std::is_same_v<Once::layer<0>::Params, Twice::layer<0>::Params>);
}
