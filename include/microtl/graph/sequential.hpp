// Sequential<Input<Shape, Element>, Layers...>: a model as a type.
//
//   using Extractor = Sequential<Input<Shape<28, 28, 1>, QInt8>,
//                                Conv2D<8, Kernel<3, 3>, Padding::same>, ReLU, MaxPool2D<2>,
//                                Flatten>;
//   using Model = Sequential<Extractor, Dequantize, Dense<10>>;
//
// The compiler binds each layer to the shape and element type flowing into it, so every
// output shape is known; a chain that does not fit does not compile, and the diagnostic
// names the layer. Sequentials nest: an inner Sequential's Input must match what flows into
// it, and its layers are spliced into the chain. A Dense or convolution followed by ReLU or
// ReLU6 is fused (one layer, the activation applied in its output stage).
//
// The object holds what the layers need at run time: for each frozen layer with parameters,
// a pointer to its parameter struct (const data, in flash on a device, that must outlive the
// model: a temporary is a compile error); for each trainable layer, its values (RAM). The
// constructor takes one parameter set per layer that has them, in the order written;
// params_for<K> is the type for the spec written at position K (ReLUs and the layers of
// nested Sequentials count; Input does not), and a wrong count or type is a compile error
// that gives the numbers.
//
// Working memory is one arena of `inference_arena_bytes`, a compile-time constant computed
// by graph/memory_plan.hpp: the forward pass uses that arena and a bounded stack, no heap.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

#include "microtl/core/arena.hpp"
#include "microtl/core/diagnostics.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/graph/memory_plan.hpp"
#include "microtl/graph/walk.hpp"
#include "microtl/layers/activation.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl {

// The first element of a Sequential: the shape and element type of its input. For a QInt8
// input, the model's parameters start with the input's quantization parameters.
template <ShapeType S, ActivationElement E = float>
struct Input {
  using shape = S;
  using element = E;
};

template <class InputSpec, class... Layers>
class Sequential;

