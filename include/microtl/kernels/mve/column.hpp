// The window of one output position as a column of int8 codes, in the filters' [ky][kx][i]
// order, for the Helium convolutions (mve/convolve.hpp, mve/convolve_one_channel.hpp), and the
// byte helpers it is made of.
#pragma once

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#endif

#include <cstddef>
#include <cstdint>

#include "microtl/kernels/padding.hpp"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

namespace microtl::kernels::mve::detail {

// dst[0, N) = src[0, N): 16 bytes per VLDRB/VSTRB pair, the tail predicated.
template <std::size_t N>
inline void copy_bytes(std::int8_t* dst, const std::int8_t* src) noexcept {
  for (std::size_t i = 0; i < N / 16; ++i) {
    vstrbq_s8(dst + 16 * i, vldrbq_s8(src + 16 * i));
  }
  if constexpr (N % 16 != 0) {
    const mve_pred16_t p = vctp8q(N % 16);
    vstrbq_p_s8(dst + N / 16 * 16, vldrbq_z_s8(src + N / 16 * 16, p), p);
  }
}

// dst[0, N) = value's lanes.
template <std::size_t N>
inline void fill_bytes(std::int8_t* dst, int8x16_t value) noexcept {
  for (std::size_t i = 0; i < N / 16; ++i) {
    vstrbq_s8(dst + 16 * i, value);
  }
  if constexpr (N % 16 != 0) {
    vstrbq_p_s8(dst + N / 16 * 16, value, vctp8q(N % 16));
  }
}

// sum_{k < N} w[k].
template <std::size_t N>
inline std::int32_t sum_bytes(const std::int8_t* w) noexcept {
  std::int32_t sum = 0;
  for (std::size_t i = 0; i < N / 16; ++i) {
    sum = vaddvaq_s8(sum, vldrbq_s8(w + 16 * i));
  }
  if constexpr (N % 16 != 0) {
    sum = vaddvaq_s8(sum, vldrbq_z_s8(w + N / 16 * 16, vctp8q(N % 16)));
  }
  return sum;
}

// The column of one window: KH rows of KW * Cin codes, padded taps set to `pad`.
template <std::size_t W, std::size_t Cin, std::size_t KH, std::size_t KW>
inline void window_column(std::int8_t* column, const std::int8_t* input, WindowSpan rows,
                          WindowSpan cols, int8x16_t pad) noexcept {
  constexpr std::size_t kRowBytes = KW * Cin;
  const bool full_row = cols.first == 0 && cols.end == static_cast<int>(KW);
  for (int ky = 0; ky < static_cast<int>(KH); ++ky, column += kRowBytes) {
    if (ky < rows.first || ky >= rows.end) {
      fill_bytes<kRowBytes>(column, pad);
      continue;
    }
    const auto row = static_cast<std::size_t>(rows.origin + ky) * W;
    if (full_row) {
      copy_bytes<kRowBytes>(column, input + (row + static_cast<std::size_t>(cols.origin)) * Cin);
      continue;
    }
    for (int kx = 0; kx < static_cast<int>(KW); ++kx) {
      std::int8_t* tap = column + static_cast<std::size_t>(kx) * Cin;
      if (kx < cols.first || kx >= cols.end) {
        fill_bytes<Cin>(tap, pad);
      } else {
        copy_bytes<Cin>(tap, input + (row + static_cast<std::size_t>(cols.origin + kx)) * Cin);
      }
    }
  }
}

}  // namespace microtl::kernels::mve::detail

#endif  // __ARM_FEATURE_MVE
