// Dot products of int8 rows with an int8 vector, the inner loops of the Helium (MVE) fully
// connected and convolution kernels (kernels/mve/):
//
//   dot[r] = sum_{i < N} w_r[i] * x[i]      sum[r] = sum_{i < N} w_r[i]      w_r = w + r stride
//
// The input offset is not added to x (x + offset would not fit in an int8 lane): the caller
// adds input_offset * sum[r] (or a sum computed once per call) to the accumulator, which gives
// sum_i w_r[i] * (x[i] + input_offset) exactly, since the integers are summed mod 2^32 and the
// true total fits in int32 (the kernels' contract).
//
// One step takes 16 bytes of x: VLDRB x, and per row VLDRB w, VMLADAVA (16 MACs into a
// scalar), VADDVA (the weight sum, for the fully connected kernel): three rows with sums, 48
// MACs in 10 instructions (dot_rows3); four rows without, 64 MACs in 9 (dot_rows4). The last
// N % 16 bytes are one predicated step (VCTP): its loads read only the lanes below N and zero
// the others, which then add nothing. No read outside the rows or x.
//
// Every header of kernels/mve/ declares nothing on a core without integer MVE
// (__ARM_FEATURE_MVE bit 0), so that including one elsewhere (the header checks do) is harmless.
#pragma once

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#endif

#include <cstddef>
#include <cstdint>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

namespace microtl::kernels::mve::detail {

template <std::size_t Rows>
struct Dots {
  std::int32_t dot[Rows];
  std::int32_t sum[Rows];
};

// One step of 16 (or, with a predicate, fewer) bytes for three rows: the accumulators are
// named scalars, not an array, so that GCC keeps them in registers (it keeps an indexed array
// in memory and loops over it).
struct Step3 {
  std::int32_t d0 = 0, d1 = 0, d2 = 0;
  std::int32_t s0 = 0, s1 = 0, s2 = 0;

