// Finite-difference gradient checks of every layer's backward pass.
//
// For a layer y = f(x; W, b) and a fixed random "upstream gradient" u, the scalar
// L = sum_k u_k y_k has dL/dx = backward(u) and dL/dW, dL/db = the parameter gradients.
// Each analytic derivative is compared with the central difference
//   (L(v + eps) - L(v - eps)) / (2 eps)
// for every input, weight and bias element. Float arithmetic limits the agreement to about
// 1e-3 relative; a wrong index, a missing term or a wrong sign is off by O(1).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>

#include "../support/random.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/gradient_sink.hpp"
#include "microtl/train/trainable.hpp"

using namespace microtl;

namespace {

constexpr float eps = 1e-2f;

bool close(float analytic, float numeric) {
  const float scale = std::fabs(analytic) > 1.0f ? std::fabs(analytic) : 1.0f;
  return std::fabs(analytic - numeric) <= 2e-3f * scale;
}

template <std::size_t N>
void fill(std::array<float, N>& a, microtl_test::Xorshift32& rng, float low, float high) {
  for (auto& v : a) {
    v = rng.uniform_float(low, high);
  }
}

// The layer bound to shape S, with float elements and activation A.
template <class L>
struct Check {
  using In = typename L::input_shape;
  using Out = typename L::output_shape;
  static constexpr std::size_t n_in = In::size;
  static constexpr std::size_t n_out = Out::size;

  std::array<float, n_in> x{};
  std::array<float, n_out> u{};

  template <class P>
  float loss(const P& params, const std::array<float, n_in>& input) const {
    std::array<float, n_out> y{};
    (void)L::forward(params, TensorView<const float, In>(input), NoQuant{},
                     TensorView<float, Out>(y), std::span<std::byte>());
    float sum = 0.0f;
    for (std::size_t k = 0; k < n_out; ++k) {
      sum += u[k] * y[k];
    }
    return sum;
  }

  // Runs backward once and returns the number of mismatching derivatives.
  template <class P, std::size_t W = 0, std::size_t B = 0>
  int run(const P& params, std::array<float, W>* weights = nullptr,
          std::array<float, B>* bias = nullptr) {
    std::array<float, n_out> y{};
    (void)L::forward(params, TensorView<const float, In>(x), NoQuant{}, TensorView<float, Out>(y),
                     std::span<std::byte>());
    std::array<float, n_out> dy = u;
    std::array<float, n_in> dx{};
    std::array<float, W> dw{};
    std::array<float, B> db{};
    const ForwardRecord<L> record{
        TensorView<const float, In>(x), NoQuant{}, TensorView<const float, Out>(y), NoQuant{}, {}};
    if constexpr (W > 0) {
      // Accumulating into zeroed gradients: what the trainer does for every layer that puts
      // several contributions per value (and the same sums as overwriting for the others).
      GradientSinkFor<GradientPolicy::accumulate, 2, 3U> sink{};
      sink.target = {dw.data(), db.data()};
      L::template backward<true>(params, record, TensorView<float, Out>(dy),
                                 TensorView<float, In>(dx), sink);
    } else {
      L::template backward<true>(params, record, TensorView<float, Out>(dy),
                                 TensorView<float, In>(dx), NoGradients{});
    }
    int mismatches = 0;
    for (std::size_t i = 0; i < n_in; ++i) {
      auto plus = x;
      auto minus = x;
      plus[i] += eps;
      minus[i] -= eps;
      const float numeric = (loss(params, plus) - loss(params, minus)) / (2.0f * eps);
      if (!close(dx[i], numeric)) {
        ++mismatches;
        MESSAGE("dx[" << i << "] analytic " << dx[i] << " numeric " << numeric);
      }
    }
    if constexpr (W > 0) {
      for (std::size_t j = 0; j < W; ++j) {
        const float saved = (*weights)[j];
        (*weights)[j] = saved + eps;
        const float up = loss(params, x);
        (*weights)[j] = saved - eps;
        const float down = loss(params, x);
        (*weights)[j] = saved;
        const float numeric = (up - down) / (2.0f * eps);
        if (!close(dw[j], numeric)) {
          ++mismatches;
          MESSAGE("dW[" << j << "] analytic " << dw[j] << " numeric " << numeric);
        }
      }
      for (std::size_t j = 0; j < B; ++j) {
        const float saved = (*bias)[j];
        (*bias)[j] = saved + eps;
        const float up = loss(params, x);
        (*bias)[j] = saved - eps;
        const float down = loss(params, x);
        (*bias)[j] = saved;
        const float numeric = (up - down) / (2.0f * eps);
        if (!close(db[j], numeric)) {
          ++mismatches;
          MESSAGE("db[" << j << "] analytic " << db[j] << " numeric " << numeric);
        }
      }
    }
    return mismatches;
  }
};

// Checks a linear layer (Dense, Conv2D, DepthwiseConv2D, Conv1D) with random parameters.
template <class L>
int check_linear(std::uint32_t seed) {
  microtl_test::Xorshift32 rng(seed);
  constexpr std::size_t W = L::Params::weights_extent;
  constexpr std::size_t B = L::Params::bias_extent;
  static std::array<float, W> weights{};
  static std::array<float, B> bias{};
  fill(weights, rng, -1.0f, 1.0f);
  fill(bias, rng, -0.5f, 0.5f);
  Check<L> check;
  fill(check.x, rng, -1.0f, 1.0f);
  fill(check.u, rng, -1.0f, 1.0f);
  const typename L::Params params{weights, bias};
  return check.template run<typename L::Params, W, B>(params, &weights, &bias);
}

template <class L>
int check_stateless(std::uint32_t seed, float low = -1.0f, float high = 1.0f) {
  microtl_test::Xorshift32 rng(seed);
  Check<L> check;
  fill(check.x, rng, low, high);
  fill(check.u, rng, -1.0f, 1.0f);
  return check.run(NoParams{});
}

template <class Spec, class S, quant::Activation A = quant::Activation::none>
using Bound = typename Spec::template bind<S, float, A>;
// Specs that fuse no activation bind with the shape and element alone.
template <class Spec, class S>
using BoundPlain = typename Spec::template bind<S, float>;

}  // namespace

