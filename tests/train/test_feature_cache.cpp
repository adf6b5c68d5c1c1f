// FeatureCache (train/feature_cache.hpp): what it stores (int8 codes when the features are a
// dequantized int8 activation: a quarter of the memory), its capacity, that a refused sample
// changes nothing, that an epoch visits every stored sample once in an order fixed by its
// seed, and that training from the cache is bit-identical to training from the inputs.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../support/compare.hpp"
#include "../support/random.hpp"
#include "int8_head_net.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/feature_cache.hpp"
#include "microtl/train/trainer.hpp"

using namespace microtl;
using microtl_test::bit_identical;
using microtl_test::Xorshift32;
using microtl_test::int8_head::Extractor;
using microtl_test::int8_head::FloatNet;
using microtl_test::int8_head::Net;
using microtl_test::int8_head::Parts;
using microtl_test::int8_head::random_images;
using microtl_test::int8_head::Rig;
using microtl_test::int8_head::T;
using microtl_test::int8_head::Trained;

namespace {

using Cache = FeatureCache<T, 8>;
using Cache4 = FeatureCache<T, 4>;
using FloatTrainer = Trainer<FloatNet, SoftmaxCrossEntropy, SGD>;
using FloatCache = FeatureCache<FloatTrainer, 8>;

// What is cached: int8 codes of the 18 pooled conv outputs (the Dequantize's input), or the
// float features themselves when the extractor computes in float.
static_assert(T::caches_int8);
static_assert(std::is_same_v<T::cache_shape, Shape<18>>);
static_assert(std::is_same_v<Cache::element, std::int8_t>);
static_assert(!FloatTrainer::caches_int8);
static_assert(std::is_same_v<FloatCache::element, float>);
static_assert(std::is_same_v<FloatCache::shape, Shape<18>>);
// Bytes per sample: 18 for int8, 72 for float: a quarter of the memory.
static_assert(Cache::bytes_per_sample == 18);  // int8: 18 bytes, not 72
static_assert(FloatCache::bytes_per_sample == 72);
static_assert(4 * Cache::bytes_per_sample == FloatCache::bytes_per_sample);
// The object holds the samples, the labels (one byte each: three classes) and a resting flag
// per sample: no more than that (and a few counters, alignment).
static_assert(Cache::capacity == 8 && FloatCache::capacity == 8);
static_assert(std::is_same_v<Cache::StoredTarget, std::uint8_t>);
static_assert(sizeof(Cache) >= 8 * 18 + 8 * 1 + 8);
static_assert(sizeof(Cache) <= 8 * 18 + 8 * 1 + 8 + 40);
static_assert(sizeof(FloatCache) - sizeof(Cache) == 8 * (72 - 18));

// The cross-entropy of cached sample i with the head's current parameters.
template <class TrainerT, class CacheT>
float sample_loss(TrainerT& trainer, const CacheT& cache, std::size_t i) {
  const auto out = trainer.predict_cached(cache.sample(i));
  std::array<float, 3> logits{out[0], out[1], out[2]};
  std::array<float, 3> g{};
  return SoftmaxCrossEntropy::loss_and_grad<3>(logits, cache.target(i), g).value();
}

// The sum of the losses of every cached sample, in stored order.
template <class TrainerT, class CacheT>
float total_loss(TrainerT& trainer, const CacheT& cache) {
  float sum = 0;
  for (std::size_t i = 0; i < cache.size(); ++i) {
    sum += sample_loss(trainer, cache, i);
  }
  return sum;
}

// A copy of everything a cache holds, to show that a refused add changed none of it.
template <class CacheT>
struct Contents {
  std::array<std::array<typename CacheT::element, CacheT::shape::size>, CacheT::capacity> samples{};
  std::array<std::size_t, CacheT::capacity> targets{};
  std::size_t size = 0;

  explicit Contents(const CacheT& cache) : size(cache.size()) {
    for (std::size_t i = 0; i < size; ++i) {
      for (std::size_t k = 0; k < CacheT::shape::size; ++k) {
        samples[i][k] = cache.sample(i)[k];
      }
      targets[i] = cache.target(i);
    }
  }
  bool operator==(const Contents&) const = default;
};

}  // namespace

