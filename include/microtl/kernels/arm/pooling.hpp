// Max pooling, int8, for Cortex-M cores with the DSP extension (M4, M7, M33, M55): the same
// contract as kernels::portable::max_pool_s8 (kernels/portable/pooling.hpp: layouts, the
// padding rule, the activation clamp) and the same output codes, bit for bit.
//
//   output[y][x][c] = clamp(max over the taps (ky, kx) inside the input of input[iy][ix][c])
//
// Four channels at a time, which are four consecutive bytes at every tap: the window's first
// tap is one LDR, every further tap an LDR and a per-byte-lane max (SSUB8, SEL); the four
// maxima are clamped to the activation range as byte lanes (two SSUB8/SEL, skipped when the
// range is the whole int8 range, as for a pool with no fused activation) and written with one
// STR. A 2x2 window: 11 instructions for four outputs. A channel count that is not a multiple
// of 4 takes the portable kernel.
//
// Scratch: none. Stack: a few registers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/portable/pooling.hpp"
#include "microtl/quant/activation.hpp"

namespace microtl::kernels::arm {

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void max_pool_s8(std::span<const std::int8_t, H * W * C> input,
                 std::span<std::int8_t, output_elements(H, W, PH, PW, Stride, Pad, C)> output,
                 quant::ActivationRange activation) noexcept {
  if constexpr (C % 4 != 0) {
    portable::max_pool_s8<H, W, C, PH, PW, Stride, Pad>(input, output, activation);
  } else {
    const OutputRange range = OutputRange::of(0, activation);
    // Every window, four channels at a time; `clamp`: whether the range clamps anything.
    const auto pool = [&](auto clamp) {
      std::int8_t* out = output.data();
      for_each_window<WindowAxis<H, PH, Stride, Pad>, WindowAxis<W, PW, Stride, Pad>>(
          [&](const auto& window) MICROTL_KERNEL_LAMBDA {
            const WindowSpan rows = window.rows();
            const WindowSpan cols = window.cols();
            // With valid padding every window is whole: its extent is a constant.
            const int row_taps = Pad == Padding::valid ? static_cast<int>(PH) : rows.taps();
            const int col_taps = Pad == Padding::valid ? static_cast<int>(PW) : cols.taps();
            // The window's first tap inside the input; tap (ky, kx) is (ky * W + kx) * C
            // bytes from it.
            const std::int8_t* first =
                input.data() + (static_cast<std::size_t>(rows.origin + rows.first) * W +
                                static_cast<std::size_t>(cols.origin + cols.first)) *
                                   C;
            for (std::size_t c = 0; c < C; c += 4, out += 4) {
              std::int32_t largest = dsp::load_quad(first + c);
              for (int ky = 0; ky < row_taps; ++ky) {
                const std::int8_t* row = first + c + static_cast<std::size_t>(ky) * W * C;
                for (int kx = ky == 0 ? 1 : 0; kx < col_taps; ++kx) {
                  largest = dsp::max_s8x4(largest,
                                          dsp::load_quad(row + static_cast<std::size_t>(kx) * C));
                }
              }
              dsp::store_quad(out, decltype(clamp)::value ? clamp_quad(largest, range) : largest);
            }
          });
    };
    if (activation.min == -128 && activation.max == 127) {
      pool(std::false_type{});
    } else {
      pool(std::true_type{});
    }
  }
}

}  // namespace microtl::kernels::arm
