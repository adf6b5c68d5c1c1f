// The passes of a training step over the training arena: the forward walk (graph/walk.hpp)
// with the placement policies of the frozen part and of the trainable part, and the
// backward walk from the loss down to the earliest trainable layer, each layer writing its
// parameter gradients into the sink the step's policy calls for (train/gradient_sink.hpp).
// Trainer<...> (train/trainer.hpp) owns one and decides what runs when.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/core/element.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/graph/walk.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/quant/quant_info.hpp"
#include "microtl/train/gradient_sink.hpp"
#include "microtl/train/trained_tensors.hpp"

namespace microtl {

template <class Layout, class Model>
class TrainingPass {
 public:
  static constexpr std::size_t layer_count = Layout::layer_count;
  static constexpr std::size_t first_trainable = Layout::first_trainable;
  static constexpr std::size_t saved_from = Layout::saved_from;
  static constexpr bool features_are_input = Layout::features_are_input;
  static constexpr bool replays_dequantize = Layout::replays_dequantize;
  static constexpr auto& plan = Layout::plan;
  template <std::size_t I>
  using layer = typename Model::template layer<I>;
  using feature_element = typename Layout::feature_element;
  using cache_element = typename Layout::cache_element;
  using cache_shape = typename Layout::cache_shape;

  TrainingPass(Model& trained, std::byte* arena_bytes) noexcept
      : model_(trained), base_(arena_bytes) {}

  // Forward of layers 0 .. first_trainable-1; returns the features' address (and keeps
  // their quantization, for int8 features).
  const void* forward_prefix(typename Model::input_view input) noexcept {
    if constexpr (features_are_input) {
      features_quant_ = model_.input_quant();
      return input.data();
    } else {
      PrefixPolicy policy{*this};
      const auto end =
          graph::walk<0, first_trainable>(model_, input.data(), model_.input_quant(), policy);
      features_quant_ = end.quant;
      return end.output;
    }
  }