namespace graph {

// ---------------------------------------------------------------------------------------
// Binding: walk the specs left to right, carrying the current shape and element type.
// ---------------------------------------------------------------------------------------
template <ShapeType S, ActivationElement E, class Done, class... Rest>
struct BindChain;

// Nothing left: the chain is complete.
template <ShapeType S, ActivationElement E, class... Done>
struct BindChain<S, E, std::tuple<Done...>> {
  using type = std::tuple<Done...>;
};

// A layer spec (not followed by an activation it can fuse).
template <ShapeType S, ActivationElement E, class... Done, class Spec, class... Rest>
struct BindChain<S, E, std::tuple<Done...>, Spec, Rest...> {
  static_assert(
      LayerSpec<Spec, S, E>,
      "microtl::Sequential: this type is not a layer spec (it has no "
      "template <ShapeType, ActivationElement> using bind = ...; see layers/contract.hpp)");
  using bound = typename Spec::template bind<S, E>;
  static_assert(BoundLayer<bound>,
                "microtl::Sequential: this layer's bind<> does not give a bound layer");
  using type = typename BindChain<typename bound::output_shape, typename bound::output_element,
                                  std::tuple<Done..., bound>, Rest...>::type;
};

// A spec that fuses activations, followed by ReLU/ReLU6: bind them as one layer.
template <ShapeType S, ActivationElement E, class... Done, class Spec, class Act, class... Rest>
  requires(fuses_activation_v<Spec> && ActivationSpec<Act>)
struct BindChain<S, E, std::tuple<Done...>, Spec, Act, Rest...> {
  using bound = typename Spec::template bind<S, E, Act::activation>;
  static_assert(BoundLayer<bound>,
                "microtl::Sequential: this layer's bind<> does not give a bound layer");
  using type = typename BindChain<typename bound::output_shape, typename bound::output_element,
                                  std::tuple<Done..., bound>, Rest...>::type;
};

// A nested Sequential: check its Input against what flows in, then splice its layers.
template <ShapeType S, ActivationElement E, class... Done, ShapeType InnerS,
          ActivationElement InnerE, class... Inner, class... Rest>
struct BindChain<S, E, std::tuple<Done...>, Sequential<Input<InnerS, InnerE>, Inner...>, Rest...> {
  static_assert(std::is_same_v<InnerS, S>,
                "microtl::Sequential: a nested Sequential's Input shape differs from the output "
                "shape of the layer before it");
  static_assert(std::is_same_v<InnerE, E>,
                "microtl::Sequential: a nested Sequential's Input element type (float / QInt8) "
                "differs from the layer before it");
  using type = typename BindChain<S, E, std::tuple<Done...>, Inner..., Rest...>::type;
};

// ---------------------------------------------------------------------------------------
// Positions as written. Users count layers the way they wrote them; the bound chain has
// fewer (a ReLU after a Dense or convolution is fused into it) and splices nested
// Sequentials. FlatSpecs lists the specs as written with nested Sequentials spliced in (their
// Input dropped); WrittenPositions maps each to the bound layer it became.
// ---------------------------------------------------------------------------------------
template <class... Specs>
struct FlatSpecs;
template <>
struct FlatSpecs<> {
  using type = std::tuple<>;
};
template <class T>
struct FlatSpec {
  using type = std::tuple<T>;
};
template <ShapeType S, ActivationElement E>
struct FlatSpec<Input<S, E>> {
  using type = std::tuple<>;
};
template <class First, class... Rest>
struct FlatSpec<Sequential<First, Rest...>> {
  using type = typename FlatSpecs<First, Rest...>::type;
};
template <class First, class... Rest>
struct FlatSpecs<First, Rest...> {
  template <class... A, class... B>
  static std::tuple<A..., B...> join(std::tuple<A...>, std::tuple<B...>);
  using type = decltype(join(std::declval<typename FlatSpec<First>::type>(),
                             std::declval<typename FlatSpecs<Rest...>::type>()));
};

template <class Flat>
struct WrittenPositions;
template <class... Spec>
struct WrittenPositions<std::tuple<Spec...>> {
  static constexpr std::size_t count = sizeof...(Spec);
  // fused[k]: spec k is an activation that BindChain fuses into the spec before it (the same
  // rule: the spec before fuses activations and k is ReLU or ReLU6).
  static constexpr std::array<bool, count> fused = [] {
    constexpr std::array<bool, count> fuses = {fuses_activation_v<Spec>...};
    constexpr std::array<bool, count> activation = {ActivationSpec<Spec>...};
    std::array<bool, count> result{};
    for (std::size_t k = 1; k < count; ++k) {
      result[k] = fuses[k - 1] && activation[k];  // a fused ReLU does not fuse
    }
    return result;
  }();
  // bound[k]: the index of the bound layer spec k became.
  static constexpr std::array<std::size_t, count> bound = [] {
    std::array<std::size_t, count> result{};
    std::size_t next = 0;
    for (std::size_t k = 0; k < count; ++k) {
      result[k] = fused[k] ? next - 1 : next++;
    }
    return result;
  }();
  static constexpr std::size_t bound_count = count == 0 ? 0 : bound[count - 1] + 1;
};

// I itself when I < Count; otherwise a compile error that gives I and Count.
template <std::size_t I, std::size_t Count>
constexpr std::size_t checked_index() noexcept {
  static_assert(diagnostics::index_out_of_range<I, Count>::fits);
  return I < Count ? I : 0;
}

// The I-th type of a tuple, with a message that gives I and the count when I is too large.
template <std::size_t I, class Tuple>
struct CheckedElement {
  static_assert(diagnostics::index_out_of_range<I, std::tuple_size_v<Tuple>>::fits);
  using type = std::tuple_element_t<I, Tuple>;
};
template <std::size_t I, class Tuple>
  requires(I >= std::tuple_size_v<Tuple>)
struct CheckedElement<I, Tuple> {
  static_assert(diagnostics::index_out_of_range<I, std::tuple_size_v<Tuple>>::fits);
  using type = void;
};

// What the model object keeps for one layer: nothing (no parameters), a pointer to const
// parameters (a frozen layer), or the parameters themselves (a trainable layer, in RAM).
// A state that keeps a pointer says so (keeps_reference): the constructor then refuses a
// temporary parameter struct, which would dangle.
template <class L>
struct FrozenState {
  static constexpr bool keeps_reference = true;
  const typename L::Params* pointer = nullptr;
  using InitParams = typename L::Params;
  constexpr void init(const InitParams& params) noexcept { pointer = &params; }
  constexpr const typename L::Params& params() const noexcept { return *pointer; }
};

struct StatelessState {
  constexpr NoParams params() const noexcept { return {}; }
};

template <class L>
struct LayerState {
  using type = StatelessState;
};
template <class L>
  requires(has_params_v<L> && !requires { typename L::State; })
struct LayerState<L> {
  using type = FrozenState<L>;
};
template <class L>
  requires requires { typename L::State; }
struct LayerState<L> {
  using type = typename L::State;
};
template <class L>
using layer_state_t = typename LayerState<L>::type;

// Layers whose state is set from a constructor argument.
template <class L>
inline constexpr bool takes_init_v = !std::is_same_v<layer_state_t<L>, StatelessState>;

template <class L>
inline constexpr bool keeps_reference_v = requires { requires layer_state_t<L>::keeps_reference; };

// One argument that is the model itself (or a derived one): the copy constructor's, not a
// parameter set.
template <class Model, class... P>
inline constexpr bool copies_model_v =
    sizeof...(P) == 1 && (std::is_base_of_v<Model, std::remove_cvref_t<P>> && ...);

// The constructor's checks of one parameter set, each a template so that the compiler's
// message names the layer (Layer: the bound layer; Position: where it was written).
template <class Layer, std::size_t Position, class Given>
struct CheckParameterSet {
  using Expected = typename layer_state_t<Layer>::InitParams;
  static_assert(std::is_convertible_v<const Given&, const Expected&>,
                "microtl::Sequential: a parameter set has the wrong type for its layer (the "
                "layer, its written position, and the type given are the arguments of "
                "'CheckParameterSet<Layer, Position, Given>'; the layer takes its "
                "Model::params_for<Position>)");
  static_assert(!keeps_reference_v<Layer> || std::is_lvalue_reference_v<Given>,
                "microtl::Sequential: a frozen layer's parameters are referenced, not copied: a "
                "temporary parameter struct would dangle. Pass a named object that outlives the "
                "model (const data with static storage; the layer and its written position are "
                "the arguments of 'CheckParameterSet<Layer, Position, Given>' in the message)");
  static constexpr bool fits = std::is_convertible_v<const Given&, const Expected&> &&
                               (!keeps_reference_v<Layer> || std::is_lvalue_reference_v<Given>);
};

template <class List>
struct StateTuple;
template <class... L>
struct StateTuple<std::tuple<L...>> {
  using type = std::tuple<layer_state_t<L>...>;
};

// The inference walk's policy: outputs and scratch where the inference plan puts them, and
// the caller's observer after each layer.
template <class Model, class Observer>
struct InferencePolicy {
  std::byte* arena;
  Observer& observer;

