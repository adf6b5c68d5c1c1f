// The fused guard's two modes (train/fused_guard.hpp) side by side. Plain SGD at batch 1
// without weight decay or clipping runs inside the backward pass; its divergence guard
// either computes every new value first (GuardCheck::full) or first tries a bound that proves
// the step safe in a few sums (GuardCheck::bounded, the default) and falls back to the full
// check when it does not. The claim pinned here (issue 13): the bounded guard refuses exactly
// what the full guard refuses, and where both accept, the parameters are bit-identical (the
// same update code writes them).
//
// Every test runs the same model twice, one trainer per mode, on the same samples, and after
// every sample requires the same status, the same diverged_steps() and refused_samples(),
// bit-identical trained tensors (not the whole State: it also keeps magnitude_bound, which
// differs between the modes by design), a full mode that never knows a magnitude bound, and
// a bounded mode whose known bounds are sound (>= the largest |value| of their layer).
//  - the divergence scenarios of test_guard.cpp and test_guard_invariant.cpp, with SGD;
//  - values placed just below guard::parameter_limit, and steps that cross it by a little
//    (refused) or stay just inside (accepted);
//  - a step whose new values would be infinite, and a sample whose loss overflows;
//  - soundness of the bounded mode's bound over many random steps;
//  - a bound made stale by writing the values is not trusted after refresh().
// (The fuzz harness tests/fuzz/harness_train_step.hpp compares the modes on arbitrary input.)
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "../support/random.hpp"
#include "guard_mlp.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/feature_cache.hpp"

using namespace microtl;

namespace {

using microtl_test::guard_mlp::Init;
using microtl_test::guard_mlp::Mlp;
using microtl_test::guard_mlp::normal_sample;
using microtl_test::guard_mlp::same_bits;

constexpr float limit = guard::parameter_limit;  // 2^24
const std::array<float, 4>& x_good = normal_sample;

// ---------------------------------------------------------------------------------------
// What the two modes must agree on.
// ---------------------------------------------------------------------------------------
// The trained tensors of two models of one type, bit for bit.
template <class Model>
bool same_trained_bits(const Model& a, const Model& b) {
  bool same = true;
  for_each_trained_tensor(a, [&](auto layer, auto tensor, auto values) {
    constexpr std::size_t index = decltype(tensor)::value;
    b.template state<decltype(layer)::value>().for_each_trained([&](auto t, auto other) {
      if constexpr (std::remove_cvref_t<decltype(t)>::value == index) {
        same = same && std::memcmp(values.data(), other.data(), values.size_bytes()) == 0;
      }
    });
  });
  return same;
}

// f(state) for every trainable layer whose State keeps a magnitude_bound.
template <class Model, class F>
void for_each_bounded_state(Model& model, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (is_trainable_v<typename Model::template layer<I>> &&
                        requires { model.template state<I>().magnitude_bound; }) {
            f(model.template state<I>());
          }
        }(),
        ...);
  }(std::make_index_sequence<Model::layer_count>{});
}

// The largest |value| of one layer's trained tensors (its own scan).
template <class State>
float largest(const State& state) {
  float m = 0.0f;
  state.for_each_trained([&](auto, auto values) {
    for (const float v : values) {
      m = std::fmax(m, std::fabs(v));
    }
  });
  return m;
}

template <class Model>
bool bounds_all_unknown(const Model& model) {
  bool unknown = true;
  for_each_bounded_state(model, [&](const auto& s) {
    unknown = unknown && s.magnitude_bound == guard::unknown_bound;
  });
  return unknown;
}

template <class Model>
bool bounds_all_known(const Model& model) {
  bool known = true;
  for_each_bounded_state(model,
                         [&](const auto& s) { known = known && std::isfinite(s.magnitude_bound); });
  return known;
}

// Every known bound is >= the largest |value| of its layer.
template <class Model>
bool bounds_sound(const Model& model) {
  bool sound = true;
  for_each_bounded_state(model, [&](const auto& s) {
    sound = sound && (!std::isfinite(s.magnitude_bound) || largest(s) <= s.magnitude_bound);
  });
  return sound;
}

