// Marking what trains.
//
//   Trainable<Dense<32>>   weights and bias train: float32 copies live in the model (RAM),
//                          initialised from the parameters given to the model's constructor
//   BiasOnly<Conv2D<...>>  only the bias trains (TinyTL's recipe: a fraction of the memory);
//                          the weights stay where they are (flash) and are never written
//
// Every other layer is frozen: its parameters are referenced, not copied. The wrappers make
// a bound layer a TrainableLayer (layers/contract.hpp): they say which parameter tensors
// train, keep them in the model's state, and visit them for the optimizer, the parameter
// blob and the model signature (for_each_trained: the one place that knows where they are).
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/core/borrowed_span.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/train/guard.hpp"

namespace microtl {

namespace layers {

template <class P>
struct LinearExtents;
template <ActivationElement E, std::size_t W, std::size_t C>
struct LinearExtents<LinearParams<E, W, C>> {
  static constexpr std::size_t weights = W;
  static constexpr std::size_t channels = C;
};

template <std::size_t T>
using tensor_index = std::integral_constant<std::size_t, T>;

// The real-valued bias of a bias-only layer: what trains, and what a parameter blob keeps.
template <std::size_t C>
struct TrainedBias {
  std::array<float, C> bias{};

  template <class F>
  void for_each_trained(F&& f) noexcept {
    f(tensor_index<linear_tensor::bias>{}, std::span<float, C>(bias));
  }
  template <class F>
  void for_each_trained(F&& f) const noexcept {
    f(tensor_index<linear_tensor::bias>{}, std::span<const float, C>(bias));
  }
};

// A bound float layer whose parameter tensors all train (any layer whose Params meet
// TrainableParams: Dense, the convolutions, BatchNorm, ...).
template <BoundLayer B>
struct TrainableLayer : B {
  static_assert(std::same_as<typename B::input_element, float> &&
                    std::same_as<typename B::output_element, float>,
                "microtl::Trainable: trainable layers compute in float; put a Dequantize before "
                "the first one (an int8 layer trains as BiasOnly<...>)");
  static_assert(TrainableParams<typename B::Params>,
                "microtl::Trainable: this layer has no parameters that can train (its Params "
                "has no Values: layers/contract.hpp, TrainableParams)");
  static_assert(BackwardLayer<B>, "microtl::Trainable: this layer has no backward pass");
  using Values = typename B::Params::Values;

  static constexpr bool trainable = true;
  static constexpr auto trained_tensors = Values::tensors;
  static constexpr std::size_t trained_value_count = [] {
    std::size_t count = 0;
    for (const TrainedTensor& t : Values::tensors) {
      count += t.count;
    }
    return count;
  }();

  // The model keeps the values themselves (RAM), initialised from the constructor's
  // parameters.
  struct State : Values {
    using InitParams = typename B::Params;
    void init(const InitParams& initial) noexcept { this->assign(initial); }
    typename B::Params params() const noexcept { return this->view(); }
    template <class F>
    void for_each_trained(F&& f) noexcept {
      this->for_each(f);
    }
    template <class F>
    void for_each_trained(F&& f) const noexcept {
      this->for_each(f);
    }
    // A bound on the magnitude of every trained value, kept by the fused guard
    // (train/fused_guard.hpp) from one step to the next; infinity when unknown. Whoever
    // writes trained values other than through a trainer calls refresh() (io::load does).
    float magnitude_bound = guard::unknown_bound;
    void refresh() noexcept { magnitude_bound = guard::unknown_bound; }
    // The guard's bound (P) (train/guard.hpp), the same for every value.
    static constexpr bool uniform_parameter_bound = true;
    bool admits(std::size_t /*tensor*/, std::size_t /*i*/, float value) const noexcept {
      return guard::parameter_ok(value);
    }
  };
};

// What both bias-only layers (float and int8) declare: the bias is the one trained tensor.
template <class B>
struct BiasOnlyTraits {
  static_assert(
      is_linear_params_v<typename B::Params>,
      "microtl::BiasOnly: only layers with a bias (Dense, Conv2D, DepthwiseConv2D, Conv1D) train");
  static constexpr std::size_t weight_count = LinearExtents<typename B::Params>::weights;
  static constexpr std::size_t bias_count = LinearExtents<typename B::Params>::channels;

  static constexpr bool trainable = true;
  static constexpr std::array<TrainedTensor, 1> trained_tensors = {
      {{linear_tensor::bias, bias_count}}};
  static constexpr std::size_t trained_value_count = bias_count;
};

// A bound float linear layer whose bias alone trains.
template <BoundLayer B>
struct BiasOnlyLayer : B, BiasOnlyTraits<B> {
  static_assert(BackwardLayer<B>, "microtl::BiasOnly: this layer has no backward pass");
  static constexpr std::size_t weight_count = BiasOnlyTraits<B>::weight_count;
  static constexpr std::size_t bias_count = BiasOnlyTraits<B>::bias_count;

  struct State : TrainedBias<bias_count> {
    using InitParams = typename B::Params;
    const float* weights = nullptr;  // referenced: frozen, stays where it is (flash)