  inline void add(int8x16_t xv, int8x16_t w0, int8x16_t w1, int8x16_t w2) noexcept {
    d0 = vmladavaq_s8(d0, xv, w0);
    d1 = vmladavaq_s8(d1, xv, w1);
    d2 = vmladavaq_s8(d2, xv, w2);
    s0 = vaddvaq_s8(s0, w0);
    s1 = vaddvaq_s8(s1, w1);
    s2 = vaddvaq_s8(s2, w2);
  }
};

// `steps` (>= 1) full steps of three rows: one asm loop of 11 instructions (10 and LE) for 48
// MACs. VMLADAVA and VADDVA accumulate into even registers only ("Te"); three rows leave lr
// for the loop counter (four rows would need all eight even registers, lr included, and GCC
// fails to find them inside larger functions). GCC 12, given the intrinsics, spills
// accumulators and recomputes row addresses.
inline void dot_rows3_steps(const std::int8_t*& x, const std::int8_t*& w0, const std::int8_t*& w1,
                            const std::int8_t*& w2, std::size_t steps, Step3& a) noexcept {
  register std::size_t count asm("lr") = steps;
  // clang-format off
#define MICROTL_MVE_DOT_ROW(W, Q, D, S)         \
  "vldrb.8     " Q ", [%[" W "]], #16\n\t"     \
  "vmladava.s8 %[" D "], q0, " Q "\n\t"        \
  "vaddva.s8   %[" S "], " Q "\n\t"
  __asm(
      "dls         lr, lr\n"
      "1:\n\t"
      "vldrb.8     q0, [%[x]], #16\n\t"
      MICROTL_MVE_DOT_ROW("w0", "q1", "d0", "s0")
      MICROTL_MVE_DOT_ROW("w1", "q2", "d1", "s1")
      MICROTL_MVE_DOT_ROW("w2", "q3", "d2", "s2")
      "le          lr, 1b"
      : [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2),
        [d0] "+Te"(a.d0), [d1] "+Te"(a.d1), [d2] "+Te"(a.d2),
        [s0] "+Te"(a.s0), [s1] "+Te"(a.s1), [s2] "+Te"(a.s2), "+r"(count)
      :
      : "q0", "q1", "q2", "q3", "memory");
#undef MICROTL_MVE_DOT_ROW
  // clang-format on
}

// Three rows of N bytes `stride` bytes apart against x, and their sums.
template <std::size_t N>
inline Dots<3> dot_rows3(const std::int8_t* x, const std::int8_t* w, std::size_t stride) noexcept {
  Step3 a;
  const std::int8_t* w0 = w;
  const std::int8_t* w1 = w + stride;
  const std::int8_t* w2 = w + 2 * stride;
  if constexpr (N >= 16) {
    dot_rows3_steps(x, w0, w1, w2, N / 16, a);
  }
  if constexpr (N % 16 != 0) {
    const mve_pred16_t p = vctp8q(N % 16);
    a.add(vldrbq_z_s8(x, p), vldrbq_z_s8(w0, p), vldrbq_z_s8(w1, p), vldrbq_z_s8(w2, p));
  }
  return {{a.d0, a.d1, a.d2}, {a.s0, a.s1, a.s2}};
}

// `steps` (>= 1) full steps of four rows without sums (the convolution, whose weight sums are
// computed once per call): one asm loop of 10 instructions (9 and LE) for 64 MACs.
inline void dot_rows4_steps(const std::int8_t*& x, const std::int8_t*& w0, const std::int8_t*& w1,
                            const std::int8_t*& w2, const std::int8_t*& w3, std::size_t steps,
                            std::int32_t& d0, std::int32_t& d1, std::int32_t& d2,
                            std::int32_t& d3) noexcept {
  register std::size_t count asm("lr") = steps;
  // clang-format off
  __asm(
      "dls         lr, lr\n"
      "1:\n\t"
      "vldrb.8     q0, [%[x]], #16\n\t"
      "vldrb.8     q1, [%[w0]], #16\n\t"
      "vmladava.s8 %[d0], q0, q1\n\t"
      "vldrb.8     q2, [%[w1]], #16\n\t"
      "vmladava.s8 %[d1], q0, q2\n\t"
      "vldrb.8     q3, [%[w2]], #16\n\t"
      "vmladava.s8 %[d2], q0, q3\n\t"
      "vldrb.8     q1, [%[w3]], #16\n\t"
      "vmladava.s8 %[d3], q0, q1\n\t"
      "le          lr, 1b"
      : [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3),
        [d0] "+Te"(d0), [d1] "+Te"(d1), [d2] "+Te"(d2), [d3] "+Te"(d3), "+r"(count)
      :
      : "q0", "q1", "q2", "q3", "memory");
  // clang-format on
}

// Four rows of N bytes `stride` bytes apart against x (no sums).
template <std::size_t N>
inline Dots<4> dot_rows4(const std::int8_t* x, const std::int8_t* w, std::size_t stride) noexcept {
  std::int32_t d0 = 0;
  std::int32_t d1 = 0;
  std::int32_t d2 = 0;
  std::int32_t d3 = 0;
  const std::int8_t* w0 = w;
  const std::int8_t* w1 = w + stride;
  const std::int8_t* w2 = w + 2 * stride;
  const std::int8_t* w3 = w + 3 * stride;
  if constexpr (N >= 16) {
    dot_rows4_steps(x, w0, w1, w2, w3, N / 16, d0, d1, d2, d3);
  }
  if constexpr (N % 16 != 0) {
    const mve_pred16_t p = vctp8q(N % 16);
    const int8x16_t xv = vldrbq_z_s8(x, p);
    d0 = vmladavaq_s8(d0, xv, vldrbq_z_s8(w0, p));
    d1 = vmladavaq_s8(d1, xv, vldrbq_z_s8(w1, p));
    d2 = vmladavaq_s8(d2, xv, vldrbq_z_s8(w2, p));
    d3 = vmladavaq_s8(d3, xv, vldrbq_z_s8(w3, p));
  }
  return {{d0, d1, d2, d3}, {0, 0, 0, 0}};
}

// One row of N bytes against x; WithSums: also the row's sum.
template <std::size_t N, bool WithSums>
inline Dots<1> dot_row(const std::int8_t* x, const std::int8_t* w) noexcept {
  std::int32_t d = 0;
  std::int32_t s = 0;
  const auto add = [&](int8x16_t xv, int8x16_t wv) {
    d = vmladavaq_s8(d, xv, wv);
    if constexpr (WithSums) {
      s = vaddvaq_s8(s, wv);
    }
  };
  for (std::size_t i = 0; i < N / 16; ++i, x += 16, w += 16) {
    add(vldrbq_s8(x), vldrbq_s8(w));
  }
  if constexpr (N % 16 != 0) {
    const mve_pred16_t p = vctp8q(N % 16);
    add(vldrbq_z_s8(x, p), vldrbq_z_s8(w, p));
  }
  return {{d}, {s}};
}

// a + b * c in int32 arithmetic modulo 2^32: partial sums of the kernels (the bias, the offset
// times a weight sum, a dot product) may leave int32 on the way to a total that fits.
constexpr std::int32_t wrapping_mac(std::int32_t a, std::int32_t b, std::int32_t c) noexcept {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) +
                                   static_cast<std::uint32_t>(b) * static_cast<std::uint32_t>(c));
}

}  // namespace microtl::kernels::mve::detail

#endif  // __ARM_FEATURE_MVE