  // Forward of layers 0 .. saved_from-1 (the Dequantize's input): the int8 activation a
  // feature cache keeps. Its quantization is fixed by the model, kept for the replay.
  const void* forward_to_cache(typename Model::input_view input) noexcept {
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

  // The features of a cached activation whose codes have quantization `quant` (what
  // forward_to_cache saw when it was extracted: see cache_quant()).
  const void* features_from_cache(TensorView<const cache_element, cache_shape> cached,
                                  const quant::QuantParams& quant) noexcept {
    if constexpr (replays_dequantize) {
      // Re-run the Dequantize (and any views after it) into the saved features slot.
      float* replayed = at<float>(plan.activation_offset[saved_from]);
      quant::dequantize(
          std::span<const std::int8_t, cache_shape::size>(cached.data(), cache_shape::size),
          std::span<float, cache_shape::size>(replayed, cache_shape::size), quant);
      return replayed;
    } else {
      (void)quant;
      return cached.data();
    }
  }
  const void* features_from_cache(TensorView<const cache_element, cache_shape> cached) noexcept {
    return features_from_cache(cached, cache_quant_);
  }
  // The quantization of the last activation forward_to_cache produced.
  const quant::QuantParams& cache_quant() const noexcept { return cache_quant_; }

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

  // Backward from the loss's gradient (at the start of the shared region) down to the
  // earliest trainable layer, with the step's gradient policy (learning_rate: for
  // sgd_in_place).
  template <GradientPolicy Policy>
  void backward(float learning_rate) noexcept {
    static_assert(Policy != GradientPolicy::sgd_check, "microtl: use backward_check");
    backward_layer<layer_count - 1, Policy>(learning_rate);
  }

  // The fused SGD step (sgd_in_place) computed without writing: 0 when every new value
  // would meet the guard's invariant, NaN otherwise (the sum of their poisons).
  float backward_check(float learning_rate) noexcept {
    float poison = 0.0f;
    check_poison_ = &poison;
    backward_layer<layer_count - 1, GradientPolicy::sgd_check>(learning_rate);
    check_poison_ = nullptr;
    return poison;
  }

  // What layer I of the trainable part read in the last forward pass (float layers).
  template <std::size_t I>
  const float* input_of() const noexcept {
    return static_cast<const float*>(saved_input<I>());
  }

  template <class T>
  T* at(std::size_t offset) const noexcept {
    return static_cast<T*>(static_cast<void*>(base_ + offset));
  }

  // The training arena.
  std::byte* arena() const noexcept { return base_; }

 private:
  // The frozen part: outputs in the prefix plan (in the shared region), except saved_from's,
  // which goes to its saved slot.
  struct PrefixPolicy {
    TrainingPass& t;
    template <std::size_t I>
    auto* output() const noexcept {
      using Out = storage_t<typename layer<I>::output_element>;
      return I == saved_from
                 ? t.template at<Out>(plan.activation_offset[I])
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

  // The trainable part: kept outputs to their slots, passing ones (and kernel scratch) to
  // the shared region, free during this forward pass (the prefix is done, the gradients do
  // not exist yet); int8 quantizations kept for the backward pass; layers that keep bytes of
  // their own save them.
  struct RegionPolicy {
    TrainingPass& t;
    template <std::size_t I>
    auto* output() const noexcept {
      using Out = storage_t<typename layer<I>::output_element>;
      return t.template at<Out>(plan.activation_offset[I]);
    }
    template <std::size_t I>
    std::span<std::byte> scratch() const noexcept {
      return {t.base_ + plan.shared_offset + plan.region.scratch_offset[I],
              layer<I>::scratch_bytes};
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
  // (An activation that was not kept (graph/training_plan.hpp) is seen where it passed during
  // the forward pass, in the shared region: by the backward pass the gradients have written
  // over it. The layer declared that its backward does not read it.)
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
    return {TensorView<const In, typename L::input_shape>::unchecked(
                static_cast<const In*>(saved_input<I>())),
            saved_input_quant<I>(),
            TensorView<const Out, typename L::output_shape>::unchecked(
                at<const Out>(plan.activation_offset[I])),
            y_quant, std::span<std::byte>(base_ + plan.saved_offset[I], saved_bytes)};
  }

  // The sink layer I's backward puts its parameter gradients into, for this sample's policy.
  template <std::size_t I, GradientPolicy Policy>
  auto sink_of(float learning_rate) noexcept {
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
    constexpr bool in_place =
        Policy == GradientPolicy::sgd_in_place || Policy == GradientPolicy::sgd_check;
    using State = std::remove_cvref_t<decltype(model_.template state<I>())>;
    GradientSinkFor<policy, tensor_count, mask,
                    std::conditional_t<Policy == GradientPolicy::sgd_check, State, void>>
        sink{};
    if constexpr (in_place) {
      sink.step = learning_rate;
      model_.template state<I>().for_each_trained(
          [&](auto tensor, auto values) { sink.target[decltype(tensor)::value] = values.data(); });
      if constexpr (Policy == GradientPolicy::sgd_check) {
        sink.state = &model_.template state<I>();
        sink.poison = check_poison_;
      }
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

  // dL/dy and dL/dx of each layer at the ends of the shared region the plan gives them.
  template <std::size_t I, GradientPolicy Policy>
  void backward_layer(float learning_rate) noexcept {
    using L = layer<I>;
    if constexpr (L::placement != OutputPlacement::view) {
      constexpr bool input_grad = I > first_trainable;
      const auto dy = TensorView<float, typename L::output_shape>::unchecked(
          at<float>(plan.shared_offset + plan.output_grad_offset[I]));
      const auto dx = TensorView<float, typename L::input_shape>::unchecked(
          at<float>(plan.shared_offset + plan.input_grad_offset[I]));
      if constexpr (is_trainable_v<L>) {
        const auto sink = sink_of<I, Policy>(learning_rate);
        L::template backward<input_grad>(model_.template parameters<I>(), record<I>(), dy, dx,
                                         sink);
      } else {
        L::template backward<input_grad>(model_.template parameters<I>(), record<I>(), dy, dx,
                                         NoGradients{});
      }
    }
    if constexpr (I > first_trainable) {
      backward_layer<I - 1, Policy>(learning_rate);
    }
  }

  Model& model_;
  std::byte* base_;
  const void* features_ = nullptr;
  float* check_poison_ = nullptr;            // during backward_check
  quant::QuantParams cache_quant_{1.0f, 0};  // of the cached int8 activations (fixed by the model)
  quant_info_t<feature_element> features_quant_{};  // of int8 features (fixed by the model)
  std::array<quant::QuantParams, layer_count> region_quant_{};  // int8 outputs, trainable part
};

}  // namespace microtl
