// 2-D and 1-D convolution, int8, for Cortex-M cores with the DSP extension (M4, M7, M33,
// M55): the same contracts as kernels::portable::convolve_s8 / convolve_1d_s8 (see
// kernels/portable/convolve.hpp for layouts, ranges and the padding rule) and the same output
// codes, bit for bit.
//
// (This file is longer than the house limit of 350 lines on purpose: the two paths below
// share their set-up, border handling and requantization, and splitting them would put one
// kernel's contract in two places. It keeps its own window arithmetic instead of
// kernels::for_each_window: with the shared walk GCC 12 gave the demo's 7x7x16 convolution
// about 3 more instructions per output, 2,666 per image.)
//
//   output[y][x][c] = requantize(bias[c] + sum over the taps inside the input and every input
//                     channel i of weights[c][ky][kx][i] * (input[iy][ix][i] + input_offset))
//
// Two paths, chosen at compile time:
//
// General (Cin >= 2, or Cin == 1 with KW > 4): for each output pixel, four output channels
// at a time; each kernel row inside the input is one contiguous run of (kx_end - kx_begin) *
// Cin input bytes, and of weights in each channel's filter, so the pixel is four dot products
// of those runs (arm/dot.hpp: 16 MACs in 23 instructions, the four filters KH * KW * Cin bytes
// apart). Taps outside the input are simply not in the runs. The multipliers of up to 16
// channels are prepared once per call (a 192-byte table on the stack) and the four outputs
// are requantized together (requantize4: 45 instructions) and stored with one STR.
//
// One input channel (Cin == 1, KW <= 4), the first layer on a grayscale image, where the
// general path would run 3-byte dot products (and CMSIS-NN's im2col copies byte by byte).
// Per output pixel, each kernel row of the window is one input word (its first 4 columns):
// SXTAB16 / SXTAB16 ROR #8 add the input offset and give the pairs (b0, b2), (b1, b3), 2 * KH
// registers for the whole pixel. Four output channels at a time, their filters prepared once
// as a stack table of pairs (w0, w2), (w1, w3) per kernel row (zeros beyond KW), each channel
// costs KH x (LDRD + 2 SMLAD): 9 MACs in 9 instructions for 3x3; then requantize4 and one
// STR. Where a word would reach outside the row (padding, or the last 1-3 columns) it is
// assembled from the row's first/last word shifted, the missing bytes set to -input_offset
// (the zero point), whose term (zero point + input_offset) * w is exactly 0, as a skipped
// padded tap's is; this relies on input_offset being in [-127, 128], as params.hpp requires.
// Kernel rows outside the input give zero pairs.
//
// Both paths requantize with arm/requantize.hpp's branch-free form (zero point folded in),
// which covers multipliers in [2^-24, 2^-2); a channel outside that range (none in calibrated
// layers) is computed again afterwards by a plain exact loop.
//
// The sums are the same integers whatever their order, so the outputs equal the portable
// kernel's as long as the accumulator stays in int32 (the contract's bound). No read outside
// the tensors. Scratch: none. Stack: the tables above (general path: 12 bytes per channel, up
// to 192; one-channel path: 64 + 32 KH bytes, 160 for 3x3), saved registers and spills.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/kernels/arm/dot.hpp"
#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/requantize.hpp"

