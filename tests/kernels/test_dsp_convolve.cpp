// arm::convolve_s8 and arm::convolve_1d_s8 (kernels/arm/convolve.hpp) against the portable
// reference kernels: identical int8 outputs, bit for bit, on random data, on every parameter
// variant of dsp_compare.hpp, for shapes that take each of the three paths (one input channel,
// prepared filters, general) with their edges: padding on every side, strides, odd widths,
// rows narrower than a word, kernels wider than the input, channel counts that are not
// multiples of 4, the largest prepared filter and the first one too large. On the
// Cortex-M4F, M7 and M33 the real DSP instructions (and inline assembly) run; on the host and the
// Cortex-M3 their emulations (arm/dsp.hpp). On the Cortex-M55 the same shapes run the Helium
// kernels (mve/convolve.hpp: one column path for all of them, padded taps and channel tails
// included; the shapes beyond its stack tables, 1,368 taps here, take the DSP kernel there).
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>

#include "dsp_compare.hpp"
#include "microtl/kernels/arm/convolve.hpp"
#include "microtl/kernels/convolve.hpp"
#if MICROTL_USE_MVE_KERNELS
#include "microtl/kernels/mve/convolve.hpp"
#endif
#include "microtl/kernels/padding.hpp"

namespace {

namespace kernels = microtl::kernels;
using kernels::Padding;
using microtl_test::dsp_compare::compare_on_variants;
using microtl_test::dsp_compare::dispatches_as_configured;

// The kernels compared with the portable ones: the Helium versions where
// MICROTL_USE_MVE_KERNELS (kernels::convolve_s8 is there), else the DSP ones.
namespace fast {
#if MICROTL_USE_MVE_KERNELS
using kernels::mve::convolve_1d_s8;
using kernels::mve::convolve_s8;
#else
using kernels::arm::convolve_1d_s8;
using kernels::arm::convolve_s8;
#endif
}  // namespace fast

template <std::size_t H, std::size_t W, std::size_t Cin, std::size_t Cout, std::size_t KH,
          std::size_t KW, std::size_t Stride, Padding Pad>
void check_convolve(std::uint32_t seed) {
  constexpr std::size_t kOutputs = kernels::output_elements(H, W, KH, KW, Stride, Pad, Cout);
  CAPTURE(H);
  CAPTURE(W);
  CAPTURE(Cin);
  CAPTURE(Cout);
  CAPTURE(KH);
  CAPTURE(KW);
  CAPTURE(Stride);
  CAPTURE(Pad == Padding::same);
  CHECK(dispatches_as_configured(
      &kernels::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>,
      &kernels::portable::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>,
      &fast::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>));
  compare_on_variants<H * W * Cin, Cout * KH * KW * Cin, Cout, kOutputs>(
      seed, KH * KW * Cin, [](auto& p, auto& expected, auto& actual) {
        kernels::portable::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>(
            p.input, p.weights, p.bias, expected, p.params);
        fast::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>(p.input, p.weights, p.bias, actual,
                                                                p.params);
      });
}

TEST_CASE("arm::convolve_s8 equals the portable kernel: one input channel, at most 3x3") {
  // arm/convolve_one_channel.hpp: the nine taps as five pairs; channels in passes of eight.
  check_convolve<28, 28, 1, 8, 3, 3, 1, Padding::same>(0x1000u);  // the benchmark's first
  check_convolve<6, 6, 1, 3, 3, 3, 1, Padding::valid>(0x1100u);
  check_convolve<7, 9, 1, 5, 3, 3, 1, Padding::same>(0x1200u);  // odd output width
  check_convolve<9, 8, 1, 4, 2, 2, 1, Padding::same>(0x1300u);
  check_convolve<5, 7, 1, 2, 1, 1, 1, Padding::valid>(0x1400u);
  check_convolve<4, 5, 1, 3, 3, 2, 1, Padding::same>(0x1500u);
  check_convolve<7, 9, 1, 5, 3, 3, 2, Padding::same>(0x1800u);
  check_convolve<8, 8, 1, 3, 3, 3, 2, Padding::valid>(0x1900u);
  // Rows narrower than a word (assembled byte by byte), the kernel wider than the input.
  check_convolve<5, 3, 1, 2, 3, 3, 1, Padding::same>(0x1600u);
  check_convolve<4, 2, 1, 3, 2, 2, 1, Padding::valid>(0x1700u);
  check_convolve<2, 2, 1, 3, 3, 3, 1, Padding::same>(0x1D00u);
  check_convolve<3, 1, 1, 2, 3, 3, 1, Padding::same>(0x1E00u);
  // Channel counts around the passes of eight: a partial quad, a pass of one channel, a
  // second pass with a partial quad, one channel.
  check_convolve<6, 7, 1, 6, 3, 3, 1, Padding::same>(0x1F00u);
  check_convolve<5, 6, 1, 9, 3, 3, 1, Padding::same>(0x2A00u);
  check_convolve<5, 5, 1, 13, 3, 3, 1, Padding::same>(0x2B00u);
  check_convolve<6, 5, 1, 1, 3, 3, 1, Padding::same>(0x2C00u);
  // Kernels of one row or one column (the missing rows are fill), stride 3, a wide odd row.
  check_convolve<5, 9, 1, 4, 1, 3, 1, Padding::same>(0x2D00u);
  check_convolve<7, 4, 1, 4, 3, 1, 1, Padding::same>(0x2E00u);
  check_convolve<8, 10, 1, 4, 3, 2, 3, Padding::same>(0x2F00u);
  check_convolve<3, 29, 1, 8, 3, 3, 1, Padding::same>(0x3A00u);
}

TEST_CASE("arm::convolve_s8 equals the portable kernel: one input channel, wider kernels") {
  // The general path with Cin == 1: KW == 4, KW > 4.
  check_convolve<8, 10, 1, 3, 4, 4, 1, Padding::same>(0x1A00u);
  check_convolve<9, 11, 1, 2, 2, 4, 3, Padding::same>(0x1B00u);
  check_convolve<8, 8, 1, 2, 5, 5, 1, Padding::same>(0x1C00u);
}

TEST_CASE("arm::convolve_s8 equals the portable kernel: prepared filters") {
  // arm/convolve_prepared.hpp: Cin % 4 == 0, at most 144 taps.
  check_convolve<14, 14, 8, 16, 3, 3, 1, Padding::same>(0x2000u);  // the benchmark's second
  check_convolve<7, 7, 16, 16, 3, 3, 1, Padding::same>(0x3B00u);   // and third
  check_convolve<7, 7, 8, 16, 3, 3, 2, Padding::same>(0x2200u);
  check_convolve<5, 5, 8, 4, 3, 3, 1, Padding::valid>(0x2300u);
  check_convolve<3, 3, 16, 4, 3, 3, 1, Padding::same>(0x2700u);  // 144 taps, the largest
  // Output channel counts that are not multiples of 4 (zero filters pad the last group).
  check_convolve<7, 7, 16, 5, 3, 3, 1, Padding::same>(0x3C00u);
  check_convolve<6, 5, 4, 3, 3, 3, 1, Padding::same>(0x3D00u);
  check_convolve<5, 5, 4, 17, 1, 1, 1, Padding::valid>(0x3E00u);
  // Stride 2 with an odd width, an even kernel (more padding after than before), the kernel
  // wider than the input (rows of one and two taps), one row, one column.
  check_convolve<5, 7, 12, 7, 3, 3, 2, Padding::same>(0x3F00u);
  check_convolve<4, 4, 8, 6, 2, 2, 1, Padding::same>(0x4A00u);
  check_convolve<3, 2, 8, 4, 3, 3, 1, Padding::same>(0x4B00u);
  check_convolve<1, 9, 16, 4, 1, 3, 1, Padding::same>(0x4C00u);
  check_convolve<9, 1, 4, 2, 3, 1, 1, Padding::same>(0x4D00u);
  // Runs of 36 chunks: a 1x1 filter over 144 channels, a 2x2 one over 36.
  check_convolve<3, 4, 144, 3, 1, 1, 1, Padding::valid>(0x4E00u);
  check_convolve<2, 2, 36, 4, 2, 2, 1, Padding::valid>(0x4F00u);
}

TEST_CASE("arm::convolve_s8 equals the portable kernel: general path") {
  check_convolve<6, 6, 3, 5, 3, 3, 1, Padding::same>(0x2100u);
  check_convolve<4, 6, 2, 3, 2, 3, 2, Padding::valid>(0x2400u);
  check_convolve<6, 5, 3, 7, 1, 1, 1, Padding::same>(0x2500u);
  check_convolve<5, 6, 5, 9, 5, 3, 2, Padding::same>(0x2600u);
  check_convolve<3, 2, 2, 3, 3, 5, 1, Padding::same>(0x2900u);  // kernel wider than the input
  // Cin % 4 == 0 but 180 taps: too large for the prepared path.
  check_convolve<3, 3, 20, 4, 3, 3, 1, Padding::same>(0x5A00u);
  // Filters more than 4095 / 3 bytes apart: the register-stride form of the inner loop.
  check_convolve<3, 3, 152, 4, 3, 3, 1, Padding::same>(0x2800u);
}

template <std::size_t Length, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          Padding Pad>
void check_convolve_1d(std::uint32_t seed) {
  constexpr std::size_t kOutputs = kernels::output_size(Length, K, Stride, Pad) * Cout;
  CHECK(dispatches_as_configured(
      &kernels::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>,
      &kernels::portable::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>,
      &fast::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>));
  compare_on_variants<Length * Cin, Cout * K * Cin, Cout, kOutputs>(
      seed, K * Cin, [](auto& p, auto& expected, auto& actual) {
        kernels::portable::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>(
            p.input, p.weights, p.bias, expected, p.params);
        fast::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>(p.input, p.weights, p.bias, actual,
                                                                p.params);
      });
}

TEST_CASE("arm::convolve_1d_s8 equals the portable kernel") {
  check_convolve_1d<12, 3, 5, 3, 1, Padding::same>(0x3000u);
  check_convolve_1d<10, 1, 4, 3, 2, Padding::valid>(0x3100u);
  check_convolve_1d<16, 1, 6, 3, 1, Padding::same>(0x3200u);
  check_convolve_1d<20, 8, 4, 5, 1, Padding::same>(0x3300u);
  check_convolve_1d<11, 4, 5, 3, 2, Padding::same>(0x3400u);
}

}  // namespace
