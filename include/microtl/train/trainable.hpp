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
                "microtl::Trainable: this specialisation is for float layers");
  static_assert(TrainableParams<typename B::Params>,
                "microtl::Trainable: this layer has no parameters that can train (its Params "
                "has no Values: layers/contract.hpp, TrainableParams)");
  static_assert(BackwardLayer<B>, "microtl::Trainable: this layer has no backward pass");
  using Values = typename B::Params::Values;

  static constexpr bool trainable = true;
  static constexpr bool backward_reads_input = true;  // the weight gradient
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

// The parameters an int8 layer needs to train (its bias, or its weights and bias): its int8
// parameters as deployed (in flash), and the scales that turn its codes into real values and
// back: the per-channel weight scales (weight[j] = weight_scales[c] * code[j]) and the input
// scale (TFLite's bias quantization, quant::quantize_bias: bias_scale[c] = input_scale *
// weight_scales[c]). input_scale must be the scale of the activation that flows into the
// layer: the trainer checks it on every sample (Status::model_mismatch otherwise).
// QuantizedLinear (layers/quantize_linear.hpp) holds all of them.
template <std::size_t W, std::size_t C>
struct QuantizedTrainingParams {
  LinearParams<QInt8, W, C> frozen;
  BorrowedSpan<float, C> weight_scales;
  float input_scale;
};
// (The name the bias-only case had first.)
template <std::size_t W, std::size_t C>
using QuantizedBiasOnlyParams = QuantizedTrainingParams<W, C>;

// The trained bias of an int8 layer: real values (float, in RAM), and the int32 bias the int8
// kernel uses, requantized from them by refresh() with quant::quantize_bias. The accumulator
// bound (B) of train/guard.hpp for the layer's fan-in limits it.
template <std::size_t W, std::size_t C>
struct QuantizedBias : TrainedBias<C> {
  static constexpr std::size_t fan_in = W / C;
  static_assert(guard::bias_limit(fan_in) > 0,
                "microtl: an int8 layer whose fan-in is too large for an int32 accumulator to "
                "hold every int8 product sum cannot train (train/guard.hpp, bound B)");
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

  using InitParams = QuantizedTrainingParams<W, C>;
  static constexpr bool keeps_reference = true;  // the model refuses a temporary
  const InitParams* init_params = nullptr;       // referenced: flash
  std::array<std::int32_t, C> bias_q{};
  // 1 / (input_scale * weight_scales[c]) as quant::quantize_bias computes it: kept, so that
  // neither refresh() nor the guard divide (a double division is a library call on an M4).
  std::array<float, C> inverse_scale{};

  void init_bias(const InitParams& initial) noexcept {
    init_params = &initial;
    for (std::size_t c = 0; c < C; ++c) {
      inverse_scale[c] = quant::bias_inverse_scale(initial.input_scale, initial.weight_scales[c]);
      bias_q[c] = initial.frozen.bias[c];
      this->bias[c] =
          static_cast<float>(bias_q[c]) * (initial.input_scale * initial.weight_scales[c]);
    }
  }
  // The input scale the int8 parameters were made for.
  float input_scale() const noexcept { return init_params->input_scale; }
  void refresh_bias() noexcept {
    for (std::size_t c = 0; c < C; ++c) {
      bias_q[c] = quant::quantize_bias_steps(this->bias[c] * inverse_scale[c]);
    }
  }
  // (P) on the real bias, and (B) on the int32 bias refresh() would make of it.
  bool admits_bias(std::size_t c, float value) const noexcept {
    const float steps = value * inverse_scale[c];
    return guard::parameter_ok(value) && steps <= bias_steps_limit && steps >= -bias_steps_limit;
  }
};

