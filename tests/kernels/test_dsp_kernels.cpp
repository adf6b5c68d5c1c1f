// The Cortex-M DSP kernels (kernels/arm/) against the portable reference kernels
// (kernels/portable/): identical int8 outputs, bit for bit, on random data over many shapes
// and parameters (fully connected and depthwise here, convolution in test_dsp_convolve.cpp);
// and the fast requantizations against quant::multiply_by_quantized_multiplier.
//
// Where it runs matters:
//   - on the Cortex-M4F, M7, M33 and M55 (QEMU), the arm kernels execute the real DSP instructions
//     (and their inline assembly), and kernels::<op>_s8 dispatches to them: this is the
//     comparison that proves the shipped code;
//   - on the host and the Cortex-M3 (no DSP extension), the arm kernels run over the plain
//     C++ emulations of those instructions (arm/dsp.hpp), which checks their arithmetic and,
//     under the sanitizers, that they never read outside the tensors.
// Everywhere, kernels::<op>_s8 must be the very function MICROTL_USE_DSP_KERNELS selects
// (compared by address: the arm kernel where it is 1, the portable one where it is 0).
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "../support/random.hpp"
#include "board/board.hpp"
#include "dsp_compare.hpp"
#include "microtl/kernels/arm/depthwise_conv.hpp"
#include "microtl/kernels/arm/fully_connected.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/arm/requantize_doubled.hpp"
#include "microtl/kernels/depthwise_conv.hpp"
#include "microtl/kernels/fully_connected.hpp"
#if MICROTL_USE_MVE_KERNELS
#include <arm_mve.h>

#include "microtl/kernels/mve/depthwise_conv.hpp"
#include "microtl/kernels/mve/fully_connected.hpp"
#include "microtl/kernels/mve/requantize.hpp"
#endif
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/requantize.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;
using kernels::Padding;
using microtl_test::Xorshift32;
using microtl_test::dsp_compare::compare_on_variants;
using microtl_test::dsp_compare::dispatches_as_configured;

// The kernels compared with the portable ones: the Helium versions where
// MICROTL_USE_MVE_KERNELS (kernels::<op>_s8 are those there), else the DSP ones.
namespace fast {
#if MICROTL_USE_MVE_KERNELS
using kernels::mve::depthwise_conv_s8;
using kernels::mve::fully_connected_s8;
#else
using kernels::arm::depthwise_conv_s8;
using kernels::arm::fully_connected_s8;
#endif
}  // namespace fast

#if defined(__ARM_FEATURE_DSP)
constexpr bool kRealDspInstructions = true;
#else
constexpr bool kRealDspInstructions = false;
#endif

// Random inputs per shift for the requantization check: fewer under QEMU.
#if defined(__arm__)
constexpr int kRescaleRandomPerShift = 20000;
#else
constexpr int kRescaleRandomPerShift = 100000;
#endif

TEST_CASE("the cores with the DSP extension build the DSP kernels, the Helium core the MVE ones") {
  // A toolchain file that lost the extension (a -mcpu=...+nodsp, a wrong -march) would still
  // pass every comparison below, over the emulations: check the selection per core. The
  // Cortex-M55 (Helium) has the DSP extension too, and its fully connected, convolution and
  // depthwise kernels are the Helium ones (MICROTL_USE_MVE_KERNELS): a toolchain file that lost
  // MVE would test the DSP kernels there instead.
  const std::string_view core = board::core_name();
  CAPTURE(core);
  if (core == "cortex-m4" || core == "cortex-m7" || core == "cortex-m33" || core == "cortex-m55") {
    CHECK(kRealDspInstructions);
    CHECK(MICROTL_USE_DSP_KERNELS == 1);
    CHECK(MICROTL_USE_MVE_KERNELS == (core == "cortex-m55" ? 1 : 0));
  } else if (core == "cortex-m3") {
    CHECK_FALSE(kRealDspInstructions);
    CHECK(MICROTL_USE_DSP_KERNELS == 0);
    CHECK(MICROTL_USE_MVE_KERNELS == 0);
  } else {
    CHECK(core == "host");
    CHECK(MICROTL_USE_MVE_KERNELS == 0);
  }
}

