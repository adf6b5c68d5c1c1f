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
// with the average. Labels and targets are validated: a bad one returns a Status and
// changes nothing.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include "microtl/config.hpp"
#include "microtl/core/arena.hpp"
#include "microtl/core/status.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/graph/sequential.hpp"
#include "microtl/graph/training_plan.hpp"
#include "microtl/graph/walk.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/quantize.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/train/gradient_sink.hpp"
#include "microtl/train/loss.hpp"
#include "microtl/train/optimizer.hpp"
#include "microtl/train/trainable.hpp"
#include "microtl/train/trained_tensors.hpp"
#include "microtl/train/update.hpp"

namespace microtl {

namespace train_detail {

template <class L>
constexpr graph::TrainingFootprint footprint_of() noexcept {
  std::size_t saved = 0;
  if constexpr (BackwardLayer<L>) {
    saved = L::backward_saved_bytes;
  }
  return {{L::input_shape::size * sizeof(storage_t<typename L::input_element>),
           L::output_shape::size * sizeof(storage_t<typename L::output_element>),
           L::scratch_bytes, L::placement},
          trained_values_of_v<L>,
          saved,
          L::input_shape::size * sizeof(float),
          L::output_shape::size * sizeof(float)};
}

// Layer I runs backward in a training step: it must be a view or a BackwardLayer. (The
// failing instantiation names the layer's type.)
template <std::size_t I, class L>
constexpr bool check_backward_layer() {
  static_assert(L::placement == OutputPlacement::view || BackwardLayer<L>,
                "microtl::Trainer: a layer between the loss and the earliest trainable layer has "
                "no backward pass (it lacks backward_saved_bytes or backward<InputGrad, Sink>; "
                "see layers/contract.hpp). int8 layers there must be BiasOnly<...>, pools, "
                "activations, Flatten or the Dequantize.");
  if constexpr (is_trainable_v<L>) {
    static_assert(TrainableLayer<L>,
                  "microtl::Trainer: this trainable layer does not meet TrainableLayer "
                  "(layers/contract.hpp)");
  }
  if constexpr (SavesForBackward<L> || L::placement == OutputPlacement::view) {
  } else {
    static_assert(L::backward_saved_bytes == 0,
                  "microtl::Trainer: a layer that saves bytes for backward must provide "
                  "save_for_backward (layers/contract.hpp)");
  }
  return true;
}

}  // namespace train_detail

template <class Model, class Loss, class Optimizer, bool Guard = (MICROTL_DIVERGENCE_GUARD != 0)>
class Trainer {
  static_assert(LossFunction<Loss>, "microtl::Trainer: Loss does not meet the Loss contract "
                                    "(train/loss.hpp)");
  static_assert(OptimizerRule<Optimizer>, "microtl::Trainer: Optimizer does not meet the "
                                          "Optimizer contract (train/optimizer.hpp)");

 public:
  static constexpr std::size_t layer_count = Model::layer_count;
  template <std::size_t I>
  using layer = typename Model::template layer<I>;

  // ---------------------------------------------------------------------------------------
  // The memory plan (graph/training_plan.hpp), and what it says runs where.
  // ---------------------------------------------------------------------------------------
  static constexpr graph::TrainingPlan<layer_count> plan =
      graph::plan_training([]<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<graph::TrainingFootprint, layer_count>{
            train_detail::footprint_of<layer<I>>()...};
      }(std::make_index_sequence<layer_count>{}),
                           Optimizer::state_per_parameter);

  static constexpr std::size_t first_trainable = plan.first_trainable;
  static_assert(first_trainable < layer_count,
                "microtl::Trainer: the model has no Trainable<...> or BiasOnly<...> layer");
  // The layer whose output is the first saved activation: the last layer before the
  // trainable part that is not a view (a Flatten), or layer_count when the trainable part
  // reads the model's input directly.
  static constexpr std::size_t saved_from = plan.saved_from;
  static constexpr bool features_are_input = saved_from == layer_count;
  static constexpr std::size_t saved_begin = plan.saved_begin;

  // The features: what flows into the earliest trainable layer (float, or int8 when the
  // earliest trainable layer is an int8 BiasOnly layer).
  using feature_shape = typename layer<first_trainable>::input_shape;
  using feature_element = typename layer<first_trainable>::input_element;
  using feature_storage = storage_t<feature_element>;
  static constexpr bool features_int8 = std::is_same_v<feature_element, QInt8>;
  using feature_view = TensorView<const feature_storage, feature_shape>;

