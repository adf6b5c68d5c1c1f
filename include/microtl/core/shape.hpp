// Shape<Dims...>: the extents of a tensor, known to the compiler.
//
// Everything about a shape is a constant expression: rank, extents, element count,
// row-major strides and the flat offset of an index. Layouts follow TFLite: NHWC for
// images (batch is left out: microtl processes one sample at a time), [Out][In] for dense
// weights.
//
//   using Image = microtl::Shape<28, 28, 1>;
//   static_assert(Image::size == 784 && Image::stride(0) == 28);
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "microtl/core/assert.hpp"

namespace microtl {

template <std::size_t... Dims>
struct Shape {
  static_assert(((Dims > 0) && ...), "microtl::Shape: every extent must be at least 1");

  static constexpr std::size_t rank = sizeof...(Dims);
  static constexpr std::array<std::size_t, rank> dims = {Dims...};
  // Number of elements. A rank-0 shape is a scalar: one element.
  static constexpr std::size_t size = (std::size_t{1} * ... * Dims);

  // Extent of dimension `axis`.
  static constexpr std::size_t dim(std::size_t axis) noexcept {
    MICROTL_ASSERT(axis < rank);
    return dims[axis];
  }

  // Row-major stride of dimension `axis`: the product of the extents after it.
  static constexpr std::size_t stride(std::size_t axis) noexcept {
    MICROTL_ASSERT(axis < rank);
    std::size_t result = 1;
    for (std::size_t i = axis + 1; i < rank; ++i) {
      result *= dims[i];
    }
    return result;
  }

  static constexpr std::array<std::size_t, rank> strides() noexcept {
    std::array<std::size_t, rank> result{};
    for (std::size_t axis = 0; axis < rank; ++axis) {
      result[axis] = stride(axis);
    }
    return result;
  }

  // True when every index is inside its extent.
  template <class... Index>
    requires(sizeof...(Index) == rank && (std::is_integral_v<Index> && ...))
  static constexpr bool contains(Index... index) noexcept {
    std::size_t axis = 0;
    return ((static_cast<std::size_t>(index) < dims[axis++]) && ...);
  }

  // Flat row-major offset:  offset(i0, ..., in) = sum_k ik * stride(k).
  // The number of indices must equal the rank (a compile error otherwise).
  template <class... Index>
    requires(sizeof...(Index) == rank && (std::is_integral_v<Index> && ...))
  static constexpr std::size_t offset(Index... index) noexcept {
    MICROTL_ASSERT(contains(index...));
    std::size_t result = 0;
    std::size_t axis = 0;
    ((result += static_cast<std::size_t>(index) * stride(axis++)), ...);
    return result;
  }
};

// ---------------------------------------------------------------------------------------
// Shape traits and the ShapeType concept.
// ---------------------------------------------------------------------------------------
template <class T>
struct is_shape : std::false_type {};
template <std::size_t... Dims>
struct is_shape<Shape<Dims...>> : std::true_type {};
template <class T>
inline constexpr bool is_shape_v = is_shape<T>::value;

template <class T>
concept ShapeType = is_shape_v<T>;

// ---------------------------------------------------------------------------------------
// Shape arithmetic, all at compile time.
// ---------------------------------------------------------------------------------------

// The one-dimensional shape with the same elements (what Flatten produces).
template <ShapeType S>
using FlatShape = Shape<S::size>;

}  // namespace microtl
