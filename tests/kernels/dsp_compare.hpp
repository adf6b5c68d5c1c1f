// The comparison of the Cortex-M DSP kernels (kernels/arm/) with the portable reference
// kernels (kernels/portable/) on random data: parameter variants, the random problem of one
// run, and the loop that runs both kernels on every variant and counts differing outputs.
// Used by test_dsp_kernels.cpp and test_dsp_convolve.cpp (see the former for where the
// comparison runs real DSP instructions and where their emulations).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <doctest/doctest.h>

#include "../support/random.hpp"
#include "microtl/config.hpp"
#include "microtl/kernels/params.hpp"
#include "microtl/quant/activation.hpp"
#include "microtl/quant/multiplier.hpp"

namespace microtl_test::dsp_compare {

namespace kernels = microtl::kernels;
namespace quant = microtl::quant;

// The parameter sets every shape is run with. Kinds of multipliers and biases:
//   typical:   what calibration gives, outputs spread over the int8 range (shift ~ -8..-12)
//   extreme:   any mantissa (also negative) and shift in [-31, 3], including the exact
//              fallback of arm::rescale (shift >= -1)
//   huge_bias: biases up to the int32 accumulator's limit, on both sides of the bound of the
//              doubled accumulators (arm::doubled_fast), with multipliers of shift -21/-22
struct Variant {
  enum class Data { random, max_positive, max_negative } data;
  bool per_channel;
  enum class Parameters { typical, extreme, huge_bias } parameters;
  int input_offset;   // 1000: random in [-127, 128]
  int output_offset;  // 1000: random in [-128, 127]
  enum class Activation { none, relu, relu6, random } activation;
};

inline constexpr int kRandom = 1000;
using Parameters = Variant::Parameters;
inline constexpr std::array<Variant, 10> kVariants = {{
    {Variant::Data::random, true, Parameters::typical, 128, -20, Variant::Activation::relu},
    {Variant::Data::random, false, Parameters::typical, -127, 127, Variant::Activation::none},
    {Variant::Data::random, true, Parameters::typical, kRandom, -128, Variant::Activation::relu6},
    {Variant::Data::random, true, Parameters::extreme, kRandom, kRandom,
     Variant::Activation::random},
    {Variant::Data::random, false, Parameters::extreme, 0, 0, Variant::Activation::none},
    {Variant::Data::random, true, Parameters::typical, kRandom, kRandom,
     Variant::Activation::random},
    {Variant::Data::random, false, Parameters::typical, 128, 5, Variant::Activation::relu6},
    // The largest accumulators: (127 + 128) * -128 and (-128 - 127) * 127 on every tap.
    {Variant::Data::max_positive, true, Parameters::typical, 128, 3, Variant::Activation::none},
    {Variant::Data::max_negative, false, Parameters::typical, -127, -3, Variant::Activation::none},
    {Variant::Data::random, true, Parameters::huge_bias, kRandom, kRandom,
     Variant::Activation::none},
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
    microtl_test::Xorshift32 random(seed);
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
    // The bound of the doubled accumulators (arm::doubled_fast) and the int32 accumulator's
    // (every product is below 2^15 in magnitude).
    const std::int64_t all_products = (std::int64_t{1} << 15) * static_cast<std::int64_t>(taps);
    const auto doubled_limit =
        static_cast<std::int32_t>((std::int64_t{1} << 30) - 1 - all_products);
    const auto int32_limit = static_cast<std::int32_t>((std::int64_t{1} << 31) - 1 - all_products);
    for (std::size_t c = 0; c < Channels; ++c) {
      bias[c] = random.uniform_int(-bias_limit, bias_limit);
      if (v.parameters == Parameters::huge_bias && c % 3 != 2) {
        // Beyond the doubled bound (computed exactly), or just inside it.
        bias[c] = (random.next() % 2u == 0u ? 1 : -1) *
                  (c % 3 == 0 ? random.uniform_int(doubled_limit + 1, int32_limit)
                              : random.uniform_int(doubled_limit - 1000, doubled_limit));
        multipliers[c] = {static_cast<std::int32_t>(0x4000'0000u | (random.next() & 0x3FFF'FFFFu)),
                          random.uniform_int(-22, -21)};
      } else if (v.parameters == Parameters::extreme) {
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

// kernels::<op>_s8 must be the kernel under test (`fast`: the Helium one where
// MICROTL_USE_MVE_KERNELS and the op has one, else the arm one) on cores with the DSP extension
// (every Helium core has it), the portable one elsewhere. (Where it is the portable kernel,
// comparing its output with the portable kernel's would compare a function with itself.)
template <class Kernel>
inline bool dispatches_as_configured(Kernel* dispatched, Kernel* portable, Kernel* fast) {
  return dispatched == (MICROTL_USE_DSP_KERNELS != 0 ? fast : portable);
}

template <std::size_t N>
inline int count_differences(const std::array<std::int8_t, N>& a,
                             const std::array<std::int8_t, N>& b) {
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

}  // namespace microtl_test::dsp_compare