  // What a feature cache stores per sample: the features, or, when they are only the
  // dequantized copy of an int8 activation, that int8 activation (4x less memory; the
  // Dequantize runs again when the sample is used, which costs one multiply per value).
  static constexpr bool replays_dequantize = [] {
    if constexpr (features_are_input || features_int8) {
      return false;
    } else {
      return std::is_same_v<layer<saved_from>,
                            layers::DequantizeLayer<typename layer<saved_from>::input_shape>>;
    }
  }();
  static constexpr bool caches_int8 = features_int8 || replays_dequantize;
  using cache_element = std::conditional_t<caches_int8, std::int8_t, float>;
  using cache_shape = std::conditional_t<
      replays_dequantize,
      typename layer<(replays_dequantize ? saved_from : first_trainable)>::input_shape,
      feature_shape>;
  using output_shape = typename Model::output_shape;
  using Target = typename Loss::template Target<output_shape::size>;
  using model_input_view = typename Model::input_view;

  static_assert(std::is_same_v<typename Model::output_element, float>,
                "microtl::Trainer: the model's output must be float");
  static_assert([]<std::size_t... I>(std::index_sequence<I...>) {
    return (train_detail::check_backward_layer<first_trainable + I,
                                               layer<first_trainable + I>>() &&
            ...);
  }(std::make_index_sequence<layer_count - first_trainable>{}));

  // Checks a target (a label in range, finite values) without training.
  static Status validate(const Target& target) noexcept {
    return Loss::template validate<output_shape::size>(target);
  }

 private:
  template <std::size_t I>
  static constexpr bool single_write() {
    if constexpr (is_trainable_v<layer<I>>) {
      return layer<I>::single_gradient_write;
    } else {
      return true;
    }
  }

 public:
  // Plain SGD fused into the backward pass: possible when there is no divergence guard (it
  // must check before writing) and every trainable layer writes each gradient once
  // (single_gradient_write); used at run time for batch 1 without weight decay or clipping.
  // Same arithmetic, no gradient buffer traffic.
  static constexpr bool fusable =
      !Guard && std::is_same_v<Optimizer, SGD> &&
      []<std::size_t... I>(std::index_sequence<I...>) {
        return (single_write<I>() && ...);
      }(std::make_index_sequence<layer_count>{});

  static constexpr std::size_t training_arena_bytes = plan.bytes;
  static constexpr std::size_t parameter_grad_bytes = plan.parameter_grad_bytes;
  static constexpr std::size_t optimizer_state_bytes = plan.optimizer_state_bytes;
  static constexpr std::size_t saved_activation_bytes = plan.saved_activation_bytes;
  static constexpr std::size_t gradient_buffer_bytes = 2 * plan.gradient_buffer_bytes;
  using TrainingArena = Arena<training_arena_bytes>;

  // ---------------------------------------------------------------------------------------
  // Use.
  // ---------------------------------------------------------------------------------------
  Trainer(Model& model, Optimizer optimizer, TrainingArena& arena,
          std::size_t batch_size = 1) noexcept
      : model_(model),
        optimizer_(optimizer),
        base_(arena.bytes().data()),
        batch_size_(batch_size > 0 ? batch_size : 1) {
    std::fill(arena.bytes().begin(), arena.bytes().end(), std::byte{0});
  }

  // One training sample from the model's input: forward through the whole model, loss,
  // backward through the trainable part, gradients accumulated; after `batch_size` samples
  // the optimizer updates the parameters. A bad target returns its Status before any
  // gradient is touched.
  Status step(model_input_view input, const Target& target) noexcept {
    return train_on(forward_prefix(input), target);
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
    const auto* f = static_cast<const feature_storage*>(forward_prefix(input));
    std::copy(f, f + feature_shape::size, features.data());
  }

  // Runs the frozen layers up to the cached activation and copies it out (feature caches).
  void extract_cached(model_input_view input, TensorView<cache_element, cache_shape> out) noexcept {
    if constexpr (replays_dequantize) {
      const auto* codes = static_cast<const std::int8_t*>(forward_to_cache(input));
      std::copy(codes, codes + cache_shape::size, out.data());
    } else {
      extract_features(input, TensorView<feature_storage, feature_shape>(out.data()));
    }
  }

  // One training sample from a cached activation (see extract_cached).
  Status step_cached(TensorView<const cache_element, cache_shape> cached,
                     const Target& target) noexcept {
    return train_on(features_from_cache(cached), target);
  }

