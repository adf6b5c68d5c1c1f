// BatchNorm folding for int8 inference: a BatchNorm right after a linear layer (Dense, Conv2D,
// Conv1D, DepthwiseConv2D) is merged into that layer's float weights and bias, as TFLite's
// converter does (TFLite has no int8 batch-norm operator). Per output channel c:
//
//   scale[c] = gamma[c] / sqrt(variance[c] + epsilon)     (what BatchNorm's forward computes)
//   w'[i]    = w[i] * scale[channel of i]
//   b'[c]    = (b[c] - mean[c]) * scale[c] + beta[c]
//
// so that w' x + b' = scale (w x + b - mean) + beta, the chain Linear -> BatchNorm. The folded
// float layer is then quantized like any other (layers/quantize_linear.hpp, quantize_linear,
// per-channel weight scales: a channel's scale[c] just rescales its weights' range).
//
// Weight layouts as in quantize_linear: the output channel leads for Dense [Out][In], Conv2D
// [Cout][KH][KW][Cin] and Conv1D [Cout][K][Cin] (ChannelAxis::leading); it trails for
// DepthwiseConv2D [KH][KW][C*M] (ChannelAxis::trailing).
//
// Setup code, constexpr: a model whose float parameters are constants can be folded by the
// compiler (the square root then runs as Newton's iteration in double, rounded to float; at
// run time it is std::sqrt, as in BatchNorm's forward).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/layers/batch_norm.hpp"
#include "microtl/layers/linear_params.hpp"
#include "microtl/layers/quantize_linear.hpp"

namespace microtl {

namespace fold_detail {

// sqrt(value) for value >= 0: std::sqrt at run time; in a constant expression, Newton's
// iteration in double from a power-of-two start (quadratic convergence, to the fixed point),
// then rounded to float.
constexpr float sqrt(float value) noexcept {
  if (!std::is_constant_evaluated()) {
    return std::sqrt(value);
  }
  const auto v = static_cast<double>(value);
  if (!(v > 0.0)) {
    return value;  // 0 (or a NaN, which stays one)
  }
  double r = 1.0;
  while (r * r < v) {
    r *= 2.0;
  }
  while (r * r > 4.0 * v) {
    r *= 0.5;
  }
  for (int i = 0; i < 64; ++i) {
    const double next = 0.5 * (r + v / r);
    if (next == r) {
      break;
    }
    r = next;
  }
  return static_cast<float>(r);
}

}  // namespace fold_detail

// A linear layer's float parameters with a BatchNorm folded in.
template <std::size_t WeightCount, std::size_t Channels>
struct FoldedLinear {
  std::array<float, WeightCount> weights{};
  std::array<float, Channels> bias{};

  // The parameters a float layer takes, referring to this object's arrays.
  constexpr LinearParams<float, WeightCount, Channels> params() const noexcept {
    return {weights, bias};
  }
};

template <ChannelAxis Axis, std::size_t WeightCount, std::size_t Channels>
constexpr FoldedLinear<WeightCount, Channels> fold_batch_norm(
    std::span<const float, WeightCount> weights, std::span<const float, Channels> bias,
    const BatchNormParams<Channels>& bn) noexcept {
  static_assert(Channels >= 1, "a linear layer has at least one output channel");
  static_assert(WeightCount % Channels == 0, "the weights must split evenly into output channels");
  constexpr std::size_t per_channel = WeightCount / Channels;
  std::array<float, Channels> scale{};
  FoldedLinear<WeightCount, Channels> folded{};
  for (std::size_t c = 0; c < Channels; ++c) {
    scale[c] = bn.gamma[c] / fold_detail::sqrt(bn.variance[c] + bn.epsilon);
    folded.bias[c] = (bias[c] - bn.mean[c]) * scale[c] + bn.beta[c];
  }
  for (std::size_t i = 0; i < WeightCount; ++i) {
    const std::size_t c = Axis == ChannelAxis::leading ? i / per_channel : i % Channels;
    folded.weights[i] = weights[i] * scale[c];
  }
  return folded;
}

// The same from a float layer's parameters.
template <ChannelAxis Axis, std::size_t WeightCount, std::size_t Channels>
constexpr FoldedLinear<WeightCount, Channels> fold_batch_norm(
    const LinearParams<float, WeightCount, Channels>& layer,
    const BatchNormParams<Channels>& bn) noexcept {
  return fold_batch_norm<Axis>(layer.weights, layer.bias, bn);
}

}  // namespace microtl