TEST_CASE("gradients: Dense") {
  CHECK(check_linear<Bound<Dense<5>, Shape<7>>>(11) == 0);
  CHECK(check_linear<Bound<Dense<4>, Shape<6>, quant::Activation::relu>>(12) == 0);
  CHECK(check_linear<Bound<Dense<3>, Shape<5>, quant::Activation::relu6>>(13) == 0);
}

TEST_CASE("gradients: Conv2D, same and valid padding, stride 1 and 2") {
  CHECK(check_linear<Bound<Conv2D<3, Kernel<3>, Padding::same>, Shape<5, 5, 2>>>(21) == 0);
  CHECK(check_linear<
            Bound<Conv2D<2, Kernel<3>, Padding::valid>, Shape<5, 4, 3>, quant::Activation::relu>>(
            22) == 0);
  CHECK(check_linear<Bound<Conv2D<2, Kernel<3, 2>, Padding::same, 2>, Shape<6, 5, 2>>>(23) == 0);
}

TEST_CASE("gradients: DepthwiseConv2D, depth multiplier 1 and 2") {
  CHECK(check_linear<Bound<DepthwiseConv2D<Kernel<3>, Padding::same>, Shape<5, 5, 3>>>(31) == 0);
  CHECK(check_linear<Bound<DepthwiseConv2D<Kernel<3>, Padding::valid, 2, 2>, Shape<6, 6, 2>,
                           quant::Activation::relu>>(32) == 0);
}

TEST_CASE("gradients: Conv1D") {
  CHECK(check_linear<Bound<Conv1D<3, 3, Padding::same>, Shape<8, 2>>>(41) == 0);
  CHECK(check_linear<Bound<Conv1D<2, 4, Padding::valid, 2>, Shape<9, 3>, quant::Activation::relu>>(
            42) == 0);
}

TEST_CASE("gradients: pooling, activations") {
  CHECK(check_stateless<Bound<MaxPool2D<2>, Shape<4, 6, 3>>>(51) == 0);
  CHECK(check_stateless<Bound<MaxPool2D<3, 2, Padding::same>, Shape<5, 5, 2>>>(52) == 0);
  CHECK(check_stateless<Bound<AvgPool2D<2>, Shape<4, 4, 3>>>(53) == 0);
  CHECK(check_stateless<Bound<AvgPool2D<3, 2, Padding::same>, Shape<5, 5, 2>>>(54) == 0);
  CHECK(check_stateless<Bound<GlobalAvgPool2D, Shape<3, 4, 5>>>(55) == 0);
  CHECK(check_stateless<BoundPlain<ReLU, Shape<20>>>(56) == 0);
  // ReLU6 with inputs spread over both kinks (0 and 6).
  CHECK(check_stateless<BoundPlain<ReLU6, Shape<20>>>(57, -3.0f, 9.0f) == 0);
}
