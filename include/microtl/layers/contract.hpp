// The layer contract: what a type must provide to be a layer, to run backward, and to train.
// Each piece is a named concept; Sequential and Trainer check them and name the layer and the
// missing member when one is absent (graph/diagnostics in sequential.hpp, train/trainer.hpp).
//
// A layer is written by the user as a *spec*, a type that does not yet know its input:
// `Dense<32>`, `Conv2D<8, Kernel<3, 3>, Padding::same>`, `ReLU`. A Sequential binds each spec
// to the shape and element type flowing into it and gets a *bound layer*, a type with static
// members only. Adding a layer means writing one spec and one bound layer in one header
// (docs/architecture.md walks through it).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl {

// ---------------------------------------------------------------------------------------
// LayerSpec: what the user writes in a Sequential.
//
//   template <ShapeType S, ActivationElement E> using bind = <bound layer>;
//
// Specs that can absorb a following ReLU / ReLU6 (`fuses_activation = true`) take the
// activation as a third argument, `bind<S, E, A>`, with A defaulting to none; the others
// take only the shape and element. A spec may static_assert on what it cannot take (a
// Dense after an image: "put a Flatten before it"): that message is what the user sees.
// ---------------------------------------------------------------------------------------
template <class Spec, class S, class E>
concept LayerSpec =
    ShapeType<S> && ActivationElement<E> && requires { typename Spec::template bind<S, E>; };

// Spec bound to S and E, with the fused activation A when the spec fuses activations (for
// wrappers such as Trainable<Spec> that bind the spec they wrap).
namespace contract_detail {
template <class Spec, class S, class E, quant::Activation A>
struct FusedBind {
  using type = typename Spec::template bind<S, E, A>;
};
template <class Spec, class S, class E>
struct PlainBind {
  using type = typename Spec::template bind<S, E>;
};
}  // namespace contract_detail
template <class Spec, class S, class E, quant::Activation A>
using bind_spec_t =
    typename std::conditional_t<fuses_activation_v<Spec>, contract_detail::FusedBind<Spec, S, E, A>,
                                contract_detail::PlainBind<Spec, S, E>>::type;

// ---------------------------------------------------------------------------------------
// BoundLayer: a layer that knows its input. Static members only.
//
//   using input_shape, output_shape;             Shape<...>
//   using input_element, output_element;         float or QInt8
//   using Params;                                NoParams, or the parameter struct (spans
//                                                into const data: the model keeps a pointer)
//   static constexpr const char* name;           for reports and signatures ("Conv2D")
//   static constexpr std::size_t scratch_bytes;  kernel scratch during forward
//   static constexpr OutputPlacement placement;  separate, in_place or view
//   static quant_info_t<output_element> forward(const Params&,
//       TensorView<const storage_t<input_element>, input_shape> in, quant_info_t<input_element>,
//       TensorView<storage_t<output_element>, output_shape> out, std::span<std::byte> scratch);
//     (view layers have no forward: the next layer reads the same buffer)
//
// forward returns the output's quantization (int8) so that it flows with the data.
// ---------------------------------------------------------------------------------------
template <class L>
concept BoundLayer =
    requires {
      typename L::input_shape;
      typename L::output_shape;
      typename L::input_element;
      typename L::output_element;
      typename L::Params;
      { L::name } -> std::convertible_to<const char*>;
      { L::scratch_bytes } -> std::convertible_to<std::size_t>;
      { L::placement } -> std::convertible_to<OutputPlacement>;
    } && ShapeType<typename L::input_shape> && ShapeType<typename L::output_shape> &&
    ActivationElement<typename L::input_element> && ActivationElement<typename L::output_element>;

// ---------------------------------------------------------------------------------------
// GradientSink: where a backward pass puts the gradients of its parameter tensors. The
// trainer chooses the sink (train/gradient_sink.hpp): it overwrites stored gradients for a
// mini-batch's first sample, adds to them for the others, or applies plain SGD in place; a
// frozen layer gets NoGradients. The layer writes each contribution once, in one loop, and
// knows nothing of optimizers.
//
//   Sink::wants<T>                       constexpr bool: tensor T (an index into the layer's
//                                        parameter tensors, e.g. linear_tensor::weights)
//                                        trains; when false, skip computing its gradient
//   sink.put<T>(offset, count, value)    contributes value(i) to the gradient of elements
//                                        offset + i of tensor T, for i < count
//   sink.put_outer<T, Cols, Rows>(g, x)  contributes g[o] * x[i] to element o * Cols + i of
//                                        tensor T (a dense layer's weights: one fast kernel,
//                                        kernels/float_linear.hpp)
// ---------------------------------------------------------------------------------------
struct NoGradients {
  template <std::size_t T>
  static constexpr bool wants = false;
  template <std::size_t T, class F>
  constexpr void put(std::size_t, std::size_t, F&&) const noexcept {}
};

namespace contract_detail {
struct ZeroGradient {
  constexpr float operator()(std::size_t) const noexcept { return 0.0f; }
};
}  // namespace contract_detail

template <class S>
concept GradientSink = requires(const S& sink) {
  { S::template wants<0> } -> std::convertible_to<bool>;
  sink.template put<0>(std::size_t{}, std::size_t{}, contract_detail::ZeroGradient{});
};

