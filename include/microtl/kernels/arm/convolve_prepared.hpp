// The prepared-filter path of arm::convolve_s8 (arm/convolve.hpp): an input channel count
// that is a multiple of 4 and filters of at most kMaxPreparedTaps = 144 taps (KH * KW * Cin:
// a 3x3 kernel over up to 16 input channels), any stride and padding.
//
// Four output channels at a time. Once per group, their filters go into a table on the stack
// as doubled int16 pairs, in the order the inner loop reads them: for each chunk j (filter
// bytes [4j, 4j + 4), the same bytes of every channel's [KH][KW][Cin] filter) and channel k,
//
//   (2 w[4j], 2 w[4j + 2]), (2 w[4j + 1], 2 w[4j + 3])     (LDR, SXTB16 x2, SADD16 x2, 2 STR)
//
// doubled so that the accumulators hold twice the sum, for arm/requantize_doubled.hpp's
// 4-instruction rescale. Then for each output pixel, each kernel row inside the input is one
// run of (kx_end - kx_begin) * Cin bytes, contiguous in the input and, since every tap starts
// a chunk (Cin % 4 == 0), in the table. Per chunk of the run, for the four channels:
//
//   LDR four input bytes; SXTAB16, SXTAB16 ROR #8 (the input offset added)
//   LDM four pairs (channels 0, 1); 4 SMLAD; LDM four pairs (channels 2, 3); 4 SMLAD
//
// 16 MACs in 13 instructions (the previous general path, arm/convolve_general.hpp, sign-
// extends each weight word for each pixel: 16 in 23); one asm block per chunk, the registers
// pinned, unrolled at compile time. A whole window's runs are one straight sequence; a window
// cut by the padding loops over its rows inside the input, each row a run of 1 to KW taps
// (one copy per length). Taps outside the input are not in the runs. The four outputs are
// requantized together (27 instructions) and stored with one STR; the channels of a last
// group of fewer than four have zero filters and are not stored. A channel that is not
// arm::doubled_fast (its multiplier or bias out of the doubled requantization's range; none
// in calibrated layers) is computed again afterwards, exactly (arm/convolve_exact.hpp).
//
// Scratch: none. Stack: the group's table, 8 * KH * KW * Cin + 64 bytes (1,216 for 3x3x16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "microtl/kernels/arm/convolve_exact.hpp"
#include "microtl/kernels/arm/dot.hpp"
#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/arm/requantize_doubled.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

