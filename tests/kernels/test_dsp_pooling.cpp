// arm::max_pool_s8 (kernels/arm/pooling.hpp) against the portable reference kernel:
// identical int8 outputs, bit for bit, on random inputs and activation ranges, for channel
// counts that take the four-lane path (multiples of 4) and the others (the portable
// fallback), windows with and without padding, strides, windows larger than the input. On the
// Cortex-M4F and M7 the real SSUB8/SEL run; on the host and the Cortex-M3 their emulations.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "../support/random.hpp"
#include "dsp_compare.hpp"
#include "microtl/kernels/arm/pooling.hpp"
#include "microtl/kernels/padding.hpp"
#include "microtl/kernels/pooling.hpp"
#include "microtl/quant/activation.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;
using kernels::Padding;
using microtl_test::dsp_compare::count_differences;
using microtl_test::dsp_compare::dispatches_as_configured;

template <std::size_t H, std::size_t W, std::size_t C, std::size_t PH, std::size_t PW,
          std::size_t Stride, Padding Pad>
void check_max_pool(std::uint32_t seed) {
  constexpr std::size_t kOutputs = kernels::output_elements(H, W, PH, PW, Stride, Pad, C);
  CAPTURE(H);
  CAPTURE(W);
  CAPTURE(C);
  CAPTURE(PH);
  CAPTURE(PW);
  CAPTURE(Stride);
  CAPTURE(Pad == Padding::same);
  CHECK(dispatches_as_configured(&kernels::max_pool_s8<H, W, C, PH, PW, Stride, Pad>,
                                 &kernels::portable::max_pool_s8<H, W, C, PH, PW, Stride, Pad>,
                                 &kernels::arm::max_pool_s8<H, W, C, PH, PW, Stride, Pad>));
  static std::array<std::int8_t, H * W * C> input;
  static std::array<std::int8_t, kOutputs> expected;
  static std::array<std::int8_t, kOutputs> actual;
  microtl_test::Xorshift32 random(seed);
  // The whole int8 range (no clamp), a ReLU's, a ReLU6's, random ranges.
  const std::array<quant::ActivationRange, 6> ranges = {
      {{-128, 127}, {-20, 127}, {-128, 40}, {3, 3}, {-128, -128}, {127, 127}}};
  for (std::size_t r = 0; r < ranges.size() + 4; ++r) {
    CAPTURE(r);
    microtl_test::fill_int8s(input, random, -128, 127);
    const std::int32_t low = random.uniform_int(-128, 127);
    const quant::ActivationRange range =
        r < ranges.size() ? ranges[r] : quant::ActivationRange{low, random.uniform_int(low, 127)};
    expected.fill(0);
    actual.fill(1);
    kernels::portable::max_pool_s8<H, W, C, PH, PW, Stride, Pad>(input, expected, range);
    kernels::arm::max_pool_s8<H, W, C, PH, PW, Stride, Pad>(input, actual, range);
    CHECK(count_differences(actual, expected) == 0);
  }
}

TEST_CASE("arm::max_pool_s8 equals the portable kernel") {
  // The demo's three pools (2x2, stride 2, valid).
  check_max_pool<28, 28, 8, 2, 2, 2, Padding::valid>(0x5000u);
  check_max_pool<14, 14, 16, 2, 2, 2, Padding::valid>(0x5100u);
  check_max_pool<7, 7, 16, 2, 2, 2, Padding::valid>(0x5200u);  // odd: the last row unused
  // Padding (windows cut at the borders), overlapping windows, a window larger than the
  // input, one row.
  check_max_pool<7, 5, 4, 2, 2, 2, Padding::same>(0x5300u);
  check_max_pool<6, 7, 12, 3, 3, 2, Padding::same>(0x5400u);
  check_max_pool<5, 5, 8, 3, 3, 1, Padding::same>(0x5500u);
  check_max_pool<2, 3, 4, 3, 3, 1, Padding::same>(0x5600u);
  check_max_pool<1, 9, 8, 1, 3, 2, Padding::valid>(0x5700u);
  // Channel counts that are not multiples of 4: the portable kernel.
  check_max_pool<6, 6, 3, 2, 2, 2, Padding::valid>(0x5800u);
  check_max_pool<5, 5, 6, 3, 3, 2, Padding::same>(0x5900u);
}

}  // namespace