// One model per mode, a trainer each (both refer to storage the caller keeps: static, so
// that the test fits the Cortex-M stack).
template <class Model>
struct Modes {
  using T = Trainer<Model, SoftmaxCrossEntropy, SGD>;
  static_assert(T::fusable, "the fused path must be possible for this model");

  Model& bounded_model;
  Model& full_model;
  T bounded;
  T full;
  // The bounded mode's decisions on the steps that were fused (status ok or diverged).
  std::size_t proven = 0;   // by the bound
  std::size_t checked = 0;  // the bound failed, the full check accepted
  std::size_t refused = 0;  // diverged

  Modes(Model& b, Model& f, typename T::TrainingArena& b_arena, typename T::TrainingArena& f_arena,
        SGD sgd)
      : bounded_model(b), full_model(f), bounded(b, sgd, b_arena), full(f, sgd, f_arena) {
    bounded.set_guard_check(GuardCheck::bounded);
    full.set_guard_check(GuardCheck::full);
  }

  void set(SGD sgd) {
    bounded.optimizer() = sgd;
    full.optimizer() = sgd;
  }

  // What differs between the modes after calls that answered `b` (bounded) and `f` (full),
  // or nullptr.
  const char* difference(Status b, Status f) const {
    if (b != f) {
      return "the modes answered differently";
    }
    if (bounded.diverged_steps() != full.diverged_steps()) {
      return "the modes counted diverged_steps() differently";
    }
    if (bounded.refused_samples() != full.refused_samples()) {
      return "the modes counted refused_samples() differently";
    }
    if (!same_trained_bits(bounded_model, full_model)) {
      return "the modes' trained values are not bit-identical";
    }
    if (!bounds_all_unknown(full_model)) {
      return "full mode left a magnitude_bound known";
    }
    if (!bounds_sound(bounded_model)) {
      return "a bounded-mode magnitude_bound is below the largest |value| of its layer";
    }
    return nullptr;
  }

  // One sample in both modes; nullptr when they agree (else what differs); `status` gets
  // the bounded mode's answer.
  const char* try_step(const float* x, std::size_t label, Status& status) {
    status = bounded.step(Model::input_view::unchecked(x), label);
    const Status f = full.step(Model::input_view::unchecked(x), label);
    if (status == Status::diverged) {
      ++refused;
    } else if (status == Status::ok) {
      ++(bounds_all_known(bounded_model) ? proven : checked);
    }
    return difference(status, f);
  }

  // The same, checked: the bounded mode's answer.
  Status step(const float* x, std::size_t label) {
    Status status = Status::ok;
    const char* what = try_step(x, label, status);
    CHECK_MESSAGE(what == nullptr, std::string(what != nullptr ? what : ""));
    return status;
  }
  Status step(const std::array<float, 4>& x, std::size_t label) { return step(x.data(), label); }

  // A feature-cache epoch in both modes, checked.
  template <class Cache>
  Status epoch(Cache& cache, std::uint32_t seed) {
    const Status b = cache.train_epoch(bounded, seed);
    const Status f = cache.train_epoch(full, seed);
    const char* what = difference(b, f);
    CHECK_MESSAGE(what == nullptr, std::string(what != nullptr ? what : ""));
    return b;
  }

  // Writes `weight` into every weight and `bias` into every bias of layer I of both models,
  // then refresh() (whoever writes trained values calls it).
  template <std::size_t I>
  void place(float weight, float bias) {
    for (Model* m : {&bounded_model, &full_model}) {
      auto& state = m->template state<I>();
      state.weights.fill(weight);
      state.bias.fill(bias);
      state.refresh();
    }
  }
};

using MlpModes = Modes<Mlp>;