  template <std::size_t I>
  auto* output() const noexcept {
    using Out = storage_t<typename Model::template layer<I>::output_element>;
    return static_cast<Out*>(static_cast<void*>(arena + Model::plan.output_offset[I]));
  }
  template <std::size_t I>
  std::span<std::byte> scratch() const noexcept {
    return {arena + Model::plan.scratch_offset[I], Model::template layer<I>::scratch_bytes};
  }
  template <std::size_t I, class InQuant, class Out, class OutQuant>
  void after(const void*, InQuant, const Out* output, OutQuant quant) const noexcept {
    using L = typename Model::template layer<I>;
    observer(std::integral_constant<std::size_t, I>{},
             TensorView<const Out, typename L::output_shape>::unchecked(output), quant);
  }
};

}  // namespace graph

template <ShapeType InS, ActivationElement InE, class... Layers>
class Sequential<Input<InS, InE>, Layers...> {
 public:
  using layer_list = typename graph::BindChain<InS, InE, std::tuple<>, Layers...>::type;
  static_assert(std::tuple_size_v<layer_list> > 0,
                "microtl::Sequential: a model needs at least one layer after its Input");

  // The bound layers, after fusion (a ReLU after a Dense or convolution is part of it) and
  // with nested Sequentials spliced in. Trainers, plans and parameters() count these.
  template <std::size_t I>
  using layer = typename graph::CheckedElement<I, layer_list>::type;

  static constexpr std::size_t layer_count = std::tuple_size_v<layer_list>;

