// Reshape<Shape<...>>: the same elements seen with another shape, in row-major (NHWC) order,
// as TFLite's RESHAPE: y[flat i] = x[flat i]. Any rank in, any rank out; the element counts
// must be equal.
//
//   Conv1D output [L][C]  -> Reshape<Shape<1, L, C>>  -> a 2-D layer over a one-row image
//   Dense output  [L * C] -> Reshape<Shape<L, C>>     -> a Conv1D over L samples
//
// float and int8 alike: a view layer. It has no forward and moves no data: the next layer
// reads the same buffer, with the same quantization. Backward is the identity on the same
// memory, so the trainer passes the gradient through without running anything.
#pragma once

#include <cstddef>

#include "microtl/core/shape.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl {

namespace layers {

template <ShapeType S, ActivationElement E, ShapeType To>
struct ReshapeLayer {
  static_assert(To::size == S::size,
                "microtl::Reshape: the new shape must have as many elements as the layer's "
                "input (the product of the extents differs)");

  using input_shape = S;
  using output_shape = To;
  using input_element = E;
  using output_element = E;
  using Params = NoParams;
  static constexpr const char* name = "Reshape";
  static constexpr std::size_t scratch_bytes = 0;
  static constexpr OutputPlacement placement = OutputPlacement::view;
};

}  // namespace layers

template <ShapeType To>
struct Reshape {
  template <ShapeType S, ActivationElement E>
  using bind = layers::ReshapeLayer<S, E, To>;
};

}  // namespace microtl