// ---------------------------------------------------------------------------------------
// BackwardLayer: a layer the trainer can run backward through (every non-view layer between
// the loss and the earliest trainable layer must be one).
//
//   static constexpr std::size_t backward_saved_bytes;   bytes the layer keeps from its
//       forward pass for backward besides its input and output (its training memory: 0 for
//       most layers; a layer with state, such as a recurrent cell, declares it here and gets
//       it in ForwardRecord::saved)
//   template <bool InputGrad, GradientSink Sink>
//   static void backward(const Params&, const ForwardRecord<L>& forward,
//                        TensorView<float, output_shape> dy,   // dL/dy (real units); may be
//                                                              // overwritten
//                        TensorView<float, input_shape> dx,    // dL/dx, written when InputGrad
//                        const Sink& sink);                    // parameter gradients
//
// Gradients are in real units for int8 layers too (the gradient of the real values the
// codes stand for). The earliest trainable layer is instantiated with InputGrad = false: its
// input gradient is never computed.
//
// A layer with backward_saved_bytes > 0 also provides
//   static void save_for_backward(const Params&, const ForwardRecord<L>& forward);
// which the trainer calls right after its forward pass, to fill forward.saved.
// ---------------------------------------------------------------------------------------
template <class L>
concept BackwardLayer = BoundLayer<L> && requires {
  { L::backward_saved_bytes } -> std::convertible_to<std::size_t>;
  &L::template backward<true, NoGradients>;
  &L::template backward<false, NoGradients>;
};

template <class L>
concept SavesForBackward = BackwardLayer<L> && requires { &L::save_for_backward; };

// What a backward pass reads of its forward record, for the training memory plan
// (graph/training_plan.hpp): an activation no backward pass reads is not kept from the
// forward pass to the backward pass (TinyTL's point: a bias gradient needs no input).
//
//   static constexpr bool backward_reads_input;    reads ForwardRecord::x (a weight
//                                                  gradient, a max pool's argmax)
//   static constexpr bool backward_reads_output;   reads ForwardRecord::y (an activation's
//                                                  derivative, an int8 output's clamp)
// Optional: a layer that does not declare one reads it (the safe default). A layer that
// declares false must not touch that view: it may point at memory reused by then.
template <class L>
inline constexpr bool backward_reads_input_v = [] {
  if constexpr (requires { L::backward_reads_input; }) {
    return static_cast<bool>(L::backward_reads_input);
  } else {
    return true;
  }
}();
template <class L>
inline constexpr bool backward_reads_output_v = [] {
  if constexpr (requires { L::backward_reads_output; }) {
    return static_cast<bool>(L::backward_reads_output);
  } else {
    return true;
  }
}();

// ---------------------------------------------------------------------------------------
// TrainableLayer: a bound layer whose parameters (or some of their tensors) train, made by
// the wrappers in train/trainable.hpp (Trainable<...>, BiasOnly<...>).
//
//   static constexpr bool trainable = true;
//   static constexpr std::array<TrainedTensor, K> trained_tensors;   which parameter
//       tensors train and their sizes, in the order of gradients, optimizer state and the
//       parameter blob
//   static constexpr std::size_t trained_value_count;                sum of their sizes
//   static constexpr bool single_gradient_write;   the backward pass puts each trained
//       value's gradient exactly once per sample, after it has finished reading the
//       parameters: the trainer may then overwrite stored gradients and update in place.
//       Otherwise (a convolution adds one contribution per output position) the trainer
//       clears the gradients before a mini-batch's first sample and always adds.
//   struct State {                                 what the model object keeps for it
//     using InitParams;                            what the model's constructor takes
//     void init(const InitParams&);
//     Params params() const;                       what forward and backward compute with
//     template <class F> void for_each_trained(F&& f);        f(tensor index, std::span<float, N>)
//     template <class F> void for_each_trained(F&& f) const;  f(tensor index, span of const)
//     void refresh();                              re-derive what is computed from the trained
//                                                  values (an int8 layer's int32 bias) after
//                                                  they changed (an update, a load)
//     bool admits(std::size_t tensor, std::size_t i, float value) const;
//                                                  whether `value` may become trained value i
//                                                  of that tensor: the guard's invariant
//                                                  (train/guard.hpp) for this layer
//   };
// The tensor index passed to f is a std::integral_constant<std::size_t, T>.
// ---------------------------------------------------------------------------------------
struct TrainedTensor {
  std::size_t index;  // which parameter tensor of the layer (linear_tensor::weights, ...)
  std::size_t count;  // its number of values
};

// ---------------------------------------------------------------------------------------
// TrainableParams: the parameters of a float layer whose tensors can train (Trainable<...>
// wraps any layer whose Params meet it). Params are spans into const data; Values is the
// same parameters owned in RAM, what the model keeps for a trainable layer:
//
//   using Values = ...;      default-constructible, with the tensors as members
//     static constexpr std::array<TrainedTensor, K> tensors;   index and size of each
//     void assign(const Params&);                              copy the initial values in
//     Params view() const;                                     spans of its own arrays
//     template <class F> void for_each(F&& f);  f(tensor index, std::span<float, N>), and
//     template <class F> void for_each(F&& f) const;           (std::span<const float, N>)
// ---------------------------------------------------------------------------------------
template <class P>
concept TrainableParams =
    requires(typename P::Values& values, const typename P::Values& c, const P& params) {
      P::Values::tensors.size();
      values.assign(params);
      { c.view() } -> std::same_as<P>;
    };

template <class L>
concept TrainableLayer = BackwardLayer<L> && requires {
  requires L::trainable;
  { L::trained_value_count } -> std::convertible_to<std::size_t>;
  { L::single_gradient_write } -> std::convertible_to<bool>;
  L::trained_tensors.size();
  typename L::State;
  typename L::State::InitParams;
} && requires(typename L::State& state, const typename L::State& const_state) {
  state.refresh();
  const_state.params();
  { const_state.admits(std::size_t{0}, std::size_t{0}, 0.0f) } -> std::same_as<bool>;
};

// True for bound layers whose parameters (or part of them) train.
template <class L>
inline constexpr bool is_trainable_v = requires { requires L::trainable; };

}  // namespace microtl
