// What travels with an activation besides its values: its quantization parameters for
// QInt8, nothing for float.
#pragma once

#include <concepts>
#include <type_traits>

#include "microtl/core/element.hpp"
#include "microtl/quant/qparams.hpp"

namespace microtl {

struct NoQuant {
  friend constexpr bool operator==(NoQuant, NoQuant) noexcept { return true; }
};

template <ActivationElement E>
using quant_info_t = std::conditional_t<std::same_as<E, QInt8>, quant::QuantParams, NoQuant>;

}  // namespace microtl
