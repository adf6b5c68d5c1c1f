// Depthwise 2-D convolution, int8, for Cortex-M cores with Helium (MVE, M55, M85): the same
// contract as kernels::portable::depthwise_conv_s8 (see kernels/portable/depthwise_conv.hpp for
// layouts, ranges and the padding rule) and the same output codes, bit for bit.
//
//   output[y][x][o] = requantize(bias[o] + sum over the taps (ky, kx) inside the input of
//                     weights[ky][kx][o] * (input[iy][ix][o / M] + input_offset))
//
// How (DepthMultiplier M = 1): four channels per vector, one int32 lane each (the products of
// one channel are summed over the taps, not across lanes, so VMLADAVA does not apply):
//
//   acc[c] = bias[c] + input_offset * sum_taps weights[t][c] + sum_taps weights[t][c] * x_t[c]
//
// the first two terms once per call (as in mve/convolve.hpp), a padded tap reading -input_offset
// from a pad vector (it then adds w * (-offset) and cancels its share of the second term: the
// portable kernel skips it). Per tap, VLDRB.S32 widens the four weights and the four inputs
// of each pixel, VMUL and VADD accumulate (MVE has no lane-wise vector multiply-accumulate). Four
// output pixels of a row share each weight load where their windows are inside the input: 16
// MACs in 13 instructions; elsewhere one pixel at a time,
// each tap's address the input's or the pad's. Then the vector requantization of
// mve/requantize.hpp, one VSTRB per four channels. C % 4 trailing channels take predicated
// loads and stores.
//
// DepthMultiplier > 1, or more than 64 channels (the stack tables), take the DSP kernel
// (arm/depthwise_conv.hpp), also exact.
//
// Scratch: none. Stack: the tables of mve/requantize.hpp (16 bytes per channel), a pad vector.
#pragma once

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#endif

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "microtl/kernels/arm/depthwise_conv.hpp"
#include "microtl/kernels/mve/dot.hpp"
#include "microtl/kernels/mve/requantize.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

