// TensorView<T, S>: a non-owning, fixed-shape window on memory that lives elsewhere:
// a Tensor, an arena buffer, a const weight array in flash, a DMA buffer.
//
// A view is a pointer whose extent is part of its type, so a kernel that takes a
// TensorView<const int8_t, Shape<28, 28, 1>> cannot be handed anything else. Views of
// const T read; views of T write. Copying a view copies the pointer, not the data.
#pragma once

#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/core/assert.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"

namespace microtl {

template <Element T, ShapeType S>
class TensorView {
 public:
  using value_type = std::remove_const_t<T>;
  using element_type = T;
  using shape_type = S;
  static constexpr std::size_t rank = S::rank;
  static constexpr std::size_t size = S::size;

  // From a pointer to at least S::size elements. Explicit: the caller vouches for the size.
  constexpr explicit TensorView(T* data) noexcept : data_(data) { MICROTL_ASSERT(data != nullptr); }

  // From a span whose static extent is exactly S::size.
  constexpr TensorView(std::span<T, S::size> span) noexcept : data_(span.data()) {}  // NOLINT

  // A view of T converts to a view of const T.
  template <class U>
    requires(std::is_const_v<T> && std::same_as<U, value_type>)
  constexpr TensorView(TensorView<U, S> other) noexcept : data_(other.data()) {}  // NOLINT

  constexpr T* data() const noexcept { return data_; }
  constexpr std::span<T, S::size> span() const noexcept {
    return std::span<T, S::size>(data_, size);
  }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size; }

  // Flat element access.
  constexpr T& operator[](std::size_t flat_index) const noexcept {
    MICROTL_ASSERT(flat_index < size);
    return data_[flat_index];
  }

  // Multi-dimensional access; the number of indices must equal the rank.
  template <class... Index>
    requires(sizeof...(Index) == S::rank && (std::is_integral_v<Index> && ...))
  constexpr T& operator()(Index... index) const noexcept {
    return data_[S::offset(index...)];
  }

  // The same memory seen with another shape of the same element count.
  template <ShapeType To>
  constexpr TensorView<T, To> reshape() const noexcept {
    static_assert(
        To::size == S::size,
        "microtl::TensorView::reshape: the new shape must have the same number of elements");
    return TensorView<T, To>(data_);
  }

 private:
  T* data_;
};

// A view over a span with a static extent, shaped as S.
template <ShapeType S, Element T, std::size_t N>
constexpr TensorView<T, S> view_as(std::span<T, N> span) noexcept {
  static_assert(N == S::size, "microtl::view_as: the span's extent must equal the shape's size");
  return TensorView<T, S>(span.data());
}

}  // namespace microtl
