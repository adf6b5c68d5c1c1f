// Vocabulary of the sliding-window layers (convolutions and pools).
#pragma once

#include <cstddef>

#include "microtl/kernels/padding.hpp"

namespace microtl {

// Kernel<KH, KW>: the window's height and width.
template <std::size_t KH, std::size_t KW = KH>
struct Kernel {
  static_assert(KH >= 1 && KW >= 1, "microtl::Kernel: extents must be at least 1");
  static constexpr std::size_t height = KH;
  static constexpr std::size_t width = KW;
};

// Padding::same (output = ceil(input / stride)) or Padding::valid (no padding), with
// TFLite's rules (kernels/padding.hpp).
using Padding = kernels::Padding;

template <class T>
inline constexpr bool is_kernel_v = false;
template <std::size_t KH, std::size_t KW>
inline constexpr bool is_kernel_v<Kernel<KH, KW>> = true;

}  // namespace microtl
