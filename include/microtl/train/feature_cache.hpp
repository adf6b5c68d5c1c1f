// FeatureCache<Trainer, Capacity>: MicroTL's recipe for training a head on the device.
//
// The frozen extractor runs once per sample; what it produces is kept here, with the label,
// and the head then trains for several epochs over the cache without running the extractor
// again. The cache is a fixed-capacity object the caller owns (put it in .bss or a RAM
// section); its size is a compile-time constant:
//
//   using Cache = FeatureCache<MyTrainer, 60>;
//   static_assert(sizeof(Cache) <= 64 * 1024);
//
// When the features are the dequantized copy of an int8 activation (an int8 extractor
// followed by Dequantize), the cache keeps the int8 codes: a quarter of the memory.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/core/status.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/train/guard.hpp"

namespace microtl {

// When FeatureCache::train stops: after max_epochs, or after the first epoch in which at
// most settled_fraction of the samples still needed a step (the trainer skipped the others:
// their loss was already below its set_skip_below_loss threshold, so the head gets them
// right with a margin). With the trainer's threshold at 0 no sample is skipped, and all
// max_epochs epochs run.
struct EarlyStopping {
  std::uint32_t max_epochs = 20;
  float settled_fraction = 0.0f;
};

namespace detail {
// How a cache stores a target. A class label (std::size_t, below the class count once
// validated) needs only the smallest unsigned type that holds every class: one byte for up
// to 256 classes, not the eight of a size_t on the host or four on a Cortex-M. Other
// targets (regression values) are stored as they are.
template <class Target, std::size_t Classes>
struct StoredTarget {
  using type = Target;
};
template <std::size_t Classes>
  requires(Classes <= 256)
struct StoredTarget<std::size_t, Classes> {
  using type = std::uint8_t;
};
template <std::size_t Classes>
  requires(Classes > 256 && Classes <= 65536)
struct StoredTarget<std::size_t, Classes> {
  using type = std::uint16_t;
};
}  // namespace detail

template <class TrainerT, std::size_t Capacity>
class FeatureCache {
 public:
  using element = typename TrainerT::cache_element;
  using shape = typename TrainerT::cache_shape;
  using Target = typename TrainerT::Target;
  using StoredTarget = typename detail::StoredTarget<Target, TrainerT::output_shape::size>::type;
  static constexpr std::size_t capacity = Capacity;
  static constexpr std::size_t bytes_per_sample = shape::size * sizeof(element);
  static_assert(Capacity >= 1, "microtl::FeatureCache: capacity of at least one sample");

  // Runs the frozen layers on `input` and stores the result with its target. Refused with
  // a status, nothing stored:
  //   label_out_of_range  an invalid target (not_finite: a non-finite regression target)
  //   capacity_exceeded   the cache is full
  //   not_finite          a float input or cached feature is NaN or infinite
  //   out_of_range        a float input or cached feature beyond guard::feature_limit
  //   model_mismatch      int8 codes of another quantization than the cached ones'
  // so that every stored sample meets the guard's bound (X) (train/guard.hpp): one bad sample
  // cannot stop every later epoch.
  Status add(TrainerT& trainer, typename TrainerT::model_input_view input,
             const Target& target) noexcept {
    MICROTL_TRY(TrainerT::validate(target));
    if (count_ == Capacity) {
      return Status::capacity_exceeded;
    }
    using input_value = std::remove_const_t<typename decltype(input)::element_type>;
    if constexpr (std::same_as<input_value, float>) {
      MICROTL_TRY(guard::check_features(
          std::span<const float>(input.data(), decltype(input)::shape_type::size)));
    }
    element* slot = features_.data() + count_ * shape::size;
    trainer.extract_cached(input, TensorView<element, shape>::unchecked(slot));
    if constexpr (std::same_as<element, float>) {
      // A float extractor can still make a huge value of a valid input.
      MICROTL_TRY(guard::check_features(std::span<const float>(slot, shape::size)));
    } else {
      // int8 codes: their quantization travels with the cache (the trainer that replays
      // them need not be the one that extracted them). The model fixes it, so every sample
      // shares it; a sample with another is not of this cache's model.
      const quant::QuantParams& quant = trainer.cache_quant();
      if (count_ == 0) {
        quant_ = quant;
      } else if (quant.scale != quant_.scale || quant.zero_point != quant_.zero_point) {
        return Status::model_mismatch;
      }
    }
    targets_[count_] = static_cast<StoredTarget>(target);  // validated: it fits
    ++count_;
    return Status::ok;
  }

