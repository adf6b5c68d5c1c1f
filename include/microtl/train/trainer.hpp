// Trainer<Model, Loss, Optimizer>: on-device training of a model's trainable layers.
//
//   using Model = Sequential<Extractor, Dequantize, Trainable<Dense<32>>, ReLU,
//   Trainable<Dense<10>>>; using T = Trainer<Model, SoftmaxCrossEntropy, SGDMomentum>; static
//   T::TrainingArena arena;                       // T::training_arena_bytes, constexpr T
//   trainer(model, SGDMomentum{0.01f, 0.9f, 2e-4f}, arena); Status s = trainer.step(image, label);
//   // forward, loss, backward, update
//
// What runs, and what exists in the binary:
//  - layers before the earliest trainable one run forward only; no backward code is
//    instantiated for them;
//  - from the last layer down to the earliest trainable one, each layer's backward runs;
//    the earliest trainable layer is instantiated without its input gradient;
//  - the optimizer updates only trainable tensors; gradients and optimizer state exist only
//    for them.
//
// Memory: one arena of `training_arena_bytes`, planned at compile time, owned by the caller
// and used by no one else while the trainer lives (it keeps the gradients and the optimizer
// state between steps):
//
//   [ parameter gradients | optimizer state | saved activations | prefix activations
//                                                                 or gradient buffers ]
//
// The saved activations are the outputs of the layers from the earliest trainable layer's
// input onwards (backward needs each layer's input and output); layers in front of them
// run in a ping-pong region (their activations are dead once the trainable part starts),
// which the two gradient buffers of the backward pass reuse.
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
#include "microtl/graph/memory_plan.hpp"
#include "microtl/graph/sequential.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/train/loss.hpp"
#include "microtl/train/optimizer.hpp"
#include "microtl/train/trainable.hpp"

namespace microtl {

namespace train_detail {

template <class L>
inline constexpr std::size_t trainable_count_v = [] {
  if constexpr (is_trainable_v<L>) {
    return L::trainable_count;
  } else {
    return std::size_t{0};
  }
}();

template <class L>
inline constexpr bool trains_weights_v = [] {
  if constexpr (is_trainable_v<L>) {
    return L::trains_weights;
  } else {
    return false;
  }
}();

// A layer the fused SGD path can handle: frozen, or trainable with fused_sgd.
template <class L>
inline constexpr bool fusable_layer_v = [] {
  if constexpr (!is_trainable_v<L>) {
    return true;
  } else {
    return requires {
      requires L::fused_sgd;
    };
  }
}();

template <class L>
constexpr std::size_t bytes_of_output() {
  return L::output_shape::size * sizeof(storage_t<typename L::output_element>);
}

}  // namespace train_detail

template <class Model, class Loss, class Optimizer, bool Guard = (MICROTL_DIVERGENCE_GUARD != 0)>
class Trainer {
 public:
  static constexpr std::size_t layer_count = Model::layer_count;
  template <std::size_t I>
  using layer = typename Model::template layer<I>;

  // ---------------------------------------------------------------------------------------
  // Which layers train, which run backward, which only run forward.
  // ---------------------------------------------------------------------------------------
  static constexpr std::size_t first_trainable = [] {
    std::size_t first = layer_count;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((first = (first == layer_count && is_trainable_v<layer<I>>) ? I : first), ...);
    }
    (std::make_index_sequence<layer_count>{});
    return first;
  }();
  static_assert(first_trainable < layer_count,
                "microtl::Trainer: the model has no Trainable<...> or BiasOnly<...> layer");

