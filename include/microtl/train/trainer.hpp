// Trainer<Model, Loss, Optimizer>: on-device training of a model's trainable layers.
//
//   using Model = Sequential<Extractor, Dequantize, Trainable<Dense<32>>, ReLU,
//                            Trainable<Dense<10>>>;
//   using T = Trainer<Model, SoftmaxCrossEntropy, SGDMomentum>;
//   static T::TrainingArena arena;                       // T::training_arena_bytes, constexpr
//   T trainer(model, SGDMomentum{0.01f, 0.9f, 2e-4f}, arena);
//   Status s = trainer.step(image, label);              // forward, loss, backward, update
//
// What runs, and what exists in the binary:
//  - layers before the earliest trainable one run forward only; no backward code is
//    instantiated for them;
//  - from the last layer down to the earliest trainable one, each layer's backward runs;
//    the earliest trainable layer is instantiated without its input gradient;
//  - the optimizer updates only trainable tensors; gradients and optimizer state exist only
//    for them.
//
// The parts: the memory plan (graph/training_plan.hpp, from each layer's footprint), the
// forward walk (graph/walk.hpp, with the policies below), each layer's backward with a
// gradient sink (train/gradient_sink.hpp), and the update with its divergence guard
// (train/update.hpp). Feature caches (train/feature_cache.hpp) use extract_cached and
// step_cached.
//
// Mini-batches by accumulation: `batch_size` steps add their gradients, then one update
// with the average.
//
// What protects the model (the invariant and its bounds: train/guard.hpp). Every sample is
// checked before anything is touched, and a refused one changes nothing:
//   invalid_argument     a hyper-parameter out of its range (Optimizer::validate)
//   label_out_of_range   a label beyond the classes (Loss::validate; not_finite for a
//                        non-finite regression target)
//   not_finite           a float feature reaching the trainable part is NaN or infinite, or
//   out_of_range         beyond guard::feature_limit, or the sample's loss is not finite:
//                        the input is the cause (counted in refused_samples())
//   model_mismatch       an int8 bias-only layer's input scale differs from its parameters'
// and, with Guard (the default), an update that would break the invariant is refused:
//   diverged             the update is the cause; nothing changed; counted in
//                        diverged_steps()
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>

#include "microtl/config.hpp"
#include "microtl/core/arena.hpp"
#include "microtl/core/diagnostics.hpp"
#include "microtl/core/status.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/graph/sequential.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/train/fused_guard.hpp"
#include "microtl/train/gradient_sink.hpp"
#include "microtl/train/guard.hpp"
#include "microtl/train/loss.hpp"
#include "microtl/train/optimizer.hpp"
#include "microtl/train/trainable.hpp"
#include "microtl/train/training_layout.hpp"
#include "microtl/train/training_pass.hpp"
#include "microtl/train/update.hpp"

namespace microtl {

template <class Model, class Loss, class Optimizer, bool Guard = (MICROTL_DIVERGENCE_GUARD != 0)>
class Trainer : public TrainingLayout<Model, Loss, Optimizer, Guard> {
  using Layout = TrainingLayout<Model, Loss, Optimizer, Guard>;

 public:
  using Layout::boundable;
  using Layout::features_int8;
  using Layout::first_trainable;
  using Layout::fusable;
  using Layout::layer_count;
  using Layout::plan;
  using Layout::replays_dequantize;
  using typename Layout::cache_element;
  using typename Layout::cache_shape;
  using typename Layout::feature_shape;
  using typename Layout::feature_storage;
  using typename Layout::feature_view;
  using typename Layout::model_input_view;
  using typename Layout::output_shape;
  using typename Layout::Target;
  using typename Layout::TrainingArena;

  // ---------------------------------------------------------------------------------------
  // Use.
  // ---------------------------------------------------------------------------------------
  // The arena is normally a TrainingArena (exactly training_arena_bytes); a larger Arena
  // works too, and a smaller one is a compile error that gives both sizes.
  template <std::size_t Bytes, std::size_t Alignment>
  Trainer(Model& trained, Optimizer optimizer, Arena<Bytes, Alignment>& working_memory,
          std::size_t batch_size = 1) noexcept
      : model_(trained),
        optimizer_(optimizer),
        pass_(trained, working_memory.bytes().data()),
        batch_size_(batch_size > 0 ? batch_size : 1) {
    static_assert(diagnostics::arena_too_small<Layout::training_arena_bytes, Bytes>::fits,
                  "microtl::Trainer: the arena is smaller than training_arena_bytes");
    static_assert(Alignment >= TrainingArena::alignment,
                  "microtl::Trainer: the arena must be aligned like TrainingArena");
    std::fill(working_memory.bytes().begin(), working_memory.bytes().end(), std::byte{0});
  }

