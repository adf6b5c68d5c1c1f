// The Cortex-M DSP kernels (kernels/arm/) against the portable reference kernels
// (kernels/portable/): identical int8 outputs, bit for bit, on random data over many shapes
// and parameters; and the fast requantization against quant::multiply_by_quantized_multiplier.
//
// Where it runs matters:
//   - on the Cortex-M4F and M7 (QEMU), the arm kernels execute the real DSP instructions
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

#include "../support/random.hpp"
#include "microtl/kernels/arm/convolve.hpp"
#include "microtl/kernels/arm/depthwise_conv.hpp"
#include "microtl/kernels/arm/fully_connected.hpp"
#include "microtl/kernels/arm/requantize.hpp"
#include "microtl/kernels/convolve.hpp"
#include "microtl/kernels/depthwise_conv.hpp"
#include "microtl/kernels/fully_connected.hpp"
#include "microtl/quant/fixed_point.hpp"
#include "microtl/quant/multiplier.hpp"
#include "microtl/quant/requantize.hpp"

namespace {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;
using kernels::Padding;
using microtl_test::Xorshift32;

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

// ---------------------------------------------------------------------------------------
// Random tensors and parameters.
// ---------------------------------------------------------------------------------------

// The parameter sets every shape is run with. Kinds of multiplier:
//   typical:  what calibration gives, outputs spread over the int8 range (shift ~ -8..-12)
//   extreme:  any mantissa (also negative) and shift in [-31, 3], including the exact
//             fallback of arm::rescale (shift >= -1)
struct Variant {
  enum class Data { random, max_positive, max_negative } data;
  bool per_channel;
  bool extreme_multipliers;
  int input_offset;   // 1000: random in [-127, 128]
  int output_offset;  // 1000: random in [-128, 127]
  enum class Activation { none, relu, relu6, random } activation;
};

constexpr int kRandom = 1000;
constexpr std::array<Variant, 9> kVariants = {{
    {Variant::Data::random, true, false, 128, -20, Variant::Activation::relu},
    {Variant::Data::random, false, false, -127, 127, Variant::Activation::none},
    {Variant::Data::random, true, false, kRandom, -128, Variant::Activation::relu6},
    {Variant::Data::random, true, true, kRandom, kRandom, Variant::Activation::random},
    {Variant::Data::random, false, true, 0, 0, Variant::Activation::none},
    {Variant::Data::random, true, false, kRandom, kRandom, Variant::Activation::random},
    {Variant::Data::random, false, false, 128, 5, Variant::Activation::relu6},
    // The largest accumulators: (127 + 128) * -128 and (-128 - 127) * 127 on every tap.
    {Variant::Data::max_positive, true, false, 128, 3, Variant::Activation::none},
    {Variant::Data::max_negative, false, false, -127, -3, Variant::Activation::none},
}};

// Inputs, weights, biases, multipliers and params of one run.
template <std::size_t InputSize, std::size_t WeightSize, std::size_t Channels>
struct Problem {
  std::array<std::int8_t, InputSize> input{};
  std::array<std::int8_t, WeightSize> weights{};
  std::array<std::int32_t, Channels> bias{};
  std::array<quant::QuantizedMultiplier, Channels> multipliers{};
  kernels::RequantizedOpParams<Channels> params{0, 0, {-128, 127}, multipliers};

