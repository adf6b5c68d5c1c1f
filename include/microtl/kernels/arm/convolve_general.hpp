// The general path of arm::convolve_s8 (arm/convolve.hpp): any shape, for the ones the
// prepared-filter paths do not take (an input channel count that is not a multiple of 4,
// filters of more than 144 taps, one input channel with a kernel wider or taller than 3).
//
// For each output pixel, four output channels at a time; each kernel row inside the input is
// one contiguous run of (kx_end - kx_begin) * Cin input bytes, and of weights in each
// channel's filter, so the pixel is four dot products of those runs (arm/dot.hpp: 16 MACs in
// 23 instructions, the four filters KH * KW * Cin bytes apart). Taps outside the input are
// simply not in the runs. The multipliers of up to 16 channels are prepared once per call (a
// 192-byte table on the stack) and the four outputs are requantized together
// (arm/requantize.hpp's requantize4: 45 instructions) and stored with one STR; the last
// Cout % 4 channels one at a time. A channel whose multiplier is outside [2^-24, 2^-2) is
// computed again afterwards, exactly (arm/convolve_exact.hpp).
//
// Scratch: none. Stack: the prepared multipliers (12 bytes per channel, up to 192).
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/kernels/arm/convolve_exact.hpp"
#include "microtl/kernels/arm/dot.hpp"
#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

namespace microtl::kernels::arm::detail {

// The general path (see the header comment).
template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_general(const std::int8_t* input, const std::int8_t* weights,
                      const std::int32_t* bias, std::int8_t* output,
                      const ConvParams<Cout>& params) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  constexpr std::size_t kFilter = KH * KW * Cin;  // bytes from one channel's filter to the next
  constexpr std::size_t kGrouped = Cout / 4 * 4;  // channels done four at a time
  // Channels per pass over the image: their prepared multipliers are a table on the stack.
  constexpr std::size_t kChunk = kGrouped < 16 ? kGrouped : 16;
  const std::int32_t offset = params.input_offset;
  const OutputRange range = OutputRange::of(params.output_offset, params.activation);

  // Calls visit(out, in_first, w_first, run_length, rows) for every output pixel: `out` is
  // the pixel's first output channel; kernel row r < rows of the window is the run of
  // run_length bytes at in_first + r * W * Cin and, in channel c's filter, at c * kFilter +
  // w_first + r * KW * Cin.
  const auto for_each_pixel = [&](auto visit) {
    std::int8_t* out = output;
    for (std::size_t y = 0; y < Rows::output; ++y) {
      const int y_origin = Rows::origin(y);
      const auto ky_begin = static_cast<std::size_t>(Rows::first_tap(y_origin));
      const auto ky_end = static_cast<std::size_t>(Rows::end_tap(y_origin));
      for (std::size_t x = 0; x < Cols::output; ++x, out += Cout) {
        const int x_origin = Cols::origin(x);
        const auto kx_begin = static_cast<std::size_t>(Cols::first_tap(x_origin));
        const auto kx_end = static_cast<std::size_t>(Cols::end_tap(x_origin));
        const std::int8_t* in_first =
            input + (static_cast<std::size_t>(y_origin + static_cast<int>(ky_begin)) * W +
                     static_cast<std::size_t>(x_origin + static_cast<int>(kx_begin))) *
                        Cin;
        visit(out, in_first, (ky_begin * KW + kx_begin) * Cin, (kx_end - kx_begin) * Cin,
              ky_end - ky_begin);
      }
    }
  };

  if constexpr (kGrouped != 0) {
    FastRescale rescalers[kChunk];
    for (std::size_t first = 0; first < kGrouped; first += kChunk) {
      const std::size_t end = first + kChunk < kGrouped ? first + kChunk : kGrouped;
      bool all_fast = true;
      for (std::size_t c = first; c < end; ++c) {
        all_fast = all_fast && is_fast(params.multipliers[c]);
        rescalers[c - first] = make_fast_rescale(params.multipliers[c], params.output_offset);
      }
      for_each_pixel([&](std::int8_t* out, const std::int8_t* in_first, std::size_t w_first,
                         std::size_t run_length, std::size_t rows) {
        for (std::size_t c = first; c < end; c += 4) {
          Acc4 acc{bias[c], bias[c + 1], bias[c + 2], bias[c + 3]};
          const std::int8_t* in_run = in_first;
          const std::int8_t* w_run = weights + c * kFilter + w_first;
          for (std::size_t r = 0; r < rows; ++r) {
            acc = dot4<kFilter>(in_run, w_run, run_length, offset, acc);
            in_run += W * Cin;
            w_run += KW * Cin;
          }
          dsp::store_quad(
              out + c, requantize4(acc.a0, acc.a1, acc.a2, acc.a3, rescalers + (c - first), range));
        }
      });
      // A multiplier outside [2^-24, 2^-2) (not seen in real layers): that channel again,
      // exactly.
      if (!all_fast) {
        convolve_channels_exact<H, W, Cin, Cout, KH, KW, Stride, Pad>(
            input, weights, bias, output, params, first, end,
            [&](std::size_t c) { return is_fast(params.multipliers[c]); });
      }
    }
  }
  if constexpr (kGrouped != Cout) {
    // The last Cout % 4 channels, one at a time (exact requantization with its branch).
    for_each_pixel([&](std::int8_t* out, const std::int8_t* in_first, std::size_t w_first,
                       std::size_t run_length, std::size_t rows) {
      for (std::size_t c = kGrouped; c < Cout; ++c) {
        std::int32_t acc = bias[c];
        const std::int8_t* in_run = in_first;
        const std::int8_t* w_run = weights + c * kFilter + w_first;
        for (std::size_t r = 0; r < rows; ++r) {
          acc = dot1(in_run, w_run, run_length, offset, acc);
          in_run += W * Cin;
          w_run += KW * Cin;
        }
        out[c] = requantize(acc, params.multipliers[c], range);
      }
    });
  }
}

}  // namespace microtl::kernels::arm::detail
