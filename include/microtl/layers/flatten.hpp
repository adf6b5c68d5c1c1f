// Flatten: the same elements seen as one dimension (NHWC order, as TFLite's Reshape).
// It moves no data: the Sequential hands the next layer a reshaped view of the buffer.
#pragma once

#include <cstddef>

#include "microtl/core/shape.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E>
struct FlattenLayer {
  using input_shape = S;
  using output_shape = FlatShape<S>;
  using input_element = E;
  using output_element = E;
  using Params = NoParams;
  static constexpr const char* name = "Flatten";
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr OutputPlacement placement = OutputPlacement::view;
};

}  // namespace layers

struct Flatten {
  template <ShapeType S, ActivationElement E>
  using bind = layers::FlattenLayer<S, E>;
};

}  // namespace microtl
