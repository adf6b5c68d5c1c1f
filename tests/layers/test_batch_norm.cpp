// BatchNorm (layers/batch_norm.hpp): forward against hand-worked values, gradients against
// finite differences, and training through Trainable<BatchNorm> with nothing else changed
// (trainer, parameter store and signature see it through the layer contract).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>

#include "../support/random.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

using Bound = BatchNorm::bind<Shape<2, 2>, float>;

// y = gamma (x - mean) / sqrt(variance + epsilon) + beta, with epsilon 0 so that every
// square root is exact:
//   channel 0: gamma 3, beta 1, mean 1, variance 4     -> y = 1.5 (x - 1) + 1
//   channel 1: gamma 1.5, beta -1, mean 0, variance 0.25 -> y = 3 x - 1
//   x = [[1, 2], [3, -4]]  ->  y = [[1.5*0 + 1, 3*2 - 1], [1.5*2 + 1, 3*(-4) - 1]]
//                               = [[1, 5], [4, -13]]
TEST_CASE("BatchNorm: forward, hand-worked") {
  const std::array<float, 2> gamma{3.0f, 1.5f};
  const std::array<float, 2> beta{1.0f, -1.0f};
  const std::array<float, 2> mean{1.0f, 0.0f};
  const std::array<float, 2> variance{4.0f, 0.25f};
  const BatchNormParams<2> p{gamma, beta, mean, variance, 0.0f};
  const std::array<float, 4> x{1.0f, 2.0f, 3.0f, -4.0f};
  std::array<float, 4> y{};
  (void)Bound::forward(p, TensorView<const float, Shape<2, 2>>(x), NoQuant{},
                       TensorView<float, Shape<2, 2>>(y), {});
  CHECK(y[0] == 1.0f);  // every step is exact in float
  CHECK(y[1] == 5.0f);
  CHECK(y[2] == 4.0f);
  CHECK(y[3] == -13.0f);
}

// L = sum_k u_k y_k: dL/dx, dL/dgamma, dL/dbeta against central differences.
TEST_CASE("BatchNorm: gradients against finite differences") {
  using L = BatchNorm::bind<Shape<3, 4>, float>;
  microtl_test::Xorshift32 rng(71);
  std::array<float, 4> gamma{}, beta{}, mean{}, variance{};
  for (std::size_t c = 0; c < 4; ++c) {
    gamma[c] = rng.uniform_float(0.5f, 2.0f);
    beta[c] = rng.uniform_float(-1.0f, 1.0f);
    mean[c] = rng.uniform_float(-0.5f, 0.5f);
    variance[c] = rng.uniform_float(0.5f, 2.0f);
  }
  std::array<float, 12> x{}, u{};
  for (auto& v : x)
    v = rng.uniform_float(-2.0f, 2.0f);
  for (auto& v : u)
    v = rng.uniform_float(-1.0f, 1.0f);
  const auto loss = [&](const std::array<float, 12>& input) {
    std::array<float, 12> y{};
    const BatchNormParams<4> p{gamma, beta, mean, variance};
    (void)L::forward(p, TensorView<const float, Shape<3, 4>>(input), NoQuant{},
                     TensorView<float, Shape<3, 4>>(y), {});
    float sum = 0.0f;
    for (std::size_t k = 0; k < 12; ++k)
      sum += u[k] * y[k];
    return sum;
  };
  const BatchNormParams<4> p{gamma, beta, mean, variance};
  std::array<float, 12> y{};
  (void)L::forward(p, TensorView<const float, Shape<3, 4>>(x), NoQuant{},
                   TensorView<float, Shape<3, 4>>(y), {});
  std::array<float, 12> dy = u;
  std::array<float, 12> dx{};
  std::array<float, 4> dgamma{}, dbeta{};
  GradientSinkFor<GradientPolicy::accumulate, 2, 3U> sink{};
  sink.target = {dgamma.data(), dbeta.data()};
  const ForwardRecord<L> record{TensorView<const float, Shape<3, 4>>(x),
                                NoQuant{},
                                TensorView<const float, Shape<3, 4>>(y),
                                NoQuant{},
                                {}};
  L::backward<true>(p, record, TensorView<float, Shape<3, 4>>(dy),
                    TensorView<float, Shape<3, 4>>(dx), sink);

  constexpr float eps = 1e-2f;
  const auto close = [](float analytic, float numeric) {
    return std::fabs(analytic - numeric) <= 2e-3f * std::fmax(1.0f, std::fabs(analytic));
  };
  for (std::size_t i = 0; i < 12; ++i) {
    auto plus = x, minus = x;
    plus[i] += eps;
    minus[i] -= eps;
    CHECK(close(dx[i], (loss(plus) - loss(minus)) / (2.0f * eps)));
  }
  for (std::size_t c = 0; c < 4; ++c) {
    const float g = gamma[c];
    gamma[c] = g + eps;
    const float up = loss(x);
    gamma[c] = g - eps;
    const float down = loss(x);
    gamma[c] = g;
    CHECK(close(dgamma[c], (up - down) / (2.0f * eps)));
    const float b = beta[c];
    beta[c] = b + eps;
    const float up_b = loss(x);
    beta[c] = b - eps;
    const float down_b = loss(x);
    beta[c] = b;
    CHECK(close(dbeta[c], (up_b - down_b) / (2.0f * eps)));
  }
}

