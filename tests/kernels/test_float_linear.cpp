// The float dense kernels (kernels/float_linear.hpp; on FPU cores the VLDM/VFMA assembly of
// kernels/arm/float_linear.hpp):
//  - bit for bit against a plain loop written here with the kernels' stated arithmetic (one
//    multiply-add chain per output in a fixed order; fused, std::fma, where
//    MICROTL_FUSED_MULTIPLY_ADD, a multiply and an add elsewhere), for shapes with and without the
//    8-column and 4-row tails, and rows skipped for a zero gradient;
//  - within float rounding of a double-precision reference (the arithmetic itself);
//  - hand-computed values.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <span>

#include "../support/random.hpp"
#include "microtl/kernels/float_linear.hpp"

namespace {

namespace kernels = microtl::kernels;
using microtl::quant::Activation;

// The kernels' multiply-add, written independently of them.
float reference_mac(float acc, float a, float b) {
#if MICROTL_FUSED_MULTIPLY_ADD
  return std::fma(a, b, acc);
#else
  const float product = a * b;  // rounded on its own: no contraction into an fma
  return acc + product;
#endif
}

float activate(float v, Activation a) {
  if (a == Activation::none) {
    return v;
  }
  v = v > 0.0f ? v : 0.0f;
  return a == Activation::relu6 && v > 6.0f ? 6.0f : v;
}

template <std::size_t N>
bool same_bits(const std::array<float, N>& a, const std::array<float, N>& b) {
  return std::memcmp(a.data(), b.data(), sizeof(a)) == 0;
}

template <std::size_t In, std::size_t Out>
struct Case {
  std::array<float, In> x{};
  std::array<float, In * Out> w{};
  std::array<float, Out> b{};
  std::array<float, Out> g{};
  explicit Case(std::uint32_t seed) {
    microtl_test::Xorshift32 rng(seed);
    microtl_test::fill_floats(x, rng, -2.0f, 2.0f);
    microtl_test::fill_floats(w, rng, -1.0f, 1.0f);
    microtl_test::fill_floats(b, rng, -0.5f, 0.5f);
    microtl_test::fill_floats(g, rng, -1.0f, 1.0f);
    for (std::size_t o = 0; o < Out; o += 3) {
      g[o] = 0.0f;  // rows a ReLU switched off: skipped
    }
  }
};

template <std::size_t In, std::size_t Out>
void check_forward(std::uint32_t seed) {
  const Case<In, Out> c(seed);
  for (const Activation a : {Activation::none, Activation::relu, Activation::relu6}) {
    std::array<float, Out> y{};
    kernels::fully_connected_f32<In, Out>(c.x, c.w, c.b, y, a);
    std::array<float, Out> expected{};
    for (std::size_t o = 0; o < Out; ++o) {
      float acc = c.b[o];
      double exact = double(c.b[o]);
      double magnitude = std::fabs(double(c.b[o]));
      for (std::size_t i = 0; i < In; ++i) {
        acc = reference_mac(acc, c.w[o * In + i], c.x[i]);
        exact += double(c.w[o * In + i]) * double(c.x[i]);
        magnitude += std::fabs(double(c.w[o * In + i]) * double(c.x[i]));
      }
      expected[o] = activate(acc, a);
      CHECK(std::fabs(double(y[o]) - double(activate(float(exact), a))) <=
            1e-6 * (magnitude + 1.0));
    }
    CHECK(same_bits(y, expected));
  }
}

template <std::size_t In, std::size_t Out>
void check_input_grad(std::uint32_t seed) {
  const Case<In, Out> c(seed);
  std::array<float, In> dx{};
  dx.fill(123.0f);  // overwritten, not added to
  kernels::dense_input_grad_f32<In, Out>(c.w, c.g, dx);
  std::array<float, In> expected{};
  for (std::size_t i = 0; i < In; ++i) {
    float acc = 0.0f;
    double exact = 0.0;
    for (std::size_t o = 0; o < Out; ++o) {
      if (c.g[o] != 0.0f) {
        acc = reference_mac(acc, c.w[o * In + i], c.g[o]);
      }
      exact += double(c.w[o * In + i]) * double(c.g[o]);
    }
    expected[i] = acc;
    CHECK(std::fabs(double(dx[i]) - exact) <= 1e-5 * double(Out));
  }
  CHECK(same_bits(dx, expected));
}

template <std::size_t In, std::size_t Out>
void check_outer(std::uint32_t seed) {
  const Case<In, Out> c(seed);
  const auto step_of = [&c](std::size_t o) { return 0.25f * c.g[o]; };
  // set: every row written, zero steps included
  std::array<float, In* Out> set = c.w;
  kernels::dense_outer_f32<kernels::OuterOp::set, In, Out>(set.data(), c.x.data(), step_of);
  // add and subtract: from the weights
  std::array<float, In* Out> add = c.w;
  kernels::dense_outer_f32<kernels::OuterOp::add, In, Out>(add.data(), c.x.data(), step_of);
  std::array<float, In* Out> sub = c.w;
  kernels::dense_outer_f32<kernels::OuterOp::subtract, In, Out>(sub.data(), c.x.data(), step_of);
  std::array<float, In * Out> e_set{};
  std::array<float, In * Out> e_add{};
  std::array<float, In * Out> e_sub{};
  for (std::size_t o = 0; o < Out; ++o) {
    const float s = step_of(o);
    for (std::size_t i = 0; i < In; ++i) {
      const std::size_t k = o * In + i;
      e_set[k] = s * c.x[i];
      e_add[k] = s == 0.0f ? c.w[k] : reference_mac(c.w[k], s, c.x[i]);
      e_sub[k] = s == 0.0f ? c.w[k] : reference_mac(c.w[k], -s, c.x[i]);
      CHECK(std::fabs(double(sub[k]) - (double(c.w[k]) - double(s) * double(c.x[i]))) <= 1e-6);
    }
  }
  CHECK(same_bits(set, e_set));
  CHECK(same_bits(add, e_add));
  CHECK(same_bits(sub, e_sub));
}

template <std::size_t In, std::size_t Out>
void check_all(std::uint32_t seed) {
  CAPTURE(In);
  CAPTURE(Out);
  check_forward<In, Out>(seed);
  check_input_grad<In, Out>(seed + 1);
  check_outer<In, Out>(seed + 2);
}

}  // namespace