TEST_CASE("feature cache: int8 codes are cached, epochs train, labels are checked on the way in") {
  Xorshift32 rng(14);
  static const Parts parts(rng, 0.1f);
  static Trained<Net, SGDMomentum> one(parts.net(), SGDMomentum{0.05f, 0.9f, 2e-4f});
  static Rig<Net, SGDMomentum, 8> two(parts.net(), SGDMomentum{0.05f, 0.9f, 2e-4f});
  Net& direct = one.model;
  Net& cached = two.model;
  T& train_direct = one.trainer;
  T& train_cached = two.trainer;
  Cache& cache = two.cache;

  const auto images = random_images<8>(rng);
  for (std::size_t n = 0; n < images.size(); ++n) {
    CHECK(cache.add(train_cached, Net::input_view(images[n]), 3) == Status::label_out_of_range);
    REQUIRE(cache.add(train_cached, Net::input_view(images[n]), n % 3) == Status::ok);
    CHECK(cache.size() == n + 1);
  }
  CHECK(cache.full());
  CHECK(cache.add(train_cached, Net::input_view(images[0]), 0) == Status::capacity_exceeded);

  for (int epoch = 0; epoch < 5; ++epoch) {
    REQUIRE(cache.train_epoch(train_cached) == Status::ok);  // stored order
    for (std::size_t n = 0; n < images.size(); ++n) {
      REQUIRE(train_direct.step(Net::input_view(images[n]), n % 3) == Status::ok);
    }
  }
  // The cache replays exactly what the extractor produced: bit-identical training.
  CHECK(direct.state<4>().weights == cached.state<4>().weights);
  CHECK(bit_identical(direct.state<4>().weights, cached.state<4>().weights));
  CHECK(bit_identical(direct.state<4>().bias, cached.state<4>().bias));
  // Shuffled epochs run too and keep learning: the training loss of a fresh pass goes down.
  const float before = total_loss(train_cached, cache);
  for (int epoch = 0; epoch < 20; ++epoch) {
    REQUIRE(cache.train_epoch(train_cached, static_cast<std::uint32_t>(epoch + 1)) == Status::ok);
  }
  const float after = total_loss(train_cached, cache);
  CHECK(after < before * 0.5f);
}

TEST_CASE("feature cache: a float-input model that quantizes on the way caches int8 codes") {
  // Input<float> -> Quantize -> int8 Dense -> Dequantize -> trainable head. (Once failed to
  // compile: the cache path assumed the input already carried quantization parameters.)
  using QNet = Sequential<Input<Shape<4>>, Quantize, Dense<3>, Dequantize, Trainable<Dense<2>>>;
  using QT = Trainer<QNet, SoftmaxCrossEntropy, SGD>;
  static_assert(QT::caches_int8 && QT::replays_dequantize);
  static_assert(FeatureCache<QT, 2>::bytes_per_sample == 3);
  static const quant::QuantParams q_in{0.02f, 0};
  static const std::array<float, 12> w{0.5f, -0.5f, 0.25f, 0.1f, -0.2f, 0.3f,
                                       0.4f, -0.1f, 0.2f,  0.2f, 0.2f,  0.2f};
  static const std::array<float, 3> b{};
  static const auto frozen = quantize_linear<ChannelAxis::leading>(std::span(w), std::span(b), q_in,
                                                                   quant::QuantParams{0.01f, 0});
  static const auto frozen_params = frozen.params();
  static const std::array<float, 6> hw{0.1f, -0.1f, 0.2f, -0.2f, 0.3f, -0.3f};
  static const std::array<float, 2> hb{};
  static const LinearParams<float, 6, 2> head{hw, hb};
  static QNet model(q_in, frozen_params, head);
  static QT::TrainingArena arena;
  QT trainer(model, SGD{0.1f, 0.0f}, arena);
  static FeatureCache<QT, 2> cache;
  const std::array<float, 4> x{0.5f, -0.5f, 1.0f, 0.0f};
  REQUIRE(cache.add(trainer, QNet::input_view(x), 1) == Status::ok);
  REQUIRE(cache.train_epoch(trainer) == Status::ok);
}