// Trains both modes on normal samples; true when every one was accepted in both.
bool still_learns(MlpModes& m) {
  for (std::size_t i = 0; i < 6; ++i) {
    std::array<float, 4> x = normal_sample;
    x[i % 4] += 0.1f * static_cast<float>(i);
    if (m.step(x, i % 3) != Status::ok || !std::isfinite(m.bounded.last_loss())) {
      return false;
    }
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The divergence scenarios of test_guard.cpp and test_guard_invariant.cpp, with SGD.
// ---------------------------------------------------------------------------------------
TEST_CASE("fused guard, both modes: a diverging step changes nothing; later steps go on") {
  // test_guard.cpp: second-layer weights of about 1e6 and a sample of 1e6 make a first-layer
  // step of about 1e11.
  static Init init(31, 1e6f);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static Mlp before(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{0.1f, 0.0f});
  const std::array<float, 4> x_huge{1e6f, -1e6f, 1e6f, 1e6f};

  CHECK(m.step(x_good, 1) == Status::ok);
  std::memcpy(&before.state<0>(), &b.state<0>(), sizeof(b.state<0>()));
  std::memcpy(&before.state<1>(), &b.state<1>(), sizeof(b.state<1>()));
  CHECK(m.step(x_huge, 2) == Status::diverged);
  CHECK(m.bounded.diverged_steps() == 1);
  CHECK(m.bounded.refused_samples() == 0);
  CHECK(same_bits(b, before));
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(m.step(x_good, i) == Status::ok);
  }
  CHECK(guard::check_model(b) == Status::ok);
}

TEST_CASE("fused guard, both modes: learning rate 0 changes nothing") {
  static Init init(34);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static const Mlp start(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{0.0f, 0.0f});
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(m.step(x_good, i % 3) == Status::ok);
  }
  CHECK(same_bits(b, start));
  CHECK(m.proven == 5);  // nothing to move: the bound proves every step
}

TEST_CASE("fused guard, both modes: a feature-cache epoch stops at the refused step") {
  static Init init(32, 1e6f);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static const Mlp start(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{0.1f, 0.0f});
  static FeatureCache<MlpModes::T, 2> cache;  // features only: both trainers replay it
  const std::array<float, 4> x_huge{1e6f, -1e6f, 1e6f, 1e6f};
  REQUIRE(cache.add(m.bounded, Mlp::input_view(x_huge), 1) == Status::ok);
  REQUIRE(cache.add(m.bounded, Mlp::input_view(x_good), 0) == Status::ok);
  CHECK(m.epoch(cache, 0) == Status::diverged);  // stored order: the huge sample first
  CHECK(same_bits(b, start));
}

TEST_CASE("fused guard, both modes: huge and NaN samples are refused as input; learning goes on") {
  static Init init(41);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static const Mlp start(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{0.01f, 0.0f});
  const std::array<float, 4> huge{1e30f, 0.1f, 0.2f, 0.3f};
  const std::array<float, 4> nan{0.1f, std::numeric_limits<float>::quiet_NaN(), 0.2f, 0.3f};
  const std::array<float, 4> beyond{std::nextafter(guard::feature_limit, 1e30f), 0.0f, 0.0f, 0.0f};
  CHECK(m.step(huge, 0) == Status::out_of_range);
  CHECK(m.step(nan, 0) == Status::not_finite);
  CHECK(m.step(beyond, 1) == Status::out_of_range);
  CHECK(m.bounded.refused_samples() == 3);
  CHECK(same_bits(b, start));
  CHECK(still_learns(m));
}

TEST_CASE("fused guard, both modes: absurd hyper-parameters are refused before the model") {
  static Init init(42);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static const Mlp start(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{0.01f, 0.0f});
  const std::array<SGD, 6> absurd = {{
      {1e38f, 0.0f},                                    // beyond max_learning_rate
      {-0.01f, 0.0f},                                   // negative
      {std::numeric_limits<float>::quiet_NaN(), 0.0f},  // NaN
      {std::numeric_limits<float>::infinity(), 0.0f},   // infinite
      {0.01f, -1e30f},                                  // negative weight decay
      {0.01f, 200.0f},                                  // lr * wd = 2 > 1
  }};
  for (const SGD& bad : absurd) {
    CAPTURE(bad.learning_rate);
    CAPTURE(bad.weight_decay);
    m.set(bad);
    CHECK(m.step(x_good, 1) == Status::invalid_argument);
    CHECK(same_bits(b, start));
  }
  m.set(SGD{0.01f, 0.0f});
  CHECK(still_learns(m));
}