// A bound int8 linear layer whose bias alone trains (TinyTL's recipe on an int8 network),
// anywhere in the model. Weights, multipliers and output quantization stay in flash,
// untouched. Its backward is the int8 layer's own (layers/linear_params.hpp): the bias
// gradient needs the output gradient and the output's clamp mask, never the input, and the
// input gradient (when a trainable layer lies before it) comes from the int8 weights.
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
  // The accumulator bound (B) on its int32 bias (train/guard.hpp), in codes and as a float.
  static constexpr std::int32_t bias_limit = QuantizedBias<weight_count, bias_count>::bias_limit;
  static constexpr float bias_steps_limit =
      QuantizedBias<weight_count, bias_count>::bias_steps_limit;

  struct State : QuantizedBias<weight_count, bias_count> {
    void init(const typename State::InitParams& initial) noexcept { this->init_bias(initial); }
    typename B::Params params() const noexcept {
      const auto& frozen = this->init_params->frozen;
      return {frozen.weights, this->bias_q, frozen.multipliers, frozen.output};
    }
    void refresh() noexcept { this->refresh_bias(); }
    bool admits(std::size_t /*tensor*/, std::size_t c, float value) const noexcept {
      return this->admits_bias(c, value);
    }
  };

  template <bool InputGrad, GradientSink Sink>
  static void backward(const typename B::Params& params,
                       const ForwardRecord<BiasOnlyQuantizedLayer>& fw,
                       TensorView<float, typename B::output_shape> dy,
                       TensorView<float, typename B::input_shape> dx, const Sink& sink) noexcept {
    B::template backward<InputGrad>(params, fw, dy, dx, sink);
  }
};

// A bound int8 linear layer whose weights and bias train (the sparse update of MCUNetV3's
// Tiny Training Engine: a few chosen layers' weights, int8 in the deployed graph).
//
// The update rule, and why:
//  - a float master copy of the weights, in real units, lives in RAM (4 bytes per weight),
//    initialised to scale * code; the optimizer updates it like any float parameter;
//  - after each update refresh() re-derives the int8 codes the kernel runs with (1 byte per
//    weight, in RAM), with the channel's scale unchanged:
//      w[j] <- clamp(w[j], -127 s_c, 127 s_c)      (projected onto what a code can hold)
//      q[j]  = round(w[j] * (1 / s_c))             (half away from zero, in [-127, 127])
//    and the int32 bias as for BiasOnly;
//  - the scales, and so the requantization multipliers and the output quantization, never
//    change: nothing is requantized but the codes, and the multipliers stay in flash.
// Why a master copy rather than updating the codes in place: a step smaller than half a
// weight step (s_c / 2) would round to no change at all, and with typical learning rates
// almost every step is that small; the master copy accumulates them (the price: 4 bytes per
// trained weight, and 4 more for its gradient). Why no gradient scaling (MCUNetV3's QAS):
// QAS corrects the gradient of the codes, dL/dq = s dL/dw, whose update would be s^2 times
// too large relative to the real weight's; here the gradient is taken with respect to the
// real weight itself (layers/linear_params.hpp, LinearOperands), so it already has the
// right scale: the update of a float model on the dequantized weights.
// Why scales stay fixed: the projection keeps every weight representable, and a changed
// scale would need new multipliers (a double computation, TFLite's rule) and would move every
// code of the channel; for the small updates of on-device learning the calibrated range
// holds.
template <BoundLayer B>
struct TrainableQuantizedLayer : B {
  static_assert(std::same_as<typename B::input_element, QInt8> &&
                    std::same_as<typename B::output_element, QInt8>,
                "microtl::Trainable: this specialisation is for int8 layers");
  static_assert(is_linear_params_v<typename B::Params>,
                "microtl::Trainable: an int8 layer trains when it has weights and a bias "
                "(Dense, Conv2D, DepthwiseConv2D, Conv1D)");
  static constexpr std::size_t weight_count = LinearExtents<typename B::Params>::weights;
  static constexpr std::size_t bias_count = LinearExtents<typename B::Params>::channels;
  static constexpr bool trainable = true;
  static constexpr std::array<TrainedTensor, 2> trained_tensors = {
      {{linear_tensor::weights, weight_count}, {linear_tensor::bias, bias_count}}};
  static constexpr std::size_t trained_value_count = weight_count + bias_count;
  // The codes are re-derived after every update (refresh), which the fused SGD step does not
  // do: such a layer always has its own gradients.
  static constexpr bool single_gradient_write = false;
  static constexpr std::size_t backward_saved_bytes = 0;
  static constexpr bool backward_reads_input = true;  // the weight gradient
  static constexpr std::int32_t bias_limit = QuantizedBias<weight_count, bias_count>::bias_limit;
  static constexpr float bias_steps_limit =
      QuantizedBias<weight_count, bias_count>::bias_steps_limit;

