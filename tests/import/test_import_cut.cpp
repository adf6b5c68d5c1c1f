// scripts/import --cut (transfer learning): the sample model cut before its
// FULLY_CONNECTED (tools/microtl_import/tests/make_sample.py) has the same int8 front, then
// Dequantize and a trainable float Dense initialised from the dequantized int8 weights and
// biases; its logits are the int8 model's before their final rounding, and it trains.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "imported_sample.hpp"
#include "imported_sample_cut.hpp"

namespace {

namespace full = imported_sample;
namespace cut = imported_sample_cut;
using microtl::Status;

constexpr std::size_t kDense = 4;  // the head's Dense (after Conv2D, MaxPool, Reshape, Dequantize)
static_assert(microtl::is_trainable_v<cut::Model::layer<kDense>>);
static_assert(!microtl::is_trainable_v<cut::Model::layer<0>>);
static_assert(std::is_same_v<cut::Model::output_element, float>);

std::array<std::int8_t, 16> sample(std::size_t k) {
  std::array<std::int8_t, 16> x{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<std::int8_t>(static_cast<int>((i * (37 + 11 * k)) % 256) - 128);
  }
  return x;
}

}  // namespace

TEST_CASE("scripts/import --cut: the head starts from the dequantized int8 parameters") {
  static cut::Model model = cut::make_model();
  const auto p = model.parameters<kDense>();
  for (std::size_t o = 0; o < 3; ++o) {
    const float scale = full::dense0_weight_scales[o];
    for (std::size_t i = 0; i < 8; ++i) {
      const std::size_t j = o * 8 + i;
      CHECK(p.weights[j] == scale * static_cast<float>(full::dense0_weights[j]));
    }
    const float bias_scale = full::dense0_input.scale * scale;
    CHECK(p.bias[o] == static_cast<float>(static_cast<double>(bias_scale) *
                                          static_cast<double>(full::dense0_bias[o])));
  }
}

TEST_CASE("scripts/import --cut: float logits within half a step of the int8 model's") {
  static const full::Model int8_model = full::make_model();
  static const cut::Model model = cut::make_model();
  static full::Model::InferenceArena int8_arena;
  static cut::Model::InferenceArena arena;
  for (std::size_t k = 0; k < 4; ++k) {
    const auto x = sample(k);
    std::array<float, 3> int8_logits{};
    (void)int8_model.forward(full::Model::input_view(x), int8_arena,
                             [&](auto layer, auto out, auto quant) {
                               if constexpr (decltype(layer)::value == 3) {  // the Dense
                                 for (std::size_t o = 0; o < 3; ++o) {
                                   int8_logits[o] = microtl::quant::dequantize(out[o], quant);
                                 }
                               }
                             });
    const auto y = model.forward(cut::Model::input_view(x), arena);
    const float step = full::dense0_output.scale;
    for (std::size_t o = 0; o < 3; ++o) {
      CHECK(std::fabs(y.values.data()[o] - int8_logits[o]) <= 0.5f * step + 1e-4f);
    }
  }
}

TEST_CASE("scripts/import --cut: the head trains") {
  static cut::Model model = cut::make_model();
  using T = microtl::Trainer<cut::Model, microtl::SoftmaxCrossEntropy, microtl::SGD>;
  static T::TrainingArena arena;
  T trainer(model, microtl::SGD{0.5f, 0.0f}, arena);
  const float before = model.parameters<kDense>().bias[1];
  const auto x = sample(0);
  REQUIRE(trainer.step(cut::Model::input_view(x), 1) == Status::ok);
  CHECK(model.parameters<kDense>().bias[1] > before);  // the target class's logit goes up
}