TEST_CASE("fused guard, both modes: an update past the parameter bound is refused") {
  // test_guard_invariant.cpp: learning rate 2^24 (valid) on a sample of 4s moves weights by
  // about 2^24 and more.
  static Init init(43);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static const Mlp start(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{max_learning_rate, 0.0f});
  const std::array<float, 4> x{4.0f, -4.0f, 4.0f, 4.0f};
  CHECK(m.step(x, 2) == Status::diverged);
  CHECK(m.bounded.diverged_steps() == 1);
  CHECK(same_bits(b, start));
  m.set(SGD{0.01f, 0.0f});
  CHECK(still_learns(m));
}

TEST_CASE("fused guard, both modes: float feature-cache epochs; a huge feature is refused") {
  using Net = Sequential<Input<Shape<4>>, Dense<5>, ReLU, Trainable<Dense<3>>>;
  static Init init(44);
  static Net b(init.p1, init.p2);
  static Net f(init.p1, init.p2);
  static Modes<Net>::T::TrainingArena ba, fa;
  Modes<Net> m(b, f, ba, fa, SGD{0.05f, 0.0f});
  static FeatureCache<Modes<Net>::T, 4> cache;
  const std::array<float, 4> other{-0.5f, 0.5f, 0.25f, -1.0f};
  REQUIRE(cache.add(m.bounded, Net::input_view(x_good), 0) == Status::ok);
  REQUIRE(cache.add(m.bounded, Net::input_view(other), 2) == Status::ok);
  for (std::uint32_t epoch = 1; epoch <= 3; ++epoch) {
    CHECK(m.epoch(cache, epoch) == Status::ok);
  }
  CHECK(m.bounded.diverged_steps() == 0);

  // First-layer weights of 1e4 and inputs of 2e3: features of about 4e7 > 2^24.
  static std::array<float, 20> big_w{};
  big_w.fill(1e4f);
  static const LinearParams<float, 20, 5> big{big_w, init.b1};
  static Net big_b(big, init.p2);
  static Net big_f(big, init.p2);
  static Modes<Net>::T::TrainingArena big_ba, big_fa;
  Modes<Net> big_m(big_b, big_f, big_ba, big_fa, SGD{0.05f, 0.0f});
  const std::array<float, 4> x{2e3f, 2e3f, 2e3f, 2e3f};
  CHECK(big_m.step(x, 1) == Status::out_of_range);
  CHECK(big_m.bounded.refused_samples() == 1);
}

// ---------------------------------------------------------------------------------------
// (a) Values just below the parameter bound.
// ---------------------------------------------------------------------------------------
// The last layer's weights 0 and its three biases all c: the logits are (c, c, c), every
// class has probability 1/3, and for label 1 the loss gradient is (1/3, -2/3, 1/3). The step
// moves bias 1 up by lr * 2/3 (the weights by lr * g[o] * x[j], small; in the Mlp the first
// layer not at all: its gradient goes through the zero weights).
namespace {

// One trainable layer: its bound is the whole of the bounded check (no gradient bound of a
// layer above widens it), so these steps tell a sound bound from one that forgot the step.
using Linear = Sequential<Input<Shape<4>>, Trainable<Dense<3>>>;

struct LinearInit {
  std::array<float, 12> w{};
  std::array<float, 3> b{};
  LinearParams<float, 12, 3> p{w, b};
  LinearInit() {
    microtl_test::Xorshift32 rng(46);
    microtl_test::fill_floats(w, rng, -1, 1);
  }
};

}  // namespace

