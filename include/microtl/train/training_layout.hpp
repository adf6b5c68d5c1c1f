// TrainingLayout<Model, Loss, Optimizer, Guard>: everything about a training setup that the
// compiler knows. Which layers run forward only, which run backward and which train; the
// memory plan (graph/training_plan.hpp, from each layer's footprint); the features and what
// a feature cache stores; whether plain SGD can be fused into the backward pass; and the
// checks that every layer between the loss and the earliest trainable one meets the layer
// contract (layers/contract.hpp). Trainer<...> is this layout plus the code that runs it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "microtl/core/arena.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/status.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/graph/training_plan.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/quantize.hpp"
#include "microtl/train/fused_guard.hpp"
#include "microtl/train/loss.hpp"
#include "microtl/train/optimizer.hpp"
#include "microtl/train/trained_tensors.hpp"

namespace microtl {

namespace train_detail {

template <class L>
constexpr graph::TrainingFootprint footprint_of() noexcept {
  std::size_t saved = 0;
  if constexpr (BackwardLayer<L>) {
    saved = L::backward_saved_bytes;
  }
  return {{L::input_shape::size * sizeof(storage_t<typename L::input_element>),
           L::output_shape::size * sizeof(storage_t<typename L::output_element>), L::scratch_bytes,
           L::placement},
          trained_values_of_v<L>,
          saved,
          L::input_shape::size * sizeof(float),
          L::output_shape::size * sizeof(float),
          backward_reads_input_v<L>,
          backward_reads_output_v<L>};
}

// Layer I runs backward in a training step: it must be a view or a BackwardLayer. (The
// failing instantiation names the layer's type.)
template <std::size_t I, class L>
constexpr bool check_backward_layer() {
  static_assert(L::placement == OutputPlacement::view || BackwardLayer<L>,
                "microtl::Trainer: a layer between the loss and the earliest trainable layer has "
                "no backward pass (it lacks backward_saved_bytes or backward<InputGrad, Sink>; "
                "see layers/contract.hpp)");
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

template <class Model, class Loss, class Optimizer, bool Guard>
struct TrainingLayout {
  static_assert(LossFunction<Loss>,
                "microtl::Trainer: Loss does not meet the Loss contract "
                "(train/loss.hpp)");
  static_assert(OptimizerRule<Optimizer>,
                "microtl::Trainer: Optimizer does not meet the "
                "Optimizer contract (train/optimizer.hpp)");

  static constexpr std::size_t layer_count = Model::layer_count;
  template <std::size_t I>
  using layer = typename Model::template layer<I>;

  // ---------------------------------------------------------------------------------------
  // The memory plan (graph/training_plan.hpp), and what it says runs where.
  // ---------------------------------------------------------------------------------------
  static constexpr graph::TrainingPlan<layer_count> plan = graph::plan_training(
      []<std::size_t... I>(std::index_sequence<I...>) {
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
    return (train_detail::check_backward_layer<first_trainable + I, layer<first_trainable + I>>() &&
            ...);
  }(std::make_index_sequence<layer_count - first_trainable>{}));

  // Checks a target (a label in range, finite values) without training.
  static Status validate(const Target& target) noexcept {
    return Loss::template validate<output_shape::size>(target);
  }

  template <std::size_t I>
  static constexpr bool single_write() {
    if constexpr (is_trainable_v<layer<I>>) {
      return layer<I>::single_gradient_write;
    } else {
      return true;
    }
  }

  // The fused guard's bound applies (train/fused_guard.hpp): the trainable part is a chain of
  // dense layers, ReLUs and views.
  static constexpr bool boundable = []<std::size_t... I>(std::index_sequence<I...>) {
    return (fused_guard::boundable<layer<first_trainable + I>>() && ...);
  }(std::make_index_sequence<layer_count - first_trainable>{});

  // Plain SGD fused into the backward pass: possible when every trainable layer writes each
  // gradient once (single_gradient_write) and, with the guard, the trainable part is
  // boundable (then train/fused_guard.hpp checks each step before it writes); used at run
  // time for batch 1 without weight decay or clipping. No gradient buffer traffic.
  static constexpr bool fusable = std::is_same_v<Optimizer, SGD> && (!Guard || boundable) &&
                                  []<std::size_t... I>(std::index_sequence<I...>) {
                                    return (single_write<I>() && ...);
                                  }(std::make_index_sequence<layer_count>{});

  static constexpr std::size_t training_arena_bytes = plan.bytes;
  static constexpr std::size_t parameter_grad_bytes = plan.parameter_grad_bytes;
  static constexpr std::size_t optimizer_state_bytes = plan.optimizer_state_bytes;
  static constexpr std::size_t saved_activation_bytes = plan.saved_activation_bytes;
  // Both gradients of the largest backward step (graph/training_plan.hpp).
  static constexpr std::size_t gradient_buffer_bytes = plan.gradient_bytes;
  using TrainingArena = Arena<training_arena_bytes>;
};

}  // namespace microtl