namespace microtl::kernels::arm {

namespace detail {

// Four bytes of an input row of `width` bytes, starting at column `column` (possibly
// negative, possibly reaching past the row's end); the bytes outside the row are `fill`.
// Reads only inside the row.
inline std::int32_t row_word(const std::int8_t* row, int column, int width,
                             std::int32_t fill_quad) noexcept {
  if (column >= 0 && column + 4 <= width) {
    return dsp::load_quad(row + column);
  }
  if (column <= -4 || column >= width) {
    return fill_quad;
  }
  const auto fill = static_cast<std::uint32_t>(fill_quad);
  if (width >= 4) {
    if (column < 0) {
      // The row's first word moved up by `missing` bytes, the fill below.
      const auto missing = static_cast<unsigned>(-column);
      const auto word = static_cast<std::uint32_t>(dsp::load_quad(row));
      return static_cast<std::int32_t>((word << (8 * missing)) | (fill >> (32 - 8 * missing)));
    }
    // The row's last word moved down by `missing` bytes, the fill above.
    const auto missing = static_cast<unsigned>(column + 4 - width);
    const auto word = static_cast<std::uint32_t>(dsp::load_quad(row + width - 4));
    return static_cast<std::int32_t>((word >> (8 * missing)) | (fill << (32 - 8 * missing)));
  }
  // A row narrower than a word: byte by byte.
  std::uint32_t word = 0;
  for (int k = 0; k < 4; ++k) {
    const int col = column + k;
    const std::uint32_t byte = col >= 0 && col < width
                                   ? static_cast<std::uint32_t>(static_cast<std::uint8_t>(row[col]))
                                   : (fill & 0xFFu);
    word |= byte << (8 * k);
  }
  return static_cast<std::int32_t>(word);
}

// acc + SMLAD(even, w.even) + SMLAD(odd, w.odd), w = *filter; filter moves to the next pairs.
inline std::int32_t pairs_mac(std::int32_t even, std::int32_t odd, const TapPairs*& filter,
                              std::int32_t acc) noexcept {
#if defined(__ARM_FEATURE_DSP)
  // LDRD and two SMLAD in one asm block (GCC, given the intrinsics, loads the pairs with two
  // LDR and spills the input pairs).
  std::int32_t w_even;
  std::int32_t w_odd;
  // clang-format off
  __asm(
      "ldrd    %[we], %[wo], [%[f]], #8\n\t"
      "smlad   %[a], %[e], %[we], %[a]\n\t"
      "smlad   %[a], %[o], %[wo], %[a]"
      : [we] "=&r"(w_even), [wo] "=&r"(w_odd), [f] "+r"(filter), [a] "+r"(acc)
      : [e] "r"(even), [o] "r"(odd), "m"(*filter));
  // clang-format on
  return acc;
#else
  const TapPairs w = *filter++;
  return dsp::smlad(odd, w.odd, dsp::smlad(even, w.even, acc));
#endif
}

// The pairs (w0, w2), (w1, w3) of a filter row of KW <= 4 taps (zero beyond KW).
template <std::size_t KW>
inline void filter_row_pairs(const std::int8_t* taps, std::int32_t& even,
                             std::int32_t& odd) noexcept {
  const auto tap = [taps](std::size_t k) -> std::uint32_t {
    return k < KW ? static_cast<std::uint32_t>(static_cast<std::uint16_t>(std::int16_t{taps[k]}))
                  : 0u;
  };
  even = static_cast<std::int32_t>(tap(0) | (tap(2) << 16));
  odd = static_cast<std::int32_t>(tap(1) | (tap(3) << 16));
}

// Output channel c alone, as the portable kernel computes it (quant::requantize): for the
// rare channel whose multiplier the branch-free requantization does not cover.
template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_channel_exact(const std::int8_t* input, const std::int8_t* weights,
                            const std::int32_t* bias, std::int8_t* output,
                            const ConvParams<Cout>& params, std::size_t c) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
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
      *out = quant::requantize(acc, params.multipliers[c], params.output_offset, params.activation);
    }
  }
}

