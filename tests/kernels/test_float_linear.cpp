// The float dense kernels (kernels/float_linear.hpp; on FPU cores the VLDM/VFMA assembly of
// kernels/arm/float_linear.hpp, on Helium float cores the vector loops of
// kernels/mve/float_linear.hpp):
//  - bit for bit against a plain loop written here with the kernels' stated arithmetic (one
//    multiply-add chain per output in a fixed order; fused, std::fma, where
//    MICROTL_FUSED_MULTIPLY_ADD, a multiply and an add elsewhere), for shapes with and without the
//    8-column and 4-row tails, and rows skipped for a zero gradient;
//  - within float rounding of a double-precision reference (the arithmetic itself);
//  - every tail of the vector kernels (1 to 10, 31, 64 columns and rows) with zeros, negative
//    zeros and skipped rows (a zero or negative-zero gradient) among random values, bit for bit;
//  - the guard's feature test (guard::check_features, vectorized on Helium float cores);
//  - hand-computed values; on Helium float cores, the one documented difference (subnormals
//    flushed to zero).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <span>

#include "../support/random.hpp"
#include "microtl/kernels/float_linear.hpp"
#include "microtl/train/guard.hpp"

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
  // Random values with zeros and negative zeros among them: in x, W and b every fifth value
  // (alternating signs), in g every third row +0 or -0 (both skipped) from a seed-dependent
  // start, so the first and last rows are skipped in some shapes.
  Case(std::uint32_t seed, bool with_zeros) : Case(seed) {
    if (!with_zeros) {
      return;
    }
    const auto zeros = [](auto& values, std::size_t start) {
      for (std::size_t k = start % 5; k < values.size(); k += 5) {
        values[k] = (k / 5) % 2 == 0 ? 0.0f : -0.0f;
      }
    };
    zeros(x, seed);
    zeros(w, seed + 1);
    zeros(b, seed + 2);
    for (std::size_t o = 0; o < Out; ++o) {
      g[o] = (o + seed) % 3 == 0 ? ((o / 3) % 2 == 0 ? -0.0f : 0.0f) : g[o];
    }
  }
};

template <std::size_t In, std::size_t Out>
void check_forward(std::uint32_t seed, bool with_zeros = false) {
  const Case<In, Out> c(seed, with_zeros);
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
void check_input_grad(std::uint32_t seed, bool with_zeros = false) {
  const Case<In, Out> c(seed, with_zeros);
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
void check_outer(std::uint32_t seed, bool with_zeros = false) {
  const Case<In, Out> c(seed, with_zeros);
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
void check_all(std::uint32_t seed, bool with_zeros = false) {
  CAPTURE(In);
  CAPTURE(Out);
  CAPTURE(with_zeros);
  check_forward<In, Out>(seed, with_zeros);
  check_input_grad<In, Out>(seed + 1, with_zeros);
  check_outer<In, Out>(seed + 2, with_zeros);
}

// Every In of `Ins` with Out, and every Out of `Outs` with In, with and without zeros.
template <std::size_t... N>
struct Sizes {};
template <std::size_t Out, std::size_t... In>
void sweep_in(Sizes<In...>, std::uint32_t seed) {
  (check_all<In, Out>(seed + 10 * In, true), ...);
  (check_all<In, Out>(seed + 10 * In + 5), ...);
}
template <std::size_t In, std::size_t... Out>
void sweep_out(Sizes<Out...>, std::uint32_t seed) {
  (check_all<In, Out>(seed + 10 * Out, true), ...);
  (check_all<In, Out>(seed + 10 * Out + 5), ...);
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

TEST_CASE("float dense kernels: every tail of columns and rows, zeros and negative zeros") {
  // Columns: the vector kernels' four-column steps and their 1-3 column tails (predicated or
  // one column at a time); rows: the forward pass's four-lane blocks and the partial last block
  // (1-3 lanes), the input gradient's and update's groups of four unskipped rows and the 1-3
  // left over.
  using Small = Sizes<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31, 64>;
  sweep_in<5>(Small{}, 100);
  sweep_in<10>(Small{}, 200);
  sweep_out<7>(Sizes<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31>{}, 300);
  sweep_out<64>(Sizes<1, 3, 4, 9, 32>{}, 400);
  check_all<256, 10>(500, true);  // the CNN bench's head
  check_all<33, 33>(501, true);
}

TEST_CASE("guard::check_features: within, out of range, not finite, every tail") {
  // The vectorized test (Helium float cores) four values at a time: a bad value in each lane
  // position and in the tail must be found.
  std::array<float, 11> values{};
  microtl_test::Xorshift32 rng(7);
  for (std::size_t n = 0; n <= values.size(); ++n) {
    CAPTURE(n);
    microtl_test::fill_floats(values, rng, -100.0f, 100.0f);
    values[0] = -0.0f;
    const std::span<const float> v(values.data(), n);
    CHECK(microtl::guard::check_features(v) == microtl::Status::ok);
    for (std::size_t k = 0; k < n; ++k) {
      CAPTURE(k);
      const float kept = values[k];
      values[k] = microtl::guard::feature_limit;  // the limit itself is within
      CHECK(microtl::guard::check_features(v) == microtl::Status::ok);
      values[k] = -2.0f * microtl::guard::feature_limit;
      CHECK(microtl::guard::check_features(v) == microtl::Status::out_of_range);
      values[k] = std::numeric_limits<float>::quiet_NaN();
      CHECK(microtl::guard::check_features(v) == microtl::Status::not_finite);
      values[k] = -std::numeric_limits<float>::infinity();
      CHECK(microtl::guard::check_features(v) == microtl::Status::not_finite);
      values[k] = std::numeric_limits<float>::denorm_min();
      CHECK(microtl::guard::check_features(v) == microtl::Status::ok);
      values[k] = kept;
    }
  }
}

#if MICROTL_USE_MVE_FLOAT_KERNELS
TEST_CASE("float dense kernels on Helium: subnormals flush to zero (the documented difference)") {
  // MVE float instructions use the standard FPSCR value (kernels/mve/float_linear.hpp): a
  // subnormal result is +-0 where the scalar FPU keeps it. s x = 2^-70 2^-70 = 2^-140.
  const std::array<float, 4> x{0x1p-70f, 0x1p-70f, 1.0f, 0x1p-70f};
  std::array<float, 4> row{};
  kernels::dense_outer_f32<kernels::OuterOp::set, 4, 1>(row.data(), x.data(),
                                                        [](std::size_t) { return 0x1p-70f; });
  CHECK(reference_mac(0.0f, 0x1p-70f, 0x1p-70f) == 0x1p-140f);  // the scalar FPU's result
  CHECK(row == std::array<float, 4>{0.0f, 0.0f, 0x1p-70f, 0.0f});
}
#endif

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
