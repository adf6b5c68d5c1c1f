// The comparison of tests/kernels/test_dsp_convolve*.cpp: the fast convolution (the Helium
// kernel where MICROTL_USE_MVE_KERNELS, else the DSP one) against the portable reference on
// random data, for every parameter variant of dsp_compare.hpp. Two files use it so that the
// many kernel instances of the shapes compile on both cores (the test was the longest single
// compilation of every preset: about 100 s under clang's sanitizers).
#pragma once

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

namespace microtl_test::dsp_convolve {

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

}  // namespace microtl_test::dsp_convolve