TEST_CASE(
    "fused guard, both modes: 2^24 - 2^15, where the old bound times slack is within "
    "2^24: a step past 2^24 is refused, one inside accepted") {
  // The bounded check's bound, (P + lr G X) slack, exceeds 2^24 for both steps, so the full
  // check decides them; a bound without the step's term lr G X (or taking the larger of the
  // two instead of their sum) would prove both.
  static LinearInit init;
  static Linear b(init.p);
  static Linear f(init.p);
  static Modes<Linear>::T::TrainingArena ba, fa;
  Modes<Linear> m(b, f, ba, fa, SGD{1.0f, 0.0f});
  const float c = limit - 32768.0f;
  REQUIRE(c * fused_guard::slack <= limit);
  m.place<0>(0.0f, c);
  m.set(SGD{49200.0f, 0.0f});  // up by 32800: 2^24 + 32
  CHECK(m.step(x_good, 1) == Status::diverged);
  CHECK(b.state<0>().bias[1] == c);
  m.set(SGD{48000.0f, 0.0f});  // up by 32000: 2^24 - 768
  CHECK(m.step(x_good, 1) == Status::ok);
  CHECK(b.state<0>().bias[1] > c);
  CHECK(b.state<0>().bias[1] <= limit);
  CHECK(guard::check_model(b) == Status::ok);
  CHECK(m.refused == 1);
  CHECK(m.checked == 1);
}

TEST_CASE(
    "fused guard, both modes: a step that crosses the parameter bound by a little is "
    "refused; one that stays just inside is accepted") {
  static Init init(45);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{1.0f, 0.0f});

  SUBCASE("at the bound: 2^24 - 2, up by 4 (refused) or by 2 (exactly 2^24: accepted)") {
    const float c = limit - 2.0f;
    m.place<1>(0.0f, c);
    m.set(SGD{6.0f, 0.0f});  // c + 6 * 2/3 = 2^24 + 2
    CHECK(m.step(x_good, 1) == Status::diverged);
    CHECK(b.state<1>().bias[1] == c);
    m.set(SGD{3.0f, 0.0f});  // c + 3 * 2/3 = 2^24
    CHECK(m.step(x_good, 1) == Status::ok);
    CHECK(b.state<1>().bias[1] == limit);
    CHECK(guard::check_model(b) == Status::ok);
    CHECK(m.refused == 1);
    CHECK(m.checked == 1);  // (c * slack is beyond 2^24: the full check decides)
  }

  SUBCASE("2^24 - 2^15 and a normal step: the bound proves it, and stays sound") {
    const float c = limit - 32768.0f;
    m.place<1>(0.0f, c);
    m.set(SGD{0.01f, 0.0f});
    CHECK(m.step(x_good, 1) == Status::ok);
    CHECK(m.proven == 1);
    const float bound = b.state<1>().magnitude_bound;
    CHECK(bound >= largest(b.state<1>()));
    CHECK(bound <= limit);
    CHECK(f.state<1>().magnitude_bound == guard::unknown_bound);
  }
}

// ---------------------------------------------------------------------------------------
// (b) Non-finite values.
// ---------------------------------------------------------------------------------------
namespace {

// Four float layers: with every weight at 2^24 (admissible) and inputs of 2^24, the hidden
// activations reach 2^50, 2^77 and 2^104 (exact powers of two).
using Deep = Sequential<Input<Shape<4>>, Trainable<Dense<8>>, ReLU, Trainable<Dense<8>>, ReLU,
                        Trainable<Dense<8>>, ReLU, Trainable<Dense<3>>>;

struct DeepInit {
  std::array<float, 32> w1{};
  std::array<float, 8> b1{};
  std::array<float, 64> w2{};
  std::array<float, 8> b2{};
  std::array<float, 64> w3{};
  std::array<float, 8> b3{};
  std::array<float, 24> w4{};
  std::array<float, 3> b4{};
  LinearParams<float, 32, 8> p1{w1, b1};
  LinearParams<float, 64, 8> p2{w2, b2};
  LinearParams<float, 64, 8> p3{w3, b3};
  LinearParams<float, 24, 3> p4{w4, b4};
  // Output 0 of the last layer reads every hidden unit with weight `w_out`, the others 0.
  explicit DeepInit(float w_out) {
    w1.fill(limit);
    w2.fill(limit);
    w3.fill(limit);
    for (std::size_t j = 0; j < 8; ++j) {
      w4[j] = w_out;
    }
  }
};

}  // namespace

