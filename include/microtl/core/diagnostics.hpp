// Compile-time diagnostics that carry numbers.
//
// A static_assert message in C++20 is a fixed string: it cannot say "this arena needs
// 28,464 bytes". The compiler does print the arguments of the template it was instantiating
// when an assertion failed, so a check that has a number to report puts it in a template
// argument:
//
//   error: static assertion failed: microtl: the arena is too small ...
//   In instantiation of 'struct microtl::diagnostics::arena_too_small<28464, 1000>'
//                                                       bytes needed ^      ^ bytes given
#pragma once

#include <cstddef>

namespace microtl::diagnostics {

// Instantiated by every check of an arena's size; it fails to compile exactly when the
// arena holds fewer than NeededBytes bytes.
template <std::size_t NeededBytes, std::size_t GivenBytes>
struct arena_too_small {
  static_assert(NeededBytes <= GivenBytes,
                "microtl: the arena is too small: the two numbers in "
                "'arena_too_small<NeededBytes, GivenBytes>' (in the compiler's 'In instantiation "
                "of' line) are the bytes the "
                "model needs and the bytes of the arena given; use the model's or trainer's "
                "InferenceArena / TrainingArena type, which has exactly the bytes it needs");
  static constexpr bool fits = true;
};

// The same for an index past the end of a list (layers, parameter sets).
template <std::size_t Index, std::size_t Count>
struct index_out_of_range {
  static_assert(Index < Count,
                "microtl: index out of range: the two numbers in "
                "'index_out_of_range<Index, Count>' (in the compiler's 'In instantiation of' line) "
                "are the index given and "
                "how many there are (valid indices are 0 to Count - 1)");
  static constexpr bool fits = true;
};

// The same for a count of arguments.
template <std::size_t Expected, std::size_t Given>
struct wrong_parameter_count {
  static_assert(Expected == Given,
                "microtl::Sequential: wrong number of parameter sets: the two numbers in "
                "'wrong_parameter_count<Expected, Given>' (in the compiler's 'In instantiation of' "
                "line) are how many the "
                "model takes (one per layer with parameters, in the order written, after the "
                "input's quantization for an int8 model) and how many were given");
  static constexpr bool fits = true;
};

}  // namespace microtl::diagnostics