  // The layers as written: position K counts the specs after Input from 0, with nested
  // Sequentials spliced in (their own Input not counted). written_layer<K> is the bound layer
  // spec K became (for a fused ReLU: the layer it was fused into); params_for<K> the
  // parameter set the constructor takes for it.
  using written_specs = typename graph::FlatSpecs<Layers...>::type;
  static constexpr std::size_t written_count = std::tuple_size_v<written_specs>;
  template <std::size_t K>
  static constexpr std::size_t bound_index =
      graph::WrittenPositions<written_specs>::bound[graph::checked_index<K, written_count>()];
  template <std::size_t K>
  using written_layer = layer<bound_index<K>>;

 private:
  template <std::size_t K>
  struct ParamsFor {
    static_assert(
        !graph::WrittenPositions<written_specs>::fused[graph::checked_index<K, written_count>()],
        "microtl::Sequential::params_for: the layer at this position is a ReLU fused "
        "into the layer before it; it has no parameters of its own (use the position "
        "of the layer before it)");
    static_assert(graph::takes_init_v<written_layer<K>>,
                  "microtl::Sequential::params_for: the layer at this position has no parameters");
    using type = typename graph::layer_state_t<written_layer<K>>::InitParams;
  };

 public:
  template <std::size_t K>
  using params_for = typename ParamsFor<K>::type;
  template <std::size_t I>
  using layer_state_t = graph::layer_state_t<layer<I>>;
  using input_shape = InS;
  using input_element = InE;
  using output_shape = typename layer<layer_count - 1>::output_shape;
  using output_element = typename layer<layer_count - 1>::output_element;
  using input_view = TensorView<const storage_t<InE>, InS>;
  using output_view = TensorView<const storage_t<output_element>, output_shape>;

  // The memory plan, and the arena size it needs.
  static constexpr graph::InferencePlan<layer_count> plan = [] {
    std::array<graph::LayerFootprint, layer_count> footprints{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((footprints[I] = {layer<I>::input_shape::size *
                             sizeof(storage_t<typename layer<I>::input_element>),
                         layer<I>::output_shape::size *
                             sizeof(storage_t<typename layer<I>::output_element>),
                         layer<I>::scratch_bytes, layer<I>::placement}),
       ...);
    }(std::make_index_sequence<layer_count>{});
    return graph::plan_inference(footprints);
  }();
  static constexpr std::size_t inference_arena_bytes = plan.arena_bytes;
  using InferenceArena = Arena<inference_arena_bytes>;

 private:
  using States = typename graph::StateTuple<layer_list>::type;