    void init(const InitParams& initial) noexcept {
      weights = initial.weights.data();
      std::copy(initial.bias.begin(), initial.bias.end(), this->bias.begin());
    }
    typename B::Params params() const noexcept {
      return {std::span<const float, weight_count>(weights, weight_count), this->bias};
    }
    void refresh() noexcept {}
    static constexpr bool uniform_parameter_bound = true;  // (P) only
    bool admits(std::size_t /*tensor*/, std::size_t /*i*/, float value) const noexcept {
      return guard::parameter_ok(value);
    }
  };
};

// The parameters an int8 layer needs to train its bias: its frozen int8 parameters (in
// flash), and the scales that turn the int32 bias into real values and back (TFLite's bias
// quantization, quant::quantize_bias: bias_scale[c] = input_scale * weight_scales[c]).
// input_scale must be the scale of the activation that flows into the layer: the trainer
// checks it on every sample (Status::model_mismatch otherwise).
template <std::size_t W, std::size_t C>
struct QuantizedBiasOnlyParams {
  LinearParams<QInt8, W, C> frozen;
  BorrowedSpan<float, C> weight_scales;
  float input_scale;
};

// A bound int8 linear layer whose bias alone trains (TinyTL's recipe on an int8 network).
// The bias trains as real values (float, in RAM); after each update refresh() requantizes it
// to the int32 bias the int8 kernel uses, with quant::quantize_bias. Weights, multipliers and
// output quantization stay in flash, untouched.
template <BoundLayer B>
struct BiasOnlyQuantizedLayer : B, BiasOnlyTraits<B> {
  static_assert(std::same_as<typename B::input_element, QInt8> &&
                    std::same_as<typename B::output_element, QInt8>,
                "microtl::BiasOnly: this specialisation is for int8 layers");
  static constexpr std::size_t weight_count = BiasOnlyTraits<B>::weight_count;
  static constexpr std::size_t bias_count = BiasOnlyTraits<B>::bias_count;
  // Each bias receives one contribution per output position.
  static constexpr bool single_gradient_write = false;
  static constexpr std::size_t backward_saved_bytes = 0;

  // The accumulator bound (B) of train/guard.hpp for this layer's fan-in.
  static constexpr std::size_t fan_in = weight_count / bias_count;
  static_assert(guard::bias_limit(fan_in) > 0,
                "microtl::BiasOnly: the fan-in is too large for an int32 accumulator to hold "
                "every int8 product sum (train/guard.hpp, bound B)");
  static constexpr std::int32_t bias_limit = guard::bias_limit(fan_in);
  // The same bound on steps = bias * inverse scale, as a float: the largest float not above
  // bias_limit (every float from 2^24 up is an integer, so rounding steps cannot pass it).
  static constexpr float bias_steps_limit = [] {
    std::int64_t limit = bias_limit;
    while (static_cast<std::int64_t>(static_cast<float>(limit)) > bias_limit) {
      --limit;  // at most one float spacing (128 below 2^31)
    }
    return static_cast<float>(limit);
  }();

  struct State : TrainedBias<bias_count> {
    using InitParams = QuantizedBiasOnlyParams<weight_count, bias_count>;
    static constexpr bool keeps_reference = true;  // the model refuses a temporary
    const InitParams* init_params = nullptr;       // referenced: flash
    std::array<std::int32_t, bias_count> bias_q{};
    // 1 / (input_scale * weight_scales[c]) as quant::quantize_bias computes it: kept, so that
    // neither refresh() nor the guard divide (a double division is a library call on an M4).
    std::array<float, bias_count> inverse_scale{};

    void init(const InitParams& initial) noexcept {
      init_params = &initial;
      for (std::size_t c = 0; c < bias_count; ++c) {
        inverse_scale[c] = quant::bias_inverse_scale(initial.input_scale, initial.weight_scales[c]);
        bias_q[c] = initial.frozen.bias[c];
        this->bias[c] =
            static_cast<float>(bias_q[c]) * (initial.input_scale * initial.weight_scales[c]);
      }
    }
    typename B::Params params() const noexcept {
      const auto& frozen = init_params->frozen;
      return {frozen.weights, bias_q, frozen.multipliers, frozen.output};
    }
    // The input scale the int8 parameters were made for.
    float input_scale() const noexcept { return init_params->input_scale; }
    void refresh() noexcept {
      for (std::size_t c = 0; c < bias_count; ++c) {
        bias_q[c] = quant::quantize_bias_steps(this->bias[c] * inverse_scale[c]);
      }
    }
    // (P) on the real bias, and (B) on the int32 bias refresh() would make of it.
    bool admits(std::size_t /*tensor*/, std::size_t c, float value) const noexcept {
      const float steps = value * inverse_scale[c];
      return guard::parameter_ok(value) && steps <= bias_steps_limit && steps >= -bias_steps_limit;
    }
  };

  // In real units: the output's gradient passes where the requantized output was not
  // clamped (range.min < y < range.max, the fused activation and saturation); the bias
  // gradient is its sum over the output positions of each channel:
  //   db[c] += sum_p dy[p][c] * [range.min < y[p][c] < range.max]
  template <bool InputGrad, GradientSink Sink>
  static void backward(const typename B::Params&, const ForwardRecord<BiasOnlyQuantizedLayer>& fw,
                       TensorView<float, typename B::output_shape> dy,
                       TensorView<float, typename B::input_shape>, const Sink& sink) noexcept {
    static_assert(!InputGrad,
                  "microtl::BiasOnly on an int8 layer: it must be the earliest trainable layer "
                  "(gradients through int8 weights into earlier layers are not implemented)");
    apply_output_activation_grad<BiasOnlyQuantizedLayer, B::activation>(fw, dy);
    if constexpr (Sink::template wants<linear_tensor::bias>) {
      constexpr std::size_t positions = B::output_shape::size / bias_count;
      for (std::size_t p = 0; p < positions; ++p) {
        const float* g = dy.data() + p * bias_count;
        sink.template put<linear_tensor::bias>(0, bias_count, [g](std::size_t c) { return g[c]; });
      }
    }
  }
};

}  // namespace layers

template <class Spec>
struct Trainable {
  static constexpr bool fuses_activation = fuses_activation_v<Spec>;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = layers::TrainableLayer<bind_spec_t<Spec, S, E, A>>;
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

}  // namespace microtl