// ---------------------------------------------------------------------------------------
// Requantization: arm::rescale == multiply_by_quantized_multiplier (+ offset).
// ---------------------------------------------------------------------------------------

// The value arm::rescale must return: the exact product plus the offset, clamped to int32.
std::int32_t expected_rescale(std::int32_t x, quant::QuantizedMultiplier q, std::int32_t offset) {
  const std::int64_t exact =
      std::int64_t{quant::multiply_by_quantized_multiplier(x, q.multiplier, q.shift)} + offset;
  constexpr std::int64_t kMin = std::numeric_limits<std::int32_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
  return static_cast<std::int32_t>(exact < kMin ? kMin : (exact > kMax ? kMax : exact));
}

// Checks every form (prepared Rescale, the multiplier as stored, FastRescale with the offset
// folded in) and counts mismatches.
struct RescaleChecker {
  long checked = 0;
  long mismatches = 0;

  void check(std::int32_t x, quant::QuantizedMultiplier q, std::int32_t offset) {
    // shift > 0 requires x * 2^shift to fit in int32 (TFLite's precondition): skip the rest.
    if (q.shift > 0) {
      const std::int64_t shifted = std::int64_t{x} * (std::int64_t{1} << q.shift);
      if (shifted < std::numeric_limits<std::int32_t>::min() ||
          shifted > std::numeric_limits<std::int32_t>::max()) {
        return;
      }
    }
    const std::int32_t expected = expected_rescale(x, q, offset);
    const std::int32_t prepared = kernels::arm::rescale(x, kernels::arm::make_rescale(q), offset);
    const std::int32_t direct = kernels::arm::rescale(x, q, offset);
    // The branch-free form with the zero point folded in, where it applies.
    const std::int32_t fast =
        kernels::arm::is_fast(q)
            ? kernels::arm::rescale(x, kernels::arm::make_fast_rescale(q, offset))
            : expected;
    ++checked;
    if (prepared != expected || direct != expected || fast != expected) {
      if (mismatches < 5) {
        MESSAGE("x=" << x << " multiplier=" << q.multiplier << " shift=" << q.shift
                     << " offset=" << offset << " expected=" << expected << " prepared=" << prepared
                     << " direct=" << direct << " fast=" << fast);
      }
      ++mismatches;
    }
  }
};

TEST_CASE("arm::rescale equals multiply_by_quantized_multiplier for every shift") {
  constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
  constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
  constexpr std::array<std::int32_t, 19> kEdges = {0,
                                                   1,
                                                   -1,
                                                   2,
                                                   -2,
                                                   3,
                                                   -3,
                                                   kMin,
                                                   kMax,
                                                   kMin + 1,
                                                   kMax - 1,
                                                   1 << 30,
                                                   -(1 << 30),
                                                   (1 << 30) + 1,
                                                   -(1 << 30) - 1,
                                                   12345,
                                                   -12345,
                                                   (1 << 30) - 1,
                                                   1 << 29};
  RescaleChecker checker;
  Xorshift32 random(0xDEC0DE01u);
  for (int shift = -31; shift <= 30; ++shift) {
    // Every pair of edge values.
    for (const std::int32_t x : kEdges) {
      for (const std::int32_t m : kEdges) {
        checker.check(x, {m, shift}, 0);
        checker.check(x, {m, shift}, -128);
        checker.check(x, {m, shift}, 127);
      }
    }
    for (int i = 0; i < kRescaleRandomPerShift; ++i) {
      // Random accumulators of every magnitude (2^0 .. 2^31), random multipliers: mostly
      // normalized mantissas [2^30, 2^31) as quantize_multiplier makes, also any int32.
      const auto magnitude = static_cast<int>(random.next() % 32u);
      const std::int32_t x = random.next_int32() >> magnitude;
      const std::int32_t m =
          random.next() % 4u != 0u
              ? static_cast<std::int32_t>(0x4000'0000u | (random.next() & 0x3FFF'FFFFu))
              : random.next_int32();
      const std::int32_t offset = random.uniform_int(-128, 127);
      checker.check(x, {m, shift}, offset);
      // Ties of the division by 2^e: with m = 2^30 the high multiply is x / 2 rounded, so
      // x = 2 * (k * 2^e + 2^(e-1)) lands exactly half-way; x +- 1 around it too.
      const int e = -shift;
      if (e >= 1 && e <= 29) {
        const std::int64_t k = random.uniform_int(-(1 << 20), 1 << 20) >> (e > 10 ? e - 10 : 0);
        const std::int64_t tie = 2 * (k * (std::int64_t{1} << e) + (std::int64_t{1} << (e - 1)));
        if (tie > kMin + 2 && tie < kMax - 2) {
          for (std::int64_t d = -1; d <= 1; ++d) {
            checker.check(static_cast<std::int32_t>(tie + d), {1 << 30, shift}, offset);
            checker.check(static_cast<std::int32_t>(-(tie + d)), {1 << 30, shift}, offset);
          }
        }
      }
    }
  }
  MESSAGE("rescale inputs checked: " << checker.checked);
  CHECK(checker.mismatches == 0);
  CHECK(checker.checked > 62 * kRescaleRandomPerShift);
}

