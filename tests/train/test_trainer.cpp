// The trainer as a whole: its gradients through saved activations and views equal finite
// differences of the model's own loss; frozen and bias-only parameters never change; bad
// targets change nothing; mini-batches average; models learn.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>

#include "../support/compare.hpp"
#include "../support/random.hpp"
#include "int8_head_net.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/trainer.hpp"

using namespace microtl;
using microtl_test::random_floats;

namespace {

// The cross-entropy of the model's output for one sample, computed through forward().
template <class Model>
float model_loss(const Model& model, const float* input, std::size_t label) {
  static typename Model::InferenceArena arena;
  const auto out = model.forward(Model::input_view::unchecked(input), arena);
  std::array<float, Model::output_shape::size> grad{};
  std::array<float, Model::output_shape::size> logits{};
  for (std::size_t i = 0; i < logits.size(); ++i) {
    logits[i] = out.values[i];
  }
  return SoftmaxCrossEntropy::loss_and_grad<Model::output_shape::size>(logits, label, grad).value();
}

// With plain SGD, lr = 1, batch 1 and no weight decay, one step moves every trainable value
// by exactly minus its gradient. Compares that move with central differences of the loss.
template <class Model, std::size_t I>
int check_step_against_finite_differences(Model& model, const float* input, std::size_t label) {
  auto& state = model.template state<I>();
  auto& weights = state.weights;
  auto& bias = state.bias;
  constexpr float eps = 1e-2f;
  std::array<float, std::tuple_size_v<std::remove_reference_t<decltype(weights)>>> numeric_w{};
  std::array<float, std::tuple_size_v<std::remove_reference_t<decltype(bias)>>> numeric_b{};
  const auto central_differences = [&](auto& values, auto& numeric) {
    for (std::size_t j = 0; j < values.size(); ++j) {
      const float saved = values[j];
      values[j] = saved + eps;
      const float up = model_loss(model, input, label);
      values[j] = saved - eps;
      const float down = model_loss(model, input, label);
      values[j] = saved;
      numeric[j] = (up - down) / (2 * eps);
    }
  };
  central_differences(weights, numeric_w);
  central_differences(bias, numeric_b);
  const auto before_w = weights;
  const auto before_b = bias;
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static typename T::TrainingArena arena;
  T trainer(model, SGD{1.0f, 0.0f}, arena);
  REQUIRE(trainer.step(Model::input_view::unchecked(input), label) == Status::ok);
  int mismatches = 0;
  const auto compare = [&](float before, float after, float numeric) {
    const float analytic = before - after;  // = gradient
    if (!microtl_test::within_relative(analytic, numeric, 3e-3f)) {
      ++mismatches;
      MESSAGE("analytic " << analytic << " numeric " << numeric);
    }
  };
  for (std::size_t j = 0; j < weights.size(); ++j) {
    compare(before_w[j], weights[j], numeric_w[j]);
  }
  for (std::size_t j = 0; j < bias.size(); ++j) {
    compare(before_b[j], bias[j], numeric_b[j]);
  }
  return mismatches;
}

using Mlp = Sequential<Input<Shape<4>>, Trainable<Dense<5>>, ReLU, Trainable<Dense<3>>>;

// Mlp's initial parameters drawn from `rng`: weights in [-1, 1), biases in [-0.5, 0.5), in
// the order w1, b1, w2, b2. Keep it in static storage: the models refer to it.
struct MlpInit {
  std::array<float, 20> w1;
  std::array<float, 5> b1;
  std::array<float, 15> w2;
  std::array<float, 3> b2;
  LinearParams<float, 20, 5> p1{w1, b1};
  LinearParams<float, 15, 3> p2{w2, b2};

