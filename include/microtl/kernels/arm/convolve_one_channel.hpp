// The one-input-channel path of arm::convolve_s8 (arm/convolve.hpp): Cin == 1, a kernel of at
// most 3 x 3 taps (the first layer on a grayscale image, and 1-D convolutions of one signal),
// any stride and padding. Taken as a 3 x 3 kernel whose missing taps are zero.
//
// Per output pixel, the window's kernel row r is one input word q_r = (b0, b1, b2, b3) (its
// columns from the window's origin; b3 is never used). With the input offset added by
// SXTAB16, five pairs hold the nine taps:
//
//   e_r = (b0 + off, b2 + off) of row r = 0, 1, 2       (SXTAB16)
//   m   = (b1 + off of row 0, b1 + off of row 1)         (PKHBT q0, q1; SXTAB16 ROR #8)
//   o   = (b1 + off of row 2, b3 + off of row 2)         (SXTAB16 ROR #8)
//
// and the filter of each output channel, prepared once per call as doubled pairs (so that the
// accumulator holds twice the sum, for arm/requantize_doubled.hpp):
//
//   acc = 2 bias + SMLAD(e_0, (2 w00, 2 w02)) + SMLAD(e_1, (2 w10, 2 w12))
//                + SMLAD(e_2, (2 w20, 2 w22)) + SMLAD(m, (2 w01, 2 w11)) + SMLAD(o, (2 w21, 0))
//
// About 10 instructions prepare the pixel (3 LDR, 5 SXTAB16, PKHBT, the offset) for all the
// output channels, in the same asm block as the channels (the pairs never leave their
// registers); each channel then costs LDM (its filter and bias), 5 SMLAD, LDM (its prepared
// multiplier), SMMLAR, ADD, ASR, SSAT and a BFI into the quad of four outputs, which is
// clamped to the activation range as byte lanes and written with one STR: 16.7 instructions
// per output for 9 MACs in the 28x28x1 -> 8 benchmark, loop and borders included, against
// 27.6 in the previous form of this path (three LDRD and six SMLAD per channel, the
// 45-instruction requantize4 of arm/requantize.hpp).
//
// Where a word would reach outside its input row (padding, or the last 1-3 columns) it is
// assembled from the row's first or last word, the missing bytes set to -input_offset (the
// zero point): their term (zero point + input_offset) * w is exactly 0, as a skipped padded
// tap's is; this relies on input_offset being in [-127, 128], as params.hpp requires. A
// kernel row outside the input (or beyond KH) is a word of that fill, so all its pairs are 0.
//
// Channels in groups of up to eight per pass over the image (each pass prepares its pixels
// again). A channel that is not arm::doubled_fast (its multiplier or its bias out of the
// doubled requantization's range; none in calibrated layers) is computed again afterwards,
// exactly (arm/convolve_exact.hpp).
//
// Scratch: none. Stack: the group's prepared filters, 36 bytes per channel (288 for eight).
#pragma once

#include <cstddef>
#include <cstdint>

#include "microtl/kernels/arm/convolve_exact.hpp"
#include "microtl/kernels/arm/dsp.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/arm/requantize_doubled.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/params.hpp"

