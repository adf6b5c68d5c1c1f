// arm::convolve_s8 and arm::convolve_1d_s8 (kernels/arm/convolve.hpp) against the portable
// reference kernels (the one-input-channel shapes: test_dsp_convolve_one_channel.cpp): identical
// int8 outputs, bit for bit, on random data, on every parameter variant of dsp_compare.hpp, for
// shapes that take each of the three paths (one input channel, prepared filters, general) with
// their edges: padding on every side, strides, odd widths, rows narrower than a word, kernels wider
// than the input, channel counts that are not multiples of 4, the largest prepared filter and the
// first one too large. On the Cortex-M4F, M7 and M33 the real DSP instructions (and inline
// assembly) run; on the host and the Cortex-M3 their emulations (arm/dsp.hpp). On the Cortex-M55
// the same shapes run the Helium kernels (mve/convolve.hpp: one column path for all of them, padded
// taps and channel tails included; the shapes beyond its stack tables, 1,368 taps here, take the
// DSP kernel there).
#include "dsp_convolve_compare.hpp"

namespace {

using microtl::kernels::Padding;
using microtl_test::dsp_convolve::check_convolve;
using microtl_test::dsp_convolve::check_convolve_1d;

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

TEST_CASE("arm::convolve_1d_s8 equals the portable kernel") {
  check_convolve_1d<12, 3, 5, 3, 1, Padding::same>(0x3000u);
  check_convolve_1d<10, 1, 4, 3, 2, Padding::valid>(0x3100u);
  check_convolve_1d<16, 1, 6, 3, 1, Padding::same>(0x3200u);
  check_convolve_1d<20, 8, 4, 5, 1, Padding::same>(0x3300u);
  check_convolve_1d<11, 4, 5, 3, 2, Padding::same>(0x3400u);
}

}  // namespace