  static constexpr std::size_t channel_of(std::size_t j) noexcept {
    return B::weights_channel_last ? j % bias_count : j / (weight_count / bias_count);
  }

  struct State : QuantizedBias<weight_count, bias_count> {
    std::array<float, weight_count> weights{};          // the master copy, real units
    std::array<std::int8_t, weight_count> weights_q{};  // what the kernel reads
    std::array<float, bias_count> inverse_weight_scale{};

    void init(const typename State::InitParams& initial) noexcept {
      this->init_bias(initial);
      for (std::size_t c = 0; c < bias_count; ++c) {
        const float s = initial.weight_scales[c];
        inverse_weight_scale[c] = s == 0.0f ? 0.0f : 1.0f / s;
      }
      for (std::size_t j = 0; j < weight_count; ++j) {
        weights_q[j] = initial.frozen.weights[j];
        weights[j] = static_cast<float>(weights_q[j]) * initial.weight_scales[channel_of(j)];
      }
    }
    typename B::Params params() const noexcept {
      const auto& frozen = this->init_params->frozen;
      return {weights_q, this->bias_q, frozen.multipliers, frozen.output};
    }
    template <class F>
    void for_each_trained(F&& f) noexcept {
      f(tensor_index<linear_tensor::weights>{}, std::span<float, weight_count>(weights));
      f(tensor_index<linear_tensor::bias>{}, std::span<float, bias_count>(this->bias));
    }
    template <class F>
    void for_each_trained(F&& f) const noexcept {
      f(tensor_index<linear_tensor::weights>{}, std::span<const float, weight_count>(weights));
      f(tensor_index<linear_tensor::bias>{}, std::span<const float, bias_count>(this->bias));
    }
    void refresh() noexcept {
      constexpr float kLimit = 127.0f;
      for (std::size_t j = 0; j < weight_count; ++j) {
        const std::size_t c = channel_of(j);
        const float limit = kLimit * this->init_params->weight_scales[c];
        weights[j] = std::clamp(weights[j], -limit, limit);
        const float steps = std::clamp(weights[j] * inverse_weight_scale[c], -kLimit, kLimit);
        weights_q[j] = static_cast<std::int8_t>(quant::detail::round_half_away_from_zero(steps));
      }
      this->refresh_bias();
    }
    // (P) on every value; (B) on the int32 bias as for BiasOnly. The weights' codes are in
    // [-127, 127] whatever the value (the projection), so (B) holds for them by construction.
    bool admits(std::size_t tensor, std::size_t i, float value) const noexcept {
      return tensor == linear_tensor::bias ? this->admits_bias(i, value)
                                           : guard::parameter_ok(value);
    }
  };
};

}  // namespace layers

template <class Spec>
struct Trainable {
  static constexpr bool fuses_activation = fuses_activation_v<Spec>;
  template <ShapeType S, ActivationElement E, quant::Activation A = quant::Activation::none>
  using bind = std::conditional_t<std::same_as<E, QInt8>,
                                  layers::TrainableQuantizedLayer<bind_spec_t<Spec, S, E, A>>,
                                  layers::TrainableLayer<bind_spec_t<Spec, S, E, A>>>;
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