TEST_CASE("BatchNorm: trains under Trainable<BatchNorm>, statistics stay frozen, persists") {
  using Model = Sequential<Input<Shape<2, 3>>, Trainable<BatchNorm>, Flatten, Trainable<Dense<2>>>;
  using L0 = Model::layer<0>;
  static_assert(TrainableLayer<L0>);
  static_assert(L0::trained_value_count == 6);  // gamma and beta of 3 channels
  static_assert(trained_value_count_v<Model> == 6 + 12 + 2);
  // Another trainable layer with the same shapes is another model.
  static_assert(io::model_signature<Model>() !=
                io::model_signature<
                    Sequential<Input<Shape<2, 3>>, BatchNorm, Flatten, Trainable<Dense<2>>>>());

  static const std::array<float, 3> gamma{1.0f, 1.0f, 1.0f};
  static const std::array<float, 3> beta{0.0f, 0.0f, 0.0f};
  static const std::array<float, 3> mean{0.5f, -0.5f, 0.0f};
  static const std::array<float, 3> variance{1.0f, 2.0f, 0.5f};
  static const BatchNormParams<3> bn{gamma, beta, mean, variance};
  static std::array<float, 12> w{};
  static const std::array<float, 2> b{};
  microtl_test::Xorshift32 rng(72);
  for (auto& v : w)
    v = rng.uniform_float(-0.5f, 0.5f);
  static const LinearParams<float, 12, 2> dense{w, b};
  static Model model(bn, dense);
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.1f}, arena);

  // Two classes told apart by the sign of channel 1.
  std::array<std::array<float, 6>, 8> samples{};
  for (std::size_t s = 0; s < samples.size(); ++s) {
    for (auto& v : samples[s])
      v = rng.uniform_float(-1.0f, 1.0f);
    const float sign = s % 2 == 0 ? 1.0f : -1.0f;
    samples[s][1] = sign * (1.0f + std::fabs(samples[s][1]));
    samples[s][4] = sign * (1.0f + std::fabs(samples[s][4]));
  }
  float first = 0.0f, last = 0.0f;
  for (int epoch = 0; epoch < 20; ++epoch) {
    float sum = 0.0f;
    for (std::size_t s = 0; s < samples.size(); ++s) {
      REQUIRE(trainer.step(Model::input_view(samples[s]), s % 2) == Status::ok);
      sum += trainer.last_loss();
    }
    (epoch == 0 ? first : last) = sum;
  }
  CHECK(last < 0.5f * first);
  CHECK_FALSE(model.state<0>().gamma == gamma);             // gamma trained
  CHECK(model.parameters<0>().mean.data() == mean.data());  // the statistics: referenced, frozen
  CHECK(mean == std::array<float, 3>{0.5f, -0.5f, 0.0f});

  using Store = io::ParameterStore<Model>;
  static io::RamStorage<Store::storage_bytes> flash;
  REQUIRE(Store::save(model, flash) == Status::ok);
  static Model rebooted(bn, dense);
  REQUIRE(Store::load(rebooted, flash) == Status::ok);
  CHECK(rebooted.state<0>().gamma == model.state<0>().gamma);
  CHECK(rebooted.state<0>().beta == model.state<0>().beta);
  CHECK(rebooted.state<2>().weights == model.state<2>().weights);
}

}  // namespace
