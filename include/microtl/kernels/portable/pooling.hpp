// Max, average and global average pooling, int8 (TFLite MAX_POOL_2D / AVERAGE_POOL_2D int8
// reference kernels) and float32. NHWC layout for one image, one stride for both axes.
//
// Arguments of max_pool_s8 / avg_pool_s8 <H, W, C, PH, PW, Stride, Pad>:
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

}  // namespace detail

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void max_pool_s8(std::span<const std::int8_t, H * W * C> input,
                 std::span<std::int8_t, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                 quant::ActivationRange activation) noexcept {
  using Rows = WindowAxis<H, PH, Stride, Pad>;
  using Cols = WindowAxis<W, PW, Stride, Pad>;
  // output[y][x][c] = clamp(max over the taps inside the input of input[iy][ix][c])
  std::int8_t* out = output.data();
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const int y_origin = Rows::origin(y);
    for (std::size_t x = 0; x < Cols::output; ++x) {
      const int x_origin = Cols::origin(x);
      for (std::size_t c = 0; c < C; ++c) {
        std::int32_t largest = -128;
        for (int ky = Rows::first_tap(y_origin); ky < Rows::end_tap(y_origin); ++ky) {
          const auto iy = static_cast<std::size_t>(y_origin + ky);
          for (int kx = Cols::first_tap(x_origin); kx < Cols::end_tap(x_origin); ++kx) {
            const auto ix = static_cast<std::size_t>(x_origin + kx);
            const std::int32_t value = input[(iy * W + ix) * C + c];
            largest = value > largest ? value : largest;
          }
        }
        *out++ = static_cast<std::int8_t>(detail::clamp_to_range(largest, activation));
      }
    }
  }
}

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void avg_pool_s8(std::span<const std::int8_t, H * W * C> input,
                 std::span<std::int8_t, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                 quant::ActivationRange activation) noexcept {
  using Rows = WindowAxis<H, PH, Stride, Pad>;
  using Cols = WindowAxis<W, PW, Stride, Pad>;
  // output[y][x][c] = clamp(rounded_average(sum of input[iy][ix][c] over the taps inside the
  //                   input, number of those taps))
  std::int8_t* out = output.data();
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const int y_origin = Rows::origin(y);
    const int ky_begin = Rows::first_tap(y_origin);
    const int ky_end = Rows::end_tap(y_origin);
    for (std::size_t x = 0; x < Cols::output; ++x) {
      const int x_origin = Cols::origin(x);
      const int kx_begin = Cols::first_tap(x_origin);
      const int kx_end = Cols::end_tap(x_origin);
      // Same padding never leaves a window without a real tap (padding < window).
      const std::int32_t count = (ky_end - ky_begin) * (kx_end - kx_begin);
      for (std::size_t c = 0; c < C; ++c) {
        std::int32_t sum = 0;
        for (int ky = ky_begin; ky < ky_end; ++ky) {
          const auto iy = static_cast<std::size_t>(y_origin + ky);
          for (int kx = kx_begin; kx < kx_end; ++kx) {
            const auto ix = static_cast<std::size_t>(x_origin + kx);
            sum += input[(iy * W + ix) * C + c];
          }
        }
        *out++ = static_cast<std::int8_t>(
            detail::clamp_to_range(detail::rounded_average(sum, count), activation));
      }
    }
  }
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
  using Rows = WindowAxis<H, PH, Stride, Pad>;
  using Cols = WindowAxis<W, PW, Stride, Pad>;
  // output[y][x][c] = activation(max over the taps inside the input of input[iy][ix][c])
  float* out = output.data();
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const int y_origin = Rows::origin(y);
    for (std::size_t x = 0; x < Cols::output; ++x) {
      const int x_origin = Cols::origin(x);
      for (std::size_t c = 0; c < C; ++c) {
        bool first = true;
        float largest = 0.0f;
        for (int ky = Rows::first_tap(y_origin); ky < Rows::end_tap(y_origin); ++ky) {
          const auto iy = static_cast<std::size_t>(y_origin + ky);
          for (int kx = Cols::first_tap(x_origin); kx < Cols::end_tap(x_origin); ++kx) {
            const auto ix = static_cast<std::size_t>(x_origin + kx);
            const float value = input[(iy * W + ix) * C + c];
            if (first || value > largest) {
              largest = value;
              first = false;
            }
          }
        }
        *out++ = quant::apply_activation(largest, activation);
      }
    }
  }
}

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void avg_pool_f32(std::span<const float, H * W * C> input,
                  std::span<float, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                  quant::Activation activation) noexcept {
  using Rows = WindowAxis<H, PH, Stride, Pad>;
  using Cols = WindowAxis<W, PW, Stride, Pad>;
  // output[y][x][c] = activation(sum over the taps inside the input / number of those taps)
  float* out = output.data();
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const int y_origin = Rows::origin(y);
    const int ky_begin = Rows::first_tap(y_origin);
    const int ky_end = Rows::end_tap(y_origin);
    for (std::size_t x = 0; x < Cols::output; ++x) {
      const int x_origin = Cols::origin(x);
      const int kx_begin = Cols::first_tap(x_origin);
      const int kx_end = Cols::end_tap(x_origin);
      const auto count = static_cast<float>((ky_end - ky_begin) * (kx_end - kx_begin));
      for (std::size_t c = 0; c < C; ++c) {
        float sum = 0.0f;
        for (int ky = ky_begin; ky < ky_end; ++ky) {
          const auto iy = static_cast<std::size_t>(y_origin + ky);
          for (int kx = kx_begin; kx < kx_end; ++kx) {
            const auto ix = static_cast<std::size_t>(x_origin + kx);
            sum += input[(iy * W + ix) * C + c];
          }
        }
        *out++ = quant::apply_activation(sum / count, activation);
      }
    }
  }
}

template <std::size_t H, std::size_t W, std::size_t C>
void global_avg_pool_f32(std::span<const float, H * W * C> input, std::span<float, C> output,
                         quant::Activation activation) noexcept {
  avg_pool_f32<H, W, C, H, W, 1, Padding::valid>(input, output, activation);
}

}  // namespace microtl::kernels