  // The model's output for a cached activation (valid until the next call).
  TensorView<const float, output_shape> predict_cached(
      TensorView<const cache_element, cache_shape> cached) noexcept {
    return TensorView<const float, output_shape>(forward_region(features_from_cache(cached)));
  }

  // Forward through the trainable part only; returns the model's output (valid until the
  // next call).
  TensorView<const float, output_shape> predict_features(feature_view features) noexcept {
    return TensorView<const float, output_shape>(forward_region(features.data()));
  }

  // Applies the gradients accumulated so far (also a last, partial batch; ok when none).
  //   ok        the parameters moved
  //   diverged  the update would have made a parameter or the optimizer state NaN or
  //             infinite (or the clipped gradient norm is not finite): nothing was
  //             changed, and the batch's gradients are dropped (divergence guard)
  Status apply() noexcept {
    if (accumulated_ == 0) {
      return Status::ok;
    }
    const Status status = apply_update<Guard>(model_, optimizer_, base_, plan, accumulated_,
                                              max_grad_norm_);
    if (status == Status::diverged) {
      ++diverged_steps_;
    }
    accumulated_ = 0;  // the next sample writes its gradients over these
    return status;
  }

  // Clips the mean gradient of each update to this L2 norm (0: no clipping, the default).
  void set_gradient_clipping(float max_norm) noexcept {
    max_grad_norm_ = max_norm > 0.0f ? max_norm : 0.0f;
  }

  // Updates refused by the divergence guard since the trainer was made.
  std::size_t diverged_steps() const noexcept { return diverged_steps_; }

  float last_loss() const noexcept { return last_loss_; }
  std::size_t batch_size() const noexcept { return batch_size_; }
  Optimizer& optimizer() noexcept { return optimizer_; }

 private:
  template <class T>
  T* at(std::size_t offset) const noexcept {
    return static_cast<T*>(static_cast<void*>(base_ + offset));
  }

  // ---------------------------------------------------------------------------------------
  // Forward: the graph walk with three placement policies.
  // ---------------------------------------------------------------------------------------

  // The frozen part: outputs in the prefix plan (in the shared region), except saved_from's,
  // which goes to its saved slot.
  struct PrefixPolicy {
    Trainer& t;
    template <std::size_t I>
    auto* output() const noexcept {
      using Out = storage_t<typename layer<I>::output_element>;
      return I == saved_from ? t.template at<Out>(plan.activation_offset[I])
                             : t.template at<Out>(plan.shared_offset + plan.prefix.output_offset[I]);
    }
    template <std::size_t I>
    std::span<std::byte> scratch() const noexcept {
      return {t.base_ + plan.shared_offset + plan.prefix.scratch_offset[I],
              layer<I>::scratch_bytes};
    }
    template <std::size_t I, class InQuant, class Out, class OutQuant>
    void after(const void*, InQuant, const Out*, OutQuant) const noexcept {}
  };

  // The trainable part: every output to its saved slot; int8 quantizations kept for the
  // backward pass; layers that keep bytes of their own save them.
  struct RegionPolicy {
    Trainer& t;
    template <std::size_t I>
    auto* output() const noexcept {
      static_assert(layer<I>::scratch_bytes == 0,
                    "microtl::Trainer: layers that train need no kernel scratch");
      using Out = storage_t<typename layer<I>::output_element>;
      return t.template at<Out>(plan.activation_offset[I]);
    }
    template <std::size_t I>
    std::span<std::byte> scratch() const noexcept {
      return {};
    }
    template <std::size_t I, class InQuant, class Out, class OutQuant>
    void after(const void*, InQuant, const Out*, OutQuant out_quant) const noexcept {
      using L = layer<I>;
      if constexpr (std::is_same_v<OutQuant, quant::QuantParams>) {
        t.region_quant_[I] = out_quant;
      }
      if constexpr (SavesForBackward<L>) {
        L::save_for_backward(t.model_.template parameters<I>(), t.template record<I>());
      }
    }
  };

  // Forward of layers 0 .. first_trainable-1; returns the features' address (and keeps
  // their quantization, for int8 features).
  const void* forward_prefix(model_input_view input) noexcept {
    if constexpr (features_are_input) {
      features_quant_ = model_.input_quant();
      return input.data();
    } else {
      PrefixPolicy policy{*this};
      const auto end = graph::walk<0, first_trainable>(model_, input.data(),
                                                       model_.input_quant(), policy);
      features_quant_ = end.quant;
      return end.output;
    }
  }

