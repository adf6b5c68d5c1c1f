// Compile-time diagnostics that carry numbers.
//
// A static_assert message in C++20 is a fixed string: it cannot say "this arena needs
// 28,464 bytes". The compiler does print the arguments of the template it was instantiating
// when an assertion failed, so a check that has a number to report puts it in a template
// argument:
//
//   In instantiation of 'struct microtl::diagnostics::numbers<
//       microtl::diagnostics::Check::arena_too_small, 28464, 1000>':
//   error: static assertion failed: microtl: the arena is too small ...
//   (28464: the bytes needed, 1000: the bytes given)
#pragma once

#include <cstddef>

namespace microtl::diagnostics {

enum class Check {
  arena_too_small,        // First: the bytes needed, Second: the bytes of the arena given
  index_out_of_range,     // First: the index given, Second: how many there are
  wrong_parameter_count,  // First: the sets the model takes, Second: the sets given
};

// Instantiated by each check that has numbers to report; it fails to compile exactly when
// the check fails, and the compiler's "In instantiation of 'numbers<Check::..., First,
// Second>'" line gives the two numbers.
template <Check C, std::size_t First, std::size_t Second>
struct numbers {
  static_assert(C != Check::arena_too_small || First <= Second,
                "microtl: the arena is too small: in 'numbers<Check::arena_too_small, Needed, "
                "Given>' (the compiler's 'In instantiation of' line) Needed is the bytes the model "
                "needs and Given the arena's; the model's or trainer's InferenceArena / "
                "TrainingArena type has exactly the bytes it needs");
  static_assert(
      C != Check::index_out_of_range || First < Second,
      "microtl: index out of range: in 'numbers<Check::index_out_of_range, Index, Count>' "
      "(the compiler's 'In instantiation of' line) Index is the index given and Count "
      "how many there are (valid indices: 0 to Count - 1)");
  static_assert(C != Check::wrong_parameter_count || First == Second,
                "microtl::Sequential: wrong number of parameter sets: in "
                "'numbers<Check::wrong_parameter_count, Expected, Given>' (the compiler's 'In "
                "instantiation of' line) Expected is how many the model takes (one per layer with "
                "parameters, in the order written, after the input's quantization for an int8 "
                "model) and Given how many were given");
  static constexpr bool fits = C == Check::arena_too_small      ? First <= Second
                               : C == Check::index_out_of_range ? First < Second
                                                                : First == Second;
};

template <std::size_t NeededBytes, std::size_t GivenBytes>
using arena_too_small = numbers<Check::arena_too_small, NeededBytes, GivenBytes>;
template <std::size_t Index, std::size_t Count>
using index_out_of_range = numbers<Check::index_out_of_range, Index, Count>;
template <std::size_t Expected, std::size_t Given>
using wrong_parameter_count = numbers<Check::wrong_parameter_count, Expected, Given>;

}  // namespace microtl::diagnostics
