// The knobs that make a learning session cheaper (issue 13):
//  - Trainer::set_skip_below_loss: a sample whose loss is below the threshold costs a forward
//    pass only and changes nothing; the threshold is validated;
//  - FeatureCache::train with EarlyStopping: stops after the first epoch in which at most
//    the settled fraction of samples still needed a step, and runs every epoch otherwise;
//  - guard::replay_bound: one test of a cache's quantization stands for the test of every
//    replayed feature, and a bad quantization is refused before any feature is made.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../support/random.hpp"
#include "int8_head_net.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/feature_cache.hpp"
#include "microtl/train/trainer.hpp"

using namespace microtl;
using microtl_test::Xorshift32;
using microtl_test::int8_head::Net;
using microtl_test::int8_head::Parts;
using microtl_test::int8_head::random_images;
using microtl_test::int8_head::Rig;

namespace {

template <class Model>
bool same_head(const Model& a, const Model& b) {
  const auto& x = a.template state<Model::layer_count - 1>();
  const auto& y = b.template state<Model::layer_count - 1>();
  return std::memcmp(x.weights.data(), y.weights.data(), sizeof(x.weights)) == 0 &&
         std::memcmp(x.bias.data(), y.bias.data(), sizeof(x.bias)) == 0;
}

// Eight samples, labels 0, 1, 2, 0, ..., cached through the rig's trainer.
template <class R>
void fill(R& rig, std::uint32_t seed) {
  Xorshift32 rng(seed);
  const auto images = random_images<8>(rng);
  for (std::size_t i = 0; i < images.size(); ++i) {
    REQUIRE(rig.cache.add(rig.trainer, Net::input_view(images[i]), i % 3) == Status::ok);
  }
}

}  // namespace