  explicit MlpInit(microtl_test::Xorshift32& rng)
      : w1(random_floats<20>(rng, -1, 1)),
        b1(random_floats<5>(rng, -0.5f, 0.5f)),
        w2(random_floats<15>(rng, -1, 1)),
        b2(random_floats<3>(rng, -0.5f, 0.5f)) {}
  MlpInit(const MlpInit&) = delete;
  MlpInit& operator=(const MlpInit&) = delete;
};

// Training memory, worked out by hand for the benchmark network 64 -> 32 (ReLU) -> 10 with
// plain SGD (no optimizer state), 8-byte alignment:
//   all trainable: gradients (64*32 + 32 + 32*10 + 10) * 4 = 9640; kept outputs 32*4 (the
//     ReLU's derivative, the second layer's weight gradient) + 10*4 (the loss) = 168; the
//     largest backward step's two gradients: the second layer's dy and dx, (10 + 32) * 4 = 168
//     (the first layer's input gradient is never computed) -> 9640 + 168 + 168 = 9976
//   last only: gradients (320 + 10) * 4 = 1320; kept: the frozen layer's output (features)
//     128 + 40 = 168; gradients: the last layer's dy alone, 10 * 4 = 40 -> 1320 + 168 + 40
//     = 1528
//   with SGD momentum the state adds one float per trainable value: +9640 / +1320.
template <class First, class Opt>
using BenchTrainer = Trainer<Sequential<Input<Shape<64>>, First, ReLU, Trainable<Dense<10>>>,
                             SoftmaxCrossEntropy, Opt>;
static_assert(MICROTL_ALIGNMENT != 8 ||
              BenchTrainer<Trainable<Dense<32>>, SGD>::training_arena_bytes == 9976);
static_assert(MICROTL_ALIGNMENT != 8 || BenchTrainer<Dense<32>, SGD>::training_arena_bytes == 1528);
static_assert(MICROTL_ALIGNMENT != 8 ||
              BenchTrainer<Trainable<Dense<32>>, SGDMomentum>::training_arena_bytes == 9976 + 9640);
static_assert(MICROTL_ALIGNMENT != 8 ||
              BenchTrainer<Dense<32>, SGDMomentum>::training_arena_bytes == 1528 + 1320);
static_assert(BenchTrainer<Dense<32>, Adam>::optimizer_state_bytes == 2 * 1320);
using Cnn = Sequential<Input<Shape<6, 6, 1>>, Trainable<Conv2D<2, Kernel<3>, Padding::same>>, ReLU,
                       MaxPool2D<2>, Flatten, Trainable<Dense<3>>>;

}  // namespace

TEST_CASE("trainer: an SGD step on an MLP moves each parameter by its finite-difference gradient") {
  microtl_test::Xorshift32 rng(7);
  static const MlpInit init(rng);
  const auto x = random_floats<4>(rng, -1, 1);
  {
    static Mlp model(init.p1, init.p2);
    CHECK(check_step_against_finite_differences<Mlp, 0>(model, x.data(), 1) == 0);
  }
  {
    static Mlp model(init.p1, init.p2);
    CHECK(check_step_against_finite_differences<Mlp, 1>(model, x.data(), 2) == 0);
  }
}

TEST_CASE("trainer: the same through a convolution, a pool and a Flatten") {
  microtl_test::Xorshift32 rng(8);
  static auto wc = random_floats<18>(rng, -1, 1);
  static auto bc = random_floats<2>(rng, -0.2f, 0.2f);
  static auto wd = random_floats<54>(rng, -1, 1);
  static auto bd = random_floats<3>(rng, -0.2f, 0.2f);
  const auto x = random_floats<36>(rng, -1, 1);
  static const LinearParams<float, 18, 2> pc{wc, bc};
  static const LinearParams<float, 54, 3> pd{wd, bd};
  static_assert(Trainer<Cnn, SoftmaxCrossEntropy, SGD>::first_trainable == 0);
  {
    static Cnn model(pc, pd);
    CHECK(check_step_against_finite_differences<Cnn, 0>(model, x.data(), 0) == 0);
  }
  {
    static Cnn model(pc, pd);
    CHECK(check_step_against_finite_differences<Cnn, 3>(model, x.data(), 2) == 0);
  }
}