TEST_CASE("feature cache: the stored codes are the extractor's int8 output, replayed exactly") {
  Xorshift32 rng(15);
  static const Parts parts(rng, 1.0f);
  static Rig<Net, SGDMomentum, 8> rig(parts.net(), SGDMomentum{0.05f, 0.9f, 0.0f});
  // The extractor on its own, as a model of its own: an independent run of the same layers.
  static const Extractor extractor(parts.q_in, parts.conv_params);
  static Extractor::InferenceArena extractor_arena;
  static Net::InferenceArena net_arena;
  const auto images = random_images<5>(rng);
  for (std::size_t n = 0; n < images.size(); ++n) {
    REQUIRE(rig.cache.add(rig.trainer, Net::input_view(images[n]), n % 3) == Status::ok);
  }
  REQUIRE(rig.cache.size() == 5);
  int wrong_codes = 0;
  int wrong_outputs = 0;
  int nonzero_codes = 0;
  for (std::size_t n = 0; n < images.size(); ++n) {
    const auto codes = extractor.forward(Extractor::input_view(images[n]), extractor_arena);
    for (std::size_t k = 0; k < 18; ++k) {
      wrong_codes += rig.cache.sample(n)[k] == codes.values[k] ? 0 : 1;
      nonzero_codes += codes.values[k] != -128 ? 1 : 0;
    }
    CHECK(rig.cache.target(n) == n % 3);
    // The head on the replayed Dequantize gives bit for bit the whole model's output.
    const auto expected = rig.model.forward(Net::input_view(images[n]), net_arena);
    const std::array<float, 3> want{expected.values[0], expected.values[1], expected.values[2]};
    const auto got = rig.trainer.predict_cached(rig.cache.sample(n));
    const std::array<float, 3> have{got[0], got[1], got[2]};
    wrong_outputs += bit_identical(want, have) ? 0 : 1;
  }
  CHECK(wrong_codes == 0);
  CHECK(wrong_outputs == 0);
  CHECK(nonzero_codes > 20);  // the extractor's output is not all zeros (ReLU at -128)
}

TEST_CASE("feature cache: capacity; a refused sample changes nothing; clear empties it") {
  Xorshift32 rng(16);
  static const Parts parts(rng, 1.0f);
  static Rig<Net, SGDMomentum, 4> rig(parts.net(), SGDMomentum{0.05f, 0.9f, 0.0f});
  auto& cache = rig.cache;
  const auto images = random_images<6>(rng);
  const auto add = [&](std::size_t image, std::size_t label) {
    return cache.add(rig.trainer, Net::input_view(images[image]), label);
  };
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.full());

  REQUIRE(add(0, 2) == Status::ok);
  REQUIRE(add(1, 0) == Status::ok);
  const Contents<Cache4> two(cache);
  // A label out of range: refused; nothing stored, nothing changed.
  CHECK(add(2, 3) == Status::label_out_of_range);
  CHECK(add(2, std::size_t{1000000}) == Status::label_out_of_range);
  CHECK(cache.size() == 2);
  CHECK(Contents<Cache4>(cache) == two);
  // The next good sample goes where the refused one would have gone.
  REQUIRE(add(3, 1) == Status::ok);
  REQUIRE(add(4, 1) == Status::ok);
  CHECK(cache.size() == 4);
  CHECK(cache.full());
  CHECK(cache.target(0) == 2);
  CHECK(cache.target(2) == 1);

  // Full: refused, and the samples and labels (stored right after the samples) are intact.
  const Contents<Cache4> full(cache);
  CHECK(add(5, 0) == Status::capacity_exceeded);
  CHECK(add(5, 3) == Status::label_out_of_range);  // the label is checked first
  CHECK(cache.size() == 4);
  CHECK(Contents<Cache4>(cache) == full);
  REQUIRE(cache.train_epoch(rig.trainer, 7) == Status::ok);  // training does not change it
  CHECK(Contents<Cache4>(cache) == full);

  // Cleared: empty, and it fills again from the first slot.
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.full());
  CHECK(cache.train_epoch(rig.trainer, 3) == Status::ok);  // an empty epoch does nothing
  CHECK(cache.last_epoch_loss() == 0.0f);
  REQUIRE(add(5, 0) == Status::ok);
  CHECK(cache.size() == 1);
  CHECK(cache.target(0) == 0);
  CHECK_FALSE(Contents<Cache4>(cache) == full);
}