TEST_CASE("arm::requantize4 equals quant::requantize on each lane") {
  // Four outputs at a time with prepared fast multipliers (on DSP cores an asm block).
  Xorshift32 random(0xDEC0DE02u);
  int mismatches = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::int32_t zero_point = random.uniform_int(-128, 127);
    const std::int32_t low = random.uniform_int(-128, 127);
    const quant::ActivationRange range{low, random.uniform_int(low, 127)};
    const auto out = kernels::arm::OutputRange::of(zero_point, range);
    std::array<quant::QuantizedMultiplier, 4> multipliers{};
    std::array<kernels::arm::FastRescale, 4> prepared{};
    std::array<std::int32_t, 4> acc{};
    for (std::size_t k = 0; k < 4; ++k) {
      const std::int32_t mantissa =
          random.next() % 4u != 0u
              ? static_cast<std::int32_t>(0x4000'0000u | (random.next() & 0x3FFF'FFFFu))
              : random.next_int32();
      multipliers[k] = {mantissa, random.uniform_int(-23, -2)};
      prepared[k] = kernels::arm::make_fast_rescale(multipliers[k], zero_point);
      acc[k] = random.next_int32() >> (random.next() % 32u);
    }
    const std::int32_t packed =
        kernels::arm::requantize4(acc[0], acc[1], acc[2], acc[3], prepared.data(), out);
    std::array<std::int8_t, 4> lanes{};
    kernels::arm::dsp::store_quad(lanes.data(), packed);
    for (std::size_t k = 0; k < 4; ++k) {
      mismatches +=
          lanes[k] != quant::requantize(acc[k], multipliers[k], zero_point, range) ? 1 : 0;
    }
  }
  CHECK(mismatches == 0);
}

// The doubled form (arm/requantize_doubled.hpp): from a = 2x, multiply_by_quantized_multiplier
// of x plus the zero point, for every shift it takes and accumulators |x| < 2^30.
struct DoubledChecker {
  long checked = 0;
  long mismatches = 0;

  void check(std::int32_t x, quant::QuantizedMultiplier q, std::int32_t zero_point) {
    const std::int32_t expected =
        quant::multiply_by_quantized_multiplier(x, q.multiplier, q.shift) + zero_point;
    const std::int32_t actual = kernels::arm::rescale_doubled(
        2 * x, kernels::arm::make_doubled_rescale(q, 0, 0, zero_point));
    ++checked;
    if (actual != expected || !kernels::arm::doubled_fast(q, 0, 0)) {
      if (mismatches < 5) {
        MESSAGE("x=" << x << " multiplier=" << q.multiplier << " shift=" << q.shift
                     << " zero_point=" << zero_point << " expected=" << expected
                     << " actual=" << actual);
      }
      ++mismatches;
    }
  }
};