  // One epoch: every cached sample once, in an order shuffled by `seed` (0: stored order).
  // Stops at the first step the trainer refuses and returns its status: diverged when an
  // update would have made the parameters non-finite (they keep their last good values).
  Status train_epoch(TrainerT& trainer, std::uint32_t seed = 0) noexcept {
    std::array<std::uint16_t, Capacity> order{};
    shuffled_order(order, seed);
    float loss_sum = 0.0f;
    std::size_t stepped = 0;
    std::size_t visited = 0;
    for (std::size_t n = 0; n < count_; ++n) {
      const std::size_t i = order[n];
      if (resting_[i] != 0) {  // settled last epoch: this one passes it by
        resting_[i] = 0;
        continue;
      }
      MICROTL_TRY(trainer.step_cached(sample(i), quant_, target(i)));
      loss_sum += trainer.last_loss();
      stepped += trainer.last_sample_skipped() ? 0U : 1U;
      ++visited;
      resting_[i] = trainer.last_loss() < rest_below_loss_ ? 1U : 0U;
    }
    MICROTL_TRY(trainer.apply());  // a last partial mini-batch
    last_epoch_loss_ = visited > 0 ? loss_sum / static_cast<float>(visited) : 0.0f;
    last_epoch_stepped_ = stepped;
    return Status::ok;
  }

  // Epochs 1, 2, ... (epoch e shuffled with seed e) until `stopping` says so; after each,
  // on_epoch(epoch) (e.g. to print last_epoch_loss() and last_epoch_stepped()). `epochs`
  // receives the number run. Stops early, with its status, at the first epoch that fails.
  template <class OnEpoch>
  Status train(TrainerT& trainer, const EarlyStopping& stopping, std::uint32_t& epochs,
               OnEpoch&& on_epoch) noexcept {
    epochs = 0;
    while (epochs < stopping.max_epochs) {
      ++epochs;
      MICROTL_TRY(train_epoch(trainer, epochs));
      on_epoch(epochs);
      if (static_cast<float>(last_epoch_stepped_) <=
          stopping.settled_fraction * static_cast<float>(count_)) {
        break;
      }
    }
    return Status::ok;
  }

  // The same without a callback.
  Status train(TrainerT& trainer, const EarlyStopping& stopping, std::uint32_t& epochs) noexcept {
    return train(trainer, stopping, epochs, [](std::uint32_t) {});
  }

  // A sample whose loss is below `loss` (the head gets it right with a wide margin) rests
  // for the next epoch: not even a forward pass; the epoch after, it is visited again.
  // 0 (the default) rests none. invalid_argument (and no change) for a negative, NaN or
  // infinite value.
  Status set_rest_below_loss(float loss) noexcept {
    if (!(loss >= 0.0f && loss <= 3.40282346638528859812e+38f)) {
      return Status::invalid_argument;
    }
    rest_below_loss_ = loss;
    return Status::ok;
  }

  // The samples of the last epoch that needed a step (were not skipped by the trainer).
  std::size_t last_epoch_stepped() const noexcept { return last_epoch_stepped_; }

  // The mean training loss of the last epoch (each visited sample's loss before its update).
  float last_epoch_loss() const noexcept { return last_epoch_loss_; }

  // The quantization of the cached int8 codes (of the first sample added; for float caches
  // unused).
  const quant::QuantParams& quant() const noexcept { return quant_; }

  TensorView<const element, shape> sample(std::size_t i) const noexcept {
    MICROTL_ASSERT(i < count_);
    return TensorView<const element, shape>::unchecked(features_.data() + i * shape::size);
  }
  Target target(std::size_t i) const noexcept {
    MICROTL_ASSERT(i < count_);
    return Target(targets_[i]);
  }
  std::size_t size() const noexcept { return count_; }
  bool full() const noexcept { return count_ == Capacity; }
  void clear() noexcept {
    count_ = 0;
    resting_ = {};
  }

 private:
  void shuffled_order(std::array<std::uint16_t, Capacity>& order,
                      std::uint32_t seed) const noexcept {
    static_assert(Capacity <= 65535, "microtl::FeatureCache: at most 65535 samples");
    for (std::size_t i = 0; i < count_; ++i) {
      order[i] = static_cast<std::uint16_t>(i);
    }
    if (seed == 0) {
      return;
    }
    // Fisher-Yates with xorshift32: deterministic for a given seed, no <random>.
    std::uint32_t state = seed;
    for (std::size_t i = count_; i > 1; --i) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      const std::size_t j = state % i;
      const std::uint16_t t = order[i - 1];
      order[i - 1] = order[j];
      order[j] = t;
    }
  }

  std::array<element, Capacity * shape::size> features_{};
  std::array<StoredTarget, Capacity> targets_{};
  std::size_t count_ = 0;
  // Zero until the first sample sets it: an all-zero cache object stays in .bss (a nonzero
  // initializer would put the whole cache in .data, its size again in flash).
  quant::QuantParams quant_{0.0f, 0};
  float last_epoch_loss_ = 0.0f;
  std::size_t last_epoch_stepped_ = 0;
  float rest_below_loss_ = 0.0f;
  std::array<std::uint8_t, Capacity> resting_{};  // 1: passed by in the next epoch
};

}  // namespace microtl
