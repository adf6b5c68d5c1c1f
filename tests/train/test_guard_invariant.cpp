// The guard's invariant (train/guard.hpp), one regression test per break found by issue 12:
//   B1  a finite update saturated an int8 layer's int32 bias and the next forward overflowed
//       the kernel's accumulator
//   B2  one accepted update (a huge sample, or an absurd hyper-parameter) killed the model:
//       every later normal sample was refused
//   B4  one NaN sample in a float feature cache stopped every later epoch
// and the lower ones: Adam's hyper-parameters, gradient clipping that overflowed. Each test
// states the behaviour that held on the code before the fix, and what must hold now.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../support/random.hpp"
#include "guard_mlp.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/feature_cache.hpp"

using namespace microtl;

namespace {

// ---------------------------------------------------------------------------------------
// B1: an int8 bias-only layer in front of a float head.
// ---------------------------------------------------------------------------------------
using Int8Net =
    Sequential<Input<Shape<4>, QInt8>, BiasOnly<Dense<3>>, Dequantize, Trainable<Dense<2>>>;
// 2^31 - 1 - 2^15 * 4 for the fan-in of 4, worked out by hand (the bound B of train/guard.hpp).
constexpr std::int64_t int8_bias_limit = 2147483647 - 131072;

struct Int8Parts {
  quant::QuantParams q_in{1.0f / 127.0f, 0};
  std::array<float, 12> w{0.9f,  -0.8f, 0.7f, 0.6f, -0.5f, 0.4f,
                          -0.3f, 0.2f,  0.1f, 1.0f, 0.5f,  -1.0f};
  std::array<float, 3> b{0.1f, -0.2f, 0.05f};
  QuantizedLinear<12, 3> dense = quantize_linear<ChannelAxis::leading>(
      std::span<const float, 12>(w), std::span<const float, 3>(b), q_in,
      quant::QuantParams{0.05f, 0});
  LinearParams<QInt8, 12, 3> int8_params = dense.params();
  layers::QuantizedBiasOnlyParams<12, 3> bias_only{int8_params, dense.weight_scales, q_in.scale};
  std::array<float, 6> head_w{0.5f, -0.5f, 0.25f, 0.75f, -1.0f, 0.3f};
  std::array<float, 2> head_b{};
  LinearParams<float, 6, 2> head{head_w, head_b};
};

std::int64_t largest_bias_magnitude(const Int8Net& model) {
  std::int64_t largest = 0;
  for (const std::int32_t b : model.state<0>().bias_q) {
    largest = std::max(largest, std::abs(std::int64_t{b}));
  }
  return largest;
}

// ---------------------------------------------------------------------------------------
// B2: the MLP 4 -> 5 -> 3 of the report.
// ---------------------------------------------------------------------------------------
using microtl_test::guard_mlp::Mlp;
using microtl_test::guard_mlp::normal_sample;
using MlpParts = microtl_test::guard_mlp::Init;
using microtl_test::guard_mlp::same_bits;

// Trains `trainer` on normal samples; true when every one was accepted and the loss stayed
// finite (the model can still run and learn).
template <class T>
bool still_learns(T& trainer) {
  for (std::size_t i = 0; i < 6; ++i) {
    std::array<float, 4> x = normal_sample;
    x[i % 4] += 0.1f * static_cast<float>(i);
    if (trainer.step(Mlp::input_view(x), i % 3) != Status::ok ||
        !std::isfinite(trainer.last_loss())) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("B1: an update that would push an int8 bias past the accumulator bound is refused") {
  static Int8Parts parts;
  static Int8Net model(parts.q_in, parts.bias_only, parts.head);
  static Int8Net untouched(parts.q_in, parts.bias_only, parts.head);
  using T = Trainer<Int8Net, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  static_assert(Int8Net::layer<0>::bias_limit == int8_bias_limit);
  const std::array<std::int8_t, 4> extreme{127, 127, 127, 127};

  // The report's learning rate is refused outright: 1e12 is beyond max_learning_rate.
  T absurd(model, SGD{1e12f, 0.0f}, arena);
  CHECK(absurd.step(Int8Net::input_view(extreme), 1) == Status::invalid_argument);

  // A learning rate within range whose step still moves a real bias by ~1e5: about 1e9
  // bias steps of scale (1/127) * (1/127). The bound B refuses it, and nothing changes.
  T trainer(model, SGD{1e6f, 0.0f}, arena);
  CHECK(trainer.step(Int8Net::input_view(extreme), 1) == Status::diverged);
  CHECK(trainer.diverged_steps() == 1);
  CHECK(model.state<0>().bias_q == untouched.state<0>().bias_q);
  CHECK(largest_bias_magnitude(model) <= int8_bias_limit);

  // What the bound protects: the forward pass on the extreme input runs without overflow
  // (under the sanitize presets an int32 overflow here aborts the test).
  static Int8Net::InferenceArena inference;
  const auto y = model.forward(Int8Net::input_view(extreme), inference);
  CHECK(std::isfinite(y.values[0]));
  CHECK(std::isfinite(y.values[1]));

  // Learning still works at a sane rate.
  trainer.optimizer().learning_rate = 0.05f;
  CHECK(trainer.step(Int8Net::input_view(extreme), 1) == Status::ok);
  CHECK_FALSE(model.state<0>().bias_q == untouched.state<0>().bias_q);
}

TEST_CASE(
    "B1: a bias exactly at the bound runs the int8 kernel without overflow; one float "
    "step past it is refused") {
  using Layer = Sequential<Input<Shape<4>, QInt8>, BiasOnly<Dense<3>>>;
  static Int8Parts parts;
  static Layer model(parts.q_in, parts.bias_only);
  auto& state = model.state<0>();
  // bias_steps_limit is the largest float not above the bound; the next float is above it.
  const float steps_limit = Layer::layer<0>::bias_steps_limit;
  CHECK(static_cast<std::int64_t>(steps_limit) <= int8_bias_limit);
  CHECK(static_cast<std::int64_t>(std::nextafter(steps_limit, 3e9f)) > int8_bias_limit);
  // admits() in real units: the real bias at the limit is admitted, one float above is not.
  const float real_at_limit = steps_limit / state.inverse_scale[0];
  float real_inside = real_at_limit;
  while (real_inside * state.inverse_scale[0] > steps_limit) {
    real_inside = std::nextafter(real_inside, 0.0f);
  }
  CHECK(state.admits(linear_tensor::bias, 0, real_inside));
  CHECK_FALSE(state.admits(linear_tensor::bias, 0, std::nextafter(real_at_limit, 1e30f) * 1.0001f));
  CHECK_FALSE(state.admits(linear_tensor::bias, 0, -2.0f * real_at_limit));
  // The int32 bias at +limit and -limit, with the inputs that make the weighted sum largest
  // either way: the accumulator (int32 in the kernel) stays representable, so the output
  // saturates to the end of int8 the bias points to instead of wrapping to the other one.
  // (Under the sanitize presets an overflow would abort here.)
  for (const int sign : {1, -1}) {
    for (std::size_t c = 0; c < 3; ++c) {
      state.bias_q[c] = static_cast<std::int32_t>(static_cast<float>(sign) * steps_limit);
    }
    static Layer::InferenceArena inference;
    for (const std::int8_t x : {std::int8_t{127}, std::int8_t{-128}}) {
      const std::array<std::int8_t, 4> input{x, x, x, x};
      const auto codes = model.forward(Layer::input_view(input), inference);
      for (std::size_t c = 0; c < 3; ++c) {
        CHECK(codes.values[c] == (sign > 0 ? 127 : -128));
      }
    }
  }
}

TEST_CASE("B2: a huge finite sample is refused as input and the model keeps learning") {
  static MlpParts parts(41);
  static Mlp model(parts.p1, parts.p2);
  static Mlp before(parts.p1, parts.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGDMomentum>;
  static T::TrainingArena arena;
  T trainer(model, SGDMomentum{0.01f, 0.9f, 2e-4f}, arena);  // the demo's optimizer

  const std::array<float, 4> huge{1e30f, 0.1f, 0.2f, 0.3f};
  CHECK(trainer.step(Mlp::input_view(huge), 0) == Status::out_of_range);
  CHECK(trainer.refused_samples() == 1);
  CHECK(trainer.diverged_steps() == 0);
  CHECK(same_bits(model, before));
  const std::array<float, 4> nan{0.1f, std::numeric_limits<float>::quiet_NaN(), 0.2f, 0.3f};
  CHECK(trainer.step(Mlp::input_view(nan), 0) == Status::not_finite);
  CHECK(trainer.refused_samples() == 2);
  CHECK(same_bits(model, before));
  // On the code before the fix the huge sample was accepted, and from then on every normal
  // sample came back not_finite.
  CHECK(still_learns(trainer));
  CHECK(guard::check_model(model) == Status::ok);
}

TEST_CASE("B2: absurd hyper-parameters are refused before they touch the model") {
  static MlpParts parts(42);
  static Mlp model(parts.p1, parts.p2);
  static Mlp before(parts.p1, parts.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGDMomentum>;
  static T::TrainingArena arena;
  T trainer(model, SGDMomentum{0.01f, 0.9f, 2e-4f}, arena);
  const SGDMomentum good = trainer.optimizer();
  const std::array<SGDMomentum, 8> absurd = {{
      {1e38f, 0.9f, 2e-4f},   // learning rate beyond max_learning_rate
      {-0.01f, 0.9f, 2e-4f},  // negative learning rate
      {0.01f, 1e30f, 2e-4f},  // momentum beyond 1
      {0.01f, 1.0f, 2e-4f},   // momentum 1: the velocity never decays
      {0.01f, -0.5f, 2e-4f},  // negative momentum
      {0.01f, 0.9f, -1e30f},  // negative weight decay
      {0.01f, 0.9f, 200.0f},  // lr * wd = 2 > 1: decay overshoots
      {std::numeric_limits<float>::quiet_NaN(), 0.9f, 0.0f},
  }};
  for (const SGDMomentum& bad : absurd) {
    CAPTURE(bad.learning_rate);
    CAPTURE(bad.momentum);
    CAPTURE(bad.weight_decay);
    trainer.optimizer() = bad;
    CHECK(trainer.step(Mlp::input_view(normal_sample), 1) == Status::invalid_argument);
    CHECK(same_bits(model, before));
  }
  trainer.optimizer() = good;
  CHECK(still_learns(trainer));
  CHECK(guard::check_model(model) == Status::ok);
}

TEST_CASE("B2: an update that would move a weight past the parameter bound is refused") {
  // lr at its maximum (2^24) is valid, but one step of a gradient of order 1 moves weights
  // by about 2^24: beyond the bound (P) once added to their current value.
  static MlpParts parts(43);
  static Mlp model(parts.p1, parts.p2);
  static Mlp before(parts.p1, parts.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{max_learning_rate, 0.0f}, arena);
  const std::array<float, 4> x{4.0f, -4.0f, 4.0f, 4.0f};
  CHECK(trainer.step(Mlp::input_view(x), 2) == Status::diverged);
  CHECK(trainer.diverged_steps() == 1);
  CHECK(same_bits(model, before));
  trainer.optimizer().learning_rate = 0.01f;
  CHECK(still_learns(trainer));
}

TEST_CASE("B4: a float feature cache refuses NaN and out-of-range samples; epochs go on") {
  using Net = Sequential<Input<Shape<4>>, Dense<5>, ReLU, Trainable<Dense<3>>>;
  static MlpParts parts(44);
  static Net model(parts.p1, parts.p2);
  using T = Trainer<Net, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.05f, 0.0f}, arena);
  static FeatureCache<T, 4> cache;
  REQUIRE(cache.add(trainer, Net::input_view(normal_sample), 0) == Status::ok);
  const std::array<float, 4> nan{std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f, 0.0f};
  const std::array<float, 4> inf{0.0f, std::numeric_limits<float>::infinity(), 0.0f, 0.0f};
  const std::array<float, 4> huge{0.0f, 0.0f, -3e7f, 0.0f};  // finite, beyond 2^24
  CHECK(cache.add(trainer, Net::input_view(nan), 1) == Status::not_finite);
  CHECK(cache.add(trainer, Net::input_view(inf), 1) == Status::not_finite);
  CHECK(cache.add(trainer, Net::input_view(huge), 1) == Status::out_of_range);
  CHECK(cache.size() == 1);
  const std::array<float, 4> other{-0.5f, 0.5f, 0.25f, -1.0f};
  REQUIRE(cache.add(trainer, Net::input_view(other), 2) == Status::ok);
  for (int epoch = 0; epoch < 3; ++epoch) {
    CHECK(cache.train_epoch(trainer, 7) == Status::ok);
  }
  CHECK(std::isfinite(cache.last_epoch_loss()));
}

TEST_CASE("B4: a float extractor that makes a huge feature of a valid input is refused too") {
  // First layer weights of 1e4 and inputs of 2e3: features of about 4e7 > 2^24.
  using Net = Sequential<Input<Shape<4>>, Dense<5>, ReLU, Trainable<Dense<3>>>;
  static MlpParts parts(45);
  static std::array<float, 20> big_w{};
  big_w.fill(1e4f);
  static const LinearParams<float, 20, 5> big{big_w, parts.b1};
  static Net model(big, parts.p2);
  using T = Trainer<Net, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.05f, 0.0f}, arena);
  static FeatureCache<T, 2> cache;
  const std::array<float, 4> x{2e3f, 2e3f, 2e3f, 2e3f};
  CHECK(cache.add(trainer, Net::input_view(x), 1) == Status::out_of_range);
  CHECK(cache.size() == 0);
  CHECK(trainer.step(Net::input_view(x), 1) == Status::out_of_range);
}

TEST_CASE("Adam: hyper-parameters are validated; eps > 0 keeps an exactly-zero gradient finite") {
  static MlpParts parts(46);
  static Mlp model(parts.p1, parts.p2);
  static Mlp before(parts.p1, parts.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, Adam>;
  static T::TrainingArena arena;
  T trainer(model, Adam{}, arena);
  const Adam good = trainer.optimizer();
  struct Case {
    float beta1, beta2, epsilon;
  };
  const std::array<Case, 7> absurd = {{
      {0.9f, 0.999f, 0.0f},    // eps 0: an exactly-zero gradient gives 0 / 0
      {0.9f, 0.999f, -1e-8f},  // negative eps
      {1.0f, 0.999f, 1e-8f},   // beta1 1: the correction 1 - b1^t is 0
      {2.0f, 0.999f, 1e-8f},   // beta1 beyond 1
      {0.9f, 1.0f, 1e-8f},     // beta2 1
      {-0.1f, 0.999f, 1e-8f},  // negative beta1
      {0.9f, 0.999f, std::numeric_limits<float>::infinity()},
  }};
  for (const Case& c : absurd) {
    CAPTURE(c.beta1);
    CAPTURE(c.beta2);
    CAPTURE(c.epsilon);
    trainer.optimizer() = good;
    trainer.optimizer().beta1 = c.beta1;
    trainer.optimizer().beta2 = c.beta2;
    trainer.optimizer().epsilon = c.epsilon;
    CHECK(trainer.step(Mlp::input_view(normal_sample), 1) == Status::invalid_argument);
    CHECK(same_bits(model, before));
  }
  trainer.optimizer() = good;
  // Input 1 is 0: the weights it feeds get an exactly-zero gradient, m = v = 0 and their
  // update is 0 / (0 + eps) = 0, not NaN.
  const std::array<float, 4> x{0.5f, 0.0f, 1.0f, 0.75f};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(trainer.step(Mlp::input_view(x), i) == Status::ok);
  }
  for (std::size_t out = 0; out < 5; ++out) {
    CHECK(model.state<0>().weights[out * 4 + 1] == parts.w1[out * 4 + 1]);
  }
  CHECK(trainer.diverged_steps() == 0);
}

TEST_CASE("gradient clipping: the norm is exact far beyond where squares overflow") {
  // sqrt(sum g^2) with sum g^2 > FLT_MAX (3.4e38): 3e20 and 4e20 give exactly 5e20.
  const std::array<float, 2> big{3e20f, -4e20f};
  CHECK(update_detail::l2_norm(big) == doctest::Approx(5e20).epsilon(1e-6));
  // ... and far below where squares underflow: 3e-30 and 4e-30 give 5e-30.
  const std::array<float, 2> tiny{3e-30f, 4e-30f};
  CHECK(update_detail::l2_norm(tiny) == doctest::Approx(5e-30).epsilon(1e-6));
  const std::array<float, 3> zero{};
  CHECK(update_detail::l2_norm(zero) == 0.0f);
  const std::array<float, 2> nan{1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK(std::isnan(update_detail::l2_norm(nan)));
  const std::array<float, 2> inf{std::numeric_limits<float>::infinity(), 1.0f};
  CHECK(std::isinf(update_detail::l2_norm(inf)));
}

TEST_CASE("gradient clipping: an invalid norm is refused and changes nothing") {
  static MlpParts parts(47);
  static Mlp model(parts.p1, parts.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.1f, 0.0f}, arena);
  REQUIRE(trainer.set_gradient_clipping(0.5f) == Status::ok);
  CHECK(trainer.set_gradient_clipping(-1.0f) == Status::invalid_argument);
  CHECK(trainer.set_gradient_clipping(std::numeric_limits<float>::quiet_NaN()) ==
        Status::invalid_argument);
  CHECK(trainer.set_gradient_clipping(std::numeric_limits<float>::infinity()) ==
        Status::invalid_argument);
  // Still clipping at 0.5: one step moves the parameters by at most lr * 0.5.
  static Mlp start(parts.p1, parts.p2);
  REQUIRE(trainer.step(Mlp::input_view(normal_sample), 0) == Status::ok);
  CHECK(microtl_test::guard_mlp::distance(model, start) <= 0.1 * 0.5 * 1.001);
}

TEST_CASE("a float model input is held to the bound even when a Quantize would hide it") {
  // Quantize maps NaN to -128 and saturates 1e30 to 127: without the check on the model's
  // input, both would train as ordinary codes.
  using Net =
      Sequential<Input<Shape<4>>, Quantize, BiasOnly<Dense<3>>, Dequantize, Trainable<Dense<2>>>;
  static Int8Parts parts;
  static Net model(parts.q_in, parts.bias_only, parts.head);
  static Net before(parts.q_in, parts.bias_only, parts.head);
  using T = Trainer<Net, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.1f, 0.0f}, arena);
  const std::array<float, 4> nan{std::numeric_limits<float>::quiet_NaN(), 0.1f, 0.2f, 0.3f};
  const std::array<float, 4> huge{0.1f, 1e30f, 0.2f, 0.3f};
  CHECK(trainer.step(Net::input_view(nan), 0) == Status::not_finite);
  CHECK(trainer.step(Net::input_view(huge), 1) == Status::out_of_range);
  CHECK(trainer.refused_samples() == 2);
  CHECK(model.state<1>().bias_q == before.state<1>().bias_q);
  CHECK(model.state<3>().weights == before.state<3>().weights);
  const std::array<float, 4> fine{0.5f, -0.5f, 0.25f, 1.0f};
  CHECK(trainer.step(Net::input_view(fine), 1) == Status::ok);
  CHECK_FALSE(model.state<3>().weights == before.state<3>().weights);
}
