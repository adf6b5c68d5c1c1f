// Reshape: a view between layers of other ranks (Dense -> Conv1D, Conv1D -> 2-D layers),
// float and int8; no data moves; the trainer's gradient passes through it. (A size mismatch
// must not compile: tests/compile_fail/chain_reshape_wrong_size.cpp.)
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "layer_checks.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

using R = Reshape<Shape<1, 6, 4>>::bind<Shape<6, 4>, float>;
static_assert(BoundLayer<R>);
static_assert(R::placement == OutputPlacement::view);
static_assert(std::is_same_v<R::output_shape, Shape<1, 6, 4>>);
// Any rank in and out, float and int8.
static_assert(
    std::is_same_v<Reshape<Shape<2, 3, 4>>::bind<Shape<24>, QInt8>::output_shape, Shape<2, 3, 4>>);
static_assert(
    std::is_same_v<Reshape<Shape<6>>::bind<Shape<1, 2, 3>, float>::output_element, float>);
static_assert(std::is_same_v<Reshape<Shape<3, 2>>::bind<Shape<6>, QInt8>::output_element, QInt8>);

// Dense [6] -> [3][2] -> Conv1D (2 filters, kernel 2) [2][2] -> [1][2][2] -> Conv2D (1 filter,
// 1 x 2 kernel) [1][1][1] -> Flatten [1].
using Chain = Sequential<Input<Shape<8>>, Dense<6>, Reshape<Shape<3, 2>>, Conv1D<2, 2>,
                         Reshape<Shape<1, 2, 2>>, Conv2D<1, Kernel<1, 2>>, Flatten>;
static_assert(Chain::layer_count == 6);
static_assert(std::is_same_v<Chain::layer<2>::input_shape, Shape<3, 2>>);
static_assert(std::is_same_v<Chain::layer<4>::input_shape, Shape<1, 2, 2>>);
static_assert(std::is_same_v<Chain::output_shape, Shape<1>>);

// The same three layers as separate models, fed by hand.
using DenseOnly = Sequential<Input<Shape<8>>, Dense<6>>;
using Conv1DOnly = Sequential<Input<Shape<3, 2>>, Conv1D<2, 2>>;
using Conv2DOnly = Sequential<Input<Shape<1, 2, 2>>, Conv2D<1, Kernel<1, 2>>>;

}  // namespace

TEST_CASE("Reshape: a float chain through two reshapes equals its layers run one by one") {
  microtl_test::Xorshift32 rng(121);
  static const auto wd = microtl_test::random_floats<48>(rng, -1.0f, 1.0f);
  static const auto bd = microtl_test::random_floats<6>(rng, -0.5f, 0.5f);
  static const auto w1 = microtl_test::random_floats<8>(rng, -1.0f, 1.0f);
  static const auto b1 = microtl_test::random_floats<2>(rng, -0.5f, 0.5f);
  static const auto w2 = microtl_test::random_floats<4>(rng, -1.0f, 1.0f);
  static const auto b2 = microtl_test::random_floats<1>(rng, -0.5f, 0.5f);
  static const LinearParams<float, 48, 6> pd{wd, bd};
  static const LinearParams<float, 8, 2> p1{w1, b1};
  static const LinearParams<float, 4, 1> p2{w2, b2};
  const auto x = microtl_test::random_floats<8>(rng, -1.0f, 1.0f);

  static const Chain chain(pd, p1, p2);
  static Chain::InferenceArena arena;
  std::array<const void*, Chain::layer_count> outputs{};
  const auto out = chain.forward(
      Chain::input_view(x), arena,
      [&outputs](auto index, auto view, auto) { outputs[decltype(index)::value] = view.data(); });
  // The reshapes hand on the buffer they received: nothing is copied.
  CHECK(outputs[1] == outputs[0]);
  CHECK(outputs[3] == outputs[2]);
  CHECK(outputs[2] != outputs[0]);

  static const DenseOnly dense(pd);
  static const Conv1DOnly conv1d(p1);
  static const Conv2DOnly conv2d(p2);
  static DenseOnly::InferenceArena a1;
  static Conv1DOnly::InferenceArena a2;
  static Conv2DOnly::InferenceArena a3;
  const auto h1 = dense.forward(DenseOnly::input_view(x), a1);
  const auto h2 = conv1d.forward(h1.values.reshape<Conv1DOnly::input_shape>(), a2);
  const auto h3 = conv2d.forward(h2.values.reshape<Conv2DOnly::input_shape>(), a3);
  CHECK(out.values[0] == h3.values[0]);
}