  // One training sample from the model's input: forward through the whole model, loss,
  // backward through the trainable part, gradients accumulated; after `batch_size` samples
  // the optimizer updates the parameters. A bad target or input returns its Status before
  // any gradient is touched (a float model input is held to the guard's bound X too: a
  // Quantize layer would silently turn NaN into a valid code).
  Status step(model_input_view input, const Target& target) noexcept {
    MICROTL_TRY(check_model_input(input));
    return train_on(pass_.forward_prefix(input), target);
  }

  // The same from precomputed features (the input of the earliest trainable layer): the
  // frozen layers do not run at all. (int8 features take the quantization of the last
  // extraction: run extract_features or a step first.)
  Status step_features(feature_view features, const Target& target) noexcept {
    return train_on(features.data(), target);
  }

  // Runs the frozen layers only and copies the features out.
  void extract_features(model_input_view input,
                        TensorView<feature_storage, feature_shape> features) noexcept {
    const auto* f = static_cast<const feature_storage*>(pass_.forward_prefix(input));
    std::copy(f, f + feature_shape::size, features.data());
  }

  // Runs the frozen layers up to the cached activation and copies it out (feature caches).
  void extract_cached(model_input_view input, TensorView<cache_element, cache_shape> out) noexcept {
    if constexpr (replays_dequantize) {
      const auto* codes = static_cast<const std::int8_t*>(pass_.forward_to_cache(input));
      std::copy(codes, codes + cache_shape::size, out.data());
    } else {
      extract_features(input, TensorView<feature_storage, feature_shape>(out.span()));
    }
  }

  // The quantization of the codes the last extract_cached produced (int8 caches): a feature
  // cache keeps it with its samples, so that any trainer of the model replays them right.
  const quant::QuantParams& cache_quant() const noexcept { return pass_.cache_quant(); }

  // One training sample from a cached activation (see extract_cached), with the
  // quantization of its codes (int8 caches; ignored otherwise), or the last extraction's.
  Status step_cached(TensorView<const cache_element, cache_shape> cached,
                     const quant::QuantParams& quant, const Target& target) noexcept {
    if constexpr (replays_dequantize) {
      // The codes' quantization bounds every replayed feature (guard bound X): one test
      // instead of one per value, and the bound feeds the fused guard's.
      const Result<float> bound = guard::replay_bound(quant);
      if (!bound.ok()) {
        ++refused_samples_;
        return bound.status();
      }
      return train_on(pass_.features_from_cache(cached, quant), target, bound.value());
    } else {
      return train_on(pass_.features_from_cache(cached, quant), target);
    }
  }
  Status step_cached(TensorView<const cache_element, cache_shape> cached,
                     const Target& target) noexcept {
    return step_cached(cached, pass_.cache_quant(), target);
  }

  // The model's output for a cached activation (valid until the next call), likewise.
  TensorView<const float, output_shape> predict_cached(
      TensorView<const cache_element, cache_shape> cached,
      const quant::QuantParams& quant) noexcept {
    return TensorView<const float, output_shape>::unchecked(
        pass_.forward_region(pass_.features_from_cache(cached, quant)));
  }
  TensorView<const float, output_shape> predict_cached(
      TensorView<const cache_element, cache_shape> cached) noexcept {
    return predict_cached(cached, pass_.cache_quant());
  }

  // Forward through the trainable part only; returns the model's output (valid until the
  // next call).
  TensorView<const float, output_shape> predict_features(feature_view features) noexcept {
    return TensorView<const float, output_shape>::unchecked(pass_.forward_region(features.data()));
  }

