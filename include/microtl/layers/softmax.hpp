// Softmax over a vector of logits: p[i] = e^(x[i] - max) / sum_j e^(x[j] - max).
//
// float: TFLite's float reference (beta 1).
// int8:  TFLite's int8 kernel, bit-exact. Parameters: kernels::SoftmaxParams, made once by
//        kernels::prepare_softmax_s8(1.0f, input_scale). The output's quantization is fixed
//        by TFLite: scale 1/256, zero point -128 (p = (q + 128) / 256).
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/core/shape.hpp"
#include "microtl/kernels/portable/softmax.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E>
struct SoftmaxLayer : LayerBase<S, E> {
  static_assert(
      S::rank == 1,
      "microtl::Softmax: the input must be a vector of logits (rank 1); put a Flatten before it");

  using output_shape = S;
  using Params = std::conditional_t<std::same_as<E, QInt8>, kernels::SoftmaxParams, NoParams>;
  static constexpr const char* name = "Softmax";

  // TFLite's fixed output quantization of int8 softmax.
  static constexpr quant::QuantParams int8_output{1.0f / 256.0f, -128};

  static quant_info_t<E> forward(const Params& params, input_view_t<SoftmaxLayer> in,
                                 quant_info_t<E> q, output_view_t<SoftmaxLayer> out,
                                 std::span<std::byte>) noexcept {
    if constexpr (std::same_as<E, float>) {
      kernels::softmax_f32<S::size>(in.span(), out.span());
      return q;
    } else {
      kernels::softmax_s8<S::size>(in.span(), out.span(), params);
      return int8_output;
    }
  }
};

}  // namespace layers

struct Softmax {
  template <ShapeType S, ActivationElement E>
  using bind = layers::SoftmaxLayer<S, E>;
};

}  // namespace microtl