// The one-input-channel path (see the header comment).
template <std::size_t H, std::size_t W, std::size_t Cout, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad>
void convolve_one_channel(const std::int8_t* input, const std::int8_t* weights,
                          const std::int32_t* bias, std::int8_t* output,
                          const ConvParams<Cout>& params) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  // Output columns whose words lie inside the input row: [kInsideBegin, kInsideEnd).
  constexpr std::size_t kInsideBegin = [] {
    std::size_t x = 0;
    while (x < Cols::output && Cols::origin(x) < 0) {
      ++x;
    }
    return x;
  }();
  constexpr std::size_t kInsideEnd = [] {
    std::size_t x = kInsideBegin;
    while (x < Cols::output && Cols::origin(x) + 4 <= Cols::input) {
      ++x;
    }
    return x;
  }();

  // One group of four output channels: biases, filter rows as pairs, prepared multipliers.
  struct alignas(8) Group {
    std::int32_t bias[4];
    TapPairs rows[4][KH];  // [channel in group][kernel row]: (w0, w2), (w1, w3)
    FastRescale rescalers[4];
  };
  Group group;

  const std::int32_t offset_pair = dsp::splat_pair(params.input_offset);
  const std::int32_t fill = dsp::splat_quad(-params.input_offset);
  const OutputRange range = OutputRange::of(params.output_offset, params.activation);

  for (std::size_t first = 0; first < Cout; first += 4) {
    bool all_fast = true;
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t c = first + k;
      // Channels past Cout (the last group when Cout % 4 != 0): zero filters, not stored.
      group.bias[k] = c < Cout ? bias[c] : 0;
      const quant::QuantizedMultiplier multiplier =
          c < Cout ? params.multipliers[c] : quant::QuantizedMultiplier{0, -2};
      all_fast = all_fast && is_fast(multiplier);
      group.rescalers[k] = make_fast_rescale(multiplier, params.output_offset);
      for (std::size_t ky = 0; ky < KH; ++ky) {
        if (c < Cout) {
          filter_row_pairs<KW>(weights + (c * KH + ky) * KW, group.rows[k][ky].even,
                               group.rows[k][ky].odd);
        } else {
          group.rows[k][ky] = {0, 0};
        }
      }
    }

    for (std::size_t y = 0; y < Rows::output; ++y) {
      const int y_origin = Rows::origin(y);
      const int ky_begin = Rows::first_tap(y_origin);
      const int ky_end = Rows::end_tap(y_origin);
      std::int8_t* out_row = output + y * Cols::output * Cout + first;

      // One output pixel: the window's kernel rows as pairs (input offset added; rows outside
      // the input give zero pairs), KH x (LDRD + 2 SMLAD) per channel, requantize4.
      const auto pixel = [&](std::size_t x, auto inside, auto all_rows) {
        const int column = Cols::origin(x);
        std::int32_t even[KH];
        std::int32_t odd[KH];
#pragma GCC unroll 16
        for (std::size_t ky = 0; ky < KH; ++ky) {
          if (!decltype(all_rows)::value &&
              (static_cast<int>(ky) < ky_begin || static_cast<int>(ky) >= ky_end)) {
            even[ky] = 0;
            odd[ky] = 0;
            continue;
          }
          const std::int8_t* row =
              input + static_cast<std::size_t>(y_origin + static_cast<int>(ky)) * W;
          const std::int32_t word = decltype(inside)::value
                                        ? dsp::load_quad(row + column)
                                        : row_word(row, column, static_cast<int>(W), fill);
          even[ky] = dsp::sxtab16(offset_pair, word);
          odd[ky] = dsp::sxtab16_ror8(offset_pair, word);
        }
        const TapPairs* filter = &group.rows[0][0];  // walks [k][ky]
        std::int32_t acc[4];
#pragma GCC unroll 4
        for (std::size_t k = 0; k < 4; ++k) {
          std::int32_t a = group.bias[k];
#pragma GCC unroll 16
          for (std::size_t ky = 0; ky < KH; ++ky) {
            a = pairs_mac(even[ky], odd[ky], filter, a);
          }
          acc[k] = a;
        }
        const std::int32_t packed =
            requantize4(acc[0], acc[1], acc[2], acc[3], group.rescalers, range);
        std::int8_t* out = out_row + x * Cout;
        if (Cout % 4 == 0 || first + 4 <= Cout) {
          dsp::store_quad(out, packed);
        } else {
          for (std::size_t k = 0; first + k < Cout; ++k) {
            out[k] = static_cast<std::int8_t>(static_cast<std::uint32_t>(packed) >> (8 * k));
          }
        }
      };

      if (ky_begin == 0 && ky_end == static_cast<int>(KH)) {
        for (std::size_t x = 0; x < kInsideBegin; ++x) {
          pixel(x, std::false_type{}, std::true_type{});
        }
        for (std::size_t x = kInsideBegin; x < kInsideEnd; ++x) {
          pixel(x, std::true_type{}, std::true_type{});
        }
        for (std::size_t x = kInsideEnd; x < Cols::output; ++x) {
          pixel(x, std::false_type{}, std::true_type{});
        }
      } else {
        for (std::size_t x = 0; x < Cols::output; ++x) {
          pixel(x, std::false_type{}, std::false_type{});
        }
      }
    }
    // A multiplier outside [2^-24, 2^-2) (not seen in real layers): that channel again,
    // exactly.
    if (!all_fast) {
      for (std::size_t c = first; c < first + 4 && c < Cout; ++c) {
        if (!is_fast(params.multipliers[c])) {
          convolve_channel_exact<H, W, 1, Cout, KH, KW, Stride, Pad>(input, weights, bias, output,
                                                                     params, c);
        }
      }
    }
  }
}

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
        for (std::size_t c = first; c < end; ++c) {
          if (!is_fast(params.multipliers[c])) {
            convolve_channel_exact<H, W, Cin, Cout, KH, KW, Stride, Pad>(input, weights, bias,
                                                                         output, params, c);
          }
        }
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

}  // namespace detail

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_s8(std::span<const std::int8_t, H * W * Cin> input,
                 std::span<const std::int8_t, Cout * KH * KW * Cin> weights,
                 std::span<const std::int32_t, Cout> bias,
                 std::span<std::int8_t, output_elements(H, W, KH, KW, Stride, Pad, Cout)> output,
                 const ConvParams<Cout>& params) noexcept {
  static_assert(Cin >= 1 && Cout >= 1, "channel counts must be at least 1");
  static_assert(KH * KW * Cin <= 66000, "the int32 accumulator could overflow");
  // WindowAxis checks the geometry (extents, stride, valid padding that fits).
  static_assert(WindowAxis<H, KH, Stride, Pad>::output >= 1);
  static_assert(WindowAxis<W, KW, Stride, Pad>::output >= 1);
  if constexpr (Cin == 1 && KW <= 4) {
    detail::convolve_one_channel<H, W, Cout, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  } else {
    detail::convolve_general<H, W, Cin, Cout, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  }
}

template <std::size_t Length, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          Padding Pad>
void convolve_1d_s8(std::span<const std::int8_t, Length * Cin> input,
                    std::span<const std::int8_t, Cout * K * Cin> weights,
                    std::span<const std::int32_t, Cout> bias,
                    std::span<std::int8_t, output_size(Length, K, Stride, Pad) * Cout> output,
                    const ConvParams<Cout>& params) noexcept {
  arm::convolve_s8<1, Length, Cin, Cout, 1, K, Stride, Pad>(input, weights, bias, output, params);
}

}  // namespace microtl::kernels::arm
