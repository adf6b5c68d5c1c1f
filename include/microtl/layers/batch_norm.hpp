// BatchNorm: batch normalization with frozen statistics (inference form), per channel c
// (the last axis of any input shape):
//
//   y[p][c] = gamma[c] * (x[p][c] - mean[c]) / sqrt(variance[c] + epsilon) + beta[c]
//
//   input, output  [..., C]   float
//   gamma, beta    [C]        scale and shift: they train under Trainable<BatchNorm>
//   mean, variance [C]        the moving statistics of pretraining: frozen (a sample at a
//                             time gives no batch statistics to learn them from)
//
// float only: an int8 model has its BatchNorm folded into the convolution before it at
// conversion time (TFLite has no int8 batch-norm operator).
//
// This header is the example of a layer that trains with parameters other than weights and
// bias: its Params meet TrainableParams (layers/contract.hpp), so Trainable<BatchNorm> works
// without any change to the trainer, the parameter blob or the model signature.
#pragma once

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/core/borrowed_span.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl {

// The parameter tensors of a BatchNorm, as gradient sinks and trained-tensor lists name them.
namespace batch_norm_tensor {
inline constexpr std::size_t gamma = 0;
inline constexpr std::size_t beta = 1;
}  // namespace batch_norm_tensor

template <std::size_t C>
struct BatchNormParams;

// gamma and beta owned in RAM for training; the statistics stay where they are (flash).
template <std::size_t C>
struct BatchNormValues : VisitTensors<BatchNormValues<C>> {
  static constexpr std::array<TrainedTensor, 2> tensors = {
      {{batch_norm_tensor::gamma, C}, {batch_norm_tensor::beta, C}}};
  std::array<float, C> gamma{};
  std::array<float, C> beta{};
  const float* mean = nullptr;
  const float* variance = nullptr;
  float epsilon = 0.0f;

  void assign(const BatchNormParams<C>& from) noexcept {
    for (std::size_t c = 0; c < C; ++c) {
      gamma[c] = from.gamma[c];
      beta[c] = from.beta[c];
    }
    mean = from.mean.data();
    variance = from.variance.data();
    epsilon = from.epsilon;
  }
  BatchNormParams<C> view() const noexcept {
    return {gamma, beta, std::span<const float, C>(mean, C), std::span<const float, C>(variance, C),
            epsilon};
  }
  template <class Self, class F>
  static void visit(Self& self, F& f) noexcept {  // Self: BatchNormValues, const or not
    f(std::integral_constant<std::size_t, batch_norm_tensor::gamma>{}, std::span(self.gamma));
    f(std::integral_constant<std::size_t, batch_norm_tensor::beta>{}, std::span(self.beta));
  }
};

template <std::size_t C>
struct BatchNormParams {
  using Values = BatchNormValues<C>;
  BorrowedSpan<float, C> gamma;
  BorrowedSpan<float, C> beta;
  BorrowedSpan<float, C> mean;
  BorrowedSpan<float, C> variance;
  float epsilon = 1e-3f;  // Keras's default
};

namespace layers {

template <ShapeType S, ActivationElement E>
struct BatchNormLayer : LayerBase<S, float> {
  static_assert(std::same_as<E, float>,
                "microtl::BatchNorm: float only; fold it into the convolution before it when "
                "quantizing to int8");
  static constexpr std::size_t channels = S::dim(S::rank - 1);
  static constexpr std::size_t positions = S::size / channels;

  using output_shape = S;
  using Params = BatchNormParams<channels>;
  static constexpr const char* name = "BatchNorm";

  // y = x * scale[c] + shift[c], with scale = gamma / sqrt(variance + epsilon) and
  // shift = beta - mean * scale: one multiply-add per value.
  static NoQuant forward(const Params& p, input_view_t<BatchNormLayer> in, NoQuant,
                         output_view_t<BatchNormLayer> out, std::span<std::byte>) noexcept {
    std::array<float, channels> scale{};
    std::array<float, channels> shift{};
    for (std::size_t c = 0; c < channels; ++c) {
      scale[c] = p.gamma[c] / std::sqrt(p.variance[c] + p.epsilon);
      shift[c] = p.beta[c] - p.mean[c] * scale[c];
    }
    for (std::size_t i = 0; i < positions; ++i) {
      for (std::size_t c = 0; c < channels; ++c) {
        out[i * channels + c] = in[i * channels + c] * scale[c] + shift[c];
      }
    }
    return {};
  }

  // With r[c] = 1 / sqrt(variance[c] + epsilon) and x^[p][c] = (x[p][c] - mean[c]) r[c]:
  //   dgamma[c] += sum_p dy[p][c] x^[p][c]      dbeta[c] += sum_p dy[p][c]
  //   dx[p][c]   = dy[p][c] gamma[c] r[c]
  // (the statistics are constants here). One contribution per position: the sink adds.
  static constexpr bool single_gradient_write = positions == 1;
  template <bool InputGrad, GradientSink Sink>
  static void backward(const Params& p, const ForwardRecord<BatchNormLayer>& forward,
                       TensorView<float, S> dy, TensorView<float, S> dx,
                       const Sink& sink) noexcept {
    std::array<float, channels> r{};
    for (std::size_t c = 0; c < channels; ++c) {
      r[c] = 1.0f / std::sqrt(p.variance[c] + p.epsilon);
    }
    for (std::size_t i = 0; i < positions; ++i) {
      const float* x = forward.x.data() + i * channels;
      const float* g = dy.data() + i * channels;
      if constexpr (InputGrad) {  // first: a sink may update gamma in place
        for (std::size_t c = 0; c < channels; ++c) {
          dx[i * channels + c] = g[c] * p.gamma[c] * r[c];
        }
      }
      if constexpr (Sink::template wants<batch_norm_tensor::gamma>) {
        sink.template put<batch_norm_tensor::gamma>(
            0, channels, [&](std::size_t c) { return g[c] * ((x[c] - p.mean[c]) * r[c]); });
      }
      if constexpr (Sink::template wants<batch_norm_tensor::beta>) {
        sink.template put<batch_norm_tensor::beta>(0, channels,
                                                   [g](std::size_t c) { return g[c]; });
      }
    }
  }
};

}  // namespace layers

struct BatchNorm {
  template <ShapeType S, ActivationElement E>
  using bind = layers::BatchNormLayer<S, E>;
};

}  // namespace microtl