  // `taps`: the products summed into one output (sets the scale of typical multipliers).
  void generate(const Variant& v, std::uint32_t seed, std::size_t taps) {
    Xorshift32 random(seed);
    switch (v.data) {
      case Variant::Data::random:
        microtl_test::fill_int8s(input, random, -128, 127);
        microtl_test::fill_int8s(weights, random, -128, 127);
        break;
      case Variant::Data::max_positive:
        input.fill(127);
        weights.fill(-128);
        break;
      case Variant::Data::max_negative:
        input.fill(-128);
        weights.fill(127);
        break;
    }
    // An accumulator over `taps` random products has a spread of ~sqrt(taps) * 74 * 147.
    double spread = 74.0 * 147.0;
    for (std::size_t t = 1; t < taps; t *= 4) {
      spread *= 2.0;
    }
    const auto bias_limit = static_cast<std::int32_t>(spread);
    for (std::size_t c = 0; c < Channels; ++c) {
      bias[c] = random.uniform_int(-bias_limit, bias_limit);
      if (v.extreme_multipliers) {
        const std::int32_t mantissa =
            random.next() % 5u != 0u
                ? static_cast<std::int32_t>(0x4000'0000u | (random.next() & 0x3FFF'FFFFu))
                : random.next_int32();
        multipliers[c] = {mantissa, random.uniform_int(-31, 3)};
      } else {
        const double scale = 0.5 + 1.5 * static_cast<double>(random.next() % 1000u) / 1000.0;
        multipliers[c] = quant::quantize_multiplier(40.0 * scale / spread);
      }
    }
    if (!v.per_channel) {
      params.multipliers = multipliers[0];
    } else {
      params.multipliers = multipliers;
    }
    params.input_offset =
        v.input_offset == kRandom ? random.uniform_int(-127, 128) : v.input_offset;
    params.output_offset =
        v.output_offset == kRandom ? random.uniform_int(-128, 127) : v.output_offset;
    const std::int32_t zero = params.output_offset;
    switch (v.activation) {
      case Variant::Activation::none:
        params.activation = {-128, 127};
        break;
      case Variant::Activation::relu:
        params.activation = {zero, 127};
        break;
      case Variant::Activation::relu6:
        params.activation = {zero, zero + 40 < 127 ? zero + 40 : 127};
        break;
      case Variant::Activation::random: {
        const std::int32_t low = random.uniform_int(-128, 127);
        params.activation = {low, random.uniform_int(low, 127)};
        break;
      }
    }
  }
};

// kernels::<op>_s8 must be the kernel MICROTL_USE_DSP_KERNELS selects: the arm one on cores
// with the DSP extension, the portable one elsewhere. (Where it is the portable kernel,
// comparing its output with the portable kernel's would compare a function with itself.)
template <class Kernel>
bool dispatches_as_configured(Kernel* dispatched, Kernel* portable, Kernel* arm) {
  return dispatched == (MICROTL_USE_DSP_KERNELS != 0 ? arm : portable);
}

template <std::size_t N>
int count_differences(const std::array<std::int8_t, N>& a, const std::array<std::int8_t, N>& b) {
  int differences = 0;
  for (std::size_t i = 0; i < N; ++i) {
    differences += a[i] != b[i] ? 1 : 0;
  }
  return differences;
}

// Runs every parameter variant through the portable and the arm kernel:
// `run(p, expected, actual)` calls the portable kernel into `expected` and the arm one into
// `actual`, which must then be identical. `taps`: the products summed into one output.
template <std::size_t InputSize, std::size_t WeightSize, std::size_t Channels, std::size_t Outputs,
          class Run>
void compare_on_variants(std::uint32_t seed, std::size_t taps, Run run) {
  static Problem<InputSize, WeightSize, Channels> p;
  static std::array<std::int8_t, Outputs> expected;
  static std::array<std::int8_t, Outputs> actual;
  for (std::size_t v = 0; v < kVariants.size(); ++v) {
    CAPTURE(v);
    p.generate(kVariants[v], seed + static_cast<std::uint32_t>(v), taps);
    expected.fill(0);
    actual.fill(1);
    run(p, expected, actual);
    CHECK(count_differences(actual, expected) == 0);
  }
}

// ---------------------------------------------------------------------------------------
// Fully connected.
// ---------------------------------------------------------------------------------------

template <std::size_t In, std::size_t Out>
void check_fully_connected(std::uint32_t seed) {
  CAPTURE(In);
  CAPTURE(Out);
  CHECK(dispatches_as_configured(&kernels::fully_connected_s8<In, Out>,
                                 &kernels::portable::fully_connected_s8<In, Out>,
                                 &kernels::arm::fully_connected_s8<In, Out>));
  compare_on_variants<In, In * Out, Out, Out>(seed, In, [](auto& p, auto& expected, auto& actual) {
    kernels::portable::fully_connected_s8<In, Out>(p.input, p.weights, p.bias, expected, p.params);
    kernels::arm::fully_connected_s8<In, Out>(p.input, p.weights, p.bias, actual, p.params);
  });
}

TEST_CASE("arm::fully_connected_s8 equals the portable kernel") {
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

// ---------------------------------------------------------------------------------------
// Convolution.
// ---------------------------------------------------------------------------------------

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
      &kernels::arm::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>));
  compare_on_variants<H * W * Cin, Cout * KH * KW * Cin, Cout, kOutputs>(
      seed, KH * KW * Cin, [](auto& p, auto& expected, auto& actual) {
        kernels::portable::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>(
            p.input, p.weights, p.bias, expected, p.params);
        kernels::arm::convolve_s8<H, W, Cin, Cout, KH, KW, Stride, Pad>(p.input, p.weights, p.bias,
                                                                        actual, p.params);
      });
}

