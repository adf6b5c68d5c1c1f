// Flatten: the same elements seen as one dimension (NHWC order, as TFLite's Reshape).
// It moves no data: the Sequential hands the next layer a reshaped view of the buffer.
#pragma once

#include <cstddef>

#include "microtl/core/shape.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E>
struct FlattenLayer : LayerBase<S, E, E, OutputPlacement::view> {
  using output_shape = FlatShape<S>;
  static constexpr const char* name = "Flatten";
};

}  // namespace layers

struct Flatten {
  template <ShapeType S, ActivationElement E>
  using bind = layers::FlattenLayer<S, E>;
};

}  // namespace microtl
