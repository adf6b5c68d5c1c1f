// TensorView<T, S>: a non-owning, fixed-shape window on memory that lives elsewhere:
// a Tensor, an arena buffer, a const weight array in flash, a DMA buffer.
//
// A view is a pointer whose extent is part of its type, so a kernel that takes a
// TensorView<const int8_t, Shape<28, 28, 1>> cannot be handed anything else. Views of
// const T read; views of T write. Copying a view copies the pointer, not the data.
//
// A view is made from something whose size the compiler knows: a std::array, a C array or
// a std::span of exactly S::size elements (a wrong size, a temporary that would dangle, or
// a view of another shape is a compile error that says which). A bare pointer carries no
// size, so that form is named for what it is: TensorView<T, S>::unchecked(pointer).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/core/assert.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"

namespace microtl {

namespace detail {
// std::array<V, N> and V[N], const or not, with their N.
template <class A>
inline constexpr std::size_t array_extent = 0;
template <class V, std::size_t N>
inline constexpr std::size_t array_extent<std::array<V, N>> = N;
template <class V, std::size_t N>
inline constexpr std::size_t array_extent<V[N]> = N;

template <class A, class V>
concept array_of =
    (std::same_as<std::remove_const_t<A>, std::array<V, array_extent<std::remove_const_t<A>>>> ||
     std::same_as<std::remove_const_t<A>,
                  V[array_extent<std::remove_const_t<A>>]>)&&array_extent<std::remove_const_t<A>> !=
    0;
}  // namespace detail

template <Element T, ShapeType S>
class TensorView {
 public:
  using value_type = std::remove_const_t<T>;
  using element_type = T;
  using shape_type = S;
  static constexpr std::size_t rank = S::rank;
  static constexpr std::size_t size = S::size;

  // From a pointer the caller vouches for: it must point to at least S::size elements that
  // outlive the view. Nothing checks that, hence the name.
  static constexpr TensorView unchecked(T* data) noexcept { return TensorView(data, Unchecked{}); }

  // From a span whose static extent is exactly S::size.
  constexpr TensorView(std::span<T, S::size> span) noexcept : data_(span.data()) {}  // NOLINT

  // From a std::array or a C array of exactly S::size elements, which outlives the view.
  template <class A>
    requires detail::array_of<std::remove_cvref_t<A>, value_type>
  constexpr TensorView(A&& array) noexcept  // NOLINT: implicit, like the span's
      : data_(std::data(array)) {
    using Array = std::remove_reference_t<A>;
    static_assert(detail::array_extent<std::remove_cv_t<Array>> == S::size,
                  "microtl::TensorView: the array's size differs from the shape's size "
                  "(S::size elements)");
    static_assert(std::is_lvalue_reference_v<A>,
                  "microtl::TensorView: a view of a temporary array would dangle; name the "
                  "array (a variable that outlives the view)");
    static_assert(std::is_const_v<T> || !std::is_const_v<Array>,
                  "microtl::TensorView: a writable view (of T) cannot be made from a const array; "
                  "use a view of const T");
  }

  // A view of T converts to a view of const T.
  template <class U>
    requires(std::is_const_v<T> && std::same_as<U, value_type>)
  constexpr TensorView(TensorView<U, S> other) noexcept : data_(other.data()) {}  // NOLINT

  // A view of another shape does not convert: this constructor exists only to say so.
  template <class U, ShapeType Other>
    requires(!std::same_as<Other, S> && std::same_as<std::remove_const_t<U>, value_type>)
  constexpr TensorView(TensorView<U, Other>) noexcept  // NOLINT
      : data_(nullptr) {
    static_assert(std::same_as<Other, S>,
                  "microtl::TensorView: a view of another shape was passed where this shape is "
                  "expected (see the two TensorView types in this message); if the element "
                  "counts agree, convert it with .reshape<Shape<...>>()");
  }

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
    return TensorView<T, To>::unchecked(data_);
  }

 private:
  struct Unchecked {};
  constexpr TensorView(T* data, Unchecked) noexcept : data_(data) {
    MICROTL_ASSERT(data != nullptr);
  }

  T* data_;
};

// A view over a span with a static extent, shaped as S.
template <ShapeType S, Element T, std::size_t N>
constexpr TensorView<T, S> view_as(std::span<T, N> span) noexcept {
  static_assert(N == S::size, "microtl::view_as: the span's extent must equal the shape's size");
  return TensorView<T, S>::unchecked(span.data());
}

}  // namespace microtl