TEST_CASE("fused guard, both modes: a step whose new values would be infinite is refused") {
  // Logits (2^17, 0, 0): class 0 has probability 1, the loss for label 1 is 2^17 (finite),
  // its gradient (1, -1, 0). At learning rate 2^24 the last layer's step is 2^24 * 2^104 =
  // 2^128: its new weights overflow to -inf (output 0) and +inf (output 1).
  static DeepInit init(0x1p-90f);
  static Deep b(init.p1, init.p2, init.p3, init.p4);
  static Deep f(init.p1, init.p2, init.p3, init.p4);
  static const Deep start(init.p1, init.p2, init.p3, init.p4);
  static Modes<Deep>::T::TrainingArena ba, fa;
  Modes<Deep> m(b, f, ba, fa, SGD{max_learning_rate, 0.0f});
  REQUIRE(guard::check_model(b) == Status::ok);
  const std::array<float, 4> x{limit, limit, limit, limit};
  CHECK(m.step(x, 1) == Status::diverged);
  CHECK(std::isfinite(m.bounded.last_loss()));  // the update, not the sample, is the cause
  CHECK(m.bounded.diverged_steps() == 1);
  CHECK(m.bounded.refused_samples() == 0);
  CHECK(same_trained_bits(b, start));
  // At learning rate 1 the same step is finite but far beyond 2^24: refused too.
  m.set(SGD{1.0f, 0.0f});
  CHECK(m.step(x, 1) == Status::diverged);
  CHECK(same_trained_bits(b, start));
  CHECK(m.checked == 0);
  CHECK(m.proven == 0);
}

TEST_CASE("fused guard, both modes: a sample whose logits overflow is refused as input") {
  // Output 0 reads the hidden units with weight 2^24: its logit is 2^131, infinite; the
  // softmax gives NaN and the loss is not finite.
  static DeepInit init(limit);
  static Deep b(init.p1, init.p2, init.p3, init.p4);
  static Deep f(init.p1, init.p2, init.p3, init.p4);
  static const Deep start(init.p1, init.p2, init.p3, init.p4);
  static Modes<Deep>::T::TrainingArena ba, fa;
  Modes<Deep> m(b, f, ba, fa, SGD{0.01f, 0.0f});
  const std::array<float, 4> x{limit, limit, limit, limit};
  CHECK(m.step(x, 1) == Status::not_finite);
  CHECK(m.bounded.refused_samples() == 1);
  CHECK(m.bounded.diverged_steps() == 0);
  CHECK(same_trained_bits(b, start));
}

// ---------------------------------------------------------------------------------------
// (c) The bound is sound, step after step.
// ---------------------------------------------------------------------------------------
TEST_CASE("fused guard: normal steps leave a known, sound bound in bounded mode, none in full") {
  static Init init(51);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{0.01f, 0.0f});
  microtl_test::Xorshift32 rng(52);
  constexpr std::array<float, 3> rates{0.001f, 0.01f, 0.1f};
  for (int n = 0; n < 400; ++n) {
    CAPTURE(n);
    m.set(SGD{rates[rng.next() % rates.size()], 0.0f});
    const auto x = microtl_test::random_floats<4>(rng, -1, 1);
    Status status = Status::ok;
    const char* what = m.try_step(x.data(), rng.next() % 3, status);
    REQUIRE_MESSAGE(what == nullptr, std::string(what != nullptr ? what : ""));
    REQUIRE(status == Status::ok);
    for_each_bounded_state(b, [&](const auto& s) {
      REQUIRE(std::isfinite(s.magnitude_bound));
      REQUIRE(s.magnitude_bound >= largest(s));
    });
    REQUIRE(bounds_all_unknown(f));
  }
  CHECK(m.proven == 400);
}

