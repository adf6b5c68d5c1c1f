// Max, average and global average pooling, int8 (TFLite MAX_POOL_2D / AVERAGE_POOL_2D int8
// reference kernels) and float32. NHWC layout for one image, one stride for both axes.
//
// Arguments of portable::max_pool_s8 (and of the dispatching kernels::max_pool_s8 in
// kernels/pooling.hpp) and avg_pool_s8 <H, W, C, PH, PW, Stride, Pad>:
//   input     [H][W][C]      int8
//   output    [OH][OW][C]    int8 with the input's scale and zero point (TFLite requires it:
//                            pooling needs no requantization); OH = output_size(H, PH,
//                            Stride, Pad), same for OW
//   activation               clamp range of the output codes (quant::activation_range of the
//                            fused activation; {-128, 127} for none)
//   Padding as in kernels/padding.hpp. Windows only count the taps inside the input: a padded
//   average divides by the number of real taps, a padded max ignores the padding.
//
// global_avg_pool_s8<H, W, C>: output [C], the average of each channel over the whole image
// (AVERAGE_POOL_2D with a H x W window, valid padding).
//
// The float versions take the same layouts in float and a fused activation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/padding.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl::kernels {

namespace detail {

constexpr std::int32_t clamp_to_range(std::int32_t value, quant::ActivationRange range) noexcept {
  return value < range.min ? range.min : (value > range.max ? range.max : value);
}

// TFLite's integer average: sum / count rounded to nearest, ties away from zero.
//   sum > 0:  (sum + count / 2) / count
//   sum <= 0: (sum - count / 2) / count     (C++ division truncates toward zero)
constexpr std::int32_t rounded_average(std::int32_t sum, std::int32_t count) noexcept {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

// The loop of every pooling kernel:
//
//   output[y][x][c] = finish(fold of input[iy][ix][c] over the taps (ky, kx) of the window
//                     inside the input, from `initial`, number of those taps)
//
// with fold step acc = add(acc, value), in the order of the taps.
template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad, typename T, typename Acc, typename Add, typename Finish>
MICROTL_KERNEL_INLINE void pool(const T* input, T* output, Acc initial, Add add,
                                Finish finish) noexcept {
  using Rows = WindowAxis<H, PH, Stride, Pad>;
  using Cols = WindowAxis<W, PW, Stride, Pad>;
  for_each_output<Rows, Cols, C>(
      output, [&](const Window<Rows, Cols>& window, std::size_t c) MICROTL_KERNEL_LAMBDA {
        Acc acc = initial;
        window.for_each_tap([&](std::size_t, std::size_t pixel)
                                MICROTL_KERNEL_LAMBDA { acc = add(acc, input[pixel * C + c]); });
        return finish(acc, window.taps());
      });
}

}  // namespace detail

// The reference version, in plain C++ for every target. kernels/pooling.hpp exposes
// kernels::max_pool_s8, which is this or, on cores with the DSP extension, the bit-exact
// kernels::arm one.
namespace portable {

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void max_pool_s8(std::span<const std::int8_t, H * W * C> input,
                 std::span<std::int8_t, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                 quant::ActivationRange activation) noexcept {
  // output[y][x][c] = clamp(max over the taps inside the input of input[iy][ix][c])
  detail::pool<H, W, C, PH, PW, Stride, Pad>(
      input.data(), output.data(), std::int32_t{-128},
      [](std::int32_t largest, std::int32_t value)
          MICROTL_KERNEL_LAMBDA { return value > largest ? value : largest; },
      [&](std::int32_t largest, int) MICROTL_KERNEL_LAMBDA {
        return static_cast<std::int8_t>(detail::clamp_to_range(largest, activation));
      });
}

}  // namespace portable

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void avg_pool_s8(std::span<const std::int8_t, H * W * C> input,
                 std::span<std::int8_t, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                 quant::ActivationRange activation) noexcept {
  // output[y][x][c] = clamp(rounded_average(sum of input[iy][ix][c] over the taps inside the
  //                   input, number of those taps))
  // (Same padding never leaves a window without a real tap: padding < window.)
  detail::pool<H, W, C, PH, PW, Stride, Pad>(
      input.data(), output.data(), std::int32_t{0},
      [](std::int32_t sum, std::int32_t value) MICROTL_KERNEL_LAMBDA { return sum + value; },
      [&](std::int32_t sum, std::int32_t count) MICROTL_KERNEL_LAMBDA {
        return static_cast<std::int8_t>(
            detail::clamp_to_range(detail::rounded_average(sum, count), activation));
      });
}

template <std::size_t H, std::size_t W, std::size_t C>
void global_avg_pool_s8(std::span<const std::int8_t, H * W * C> input,
                        std::span<std::int8_t, C> output,
                        quant::ActivationRange activation) noexcept {
  avg_pool_s8<H, W, C, H, W, 1, Padding::valid>(input, output, activation);
}

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void max_pool_f32(std::span<const float, H * W * C> input,
                  std::span<float, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                  quant::Activation activation) noexcept {
  // output[y][x][c] = activation(max over the taps inside the input of input[iy][ix][c])
  // (the first tap's value, then each larger one: a NaN first tap stays)
  struct Largest {
    bool none;
    float value;
  };
  detail::pool<H, W, C, PH, PW, Stride, Pad>(
      input.data(), output.data(), Largest{true, 0.0f},
      [](Largest largest, float value) MICROTL_KERNEL_LAMBDA {
        return largest.none || value > largest.value ? Largest{false, value} : largest;
      },
      [&](Largest largest, int)
          MICROTL_KERNEL_LAMBDA { return quant::apply_activation(largest.value, activation); });
}

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void avg_pool_f32(std::span<const float, H * W * C> input,
                  std::span<float, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                  quant::Activation activation) noexcept {
  // output[y][x][c] = activation(sum over the taps inside the input / number of those taps)
  detail::pool<H, W, C, PH, PW, Stride, Pad>(
      input.data(), output.data(), 0.0f,
      [](float sum, float value) MICROTL_KERNEL_LAMBDA { return sum + value; },
      [&](float sum, int count) MICROTL_KERNEL_LAMBDA {
        return quant::apply_activation(sum / static_cast<float>(count), activation);
      });
}

template <std::size_t H, std::size_t W, std::size_t C>
void global_avg_pool_f32(std::span<const float, H * W * C> input, std::span<float, C> output,
                         quant::Activation activation) noexcept {
  avg_pool_f32<H, W, C, H, W, 1, Padding::valid>(input, output, activation);
}

}  // namespace microtl::kernels
