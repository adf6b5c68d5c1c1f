// What the layer tests share: running a bound layer by itself, and the finite-difference check
// of a parameterless layer's backward pass.
//
// For y = f(x) and a fixed "upstream gradient" u, the scalar L = sum_k u_k y_k has
// dL/dx = backward(u). Each element of it is compared with the central difference
//   (L(x + eps e_i) - L(x - eps e_i)) / (2 eps).
// Float arithmetic limits the agreement to about 1e-3 relative; a wrong index, a missing term
// or a wrong sign is off by O(1).
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../support/random.hpp"
#include "microtl/layers/contract.hpp"
#include "microtl/layers/layer.hpp"

namespace microtl_test {

// Runs the bound, parameterless layer L forward on `in`.
template <class L>
microtl::quant_info_t<typename L::output_element> run_layer(
    const microtl::storage_t<typename L::input_element>* in,
    microtl::quant_info_t<typename L::input_element> q,
    microtl::storage_t<typename L::output_element>* out) {
  return L::forward(microtl::NoParams{}, microtl::input_view_t<L>::unchecked(in), q,
                    microtl::output_view_t<L>::unchecked(out), std::span<std::byte>());
}

// Runs L's backward (with the input gradient) for the forward pass x -> y.
template <class L>
void run_backward(const microtl::storage_t<typename L::input_element>* x,
                  microtl::quant_info_t<typename L::input_element> x_quant,
                  const microtl::storage_t<typename L::output_element>* y,
                  microtl::quant_info_t<typename L::output_element> y_quant, float* dy, float* dx) {
  using namespace microtl;
  const ForwardRecord<L> record{
      input_view_t<L>::unchecked(x),
      x_quant,
      TensorView<const storage_t<typename L::output_element>, typename L::output_shape>::unchecked(
          y),
      y_quant,
      {}};
  L::template backward<true>(
      NoParams{}, record, TensorView<float, typename L::output_shape>::unchecked(dy),
      TensorView<float, typename L::input_shape>::unchecked(dx), NoGradients{});
}

// The number of elements of dL/dx where backward and the central difference disagree.
template <class L>
int gradient_mismatches(const std::array<float, L::input_shape::size>& x,
                        const std::array<float, L::output_shape::size>& u, float eps = 1e-2f) {
  constexpr std::size_t n_in = L::input_shape::size;
  constexpr std::size_t n_out = L::output_shape::size;
  const auto loss = [&u](const std::array<float, n_in>& input) {
    std::array<float, n_out> y{};
    (void)run_layer<L>(input.data(), microtl::NoQuant{}, y.data());
    float sum = 0.0f;
    for (std::size_t k = 0; k < n_out; ++k) {
      sum += u[k] * y[k];
    }
    return sum;
  };
  std::array<float, n_out> y{};
  (void)run_layer<L>(x.data(), microtl::NoQuant{}, y.data());
  std::array<float, n_out> dy = u;
  std::array<float, n_in> dx{};
  run_backward<L>(x.data(), microtl::NoQuant{}, y.data(), microtl::NoQuant{}, dy.data(), dx.data());
  int mismatches = 0;
  for (std::size_t i = 0; i < n_in; ++i) {
    auto plus = x;
    auto minus = x;
    plus[i] += eps;
    minus[i] -= eps;
    const float numeric = (loss(plus) - loss(minus)) / (2.0f * eps);
    const float scale = std::fabs(dx[i]) > 1.0f ? std::fabs(dx[i]) : 1.0f;
    if (std::fabs(dx[i] - numeric) > 2e-3f * scale) {
      ++mismatches;
      MESSAGE(doctest::String(L::name)
              << ": dx[" << i << "] analytic " << dx[i] << " numeric " << numeric);
    }
  }
  return mismatches;
}

// n distinct values spread evenly over [low, high), (high - low) / n apart, in random order:
// a step of eps never changes which element of a window is the largest (random values would
// now and then be closer than that, and a max pool's difference quotient would then mix two
// elements' slopes).
template <std::size_t N>
std::array<float, N> shuffled_grid(Xorshift32& rng, float low, float high) {
  std::array<float, N> a{};
  for (std::size_t i = 0; i < N; ++i) {
    a[i] = low + (high - low) * (static_cast<float>(i) + 0.5f) / static_cast<float>(N);
  }
  for (std::size_t i = N - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(rng.next() % static_cast<std::uint32_t>(i + 1));
    const float t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

// The same with x a shuffled grid over [low, high) and u random in [-1, 1).
template <class L>
int random_gradient_mismatches(std::uint32_t seed, float low = -1.0f, float high = 1.0f) {
  Xorshift32 rng(seed);
  const auto x = shuffled_grid<L::input_shape::size>(rng, low, high);
  const auto u = random_floats<L::output_shape::size>(rng, -1.0f, 1.0f);
  return gradient_mismatches<L>(x, u);
}

}  // namespace microtl_test
