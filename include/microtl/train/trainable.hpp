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
#include <cstdint>
#include <span>

#include <type_traits>
#include "microtl/core/shape.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"

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

// The parameters an int8 layer needs to train its bias: its frozen int8 parameters (in
// flash), and the scales that turn the int32 bias into real values and back:
//   bias_scale[c] = input_scale * weight_scales[c]      (TFLite's bias quantization)
template <std::size_t W, std::size_t C>
struct QuantizedBiasOnlyParams {
  LinearParams<QInt8, W, C> frozen;
  std::span<const float, C> weight_scales;
  float input_scale;
};

// A bound int8 linear layer whose bias alone trains (TinyTL's recipe on an int8 network).
// The bias trains as real values (float, in RAM); after each update it is requantized to
// the int32 bias the int8 kernel uses:  bias_q[c] = round(bias[c] / bias_scale[c]).
// Weights, multipliers and output quantization stay in flash, untouched.
template <BoundLayer B>
struct BiasOnlyQuantizedLayer : B {
  static_assert(std::same_as<typename B::input_element, QInt8> &&
                    std::same_as<typename B::output_element, QInt8>,
                "microtl::BiasOnly: this specialisation is for int8 layers");
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
    using InitParams = QuantizedBiasOnlyParams<weight_count, bias_count>;
    const InitParams* init_params = nullptr;  // referenced: flash
    std::array<float, bias_count> bias{};     // real values: what trains (and is saved)
    std::array<std::int32_t, bias_count> bias_q{};
    std::array<float, bias_count> bias_scale{};

    void init(const InitParams& initial) noexcept {
      init_params = &initial;
      for (std::size_t c = 0; c < bias_count; ++c) {
        bias_scale[c] = initial.input_scale * initial.weight_scales[c];
        bias_q[c] = initial.frozen.bias[c];
        bias[c] = static_cast<float>(bias_q[c]) * bias_scale[c];
      }
    }
    typename B::Params params() const noexcept {
      const auto& frozen = init_params->frozen;
      return {frozen.weights, bias_q, frozen.multipliers, frozen.output};
    }
    std::span<float, bias_count> trainable_bias() noexcept { return bias; }
    // Requantizes the trained real bias for the int8 kernel (rounded half away from zero,
    // saturated to int32).
    void after_update() noexcept {
      for (std::size_t c = 0; c < bias_count; ++c) {
        float steps = bias[c] / bias_scale[c];
        steps = steps > 2147483520.0f ? 2147483520.0f
                                      : (steps < -2147483520.0f ? -2147483520.0f : steps);
        bias_q[c] = static_cast<std::int32_t>(steps < 0.0f ? steps - 0.5f : steps + 0.5f);
      }
    }
  };

  // In real units: the output's gradient passes where the requantized output was not
  // clamped (range.min < y < range.max, the fused activation and saturation); the bias
  // gradient is its sum over the output positions of each channel:
  //   db[c] += sum_p dy[p][c] * [range.min < y[p][c] < range.max]
  template <bool InputGrad>
  static void backward_quantized(const typename B::Params& params,
                                 TensorView<const std::int8_t, typename B::input_shape>,
                                 quant::QuantParams,
                                 TensorView<const std::int8_t, typename B::output_shape> y,
                                 quant::QuantParams, TensorView<float, typename B::output_shape> dy,
                                 TensorView<float, typename B::input_shape>, Grads grads) noexcept {
    static_assert(!InputGrad,
                  "microtl::BiasOnly on an int8 layer: it must be the earliest trainable layer "
                  "(gradients through int8 "
                  "weights into earlier layers are not implemented)");
    begin_accumulation(grads);
    const quant::ActivationRange range = quant::activation_range(B::activation, params.output);
    constexpr std::size_t positions = B::output_shape::size / bias_count;
    for (std::size_t p = 0; p < positions; ++p) {
      for (std::size_t c = 0; c < bias_count; ++c) {
        const std::size_t i = p * bias_count + c;
        if (y[i] > range.min && y[i] < range.max) {
          grads.bias[c] += dy[i];
        }
      }
    }
  }
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
  using bind =
      std::conditional_t<std::same_as<E, QInt8>,
                         layers::BiasOnlyQuantizedLayer<typename Spec::template bind<S, E, A>>,
                         layers::BiasOnlyLayer<typename Spec::template bind<S, E, A>>>;
};

// True for bound layers whose parameters (or part of them) train.
template <class L>
inline constexpr bool is_trainable_v = requires {
  requires L::trainable;
};

}  // namespace microtl