namespace microtl::kernels::arm::detail {

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

// The five input pairs of one window (see the header comment).
struct WindowPairs {
  std::int32_t e0;
  std::int32_t e1;
  std::int32_t e2;
  std::int32_t m;
  std::int32_t o;
};

inline WindowPairs window_pairs(std::int32_t q0, std::int32_t q1, std::int32_t q2,
                                std::int32_t offset_pair) noexcept {
  return {dsp::sxtab16(offset_pair, q0), dsp::sxtab16(offset_pair, q1),
          dsp::sxtab16(offset_pair, q2), dsp::sxtab16_ror8(offset_pair, dsp::pkhbt(q0, q1)),
          dsp::sxtab16_ror8(offset_pair, q2)};
}

// One output channel's filter, bias and multiplier as the pixel loop reads them (two LDM).
struct OneChannelFilter {
  std::int32_t w02[3];  // (2 w[r][0], 2 w[r][2]) for the kernel rows r = 0, 1, 2
  std::int32_t w1_01;   // (2 w[0][1], 2 w[1][1])
  std::int32_t w1_2;    // (2 w[2][1], 0)
  std::int32_t bias;    // 2 bias
  DoubledRescale rescale;
};

// Channel c's filter [KH][KW] (KH, KW <= 3) prepared, or a zero filter when c >= Cout (the
// padding of the last group). A channel that is not doubled_fast gets a zero bias and the
// stand-in multiplier: the kernel computes it again.
template <std::size_t Cout, std::size_t KH, std::size_t KW>
OneChannelFilter prepare_one_channel(const std::int8_t* weights, const std::int32_t* bias,
                                     const ConvParams<Cout>& params, std::size_t c) noexcept {
  if (c >= Cout) {
    return {{0, 0, 0}, 0, 0, 0, make_doubled_rescale({0, 0}, 0, 0, 0)};
  }
  const std::int8_t* filter = weights + c * KH * KW;
  const auto tap = [filter](std::size_t r, std::size_t k) -> std::int32_t {
    return r < KH && k < KW ? 2 * std::int32_t{filter[r * KW + k]} : 0;
  };
  const bool fast = doubled_fast(params.multipliers[c], bias[c], KH * KW);
  return {{dsp::pkhbt(tap(0, 0), tap(0, 2)), dsp::pkhbt(tap(1, 0), tap(1, 2)),
           dsp::pkhbt(tap(2, 0), tap(2, 2))},
          dsp::pkhbt(tap(0, 1), tap(1, 1)),
          dsp::pkhbt(tap(2, 1), 0),
          fast ? 2 * bias[c] : 0,
          make_doubled_rescale(params.multipliers[c], bias[c], KH * KW, params.output_offset)};
}

// The outputs of one window, whose kernel rows are the words q0, q1, q2, for the channels
// f[0 .. 4 Quads), Quads = 1 or 2: quads[g] packs those of f[4g .. 4g + 4) (lane k from
// f[4g + k]), each saturated to int8 but not yet clamped to the activation range.
template <std::size_t Quads>
inline void one_channel_pixel(std::int32_t q0, std::int32_t q1, std::int32_t q2,
                              const std::int32_t& offset_pair, const OneChannelFilter* f,
                              std::int32_t (&quads)[Quads]) noexcept {
  static_assert(Quads == 1 || Quads == 2);
#if defined(__ARM_FEATURE_DSP) && defined(__OPTIMIZE__)
  // LDM fills its registers in ascending order: the six it loads are pinned so that they are.
  register std::int32_t w0 asm("r6");
  register std::int32_t w1 asm("r8");
  register std::int32_t w2 asm("r9");
  register std::int32_t w3 asm("r10");
  register std::int32_t w4 asm("r11");
  register std::int32_t acc asm("r12");
  std::int32_t m;
  std::int32_t o;
  std::int32_t first;
  std::int32_t last;
  const OneChannelFilter* cursor = f;
  // The pairs in place: q0, q1, q2 become e0, e1, e2; o holds the offset pair (loaded from
  // memory: one register less for the loop around) until it becomes the pair o (through w0,
  // still free); m is built from q0 and q1 first.
  // clang-format off
#define MICROTL_ARM_WINDOW_PAIRS                                   \
  "ldr     %[o], %[off]\n\t"                                        \
  "pkhbt   %[m], %[q0], %[q1], lsl #16\n\t"                        \
  "sxtab16 %[m], %[o], %[m], ror #8\n\t"                           \
  "sxtab16 %[q0], %[o], %[q0]\n\t"                                 \
  "sxtab16 %[q1], %[o], %[q1]\n\t"                                 \
  "sxtab16 %[w0], %[o], %[q2], ror #8\n\t"                         \
  "sxtab16 %[q2], %[o], %[q2]\n\t"                                 \
  "mov     %[o], %[w0]\n\t"
  // One channel: its filter and bias, five SMLAD, its multiplier; the rescaled value is left
  // in w1 (arm/requantize_doubled.hpp: SMMLAR, ADD, ASR). Four make a quad in %[q].
#define MICROTL_ARM_ONE_CHANNEL                                    \
  "ldm     %[f]!, {%[w0], %[w1], %[w2], %[w3], %[w4], %[acc]}\n\t" \
  "smlad   %[acc], %[q0], %[w0], %[acc]\n\t"                        \
  "smlad   %[acc], %[q1], %[w1], %[acc]\n\t"                        \
  "smlad   %[acc], %[q2], %[w2], %[acc]\n\t"                        \
  "smlad   %[acc], %[m], %[w3], %[acc]\n\t"                         \
  "smlad   %[acc], %[o], %[w4], %[acc]\n\t"                         \
  "ldm     %[f]!, {%[w0], %[w1], %[w2]}\n\t"                        \
  "smmlar  %[w1], %[acc], %[w0], %[w1]\n\t"                         \
  "add     %[w1], %[w1], %[acc], asr #31\n\t"                       \
  "asr     %[w1], %[w1], %[w2]\n\t"
#define MICROTL_ARM_ONE_CHANNEL_LANE(LSB)                          \
  MICROTL_ARM_ONE_CHANNEL                                          \
  "ssat    %[w1], #8, %[w1]\n\t"                                    \
  "bfi     %[q], %[w1], #" LSB ", #8\n\t"
#define MICROTL_ARM_ONE_CHANNEL_QUAD                               \
  MICROTL_ARM_ONE_CHANNEL                                          \
  "ssat    %[q], #8, %[w1]\n\t"                                     \
  MICROTL_ARM_ONE_CHANNEL_LANE("8")                                \
  MICROTL_ARM_ONE_CHANNEL_LANE("16")                               \
  MICROTL_ARM_ONE_CHANNEL_LANE("24")
#define MICROTL_ARM_ONE_CHANNEL_OPERANDS                                                    \
  [q0] "+r"(q0), [q1] "+r"(q1), [q2] "+r"(q2), [o] "=&r"(o), [m] "=&r"(m),                  \
  [f] "+r"(cursor), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3),          \
  [w4] "=&r"(w4), [acc] "=&r"(acc)                                                          \
  : [off] "m"(offset_pair), "m"(*reinterpret_cast<const OneChannelFilter(*)[4 * Quads]>(f))
  if constexpr (Quads == 1) {
    __asm(MICROTL_ARM_WINDOW_PAIRS
          MICROTL_ARM_ONE_CHANNEL_QUAD
          : [q] "=&r"(last), MICROTL_ARM_ONE_CHANNEL_OPERANDS);
    quads[0] = last;
  } else {
    // The first quad goes to its stack slot: the registers are all in use.
    __asm(MICROTL_ARM_WINDOW_PAIRS
          MICROTL_ARM_ONE_CHANNEL_QUAD
          "str     %[q], %[q0out]\n\t"
          MICROTL_ARM_ONE_CHANNEL_QUAD
          : [q0out] "=m"(first), [q] "=&r"(last), MICROTL_ARM_ONE_CHANNEL_OPERANDS);
    quads[0] = first;
    quads[1] = last;
  }
#undef MICROTL_ARM_ONE_CHANNEL_OPERANDS
#undef MICROTL_ARM_ONE_CHANNEL_QUAD
#undef MICROTL_ARM_ONE_CHANNEL_LANE
#undef MICROTL_ARM_ONE_CHANNEL
#undef MICROTL_ARM_WINDOW_PAIRS
  // clang-format on
#else
  const WindowPairs p = window_pairs(q0, q1, q2, offset_pair);
  for (std::size_t g = 0; g < Quads; ++g) {
    std::uint32_t quad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const OneChannelFilter& c = f[4 * g + k];
      std::int32_t acc = c.bias;
      acc = dsp::smlad(p.e0, c.w02[0], acc);
      acc = dsp::smlad(p.e1, c.w02[1], acc);
      acc = dsp::smlad(p.e2, c.w02[2], acc);
      acc = dsp::smlad(p.m, c.w1_01, acc);
      acc = dsp::smlad(p.o, c.w1_2, acc);
      const std::int32_t value = dsp::ssat8(rescale_doubled(acc, c.rescale));
      quad |= (static_cast<std::uint32_t>(value) & 0xFFu) << (8 * k);
    }
    quads[g] = static_cast<std::int32_t>(quad);
  }