TEST_CASE("fused guard: random steps from normal to extreme decide the same in both modes") {
  // Learning rates up to 2^24, inputs up to 2^24, parameters put back every 16 steps: the
  // bounded mode proves, falls back and refuses; the full mode decides the same each time.
  static Init init(53, 4.0f);
  static Mlp b(init.p1, init.p2);
  static Mlp f(init.p1, init.p2);
  static MlpModes::T::TrainingArena ba, fa;
  MlpModes m(b, f, ba, fa, SGD{0.01f, 0.0f});
  microtl_test::Xorshift32 rng(54);
  constexpr std::array<float, 7> rates{0.001f, 0.01f, 0.1f, 1.0f, 100.0f, 1e4f, max_learning_rate};
  for (int n = 0; n < 1500; ++n) {
    CAPTURE(n);
    if (n % 16 == 0) {
      for (Mlp* model : {&b, &f}) {
        model->state<0>().init(init.p1);
        model->state<1>().init(init.p2);
        model->state<0>().refresh();
        model->state<1>().refresh();
      }
    }
    m.set(SGD{rates[rng.next() % rates.size()], 0.0f});
    auto x = microtl_test::random_floats<4>(rng, -1, 1);
    const float scale = std::ldexp(1.0f, static_cast<int>(rng.next() % 25));  // 1 .. 2^24
    for (float& v : x) {
      v *= scale;
    }
    Status status = Status::ok;
    const char* what = m.try_step(x.data(), rng.next() % 3, status);
    REQUIRE_MESSAGE(what == nullptr, std::string(what != nullptr ? what : ""));
    REQUIRE((status == Status::ok || status == Status::diverged));
    REQUIRE(guard::check_model(b) == Status::ok);
  }
  MESSAGE("bounded mode: " << m.proven << " proven by the bound, " << m.checked
                           << " accepted by the full check, " << m.refused << " refused");
  CHECK(m.proven > 100);
  CHECK(m.checked > 100);
  CHECK(m.refused > 100);
}

// ---------------------------------------------------------------------------------------
// (d) refresh() makes a bound unknown: a stale one is not trusted.
// ---------------------------------------------------------------------------------------
TEST_CASE("fused guard: after values are written and refresh() called, the bound is rescanned") {
  static LinearInit init;
  static Linear b(init.p);
  static Linear f(init.p);
  static Modes<Linear>::T::TrainingArena ba, fa;
  Modes<Linear> m(b, f, ba, fa, SGD{0.01f, 0.0f});
  for (std::size_t i = 0; i < 5; ++i) {
    REQUIRE(m.step(x_good, i % 3) == Status::ok);
  }
  const float trained_bound = b.state<0>().magnitude_bound;
  REQUIRE(std::isfinite(trained_bound));
  REQUIRE(trained_bound < 100.0f);

  // Values of 1000, far above the bound the last step left: refresh() forgets that bound,
  // and the next step's bound starts from a scan of the values.
  m.place<0>(1000.0f, 0.0f);
  CHECK(b.state<0>().magnitude_bound == guard::unknown_bound);
  CHECK(m.step(x_good, 1) == Status::ok);
  CHECK(std::isfinite(b.state<0>().magnitude_bound));
  CHECK(b.state<0>().magnitude_bound >= largest(b.state<0>()));
  CHECK(b.state<0>().magnitude_bound >= 1000.0f);

  // Values near the bound (P), and a step that takes one 32 past it: the stale bound of
  // about 1000 would prove the step; refused in both modes.
  const float c = limit - 32768.0f;
  m.place<0>(0.0f, c);
  CHECK(b.state<0>().magnitude_bound == guard::unknown_bound);
  m.set(SGD{49200.0f, 0.0f});
  CHECK(m.step(x_good, 1) == Status::diverged);
  CHECK(b.state<0>().bias[1] == c);
  CHECK(guard::check_model(b) == Status::ok);
}