TEST_CASE("trainer: bad targets and non-finite inputs change nothing") {
  static const std::array<float, 20> w1{};
  static const std::array<float, 5> b1{0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  static const std::array<float, 15> w2{0.5f, -0.5f, 0.25f};
  static const std::array<float, 3> b2{};
  static const LinearParams<float, 20, 5> p1{w1, b1};
  static const LinearParams<float, 15, 3> p2{w2, b2};
  static Mlp model(p1, p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGDMomentum>;
  static T::TrainingArena arena;
  T trainer(model, SGDMomentum{0.5f, 0.9f, 0.0f}, arena);
  const auto before = model.state<1>().weights;
  const std::array<float, 4> x{1, 2, 3, 4};
  CHECK(trainer.step(Mlp::input_view(x), 3) == Status::label_out_of_range);
  CHECK(trainer.step(Mlp::input_view(x), std::size_t{1000000}) == Status::label_out_of_range);
  const std::array<float, 4> nan_x{1, std::numeric_limits<float>::quiet_NaN(), 3, 4};
  CHECK(trainer.step(Mlp::input_view(nan_x), 0) == Status::not_finite);
  CHECK(model.state<1>().weights == before);
  // A good step afterwards still works and changes the weights.
  CHECK(trainer.step(Mlp::input_view(x), 0) == Status::ok);
  CHECK_FALSE(model.state<1>().weights == before);
}

TEST_CASE("trainer: a mini-batch of two applies the mean of the two gradients") {
  microtl_test::Xorshift32 rng(9);
  static const MlpInit init(rng);
  const auto& p1 = init.p1;
  const auto& p2 = init.p2;
  const auto& b2 = init.b2;
  const auto x1 = random_floats<4>(rng, -1, 1);
  const auto x2 = random_floats<4>(rng, -1, 1);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;

  static Mlp batched(p1, p2);
  {
    T trainer(batched, SGD{0.1f, 0.0f}, arena, 2);
    REQUIRE(trainer.step(Mlp::input_view::unchecked(x1.data()), 0) == Status::ok);
    CHECK(batched.state<1>().bias == b2);  // nothing applied after the first sample
    REQUIRE(trainer.step(Mlp::input_view::unchecked(x2.data()), 2) == Status::ok);
  }
  static Mlp one(p1, p2);
  static Mlp two(p1, p2);
  {
    T trainer(one, SGD{0.1f, 0.0f}, arena);
    REQUIRE(trainer.step(Mlp::input_view::unchecked(x1.data()), 0) == Status::ok);
  }
  {
    T trainer(two, SGD{0.1f, 0.0f}, arena);
    REQUIRE(trainer.step(Mlp::input_view::unchecked(x2.data()), 2) == Status::ok);
  }
  // From the same start, the batched move is the average of the two single moves.
  for (std::size_t j = 0; j < 15; ++j) {
    const float expected = (one.state<1>().weights[j] + two.state<1>().weights[j]) / 2;
    CHECK(static_cast<double>(batched.state<1>().weights[j]) ==
          doctest::Approx(static_cast<double>(expected)).epsilon(1e-5));
  }
}

TEST_CASE("trainer: a linear model recovers known weights (MSE, SGD)") {
  // t = W* x + b*, W* = [[1, -2, 0.5], [0, 3, -1]], b* = (0.5, -1)
  using Linear = Sequential<Input<Shape<3>>, Trainable<Dense<2>>>;
  static const std::array<float, 6> zeros{};
  static const std::array<float, 2> zero_bias{};
  static const LinearParams<float, 6, 2> init{zeros, zero_bias};
  static Linear model(init);
  using T = Trainer<Linear, MeanSquaredError, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.1f, 0.0f}, arena);
  const float w_true[6] = {1, -2, 0.5f, 0, 3, -1};
  const float b_true[2] = {0.5f, -1};
  microtl_test::Xorshift32 rng(10);
  for (int step = 0; step < 800; ++step) {
    const auto x = random_floats<3>(rng, -1, 1);
    const std::array<float, 2> t{
        w_true[0] * x[0] + w_true[1] * x[1] + w_true[2] * x[2] + b_true[0],
        w_true[3] * x[0] + w_true[4] * x[1] + w_true[5] * x[2] + b_true[1]};
    REQUIRE(trainer.step(Linear::input_view(x), std::span<const float, 2>(t)) == Status::ok);
  }
  for (std::size_t j = 0; j < 6; ++j) {
    CHECK(static_cast<double>(model.state<0>().weights[j]) ==
          doctest::Approx(static_cast<double>(w_true[j])).epsilon(1e-3));
  }
  CHECK(static_cast<double>(model.state<0>().bias[0]) == doctest::Approx(0.5).epsilon(1e-3));
  CHECK(static_cast<double>(model.state<0>().bias[1]) == doctest::Approx(-1.0).epsilon(1e-3));
}

