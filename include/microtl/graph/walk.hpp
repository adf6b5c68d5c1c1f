// The one forward walk over a bound chain: layers Begin .. End-1 of a model, each reading
// the previous one's output. What differs between inference, the frozen part of a training
// step and the trainable part is only where outputs go and what is kept; a policy says that:
//
//   template <std::size_t I> Out* output();                  where layer I writes (not
//                                                            asked for view layers)
//   template <std::size_t I> std::span<std::byte> scratch(); its kernel scratch
//   template <std::size_t I> void after(const void* input, quant_info_t<in> in_quant,
//                                       const Out* output, quant_info_t<out> out_quant);
//                                                            called once layer I is done
//
// A view layer (Flatten) does no work: its output is its input, with the same quantization.
// Everything is resolved at compile time: the walk compiles to the straight sequence of
// kernel calls.
#pragma once

#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/core/element.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/quant/quant_info.hpp"

namespace microtl::graph {

// Where a walk ended: the last layer's output and its quantization.
template <class Q>
struct WalkEnd {
  const void* output;
  Q quant;
};

template <class Model, std::size_t I>
using walk_layer_t = typename Model::template layer<I>;

template <class Model, std::size_t I>
using walk_out_quant_t = quant_info_t<typename walk_layer_t<Model, I>::output_element>;

// Runs layers I .. End-1 (I < End) of `model` on `input` (quantized with `quant`).
template <std::size_t I, std::size_t End, class Model, class Policy>
WalkEnd<walk_out_quant_t<Model, End - 1>> walk(
    const Model& model, const void* input,
    quant_info_t<typename walk_layer_t<Model, I>::input_element> quant, Policy& policy) noexcept {
  static_assert(I < End, "microtl::graph::walk: an empty range of layers");
  using L = walk_layer_t<Model, I>;
  using In = storage_t<typename L::input_element>;
  using Out = storage_t<typename L::output_element>;
  const void* output = input;
  quant_info_t<typename L::output_element> out_quant{};
  if constexpr (L::placement == OutputPlacement::view) {
    out_quant = quant;  // a view keeps its input's element type and quantization
  } else {
    Out* out = policy.template output<I>();
    out_quant = L::forward(
        model.template parameters<I>(),
        TensorView<const In, typename L::input_shape>::unchecked(static_cast<const In*>(input)),
        quant, TensorView<Out, typename L::output_shape>::unchecked(out),
        policy.template scratch<I>());
    output = out;
  }
  policy.template after<I>(input, quant, static_cast<const Out*>(output), out_quant);
  if constexpr (I + 1 < End) {
    return walk<I + 1, End>(model, output, out_quant, policy);
  } else {
    return {output, out_quant};
  }
}

}  // namespace microtl::graph