#endif
}

template <std::size_t H, std::size_t W, std::size_t Cout, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad>
void convolve_one_channel(const std::int8_t* input, const std::int8_t* weights,
                          const std::int32_t* bias, std::int8_t* output,
                          const ConvParams<Cout>& params) noexcept {
  static_assert(KH <= 3 && KW <= 3, "the one-channel path takes kernels of at most 3 x 3");
  using Rows = WindowAxis<H, KH, Stride, Pad>;
  using Cols = WindowAxis<W, KW, Stride, Pad>;
  // Output columns whose words lie inside the input row: [kInsideBegin, kInsideEnd).
  constexpr std::size_t kInsideBegin = Cols::inside_begin();
  constexpr std::size_t kInsideEnd = Cols::inside_end(4);
  // Channels per pass over the image, a multiple of 4.
  constexpr std::size_t kGroup = Cout <= 4 ? 4 : 8;

  const std::int32_t offset_pair = dsp::splat_pair(params.input_offset);
  const std::int32_t fill = dsp::splat_quad(-params.input_offset);
  const OutputRange range = OutputRange::of(params.output_offset, params.activation);
  const std::int32_t lo = range.min_quad;
  const std::int32_t hi = range.max_quad;
  alignas(8) OneChannelFilter filters[kGroup];

  for (std::size_t first = 0; first < Cout; first += kGroup) {
    for (std::size_t k = 0; k < kGroup; ++k) {
      filters[k] = prepare_one_channel<Cout, KH, KW>(weights, bias, params, first + k);
    }
    for (std::size_t y = 0; y < Rows::output; ++y) {
      const int y_origin = Rows::origin(y);
      // The window's kernel rows; nullptr where outside the input (or beyond KH).
      const std::int8_t* rows[3];
      for (int r = 0; r < 3; ++r) {
        const int iy = y_origin + r;
        rows[r] = r < static_cast<int>(KH) && iy >= 0 && iy < static_cast<int>(H)
                      ? input + static_cast<std::size_t>(iy) * W
                      : nullptr;
      }
      std::int8_t* out_row = output + y * Cols::output * Cout + first;

      // One output pixel, every channel of the group. `inside`: every word lies inside its
      // row; `all_rows`: every kernel row is inside the input.
      const auto pixel = [&](std::size_t x, auto inside, auto all_rows) {
        const int column = Cols::origin(x);
        std::int32_t q[3];
#pragma GCC unroll 3
        for (std::size_t r = 0; r < 3; ++r) {
          if (!decltype(all_rows)::value && rows[r] == nullptr) {
            q[r] = fill;
          } else if (decltype(inside)::value) {
            // All rows inside: they follow each other, W bytes apart (immediate offsets).
            q[r] = dsp::load_quad(rows[0] + column + r * W);
          } else {
            q[r] = row_word(rows[r], column, static_cast<int>(W), fill);
          }
        }
        std::int32_t quads[kGroup / 4];
        one_channel_pixel(q[0], q[1], q[2], offset_pair, filters, quads);
        std::int8_t* out = out_row + x * Cout;
#pragma GCC unroll 2
        for (std::size_t g = 0; g < kGroup / 4; ++g) {
          const auto quad =
              static_cast<std::uint32_t>(dsp::min_s8x4(dsp::max_s8x4(quads[g], lo), hi));
          if (Cout % 4 == 0 || first + 4 * g + 4 <= Cout) {
            dsp::store_quad(out + 4 * g, static_cast<std::int32_t>(quad));
          } else {
            for (std::size_t k = 0; first + 4 * g + k < Cout; ++k) {
              out[4 * g + k] = static_cast<std::int8_t>(quad >> (8 * k));
            }
          }
        }
      };

      if (KH == 3 && rows[0] != nullptr && rows[1] != nullptr && rows[2] != nullptr) {
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
    convolve_channels_exact<H, W, 1, Cout, KH, KW, Stride, Pad>(
        input, weights, bias, output, params, first, first + kGroup,
        [&](std::size_t c) { return doubled_fast(params.multipliers[c], bias[c], KH * KW); });
  }
}

}  // namespace microtl::kernels::arm::detail