TEST_CASE("trainer: a small MLP learns a non-linear problem (inside a circle or not)") {
  using Net = Sequential<Input<Shape<2>>, Trainable<Dense<16>>, ReLU, Trainable<Dense<2>>>;
  microtl_test::Xorshift32 rng(11);
  static auto w1 = random_floats<32>(rng, -1, 1);
  static const std::array<float, 16> b1{};
  static auto w2 = random_floats<32>(rng, -0.5f, 0.5f);
  static const std::array<float, 2> b2{};
  static const LinearParams<float, 32, 16> p1{w1, b1};
  static const LinearParams<float, 32, 2> p2{w2, b2};
  static Net model(p1, p2);
  using T = Trainer<Net, SoftmaxCrossEntropy, Adam>;
  static T::TrainingArena arena;
  T trainer(model, Adam{0.01f}, arena, 4);
  const auto label_of = [](const std::array<float, 2>& p) -> std::size_t {
    return p[0] * p[0] + p[1] * p[1] < 0.5f ? 1 : 0;
  };
  for (int step = 0; step < 4000; ++step) {
    const auto p = random_floats<2>(rng, -1, 1);
    REQUIRE(trainer.step(Net::input_view(p), label_of(p)) == Status::ok);
  }
  static Net::InferenceArena inference;
  int correct = 0;
  for (int i = 0; i < 400; ++i) {
    const auto p = random_floats<2>(rng, -1, 1);
    const auto out = model.forward(Net::input_view(p), inference);
    const std::size_t predicted = out.values[1] > out.values[0] ? 1 : 0;
    correct += predicted == label_of(p) ? 1 : 0;
  }
  MESSAGE("accuracy " << correct / 4.0 << "%");
  CHECK(correct >= 380);  // 95%; a linear model cannot pass (the best line gets ~60%)
}

