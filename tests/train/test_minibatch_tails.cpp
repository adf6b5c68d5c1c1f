// Mini-batches against a reference written from the math alone, on linear models whose sizes
// give every leftover length (0 to 3) of the library's four-wide loops: the float dot product
// of the forward pass (In values per row), the gradient sink (In values per weight row, Units
// biases) and plain SGD's update (In * Units weights, Units biases).
//
// Model: y = W x + b (one Trainable<Dense<Units>>), loss MSE = (1/U) sum_o (y_o - t_o)^2, so
//   dL/dy_o = (2/U) (y_o - t_o),  dL/dW[o][i] = dL/dy_o x_i,  dL/db[o] = dL/dy_o
// and one SGD update (no weight decay) after a batch of n samples, all evaluated at the
// batch's starting parameters, is  W -= lr * (1/n) sum over the batch of dL/dW  (same for b).
// The reference computes that in double; the trainer in float, hence the tolerance.
//
// The batches: 6 samples with batch size 4 give one full batch, applied by the fourth step,
// and a partial one of 2 that apply() must average over its 2 samples (not over 4); batch
// size 1 takes the fused path (SGD applied inside the backward pass).
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <span>

#include "../support/compare.hpp"
#include "../support/random.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;
using microtl_test::random_floats;

namespace {

constexpr std::size_t kSamples = 6;
constexpr float kLearningRate = 0.125f;

template <std::size_t In, std::size_t Units>
struct Case {
  using Model = Sequential<Input<Shape<In>>, Trainable<Dense<Units>>>;
  using T = Trainer<Model, MeanSquaredError, SGD>;

  // Initial parameters and the samples, drawn once; static storage (the model refers to them).
  std::array<float, In * Units> w0;
  std::array<float, Units> b0;
  std::array<std::array<float, In>, kSamples> x;
  std::array<std::array<float, Units>, kSamples> t;
  LinearParams<float, In * Units, Units> params{w0, b0};

  explicit Case(std::uint32_t seed) {
    microtl_test::Xorshift32 rng(seed);
    w0 = random_floats<In * Units>(rng, -1, 1);
    b0 = random_floats<Units>(rng, -0.5f, 0.5f);
    for (std::size_t s = 0; s < kSamples; ++s) {
      x[s] = random_floats<In>(rng, -1, 1);
      t[s] = random_floats<Units>(rng, -1, 1);
    }
  }
  Case(const Case&) = delete;
  Case& operator=(const Case&) = delete;

  // The parameters after the samples [0, kSamples) in batches of `batch`, the last one
  // possibly partial, computed in double from the formulas above.
  void reference(std::size_t batch, std::array<double, In * Units>& w,
                 std::array<double, Units>& b) const {
    for (std::size_t k = 0; k < In * Units; ++k) {
      w[k] = static_cast<double>(w0[k]);
    }
    for (std::size_t o = 0; o < Units; ++o) {
      b[o] = static_cast<double>(b0[o]);
    }
    for (std::size_t first = 0; first < kSamples; first += batch) {
      const std::size_t end = first + batch < kSamples ? first + batch : kSamples;
      std::array<double, In * Units> gw{};
      std::array<double, Units> gb{};
      for (std::size_t s = first; s < end; ++s) {
        for (std::size_t o = 0; o < Units; ++o) {
          double y = b[o];
          for (std::size_t i = 0; i < In; ++i) {
            y += w[o * In + i] * static_cast<double>(x[s][i]);
          }
          const double dy = 2.0 / Units * (y - static_cast<double>(t[s][o]));
          for (std::size_t i = 0; i < In; ++i) {
            gw[o * In + i] += dy * static_cast<double>(x[s][i]);
          }
          gb[o] += dy;
        }
      }
      const double n = static_cast<double>(end - first);
      for (std::size_t k = 0; k < In * Units; ++k) {
        w[k] -= static_cast<double>(kLearningRate) * gw[k] / n;
      }
      for (std::size_t o = 0; o < Units; ++o) {
        b[o] -= static_cast<double>(kLearningRate) * gb[o] / n;
      }
    }
  }

  // Trains a fresh model on the samples with `batch`, then apply(); returns the values that
  // differ from the reference.
  int mismatches(std::size_t batch) const {
    static Model model(params);
    model.template state<0>().init(params);
    static typename T::TrainingArena arena;
    T trainer(model, SGD{kLearningRate, 0.0f}, arena, batch);
    for (std::size_t s = 0; s < kSamples; ++s) {
      REQUIRE(trainer.step(typename Model::input_view(x[s]), std::span<const float, Units>(t[s])) ==
              Status::ok);
    }
    REQUIRE(trainer.apply() == Status::ok);  // the partial batch, if any
    std::array<double, In * Units> w{};
    std::array<double, Units> b{};
    reference(batch, w, b);
    int wrong = 0;
    const auto compare = [&](float got, double expected) {
      if (!microtl_test::within_relative(got, static_cast<float>(expected), 1e-5f)) {
        ++wrong;
        MESSAGE("In " << In << " Units " << Units << " batch " << batch << ": " << got
                      << " instead of " << expected);
      }
    };
    for (std::size_t k = 0; k < In * Units; ++k) {
      compare(model.template state<0>().weights[k], w[k]);
    }
    for (std::size_t o = 0; o < Units; ++o) {
      compare(model.template state<0>().bias[o], b[o]);
    }
    return wrong;
  }
};

// Leftover lengths (In % 4, Units % 4, In * Units % 4) of each size pair.
template <std::size_t In, std::size_t Units>
void check_case(std::uint32_t seed) {
  static const Case<In, Units> c(seed);
  CHECK(c.mismatches(4) == 0);  // one full batch of 4, one partial of 2
  CHECK(c.mismatches(1) == 0);  // the fused path
  CHECK(c.mismatches(6) == 0);  // one full batch of 6, nothing left for apply()
  CHECK(c.mismatches(5) == 0);  // a full batch of 5, a partial of 1
}

}  // namespace

