// The MLP 4 -> 5 (ReLU) -> 3 of the guard tests (test_guard.cpp, test_guard_invariant.cpp):
// its parameters, a normal sample, and the two comparisons the tests make of two models.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../support/random.hpp"
#include "microtl/microtl.hpp"

namespace microtl_test::guard_mlp {

using namespace microtl;

using Mlp = Sequential<Input<Shape<4>>, Trainable<Dense<5>>, ReLU, Trainable<Dense<3>>>;

// Parameters drawn from `seed`: first layer in [-1, 1), biases in [0.1, 0.5), second layer in
// [-w2_scale, w2_scale), second bias zero. Keep it in static storage: models refer to it.
struct Init {
  std::array<float, 20> w1{};
  std::array<float, 5> b1{};
  std::array<float, 15> w2{};
  std::array<float, 3> b2{};
  LinearParams<float, 20, 5> p1{w1, b1};
  LinearParams<float, 15, 3> p2{w2, b2};
  explicit Init(std::uint32_t seed, float w2_scale = 1.0f) {
    Xorshift32 rng(seed);
    fill_floats(w1, rng, -1, 1);
    fill_floats(b1, rng, 0.1f, 0.5f);
    fill_floats(w2, rng, -w2_scale, w2_scale);
  }
};

inline const std::array<float, 4> normal_sample{0.5f, -0.25f, 1.0f, 0.75f};

// Both layers' trained values bit for bit.
inline bool same_bits(const Mlp& a, const Mlp& b) {
  const auto same = [](const auto& x, const auto& y) {
    return std::memcmp(x.data(), y.data(), sizeof(x)) == 0;
  };
  return same(a.state<0>().weights, b.state<0>().weights) &&
         same(a.state<0>().bias, b.state<0>().bias) &&
         same(a.state<1>().weights, b.state<1>().weights) &&
         same(a.state<1>().bias, b.state<1>().bias);
}

// The L2 distance between the trained values of two models, in double.
inline double distance(const Mlp& a, const Mlp& b) {
  double squares = 0;
  const auto add = [&squares](const auto& x, const auto& y) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      squares += std::pow(double(x[i]) - double(y[i]), 2);
    }
  };
  add(a.state<0>().weights, b.state<0>().weights);
  add(a.state<0>().bias, b.state<0>().bias);
  add(a.state<1>().weights, b.state<1>().weights);
  add(a.state<1>().bias, b.state<1>().bias);
  return std::sqrt(squares);
}

}  // namespace microtl_test::guard_mlp
