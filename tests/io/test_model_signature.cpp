// model_signature<Model>(): a compile-time fingerprint of a model's structure. Equal for
// the same structure (however it is written), different when any layer, shape, fused
// activation, parameter extent or trainable-ness differs.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "microtl/io/model_signature.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;
using io::model_signature;

namespace {

// The reference model and one variant per fact the signature must see.
using Base = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
using Relu6 = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU6, Trainable<Dense<3>>>;
using NoActivation = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, Trainable<Dense<3>>>;
using AllTrainable = Sequential<Input<Shape<6>>, Trainable<Dense<4>>, ReLU, Trainable<Dense<3>>>;
using FirstFrozen = Sequential<Input<Shape<6>>, Dense<4>, ReLU, Trainable<Dense<3>>>;
using LastBiasOnly = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, BiasOnly<Dense<3>>>;
using WiderHidden = Sequential<Input<Shape<6>>, BiasOnly<Dense<5>>, ReLU, Trainable<Dense<3>>>;
using MoreOutputs = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<4>>>;
using WiderInput = Sequential<Input<Shape<7>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
using ExtraLayer =
    Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>, Softmax>;
using Flattened =
    Sequential<Input<Shape<2, 3>>, Flatten, BiasOnly<Dense<4>>, ReLU, Trainable<Dense<3>>>;
// FirstFrozen with an int8 front end (element types differ).
using Int8Front =
    Sequential<Input<Shape<6>, QInt8>, Dense<4>, Dequantize, ReLU, Trainable<Dense<3>>>;
// Two convolutions with the same shapes in and out but other kernels (and weight counts).
using Conv3 = Sequential<Input<Shape<4, 4, 1>>, Conv2D<2, Kernel<3, 3>, Padding::same>, Flatten,
                         Trainable<Dense<3>>>;
using Conv1 = Sequential<Input<Shape<4, 4, 1>>, Conv2D<2, Kernel<1, 1>, Padding::same>, Flatten,
                         Trainable<Dense<3>>>;
using MaxPool = Sequential<Input<Shape<4, 4, 2>>, MaxPool2D<2>, Flatten, Trainable<Dense<3>>>;
using AvgPool = Sequential<Input<Shape<4, 4, 2>>, AvgPool2D<2>, Flatten, Trainable<Dense<3>>>;

// The same chain as Base, written as an extractor followed by a head.
using BaseExtractor = Sequential<Input<Shape<6>>, BiasOnly<Dense<4>>, ReLU>;
using BaseNested = Sequential<BaseExtractor, Trainable<Dense<3>>>;

constexpr std::array<std::uint32_t, 16> variants = {
    model_signature<Base>(),         model_signature<Relu6>(),
    model_signature<NoActivation>(), model_signature<AllTrainable>(),
    model_signature<FirstFrozen>(),  model_signature<LastBiasOnly>(),
    model_signature<WiderHidden>(),  model_signature<MoreOutputs>(),
    model_signature<WiderInput>(),   model_signature<ExtraLayer>(),
    model_signature<Flattened>(),    model_signature<Int8Front>(),
    model_signature<Conv3>(),        model_signature<Conv1>(),
    model_signature<MaxPool>(),      model_signature<AvgPool>(),
};

constexpr bool all_distinct() {
  for (std::size_t i = 0; i < variants.size(); ++i) {
    for (std::size_t j = i + 1; j < variants.size(); ++j) {
      if (variants[i] == variants[j]) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

// Computed by the compiler; the same model type gives the same value; the nested spelling
// of a chain is the same model.
static_assert(model_signature<Base>() == model_signature<Base>());
static_assert(model_signature<BaseNested>() == model_signature<Base>());
static_assert(all_distinct(), "two different models have the same signature");

TEST_CASE("model signature: every variant differs from every other") {
  for (std::size_t i = 0; i < variants.size(); ++i) {
    for (std::size_t j = i + 1; j < variants.size(); ++j) {
      INFO("variants " << i << " and " << j);
      CHECK(variants[i] != variants[j]);
    }
  }
  CHECK(model_signature<BaseNested>() == model_signature<Base>());
}

TEST_CASE("model signature: FNV-1a over the documented encoding") {
  // An empty encoding hashes to the FNV offset basis; "a" to FNV-1a's published value.
  io::detail::Fnv1a32 h;
  CHECK(h.value() == 2166136261U);
  h.byte('a');
  CHECK(h.value() == 0xE40C292CU);
}
