// Depthwise 2-D convolution, int8, for Cortex-M cores with the DSP extension (M4, M7, M33,
// M55): the same contract as kernels::portable::depthwise_conv_s8 (see
// kernels/portable/depthwise_conv.hpp for layouts, ranges and the padding rule) and the same
// output codes, bit for bit.
//
//   output[y][x][o] = requantize(bias[o] + sum over the taps (ky, kx) inside the input of
//                     weights[ky][kx][o] * (input[iy][ix][o / M] + input_offset))
//
// How (DepthMultiplier M = 1): four channels at a time, which are four consecutive bytes at
// every tap of the input and of the weights.
//   - per group of four channels, once: each tap's four weights as the pairs (w0, w2),
//     (w1, w3) (SXTB16 / SXTB16 ROR #8) in a table of KH * KW * 8 bytes on the stack, the
//     four biases and the four multipliers prepared for the fast requantization;
//   - per output pixel and tap: LDR the four input channels, SXTAB16 / SXTAB16 ROR #8 add
//     the input offset, LDRD the tap's weight pairs, four 16 x 16 MACs (SMLABB, SMLATT):
//     4 MACs in 8 instructions. (Pairing two taps for SMLAD would need a PKHBT/PKHTB per pair
//     of inputs and of weights: no gain);
//   - a window inside the input is unrolled (KH * KW taps at constant offsets); at the
//     borders the loop runs over the taps inside the input only;
//   - the four outputs are clamped as byte lanes and written with one STR.
// The C % 4 trailing channels, and every channel when M > 1, take a plain per-channel loop
// (with the exact requantization of arm/requantize.hpp, branch included); so does, again, a
// channel whose multiplier is outside [2^-24, 2^-2) (none in calibrated layers), after the
// groups' branch-free requantization.
//
// Scratch: none. Stack: the KH * KW * 8-byte weight table (72 bytes for 3x3) and saved
// registers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "microtl/kernels/arm/dot.hpp"
#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

