// Marking what trains.
//
//   Trainable<Dense<32>>   weights and bias train: float32 copies live in the model (RAM),
//                          initialised from the parameters given to the model's constructor
//   BiasOnly<Conv2D<...>>  only the bias trains (TinyTL's recipe: a fraction of the memory);
//                          the weights stay where they are (flash) and are never written
//
// Every other layer is frozen: its parameters are referenced, not copied. The trainer
// instantiates backward code only from the last layer down to the earliest trainable one,
// and the earliest trainable layer computes no input gradient.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <span>

#include "microtl/core/shape.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

namespace layers {

template <class P>
struct LinearExtents;
template <ActivationElement E, std::size_t W, std::size_t C>
struct LinearExtents<LinearParams<E, W, C>> {
  static constexpr std::size_t weights = W;
  static constexpr std::size_t channels = C;
};

// A bound linear layer whose weights and bias train.
template <BoundLayer B>
struct TrainableLayer : B {
  static_assert(std::same_as<typename B::input_element, float> &&
                    std::same_as<typename B::output_element, float>,
                "microtl::Trainable: trainable layers compute in float; put a Dequantize before "
                "the first one");
  static_assert(is_linear_params_v<typename B::Params>,
                "microtl::Trainable: only layers with weights and a bias (Dense, Conv2D, "
                "DepthwiseConv2D, Conv1D) train");

  static constexpr bool trainable = true;
  static constexpr bool trains_weights = true;
  static constexpr std::size_t weight_count = LinearExtents<typename B::Params>::weights;
  static constexpr std::size_t bias_count = LinearExtents<typename B::Params>::channels;
  // Parameters that receive gradients and optimizer state, in the order weights, bias.
  static constexpr std::size_t trainable_count = weight_count + bias_count;
  using Grads = LinearGrads<weight_count, bias_count>;

  struct State {
    using InitParams = typename B::Params;
    std::array<float, weight_count> weights{};
    std::array<float, bias_count> bias{};

    void init(const InitParams& initial) noexcept {
      std::copy(initial.weights.begin(), initial.weights.end(), weights.begin());
      std::copy(initial.bias.begin(), initial.bias.end(), bias.begin());
    }
    typename B::Params params() const noexcept { return {weights, bias}; }
    // The trainable values as one sequence per tensor (for optimizers and persistence).
    std::span<float, weight_count> trainable_weights() noexcept { return weights; }
    std::span<float, bias_count> trainable_bias() noexcept { return bias; }
  };
};

// A bound linear layer whose bias alone trains.
template <BoundLayer B>
struct BiasOnlyLayer : B {
  static_assert(std::same_as<typename B::input_element, float> &&
                    std::same_as<typename B::output_element, float>,
                "microtl::BiasOnly: bias-only layers compute in float here; put a Dequantize "
                "before the first one");
  static_assert(
      is_linear_params_v<typename B::Params>,
      "microtl::BiasOnly: only layers with a bias (Dense, Conv2D, DepthwiseConv2D, Conv1D) train");

  static constexpr bool trainable = true;
  static constexpr bool trains_weights = false;
  static constexpr std::size_t weight_count = LinearExtents<typename B::Params>::weights;
  static constexpr std::size_t bias_count = LinearExtents<typename B::Params>::channels;
  static constexpr std::size_t trainable_count = bias_count;
  using Grads = LinearGrads<weight_count, bias_count>;

  struct State {
    using InitParams = typename B::Params;
    const float* weights = nullptr;  // referenced: frozen, stays where it is (flash)
    std::array<float, bias_count> bias{};

    void init(const InitParams& initial) noexcept {
      weights = initial.weights.data();
      std::copy(initial.bias.begin(), initial.bias.end(), bias.begin());
    }
    typename B::Params params() const noexcept {
      return {std::span<const float, weight_count>(weights, weight_count), bias};
    }
    std::span<float, bias_count> trainable_bias() noexcept { return bias; }
  };
};

}  // namespace layers

template <class Spec>
struct Trainable {
  static constexpr bool fuses_activation = fuses_activation_v<Spec>;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::TrainableLayer<typename Spec::template bind<S, E, A>>;
};

template <class Spec>
struct BiasOnly {
  static constexpr bool fuses_activation = fuses_activation_v<Spec>;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::BiasOnlyLayer<typename Spec::template bind<S, E, A>>;
};

// True for bound layers whose parameters (or part of them) train.
template <class L>
inline constexpr bool is_trainable_v = requires {
  requires L::trainable;
};

}  // namespace microtl
