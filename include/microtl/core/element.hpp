// The element types microtl stores in tensors.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

namespace microtl {

// int8 activations and weights, int16 intermediates, int32 accumulators and biases,
// float32 for the float path and training. (No double: Cortex-M4F has a single-precision
// FPU, and double arithmetic there is done in software.)
template <class T>
concept Element =
    std::same_as<std::remove_const_t<T>, std::int8_t> ||
    std::same_as<std::remove_const_t<T>, std::uint8_t> ||
    std::same_as<std::remove_const_t<T>, std::int16_t> ||
    std::same_as<std::remove_const_t<T>, std::int32_t> || std::same_as < std::remove_const_t<T>,
float > ;

}  // namespace microtl