namespace microtl::kernels::arm::detail {

// The largest filter (KH * KW * Cin) the prepared path takes: it bounds the stack table.
inline constexpr std::size_t kMaxPreparedTaps = 144;

// A group of four output channels, prepared (see the header comment).
template <std::size_t Taps>
struct PreparedGroup {
  std::int32_t bias[4];  // doubled
  DoubledRescale rescale[4];
  std::int32_t pairs[Taps / 4][4][2];  // [chunk][channel][even, odd], doubled
};

// Channels first .. first + 3 of the filters [Cout][Taps] prepared into `group`; channels
// from Cout on get zero filters. A channel that is not doubled_fast gets a zero bias and the
// stand-in multiplier: the kernel computes it again.
template <std::size_t Cout, std::size_t Taps>
void prepare_group(const std::int8_t* weights, const std::int32_t* bias,
                   const ConvParams<Cout>& params, std::size_t first,
                   PreparedGroup<Taps>& group) noexcept {
  for (std::size_t k = 0; k < 4; ++k) {
    const std::size_t c = first + k;
    const bool real = c < Cout;
    const quant::QuantizedMultiplier multiplier =
        real ? params.multipliers[c] : quant::QuantizedMultiplier{0, 0};
    const std::int32_t b = real ? bias[c] : 0;
    group.bias[k] = doubled_fast(multiplier, b, Taps) ? 2 * b : 0;
    group.rescale[k] = make_doubled_rescale(multiplier, b, Taps, params.output_offset);
    const std::int8_t* filter = weights + (real ? c : first) * Taps;
#pragma GCC unroll 4
    for (std::size_t j = 0; j < Taps / 4; ++j) {
      const std::int32_t word = real ? dsp::load_quad(filter + 4 * j) : 0;
      const std::int32_t even = dsp::sxtb16(word);
      const std::int32_t odd = dsp::sxtb16_ror8(word);
      group.pairs[j][k][0] = dsp::sadd16(even, even);
      group.pairs[j][k][1] = dsp::sadd16(odd, odd);
    }
  }
}

// acc.a<k> += the products of one chunk of input at x (plus the offset) with channel k's
// pairs at w; x and w move past them (4 bytes, 8 words). On DSP cores one asm block of 13
// instructions. (One block per chunk, not an assembler loop: GCC places its literal pools by
// its estimate of each block's size, which it cannot make of a .rept.)
MICROTL_KERNEL_INLINE void prepared_chunk(const std::int8_t*& x, const std::int32_t*& w,
                                          std::int32_t offset_pair, Acc4& acc) noexcept {
#if defined(__ARM_FEATURE_DSP) && defined(__OPTIMIZE__)
  // LDM fills its registers in ascending order: the four it loads are pinned so that they are.
  register std::int32_t p0 asm("r8");
  register std::int32_t p1 asm("r9");
  register std::int32_t p2 asm("r10");
  register std::int32_t p3 asm("r11");
  // The accumulators pinned too: consecutive chunks then need no moves between them.
  register std::int32_t a0 asm("r2") = acc.a0;
  register std::int32_t a1 asm("r3") = acc.a1;
  register std::int32_t a2 asm("r4") = acc.a2;
  register std::int32_t a3 asm("r5") = acc.a3;
  std::int32_t low;
  std::int32_t high;
  // clang-format off
  __asm(
      "ldr     %[lo], [%[x]], #4\n\t"
      "sxtab16 %[hi], %[off], %[lo], ror #8\n\t"
      "sxtab16 %[lo], %[off], %[lo]\n\t"
      "ldm     %[w]!, {%[p0], %[p1], %[p2], %[p3]}\n\t"
      "smlad   %[a0], %[lo], %[p0], %[a0]\n\t"
      "smlad   %[a0], %[hi], %[p1], %[a0]\n\t"
      "smlad   %[a1], %[lo], %[p2], %[a1]\n\t"
      "smlad   %[a1], %[hi], %[p3], %[a1]\n\t"
      "ldm     %[w]!, {%[p0], %[p1], %[p2], %[p3]}\n\t"
      "smlad   %[a2], %[lo], %[p0], %[a2]\n\t"
      "smlad   %[a2], %[hi], %[p1], %[a2]\n\t"
      "smlad   %[a3], %[lo], %[p2], %[a3]\n\t"
      "smlad   %[a3], %[hi], %[p3], %[a3]"
      : [x] "+r"(x), [w] "+r"(w), [lo] "=&r"(low), [hi] "=&r"(high), [p0] "=&r"(p0),
        [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3), [a0] "+r"(a0), [a1] "+r"(a1),
        [a2] "+r"(a2), [a3] "+r"(a3)
      : [off] "r"(offset_pair)
      : "memory");
  // clang-format on
  acc = {a0, a1, a2, a3};
#else
  const std::int32_t quad = dsp::load_quad(x);
  const std::int32_t low = dsp::sxtab16(offset_pair, quad);
  const std::int32_t high = dsp::sxtab16_ror8(offset_pair, quad);
  std::int32_t* const a[4] = {&acc.a0, &acc.a1, &acc.a2, &acc.a3};
  for (std::size_t k = 0; k < 4; ++k) {
    *a[k] = dsp::smlad(high, w[2 * k + 1], dsp::smlad(low, w[2 * k], *a[k]));
  }
  x += 4;
  w += 8;
#endif
}

// acc.a<k> += the products of Rows runs of `Chunks` chunks of input (plus the offset) with
// channel k's pairs: the first run at x and w, each next one InputSkip bytes after the end of
// the run before in the input, and TableSkip words after it in the table (w moves past the
// last run). Unrolled at compile time.
template <std::size_t Chunks, std::size_t Rows, std::size_t InputSkip, std::size_t TableSkip>
MICROTL_KERNEL_INLINE void prepared_runs(const std::int8_t* x, const std::int32_t*& w,
                                         std::int32_t offset_pair, Acc4& acc) noexcept {
  [&]<std::size_t... R>(std::index_sequence<R...>) MICROTL_KERNEL_LAMBDA {
    const auto run = [&](std::size_t row) MICROTL_KERNEL_LAMBDA {
      if (row != 0) {
        x += InputSkip;
        w += TableSkip;
      }
      [&]<std::size_t... J>(std::index_sequence<J...>) MICROTL_KERNEL_LAMBDA {
        (((void)J, prepared_chunk(x, w, offset_pair, acc)), ...);
      }(std::make_index_sequence<Chunks>{});
    };
    (run(R), ...);
  }(std::make_index_sequence<Rows>{});
}

// f(std::integral_constant<std::size_t, t>{}) for the runtime t in [1, N].
template <std::size_t N, typename F>
MICROTL_KERNEL_INLINE void with_taps(std::size_t t, F&& f) noexcept {
  [&]<std::size_t... I>(std::index_sequence<I...>) MICROTL_KERNEL_LAMBDA {
    (void)((t == I + 1 ? (f(std::integral_constant<std::size_t, I + 1>{}), true) : false) || ...);
  }(std::make_index_sequence<N>{});
}

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void convolve_prepared(const std::int8_t* input, const std::int8_t* weights,
                       const std::int32_t* bias, std::int8_t* output,
                       const ConvParams<Cout>& params) noexcept {
  constexpr std::size_t kTaps = KH * KW * Cin;
  static_assert(Cin % 4 == 0 && kTaps <= kMaxPreparedTaps,
                "the prepared path takes Cin % 4 == 0 and at most 144 taps");
  constexpr std::size_t kChunksPerTap = Cin / 4;
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  const std::int32_t offset_pair = dsp::splat_pair(params.input_offset);
  const OutputRange range = OutputRange::of(params.output_offset, params.activation);
  alignas(8) PreparedGroup<kTaps> group;

  for (std::size_t first = 0; first < Cout; first += 4) {
    prepare_group<Cout>(weights, bias, params, first, group);
    std::int8_t* out = output + first;
    for (std::size_t y = 0; y < Rows::output; ++y) {
      const int y_origin = Rows::origin(y);
      const int ky_begin = Rows::first_tap(y_origin);
      const int ky_end = Rows::end_tap(y_origin);
      // One output pixel whose window rows have `taps` taps inside the input.
      const auto pixel = [&](std::size_t x, auto taps) MICROTL_KERNEL_LAMBDA {
        constexpr std::size_t kRun = decltype(taps)::value * kChunksPerTap;
        const int x_origin = Cols::origin(x);
        const auto kx_begin = static_cast<std::size_t>(Cols::first_tap(x_origin));
        const std::int8_t* in = input + (static_cast<std::size_t>(y_origin + ky_begin) * W +
                                         static_cast<std::size_t>(x_origin) + kx_begin) *
                                            Cin;
        const std::int32_t* w =
            &group
                 .pairs[(static_cast<std::size_t>(ky_begin) * KW + kx_begin) * kChunksPerTap][0][0];
        constexpr std::size_t kTableSkip = (KW * kChunksPerTap - kRun) * 8;
        Acc4 acc{group.bias[0], group.bias[1], group.bias[2], group.bias[3]};
        bool whole = false;
        if constexpr (decltype(taps)::value == KW) {
          // A whole window (the common case): every run unrolled, no loop.
          whole = ky_begin == 0 && ky_end == static_cast<int>(KH);
          if (whole) {
            prepared_runs<kRun, KH, (W - KW) * Cin, 0>(in, w, offset_pair, acc);
          }
        }
        if (!whole) {
          for (int ky = ky_begin; ky < ky_end; ++ky, in += W * Cin) {
            prepared_runs<kRun, 1, 0, 0>(in, w, offset_pair, acc);
            w += kTableSkip;
          }
        }
        const std::int32_t quad =
            requantize4_doubled(acc.a0, acc.a1, acc.a2, acc.a3, group.rescale, range);
        if (Cout % 4 == 0 || first + 4 <= Cout) {
          dsp::store_quad(out, quad);
        } else {
          for (std::size_t k = 0; first + k < Cout; ++k) {
            out[k] = static_cast<std::int8_t>(static_cast<std::uint32_t>(quad) >> (8 * k));
          }
        }
      };
      // (Not unrolled: GCC 12, unrolling a short row, fails to allocate the asm's registers.)
#pragma GCC unroll 1
      for (std::size_t x = 0; x < Cols::output; ++x, out += Cout) {
        const int x_origin = Cols::origin(x);
        const auto taps =
            static_cast<std::size_t>(Cols::end_tap(x_origin) - Cols::first_tap(x_origin));
        if (taps == KW) {
          pixel(x, std::integral_constant<std::size_t, KW>{});
        } else {
          with_taps<KW - 1>(taps, [&](auto t) MICROTL_KERNEL_LAMBDA { pixel(x, t); });
        }
      }
    }
    convolve_channels_exact<H, W, Cin, Cout, KH, KW, Stride, Pad>(
        input, weights, bias, output, params, first, first + 4,
        [&](std::size_t c) { return doubled_fast(params.multipliers[c], bias[c], kTaps); });
  }
}

}  // namespace microtl::kernels::arm::detail