TEST_CASE("Reshape: int8 codes and their quantization pass through unchanged") {
  // [1][4][2] -> [4][2] -> MaxPool1D<2> -> [2][2] -> [2][1][2]
  using Model = Sequential<Input<Shape<1, 4, 2>, QInt8>, Reshape<Shape<4, 2>>, MaxPool1D<2>,
                           Reshape<Shape<2, 1, 2>>>;
  static_assert(std::is_same_v<Model::output_shape, Shape<2, 1, 2>>);
  static_assert(std::is_same_v<Model::output_element, QInt8>);
  const quant::QuantParams q{0.25f, 7};
  static const Model model(q);
  static Model::InferenceArena arena;
  // x[l][c]: channel 0: 1, 5, -3, 2; channel 1: 4, -8, 9, 9
  const std::array<std::int8_t, 8> x{1, 4, 5, -8, -3, 9, 2, 9};
  const auto out = model.forward(Model::input_view(x), arena);
  // max(1, 5) = 5, max(4, -8) = 4, max(-3, 2) = 2, max(9, 9) = 9
  CHECK(out.values(0, 0, 0) == 5);
  CHECK(out.values(0, 0, 1) == 4);
  CHECK(out.values(1, 0, 0) == 2);
  CHECK(out.values(1, 0, 1) == 9);
  CHECK(out.quant.scale == q.scale);
  CHECK(out.quant.zero_point == q.zero_point);

  // A model that is only a view: its output is its input, at the same address.
  using ViewOnly = Sequential<Input<Shape<8>, QInt8>, Reshape<Shape<2, 2, 2>>>;
  static const ViewOnly view_only(q);
  static ViewOnly::InferenceArena view_arena;
  const auto same = view_only.forward(ViewOnly::input_view(x), view_arena);
  CHECK(static_cast<const void*>(same.values.data()) == static_cast<const void*>(x.data()));
  CHECK(same.values(1, 1, 1) == 9);
}

namespace {

// The cross-entropy of the model's output for one sample, through forward().
template <class Model>
float model_loss(const Model& model, const float* input, std::size_t label) {
  static typename Model::InferenceArena arena;
  const auto out = model.forward(Model::input_view::unchecked(input), arena);
  std::array<float, Model::output_shape::size> logits{};
  std::array<float, Model::output_shape::size> grad{};
  for (std::size_t i = 0; i < logits.size(); ++i) {
    logits[i] = out.values[i];
  }
  return SoftmaxCrossEntropy::loss_and_grad<Model::output_shape::size>(logits, label, grad).value();
}

}  // namespace

TEST_CASE("Reshape: the trainer's gradient passes through it (finite differences)") {
  // The first Dense's gradient reaches it through Reshape -> Conv1D -> Flatten -> Dense.
  using Model = Sequential<Input<Shape<4>>, Trainable<Dense<6>>, Reshape<Shape<3, 2>>,
                           Trainable<Conv1D<2, 2>>, Flatten, Trainable<Dense<3>>>;
  microtl_test::Xorshift32 rng(131);
  static auto w1 = microtl_test::random_floats<24>(rng, -1.0f, 1.0f);
  static auto b1 = microtl_test::random_floats<6>(rng, -0.5f, 0.5f);
  static auto w2 = microtl_test::random_floats<8>(rng, -1.0f, 1.0f);
  static auto b2 = microtl_test::random_floats<2>(rng, -0.5f, 0.5f);
  static auto w3 = microtl_test::random_floats<12>(rng, -1.0f, 1.0f);
  static auto b3 = microtl_test::random_floats<3>(rng, -0.5f, 0.5f);
  static const LinearParams<float, 24, 6> p1{w1, b1};
  static const LinearParams<float, 8, 2> p2{w2, b2};
  static const LinearParams<float, 12, 3> p3{w3, b3};
  static Model model(p1, p2, p3);
  const auto x = microtl_test::random_floats<4>(rng, -1.0f, 1.0f);
  constexpr std::size_t label = 2;

  // Central differences of the loss for every weight and bias of the first Dense.
  auto& state = model.state<0>();
  constexpr float eps = 1e-2f;
  std::array<float, 30> numeric{};
  for (std::size_t j = 0; j < 30; ++j) {
    float& v = j < 24 ? state.weights[j] : state.bias[j - 24];
    const float saved = v;
    v = saved + eps;
    const float up = model_loss(model, x.data(), label);
    v = saved - eps;
    const float down = model_loss(model, x.data(), label);
    v = saved;
    numeric[j] = (up - down) / (2.0f * eps);
  }
  // With plain SGD, rate 1, one step moves each value by minus its gradient.
  std::array<float, 30> before{};
  for (std::size_t j = 0; j < 30; ++j) {
    before[j] = j < 24 ? state.weights[j] : state.bias[j - 24];
  }
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{1.0f, 0.0f}, arena);
  REQUIRE(trainer.step(Model::input_view(x), label) == Status::ok);
  int mismatches = 0;
  for (std::size_t j = 0; j < 30; ++j) {
    const float after = j < 24 ? state.weights[j] : state.bias[j - 24];
    const float analytic = before[j] - after;
    const float scale = std::fabs(analytic) > 1.0f ? std::fabs(analytic) : 1.0f;
    if (std::fabs(analytic - numeric[j]) > 3e-3f * scale) {
      ++mismatches;
      MESSAGE("[" << j << "] analytic " << analytic << " numeric " << numeric[j]);
    }
  }
  CHECK(mismatches == 0);
}