  // The layer whose output is the first saved activation: the last layer before the
  // trainable part that is not a view (a Flatten), or none (-1 as layer_count) when the
  // trainable part reads the model's input directly.
  static constexpr std::size_t saved_from = [] {
    std::size_t from = layer_count;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((from = (I < first_trainable && layer<I>::placement != OutputPlacement::view) ? I : from),
       ...);
    }
    (std::make_index_sequence<layer_count>{});
    return from;
  }();
  static constexpr bool features_are_input = saved_from == layer_count;
  static constexpr std::size_t prefix_count =
      features_are_input ? 0 : saved_from;  // layers in the ping-pong region
  // The first layer whose output has a saved slot.
  static constexpr std::size_t saved_begin = features_are_input ? first_trainable : saved_from;

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
      return requires {
        requires layer<saved_from>::is_dequantize;
      };
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

  // Checks a target (a label in range, finite values) without training.
  static Status validate(const Target& target) noexcept {
    return Loss::template validate<output_shape::size>(target);
  }

 private:
  // Every layer that runs backward: float, with backward(); or with an int8 side (an int8
  // BiasOnly layer, int8 pools and activations behind it, the Dequantize), with
  // backward_quantized().
  template <std::size_t I>
  static constexpr bool runs_backward() {
    using L = layer<I>;
    if constexpr (L::placement == OutputPlacement::view) {
      return true;
    } else if constexpr (std::is_same_v<typename L::input_element, float> &&
                         std::is_same_v<typename L::output_element, float>) {
      return requires {
        &L::template backward<true>;
      };
    } else {
      return requires {
        &L::template backward_quantized<true>;
      };
    }
  }
  template <std::size_t... I>
  static constexpr bool region_supported(std::index_sequence<I...>) {
    return (runs_backward<first_trainable + I>() && ...);
  }
  static_assert(
      region_supported(std::make_index_sequence<layer_count - first_trainable>{}),
      "microtl::Trainer: a layer between the loss and the earliest trainable layer has no backward "
      "pass "
      "(int8 layers there must be BiasOnly<...>, pools, activations, Flatten or the Dequantize)");

 public:
  // Plain SGD fused into the backward pass: possible when there is no divergence guard (it
  // must check before writing) and every trainable layer offers it; used at run time for
  // batch 1 without weight decay or clipping. Same arithmetic, no gradient buffer traffic.
  template <std::size_t... I>
  static constexpr bool all_fusable(std::index_sequence<I...>) {
    return (train_detail::fusable_layer_v<layer<I>> && ...);
  }
  static constexpr bool fusable = !Guard && std::is_same_v<Optimizer, SGD> &&
                                  all_fusable(std::make_index_sequence<layer_count>{});

 private:
  static_assert(std::is_same_v<typename Model::output_element, float>,
                "microtl::Trainer: the model's output must be float");

  // ---------------------------------------------------------------------------------------
  // The memory plan, at compile time.
  // ---------------------------------------------------------------------------------------
  struct Plan {
    std::array<std::size_t, layer_count> grad_offset{};   // parameter gradients of layer i
    std::array<std::size_t, layer_count> state_offset{};  // optimizer state of layer i
    std::array<std::size_t, layer_count>
        activation_offset{};                // saved output of layer i (i >= saved_from)
    std::size_t shared_offset = 0;          // prefix region / gradient buffers
    std::size_t gradient_buffer_bytes = 0;  // each of the two
    std::size_t parameter_grad_bytes = 0;
    std::size_t optimizer_state_bytes = 0;
    std::size_t saved_activation_bytes = 0;
    std::size_t prefix_bytes = 0;
    std::size_t bytes = 0;
  };

  static constexpr auto prefix_plan = [] {
    std::array<graph::LayerFootprint, prefix_count> footprints{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((footprints[I] = {layer<I>::input_shape::size *
                             sizeof(storage_t<typename layer<I>::input_element>),
                         train_detail::bytes_of_output<layer<I>>(), layer<I>::scratch_bytes,
                         layer<I>::placement}),
       ...);
    }
    (std::make_index_sequence<prefix_count>{});
    return graph::plan_inference(footprints);
  }();

  static constexpr Plan plan = [] {
    constexpr std::size_t a = MICROTL_ALIGNMENT;
    Plan p{};
    std::size_t cursor = 0;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      // Parameter gradients, then optimizer state, for the trainable layers.
      ((p.grad_offset[I] = cursor,
        cursor += align_up(train_detail::trainable_count_v<layer<I>> * sizeof(float), a)),
       ...);
      p.parameter_grad_bytes = cursor;
      ((p.state_offset[I] = cursor,
        cursor += align_up(Optimizer::state_per_parameter *
                               train_detail::trainable_count_v<layer<I>> * sizeof(float),
                           a)),
       ...);
      p.optimizer_state_bytes = cursor - p.parameter_grad_bytes;
      // Saved activations: every layer from saved_from on has its own slot, except views.
      const std::size_t saved_start = cursor;
      ((I >= saved_begin && !(I > saved_begin && layer<I>::placement == OutputPlacement::view)
            ? (p.activation_offset[I] = cursor,
               cursor += align_up(train_detail::bytes_of_output<layer<I>>(), a))
            : 0),
       ...);
      ((I > saved_begin && layer<I>::placement == OutputPlacement::view
            ? (p.activation_offset[I] = p.activation_offset[I - 1], 0)
            : 0),
       ...);
      p.saved_activation_bytes = cursor - saved_start;
      // The two gradient buffers hold dL/d(activation) of the layers that run backward: each
      // one's output gradient, and its input gradient except for the earliest trainable
      // layer's (never computed).
      std::size_t largest = 0;
      ((I >= first_trainable
            ? (largest = std::max(largest, layer<I>::output_shape::size * sizeof(float)), 0)
            : 0),
       ...);
      ((I > first_trainable
            ? (largest = std::max(largest, layer<I>::input_shape::size * sizeof(float)), 0)
            : 0),
       ...);
      p.gradient_buffer_bytes = align_up(largest, a);
    }
    (std::make_index_sequence<layer_count>{});
    p.prefix_bytes = prefix_plan.arena_bytes;
    p.shared_offset = cursor;
    cursor += std::max(2 * p.gradient_buffer_bytes, p.prefix_bytes);
    p.bytes = cursor;
    return p;
  }();

 public:
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
  Status step(typename Model::input_view input, const Target& target) noexcept {
    return train_on(forward_prefix(input), target);
  }

  // The same from precomputed features (the input of the earliest trainable layer): the
  // frozen layers do not run at all. (int8 features take the quantization of the last
  // extraction: run extract_features or a step first.)
  Status step_features(feature_view features, const Target& target) noexcept {
    return train_on(features.data(), target);
  }

  // Runs the frozen layers only and copies the features out.
  void extract_features(typename Model::input_view input,
                        TensorView<feature_storage, feature_shape> features) noexcept {
    const auto* f = static_cast<const feature_storage*>(forward_prefix(input));
    std::copy(f, f + feature_shape::size, features.data());
  }

  // Runs the frozen layers up to the cached activation and copies it out (feature caches).
  void extract_cached(typename Model::input_view input,
                      TensorView<cache_element, cache_shape> out) noexcept {
    if constexpr (replays_dequantize) {
      const auto [codes, quant] = forward_to_cache<0>(input.data(), model_.input_quant());
      cache_quant_ = quant;
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
    float scale = 1.0f / static_cast<float>(accumulated_);
    Status status = Status::ok;
    if (max_grad_norm_ > 0.0f) {
      // Gradient-norm clipping: the mean gradient g = sum / n has norm |sum| * scale; above
      // the limit, scale it down to the limit.
      float squares = 0.0f;
      for (std::size_t i = 0; i < plan.parameter_grad_bytes / sizeof(float); ++i) {
        const float gi = at<const float>(0)[i];
        squares += gi * gi;
      }
      const float norm = std::sqrt(squares) * scale;
      if (!std::isfinite(norm)) {
        status = Status::diverged;
      } else if (norm > max_grad_norm_) {
        scale *= max_grad_norm_ / norm;
      }
    }
    if (status == Status::ok) {
      const Optimizer before = optimizer_;  // its step counters (Adam's b^t) roll back too
      const auto context = optimizer_.begin_step();
      if constexpr (Guard) {
        if (!check_all(scale, context, std::make_index_sequence<layer_count>{})) {
          optimizer_ = before;
          status = Status::diverged;
        }
      }
      if (status == Status::ok) {
        update_all(scale, context, std::make_index_sequence<layer_count>{});
      }
    }
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

  // Forward of layers 0 .. first_trainable-1; returns the features' address (and keeps
  // their quantization, for int8 features).
  const void* forward_prefix(typename Model::input_view input) noexcept {
    if constexpr (features_are_input) {
      features_quant_ = model_.input_quant();
      return input.data();
    } else {
      return forward_prefix_layer<0>(input.data(), model_.input_quant());
    }
  }

  template <std::size_t I>
  const void* forward_prefix_layer(const void* input,
                                   quant_info_t<typename layer<I>::input_element> quant) noexcept {
    using L = layer<I>;
    using In = storage_t<typename L::input_element>;
    using Out = storage_t<typename L::output_element>;
    const TensorView<const In, typename L::input_shape> in(static_cast<const In*>(input));
    const void* output = nullptr;
    quant_info_t<typename L::output_element> out_quant{};
    if constexpr (L::placement == OutputPlacement::view) {
      static_assert(I != saved_from, "saved_from is never a view");
      output = input;
      out_quant = quant;
    } else {
      Out* out = I == saved_from ? at<Out>(plan.activation_offset[I])
                                 : at<Out>(plan.shared_offset + prefix_plan.output_offset[I]);
      std::byte* scratch =
          base_ + plan.shared_offset + (I < prefix_count ? prefix_plan.scratch_offset[I] : 0);
      out_quant = L::forward(model_.template parameters<I>(), in, quant,
                             TensorView<Out, typename L::output_shape>(out),
                             std::span<std::byte>(scratch, L::scratch_bytes));
      output = out;
    }
    if constexpr (I + 1 < first_trainable) {
      return forward_prefix_layer<I + 1>(output, out_quant);
    } else {
      features_quant_ = out_quant;
      return output;
    }
  }

  // Forward of layers 0 .. saved_from-1 (the Dequantize's input); returns the int8 activation
  // and its quantization.
  template <std::size_t I>
  std::pair<const std::int8_t*, quant::QuantParams> forward_to_cache(
      const void* input, quant_info_t<typename layer<I>::input_element> quant) noexcept {
    if constexpr (I == saved_from) {
      return {static_cast<const std::int8_t*>(input), quant};
    } else {
      using L = layer<I>;
      using In = storage_t<typename L::input_element>;
      using Out = storage_t<typename L::output_element>;
      const void* output = input;
      quant_info_t<typename L::output_element> out_quant{};
      if constexpr (L::placement == OutputPlacement::view) {
        out_quant = quant;  // a view keeps its input's element type and quantization
      } else {
        Out* out = at<Out>(plan.shared_offset + prefix_plan.output_offset[I]);
        std::byte* scratch = base_ + plan.shared_offset + prefix_plan.scratch_offset[I];
        out_quant =
            L::forward(model_.template parameters<I>(),
                       TensorView<const In, typename L::input_shape>(static_cast<const In*>(input)),
                       quant, TensorView<Out, typename L::output_shape>(out),
                       std::span<std::byte>(scratch, L::scratch_bytes));
        output = out;
      }
      return forward_to_cache<I + 1>(output, out_quant);
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

  // Forward of the trainable part from the features; every output goes to its saved slot,
  // with its quantization (int8 outputs) kept for the backward pass.
  const float* forward_region(const void* features) noexcept {
    features_ = features;
    return forward_region_layer<first_trainable>(features, features_quant_);
  }

  template <std::size_t I>
  const float* forward_region_layer(const void* input,
                                    quant_info_t<typename layer<I>::input_element> quant) noexcept {
    using L = layer<I>;
    using In = storage_t<typename L::input_element>;
    using Out = storage_t<typename L::output_element>;
    const void* output = nullptr;
    quant_info_t<typename L::output_element> out_quant{};
    if constexpr (L::placement == OutputPlacement::view) {
      output = input;
      out_quant = quant;
    } else {
      static_assert(L::scratch_bytes == 0,
                    "microtl::Trainer: layers that train need no kernel scratch");
      Out* out = at<Out>(plan.activation_offset[I]);
      out_quant =
          L::forward(model_.template parameters<I>(),
                     TensorView<const In, typename L::input_shape>(static_cast<const In*>(input)),
                     quant, TensorView<Out, typename L::output_shape>(out), std::span<std::byte>());
      output = out;
    }
    if constexpr (std::is_same_v<typename L::output_element, QInt8>) {
      region_quant_[I] = out_quant;
    }
    if constexpr (I + 1 < layer_count) {
      return forward_region_layer<I + 1>(output, out_quant);
    } else {
      return static_cast<const float*>(output);
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
    float* grad = at<float>(plan.shared_offset);
    const Result<float> loss = Loss::template loss_and_grad<output_shape::size>(
        std::span<const float, output_shape::size>(output, output_shape::size), target,
        std::span<float, output_shape::size>(grad, output_shape::size));
    if (!loss.ok()) {
      return loss.status();
    }
    last_loss_ = loss.value();
    backward_layer<layer_count - 1>(0);
    if constexpr (fusable) {
      if (fused_active()) {
        return Status::ok;  // the backward pass has updated the parameters
      }
    }
    ++accumulated_;
    if (accumulated_ >= batch_size_) {
      return apply();
    }
    return Status::ok;
  }

  // The saved input of layer I, and its quantization.
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
  void backward_layer(std::size_t current) noexcept {
    using L = layer<I>;
    using In = storage_t<typename L::input_element>;
    using Out = storage_t<typename L::output_element>;
    std::size_t next = current;
    if constexpr (L::placement != OutputPlacement::view) {
      constexpr bool input_grad = I > first_trainable;
      next = 1 - current;
      float* dy = at<float>(plan.shared_offset + current * plan.gradient_buffer_bytes);
      float* dx = at<float>(plan.shared_offset + next * plan.gradient_buffer_bytes);
      const TensorView<const In, typename L::input_shape> x(
          static_cast<const In*>(saved_input<I>()));
      const TensorView<const Out, typename L::output_shape> y(
          at<const Out>(plan.activation_offset[I]));
      if constexpr (std::is_same_v<In, float> && std::is_same_v<Out, float>) {
        L::template backward<input_grad>(
            model_.template parameters<I>(), x, y, TensorView<float, typename L::output_shape>(dy),
            TensorView<float, typename L::input_shape>(dx), grads_of<I>());
      } else {
        quant_info_t<typename L::output_element> y_quant{};
        if constexpr (std::is_same_v<typename L::output_element, QInt8>) {
          y_quant = region_quant_[I];
        }
        L::template backward_quantized<input_grad>(
            model_.template parameters<I>(), x, saved_input_quant<I>(), y, y_quant,
            TensorView<float, typename L::output_shape>(dy),
            TensorView<float, typename L::input_shape>(dx), grads_of<I>());
      }
    }
    if constexpr (I > first_trainable) {
      backward_layer<I - 1>(next);
    }
  }

  template <std::size_t I>
  typename layer<I>::Grads grads_of() noexcept {
    using L = layer<I>;
    if constexpr (is_trainable_v<L>) {
      if constexpr (fusable) {
        if (fused_active()) {
          auto& state = model_.template state<I>();
          if constexpr (L::trains_weights) {
            return {state.trainable_weights().data(), state.trainable_bias().data(), false,
                    optimizer_.learning_rate};
          } else {
            return {nullptr, state.trainable_bias().data(), false, optimizer_.learning_rate};
          }
        }
      }
      float* g = at<float>(plan.grad_offset[I]);
      const bool first_of_batch = accumulated_ == 0;  // write the gradients, don't add
      if constexpr (L::trains_weights) {
        return {g, g + L::weight_count, first_of_batch};
      } else {
        return {nullptr, g, first_of_batch};
      }
    } else if constexpr (std::is_same_v<typename L::Grads, NoGrads>) {
      return {};
    } else {
      return {nullptr, nullptr};  // a frozen linear layer between trainable ones
    }
  }

  bool fused_active() const noexcept {
    if constexpr (fusable) {
      return batch_size_ == 1 && optimizer_.weight_decay == 0.0f && max_grad_norm_ == 0.0f;
    } else {
      return false;
    }
  }

  // The divergence guard: would every trainable layer's update stay finite?
  template <std::size_t... I>
  bool check_all(float scale, typename Optimizer::StepContext context,
                 std::index_sequence<I...>) noexcept {
    return (check_layer<I>(scale, context) && ...);
  }

  template <std::size_t I>
  bool check_layer(float scale, typename Optimizer::StepContext context) noexcept {
    using L = layer<I>;
    if constexpr (is_trainable_v<L>) {
      auto& state = model_.template state<I>();
      float* g = at<float>(plan.grad_offset[I]);
      float* s = at<float>(plan.state_offset[I]);
      constexpr std::size_t spp = Optimizer::state_per_parameter;
      bool finite = true;
      if constexpr (L::trains_weights) {
        finite = optimizer_.template step<false>(
            state.trainable_weights(), std::span<const float>(g, L::weight_count),
            std::span<float>(s, spp * L::weight_count), scale, context);
        g += L::weight_count;
        s += spp * L::weight_count;
      }
      return finite && optimizer_.template step<false>(
                           state.trainable_bias(), std::span<const float>(g, L::bias_count),
                           std::span<float>(s, spp * L::bias_count), scale, context);
    } else {
      return true;
    }
  }

  template <std::size_t... I>
  void update_all(float scale, typename Optimizer::StepContext context,
                  std::index_sequence<I...>) noexcept {
    (update_layer<I>(scale, context), ...);
  }

  template <std::size_t I>
  void update_layer(float scale, typename Optimizer::StepContext context) noexcept {
    using L = layer<I>;
    if constexpr (is_trainable_v<L>) {
      auto& state = model_.template state<I>();
      float* g = at<float>(plan.grad_offset[I]);
      float* s = at<float>(plan.state_offset[I]);
      constexpr std::size_t spp = Optimizer::state_per_parameter;
      if constexpr (L::trains_weights) {
        optimizer_.update(state.trainable_weights(), std::span<const float>(g, L::weight_count),
                          std::span<float>(s, spp * L::weight_count), scale, context);
        g += L::weight_count;
        s += spp * L::weight_count;
      }
      optimizer_.update(state.trainable_bias(), std::span<const float>(g, L::bias_count),
                        std::span<float>(s, spp * L::bias_count), scale, context);
      // Layers that keep a derived copy of their parameters (an int8 layer's int32 bias)
      // refresh it now.
      if constexpr (requires { state.after_update(); }) {
        state.after_update();
      }
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
