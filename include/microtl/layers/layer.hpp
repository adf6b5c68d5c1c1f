// What every layer has in common: element types, the interface a layer presents once the
// model has told it its input, and the concepts that check that interface.
//
// A layer is written by the user as a *spec*, a type that does not yet know its input:
// `Dense<32>`, `Conv2D<8, Kernel<3, 3>, Padding::same>`, `ReLU`. A Sequential binds each
// spec to the shape and element type flowing into it:
//
//   typename Spec::template bind<InputShape, InputElement, FusedActivation>
//
// and gets a *bound layer*: a type with static members only, that states its input and
// output shapes and elements, its parameter type, the scratch memory its kernel needs,
// how its output relates to its input in memory, and its forward function.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/quant/quant_info.hpp"

namespace microtl {

// A layer without parameters, and so without parameter gradients.
struct NoParams {};
struct NoGrads {};

// ---------------------------------------------------------------------------------------
// How a bound layer's output sits in memory relative to its input.
// ---------------------------------------------------------------------------------------
enum class OutputPlacement : std::uint8_t {
  separate,  // a buffer of its own, alive together with the input buffer
  in_place,  // may overwrite its input element by element (activations)
  view,      // the input buffer itself, seen with another shape (Flatten): no work at all
};

// ---------------------------------------------------------------------------------------
// The bound-layer interface, checked by the BoundLayer concept.
//
//   using input_shape, output_shape;            Shape<...>
//   using input_element, output_element;        float or QInt8
//   using Params;                               NoParams, or the parameter struct
//   static constexpr const char* name;          for reports ("Conv2D")
//   static constexpr std::size_t scratch_bytes; kernel scratch during forward
//   static constexpr OutputPlacement placement;
//   static quant_info_t<output_element> forward(const Params&,
//       TensorView<const storage_t<input_element>, input_shape> in, quant_info_t<input_element>,
//       TensorView<storage_t<output_element>, output_shape> out, std::span<std::byte> scratch);
//     (view layers have no forward)
// ---------------------------------------------------------------------------------------
template <class L>
concept BoundLayer = requires {
  typename L::input_shape;
  typename L::output_shape;
  typename L::input_element;
  typename L::output_element;
  typename L::Params;
  { L::name } -> std::convertible_to<const char*>;
  { L::scratch_bytes } -> std::convertible_to<std::size_t>;
  { L::placement } -> std::convertible_to<OutputPlacement>;
}
&&ShapeType<typename L::input_shape>&& ShapeType<typename L::output_shape>&&
    ActivationElement<typename L::input_element>&& ActivationElement<typename L::output_element>;

template <class L>
inline constexpr bool has_params_v = !std::is_same_v<typename L::Params, NoParams>;

// (Unconstrained: layers use them in their own declarations, while still incomplete.)
template <class L>
using input_view_t =
    TensorView<const storage_t<typename L::input_element>, typename L::input_shape>;
template <class L>
using output_view_t = TensorView<storage_t<typename L::output_element>, typename L::output_shape>;

// ---------------------------------------------------------------------------------------
// Backward pass (float layers between the loss and the earliest trainable layer):
//
//   template <bool InputGrad>
//   static void backward(const Params&, TensorView<const float, input_shape> x,
//                        TensorView<const float, output_shape> y,
//                        TensorView<float, output_shape> dy,   // dL/dy; may be overwritten
//                        TensorView<float, input_shape> dx,    // dL/dx, written when InputGrad
//                        Grads grads);                          // += dL/dparameters, or NoGrads
//
// x and y are the input and output saved by the forward pass. The earliest trainable layer
// is instantiated with InputGrad = false: its input gradient is never computed.
// ---------------------------------------------------------------------------------------

// The derivative of a fused activation, applied to an output gradient in place:
//   relu:  dy *= (y > 0)          relu6: dy *= (0 < y < 6)
// (at the kinks the derivative is taken as 0, as TensorFlow does).
template <quant::Activation A, std::size_t N>
inline void apply_activation_grad(const float* y, float* dy) noexcept {
  if constexpr (A == quant::Activation::relu) {
    for (std::size_t i = 0; i < N; ++i) {
      dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
  } else if constexpr (A == quant::Activation::relu6) {
    for (std::size_t i = 0; i < N; ++i) {
      dy[i] = (y[i] > 0.0f && y[i] < 6.0f) ? dy[i] : 0.0f;
    }
  }
}

// Layer specs that can absorb a following ReLU / ReLU6 into their output stage (Dense,
// convolutions) say so; the Sequential then binds them with that activation and drops the
// separate activation layer, as TFLite's fused activations do.
template <class Spec>
inline constexpr bool fuses_activation_v = requires {
  requires Spec::fuses_activation;
};

}  // namespace microtl