  // Applies the gradients accumulated so far (also a last, partial batch; ok when none).
  //   ok                the parameters moved
  //   diverged          the update would have broken the guard's invariant (or a gradient
  //                     is not finite): nothing was changed, and the batch's gradients are
  //                     dropped (divergence guard)
  //   invalid_argument  a hyper-parameter was set out of its range since the last sample:
  //                     nothing was changed, and the gradients stay for the next apply()
  Status apply() noexcept {
    if (accumulated_ == 0) {
      return Status::ok;
    }
    const Status status =
        apply_update<Guard>(model_, optimizer_, pass_.arena(), plan, accumulated_, max_grad_norm_);
    if (status == Status::invalid_argument) {
      return status;
    }
    if (status == Status::diverged) {
      ++diverged_steps_;
    }
    accumulated_ = 0;  // the next sample writes its gradients over these
    return status;
  }

  // Clips the mean gradient of each update to this L2 norm (0: no clipping, the default).
  // invalid_argument (and no change) for a negative, NaN or infinite norm.
  Status set_gradient_clipping(float max_norm) noexcept {
    if (!(max_norm >= 0.0f && max_norm <= std::numeric_limits<float>::max())) {
      return Status::invalid_argument;
    }
    max_grad_norm_ = max_norm;
    return Status::ok;
  }

  // Skips the backward pass and the update of a sample whose loss is below `loss` (the head
  // already gets it right with a margin): such a step costs a forward pass only. 0 (the
  // default) skips none. invalid_argument (and no change) for a negative, NaN or infinite
  // value. With a feature cache, EarlyStopping (train/feature_cache.hpp) ends the epochs
  // once few samples still need a step.
  Status set_skip_below_loss(float loss) noexcept {
    if (!(loss >= 0.0f && loss <= std::numeric_limits<float>::max())) {
      return Status::invalid_argument;
    }
    skip_below_loss_ = loss;
    return Status::ok;
  }
  // Whether the last sample was skipped so; how many were since the trainer was made.
  bool last_sample_skipped() const noexcept { return last_skipped_; }
  std::size_t skipped_samples() const noexcept { return skipped_samples_; }

  // How the guard checks a fused SGD step (batch 1, plain SGD): bounded (the default: a
  // bound proves most steps safe in a few hundred instructions) or full (every new value
  // computed twice). Both refuse exactly the same steps (train/fused_guard.hpp).
  void set_guard_check(GuardCheck check) noexcept { guard_check_ = check; }
  GuardCheck guard_check() const noexcept { return guard_check_; }

  // Updates refused by the divergence guard since the trainer was made.
  std::size_t diverged_steps() const noexcept { return diverged_steps_; }
  // Samples refused for their input (not_finite or out_of_range features, a non-finite
  // loss) since the trainer was made.
  std::size_t refused_samples() const noexcept { return refused_samples_; }

  float last_loss() const noexcept { return last_loss_; }
  std::size_t batch_size() const noexcept { return batch_size_; }
  Optimizer& optimizer() noexcept { return optimizer_; }

 private:
  // features_bound >= 0: every feature is known to be within it (replayed int8 codes), no
  // need to test them one by one.
  Status train_on(const void* features, const Target& target,
                  float features_bound = -1.0f) noexcept {
    last_skipped_ = false;
    features_bound_ = features_bound;
    MICROTL_TRY(optimizer_.validate());
    // A NaN, infinity or huge value reaching the trainable layers would spread into their
    // gradients and parameters: refuse the sample instead (guard bound X). (In the frozen
    // part a ReLU or a quantization may already have removed it; what matters is what
    // reaches the trainable part. int8 codes are always in range.)
    if constexpr (!features_int8) {
      if (features_bound < 0.0f) {  // (else the caller has checked them)
        const Status input = guard::check_features(
            std::span<const float>(static_cast<const float*>(features), feature_shape::size));
        if (input != Status::ok) {
          ++refused_samples_;
          return input;
        }
      }
    }
    const float* output = pass_.forward_region(features);
    if (!pass_.input_scales_agree(std::make_index_sequence<layer_count - first_trainable>{})) {
      return Status::model_mismatch;
    }
    float* grad = pass_.template at<float>(plan.shared_offset);
    const Result<float> loss = Loss::template loss_and_grad<output_shape::size>(
        std::span<const float, output_shape::size>(output, output_shape::size), target,
        std::span<float, output_shape::size>(grad, output_shape::size));
    if (!loss.ok()) {
      if (loss.status() == Status::not_finite) {
        ++refused_samples_;
      }
      return loss.status();
    }
    last_loss_ = loss.value();
    last_skipped_ = last_loss_ < skip_below_loss_;
    if (last_skipped_) {
      ++skipped_samples_;
      return Status::ok;  // learned well enough: no backward pass, no update
    }
    if constexpr (fusable) {
      if (fused_active()) {
        return fused_step(grad);  // the backward pass updates the parameters
      }
    }
    if (accumulated_ == 0) {
      pass_.template backward<GradientPolicy::overwrite>(0.0f);
    } else {
      pass_.template backward<GradientPolicy::accumulate>(0.0f);
    }
    ++accumulated_;
    if (accumulated_ >= batch_size_) {
      return apply();
    }
    return Status::ok;
  }