TEST_CASE("float dense kernels: bit for bit against their stated arithmetic, every tail") {
  check_all<1, 1>(1);
  check_all<3, 5>(2);
  check_all<8, 4>(3);   // exactly one chunk, one block
  check_all<13, 7>(4);  // a chunk and a 5-column tail; a block and 3 rows
  check_all<16, 8>(5);
  check_all<64, 32>(6);   // the benchmark's hidden layer
  check_all<144, 10>(7);  // the demo's head: 18 chunks; 2 blocks and 2 rows
  check_all<32, 10>(8);
  check_all<17, 9>(9);
}

TEST_CASE("float dense kernels: hand-computed") {
  // W = [[1, 2], [3, -4]], b = [0.5, -1], x = [2, 1]
  //   y0 = 0.5 + 1*2 + 2*1 = 4.5;  y1 = -1 + 3*2 - 4*1 = 1
  const std::array<float, 2> x{2.0f, 1.0f};
  const std::array<float, 4> w{1.0f, 2.0f, 3.0f, -4.0f};
  const std::array<float, 2> b{0.5f, -1.0f};
  std::array<float, 2> y{};
  kernels::fully_connected_f32<2, 2>(x, w, b, y, Activation::none);
  CHECK(y == std::array<float, 2>{4.5f, 1.0f});
  // dx = W^T g with g = [1, -0.5]: dx0 = 1 - 1.5 = -0.5, dx1 = 2 + 2 = 4
  const std::array<float, 2> g{1.0f, -0.5f};
  std::array<float, 2> dx{};
  kernels::dense_input_grad_f32<2, 2>(w, g, dx);
  CHECK(dx == std::array<float, 2>{-0.5f, 4.0f});
  // W -= (s g) x^T with s g = [0.5, 0]: row 0 = [1 - 1, 2 - 0.5] = [0, 1.5], row 1 unchanged
  std::array<float, 4> updated = w;
  kernels::dense_outer_f32<kernels::OuterOp::subtract, 2, 2>(
      updated.data(), x.data(), [](std::size_t o) { return o == 0 ? 0.5f : 0.0f; });
  CHECK(updated == std::array<float, 4>{0.0f, 1.5f, 3.0f, -4.0f});
}