namespace microtl::kernels::arm {

namespace detail {

// acc.a<k> += w<k> * (x<k> + offset) for the four channels k of one tap: `quad` holds the
// four input codes, `tap` points to the tap's weight pairs and moves to the next tap's.
inline void depthwise_tap(std::int32_t quad, const TapPairs*& tap, std::int32_t offset_pair,
                          Acc4& acc) noexcept {
#if defined(__ARM_FEATURE_DSP)
  // One asm block: 7 instructions (GCC, given the intrinsics, keeps neither the table walk nor
  // the accumulators in registers).
  std::int32_t w_even;
  std::int32_t w_odd;
  std::int32_t even;
  // clang-format off
  __asm(
      "ldrd    %[we], %[wo], [%[t]], #8\n\t"
      "sxtab16 %[lo], %[off], %[q]\n\t"
      "sxtab16 %[q], %[off], %[q], ror #8\n\t"
      "smlabb  %[a0], %[lo], %[we], %[a0]\n\t"
      "smlatt  %[a2], %[lo], %[we], %[a2]\n\t"
      "smlabb  %[a1], %[q], %[wo], %[a1]\n\t"
      "smlatt  %[a3], %[q], %[wo], %[a3]"
      : [we] "=&r"(w_even), [wo] "=&r"(w_odd), [lo] "=&r"(even), [q] "+r"(quad), [t] "+r"(tap),
        [a0] "+r"(acc.a0), [a1] "+r"(acc.a1), [a2] "+r"(acc.a2), [a3] "+r"(acc.a3)
      : [off] "r"(offset_pair)
      : "memory");
  // clang-format on
#else
  const TapPairs w = *tap++;
  const std::int32_t even = dsp::sxtab16(offset_pair, quad);      // (x0, x2) + offset
  const std::int32_t odd = dsp::sxtab16_ror8(offset_pair, quad);  // (x1, x3) + offset
  acc.a0 = dsp::smlabb(even, w.even, acc.a0);
  acc.a2 = dsp::smlatt(even, w.even, acc.a2);
  acc.a1 = dsp::smlabb(odd, w.odd, acc.a1);
  acc.a3 = dsp::smlatt(odd, w.odd, acc.a3);
#endif
}

// Output channels [first, end), one at a time (M > 1, or the C % 4 trailing channels).
template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad, std::size_t M>
void depthwise_single_channels(const std::int8_t* input, const std::int8_t* weights,
                               const std::int32_t* bias, std::int8_t* output,
                               const DepthwiseConvParams<C * M>& params, std::size_t first,
                               std::size_t end) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  constexpr std::size_t kOutChannels = C * M;
  const std::int32_t offset = params.input_offset;
  const OutputRange range = OutputRange::of(params.output_offset, params.activation);
  for (std::size_t o = first; o < end; ++o) {
    const std::size_t c = o / M;
    const Rescale rescaler = make_rescale(params.multipliers[o]);
    std::int8_t* out = output + o;
    for (std::size_t y = 0; y < Rows::output; ++y) {
      const WindowSpan rows = Rows::window(y);
      for (std::size_t x = 0; x < Cols::output; ++x, out += kOutChannels) {
        const WindowSpan cols = Cols::window(x);
        std::int32_t acc = bias[o];
        for (int ky = rows.first; ky < rows.end; ++ky) {
          const auto iy = static_cast<std::size_t>(rows.origin + ky);
          const std::int8_t* w = weights + static_cast<std::size_t>(ky) * KW * kOutChannels + o;
          for (int kx = cols.first; kx < cols.end; ++kx) {
            const auto ix = static_cast<std::size_t>(cols.origin + kx);
            acc += std::int32_t{w[static_cast<std::size_t>(kx) * kOutChannels]} *
                   (std::int32_t{input[(iy * W + ix) * C + c]} + offset);
          }
        }
        *out = requantize(acc, rescaler, range);
      }
    }
  }
}

// Channels [0, C / 4 * 4) in groups of four, DepthMultiplier 1 (see the header comment).
template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad>
void depthwise_groups_of_four(const std::int8_t* input, const std::int8_t* weights,
                              const std::int32_t* bias, std::int8_t* output,
                              const DepthwiseConvParams<C>& params) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  // Output columns whose windows lie inside the input, [kInsideBegin, kInsideEnd).
  constexpr std::size_t kInsideBegin = Cols::inside_begin();
  constexpr std::size_t kInsideEnd = Cols::inside_end(Cols::kernel);
  const std::int32_t offset_pair = dsp::splat_pair(params.input_offset);
  const OutputRange range = OutputRange::of(params.output_offset, params.activation);