  // Plain SGD inside the backward pass; with the guard, checked first (train/fused_guard.hpp:
  // by the bound when it proves the step, else by computing every new value).
  Status fused_step(float* loss_grad) noexcept {
    const float lr = optimizer_.learning_rate;
    std::array<float, layer_count> next_bound{};
    bool proven = false;
    if constexpr (Guard) {
      if constexpr (boundable) {
        if (guard_check_ == GuardCheck::bounded) {
          const float g =
              fused_guard::sum_of_magnitudes(loss_grad, output_shape::size) * fused_guard::slack;
          const auto input_of = [this]<std::size_t I>() { return pass_.template input_of<I>(); };
          const auto bound = [&] {
            return fused_guard::bound_step<layer_count - 1, first_trainable>(
                std::as_const(model_), lr, g, g, features_bound_, input_of, next_bound);
          };
          proven = bound();
          if (!proven) {
            fused_guard::rescan<first_trainable>(model_);
            proven = bound();
          }
        }
      }
      if (!proven) {
        // The check runs the backward pass, which works on the loss gradient in place: the
        // update's pass gets it back.
        std::array<float, output_shape::size> kept{};
        std::copy(loss_grad, loss_grad + output_shape::size, kept.begin());
        const float poison = pass_.backward_check(lr);
        std::copy(kept.begin(), kept.end(), loss_grad);
        if (poison != 0.0f) {
          ++diverged_steps_;
          return Status::diverged;
        }
      }
    }
    pass_.template backward<GradientPolicy::sgd_in_place>(lr);
    // The bounds of the values just written (or unknown: the next bounded step scans).
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            using L = typename Model::template layer<I>;
            if constexpr (is_trainable_v<L> &&
                          requires { model_.template state<I>().magnitude_bound; }) {
              model_.template state<I>().magnitude_bound =
                  proven ? next_bound[I] : guard::unknown_bound;
            }
          }(),
          ...);
    }(std::make_index_sequence<layer_count>{});
    (void)loss_grad;
    return Status::ok;
  }

  // The guard's bound (X) on a float model input that the frozen part consumes (when the
  // first layer trains, train_on checks the same values as features).
  Status check_model_input(model_input_view input) noexcept {
    using input_value = std::remove_const_t<typename model_input_view::element_type>;
    if constexpr (std::same_as<input_value, float> && first_trainable > 0) {
      const Status status = guard::check_features(
          std::span<const float>(input.data(), model_input_view::shape_type::size));
      if (status != Status::ok) {
        ++refused_samples_;
      }
      return status;
    } else {
      (void)input;
      return Status::ok;
    }
  }

  bool fused_active() const noexcept {
    if constexpr (fusable) {
      return batch_size_ == 1 && optimizer_.weight_decay == 0.0f && max_grad_norm_ == 0.0f;
    } else {
      return false;
    }
  }

  Model& model_;
  Optimizer optimizer_;
  TrainingPass<Layout, Model> pass_;
  std::size_t batch_size_;
  std::size_t accumulated_ = 0;
  float last_loss_ = 0.0f;
  float max_grad_norm_ = 0.0f;
  std::size_t diverged_steps_ = 0;
  std::size_t refused_samples_ = 0;
  GuardCheck guard_check_ = GuardCheck::bounded;
  float skip_below_loss_ = 0.0f;
  float features_bound_ = -1.0f;  // of this step's features, when known (else -1)
  bool last_skipped_ = false;
  std::size_t skipped_samples_ = 0;
};

}  // namespace microtl
