// activation_range: TFLite's CalculateActivationRangeQuantized for int8 outputs.
#include <doctest/doctest.h>

#include "microtl/quant/activation.hpp"

namespace {

using microtl::quant::Activation;
using microtl::quant::activation_range;
using microtl::quant::ActivationRange;
using microtl::quant::apply_activation;
using microtl::quant::QuantParams;

static_assert(activation_range(Activation::relu6, QuantParams{0.1f, -20}) ==
              ActivationRange{-20, 40});

}  // namespace

// TFLite rule: no activation clamps to the whole int8 range [-128, 127].
TEST_CASE("activation_range: none is the int8 range") {
  CHECK(activation_range(Activation::none, QuantParams{0.1f, -20}) == ActivationRange{-128, 127});
  CHECK(activation_range(Activation::none, QuantParams{1.0f, 127}) == ActivationRange{-128, 127});
}

// TFLite rule: relu clamps below at max(-128, quantize(0)) = max(-128, zero_point).
TEST_CASE("activation_range: relu starts at the zero point") {
  CHECK(activation_range(Activation::relu, QuantParams{0.1f, -20}) == ActivationRange{-20, 127});
  CHECK(activation_range(Activation::relu, QuantParams{0.05f, 10}) == ActivationRange{10, 127});
  CHECK(activation_range(Activation::relu, QuantParams{0.02f, -128}) == ActivationRange{-128, 127});
}

// TFLite rule: relu6 also clamps above at min(127, zero_point + round(6 / scale)).
TEST_CASE("activation_range: relu6 ends at the code of 6") {
  // 6 / 0.1f = 59.9999991 -> 60; -20 + 60 = 40.
  CHECK(activation_range(Activation::relu6, QuantParams{0.1f, -20}) == ActivationRange{-20, 40});
  // 6 / 0.25 = 24 exactly; 5 + 24 = 29.
  CHECK(activation_range(Activation::relu6, QuantParams{0.25f, 5}) == ActivationRange{5, 29});
  // A tie: 6 / 4 = 1.5 -> 2 (away from zero); 0 + 2 = 2.
  CHECK(activation_range(Activation::relu6, QuantParams{4.0f, 0}) == ActivationRange{0, 2});
  // 6 / 0.05f = 120; 10 + 120 = 130 -> clamped to 127.
  CHECK(activation_range(Activation::relu6, QuantParams{0.05f, 10}) == ActivationRange{10, 127});
  // The common calibration of relu6 outputs: [0, 6] -> scale 6/255, zero point -128: the
  // whole int8 range.
  CHECK(activation_range(Activation::relu6, QuantParams{6.0f / 255.0f, -128}) ==
        ActivationRange{-128, 127});
  // A tiny scale: 6 / 1e-9 is far beyond int32; still clamps to 127 without overflow.
  CHECK(activation_range(Activation::relu6, QuantParams{1e-9f, 0}) == ActivationRange{0, 127});
}

// The float kernels' clamp: none, relu to [0, inf), relu6 to [0, 6].
TEST_CASE("apply_activation: float clamps") {
  CHECK(apply_activation(-2.5f, Activation::none) == -2.5f);
  CHECK(apply_activation(-2.5f, Activation::relu) == 0.0f);
  CHECK(apply_activation(7.5f, Activation::relu) == 7.5f);
  CHECK(apply_activation(7.5f, Activation::relu6) == 6.0f);
  CHECK(apply_activation(-1.0f, Activation::relu6) == 0.0f);
  CHECK(apply_activation(3.0f, Activation::relu6) == 3.0f);
}
