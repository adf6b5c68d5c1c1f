// Output size and padding of sliding-window ops (convolution, depthwise convolution, pooling),
// computed like TFLite's ComputeOutSize / ComputePaddingHeightWidth (dilation 1).
//
//   same:  out = ceil(in / stride)                 the output covers every input position
//   valid: out = floor((in - kernel) / stride) + 1 the window never leaves the input
//   pad_total  = max((out - 1) * stride + kernel - in, 0)
//   pad_before = pad_total / 2                     the odd extra tap goes after (bottom/right)
//
// Window origin of output position o: o * stride - pad_before. Taps that land outside the
// input are padding: they contribute nothing (TFLite skips them, it does not read zeros).
#pragma once

#include <cstddef>
#include <cstdint>

namespace microtl::kernels {

enum class Padding : std::uint8_t { same, valid };

// Number of output positions along one axis.
constexpr std::size_t output_size(std::size_t input, std::size_t kernel, std::size_t stride,
                                  Padding padding) noexcept {
  if (padding == Padding::same) {
    return (input + stride - 1) / stride;
  }
  return input >= kernel ? (input - kernel) / stride + 1 : 0;
}

// Padding taps before the first input position along one axis.
constexpr std::size_t padding_before(std::size_t input, std::size_t kernel, std::size_t stride,
                                     Padding padding) noexcept {
  const std::size_t out = output_size(input, kernel, stride, padding);
  if (out == 0) {
    return 0;
  }
  const std::size_t covered = (out - 1) * stride + kernel;
  return covered > input ? (covered - input) / 2 : 0;
}

// Number of elements of an NHWC output (one image) of a 2-D sliding-window op.
constexpr std::size_t output_elements(std::size_t height, std::size_t width,
                                      std::size_t kernel_height, std::size_t kernel_width,
                                      std::size_t stride, Padding padding,
                                      std::size_t channels) noexcept {
  return output_size(height, kernel_height, stride, padding) *
         output_size(width, kernel_width, stride, padding) * channels;
}

// The geometry of one spatial axis, as signed values for the index arithmetic of the loops.
template <std::size_t Input, std::size_t Kernel, std::size_t Stride, Padding Pad>
struct WindowAxis {
  static_assert(Input >= 1 && Kernel >= 1, "extents must be at least 1");
  static_assert(Stride >= 1, "stride must be at least 1");
  static_assert(output_size(Input, Kernel, Stride, Pad) >= 1,
                "valid padding needs a kernel no larger than the input");

  static constexpr std::size_t output = output_size(Input, Kernel, Stride, Pad);
  static constexpr int input = static_cast<int>(Input);
  static constexpr int kernel = static_cast<int>(Kernel);
  static constexpr int stride = static_cast<int>(Stride);
  static constexpr int pad_before = static_cast<int>(padding_before(Input, Kernel, Stride, Pad));

  // First input index of the window of output position `out` (negative inside padding).
  static constexpr int origin(std::size_t out) noexcept {
    return static_cast<int>(out) * stride - pad_before;
  }
  // The taps [first_tap, end_tap) of that window that fall inside the input.
  static constexpr int first_tap(int origin) noexcept { return origin < 0 ? -origin : 0; }
  static constexpr int end_tap(int origin) noexcept {
    return input - origin < kernel ? input - origin : kernel;
  }
};

}  // namespace microtl::kernels