TEST_CASE("arm::convolve_s8 equals the portable kernel: one input channel") {
  // Stride 1, KW <= 3: two outputs per word; the benchmark's first layer.
  check_convolve<28, 28, 1, 8, 3, 3, 1, Padding::same>(0x1000u);
  check_convolve<6, 6, 1, 3, 3, 3, 1, Padding::valid>(0x1100u);
  check_convolve<7, 9, 1, 5, 3, 3, 1, Padding::same>(0x1200u);  // odd output width
  check_convolve<9, 8, 1, 4, 2, 2, 1, Padding::same>(0x1300u);
  check_convolve<5, 7, 1, 2, 1, 1, 1, Padding::valid>(0x1400u);
  check_convolve<4, 5, 1, 3, 3, 2, 1, Padding::same>(0x1500u);
  // Rows narrower than a word (assembled byte by byte).
  check_convolve<5, 3, 1, 2, 3, 3, 1, Padding::same>(0x1600u);
  check_convolve<4, 2, 1, 3, 2, 2, 1, Padding::valid>(0x1700u);
  // One output per word: stride 2, or KW == 4.
  check_convolve<7, 9, 1, 5, 3, 3, 2, Padding::same>(0x1800u);
  check_convolve<8, 8, 1, 3, 3, 3, 2, Padding::valid>(0x1900u);
  check_convolve<8, 10, 1, 3, 4, 4, 1, Padding::same>(0x1A00u);
  check_convolve<9, 11, 1, 2, 2, 4, 3, Padding::same>(0x1B00u);
  // KW > 4: the general path with Cin == 1.
  check_convolve<8, 8, 1, 2, 5, 5, 1, Padding::same>(0x1C00u);
}

TEST_CASE("arm::convolve_s8 equals the portable kernel: several input channels") {
  check_convolve<14, 14, 8, 16, 3, 3, 1, Padding::same>(0x2000u);  // the benchmark's second
  check_convolve<6, 6, 3, 5, 3, 3, 1, Padding::same>(0x2100u);
  check_convolve<7, 7, 8, 16, 3, 3, 2, Padding::same>(0x2200u);
  check_convolve<5, 5, 8, 4, 3, 3, 1, Padding::valid>(0x2300u);
  check_convolve<4, 6, 2, 3, 2, 3, 2, Padding::valid>(0x2400u);
  check_convolve<6, 5, 3, 7, 1, 1, 1, Padding::same>(0x2500u);
  check_convolve<5, 6, 5, 9, 5, 3, 2, Padding::same>(0x2600u);
  check_convolve<3, 3, 16, 4, 3, 3, 1, Padding::same>(0x2700u);
  check_convolve<3, 2, 2, 3, 3, 5, 1, Padding::same>(0x2900u);  // kernel wider than the input
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
      &kernels::arm::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>));
  compare_on_variants<Length * Cin, Cout * K * Cin, Cout, kOutputs>(
      seed, K * Cin, [](auto& p, auto& expected, auto& actual) {
        kernels::portable::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>(
            p.input, p.weights, p.bias, expected, p.params);
        kernels::arm::convolve_1d_s8<Length, Cin, Cout, K, Stride, Pad>(p.input, p.weights, p.bias,
                                                                        actual, p.params);
      });
}

TEST_CASE("arm::convolve_1d_s8 equals the portable kernel") {
  check_convolve_1d<12, 3, 5, 3, 1, Padding::same>(0x3000u);
  check_convolve_1d<10, 1, 4, 3, 2, Padding::valid>(0x3100u);
  check_convolve_1d<16, 1, 6, 3, 1, Padding::same>(0x3200u);
  check_convolve_1d<20, 8, 4, 5, 1, Padding::same>(0x3300u);
}

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
      &kernels::arm::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>));
  compare_on_variants<H * W * C, KH * KW * C * M, C * M, kOutputs>(
      seed, KH * KW, [](auto& p, auto& expected, auto& actual) {
        kernels::portable::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>(
            p.input, p.weights, p.bias, expected, p.params);
        kernels::arm::depthwise_conv_s8<H, W, C, KH, KW, Stride, Pad, M>(p.input, p.weights, p.bias,
                                                                         actual, p.params);
      });
}

TEST_CASE("arm::depthwise_conv_s8 equals the portable kernel") {
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
