// BorrowedSpan<T, N>: a span of N const T that a parameter struct keeps, and that refuses to
// be made from a temporary.
//
// Parameter structs (LinearParams, BatchNormParams, ...) do not copy weights: they point at
// them, so that a deployed model's weights stay in flash. A std::span member would also bind
// to a temporary array and dangle as soon as the statement ends:
//
//   const LinearParams<float, 12, 3> params{std::array<float, 12>{...}, bias};  // dangles
//
// BorrowedSpan takes a named std::array, a C array or a std::span of exactly N elements, and
// turns a temporary array (or one of another size) into a compile error that says so. It is a
// std::span<const T, N> in every other respect.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

namespace microtl {

template <class T, std::size_t N>
class BorrowedSpan : public std::span<const T, N> {
  using Span = std::span<const T, N>;

 public:
  // NOLINTBEGIN(google-explicit-constructor): implicit, as the std::span member it replaces
  constexpr BorrowedSpan(Span view) noexcept : Span(view) {}
  constexpr BorrowedSpan(std::span<T, N> view) noexcept : Span(view) {}
  constexpr BorrowedSpan(const std::array<T, N>& array) noexcept : Span(array) {}
  constexpr BorrowedSpan(const T (&array)[N]) noexcept : Span(array) {}
  // NOLINTEND(google-explicit-constructor)

  // A temporary array would be gone when the statement ends.
  template <class Array>
    requires std::is_same_v<std::remove_cv_t<Array>, std::array<T, N>>
  constexpr BorrowedSpan(Array&&) noexcept  // NOLINT
      : Span(static_cast<const T*>(nullptr), N) {
    static_assert(std::is_lvalue_reference_v<Array>,
                  "microtl: parameters are referenced, not copied: a temporary array would "
                  "dangle. Keep the weights in a named array that outlives the model (const "
                  "data with static storage: in flash on a device)");
  }

  // An array of another size.
  template <std::size_t M>
    requires(M != N)
  constexpr BorrowedSpan(const std::array<T, M>&) noexcept  // NOLINT
      : Span(static_cast<const T*>(nullptr), N) {
    static_assert(M == N,
                  "microtl: the parameter array's size differs from what the layer needs (the "
                  "two sizes are in the message: BorrowedSpan<T, needed> from std::array<T, "
                  "given>)");
  }
};

}  // namespace microtl