TEST_CASE("arm::rescale_doubled equals multiply_by_quantized_multiplier for shifts -22 .. -1") {
  constexpr std::int32_t kLargest = (1 << 30) - 1;  // |x| < 2^30
  constexpr std::array<std::int32_t, 14> kEdges = {
      0,        1,         -1,           2,       -2,         3,     -3,
      kLargest, -kLargest, kLargest - 1, 1 << 29, -(1 << 29), 12345, -12345};
  constexpr std::array<std::int32_t, 4> kMantissas = {1 << 30, (1 << 30) + 1, 0x7FFF'FFFF,
                                                      0x5A5A'5A5A};
  DoubledChecker checker;
  Xorshift32 random(0xD0B1'ED01u);
  for (int shift = -22; shift <= -1; ++shift) {
    for (const std::int32_t x : kEdges) {
      for (const std::int32_t m : kMantissas) {
        checker.check(x, {m, shift}, 0);
        checker.check(x, {m, shift}, -128);
        checker.check(x, {m, shift}, 127);
      }
    }
    for (int i = 0; i < kRescaleRandomPerShift; ++i) {
      const auto magnitude = static_cast<int>(random.next() % 30u) + 2;
      const std::int32_t x = random.next_int32() >> magnitude;  // |x| <= 2^29
      const auto m = static_cast<std::int32_t>(0x4000'0000u | (random.next() & 0x3FFF'FFFFu));
      const std::int32_t zero_point = random.uniform_int(-128, 127);
      checker.check(x, {m, shift}, zero_point);
      // Ties of the division by 2^e (m = 2^30: the high multiply is x / 2 rounded), and of
      // the high multiply itself (x odd), on both sides of zero.
      const int e = -shift;
      const std::int64_t k = random.uniform_int(-(1 << 20), 1 << 20) >> (e > 8 ? e - 8 : 0);
      const std::int64_t tie = 2 * (k * (std::int64_t{1} << e) + (std::int64_t{1} << (e - 1)));
      for (std::int64_t d = -1; d <= 1; ++d) {
        checker.check(static_cast<std::int32_t>(tie + d), {1 << 30, shift}, zero_point);
        checker.check(static_cast<std::int32_t>(-(tie + d)), {1 << 30, shift}, zero_point);
      }
    }
  }
  MESSAGE("doubled rescale inputs checked: " << checker.checked);
  CHECK(checker.mismatches == 0);
  CHECK(checker.checked > 22 * kRescaleRandomPerShift);
}

TEST_CASE("arm::doubled_fast: the shifts, mantissas and biases the doubled form covers") {
  using kernels::arm::doubled_fast;
  constexpr quant::QuantizedMultiplier kTypical{1 << 30, -8};
  CHECK(doubled_fast({1 << 30, -1}, 0, 9));
  CHECK(doubled_fast({1 << 30, -22}, 0, 9));
  CHECK_FALSE(doubled_fast({1 << 30, 0}, 0, 9));
  CHECK_FALSE(doubled_fast({1 << 30, -23}, 0, 9));
  CHECK_FALSE(doubled_fast({0, -8}, 0, 9));
  CHECK_FALSE(doubled_fast({-(1 << 30), -8}, 0, 9));
  // |bias| <= 2^30 - 1 - 2^15 K: then 2 * (bias + K products) fits in int32.
  constexpr std::int32_t kLimit = (1 << 30) - 1 - (1 << 15) * 9;
  CHECK(doubled_fast(kTypical, kLimit, 9));
  CHECK(doubled_fast(kTypical, -kLimit, 9));
  CHECK_FALSE(doubled_fast(kTypical, kLimit + 1, 9));
  CHECK_FALSE(doubled_fast(kTypical, -kLimit - 1, 9));
  CHECK_FALSE(doubled_fast(kTypical, std::numeric_limits<std::int32_t>::min(), 9));
  // A channel that is not doubled_fast gets the stand-in (its outputs are computed again).
  const auto stand_in = kernels::arm::make_doubled_rescale(kTypical, kLimit + 1, 9, 5);
  CHECK(stand_in.multiplier == 0);
}

TEST_CASE("arm::requantize4_doubled equals quant::requantize on each lane") {
  Xorshift32 random(0xD0B1'ED02u);
  int mismatches = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::int32_t zero_point = random.uniform_int(-128, 127);
    const std::int32_t low = random.uniform_int(-128, 127);
    const quant::ActivationRange range{low, random.uniform_int(low, 127)};
    const auto out = kernels::arm::OutputRange::of(zero_point, range);
    std::array<quant::QuantizedMultiplier, 4> multipliers{};
    std::array<kernels::arm::DoubledRescale, 4> prepared{};
    std::array<std::int32_t, 4> acc{};
    for (std::size_t k = 0; k < 4; ++k) {
      multipliers[k] = {static_cast<std::int32_t>(0x4000'0000u | (random.next() & 0x3FFF'FFFFu)),
                        random.uniform_int(-22, -1)};
      prepared[k] = kernels::arm::make_doubled_rescale(multipliers[k], 0, 0, zero_point);
      acc[k] = random.next_int32() >> (random.next() % 30u + 2u);
    }
    const std::int32_t packed = kernels::arm::requantize4_doubled(
        2 * acc[0], 2 * acc[1], 2 * acc[2], 2 * acc[3], prepared.data(), out);
    std::array<std::int8_t, 4> lanes{};
    kernels::arm::dsp::store_quad(lanes.data(), packed);
    for (std::size_t k = 0; k < 4; ++k) {
      mismatches +=
          lanes[k] != quant::requantize(acc[k], multipliers[k], zero_point, range) ? 1 : 0;
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("arm::clamp_pack4 packs four clamped outputs in lane order") {
  const auto range = kernels::arm::OutputRange::of(0, {-20, 100});
  const std::int32_t packed = kernels::arm::clamp_pack4(-1000, 50, 1000, -20, range);
  std::array<std::int8_t, 4> lanes{};
  kernels::arm::dsp::store_quad(lanes.data(), packed);
  CHECK(lanes[0] == -20);
  CHECK(lanes[1] == 50);
  CHECK(lanes[2] == 100);
  CHECK(lanes[3] == -20);
}

#if MICROTL_USE_MVE_KERNELS
TEST_CASE("mve::requantize4 equals quant::requantize on each lane, for every shift") {
  // The Helium output stage (mve/requantize.hpp): VSHL, VQRDMULH, the sign fixup, VRSHL, the
  // zero point and the clamp, lane by lane, against the scalar reference (Rounding::twice).
  constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
  constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
  constexpr std::array<std::int32_t, 12> kEdges = {
      0, 1, -1, 2, -2, kMin, kMax, kMin + 1, kMax - 1, 1 << 30, -(1 << 30), -12345};
  Xorshift32 random(0x3E1'1EAFu);
  long checked = 0;
  long mismatches = 0;
  const auto check = [&](const std::array<std::int32_t, 4>& acc,
                         const std::array<quant::QuantizedMultiplier, 4>& q,
                         std::int32_t zero_point, quant::ActivationRange range) {
    std::array<std::int32_t, 4> multiplier{};
    std::array<std::int32_t, 4> left{};
    std::array<std::int32_t, 4> right_neg{};
    for (std::size_t k = 0; k < 4; ++k) {
      const auto f = kernels::mve::rescale_fields(q[k]);
      multiplier[k] = f.multiplier;
      left[k] = f.left;
      right_neg[k] = f.right_neg;
    }
    const int32x4_t codes = kernels::mve::requantize4(
        vldrwq_s32(acc.data()), vldrwq_s32(multiplier.data()), vldrwq_s32(left.data()),
        vldrwq_s32(right_neg.data()), kernels::mve::OutputVectors::of(zero_point, range));
    std::array<std::int32_t, 4> lanes{};
    vstrwq_s32(lanes.data(), codes);
    for (std::size_t k = 0; k < 4; ++k) {
      ++checked;
      const std::int8_t expected = quant::requantize(acc[k], q[k], zero_point, range);
      if (lanes[k] != expected) {
        if (mismatches < 5) {
          MESSAGE("acc=" << acc[k] << " multiplier=" << q[k].multiplier << " shift=" << q[k].shift
                         << " zero_point=" << zero_point << " expected=" << int{expected}
                         << " actual=" << lanes[k]);
        }
        ++mismatches;
      }
    }
  };
  for (int shift = -31; shift <= 30; ++shift) {
    for (const std::int32_t x : kEdges) {
      for (const std::int32_t m : kEdges) {
        check({x, -x, x / 3, x ^ 1}, {{{m, shift}, {m, shift}, {m, shift}, {m, shift}}}, 0,
              {-128, 127});
      }
    }
    for (int i = 0; i < 2000; ++i) {
      std::array<std::int32_t, 4> acc{};
      std::array<quant::QuantizedMultiplier, 4> q{};
      for (std::size_t k = 0; k < 4; ++k) {
        acc[k] = random.next_int32() >> (random.next() % 32u);
        const std::int32_t mantissa =
            random.next() % 4u != 0u
                ? static_cast<std::int32_t>(0x4000'0000u | (random.next() & 0x3FFF'FFFFu))
                : random.next_int32();
        // Lane 0 takes the loop's shift, the others any: per-channel multipliers.
        q[k] = {mantissa, k == 0 ? shift : random.uniform_int(-31, 30)};
      }
      // Ties of the division by 2^e in lane 1: multiplier 2^30 halves, x = 2 (k 2^e + 2^(e-1)).
      const int e = -shift;
      if (e >= 1 && e <= 29) {
        const std::int64_t k = random.uniform_int(-(1 << 20), 1 << 20) >> (e > 10 ? e - 10 : 0);
        const std::int64_t tie = 2 * (k * (std::int64_t{1} << e) + (std::int64_t{1} << (e - 1)));
        if (tie > kMin + 2 && tie < kMax - 2) {
          acc[1] = static_cast<std::int32_t>(tie);
          q[1] = {1 << 30, shift};
        }
      }
      const std::int32_t zero_point = random.uniform_int(-128, 127);
      const std::int32_t low = random.uniform_int(-128, 127);
      check(acc, q, zero_point, {low, random.uniform_int(low, 127)});
    }
  }
  MESSAGE("lanes checked: " << checked);
  CHECK(mismatches == 0);
  CHECK(checked > 62L * 2000 * 4);
}
#endif

// ---------------------------------------------------------------------------------------
// Fully connected.
// ---------------------------------------------------------------------------------------

template <std::size_t In, std::size_t Out>
void check_fully_connected(std::uint32_t seed) {
  CAPTURE(In);
  CAPTURE(Out);
  CHECK(dispatches_as_configured(&kernels::fully_connected_s8<In, Out>,
                                 &kernels::portable::fully_connected_s8<In, Out>,
                                 &fast::fully_connected_s8<In, Out>));
  compare_on_variants<In, In * Out, Out, Out>(seed, In, [](auto& p, auto& expected, auto& actual) {
    kernels::portable::fully_connected_s8<In, Out>(p.input, p.weights, p.bias, expected, p.params);
    fast::fully_connected_s8<In, Out>(p.input, p.weights, p.bias, actual, p.params);
  });
#if MICROTL_USE_MVE_KERNELS
  // The Helium kernel also rounds once (TFLite 2.x's FULLY_CONNECTED, Dense<.., once>).
  compare_on_variants<In, In * Out, Out, Out>(
      seed ^ 0x5EEDu, In, [](auto& p, auto& expected, auto& actual) {
        constexpr auto kOnce = quant::Rounding::once;
        kernels::portable::fully_connected_s8<In, Out, kOnce>(p.input, p.weights, p.bias, expected,
                                                              p.params);
        kernels::mve::fully_connected_s8<In, Out, kOnce>(p.input, p.weights, p.bias, actual,
                                                         p.params);
      });
#endif
}

TEST_CASE("arm::fully_connected_s8 (mve:: on Helium cores) equals the portable kernel") {
  MESSAGE("DSP instructions: " << doctest::String(kRealDspInstructions ? "real"
                                                                       : "emulated (dsp.hpp)"));
  check_fully_connected<1, 1>(0x100u);
  check_fully_connected<3, 2>(0x200u);
  check_fully_connected<7, 5>(0x300u);
  check_fully_connected<8, 4>(0x400u);
  check_fully_connected<13, 9>(0x500u);
  check_fully_connected<31, 4>(0x600u);
  check_fully_connected<64, 17>(0x700u);
  check_fully_connected<129, 7>(0x800u);
  check_fully_connected<256, 8>(0x900u);
  // Rows more than 4095 / 3 bytes apart: the register-stride form of the inner loop.
  check_fully_connected<1400, 5>(0xA00u);
}

#if MICROTL_USE_MVE_KERNELS
TEST_CASE(
    "mve::fully_connected_s8 rounds once where asked, on ties that tell the roundings apart") {
  // Multiplier 1/4 (2^30, shift -1) and small accumulators: a quarter of them end in a tie,
  // where rounding once (ties up) and twice (ties away from zero) differ for negative values.
  // The random variants above almost never tie; this data makes the once/twice check bite.
  constexpr std::size_t kIn = 21;
  constexpr std::size_t kOut = 7;
  Xorshift32 random(0x0DDBA11u);
  std::array<std::int8_t, kIn> input{};
  std::array<std::int8_t, kIn * kOut> weights{};
  std::array<std::int32_t, kOut> bias{};
  microtl_test::fill_int8s(input, random, -3, 3);
  microtl_test::fill_int8s(weights, random, -3, 3);
  for (auto& b : bias) {
    b = random.uniform_int(-40, 40);
  }
  const kernels::FullyConnectedParams<kOut> params{
      1, -2, {-128, 127}, quant::QuantizedMultiplier{1 << 30, -1}};
  constexpr auto kOnce = quant::Rounding::once;
  std::array<std::int8_t, kOut> once{};
  std::array<std::int8_t, kOut> twice{};
  std::array<std::int8_t, kOut> actual{};
  int ties = 0;
  for (int round = 0; round < 50; ++round) {
    microtl_test::fill_int8s(input, random, -3, 3);
    kernels::portable::fully_connected_s8<kIn, kOut, kOnce>(input, weights, bias, once, params);
    kernels::portable::fully_connected_s8<kIn, kOut>(input, weights, bias, twice, params);
    kernels::mve::fully_connected_s8<kIn, kOut, kOnce>(input, weights, bias, actual, params);
    CHECK(actual == once);
    for (std::size_t o = 0; o < kOut; ++o) {
      ties += once[o] != twice[o] ? 1 : 0;
    }
  }
  MESSAGE("outputs where the roundings differ: " << ties);
  CHECK(ties > 10);
}
#endif

// ---------------------------------------------------------------------------------------
// Depthwise convolution.
// ---------------------------------------------------------------------------------------

template <std::size_t H, std::size_t W, std::size_t C, std::size_t KH, std::size_t KW,
          std::size_t Stride, Padding Pad, std::size_t M>
void check_depthwise(std::uint32_t seed) {
  constexpr std::size_t kOutputs = kernels::output_elements(H, W, KH, KW, Stride, Pad, C * M);
  CAPTURE(H);
  CAPTURE(W);
  CAPTURE(C);
  CAPTURE(KH);
  CAPTURE(KW);
  CAPTURE(Stride);
  CAPTURE(Pad == Padding::same);
  CAPTURE(M);
  CHECK(dispatches_as_configured(
      &kernels::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>,
      &kernels::portable::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>,
      &fast::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>));
  compare_on_variants<H * W * C, KH * KW * C * M, C * M, kOutputs>(
      seed, KH * KW, [](auto& p, auto& expected, auto& actual) {
        kernels::portable::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>(
            p.input, p.weights, p.bias, expected, p.params);
        fast::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>(p.input, p.weights, p.bias, actual,
                                                                 p.params);
      });
}

TEST_CASE("arm::depthwise_conv_s8 (mve:: on Helium cores) equals the portable kernel") {
  check_depthwise<14, 14, 16, 3, 3, 1, Padding::same, 1>(0x4000u);  // the benchmark's
  check_depthwise<7, 7, 6, 3, 3, 2, Padding::same, 1>(0x4100u);     // C % 4 == 2
  check_depthwise<5, 5, 3, 3, 3, 1, Padding::valid, 1>(0x4200u);    // C < 4
  check_depthwise<6, 6, 8, 3, 3, 1, Padding::same, 2>(0x4300u);     // multiplier 2
  check_depthwise<5, 4, 4, 5, 5, 1, Padding::same, 1>(0x4400u);     // kernel > input
  check_depthwise<4, 4, 4, 1, 1, 1, Padding::valid, 1>(0x4500u);
  check_depthwise<9, 9, 12, 3, 3, 2, Padding::valid, 1>(0x4600u);
  check_depthwise<6, 7, 9, 2, 3, 1, Padding::same, 1>(0x4700u);
  check_depthwise<3, 3, 5, 3, 3, 1, Padding::same, 3>(0x4800u);
  check_depthwise<3, 2, 4, 3, 5, 1, Padding::same, 1>(0x4900u);  // no window inside the input
}

}  // namespace
