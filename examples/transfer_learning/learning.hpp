// The learning session of the demo, written once and run in two places: on the device
// (device/main.cpp, counting instructions) and on the host as the "cloud" baseline
// (host/cloud.cpp, timing with a clock), so that both do exactly the same work.
//
//   Stream: Status open(); bool more() const; Status next(std::array<std::int8_t, 784>&,
//   std::uint8_t& label) Meter:  void restart(); std::uint64_t elapsed() const      (instructions,
//   or nanoseconds)
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>

#include "config.hpp"
#include "model.hpp"

namespace demo {

// The head's recipe (config.hpp), the same on the device and in the cloud baseline.
inline mtl::SGD head_optimizer() {
  return mtl::SGD{kLearningRate, 0.0f};
}
inline constexpr mtl::EarlyStopping kStopping{static_cast<std::uint32_t>(kEpochs),
                                              kSettledFraction};
template <class Cache>
mtl::Status configure(DeviceTrainer& trainer, Cache& cache) {
  MICROTL_TRY(trainer.set_skip_below_loss(kSkipBelowLoss));
  return cache.set_rest_below_loss(kRestBelowLoss);
}

struct Accuracy {
  std::array<std::uint32_t, kClasses> correct{};
  std::array<std::uint32_t, kClasses> total{};
  std::uint32_t reference_mismatches = 0;

  double of(std::size_t c) const { return total[c] == 0 ? 0.0 : 100.0 * correct[c] / total[c]; }
  double over(int which) const {  // -1: all classes, 0: old, 1: new
    std::uint32_t ok = 0;
    std::uint32_t all = 0;
    for (std::size_t c = 0; c < kClasses; ++c) {
      if (which < 0 || is_new_class(c) == (which == 1)) {
        ok += correct[c];
        all += total[c];
      }
    }
    return all == 0 ? 0.0 : 100.0 * ok / all;
  }
  std::uint32_t images() const {
    std::uint32_t all = 0;
    for (const auto t : total)
      all += t;
    return all;
  }
};

// What the trainer's feature cache keeps of one sample (the strategy's, config.hpp): the int8
// 144 features (head), the float hidden activation (last), the int8 image (biases) or the
// int8 output of the second pool (conv3).
template <class Trainer>
using CachedSample = std::array<typename Trainer::cache_element, Trainer::cache_shape::size>;

template <class Trainer>
std::size_t predict(Trainer& trainer, const CachedSample<Trainer>& features) {
  const auto logits = trainer.predict_cached(
      mtl::TensorView<const typename Trainer::cache_element, typename Trainer::cache_shape>(
          features));
  std::size_t best = 0;
  for (std::size_t k = 1; k < kClasses; ++k) {
    best = logits[k] > logits[best] ? k : best;
  }
  return best;
}

// The first `per_class` images of each class in the stream, through the frozen layers and the
// trained ones. `reference(index, features)` sees every image's cached sample (the device
// compares the first ones' int8 features with the host's).
template <class Trainer, class Stream, class Reference>
mtl::Status evaluate(Trainer& trainer, Stream& stream, std::size_t per_class, Accuracy& accuracy,
                     Reference reference) {
  MICROTL_TRY(stream.open());
  accuracy = {};
  std::array<std::int8_t, 784> image{};
  CachedSample<Trainer> features{};
  std::uint8_t label = 0;
  std::uint32_t index = 0;
  while (stream.more() && accuracy.images() < per_class * kClasses) {
    MICROTL_TRY(stream.next(image, label));
    if (accuracy.total[label] < per_class || reference.wants(index)) {
      trainer.extract_cached(
          typename Trainer::model_input_view(image),
          mtl::TensorView<typename Trainer::cache_element, typename Trainer::cache_shape>(
              features));
      if (!reference.check(index, features)) {
        ++accuracy.reference_mismatches;
      }
      if (accuracy.total[label] < per_class) {
        ++accuracy.total[label];
        accuracy.correct[label] += predict(trainer, features) == label ? 1u : 0u;
      }
    }
    ++index;
  }
  return mtl::Status::ok;
}

struct NoReference {
  bool wants(std::uint32_t) const { return false; }
  template <class Sample>
  bool check(std::uint32_t, const Sample&) const {
    return true;
  }
};

// Streams training samples into the cache until it holds `per_class` of every class;
// `meter` measures the extractor only (not the reading of the data).
template <class Trainer, class Cache, class Stream, class Meter>
mtl::Status collect(Trainer& trainer, Cache& cache, Stream& stream, std::size_t per_class,
                    Meter& meter, std::uint64_t& extraction) {
  MICROTL_TRY(stream.open());
  std::array<std::size_t, kClasses> taken{};
  std::array<std::int8_t, 784> image{};
  std::uint8_t label = 0;
  extraction = 0;
  while (stream.more() && !cache.full()) {
    MICROTL_TRY(stream.next(image, label));
    if (taken[label] == per_class) {
      continue;
    }
    meter.restart();
    MICROTL_TRY(cache.add(trainer, typename Trainer::model_input_view(image), label));
    extraction += meter.elapsed();
    ++taken[label];
  }
  return cache.full() ? mtl::Status::ok : mtl::Status::truncated;
}

inline void print_accuracy(const char* who, const char* phase, const Accuracy& a) {
  std::printf(
      "%s phase=%s accuracy=%.2f old_classes=%.2f new_classes=%.2f test_images=%u "
      "reference_mismatches=%u\n",
      who, phase, a.over(-1), a.over(0), a.over(1), static_cast<unsigned>(a.images()),
      static_cast<unsigned>(a.reference_mismatches));
  for (std::size_t c = 0; c < kClasses; ++c) {
    std::printf("%s phase=%s class=%u new=%d accuracy=%.1f name=%s\n", who, phase,
                static_cast<unsigned>(c), is_new_class(c) ? 1 : 0, a.of(c), kClassNames[c]);
  }
}

}  // namespace demo