  for (std::size_t g = 0; g < C / 4 * 4; g += 4) {
    alignas(8) TapPairs table[KH * KW];
    for (std::size_t t = 0; t < KH * KW; ++t) {
      const std::int32_t quad = dsp::load_quad(weights + t * C + g);
      table[t] = {dsp::sxtb16(quad), dsp::sxtb16_ror8(quad)};
    }
    FastRescale rescalers[4];
    bool all_fast = true;
    for (std::size_t k = 0; k < 4; ++k) {
      all_fast = all_fast && is_fast(params.multipliers[g + k]);
      rescalers[k] = make_fast_rescale(params.multipliers[g + k], params.output_offset);
    }
    const Acc4 initial{bias[g], bias[g + 1], bias[g + 2], bias[g + 3]};

    std::int8_t* out = output + g;
    const auto finish = [&](const Acc4& acc) {
      dsp::store_quad(out, requantize4(acc.a0, acc.a1, acc.a2, acc.a3, rescalers, range));
      out += C;
    };
    // A pixel at the border: only the taps inside the input.
    const auto border_pixel = [&](int y_origin, int ky_begin, int ky_end, std::size_t x) {
      const int x_origin = Cols::origin(x);
      const int kx_begin = Cols::first_tap(x_origin);
      const int kx_end = Cols::end_tap(x_origin);
      Acc4 acc = initial;
      for (int ky = ky_begin; ky < ky_end; ++ky) {
        const std::int8_t* row = input + static_cast<std::size_t>(y_origin + ky) * W * C + g;
        const TapPairs* tap =
            table + static_cast<std::size_t>(ky) * KW + static_cast<std::size_t>(kx_begin);
        for (int kx = kx_begin; kx < kx_end; ++kx) {
          depthwise_tap(dsp::load_quad(row + static_cast<std::size_t>(x_origin + kx) * C), tap,
                        offset_pair, acc);
        }
      }
      finish(acc);
    };

    for (std::size_t y = 0; y < Rows::output; ++y) {
      const WindowSpan rows = Rows::window(y);
      const int y_origin = rows.origin;
      if (rows.first != 0 || rows.end != static_cast<int>(KH)) {
        for (std::size_t x = 0; x < Cols::output; ++x) {
          border_pixel(y_origin, rows.first, rows.end, x);
        }
        continue;
      }
      for (std::size_t x = 0; x < kInsideBegin; ++x) {
        border_pixel(y_origin, 0, static_cast<int>(KH), x);
      }
      // Inside: the window's top-left input pixel, then KH * KW taps at constant offsets.
      if constexpr (kInsideBegin < kInsideEnd) {
        const std::int8_t* corner = input +
                                    (static_cast<std::size_t>(y_origin) * W +
                                     static_cast<std::size_t>(Cols::origin(kInsideBegin))) *
                                        C +
                                    g;
        for (std::size_t x = kInsideBegin; x < kInsideEnd; ++x, corner += Stride * C) {
          Acc4 acc = initial;
          const TapPairs* tap = table;
#pragma GCC unroll 16
          for (std::size_t ky = 0; ky < KH; ++ky) {
#pragma GCC unroll 16
            for (std::size_t kx = 0; kx < KW; ++kx) {
              depthwise_tap(dsp::load_quad(corner + (ky * W + kx) * C), tap, offset_pair, acc);
            }
          }
          finish(acc);
        }
      }
      for (std::size_t x = kInsideEnd; x < Cols::output; ++x) {
        border_pixel(y_origin, 0, static_cast<int>(KH), x);
      }
    }
    // A multiplier outside [2^-24, 2^-2) (not seen in real layers): that channel again,
    // exactly.
    if (!all_fast) {
      for (std::size_t c = g; c < g + 4; ++c) {
        if (!is_fast(params.multipliers[c])) {
          depthwise_single_channels<H, W, C, KH, KW, Stride, Pad, 1>(input, weights, bias, output,
                                                                     params, c, c + 1);
        }
      }
    }
  }
}

}  // namespace detail

template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad, std::size_t DepthMultiplier = 1>
void depthwise_conv_s8(
    std::span<const std::int8_t, H * W * C> input,
    std::span<const std::int8_t, KH * KW * C * DepthMultiplier> weights,
    std::span<const std::int32_t, C * DepthMultiplier> bias,
    std::span<std::int8_t, output_elements(H, W, KH, KW, Stride, Pad, (C * DepthMultiplier))>
        output,
    const DepthwiseConvParams<C * DepthMultiplier>& params) noexcept {
  static_assert(C >= 1 && DepthMultiplier >= 1, "channel counts must be at least 1");
  // WindowAxis checks the geometry (extents, stride, valid padding that fits).
  static_assert(WindowAxis<H, KH, Stride, Pad>::output >= 1);
  static_assert(WindowAxis<W, KW, Stride, Pad>::output >= 1);
  // The channels the groups of four do not cover.
  constexpr std::size_t kFirstSingle = DepthMultiplier == 1 ? C / 4 * 4 : 0;
  if constexpr (kFirstSingle != 0) {
    detail::depthwise_groups_of_four<H, W, C, KH, KW, Stride, Pad>(
        input.data(), weights.data(), bias.data(), output.data(), params);
  }
  if constexpr (kFirstSingle != C * DepthMultiplier) {
    detail::depthwise_single_channels<H, W, C, KH, KW, Stride, Pad, DepthMultiplier>(
        input.data(), weights.data(), bias.data(), output.data(), params, kFirstSingle,
        C * DepthMultiplier);
  }
}

}  // namespace microtl::kernels::arm
