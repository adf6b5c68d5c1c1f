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
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/qparams.hpp"
#include "microtl/quant/quant_info.hpp"

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

// What the backward pass of a linear layer reads, in real units, for float and int8 layers:
//
//   float   x_real[i] = x[i]                          w_real[j] = w[j]
//   int8    x_real[i] = s_in (x[i] - z_in)             w_real[j] = s_w[c] q[j]   (j in channel c)
//
// The int8 weights stay codes: the channel's scale goes onto the output gradient once per
// output (dx[i] = sum_o q[o][i] (s_w[o] g[o])), so no float copy of the weights exists and
// the inner loop is the float one with an int8 load. x_real is quant::dequantize, the same
// float the Dequantize layer would make. s_w[c] comes from the requantization multiplier
// (an int8 layer's parameters carry no other scale):
//   M_c = s_in s_w[c] / s_out   =>   s_w[c] = M_c s_out / s_in.
template <ActivationElement E, std::size_t Channels>
struct LinearOperands;

template <std::size_t Channels>
struct LinearOperands<float, Channels> {
  const float* x;
  const float* w;
  float input(std::size_t i) const noexcept { return x[i]; }
  float weight(std::size_t j) const noexcept { return w[j]; }
  // (A factor of one: g * 1.0f is g exactly, and the compiler drops the multiply.)
  static constexpr float weight_scale(std::size_t) noexcept { return 1.0f; }
};

template <std::size_t Channels>
struct LinearOperands<QInt8, Channels> {
  const std::int8_t* x;
  quant::QuantParams x_quant;
  const std::int8_t* w;
  std::array<float, Channels> w_scale;
  float input(std::size_t i) const noexcept { return quant::dequantize(x[i], x_quant); }
  float weight(std::size_t j) const noexcept { return static_cast<float>(w[j]); }
  float weight_scale(std::size_t c) const noexcept { return w_scale[c]; }
};

// The operands of a linear layer's forward record x -> y with parameters `params`.
template <std::size_t WeightCount, std::size_t Channels>
LinearOperands<float, Channels> linear_operands(const LinearParams<float, WeightCount, Channels>& p,
                                                const float* x, NoQuant) noexcept {
  return {x, p.weights.data()};
}
template <std::size_t WeightCount, std::size_t Channels>
LinearOperands<QInt8, Channels> linear_operands(const LinearParams<QInt8, WeightCount, Channels>& p,
                                                const std::int8_t* x,
                                                quant::QuantParams x_quant) noexcept {
  LinearOperands<QInt8, Channels> ops{x, x_quant, p.weights.data(), {}};
  const float ratio = p.output.scale / x_quant.scale;  // s_out / s_in, once per sample
  for (std::size_t c = 0; c < Channels; ++c) {
    ops.w_scale[c] = quant::real_multiplier(p.multipliers[c]) * ratio;
  }
  return ops;
}

// What Dense, Conv2D, DepthwiseConv2D and Conv1D share: the fused activation, the choice
// between the float and the int8 kernel (with TFLite's requantization arguments), and the
// backward pass, the same code for both element types (in real units, through the
// operands above). Layer, the derived bound layer, gives its output_shape, Params, name, and
//   static void forward_f32(const Params&, std::span<const float, In>, std::span<float, Out>);
//   static void forward_s8(const Params&, std::span<const int8_t, In>, std::span<int8_t, Out>,
//                          const kernels::RequantizedOpParams<C>&);
//   template <bool InputGrad, GradientSink Sink>
//   static void backward_linear(const LinearOperands<E, C>&, float* g, float* dx, const Sink&);
//     g: the output gradient with the fused activation's derivative already applied
//     (float: the activation's derivative at y; int8: zero where the output code was clamped
//     by the activation or by saturation, apply_output_activation_grad).
// (The forward and backward below take Layer as a defaulted template argument so that they
// are declared only once Layer is complete.)
template <class Layer, ShapeType S, ActivationElement E, quant::Activation A>
struct LinearLayerBase : LayerBase<S, E> {
  static constexpr quant::Activation activation = A;
  // Where the output channel sits in the weights: first (Dense [Out][In], Conv2D
  // [F][KH][KW][C], Conv1D [F][K][C]) unless the layer says otherwise (DepthwiseConv2D).
  static constexpr bool weights_channel_last = false;
  // Frozen, the backward pass needs the weights and the output's clamp only: the input is
  // read for a weight gradient (Trainable<...> says so).
  static constexpr bool backward_reads_input = false;
  static constexpr bool backward_reads_output = output_activation_grad_reads_y<E, A>;

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
  static void backward(const typename L::Params& params, const ForwardRecord<L>& forward,
                       TensorView<float, typename L::output_shape> dy, TensorView<float, S> dx,
                       const Sink& sink) noexcept {
    apply_output_activation_grad<L, A>(forward, dy);
    L::template backward_linear<InputGrad>(
        linear_operands(params, forward.x.data(), forward.x_quant), dy.data(), dx.data(), sink);
  }
};

}  // namespace layers
}  // namespace microtl