TEST_CASE("feature cache: an epoch visits each stored sample once, in an order set by its seed") {
  Xorshift32 rng(17);
  static const Parts parts(rng, 1.0f);
  const auto images = random_images<5>(rng);
  const auto fill = [&](auto& rig) {
    for (std::size_t n = 0; n < images.size(); ++n) {
      REQUIRE(rig.cache.add(rig.trainer, Net::input_view(images[n]), n % 3) == Status::ok);
    }
  };

  // Learning rate 0: the parameters stay put, so an epoch's mean loss is the mean of the
  // losses of the samples it visited. With 5 samples of distinct losses in a cache of 8, it
  // equals the mean over the 5 stored samples only if each was visited exactly once (a
  // sample visited twice, one skipped, or an empty slot visited would change it).
  static Rig<Net, SGDMomentum, 8> still(parts.net(), SGDMomentum{0.0f, 0.9f, 0.0f});
  fill(still);
  std::array<float, 5> losses{};
  for (std::size_t i = 0; i < losses.size(); ++i) {
    losses[i] = sample_loss(still.trainer, still.cache, i);
  }
  float smallest_gap = 1e30f;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const float gap = losses[i] > losses[j] ? losses[i] - losses[j] : losses[j] - losses[i];
      smallest_gap = gap < smallest_gap ? gap : smallest_gap;
    }
  }
  REQUIRE(smallest_gap > 1e-3f);  // so that a wrong visit would show
  const double mean = static_cast<double>(total_loss(still.trainer, still.cache)) / 5.0;
  for (const std::uint32_t seed : {0U, 1U, 2U, 3U, 77U, 0xDEADBEEFU}) {
    CAPTURE(seed);
    REQUIRE(still.cache.train_epoch(still.trainer, seed) == Status::ok);
    CHECK(static_cast<double>(still.cache.last_epoch_loss()) ==
          doctest::Approx(mean).epsilon(1e-6));
  }
  CHECK(bit_identical(still.model.state<4>().weights, parts.wd));

  // Learning: the final parameters depend on the order. The same seeds give the same
  // parameters bit for bit; other seeds, or the stored order, give others.
  static Rig<Net, SGDMomentum, 8> a(parts.net(), SGDMomentum{0.1f, 0.0f, 0.0f});
  static Rig<Net, SGDMomentum, 8> b(parts.net(), SGDMomentum{0.1f, 0.0f, 0.0f});
  static Rig<Net, SGDMomentum, 8> other(parts.net(), SGDMomentum{0.1f, 0.0f, 0.0f});
  static Rig<Net, SGDMomentum, 8> stored(parts.net(), SGDMomentum{0.1f, 0.0f, 0.0f});
  fill(a);
  fill(b);
  fill(other);
  fill(stored);
  for (std::uint32_t epoch = 0; epoch < 3; ++epoch) {
    REQUIRE(a.cache.train_epoch(a.trainer, 100 + epoch) == Status::ok);
    REQUIRE(b.cache.train_epoch(b.trainer, 100 + epoch) == Status::ok);
    REQUIRE(other.cache.train_epoch(other.trainer, 200 + epoch) == Status::ok);
    REQUIRE(stored.cache.train_epoch(stored.trainer, 0) == Status::ok);
  }
  CHECK(bit_identical(a.model.state<4>().weights, b.model.state<4>().weights));
  CHECK(bit_identical(a.model.state<4>().bias, b.model.state<4>().bias));
  CHECK_FALSE(bit_identical(a.model.state<4>().weights, other.model.state<4>().weights));
  CHECK_FALSE(bit_identical(a.model.state<4>().weights, stored.model.state<4>().weights));
  CHECK_FALSE(bit_identical(a.model.state<4>().weights, parts.wd));  // it did train
}

