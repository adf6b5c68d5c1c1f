// arm::convolve_s8 (kernels/arm/convolve.hpp) against the portable reference kernel, bit for
// bit, on the shapes with one input channel (its own path: arm/convolve_one_channel.hpp,
// mve/convolve_one_channel.hpp); the other shapes and the 1-D convolution are in
// test_dsp_convolve.cpp, which says what runs on each core.
#include "dsp_convolve_compare.hpp"

namespace {

using microtl::kernels::Padding;
using microtl_test::dsp_convolve::check_convolve;

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

}  // namespace