TEST_CASE("skip below loss: refused thresholds change nothing; 0 skips nothing") {
  Xorshift32 rng(71);
  static Parts parts(rng, 0.5f);
  static Rig<Net, SGD, 8> rig(parts.net(), SGD{0.05f, 0.0f});
  fill(rig, 72);
  for (const float bad :
       {-0.5f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    CHECK(rig.trainer.set_skip_below_loss(bad) == Status::invalid_argument);
  }
  std::uint32_t epochs = 0;
  REQUIRE(rig.cache.train(rig.trainer, EarlyStopping{3, 0.9f}, epochs, [](std::uint32_t) {}) ==
          Status::ok);
  CHECK(epochs == 3);  // nothing skipped: every epoch had all its samples step
  CHECK(rig.trainer.skipped_samples() == 0);
  CHECK(rig.cache.last_epoch_stepped() == 8);
}

TEST_CASE("skip below loss: a sample below it changes nothing, one above it trains") {
  Xorshift32 rng(73);
  static Parts parts(rng, 0.5f);
  static Rig<Net, SGD, 8> rig(parts.net(), SGD{0.05f, 0.0f});
  static Rig<Net, SGD, 8> before(parts.net(), SGD{0.05f, 0.0f});
  fill(rig, 74);
  const auto sample = rig.cache.sample(0);
  const std::size_t label = rig.cache.target(0);
  // Its loss, from a step of the twin with no threshold.
  REQUIRE(before.trainer.step_cached(sample, rig.cache.quant(), label) == Status::ok);
  const float loss = before.trainer.last_loss();
  REQUIRE(loss > 0.0f);

  REQUIRE(rig.trainer.set_skip_below_loss(loss * 1.01f) == Status::ok);
  static Net untouched = parts.net();
  REQUIRE(rig.trainer.step_cached(sample, rig.cache.quant(), label) == Status::ok);
  CHECK(rig.trainer.last_sample_skipped());
  CHECK(rig.trainer.skipped_samples() == 1);
  CHECK(rig.trainer.last_loss() == loss);  // the loss is still reported
  CHECK(same_head(rig.model, untouched));

  REQUIRE(rig.trainer.set_skip_below_loss(loss * 0.99f) == Status::ok);
  REQUIRE(rig.trainer.step_cached(sample, rig.cache.quant(), label) == Status::ok);
  CHECK_FALSE(rig.trainer.last_sample_skipped());
  CHECK(rig.trainer.skipped_samples() == 1);
  CHECK(same_head(rig.model, before.model));  // the very step the twin took
}

TEST_CASE("early stopping stops once few samples still need a step; else runs every epoch") {
  Xorshift32 rng(75);
  static Parts parts(rng, 0.5f);
  static Rig<Net, SGD, 8> rig(parts.net(), SGD{0.2f, 0.0f});
  fill(rig, 76);
  REQUIRE(rig.trainer.set_skip_below_loss(0.3f) == Status::ok);
  std::uint32_t epochs = 0;
  std::uint32_t calls = 0;
  std::size_t last_stepped = 0;
  const EarlyStopping stopping{200, 0.25f};
  REQUIRE(rig.cache.train(rig.trainer, stopping, epochs, [&](std::uint32_t epoch) {
    ++calls;
    CHECK(epoch == calls);  // 1, 2, 3, ...
    last_stepped = rig.cache.last_epoch_stepped();
  }) == Status::ok);
  CHECK(calls == epochs);
  CHECK(epochs < 200);       // it stopped early,
  CHECK(last_stepped <= 2);  // after an epoch with at most 25 % of 8 stepping,
  CHECK(rig.trainer.skipped_samples() > 0);
  // and no earlier: every epoch before the last had more than 2 samples stepping. Replaying
  // the same session epoch by epoch shows it.
  static Rig<Net, SGD, 8> replay(parts.net(), SGD{0.2f, 0.0f});
  fill(replay, 76);
  REQUIRE(replay.trainer.set_skip_below_loss(0.3f) == Status::ok);
  for (std::uint32_t e = 1; e < epochs; ++e) {
    REQUIRE(replay.cache.train_epoch(replay.trainer, e) == Status::ok);
    CHECK(replay.cache.last_epoch_stepped() > 2);
  }
}

TEST_CASE("replay bound: golden values, and a bad quantization is refused before replay") {
  // s (q - z) over q in [-128, 127]: the largest magnitude is at q = -128 or q = 127.
  CHECK(guard::replay_bound({0.5f, -128}).value() == 127.5f);  // q - z in [0, 255]
  CHECK(guard::replay_bound({0.5f, 10}).value() == 69.0f);     // |-138| * 0.5
  CHECK(guard::replay_bound({-0.25f, 0}).value() == 32.0f);    // |-128| * 0.25
  CHECK(guard::replay_bound({std::numeric_limits<float>::quiet_NaN(), 0}).status() ==
        Status::not_finite);
  CHECK(guard::replay_bound({std::numeric_limits<float>::infinity(), 0}).status() ==
        Status::not_finite);
  CHECK(guard::replay_bound({1e6f, 0}).status() == Status::out_of_range);  // 1.28e8 > 2^24
  CHECK(guard::replay_bound({1e-9f, 16777217}).status() == Status::out_of_range);
  CHECK(guard::replay_bound({1e-9f, -2147483647 - 1}).status() == Status::out_of_range);

  Xorshift32 rng(77);
  static Parts parts(rng, 0.5f);
  static Rig<Net, SGD, 8> rig(parts.net(), SGD{0.05f, 0.0f});
  static Net untouched = parts.net();
  fill(rig, 78);
  const quant::QuantParams bad{std::numeric_limits<float>::infinity(), 0};
  CHECK(rig.trainer.step_cached(rig.cache.sample(0), bad, rig.cache.target(0)) ==
        Status::not_finite);
  CHECK(rig.trainer.refused_samples() == 1);
  CHECK(same_head(rig.model, untouched));
}

TEST_CASE("rest below loss: a settled sample skips one epoch entirely, then comes back") {
  Xorshift32 rng(79);
  static Parts parts(rng, 0.5f);
  static Rig<Net, SGD, 8> rig(parts.net(), SGD{0.0f, 0.0f});  // lr 0: the losses stay put
  fill(rig, 80);
  for (const float bad :
       {-1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    CHECK(rig.cache.set_rest_below_loss(bad) == Status::invalid_argument);
  }
  // The losses of the eight samples (they do not change: the learning rate is 0).
  std::array<float, 8> losses{};
  for (std::size_t i = 0; i < 8; ++i) {
    REQUIRE(rig.trainer.step_cached(rig.cache.sample(i), rig.cache.quant(), rig.cache.target(i)) ==
            Status::ok);
    losses[i] = rig.trainer.last_loss();
  }
  // A threshold between the 3rd and 4th smallest loss: three samples settle.
  std::array<float, 8> sorted = losses;
  std::sort(sorted.begin(), sorted.end());
  REQUIRE(sorted[2] < sorted[3]);
  REQUIRE(rig.cache.set_rest_below_loss(0.5f * (sorted[2] + sorted[3])) == Status::ok);
  const auto visits = [&](std::uint32_t seed) {
    const float sum_of_losses = [&] {
      float sum = 0;
      for (const float l : losses) {
        sum += l;
      }
      return sum;
    }();
    REQUIRE(rig.cache.train_epoch(rig.trainer, seed) == Status::ok);
    // The mean over the visited samples tells how many were visited: 8 (all) or 5 (the three
    // settled ones rest). The mean of the five unsettled losses differs from the mean of all.
    const float all = sum_of_losses / 8.0f;
    return std::fabs(rig.cache.last_epoch_loss() - all) < 1e-6f ? 8 : 5;
  };
  CHECK(visits(1) == 8);  // every sample visited; three settle
  CHECK(visits(2) == 5);  // those three rest
  CHECK(visits(3) == 8);  // and come back
  CHECK(visits(4) == 5);
}