TEST_CASE("mini-batches: every leftover length of the four-wide loops, partial last batches") {
  check_case<4, 7>(11);  // 0, 3, 0
  check_case<5, 4>(12);  // 1, 0, 0
  check_case<6, 5>(13);  // 2, 1, 2
  check_case<7, 6>(14);  // 3, 2, 2
  check_case<3, 3>(15);  // 3 (no four-wide pass at all), 3, 1
  check_case<5, 7>(16);  // 1, 3, 3
}

TEST_CASE("mini-batches: a partial last batch is the mean over its own samples") {
  // Two samples, batch size 4, then apply(): by hand, In = 1, Units = 1 would have no
  // four-wide pass; here the numbers are worked out for W = [0], b = 0 and
  //   x1 = (1, 0, 0, 0), t1 = 1  ->  y = 0, dL/dy = 2 (0 - 1) = -2, dW = (-2, 0, 0, 0), db = -2
  //   x2 = (0, 1, 0, 0), t2 = -1 ->  y = 0, dL/dy = 2,             dW = (0, 2, 0, 0),  db = 2
  // mean over the 2 samples: dW = (-1, 1, 0, 0), db = 0; with lr 0.5: W = (0.5, -0.5, 0, 0),
  // b = 0. (Divided by the batch size 4 instead, W would be (0.25, -0.25, 0, 0).)
  using Model = Sequential<Input<Shape<4>>, Trainable<Dense<1>>>;
  using T = Trainer<Model, MeanSquaredError, SGD>;
  static const std::array<float, 4> zeros{};
  static const std::array<float, 1> zero_bias{};
  static const LinearParams<float, 4, 1> init{zeros, zero_bias};
  static Model model(init);
  static T::TrainingArena arena;
  T trainer(model, SGD{0.5f, 0.0f}, arena, 4);
  const std::array<float, 4> x1{1, 0, 0, 0};
  const std::array<float, 4> x2{0, 1, 0, 0};
  const std::array<float, 1> t1{1};
  const std::array<float, 1> t2{-1};
  REQUIRE(trainer.step(Model::input_view::unchecked(x1.data()), std::span<const float, 1>(t1)) ==
          Status::ok);
  REQUIRE(trainer.step(Model::input_view::unchecked(x2.data()), std::span<const float, 1>(t2)) ==
          Status::ok);
  CHECK(model.state<0>().weights == zeros);  // not applied yet: the batch is not full
  REQUIRE(trainer.apply() == Status::ok);
  CHECK(model.state<0>().weights == std::array<float, 4>{0.5f, -0.5f, 0.0f, 0.0f});
  CHECK(model.state<0>().bias[0] == 0.0f);
  CHECK(trainer.apply() == Status::ok);  // nothing accumulated: nothing changes
  CHECK(model.state<0>().weights == std::array<float, 4>{0.5f, -0.5f, 0.0f, 0.0f});
}

TEST_CASE("mini-batches: gradient clipping limits the norm of the batch's mean gradient") {
  // Dense<1> over 2 inputs, w = (0, 0), b = 0, MSE, SGD lr = 1, batch 2:
  //   x1 = (1, 0), t1 = 1  ->  y = 0, dL/dy = -2, gradient (dw0, dw1, db) = (-2, 0, -2)
  //   x2 = (0, 1), t2 = 1  ->  y = 0, dL/dy = -2, gradient (0, -2, -2)
  // mean (-1, -1, -2), norm sqrt(6) = 2.449 (the sum's norm is twice that, 4.899).
  //   limit 2: the mean is scaled by 2 / sqrt(6): w = (0.8165, 0.8165), b = 1.6330
  //   limit 3: above the mean's norm, nothing is clipped: w = (1, 1), b = 2
  using Model = Sequential<Input<Shape<2>>, Trainable<Dense<1>>>;
  using T = Trainer<Model, MeanSquaredError, SGD>;
  static const std::array<float, 2> zeros{};
  static const std::array<float, 1> zero_bias{};
  static const LinearParams<float, 2, 1> init{zeros, zero_bias};
  static Model model(init);
  static T::TrainingArena arena;
  const std::array<float, 2> x1{1, 0};
  const std::array<float, 2> x2{0, 1};
  const std::array<float, 1> t{1};
  const auto train_batch = [&](float limit) {
    model.state<0>().init(init);
    T trainer(model, SGD{1.0f, 0.0f}, arena, 2);
    REQUIRE(trainer.set_gradient_clipping(limit) == Status::ok);
    REQUIRE(trainer.step(Model::input_view::unchecked(x1.data()), std::span<const float, 1>(t)) ==
            Status::ok);
    REQUIRE(trainer.step(Model::input_view::unchecked(x2.data()), std::span<const float, 1>(t)) ==
            Status::ok);
  };
  train_batch(2.0f);
  const double clipped = 2.0 / 2.449489742783178;  // 2 / sqrt(6)
  CHECK(static_cast<double>(model.state<0>().weights[0]) == doctest::Approx(clipped));
  CHECK(static_cast<double>(model.state<0>().weights[1]) == doctest::Approx(clipped));
  CHECK(static_cast<double>(model.state<0>().bias[0]) == doctest::Approx(2 * clipped));
  train_batch(3.0f);
  CHECK(model.state<0>().weights == std::array<float, 2>{1, 1});
  CHECK(model.state<0>().bias[0] == 2.0f);
}
