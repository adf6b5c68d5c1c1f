// Sequential with parametrised layers: the MicroTL-style CNN's shapes (its memory plan is in
// test_memory_plan.cpp), activation fusion, and a float model run through the chain matching the
// same kernels called by hand.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <type_traits>

#include "microtl/microtl.hpp"

using namespace microtl;

namespace {

// The extractor of design.md: 28x28x1 int8 image, two conv blocks, flattened to 784.
using Extractor = Sequential<Input<Shape<28, 28, 1>, QInt8>,                            //
                             Conv2D<8, Kernel<3>, Padding::same>, ReLU, MaxPool2D<2>,   //
                             Conv2D<16, Kernel<3>, Padding::same>, ReLU, MaxPool2D<2>,  //
                             Flatten>;
using Model = Sequential<Extractor, Dequantize, Dense<32>, ReLU, Dense<10>>;

// ReLUs after the convolutions and the first Dense are fused: 8 layers, not 11.
static_assert(Model::layer_count == 8);
static_assert(std::is_same_v<Extractor::output_shape, Shape<784>>);
static_assert(std::is_same_v<Model::layer<1>::output_shape, Shape<14, 14, 8>>);
static_assert(Model::layer<0>::activation == quant::Activation::relu);
static_assert(Model::layer<2>::activation == quant::Activation::relu);
static_assert(Model::layer<6>::activation == quant::Activation::relu);
static_assert(Model::layer<7>::activation == quant::Activation::none);
static_assert(std::is_same_v<Model::output_shape, Shape<10>>);
static_assert(std::is_same_v<Model::output_element, float>);

// Its memory plan (7840 bytes) is checked in test_memory_plan.cpp.

// A small float CNN to run: 6x6x2 -> Conv2D 3 filters 3x3 same + ReLU -> MaxPool 2 ->
// Flatten -> Dense 4.
using Small = Sequential<Input<Shape<6, 6, 2>>, Conv2D<3, Kernel<3>, Padding::same>, ReLU,
                         MaxPool2D<2>, Flatten, Dense<4>>;
static_assert(Small::layer_count == 4);

template <std::size_t N>
std::array<float, N> pattern(float scale, int phase) {
  std::array<float, N> values{};
  for (std::size_t i = 0; i < N; ++i) {
    values[i] = scale * static_cast<float>((static_cast<int>(i) * 7 + phase) % 13 - 6);
  }
  return values;
}

}  // namespace

TEST_CASE("sequential: a float CNN equals its kernels called one after another") {
  static const auto conv_w = pattern<3 * 3 * 3 * 2>(0.1f, 1);
  static const auto conv_b = pattern<3>(0.05f, 2);
  static const auto dense_w = pattern<4 * 27>(0.02f, 3);
  static const auto dense_b = pattern<4>(0.1f, 4);
  static const LinearParams<float, 54, 3> conv{conv_w, conv_b};
  static const LinearParams<float, 108, 4> dense{dense_w, dense_b};
  const Small model(conv, dense);
  Small::InferenceArena arena;
  const auto input = pattern<72>(0.25f, 5);

  const auto out = model.forward(Small::input_view(input), arena);

  // The same computation, kernel by kernel, in buffers of its own.
  std::array<float, 6 * 6 * 3> a{};
  std::array<float, 3 * 3 * 3> b{};
  std::array<float, 4> c{};
  kernels::convolve_f32<6, 6, 2, 3, 3, 3, 1, Padding::same>(input, conv_w, conv_b, a,
                                                            quant::Activation::relu);
  kernels::max_pool_f32<6, 6, 3, 2, 2, 2, Padding::valid>(a, b, quant::Activation::none);
  kernels::fully_connected_f32<27, 4>(b, dense_w, dense_b, c, quant::Activation::none);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(out.values[i] == c[i]);  // the same operations in the same order: identical bits
  }
  // And the output does depend on the input (not a constant).
  bool nonzero = false;
  for (float v : c) {
    nonzero = nonzero || v != 0.0f;
  }
  CHECK(nonzero);
}
