// The vocabulary every layer shares: parameterless markers, how an output sits in memory,
// the views a layer's functions take, what a forward pass leaves for the backward pass, and
// the derivative of a fused activation. The rules a layer must follow are stated, as
// concepts, in layers/contract.hpp.
#pragma once

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

// A layer without parameters.
struct NoParams {};

// How a bound layer's output sits in memory relative to its input.
enum class OutputPlacement : std::uint8_t {
  separate,  // a buffer of its own, alive together with the input buffer
  in_place,  // may overwrite its input element by element (activations)
  view,      // the input buffer itself, seen with another shape (Flatten): no work at all
};

// What most bound layers declare alike (layers/contract.hpp, BoundLayer): the input shape,
// the element types, the placement, and the defaults a layer overrides by declaring the
// member again: no parameters, no kernel scratch, nothing saved for backward besides input
// and output. A layer adds its output_shape, name, forward (and backward).
template <ShapeType In, ActivationElement InE, ActivationElement OutE = InE,
          OutputPlacement Placement = OutputPlacement::separate>
struct LayerBase {
  using input_shape = In;
  using input_element = InE;
  using output_element = OutE;
  using Params = NoParams;
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr OutputPlacement placement = Placement;
  static constexpr std::size_t backward_saved_bytes = 0;
};

// for_each over a Values struct's tensors (TrainableParams, layers/contract.hpp), const or
// not, from its one `template <class Self, class F> static void visit(Self&, F&)`.
template <class Values>
struct VisitTensors {
  template <class F>
  void for_each(F&& f) noexcept {
    Values::visit(static_cast<Values&>(*this), f);
  }
  template <class F>
  void for_each(F&& f) const noexcept {
    Values::visit(static_cast<const Values&>(*this), f);
  }
};

// (Unconstrained: layers use them in their own declarations, while still incomplete.)
template <class L>
using input_view_t =
    TensorView<const storage_t<typename L::input_element>, typename L::input_shape>;
template <class L>
using output_view_t = TensorView<storage_t<typename L::output_element>, typename L::output_shape>;

template <class L>
inline constexpr bool has_params_v = !std::is_same_v<typename L::Params, NoParams>;

// What the forward pass of a training step leaves for a layer's backward pass: its input
// and output as they were computed (int8 codes with their quantization, or float values),
// and the bytes the layer saved for itself (L::backward_saved_bytes; empty for most).
template <class InE, class InS, class OutE, class OutS>
struct ForwardRecordOf {
  TensorView<const storage_t<InE>, InS> x;
  quant_info_t<InE> x_quant;
  TensorView<const storage_t<OutE>, OutS> y;
  quant_info_t<OutE> y_quant;
  std::span<std::byte> saved;
};
// (A type of the shapes and elements alone: a wrapper such as Trainable<...> and the layer it
// wraps share it.)
template <class L>
using ForwardRecord = ForwardRecordOf<typename L::input_element, typename L::input_shape,
                                      typename L::output_element, typename L::output_shape>;

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

// The same for an int8 output, in real units: the gradient passes where the output code was
// not clamped by the fused activation or by saturation (range.min < y < range.max).
template <std::size_t N>
inline void pass_unclamped_grad(const std::int8_t* y, quant::ActivationRange range,
                                float* dy) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    dy[i] = (y[i] > range.min && y[i] < range.max) ? dy[i] : 0.0f;
  }
}

// The derivative of layer L's fused activation A at its saved output, for float and int8
// layers alike (int8: the clamp range of A for the output's quantization).
template <class L, quant::Activation A>
inline void apply_output_activation_grad(const ForwardRecord<L>& forward,
                                         TensorView<float, typename L::output_shape> dy) noexcept {
  constexpr std::size_t n = L::output_shape::size;
  if constexpr (std::is_same_v<typename L::output_element, float>) {
    apply_activation_grad<A, n>(forward.y.data(), dy.data());
  } else {
    pass_unclamped_grad<n>(forward.y.data(), quant::activation_range(A, forward.y_quant),
                           dy.data());
  }
}

// Whether apply_output_activation_grad reads the output: always for int8 (the clamp of the
// codes, saturation included), for float only when an activation is fused.
template <ActivationElement OutE, quant::Activation A>
inline constexpr bool output_activation_grad_reads_y =
    !std::is_same_v<OutE, float> || A != quant::Activation::none;

// Layer specs that can absorb a following ReLU / ReLU6 into their output stage (Dense,
// convolutions, pools) say so; the Sequential then binds them with that activation and drops
// the separate activation layer, as TFLite's fused activations do.
template <class Spec>
inline constexpr bool fuses_activation_v = requires { requires Spec::fuses_activation; };

}  // namespace microtl