TEST_CASE("trainer: int8 extractor, float head; features cached give the same training") {
  // Extractor: int8 conv 6x6x1 -> 2 channels, ReLU, pool, flatten (18); head: Dense 3.
  using microtl_test::int8_head::Net;
  using microtl_test::int8_head::T;
  static_assert(T::first_trainable == 4);
  static_assert(T::saved_from == 3);  // the Dequantize output: the features
  static_assert(std::is_same_v<T::feature_shape, Shape<18>>);

  microtl_test::Xorshift32 rng(13);
  static const microtl_test::int8_head::Parts parts(rng, 1.0f);
  static microtl_test::int8_head::Trained<Net, SGDMomentum> one(parts.net(),
                                                                SGDMomentum{0.05f, 0.9f, 2e-4f});
  static microtl_test::int8_head::Trained<Net, SGDMomentum> two(parts.net(),
                                                                SGDMomentum{0.05f, 0.9f, 2e-4f});
  Net& a = one.model;
  Net& b = two.model;
  T& train_a = one.trainer;
  T& train_b = two.trainer;
  const auto images = microtl_test::int8_head::random_images<4>(rng);
  std::array<std::array<float, 18>, 4> cache{};
  for (std::size_t i = 0; i < 4; ++i) {
    train_b.extract_features(Net::input_view(images[i]), TensorView<float, Shape<18>>(cache[i]));
  }
  float first_loss = 0;
  for (int epoch = 0; epoch < 10; ++epoch) {
    for (std::size_t i = 0; i < 4; ++i) {
      REQUIRE(train_a.step(Net::input_view(images[i]), i % 3) == Status::ok);
      REQUIRE(train_b.step_features(T::feature_view(cache[i]), i % 3) == Status::ok);
      if (epoch == 0 && i == 0) {
        first_loss = train_a.last_loss();
      }
    }
  }
  // Identical arithmetic on identical features: bit-identical parameters.
  CHECK(a.state<4>().weights == b.state<4>().weights);
  CHECK(a.state<4>().bias == b.state<4>().bias);
  CHECK(microtl_test::bit_identical(a.state<4>().weights, b.state<4>().weights));
  CHECK(microtl_test::bit_identical(a.state<4>().bias, b.state<4>().bias));
  CHECK(train_a.last_loss() < first_loss);
}

TEST_CASE(
    "trainer: each mini-batch starts from fresh gradients (nothing leaks from the one before)") {
  // Gradients are written by a batch's first sample instead of being cleared after each
  // update; a layer that forgot would add the previous batch's gradient to the next one.
  using Net = Sequential<Input<Shape<6, 6, 2>>, Trainable<Conv2D<2, Kernel<3>, Padding::same>>,
                         ReLU, Trainable<DepthwiseConv2D<Kernel<3>, Padding::same>>, MaxPool2D<2>,
                         Flatten, Trainable<Dense<3>>>;
  using T = Trainer<Net, SoftmaxCrossEntropy, SGD>;
  microtl_test::Xorshift32 rng(77);
  static auto wc = random_floats<36>(rng, -1, 1);
  static auto bc = random_floats<2>(rng, -0.2f, 0.2f);
  static auto wd = random_floats<18>(rng, -1, 1);
  static auto bd = random_floats<2>(rng, -0.2f, 0.2f);
  static auto wf = random_floats<54>(rng, -1, 1);
  static auto bf = random_floats<3>(rng, -0.2f, 0.2f);
  static const LinearParams<float, 36, 2> pc{wc, bc};
  static const LinearParams<float, 18, 2> pd{wd, bd};
  static const LinearParams<float, 54, 3> pf{wf, bf};
  const auto x1 = random_floats<72>(rng, -1, 1);
  const auto x2 = random_floats<72>(rng, -1, 1);
  static T::TrainingArena arena_a;
  static T::TrainingArena arena_b;
  static Net together(pc, pd, pf);
  static Net apart(pc, pd, pf);
  T a(together, SGD{0.1f, 0.0f}, arena_a);
  REQUIRE(a.step(Net::input_view::unchecked(x1.data()), 0) == Status::ok);
  REQUIRE(a.step(Net::input_view::unchecked(x2.data()), 2) == Status::ok);
  {
    T b(apart, SGD{0.1f, 0.0f}, arena_b);
    REQUIRE(b.step(Net::input_view::unchecked(x1.data()), 0) == Status::ok);
  }
  {
    T c(apart, SGD{0.1f, 0.0f}, arena_b);  // a new trainer: its arena (and gradients) zeroed
    REQUIRE(c.step(Net::input_view::unchecked(x2.data()), 2) == Status::ok);
  }
  CHECK(together.state<0>().weights == apart.state<0>().weights);
  CHECK(together.state<1>().weights == apart.state<1>().weights);
  CHECK(together.state<4>().weights == apart.state<4>().weights);
}
