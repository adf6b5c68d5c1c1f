// The parameters of the layers that compute  y = activation(W x + b):  Dense, Conv2D,
// DepthwiseConv2D and Conv1D. One struct per element type; the layer decides the extents.
//
// They hold spans (pointer and compile-time length), not arrays: the weights stay wherever
// the caller put them (const data in flash for a deployed model), and a span of the wrong
// length does not compile.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/core/borrowed_span.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

template <ActivationElement E, std::size_t WeightCount, std::size_t Channels>
struct LinearParams;

// The parameter tensors of a linear layer, as gradient sinks and trained-tensor lists name
// them (layers/contract.hpp).
namespace linear_tensor {
inline constexpr std::size_t weights = 0;
inline constexpr std::size_t bias = 1;
}  // namespace linear_tensor

// The values of a float linear layer owned in RAM, for training (TrainableParams::Values,
// layers/contract.hpp).
template <std::size_t WeightCount, std::size_t Channels>
struct LinearValues : VisitTensors<LinearValues<WeightCount, Channels>> {
  static constexpr std::array<TrainedTensor, 2> tensors = {
      {{linear_tensor::weights, WeightCount}, {linear_tensor::bias, Channels}}};
  std::array<float, WeightCount> weights{};
  std::array<float, Channels> bias{};

  void assign(const LinearParams<float, WeightCount, Channels>& from) noexcept {
    std::copy(from.weights.begin(), from.weights.end(), weights.begin());
    std::copy(from.bias.begin(), from.bias.end(), bias.begin());
  }
  LinearParams<float, WeightCount, Channels> view() const noexcept { return {weights, bias}; }
  template <class Self, class F>
  static void visit(Self& self, F& f) noexcept {  // Self: LinearValues, const or not
    f(std::integral_constant<std::size_t, linear_tensor::weights>{}, std::span(self.weights));
    f(std::integral_constant<std::size_t, linear_tensor::bias>{}, std::span(self.bias));
  }
};

// float: weights in the layer's documented layout, one bias per output channel.
template <std::size_t WeightCount, std::size_t Channels>
struct LinearParams<float, WeightCount, Channels> {
  static constexpr std::size_t weights_extent = WeightCount;
  static constexpr std::size_t bias_extent = Channels;
  using Values = LinearValues<WeightCount, Channels>;
  BorrowedSpan<float, WeightCount> weights;
  BorrowedSpan<float, Channels> bias;
};

// int8, TFLite's scheme: symmetric int8 weights (zero point 0, per output channel or per
// tensor), int32 bias with scale input_scale * weight_scale[c] and zero point 0, the
// requantization multiplier input_scale * weight_scale[c] / output_scale of each channel,
// and the output's quantization parameters.
template <std::size_t WeightCount, std::size_t Channels>
struct LinearParams<QInt8, WeightCount, Channels> {
  static constexpr std::size_t weights_extent = WeightCount;
  static constexpr std::size_t bias_extent = Channels;
  BorrowedSpan<std::int8_t, WeightCount> weights;
  BorrowedSpan<std::int32_t, Channels> bias;
  kernels::ChannelMultipliers<Channels> multipliers;
  quant::QuantParams output;
};

template <class P>
inline constexpr bool is_linear_params_v = false;
template <ActivationElement E, std::size_t WeightCount, std::size_t Channels>
inline constexpr bool is_linear_params_v<LinearParams<E, WeightCount, Channels>> = true;

namespace layers {

// The kernel arguments of an int8 linear layer: offsets from the zero points of the input
// (flowing in with the data) and of the output, the fused activation's clamp range.
template <std::size_t WeightCount, std::size_t Channels>
constexpr kernels::RequantizedOpParams<Channels> requantized_op_params(
    const LinearParams<QInt8, WeightCount, Channels>& params, quant::QuantParams input,
    quant::Activation activation) noexcept {
  return {-input.zero_point, params.output.zero_point,
          quant::activation_range(activation, params.output), params.multipliers};
}

// What Dense, Conv2D, DepthwiseConv2D and Conv1D share: the fused activation, the choice
// between the float and the int8 kernel (with TFLite's requantization arguments), and the
// backward pass's contract (float only: an int8 linear layer trains as BiasOnly<...>, whose
// wrapper has a backward of its own). Layer, the derived bound layer, gives its output_shape,
// Params, name, and
//   static void forward_f32(const Params&, std::span<const float, In>, std::span<float, Out>);
//   static void forward_s8(const Params&, std::span<const int8_t, In>, std::span<int8_t, Out>,
//                          const kernels::RequantizedOpParams<C>&);
//   template <bool InputGrad, GradientSink Sink>
//   static void backward_f32(const Params&, const float* x, const float* y, float* dy,
//                            float* dx, const Sink&);
// (The forward and backward below take Layer as a defaulted template argument so that they
// are declared only once Layer is complete.)
template <class Layer, ShapeType S, ActivationElement E, quant::Activation A>
struct LinearLayerBase : LayerBase<S, E> {
  static constexpr quant::Activation activation = A;

  template <class L = Layer>
  static quant_info_t<E> forward(const typename L::Params& params, input_view_t<L> in,
                                 quant_info_t<E> q, output_view_t<L> out,
                                 std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      L::forward_f32(params, in.span(), out.span());
      return q;
    } else {
      L::forward_s8(params, in.span(), out.span(), requantized_op_params(params, q, A));
      return params.output;
    }
  }

  template <bool InputGrad, GradientSink Sink, class L = Layer>
    requires std::same_as<E, float>
  static void backward(const typename L::Params& params, const ForwardRecord<L>& forward,
                       TensorView<float, typename L::output_shape> dy, TensorView<float, S> dx,
                       const Sink& sink) noexcept {
    L::template backward_f32<InputGrad>(params, forward.x.data(), forward.y.data(), dy.data(),
                                        dx.data(), sink);
  }
};

}  // namespace layers
}  // namespace microtl