namespace microtl::kernels::mve {

namespace detail {

// Four channels [c, c + 4) of an int8 row widened to int32 lanes; Partial: only the lanes of
// `p` are read (the others are zero).
template <bool Partial>
inline int32x4_t load4(const std::int8_t* source, mve_pred16_t p) noexcept {
  if constexpr (Partial) {
    return vldrbq_z_s32(source, p);
  } else {
    return vldrbq_s32(source);
  }
}

// acc + x * w lane by lane. MVE multiplies-accumulates lanes only by a scalar (VMLA) or
// across lanes (VMLADAV): a product of two vectors is VMUL then VADD.
inline int32x4_t mac4(int32x4_t acc, int32x4_t x, int32x4_t w) noexcept {
  return vaddq_s32(acc, vmulq_s32(x, w));
}

// One tap of four pixels Step bytes apart (four whole channels each): a[k] += x_k * w, one asm
// block of 13 instructions (VLDRB.S32, whose base must be r0-r7: "l", at immediate offsets; VMUL,
// VADD). GCC 12, given the
// intrinsics for a whole window, spills most vectors to the stack.
template <std::size_t Step>
inline void tap4(const std::int8_t* source, const std::int8_t* w, int32x4_t& a0, int32x4_t& a1,
                 int32x4_t& a2, int32x4_t& a3) noexcept {
  static_assert(3 * Step <= 127, "VLDRB immediate offsets reach 127");
  int32x4_t weight;
  int32x4_t x;
  // clang-format off
  __asm(
      "vldrb.s32   %q[w], [%[pw]]\n\t"
      "vldrb.s32   %q[x], [%[px]]\n\t"
      "vmul.i32    %q[x], %q[x], %q[w]\n\t"
      "vadd.i32    %q[a0], %q[a0], %q[x]\n\t"
      "vldrb.s32   %q[x], [%[px], %[s1]]\n\t"
      "vmul.i32    %q[x], %q[x], %q[w]\n\t"
      "vadd.i32    %q[a1], %q[a1], %q[x]\n\t"
      "vldrb.s32   %q[x], [%[px], %[s2]]\n\t"
      "vmul.i32    %q[x], %q[x], %q[w]\n\t"
      "vadd.i32    %q[a2], %q[a2], %q[x]\n\t"
      "vldrb.s32   %q[x], [%[px], %[s3]]\n\t"
      "vmul.i32    %q[x], %q[x], %q[w]\n\t"
      "vadd.i32    %q[a3], %q[a3], %q[x]"
      : [w] "=&w"(weight), [x] "=&w"(x), [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2),
        [a3] "+w"(a3)
      : [pw] "l"(w), [px] "l"(source), [s1] "I"(Step), [s2] "I"(2 * Step), [s3] "I"(3 * Step),
        "m"(*reinterpret_cast<const std::int8_t(*)[3 * Step + 4]>(source)),
        "m"(*reinterpret_cast<const std::int8_t(*)[4]>(w)));
  // clang-format on
}

// The sums of the outputs [c, c + 4) of one pixel whose taps are anywhere: `taps[t]` points
// to tap t's channel 0 in the input, or to the pad (as many bytes as the channels, rounded up
// to four).
template <std::size_t C, std::size_t kTaps, bool Partial>
inline int32x4_t depthwise_pixel4(const std::int8_t* const (&taps)[kTaps],
                                  const std::int8_t* weights, std::size_t c,
                                  mve_pred16_t p) noexcept {
  int32x4_t acc = vdupq_n_s32(0);
#pragma GCC unroll 25
  for (std::size_t t = 0; t < kTaps; ++t) {
    if constexpr (Partial) {
      acc = mac4(acc, load4<true>(taps[t] + c, p), load4<true>(weights + t * C + c, p));
    } else {
      // One asm block per tap (VLDRB.S32 x2, VMUL, VADD): GCC, given the intrinsics for the
      // whole window, spills.
      int32x4_t weight;
      int32x4_t x;
      // clang-format off
      __asm(
          "vldrb.s32   %q[w], [%[pw]]\n\t"
          "vldrb.s32   %q[x], [%[px]]\n\t"
          "vmul.i32    %q[x], %q[x], %q[w]\n\t"
          "vadd.i32    %q[a], %q[a], %q[x]"
          : [w] "=&w"(weight), [x] "=&w"(x), [a] "+w"(acc)
          : [pw] "l"(weights + t * C + c), [px] "l"(taps[t] + c),
            "m"(*reinterpret_cast<const std::int8_t(*)[4]>(taps[t] + c)),
            "m"(*reinterpret_cast<const std::int8_t(*)[4]>(weights + t * C + c)));
      // clang-format on
    }
  }
  return acc;
}

template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad>
void depthwise_lanes(const std::int8_t* input, const std::int8_t* weights, const std::int32_t* bias,
                     std::int8_t* output, const DepthwiseConvParams<C>& params) noexcept {
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  constexpr std::size_t kTaps = KH * KW;
  constexpr std::size_t kFull = C / 4 * 4;  // channels in whole groups of four
  const std::int32_t offset = params.input_offset;
  ChannelTables<C> tables;
  for (std::size_t c = 0; c < C; ++c) {
    std::int32_t sum = 0;
    for (std::size_t t = 0; t < kTaps; ++t) {
      sum += weights[t * C + c];
    }
    tables.set(c, wrapping_mac(bias[c], offset, sum), params.multipliers[c]);
  }
  const OutputVectors out = OutputVectors::of(params.output_offset, params.activation);
  // The pad: -offset in every byte, read as channels [c, c + 4) like a pixel of the input.
  alignas(16) std::int8_t pad[ChannelTables<C>::kLanes];
  for (std::size_t c = 0; c < ChannelTables<C>::kLanes; c += 4) {
    vstrbq_s32(pad + c, vdupq_n_s32(-offset));
  }
  const mve_pred16_t tail = vctp32q(C % 4);
  // The output columns whose windows are inside the input along x: [kFirstX, kEndX).
  constexpr auto inside_x = [](std::size_t x) {
    return Cols::origin(x) >= 0 && Cols::origin(x) + static_cast<int>(KW) <= static_cast<int>(W);
  };
  constexpr std::size_t kFirstX = [&] {
    std::size_t x = 0;
    while (x < Cols::output && !inside_x(x)) {
      ++x;
    }
    return x;
  }();
  constexpr std::size_t kEndX = [&] {
    std::size_t x = kFirstX;
    while (x < Cols::output && inside_x(x)) {
      ++x;
    }
    return x;
  }();
  // A row of pads (W pixels of -offset), for the window rows above or below the input, so
  // that the blocks of four pixels also run on the first and last output rows (when it fits
  // on the stack; else those rows take the one-pixel path).
  constexpr bool kPadRow = W * C <= 1024;
  alignas(16) std::int8_t pad_row[kPadRow ? W * C : 4];
  if constexpr (kPadRow) {
    for (std::size_t i = 0; i < W * C; i += 4) {
      vstrbq_p_s32(pad_row + i, vdupq_n_s32(-offset), vctp32q(W * C - i));
    }
  }
  std::int8_t* o = output;
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const WindowSpan rows = Rows::window(y);
    const bool rows_inside = rows.first == 0 && rows.end == static_cast<int>(KH);
    // Each window row's first pixel in the input, or in the pad row.
    const std::int8_t* row_start[KH];
    for (int ky = 0; ky < static_cast<int>(KH); ++ky) {
      row_start[ky] = ky >= rows.first && ky < rows.end
                          ? input + static_cast<std::size_t>(rows.origin + ky) * W * C
                          : pad_row;
    }
    std::size_t x = 0;
    while (x < Cols::output) {
      if ((kPadRow || rows_inside) && x >= kFirstX && x + 4 <= kEndX) {
        // Four pixels, their windows inside the input (or the pad row) along x: each weight
        // load serves all four.
        const auto column = static_cast<std::size_t>(Cols::origin(x)) * C;
        constexpr std::size_t kStep = Stride * C;
        const auto block = [&](std::size_t c, auto partial) {
          constexpr bool kPartial = decltype(partial)::value;
          int32x4_t a0 = vdupq_n_s32(0);
          int32x4_t a1 = vdupq_n_s32(0);
          int32x4_t a2 = vdupq_n_s32(0);
          int32x4_t a3 = vdupq_n_s32(0);
#pragma GCC unroll 25
          for (std::size_t t = 0; t < kTaps; ++t) {
            const std::int8_t* source = row_start[t / KW] + column + t % KW * C + c;
            const std::int8_t* w = weights + t * C + c;
            if constexpr (!kPartial && 3 * kStep <= 127) {
              tap4<kStep>(source, w, a0, a1, a2, a3);
            } else {
              const int32x4_t wv = load4<kPartial>(w, tail);
              a0 = mac4(a0, load4<kPartial>(source, tail), wv);
              a1 = mac4(a1, load4<kPartial>(source + kStep, tail), wv);
              a2 = mac4(a2, load4<kPartial>(source + 2 * kStep, tail), wv);
              a3 = mac4(a3, load4<kPartial>(source + 3 * kStep, tail), wv);
            }
          }
          const auto g = tables.group(c);
          ChannelTables<C>::requantize_store4(g, a0, o, out);
          ChannelTables<C>::requantize_store4(g, a1, o + C, out);
          ChannelTables<C>::requantize_store4(g, a2, o + 2 * C, out);
          ChannelTables<C>::requantize_store4(g, a3, o + 3 * C, out);
        };
        for (std::size_t c = 0; c < kFull; c += 4) {
          block(c, std::false_type{});
        }
        if constexpr (C % 4 != 0) {
          block(kFull, std::true_type{});
        }
        x += 4;
        o += 4 * C;
        continue;
      }
      // One pixel: each tap's address, the input's or the pad's.
      const WindowSpan cols = Cols::window(x);
      const std::int8_t* taps[kTaps];
      for (int ky = 0; ky < static_cast<int>(KH); ++ky) {
        for (int kx = 0; kx < static_cast<int>(KW); ++kx) {
          const bool inside =
              ky >= rows.first && ky < rows.end && kx >= cols.first && kx < cols.end;
          taps[static_cast<std::size_t>(ky) * KW + static_cast<std::size_t>(kx)] =
              inside ? input + (static_cast<std::size_t>(rows.origin + ky) * W +
                                static_cast<std::size_t>(cols.origin + kx)) *
                                   C
                     : pad;
        }
      }
      for (std::size_t c = 0; c < kFull; c += 4) {
        tables.requantize_store4(c, depthwise_pixel4<C, kTaps, false>(taps, weights, c, tail), o,
                                 out);
      }
      if constexpr (C % 4 != 0) {
        tables.requantize_store4(
            kFull, depthwise_pixel4<C, kTaps, true>(taps, weights, kFull, tail), o, out);
      }
      ++x;
      o += C;
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
  if constexpr (DepthMultiplier == 1 && C <= kMaxChannels) {
    detail::depthwise_lanes<H, W, C, KH, KW, Stride, Pad>(input.data(), weights.data(), bias.data(),
                                                          output.data(), params);
  } else {
    arm::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, DepthMultiplier>(input, weights, bias,
                                                                          output, params);
  }
}

}  // namespace microtl::kernels::mve

#endif  // __ARM_FEATURE_MVE
