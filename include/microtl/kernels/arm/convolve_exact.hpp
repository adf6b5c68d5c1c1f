// One output channel of a 2-D convolution computed exactly as the portable kernel computes it
// (quant::requantize, branches included), for the rare channel whose multiplier or bias the
// fast output stages of the Cortex-M convolution kernels do not cover (arm/requantize.hpp,
// arm/requantize_doubled.hpp): the kernels write every channel, then call
// convolve_channels_exact, which writes those channels' outputs again. Same arguments and
// layouts as arm::convolve_s8 (arm/convolve.hpp). Slow, and never run for calibrated layers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/quant/requantize.hpp"

namespace microtl::kernels::arm::detail {

// Writes again, exactly, every output channel c in [first, end) with c < Cout for which
// `fast(c)` is false: each output as the portable kernel computes it (quant::requantize).
template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad, typename Fast>
void convolve_channels_exact(const std::int8_t* input, const std::int8_t* weights,
                             const std::int32_t* bias, std::int8_t* output,
                             const ConvParams<Cout>& params, std::size_t first, std::size_t end,
                             Fast fast) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  for (std::size_t c = first; c < end && c < Cout; ++c) {
    if (fast(c)) {
      continue;
    }
    std::int8_t* out = output + c;
    for (std::size_t y = 0; y < Rows::output; ++y) {
      const int y_origin = Rows::origin(y);
      for (std::size_t x = 0; x < Cols::output; ++x, out += Cout) {
        const int x_origin = Cols::origin(x);
        std::int32_t acc = bias[c];
        for (int ky = Rows::first_tap(y_origin); ky < Rows::end_tap(y_origin); ++ky) {
          for (int kx = Cols::first_tap(x_origin); kx < Cols::end_tap(x_origin); ++kx) {
            const std::int8_t* pixel = input + (static_cast<std::size_t>(y_origin + ky) * W +
                                                static_cast<std::size_t>(x_origin + kx)) *
                                                   Cin;
            const std::int8_t* taps =
                weights +
                ((c * KH + static_cast<std::size_t>(ky)) * KW + static_cast<std::size_t>(kx)) * Cin;
            for (std::size_t i = 0; i < Cin; ++i) {
              acc += std::int32_t{taps[i]} * (std::int32_t{pixel[i]} + params.input_offset);
            }
          }
        }
        *out =
            quant::requantize(acc, params.multipliers[c], params.output_offset, params.activation);
      }
    }
  }
}

}  // namespace microtl::kernels::arm::detail