  // Forward of layers 0 .. saved_from-1 (the Dequantize's input): the int8 activation a
  // feature cache keeps. Its quantization is fixed by the model, kept for the replay.
  const void* forward_to_cache(model_input_view input) noexcept {
    if constexpr (saved_from == 0) {
      cache_quant_ = model_.input_quant();
      return input.data();
    } else {
      PrefixPolicy policy{*this};
      const auto end =
          graph::walk<0, saved_from>(model_, input.data(), model_.input_quant(), policy);
      cache_quant_ = end.quant;
      return end.output;
    }
  }

  const void* features_from_cache(TensorView<const cache_element, cache_shape> cached) noexcept {
    if constexpr (replays_dequantize) {
      // Re-run the Dequantize (and any views after it) into the saved features slot.
      float* features = at<float>(plan.activation_offset[saved_from]);
      quant::dequantize(
          std::span<const std::int8_t, cache_shape::size>(cached.data(), cache_shape::size),
          std::span<float, cache_shape::size>(features, cache_shape::size), cache_quant_);
      return features;
    } else {
      return cached.data();
    }
  }

  // Forward of the trainable part from the features; every output goes to its saved slot.
  const float* forward_region(const void* features) noexcept {
    features_ = features;
    RegionPolicy policy{*this};
    return static_cast<const float*>(
        graph::walk<first_trainable, layer_count>(model_, features, features_quant_, policy)
            .output);
  }

  // The input scale an int8 trainable layer was quantized for must be the one that flows
  // into it (its int32 bias is requantized with it).
  template <std::size_t... I>
  bool input_scales_agree(std::index_sequence<I...>) const noexcept {
    return (input_scale_agrees<first_trainable + I>() && ...);
  }
  template <std::size_t I>
  bool input_scale_agrees() const noexcept {
    using L = layer<I>;
    if constexpr (is_trainable_v<L> && std::is_same_v<typename L::input_element, QInt8>) {
      return model_.template state<I>().input_scale() == saved_input_quant<I>().scale;
    } else {
      return true;
    }
  }

  Status train_on(const void* features, const Target& target) noexcept {
    // A NaN or infinity reaching the trainable layers would spread into their gradients and
    // parameters: refuse the sample instead. (In the frozen part a ReLU or a quantization
    // may already have removed it; what matters is what reaches the trainable part.)
    if constexpr (!features_int8) {
      const auto* f = static_cast<const float*>(features);
      for (std::size_t i = 0; i < feature_shape::size; ++i) {
        if (!std::isfinite(f[i])) {
          return Status::not_finite;
        }
      }
    }
    const float* output = forward_region(features);
    if (!input_scales_agree(std::make_index_sequence<layer_count - first_trainable>{})) {
      return Status::model_mismatch;
    }
    float* grad = at<float>(plan.shared_offset);
    const Result<float> loss = Loss::template loss_and_grad<output_shape::size>(
        std::span<const float, output_shape::size>(output, output_shape::size), target,
        std::span<float, output_shape::size>(grad, output_shape::size));
    if (!loss.ok()) {
      return loss.status();
    }
    last_loss_ = loss.value();
    if constexpr (fusable) {
      if (fused_active()) {
        backward_layer<layer_count - 1, GradientPolicy::sgd_in_place>(0);
        return Status::ok;  // the backward pass has updated the parameters
      }
    }
    if (accumulated_ == 0) {
      backward_layer<layer_count - 1, GradientPolicy::overwrite>(0);
    } else {
      backward_layer<layer_count - 1, GradientPolicy::accumulate>(0);
    }
    ++accumulated_;
    if (accumulated_ >= batch_size_) {
      return apply();
    }
    return Status::ok;
  }

  // ---------------------------------------------------------------------------------------
  // Backward.
  // ---------------------------------------------------------------------------------------

