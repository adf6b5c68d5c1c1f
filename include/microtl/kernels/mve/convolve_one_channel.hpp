// The Helium convolution for one input channel and a window of at most 16 taps (a grayscale
// image's first layer, 3x3): the path mve/convolve.hpp takes for those shapes. Same contract,
// same output codes.
//
// The whole window is one vector: per output position one gather load (VLDRB with a vector of
// byte offsets ky * W + kx) where the window is inside the input, else a 16-byte column filled
// as in mve/convolve.hpp (padded taps -input_offset). Each filter is one vector too, prepared
// once per call in a stack table with zeros beyond its K taps, so no load is predicated (the
// lanes beyond K multiply zeros; the gather reads input[origin] there, inside the input). Per
// output channel: VLDRB, VMLADAVA (K MACs); per four channels the vector requantization of
// mve/requantize.hpp, the bias and the offset term added as in mve/convolve.hpp.
//
// Needs (KH - 1) * W + KW - 1 <= 255 (byte offsets); mve/convolve.hpp checks it.
// Stack: 16 bytes per output channel, the tables of mve/convolve.hpp, a 16-byte column.
#pragma once

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#endif

#include <cstddef>
#include <cstdint>

#include "microtl/kernels/mve/column.hpp"
#include "microtl/kernels/mve/dot.hpp"
#include "microtl/kernels/mve/requantize.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

namespace microtl::kernels::mve::detail {

template <std::size_t W, std::size_t KH, std::size_t KW>
inline constexpr bool kOneChannelGather = KH * KW <= 16 && (KH - 1) * W + KW - 1 <= 255;

// Lane k: the sum of the lanes of window * filter[16 k ..] for k < 4 (four 16-byte filters in
// a row). One asm block of 10 instructions: VLDRB at immediate offsets, VMLADAV, and two VMOVs
// that put the four sums in a vector for the requantization. GCC, given the intrinsics, keeps
// each filter's address in a stack slot and goes through memory to build the vector.
inline int32x4_t dot4_filters(int8x16_t window, const std::int8_t* filter) noexcept {
  int32x4_t sums;
  std::int32_t a0;
  std::int32_t a1;
  std::int32_t a2;
  std::int32_t a3;
  // clang-format off
  __asm(
      "vldrb.8     q1, [%[f]]\n\t"
      "vldrb.8     q2, [%[f], #16]\n\t"
      "vmladav.s8  %[a0], %q[x], q1\n\t"
      "vldrb.8     q1, [%[f], #32]\n\t"
      "vmladav.s8  %[a1], %q[x], q2\n\t"
      "vldrb.8     q2, [%[f], #48]\n\t"
      "vmladav.s8  %[a2], %q[x], q1\n\t"
      "vmladav.s8  %[a3], %q[x], q2\n\t"
      "vmov        %q[v][2], %q[v][0], %[a0], %[a2]\n\t"
      "vmov        %q[v][3], %q[v][1], %[a1], %[a3]"
      : [v] "=w"(sums), [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3)
      : [x] "w"(window), [f] "r"(filter), "m"(*reinterpret_cast<const std::int8_t(*)[64]>(filter))
      : "q1", "q2");
  // clang-format on
  return sums;
}

template <std::size_t H, std::size_t W, std::size_t Cout, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad>
void convolve_one_channel(const std::int8_t* input, const std::int8_t* weights,
                          const std::int32_t* bias, std::int8_t* output,
                          const ConvParams<Cout>& params) noexcept {
  static_assert(kOneChannelGather<W, KH, KW>);
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  constexpr std::size_t K = KH * KW;
  const std::int32_t offset = params.input_offset;
  alignas(16) std::int8_t filters[Cout][16] = {};
  ChannelTables<Cout> tables;
  for (std::size_t c = 0; c < Cout; ++c) {
    for (std::size_t k = 0; k < K; ++k) {
      filters[c][k] = weights[c * K + k];
    }
    tables.set(c, wrapping_mac(bias[c], offset, sum_bytes<K>(weights + c * K)),
               params.multipliers[c]);
  }
  alignas(16) std::uint8_t offsets_table[16] = {};
  for (std::size_t k = 0; k < K; ++k) {
    offsets_table[k] = static_cast<std::uint8_t>(k / KW * W + k % KW);
  }
  const uint8x16_t offsets = vldrbq_u8(offsets_table);
  const OutputVectors out = OutputVectors::of(params.output_offset, params.activation);
  const int8x16_t pad = vdupq_n_s8(static_cast<std::int8_t>(-offset));
  alignas(16) std::int8_t column[16] = {};
  alignas(16) std::int32_t acc[4] = {};
  std::int8_t* o = output;
  for (std::size_t y = 0; y < Rows::output; ++y) {
    const WindowSpan rows = Rows::window(y);
    const bool rows_inside = rows.first == 0 && rows.end == static_cast<int>(KH);
    for (std::size_t x = 0; x < Cols::output; ++x, o += Cout) {
      const WindowSpan cols = Cols::window(x);
      int8x16_t window;
      if (rows_inside && cols.first == 0 && cols.end == static_cast<int>(KW)) {
        window = vldrbq_gather_offset_s8(input + static_cast<std::size_t>(rows.origin) * W +
                                             static_cast<std::size_t>(cols.origin),
                                         offsets);
      } else {
        window_column<W, 1, KH, KW>(column, input, rows, cols, pad);
        window = vldrbq_s8(column);
      }
      const std::int8_t* filter = filters[0];
      for (std::size_t c = 0; c < Cout / 4 * 4; c += 4, filter += 64) {
        tables.requantize_store4(c, dot4_filters(window, filter), o, out);
      }
      if constexpr (Cout % 4 != 0) {
        constexpr std::size_t kLast = Cout / 4 * 4;
        for (std::size_t c = kLast; c < Cout; ++c) {
          acc[c - kLast] = vmladavq_s8(window, vldrbq_s8(filters[c]));
        }
        tables.requantize_store4(kLast, vldrwq_s32(acc), o, out);
      }
    }
  }
}

}  // namespace microtl::kernels::mve::detail

#endif  // __ARM_FEATURE_MVE