TEST_CASE("feature cache: float features in mini-batches train bit-identically to the inputs") {
  // A float extractor: the cache keeps float features. Batches of 3 over 7 samples: each
  // epoch ends with a partial batch of one, which the epoch applies (as apply() does).
  Xorshift32 rng(18);
  static const Parts parts(rng, 1.0f);
  static Rig<FloatNet, SGD, 8> cached(parts.float_net(), SGD{0.05f, 1e-3f}, 3);
  static Rig<FloatNet, SGD, 8> direct(parts.float_net(), SGD{0.05f, 1e-3f}, 3);
  std::array<std::array<float, 36>, 7> images{};
  for (auto& image : images) {
    microtl_test::fill_floats(image, rng, -1, 1);
  }
  for (std::size_t n = 0; n < images.size(); ++n) {
    REQUIRE(cached.cache.add(cached.trainer, FloatNet::input_view(images[n]), n % 3) == Status::ok);
  }
  for (int epoch = 0; epoch < 4; ++epoch) {
    REQUIRE(cached.cache.train_epoch(cached.trainer) == Status::ok);
    for (std::size_t n = 0; n < images.size(); ++n) {
      REQUIRE(direct.trainer.step(FloatNet::input_view(images[n]), n % 3) == Status::ok);
    }
    REQUIRE(direct.trainer.apply() == Status::ok);
  }
  CHECK(bit_identical(cached.model.state<3>().weights, direct.model.state<3>().weights));
  CHECK(bit_identical(cached.model.state<3>().bias, direct.model.state<3>().bias));
  CHECK_FALSE(bit_identical(cached.model.state<3>().weights, parts.wd));  // it did train
}

TEST_CASE(
    "feature cache: an int8 cache carries its quantization; another trainer replays it "
    "exactly") {
  // A device fills the cache, reboots into a fresh trainer (which has extracted nothing, so
  // it knows no quantization), and trains from the cache: the result must be the one the
  // trainer that filled it gets.
  Xorshift32 rng(17);
  static const Parts parts(rng, 1.0f);
  static Rig<Net, SGDMomentum, 6> filler(parts.net(), SGDMomentum{0.05f, 0.9f, 0.0f});
  static Trained<Net, SGDMomentum> fresh(parts.net(), SGDMomentum{0.05f, 0.9f, 0.0f});
  const auto images = random_images<6>(rng);
  for (std::size_t n = 0; n < images.size(); ++n) {
    REQUIRE(filler.cache.add(filler.trainer, Net::input_view(images[n]), n % 3) == Status::ok);
  }
  // The extractor's output quantization, as the model defines it (the conv's output).
  CHECK(filler.cache.quant().scale == 0.02f);
  CHECK(filler.cache.quant().zero_point == -128);
  for (int epoch = 0; epoch < 3; ++epoch) {
    REQUIRE(filler.cache.train_epoch(filler.trainer, 5) == Status::ok);
    REQUIRE(filler.cache.train_epoch(fresh.trainer, 5) == Status::ok);
  }
  const auto& a = filler.model.state<Net::layer_count - 1>();
  const auto& b = fresh.model.state<Net::layer_count - 1>();
  CHECK(a.weights == b.weights);
  CHECK(a.bias == b.bias);
}

TEST_CASE("FeatureCache: a label of 300 classes is kept in two bytes and read back as given") {
  using Wide = Sequential<Input<Shape<2>>, Trainable<Dense<300>>>;
  using WideTrainer = Trainer<Wide, SoftmaxCrossEntropy, SGD>;
  using WideCache = FeatureCache<WideTrainer, 2>;
  static_assert(std::is_same_v<WideCache::StoredTarget, std::uint16_t>);
  static const std::array<float, 600> weights{};
  static const std::array<float, 300> bias{};
  static Wide model(LinearParams<float, 600, 300>{weights, bias});
  static WideTrainer::TrainingArena arena;
  WideTrainer trainer(model, SGD{0.1f}, arena);
  static WideCache cache;
  const std::array<float, 2> x{0.5f, -0.5f};
  REQUIRE(cache.add(trainer, x, 299) == Status::ok);
  REQUIRE(cache.add(trainer, x, 256) == Status::ok);
  CHECK(cache.target(0) == 299);  // one byte would have kept 43
  CHECK(cache.target(1) == 256);  // and 0
  cache.clear();
  CHECK(cache.add(trainer, x, 300) == Status::label_out_of_range);
  CHECK(cache.size() == 0);
}