  // Index of layer I's argument among the constructor's arguments.
  template <std::size_t I>
  static constexpr std::size_t init_slot = [] {
    std::size_t slot = 0;
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      ((slot += graph::takes_init_v<layer<J>> ? 1 : 0), ...);
    }(std::make_index_sequence<I>{});
    return slot;
  }();

 public:
  // How many parameter sets the constructor takes (after the input's quantization).
  static constexpr std::size_t parameter_count = init_slot<layer_count>;

  // A float-input model takes the parameters of every layer that has them, in the order
  // written (the type of each is params_for<its position>). A frozen layer's parameters are
  // referenced, not copied: they must outlive the model (const data in flash), and a
  // temporary is refused at compile time. A trainable layer's are copied into the model
  // (RAM): they are its initial values. A wrong count or type is a compile error that says
  // which.
  template <class... P>
    requires(std::is_same_v<InE, float> && !graph::copies_model_v<Sequential, P...>)
  explicit constexpr Sequential(P&&... params) noexcept {
    if constexpr (check_parameter_sets<P...>()) {
      init_states(std::forward_as_tuple(params...), std::make_index_sequence<layer_count>{});
    }
  }

  // An int8-input model takes the input's quantization parameters first.
  template <class... P>
    requires std::is_same_v<InE, QInt8>
  explicit constexpr Sequential(quant::QuantParams input_quant, P&&... params) noexcept
      : input_quant_(input_quant) {
    if constexpr (check_parameter_sets<P...>()) {
      init_states(std::forward_as_tuple(params...), std::make_index_sequence<layer_count>{});
    }
  }

  // Runs the model on `input`, using `arena` for every activation. Returns a view of the
  // output (inside the arena, valid until the arena is used again) and, for an int8 output,
  // its quantization parameters.
  struct Output {
    output_view values;
    quant_info_t<output_element> quant;
  };

  template <std::size_t Bytes, std::size_t Alignment>
  Output forward(input_view input, Arena<Bytes, Alignment>& arena) const noexcept {
    return forward(input, arena, [](auto, auto, auto) {});
  }

  // The same, calling `observer(std::integral_constant<std::size_t, I>{}, output, quant)`
  // after each layer I with a read-only view of its output: for calibration (activation
  // ranges for quantization), debugging and per-layer measurements. The observer must not
  // keep the views: the memory is reused by later layers.
  template <std::size_t Bytes, std::size_t Alignment, class Observer>
  Output forward(input_view input, Arena<Bytes, Alignment>& arena,
                 Observer&& observer) const noexcept {
    static_assert(diagnostics::arena_too_small<inference_arena_bytes, Bytes>::fits,
                  "microtl::Sequential::forward: the arena is smaller than inference_arena_bytes");
    static_assert(Alignment >= MICROTL_ALIGNMENT,
                  "microtl::Sequential::forward: the arena must be aligned to MICROTL_ALIGNMENT");
    graph::InferencePolicy<Sequential, Observer> policy{arena.bytes().data(), observer};
    const auto end = graph::walk<0, layer_count>(*this, input.data(), input_quant_, policy);
    return Output{output_view::unchecked(static_cast<const storage_t<output_element>*>(end.output)),
                  end.quant};
  }

  // The parameters layer I computes with (for a trainable layer: views of its current values).
  template <std::size_t I>
  decltype(auto) parameters() const noexcept {
    return std::get<I>(states_).params();
  }

  // What the model keeps for layer I (trainers update trainable layers through it).
  template <std::size_t I>
  layer_state_t<I>& state() noexcept {
    return std::get<I>(states_);
  }
  template <std::size_t I>
  const layer_state_t<I>& state() const noexcept {
    return std::get<I>(states_);
  }

  quant_info_t<InE> input_quant() const noexcept { return input_quant_; }

 private:
  // The written position of bound layer I (the first spec that became it).
  template <std::size_t I>
  static constexpr std::size_t written_position = [] {
    using Positions = graph::WrittenPositions<written_specs>;
    std::size_t k = 0;
    while (k < written_count && Positions::bound[k] != I) {
      ++k;
    }
    return k;
  }();

  // The constructor's compile-time checks: the count, then each set's type and lifetime.
  template <class... P>
  static constexpr bool check_parameter_sets() noexcept {
    static_assert(diagnostics::wrong_parameter_count<parameter_count, sizeof...(P)>::fits);
    if constexpr (sizeof...(P) == parameter_count) {
      using Given = std::tuple<P...>;
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return (check_parameter_set<I, Given>() && ...);
      }(std::make_index_sequence<layer_count>{});
    } else {
      return false;
    }
  }
  template <std::size_t I, class Given>
  static constexpr bool check_parameter_set() noexcept {
    if constexpr (graph::takes_init_v<layer<I>>) {
      return graph::CheckParameterSet<layer<I>, written_position<I>,
                                      std::tuple_element_t<init_slot<I>, Given>>::fits;
    } else {
      return true;
    }
  }

  template <class Args, std::size_t... I>
  constexpr void init_states(const Args& args, std::index_sequence<I...>) noexcept {
    (init_state<I>(args), ...);
  }
  template <std::size_t I, class Args>
  constexpr void init_state(const Args& args) noexcept {
    if constexpr (graph::takes_init_v<layer<I>>) {
      std::get<I>(states_).init(std::get<init_slot<I>>(args));
    }
  }

  [[no_unique_address]] quant_info_t<InE> input_quant_{};
  States states_{};
};

// A Sequential that starts with another Sequential (an extractor followed by a head) is the
// same model as one chain: the inner model's Input becomes the outer model's.
template <ShapeType InS, ActivationElement InE, class... Inner, class... Rest>
class Sequential<Sequential<Input<InS, InE>, Inner...>, Rest...>
    : public Sequential<Input<InS, InE>, Inner..., Rest...> {
 public:
  using Sequential<Input<InS, InE>, Inner..., Rest...>::Sequential;
};

}  // namespace microtl
