// Tensor<T, S>: a fixed-shape tensor that owns its elements, stored inline (no heap),
// aligned to MICROTL_ALIGNMENT. sizeof(Tensor<T, S>) == S::size * sizeof(T) rounded up
// to the alignment, so it can be placed in .bss, on the stack or inside a model object,
// and its footprint is known at compile time.
//
// Tensor is an aggregate: `Tensor<float, Shape<2, 2>> t{{1, 2, 3, 4}};` and constexpr use
// both work.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <type_traits>

#include "microtl/config.hpp"
#include "microtl/core/assert.hpp"
#include "microtl/core/element.hpp"
#include "microtl/core/shape.hpp"
#include "microtl/core/tensor_view.hpp"

namespace microtl {

template <Element T, ShapeType S>
struct Tensor {
  static_assert(
      !std::is_const_v<T>,
      "microtl::Tensor owns its elements: use a TensorView<const T, S> for read-only data");

  using value_type = T;
  using shape_type = S;
  static constexpr std::size_t rank = S::rank;
  static constexpr std::size_t size = S::size;
  static constexpr std::size_t bytes = S::size * sizeof(T);

  // Public so that Tensor stays an aggregate (brace initialisation, constexpr).
  alignas(MICROTL_ALIGNMENT) T elements[S::size];

  constexpr T* data() noexcept { return elements; }
  constexpr const T* data() const noexcept { return elements; }
  constexpr T* begin() noexcept { return elements; }
  constexpr T* end() noexcept { return elements + size; }
  constexpr const T* begin() const noexcept { return elements; }
  constexpr const T* end() const noexcept { return elements + size; }

  constexpr T& operator[](std::size_t flat_index) noexcept {
    MICROTL_ASSERT(flat_index < size);
    return elements[flat_index];
  }
  constexpr const T& operator[](std::size_t flat_index) const noexcept {
    MICROTL_ASSERT(flat_index < size);
    return elements[flat_index];
  }

  template <class... Index>
    requires(sizeof...(Index) == S::rank && (std::is_integral_v<Index> && ...))
  constexpr T& operator()(Index... index) noexcept {
    return elements[S::offset(index...)];
  }
  template <class... Index>
    requires(sizeof...(Index) == S::rank && (std::is_integral_v<Index> && ...))
  constexpr const T& operator()(Index... index) const noexcept {
    return elements[S::offset(index...)];
  }

  constexpr TensorView<T, S> view() noexcept { return TensorView<T, S>(elements); }
  constexpr TensorView<const T, S> view() const noexcept {
    return TensorView<const T, S>(elements);
  }
  constexpr std::span<T, S::size> span() noexcept { return std::span<T, S::size>(elements); }
  constexpr std::span<const T, S::size> span() const noexcept {
    return std::span<const T, S::size>(elements);
  }

  // Implicit conversion to views, so a Tensor can be passed wherever a view is expected.
  constexpr operator TensorView<T, S>() noexcept { return view(); }              // NOLINT
  constexpr operator TensorView<const T, S>() const noexcept { return view(); }  // NOLINT

  constexpr void fill(T value) noexcept { std::fill(begin(), end(), value); }

  friend constexpr bool operator==(const Tensor& a, const Tensor& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin());
  }
};

}  // namespace microtl
