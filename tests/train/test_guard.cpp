// Robustness of training: the divergence guard refuses an update that would break the
// invariant of train/guard.hpp and leaves parameters and optimizer state exactly as they
// were; gradient clipping bounds the step; learning rate 0 changes nothing; frozen
// parameters never move. (The breaks found by issue 12 have their own regression tests in
// test_guard_invariant.cpp.)
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstring>

#include "../support/random.hpp"
#include "guard_mlp.hpp"
#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

using microtl_test::guard_mlp::distance;
using microtl_test::guard_mlp::Init;
using microtl_test::guard_mlp::Mlp;
using microtl_test::guard_mlp::same_bits;

const std::array<float, 4>& x_good = microtl_test::guard_mlp::normal_sample;
// Within the feature bound (2^24), but with second-layer weights of about 1e6 the first
// layer's weight gradient is about 1e12: an SGD step of lr 0.1 would move a weight far past
// the parameter bound (2^24), and Adam's second moment (about 1e-3 g^2 = 1e21) past the
// state bound (2^64) while its step stays small, so each optimizer's own check must refuse.
const std::array<float, 4> x_huge{1e6f, -1e6f, 1e6f, 1e6f};
constexpr float big_w2 = 1e6f;

}  // namespace

TEST_CASE_TEMPLATE(
    "divergence guard: a diverging step changes nothing, later steps are as if it never happened",
    Opt, SGD, SGDMomentum, Adam) {
  static Init init(31, big_w2);
  static Mlp model(init.p1, init.p2);
  static Mlp twin(init.p1, init.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, Opt>;
  static typename T::TrainingArena arena;
  static typename T::TrainingArena twin_arena;
  Opt opt{};
  opt.learning_rate = 0.1f;
  T trainer(model, opt, arena);
  T twin_trainer(twin, opt, twin_arena);

  REQUIRE(trainer.step(Mlp::input_view(x_good), 1) == Status::ok);
  REQUIRE(twin_trainer.step(Mlp::input_view(x_good), 1) == Status::ok);
  REQUIRE(same_bits(model, twin));

  CHECK(trainer.step(Mlp::input_view(x_huge), 2) == Status::diverged);
  CHECK(trainer.diverged_steps() == 1);
  CHECK(trainer.refused_samples() == 0);  // the update was the cause, not the input
  CHECK(same_bits(model, twin));          // parameters untouched
  CHECK(guard::check_model(model) == Status::ok);

  // The optimizer state (momentum, Adam's moments and step count) was untouched as well:
  // the next good steps give bit for bit what the twin, which never saw the bad sample, gets.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(trainer.step(Mlp::input_view(x_good), static_cast<std::size_t>(i)) == Status::ok);
    REQUIRE(twin_trainer.step(Mlp::input_view(x_good), static_cast<std::size_t>(i)) == Status::ok);
  }
  CHECK(same_bits(model, twin));
}

