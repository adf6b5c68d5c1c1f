// The saturating ends of quantize and quantize_bias, whose documented contracts the other
// tests only touched in the middle of their ranges:
//   - quantize maps NaN to -128 (and +-infinity to the int8 ends), whatever the zero point;
//   - quantize_bias clamps to the symmetric int32 range [-(2^31 - 1), 2^31 - 1], starting at
//     exactly +-2^31 (the first float outside int32), and maps NaN to 0.
// A lost clamp lets a value outside int32 reach a float-to-int conversion, which is undefined
// behaviour, and its result depends on the core: x86 gives INT32_MIN (for NaN too, which then
// clamps to -128 as if nothing were wrong), a Cortex-M's VCVT saturates and gives 0 for NaN.
// So the ends are also checked in constant evaluation (where such a conversion is a compile
// error) where the compilers allow it: clang refuses any NaN there, so NaN is checked at run
// time only, where the sanitize-clang preset (-fsanitize=float-cast-overflow) and the Cortex-M
// presets catch a conversion of NaN.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "microtl/quant/qparams.hpp"

namespace {

using microtl::quant::quantize;
using microtl::quant::quantize_bias;
using microtl::quant::QuantParams;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kTwoPow31 = 2147483648.0f;
// The largest float below 2^31: 2^31 - 2^7 (floats in [2^30, 2^31) are 128 apart).
constexpr float kBelowTwoPow31 = 2147483520.0f;

static_assert(quantize(kInf, QuantParams{0.5f, -128}) == 127);
static_assert(quantize(-kInf, QuantParams{0.5f, 127}) == -128);
static_assert(quantize_bias(kTwoPow31, 1.0f, 1.0f) == 2147483647);
static_assert(quantize_bias(-kTwoPow31, 1.0f, 1.0f) == -2147483647);
static_assert(quantize_bias(kBelowTwoPow31, 1.0f, 1.0f) == 2147483520);

// Values the compiler cannot see, so that the checks below run the code the device runs.
float opaque(float value) {
  volatile float v = value;
  return v;
}

}  // namespace

TEST_CASE("quantize: NaN is -128 and infinities saturate, for every zero point") {
  for (std::int32_t zero_point = -128; zero_point <= 127; ++zero_point) {
    const QuantParams params{0.25f, zero_point};
    CHECK(quantize(opaque(kNaN), params) == -128);
    CHECK(quantize(opaque(-kNaN), params) == -128);
    CHECK(quantize(opaque(kInf), params) == 127);
    CHECK(quantize(opaque(-kInf), params) == -128);
    // Finite values far beyond the range saturate the same way: 1e30 / 0.25 = 4e30 steps.
    CHECK(quantize(opaque(1e30f), params) == 127);
    CHECK(quantize(opaque(-1e30f), params) == -128);
  }
}

TEST_CASE("quantize: -128 and 127 are both reachable (the activation range is asymmetric)") {
  // zero point 0, scale 1: round(-128) + 0 = -128 stays; round(-129) clamps to -128.
  CHECK(quantize(opaque(-128.0f), QuantParams{1.0f, 0}) == -128);
  CHECK(quantize(opaque(-129.0f), QuantParams{1.0f, 0}) == -128);
  CHECK(quantize(opaque(127.0f), QuantParams{1.0f, 0}) == 127);
  CHECK(quantize(opaque(-127.6f), QuantParams{1.0f, 0}) == -128);
}

TEST_CASE("quantize_bias: the int32 saturation starts at exactly +-2^31") {
  // scale 1 * 1 = 1, 1 / scale = 1: the steps are the bias itself.
  CHECK(quantize_bias(opaque(kBelowTwoPow31), 1.0f, 1.0f) == 2147483520);
  CHECK(quantize_bias(opaque(-kBelowTwoPow31), 1.0f, 1.0f) == -2147483520);
  CHECK(quantize_bias(opaque(kTwoPow31), 1.0f, 1.0f) == 2147483647);
  CHECK(quantize_bias(opaque(-kTwoPow31), 1.0f, 1.0f) == -2147483647);  // symmetric: not -2^31
  CHECK(quantize_bias(opaque(4294967296.0f), 1.0f, 1.0f) == 2147483647);
  CHECK(quantize_bias(opaque(-4294967296.0f), 1.0f, 1.0f) == -2147483647);
  CHECK(quantize_bias(opaque(kInf), 1.0f, 1.0f) == 2147483647);
  CHECK(quantize_bias(opaque(-kInf), 1.0f, 1.0f) == -2147483647);
  CHECK(quantize_bias(opaque(kNaN), 1.0f, 1.0f) == 0);
  // The same ends reached through the scale: 1 / (2^-16 * 2^-16) = 2^32 steps per unit, so a
  // bias of 0.5 is 2^31 steps, and 0.25 is 2^30 (inside, exact).
  CHECK(quantize_bias(opaque(0.5f), 0x1p-16f, 0x1p-16f) == 2147483647);
  CHECK(quantize_bias(opaque(-0.5f), 0x1p-16f, 0x1p-16f) == -2147483647);
  CHECK(quantize_bias(opaque(0.25f), 0x1p-16f, 0x1p-16f) == 1073741824);
}
