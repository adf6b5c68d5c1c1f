// The element types microtl stores in tensors, and the element types activations flow as.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

namespace microtl {

// int8 activations and weights, int16 intermediates, int32 accumulators and biases,
// float32 for the float path and training. (No double: Cortex-M4F has a single-precision
// FPU, and double arithmetic there is done in software.)
template <class T>
concept Element = std::same_as<std::remove_const_t<T>, std::int8_t> ||
                  std::same_as<std::remove_const_t<T>, std::uint8_t> ||
                  std::same_as<std::remove_const_t<T>, std::int16_t> ||
                  std::same_as<std::remove_const_t<T>, std::int32_t> ||
                  std::same_as<std::remove_const_t<T>, float>;

// ---------------------------------------------------------------------------------------
// Activation element types. `float` is the float path (the reference, and what trains).
// `QInt8` is an int8 tensor with TFLite's affine quantization: real = scale * (q - zp),
// with (scale, zero point) known at run time and flowing along the chain with the data
// (quant_info_t, quant/quant_info.hpp).
// ---------------------------------------------------------------------------------------
struct QInt8 {};

template <class E>
concept ActivationElement = std::same_as<E, float> || std::same_as<E, QInt8>;

namespace detail {
template <class E>
struct storage;
template <>
struct storage<float> {
  using type = float;
};
template <>
struct storage<QInt8> {
  using type = std::int8_t;
};
}  // namespace detail

// The C++ type that stores one element: float or int8_t.
template <ActivationElement E>
using storage_t = typename detail::storage<E>::type;

}  // namespace microtl