TEST_CASE("divergence guard: without it the same step breaks the invariant") {
  static Init init(31, big_w2);
  static Mlp model(init.p1, init.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGD, /*Guard=*/false>;
  static T::TrainingArena arena;
  T trainer(model, SGD{0.1f, 0.0f}, arena);
  REQUIRE(guard::check_model(model) == Status::ok);
  CHECK(trainer.step(Mlp::input_view(x_huge), 2) == Status::ok);
  CHECK(guard::check_model(model) == Status::out_of_range);  // what the guard prevents
}

TEST_CASE("divergence guard: a feature-cache epoch stops at the refused step") {
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGDMomentum>;
  static Init init(32, big_w2);
  static Mlp model(init.p1, init.p2);
  static T::TrainingArena arena;
  T trainer(model, SGDMomentum{0.1f, 0.9f, 0.0f}, arena);
  static FeatureCache<T, 2> cache;
  REQUIRE(cache.add(trainer, Mlp::input_view(x_huge), 1) == Status::ok);
  REQUIRE(cache.add(trainer, Mlp::input_view(x_good), 0) == Status::ok);
  static Mlp before(init.p1, init.p2);
  std::memcpy(&before.state<0>(), &model.state<0>(), sizeof(model.state<0>()));
  std::memcpy(&before.state<1>(), &model.state<1>(), sizeof(model.state<1>()));
  const Status s = cache.train_epoch(trainer);  // stored order: the huge sample comes first
  CHECK(s == Status::diverged);
  CHECK(same_bits(model, before));  // the epoch stopped there: nothing changed
  CHECK(guard::check_model(model) == Status::ok);
}

TEST_CASE("gradient clipping bounds the update: |delta p| <= lr * max_norm") {
  static Init init(33);
  static Mlp model(init.p1, init.p2);
  static Mlp start(init.p1, init.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, SGD>;
  static T::TrainingArena arena;
  T trainer(model, SGD{1.0f, 0.0f}, arena);
  REQUIRE(trainer.set_gradient_clipping(1e-3f) == Status::ok);
  REQUIRE(trainer.step(Mlp::input_view(x_good), 0) == Status::ok);
  const double moved = microtl_test::guard_mlp::distance(model, start);
  CHECK(moved <= 1e-3 * 1.001);
  CHECK(moved >=
        1e-3 * 0.999);  // the unclipped gradient is far larger: it was clipped to the limit
}

TEST_CASE_TEMPLATE("learning rate 0: a step changes nothing", Opt, SGD, SGDMomentum, Adam) {
  static Init init(34);
  static Mlp model(init.p1, init.p2);
  static Mlp start(init.p1, init.p2);
  using T = Trainer<Mlp, SoftmaxCrossEntropy, Opt>;
  static typename T::TrainingArena arena;
  Opt opt{};
  opt.learning_rate = 0.0f;
  T trainer(model, opt, arena);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(trainer.step(Mlp::input_view(x_good), static_cast<std::size_t>(i % 3)) == Status::ok);
  }
  CHECK(same_bits(model, start));
}

TEST_CASE("a frozen layer's parameters are bit-identical after any number of steps") {
  using Net = Sequential<Input<Shape<4>>, Dense<5>, ReLU, Trainable<Dense<3>>>;
  static Init init(35);
  static std::array<float, 20> frozen_w = init.w1;  // writable memory: a stray write would show
  static std::array<float, 5> frozen_b = init.b1;
  static const LinearParams<float, 20, 5> frozen{frozen_w, frozen_b};
  static Net model(frozen, init.p2);
  using T = Trainer<Net, SoftmaxCrossEntropy, Adam>;
  static T::TrainingArena arena;
  T trainer(model, Adam{0.05f}, arena, 3);
  microtl_test::Xorshift32 rng(9);
  for (int i = 0; i < 200; ++i) {
    const auto x = microtl_test::random_floats<4>(rng, -1, 1);
    REQUIRE(trainer.step(Net::input_view(x), static_cast<std::size_t>(i % 3)) == Status::ok);
  }
  CHECK(frozen_w == init.w1);
  CHECK(frozen_b == init.b1);
  CHECK_FALSE(model.state<1>().weights == init.w2);  // while the trainable layer did learn
}

TEST_CASE("fused SGD (batch 1, no guard) gives the parameters of the two-pass update") {
  // Without the guard, plain SGD at batch 1 updates the weights inside the backward pass
  // instead of storing gradients: p - (lr g) x there, p - lr (g x) in the two-pass update,
  // the same up to the rounding of one product per value.
  static Init init(36);
  static Mlp fused_model(init.p1, init.p2);
  static Mlp stored_model(init.p1, init.p2);
  using Fused = Trainer<Mlp, SoftmaxCrossEntropy, SGD, false>;
  using Stored = Trainer<Mlp, SoftmaxCrossEntropy, SGD, true>;
  static_assert(Fused::fusable);
  static Fused::TrainingArena fa;
  static Stored::TrainingArena sa;
  Fused fused(fused_model, SGD{0.05f, 0.0f}, fa);
  Stored stored(stored_model, SGD{0.05f, 0.0f}, sa);
  REQUIRE(stored.set_gradient_clipping(1e30f) == Status::ok);  // never clips; not fused
  microtl_test::Xorshift32 rng(10);
  for (int i = 0; i < 30; ++i) {
    const auto x = microtl_test::random_floats<4>(rng, -1, 1);
    REQUIRE(fused.step(Mlp::input_view(x), static_cast<std::size_t>(i % 3)) == Status::ok);
    REQUIRE(stored.step(Mlp::input_view(x), static_cast<std::size_t>(i % 3)) == Status::ok);
  }
  CHECK(distance(fused_model, stored_model) < 1e-5);
  CHECK(distance(fused_model, Mlp(init.p1, init.p2)) > 0.1);  // and it did train
}
