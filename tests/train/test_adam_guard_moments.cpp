// Adam under the divergence guard when only the second moment overflows: for a finite gradient
// g above about 5.9e20, (1 - b2) g^2 (b2 = 0.999) is above float's largest value, 3.4e38, so
// v = b2 v + (1 - b2) g^2 is infinite while
// m = (1 - b1) g and the new parameter p - step * m / (sqrt(v) + eps) = p stay finite. The
// update must be refused all the same: an infinite v would freeze that parameter for good
// (every later step divides by sqrt(infinity)).
//
// Checked by behaviour, not by peeking at the moments: after the refused step, a normal
// sample must move the model exactly as it moves a twin that never saw the bad sample (same
// moments, same step count t = 1).
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <span>

#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

using Model = Sequential<Input<Shape<2>>, Trainable<Dense<1>>>;
using T = Trainer<Model, MeanSquaredError, Adam>;

}  // namespace

TEST_CASE("Adam: an update whose second moment would overflow is refused and changes nothing") {
  // w = (1, 0), b = 0. The bad sample x = (3e10, 0), t = 0: y = 3e10, dL/dy = 6e10 (MSE,
  // one output), dL/dw = (1.8e21, 0), dL/db = 6e10: all finite, and so is m = 0.1 * 1.8e21,
  // but 0.001 * (1.8e21)^2 = 3.2e39 overflows float, so v for w[0] would be infinite.
  static const std::array<float, 2> w{1.0f, 0.0f};
  static const std::array<float, 1> b{0.0f};
  static const LinearParams<float, 2, 1> init{w, b};
  static Model model(init);
  static Model twin(init);
  static T::TrainingArena arena;
  static T::TrainingArena twin_arena;
  T trainer(model, Adam{}, arena);
  T twin_trainer(twin, Adam{}, twin_arena);

  const std::array<float, 2> huge{3e10f, 0.0f};
  const std::array<float, 1> zero{0.0f};
  const Status refused = trainer.step(Model::input_view(huge), std::span(zero));
  CHECK(refused != Status::ok);
  CHECK(model.state<0>().weights == w);
  CHECK(model.state<0>().bias == b);
  CHECK(trainer.optimizer().beta1_power == 1.0f);  // the step count did not advance
  CHECK(trainer.optimizer().beta2_power == 1.0f);

  // A normal sample now moves the model exactly as it moves the twin's first step.
  const std::array<float, 2> x{0.5f, -0.25f};
  const std::array<float, 1> t{2.0f};
  REQUIRE(trainer.step(Model::input_view(x), std::span(t)) == Status::ok);
  REQUIRE(twin_trainer.step(Model::input_view(x), std::span(t)) == Status::ok);
  CHECK(model.state<0>().weights == twin.state<0>().weights);
  CHECK(model.state<0>().bias == twin.state<0>().bias);
  // Adam's first step moves each parameter with a nonzero gradient by about lr = 0.001.
  CHECK(model.state<0>().weights != w);
  // And again: the second moments agree too (they scale the second step).
  REQUIRE(trainer.step(Model::input_view(x), std::span(t)) == Status::ok);
  REQUIRE(twin_trainer.step(Model::input_view(x), std::span(t)) == Status::ok);
  CHECK(model.state<0>().weights == twin.state<0>().weights);
  CHECK(model.state<0>().bias == twin.state<0>().bias);
}
