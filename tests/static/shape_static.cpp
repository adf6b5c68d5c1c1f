// Shape arithmetic, checked by the compiler: this file passes by compiling.
#include <cstdint>
#include <type_traits>

#include "microtl/core/shape.hpp"
#include "microtl/core/tensor.hpp"

namespace {
using microtl::Shape;

// Rank, extents and element count. Values worked out by hand: 28*28*1 = 784.
using Image = Shape<28, 28, 1>;
static_assert(Image::rank == 3);
static_assert(Image::size == 784);
static_assert(Image::dim(0) == 28 && Image::dim(1) == 28 && Image::dim(2) == 1);

// Row-major strides: stride(k) = product of extents after k. For <2,3,4>: 12, 4, 1.
using S234 = Shape<2, 3, 4>;
static_assert(S234::stride(0) == 12 && S234::stride(1) == 4 && S234::stride(2) == 1);
static_assert(S234::strides()[0] == 12 && S234::strides()[2] == 1);

// Offsets: (1,2,3) -> 1*12 + 2*4 + 3 = 23, the last element of 24.
static_assert(S234::offset(0, 0, 0) == 0);
static_assert(S234::offset(1, 2, 3) == 23);
static_assert(S234::offset(1, 0, 0) == 12);
static_assert(S234::contains(1, 2, 3) && !S234::contains(2, 0, 0) && !S234::contains(0, 3, 0));

// NHWC image offset: pixel (y=5, x=7, c=2) of 28x28x3 is (5*28 + 7)*3 + 2 = 443.
static_assert(Shape<28, 28, 3>::offset(5, 7, 2) == 443);

// A scalar shape has rank 0 and one element.
static_assert(Shape<>::rank == 0 && Shape<>::size == 1);

// Shape algebra.
static_assert(std::is_same_v<microtl::FlatShape<S234>, Shape<24>>);

// Concepts, positive and negative.
static_assert(microtl::ShapeType<Image>);
static_assert(!microtl::ShapeType<int>);
static_assert(!microtl::ShapeType<std::array<std::size_t, 3>>);
static_assert(microtl::Element<float> && microtl::Element<const std::int8_t>);
static_assert(!microtl::Element<double> && !microtl::Element<int*>);

// Tensor footprint: inline storage, aligned, nothing else.
using T = microtl::Tensor<std::int8_t, Shape<3>>;
static_assert(alignof(T) == MICROTL_ALIGNMENT);
static_assert(sizeof(T) == MICROTL_ALIGNMENT);  // 3 bytes padded to the alignment
static_assert(sizeof(microtl::Tensor<float, Shape<4, 4>>) == 64);
static_assert(microtl::Tensor<float, Shape<4, 4>>::bytes == 64);

// Tensors work in constant expressions: sum of {1..6} with (1,2) = 6.
constexpr auto sum_and_corner = [] {
  microtl::Tensor<std::int32_t, Shape<2, 3>> t{{1, 2, 3, 4, 5, 6}};
  std::int32_t sum = 0;
  for (auto v : t) {
    sum += v;
  }
  return sum * 100 + t(1, 2);
}();
static_assert(sum_and_corner == 21 * 100 + 6);

}  // namespace
