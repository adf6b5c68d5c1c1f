// One- and two-step updates of each optimizer, against values worked out by hand.
#include <doctest/doctest.h>

#include <array>
#include <span>

#include "microtl/train/optimizer.hpp"

using namespace microtl;

namespace {
bool near(float a, double b) {
  return static_cast<double>(a) == doctest::Approx(b).epsilon(1e-6);
}
}  // namespace

TEST_CASE("SGD: p -= lr * (g * scale + wd * p)") {
  SGD sgd{0.1f, 0.01f};
  std::array<float, 2> p{1.0f, -2.0f};
  const std::array<float, 2> g{1.0f, 0.5f};
  // scale 0.5 (a batch of two): p0 = 1 - 0.1 (0.5 + 0.01) = 0.949; p1 = -2 - 0.1 (0.25 - 0.02) =
  // -2.023
  sgd.update(p, g, {}, 0.5f, sgd.begin_step());
  CHECK(near(p[0], 0.949));
  CHECK(near(p[1], -2.023));
}

TEST_CASE("SGD with momentum and weight decay: two steps by hand") {
  SGDMomentum opt{0.1f, 0.9f, 0.01f};
  std::array<float, 2> p{1.0f, -2.0f};
  std::array<float, 2> v{};
  const std::array<float, 2> g{0.5f, 0.25f};
  // Step 1: g' = g + 0.01 p = (0.51, 0.23); v = g'; p -= 0.1 v -> (0.949, -2.023)
  opt.update(p, g, v, 1.0f, opt.begin_step());
  CHECK(near(v[0], 0.51));
  CHECK(near(v[1], 0.23));
  CHECK(near(p[0], 0.949));
  CHECK(near(p[1], -2.023));
  // Step 2: g' = (0.5 + 0.00949, 0.25 - 0.02023) = (0.50949, 0.22977)
  //         v = 0.9 v + g' = (0.96849, 0.43677);  p -= 0.1 v -> (0.852151, -2.066677)
  opt.update(p, g, v, 1.0f, opt.begin_step());
  CHECK(near(v[0], 0.96849));
  CHECK(near(v[1], 0.43677));
  CHECK(near(p[0], 0.852151));
  CHECK(near(p[1], -2.066677));
}

TEST_CASE("Adam: bias-corrected steps by hand") {
  Adam adam{0.01f, 0.9f, 0.999f, 1e-8f, 0.0f};
  std::array<float, 2> p{1.0f, -1.0f};
  std::array<float, 4> state{};  // m then v
  const std::array<float, 2> g{0.2f, -0.5f};
  // Step 1: m = 0.1 g = (0.02, -0.05); v = 0.001 g^2 = (4e-5, 2.5e-4)
  //   m_hat = m / 0.1 = g; v_hat = v / 0.001 = g^2; p -= 0.01 g / |g| -> (0.99, -0.99)
  adam.update(p, g, state, 1.0f, adam.begin_step());
  CHECK(near(state[0], 0.02));
  CHECK(near(state[1], -0.05));
  CHECK(near(state[2], 4e-5));
  CHECK(near(state[3], 2.5e-4));
  CHECK(near(p[0], 0.99));
  CHECK(near(p[1], -0.99));
  // Step 2, same gradient: m = 0.9 m + 0.1 g = (0.038, -0.095), m_hat = m / 0.19 = g again;
  // v_hat = g^2 again, so the step is lr * sign(g) once more -> (0.98, -0.98).
  adam.update(p, g, state, 1.0f, adam.begin_step());
  CHECK(near(state[0], 0.038));
  CHECK(near(state[1], -0.095));
  CHECK(static_cast<double>(p[0]) == doctest::Approx(0.98).epsilon(1e-5));
  CHECK(static_cast<double>(p[1]) == doctest::Approx(-0.98).epsilon(1e-5));
}

TEST_CASE("Adam with weight decay adds wd * p to the gradient") {
  Adam adam{0.01f, 0.9f, 0.999f, 1e-8f, 0.5f};
  std::array<float, 1> p{2.0f};
  std::array<float, 2> state{};
  const std::array<float, 1> g{0.0f};
  // g' = 0 + 0.5 * 2 = 1: the first step moves p by lr in the direction of -g': 1.99
  adam.update(p, g, state, 1.0f, adam.begin_step());
  CHECK(static_cast<double>(p[0]) == doctest::Approx(1.99).epsilon(1e-6));
}
