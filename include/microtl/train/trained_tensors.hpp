// The trained tensors of a whole model, visited in one order: layer by layer in chain order,
// within a layer in the order of its trained_tensors (weights before bias). The optimizer,
// the parameter blob's payload, the model signature and every count use this order, so they
// agree by construction.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "microtl/layers/contract.hpp"

namespace microtl {

// Trained values of bound layer L (0 for a frozen layer).
template <class L>
inline constexpr std::size_t trained_values_of_v = [] {
  if constexpr (is_trainable_v<L>) {
    return std::size_t{L::trained_value_count};
  } else {
    return std::size_t{0};
  }
}();

// Trained values of a whole model.
template <class Model>
inline constexpr std::size_t trained_value_count_v =
    []<std::size_t... I>(std::index_sequence<I...>) {
      return (std::size_t{0} + ... + trained_values_of_v<typename Model::template layer<I>>);
    }(std::make_index_sequence<Model::layer_count>{});

// Trained values of trainable layer L that come before its parameter tensor `tensor` in its
// trained_tensors order: where that tensor's gradients and optimizer state start in the
// layer's block.
template <class L>
constexpr std::size_t trained_values_before(std::size_t tensor) noexcept {
  std::size_t before = 0;
  for (const TrainedTensor& t : L::trained_tensors) {
    if (t.index == tensor) {
      return before;
    }
    before += t.count;
  }
  return before;
}

// Calls f(layer, tensor, values) for every trained tensor of `model` (const or not), where
// layer and tensor are std::integral_constant<std::size_t, ...> and values a std::span of
// float (of const float for a const model) with a static extent.
template <class Model, class F>
void for_each_trained_tensor(Model& model, F&& f) noexcept {
  using M = std::remove_const_t<Model>;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (is_trainable_v<typename M::template layer<I>>) {
            model.template state<I>().for_each_trained([&](auto tensor, auto values) {
              f(std::integral_constant<std::size_t, I>{}, tensor, values);
            });
          }
        }(),
        ...);
  }(std::make_index_sequence<M::layer_count>{});
}

}  // namespace microtl