  // What layer I's forward left: its saved input and output with their quantization.
  template <std::size_t I>
  const void* saved_input() const noexcept {
    if constexpr (I == first_trainable) {
      return features_;
    } else {
      return at<const std::byte>(plan.activation_offset[I - 1]);
    }
  }
  template <std::size_t I>
  quant_info_t<typename layer<I>::input_element> saved_input_quant() const noexcept {
    if constexpr (std::is_same_v<typename layer<I>::input_element, float>) {
      return {};
    } else if constexpr (I == first_trainable) {
      return features_quant_;
    } else {
      return region_quant_[I - 1];
    }
  }
  template <std::size_t I>
  ForwardRecord<layer<I>> record() const noexcept {
    using L = layer<I>;
    using In = storage_t<typename L::input_element>;
    using Out = storage_t<typename L::output_element>;
    quant_info_t<typename L::output_element> y_quant{};
    if constexpr (std::is_same_v<typename L::output_element, QInt8>) {
      y_quant = region_quant_[I];
    }
    std::size_t saved_bytes = 0;
    if constexpr (BackwardLayer<L>) {
      saved_bytes = L::backward_saved_bytes;
    }
    return {TensorView<const In, typename L::input_shape>(static_cast<const In*>(saved_input<I>())),
            saved_input_quant<I>(),
            TensorView<const Out, typename L::output_shape>(at<const Out>(plan.activation_offset[I])),
            y_quant, std::span<std::byte>(base_ + plan.saved_offset[I], saved_bytes)};
  }

  // The sink layer I's backward puts its parameter gradients into, for this sample's policy.
  template <std::size_t I, GradientPolicy Policy>
  auto sink_of() noexcept {
    using L = layer<I>;
    constexpr std::size_t tensor_count = [] {
      std::size_t count = 0;
      for (const TrainedTensor& t : L::trained_tensors) {
        count = t.index + 1 > count ? t.index + 1 : count;
      }
      return count;
    }();
    constexpr std::uint32_t mask = [] {
      std::uint32_t m = 0;
      for (const TrainedTensor& t : L::trained_tensors) {
        m |= 1U << t.index;
      }
      return m;
    }();
    // A layer that adds several contributions per value gets cleared gradients instead of
    // an overwriting sink.
    constexpr GradientPolicy policy =
        (Policy == GradientPolicy::overwrite && !L::single_gradient_write)
            ? GradientPolicy::accumulate
            : Policy;
    GradientSinkFor<policy, tensor_count, mask> sink{};
    if constexpr (Policy == GradientPolicy::sgd_in_place) {
      sink.step = optimizer_.learning_rate;
      model_.template state<I>().for_each_trained(
          [&](auto tensor, auto values) { sink.target[decltype(tensor)::value] = values.data(); });
    } else {
      for (const TrainedTensor& t : L::trained_tensors) {
        sink.target[t.index] = at<float>(plan.grad_offset[I]) + trained_values_before<L>(t.index);
      }
      if constexpr (Policy == GradientPolicy::overwrite && !L::single_gradient_write) {
        float* g = at<float>(plan.grad_offset[I]);
        std::fill(g, g + L::trained_value_count, 0.0f);
      }
    }
    return sink;
  }

  template <std::size_t I, GradientPolicy Policy>
  void backward_layer(std::size_t current) noexcept {
    using L = layer<I>;
    std::size_t next = current;
    if constexpr (L::placement != OutputPlacement::view) {
      constexpr bool input_grad = I > first_trainable;
      next = 1 - current;
      const TensorView<float, typename L::output_shape> dy(
          at<float>(plan.shared_offset + current * plan.gradient_buffer_bytes));
      const TensorView<float, typename L::input_shape> dx(
          at<float>(plan.shared_offset + next * plan.gradient_buffer_bytes));
      if constexpr (is_trainable_v<L>) {
        const auto sink = sink_of<I, Policy>();
        L::template backward<input_grad>(model_.template parameters<I>(), record<I>(), dy, dx,
                                         sink);
      } else {
        L::template backward<input_grad>(model_.template parameters<I>(), record<I>(), dy, dx,
                                         NoGradients{});
      }
    }
    if constexpr (I > first_trainable) {
      backward_layer<I - 1, Policy>(next);
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
  std::byte* base_;
  std::size_t batch_size_;
  std::size_t accumulated_ = 0;
  const void* features_ = nullptr;
  float last_loss_ = 0.0f;
  float max_grad_norm_ = 0.0f;
  std::size_t diverged_steps_ = 0;
  quant::QuantParams cache_quant_{1.0f, 0};  // of the cached int8 activations (fixed by the model)
  quant_info_t<feature_element> features_quant_{};  // of int8 features (fixed by the model)
  std::array<quant::QuantParams, layer_count>
      region_quant_{};  // of int8 outputs in the trainable part
};

}  // namespace microtl
