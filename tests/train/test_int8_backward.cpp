// The backward pass of int8 layers, against the float layer on the dequantized values.
//
// An int8 linear layer with codes q, per-channel weight scales s_c, an int32 bias b_q and an
// input quantization (s_in, z_in) stands for the float layer with
//   W[j] = s_c q[j],   b[c] = s_in s_c b_q[c],   x[i] = s_in (x_q[i] - z_in).
// Its backward pass, in real units, must be that float layer's backward at those values,
// with the activation's derivative taken at the dequantized output (where the int8 output
// was not clamped). Each case runs both on random codes and a random upstream gradient u:
//   - parameter gradients: the same floats (the same products of the same dequantized
//     values): compared exactly;
//   - input gradient: the int8 layer multiplies codes by s_c g, the float one s_c q by g:
//     a rounding apart, 1e-5 of the largest magnitude;
//   - and the float layer on the dequantized values against central differences of
//     L = sum u y (the finite-difference check where it applies: the int8 forward itself is a
//     step function), 2e-3 as in test_layer_gradients.cpp.
// A clamped output (saturation, or the fused ReLU at the zero point) passes no gradient.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../support/random.hpp"
#include "microtl/layers/quantize_linear.hpp"
#include "microtl/microtl.hpp"
#include "microtl/train/gradient_sink.hpp"

using namespace microtl;

namespace {

template <class Spec, class S, quant::Activation A>
struct Pair {
  using L8 = typename Spec::template bind<S, QInt8, A>;
  using LF = typename Spec::template bind<S, float, A>;
  using In = typename LF::input_shape;
  using Out = typename LF::output_shape;
  static constexpr std::size_t n_in = In::size;
  static constexpr std::size_t n_out = Out::size;
  static constexpr std::size_t W = LF::Params::weights_extent;
  static constexpr std::size_t C = LF::Params::bias_extent;
  static constexpr ChannelAxis axis =
      L8::weights_channel_last ? ChannelAxis::trailing : ChannelAxis::leading;
  static constexpr std::size_t channel_of(std::size_t j) {
    return axis == ChannelAxis::leading ? j / (W / C) : j % C;
  }
};

struct Mismatches {
  int input = 0;
  int weights = 0;
  int bias = 0;
  int finite_difference = 0;
  std::size_t masked = 0;    // outputs whose gradient the clamp removed
  std::size_t positive = 0;  // outputs passing gradient
};

template <class P>
float float_loss(const typename P::LF::Params& params, const std::array<float, P::n_in>& x,
                 const std::array<float, P::n_out>& u) {
  std::array<float, P::n_out> y{};
  (void)P::LF::forward(params, TensorView<const float, typename P::In>(x), NoQuant{},
                       TensorView<float, typename P::Out>(y), std::span<std::byte>());
  float sum = 0.0f;
  for (std::size_t k = 0; k < P::n_out; ++k) {
    sum += u[k] * y[k];
  }
  return sum;
}

// One random case; bias_shift moves channel 0's bias up (to force saturation).
template <class Spec, class S, quant::Activation A = quant::Activation::none>
Mismatches compare(std::uint32_t seed, float bias_shift = 0.0f) {
  using P = Pair<Spec, S, A>;
  microtl_test::Xorshift32 rng(seed);
  static std::array<float, P::W> w{};
  static std::array<float, P::C> b{};
  microtl_test::fill_floats(w, rng, -1.0f, 1.0f);
  microtl_test::fill_floats(b, rng, -0.3f, 0.3f);
  b[0] += bias_shift;
  const quant::QuantParams q_in{1.0f / 64.0f, rng.uniform_int(-20, 20)};
  // Every |y| stays below fan_in * max|x| + max|b|: an output scale that never saturates
  // (unless bias_shift pushes channel 0 past it).
  constexpr float fan_in = static_cast<float>(P::W / P::C);
  const float bound = fan_in * 2.4f + 0.3f;
  const quant::QuantParams q_out = A == quant::Activation::none
                                       ? quant::QuantParams{2.0f * bound / 250.0f, 3}
                                       : quant::QuantParams{bound / 250.0f, -128};
  static QuantizedLinear<P::W, P::C> q{};
  q = quantize_linear<P::axis>(w, b, q_in, q_out);
  const auto params8 = q.params();

  // The float layer on the dequantized values.
  static std::array<float, P::W> w_real{};
  static std::array<float, P::C> b_real{};
  for (std::size_t j = 0; j < P::W; ++j) {
    w_real[j] = static_cast<float>(q.weights[j]) * q.weight_scales[P::channel_of(j)];
  }
  for (std::size_t c = 0; c < P::C; ++c) {
    b_real[c] = static_cast<float>(q.bias[c]) * (q_in.scale * q.weight_scales[c]);
  }
  const typename P::LF::Params params_f{w_real, b_real};

  std::array<std::int8_t, P::n_in> x8{};
  microtl_test::fill_int8s(x8, rng, -128, 127);
  std::array<float, P::n_in> x{};
  for (std::size_t i = 0; i < P::n_in; ++i) {
    x[i] = quant::dequantize(x8[i], q_in);
  }
  std::array<float, P::n_out> u{};
  microtl_test::fill_floats(u, rng, -1.0f, 1.0f);

  // Forward in int8, and the output as the float layer sees it.
  std::array<std::int8_t, P::n_out> y8{};
  alignas(8) static std::array<std::byte, P::L8::scratch_bytes + 8> scratch{};
  const quant::QuantParams y_quant =
      P::L8::forward(params8, TensorView<const std::int8_t, typename P::In>(x8), q_in,
                     TensorView<std::int8_t, typename P::Out>(y8), std::span<std::byte>(scratch));
  std::array<float, P::n_out> y{};
  for (std::size_t k = 0; k < P::n_out; ++k) {
    y[k] = quant::dequantize(y8[k], y_quant);
  }

  Mismatches m;
  // int8 backward.
  std::array<float, P::n_out> dy8 = u;
  std::array<float, P::n_in> dx8{};
  std::array<float, P::W> dw8{};
  std::array<float, P::C> db8{};
  {
    GradientSinkFor<GradientPolicy::accumulate, 2, 3U> sink{};
    sink.target = {dw8.data(), db8.data()};
    const ForwardRecord<typename P::L8> record{TensorView<const std::int8_t, typename P::In>(x8),
                                               q_in,
                                               TensorView<const std::int8_t, typename P::Out>(y8),
                                               y_quant,
                                               {}};
    P::L8::template backward<true>(params8, record, TensorView<float, typename P::Out>(dy8),
                                   TensorView<float, typename P::In>(dx8), sink);
  }
  for (std::size_t k = 0; k < P::n_out; ++k) {
    (dy8[k] == 0.0f ? m.masked : m.positive) += 1;
  }
  // Float backward at the dequantized values; saturated outputs (which a float layer does
  // not have) get the int8 mask.
  std::array<float, P::n_out> dyf = u;
  for (std::size_t k = 0; k < P::n_out; ++k) {
    if (y8[k] == 127 || (A == quant::Activation::none && y8[k] == -128)) {
      dyf[k] = 0.0f;
    }
  }
  std::array<float, P::n_in> dxf{};
  std::array<float, P::W> dwf{};
  std::array<float, P::C> dbf{};
  {
    GradientSinkFor<GradientPolicy::accumulate, 2, 3U> sink{};
    sink.target = {dwf.data(), dbf.data()};
    const ForwardRecord<typename P::LF> record{TensorView<const float, typename P::In>(x),
                                               NoQuant{},
                                               TensorView<const float, typename P::Out>(y),
                                               NoQuant{},
                                               {}};
    P::LF::template backward<true>(params_f, record, TensorView<float, typename P::Out>(dyf),
                                   TensorView<float, typename P::In>(dxf), sink);
  }
  m.weights = static_cast<int>(std::count_if(dw8.begin(), dw8.end(), [&](const float& v) {
    return v != dwf[static_cast<std::size_t>(&v - dw8.data())];
  }));
  m.bias = static_cast<int>(std::count_if(db8.begin(), db8.end(), [&](const float& v) {
    return v != dbf[static_cast<std::size_t>(&v - db8.data())];
  }));
  float largest = 0.0f;
  for (float v : dxf) {
    largest = std::max(largest, std::fabs(v));
  }
  for (std::size_t i = 0; i < P::n_in; ++i) {
    if (std::fabs(dx8[i] - dxf[i]) > 1e-5f * largest) {
      ++m.input;
      MESSAGE("dx[" << i << "] int8 " << dx8[i] << " float " << dxf[i]);
    }
  }

  // Central differences of the float layer where its output is not at a kink or clamp: with
  // the mask the same as the int8 one, compare dL/dx for the outputs that pass.
  if (m.masked == 0) {
    constexpr float eps = 1e-2f;
    for (std::size_t i = 0; i < P::n_in; ++i) {
      auto plus = x;
      auto minus = x;
      plus[i] += eps;
      minus[i] -= eps;
      const float numeric =
          (float_loss<P>(params_f, plus, u) - float_loss<P>(params_f, minus, u)) / (2.0f * eps);
      const float scale = std::max(1.0f, std::fabs(numeric));
      if (std::fabs(dx8[i] - numeric) > 2e-3f * scale) {
        ++m.finite_difference;
        MESSAGE("dx[" << i << "] int8 " << dx8[i] << " central difference " << numeric);
      }
    }
  }
  return m;
}

void check_agrees(const Mismatches& m) {
  CHECK(m.input == 0);
  CHECK(m.weights == 0);
  CHECK(m.bias == 0);
  CHECK(m.finite_difference == 0);
  CHECK(m.positive > 0);
}

using quant::Activation;

}  // namespace

TEST_CASE("int8 backward: Dense against the float layer on the dequantized values") {
  const Mismatches plain = compare<Dense<5>, Shape<7>>(101);
  check_agrees(plain);
  CHECK(plain.masked == 0);
  const Mismatches relu = compare<Dense<6>, Shape<9>, Activation::relu>(102);
  check_agrees(relu);
  CHECK(relu.masked > 0);  // some outputs at the zero point: the ReLU's kink
}

TEST_CASE("int8 backward: Conv2D, same and valid padding, stride 1 and 2") {
  check_agrees(compare<Conv2D<3, Kernel<3>, Padding::same>, Shape<5, 5, 2>>(111));
  check_agrees(
      compare<Conv2D<2, Kernel<3>, Padding::valid>, Shape<5, 4, 3>, Activation::relu>(112));
  check_agrees(compare<Conv2D<2, Kernel<3, 2>, Padding::same, 2>, Shape<6, 5, 2>>(113));
  // 16 channels in and out: the DSP kernels' prepared and general paths on Cortex-M.
  check_agrees(
      compare<Conv2D<16, Kernel<3>, Padding::same>, Shape<4, 4, 16>, Activation::relu>(114));
}

TEST_CASE("int8 backward: DepthwiseConv2D, depth multiplier 1 and 2") {
  check_agrees(compare<DepthwiseConv2D<Kernel<3>, Padding::same>, Shape<5, 5, 3>>(121));
  check_agrees(
      compare<DepthwiseConv2D<Kernel<3>, Padding::valid, 2, 2>, Shape<6, 6, 2>, Activation::relu>(
          122));
}

TEST_CASE("int8 backward: Conv1D") {
  check_agrees(compare<Conv1D<3, 3, Padding::same>, Shape<8, 2>>(131));
  check_agrees(compare<Conv1D<2, 4, Padding::valid, 2>, Shape<9, 3>, Activation::relu>(132));
}

TEST_CASE("int8 backward: a saturated output channel passes no gradient") {
  // Channel 0's bias far above the output range: every channel-0 output is 127.
  const Mismatches m = compare<Conv2D<3, Kernel<3>, Padding::same>, Shape<4, 4, 2>>(141, 1e4f);
  check_agrees(m);
  CHECK(m.masked == 16);  // exactly the 4x4 outputs of channel 0
}

TEST_CASE("int8 backward: the weight scale recovered from the multiplier") {
  // s_w = M s_out / s_in within float rounding, over scales spanning many octaves.
  microtl_test::Xorshift32 rng(151);
  for (int n = 0; n < 2000; ++n) {
    const float s_in = std::ldexp(rng.uniform_float(1.0f, 2.0f), rng.uniform_int(-12, 0));
    const float s_w = std::ldexp(rng.uniform_float(1.0f, 2.0f), rng.uniform_int(-14, -2));
    const float s_out = std::ldexp(rng.uniform_float(1.0f, 2.0f), rng.uniform_int(-8, 2));
    const auto m = kernels::conv_output_multiplier(s_in, s_w, s_out);
    const float recovered = quant::real_multiplier(m) * (s_out / s_in);
    REQUIRE(std::fabs(recovered - s_w) <= 4e-7f * s_w);
  }
  CHECK(quant::real_multiplier({0, 0}) == 0.0f);
  CHECK(quant::real_multiplier({1 << 30, 0}) == 0.5f);
  CHECK(quant::real_multiplier({1 << 30, -31}) == std::ldexp(1.0f, -32));
}

TEST_CASE("int8 backward: Quantize passes the gradient where it did not clamp") {
  using L = Quantize::bind<Shape<6>, float>;
  const quant::QuantParams q{0.1f, 0};
  const std::array<float, 6> x = {-20.0f, -12.8f, -0.3f, 0.04f, 5.0f, 12.7f};
  std::array<std::int8_t, 6> y{};
  (void)L::forward(q, TensorView<const float, Shape<6>>(x), NoQuant{},
                   TensorView<std::int8_t, Shape<6>>(y), std::span<std::byte>());
  std::array<float, 6> dy = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  std::array<float, 6> dx{};
  const ForwardRecord<L> record{TensorView<const float, Shape<6>>(x),
                                NoQuant{},
                                TensorView<const std::int8_t, Shape<6>>(y),
                                q,
                                {}};
  L::backward<true>(q, record, TensorView<float, Shape<6>>(dy), TensorView<float, Shape<6>>(dx),
                    NoGradients{});
  // -20 and -12.8 clamp to -128, 12.7 to 127: no gradient; the others pass unchanged.
  const std::array<float, 6> expected = {0.0f, 0.0f, 3.0f, 4.0f, 5.0f, 0.0f};
  CHECK(dx == expected);
}

namespace {

// A parameterless int8 layer (pool, activation) against the float layer on the dequantized
// input: the same input gradient, exactly (the same routing and the same float arithmetic:
// dequantization is monotonic, so a max pool picks the same tap; an int8 ReLU's output code at
// the zero point is a float 0).
template <class Spec, class S, quant::Activation A = quant::Activation::none>
int stateless_mismatches(std::uint32_t seed) {
  using L8 = bind_spec_t<Spec, S, QInt8, A>;
  using LF = bind_spec_t<Spec, S, float, A>;
  using In = typename LF::input_shape;
  using Out = typename LF::output_shape;
  microtl_test::Xorshift32 rng(seed);
  const quant::QuantParams q{0.05f, rng.uniform_int(-10, 10)};
  std::array<std::int8_t, In::size> x8{};
  microtl_test::fill_int8s(x8, rng, -120, 120);  // no output at the ends of the code range
  std::array<float, In::size> x{};
  for (std::size_t i = 0; i < In::size; ++i) {
    x[i] = quant::dequantize(x8[i], q);
  }
  std::array<float, Out::size> u{};
  microtl_test::fill_floats(u, rng, -1.0f, 1.0f);

  std::array<std::int8_t, Out::size> y8{};
  const auto y_quant = L8::forward(NoParams{}, TensorView<const std::int8_t, In>(x8), q,
                                   TensorView<std::int8_t, Out>(y8), std::span<std::byte>());
  std::array<float, Out::size> y{};
  (void)LF::forward(NoParams{}, TensorView<const float, In>(x), NoQuant{},
                    TensorView<float, Out>(y), std::span<std::byte>());
  std::array<float, Out::size> dy8 = u;
  std::array<float, Out::size> dyf = u;
  std::array<float, In::size> dx8{};
  std::array<float, In::size> dxf{};
  L8::template backward<true>(NoParams{},
                              ForwardRecord<L8>{TensorView<const std::int8_t, In>(x8),
                                                q,
                                                TensorView<const std::int8_t, Out>(y8),
                                                y_quant,
                                                {}},
                              TensorView<float, Out>(dy8), TensorView<float, In>(dx8),
                              NoGradients{});
  LF::template backward<true>(NoParams{},
                              ForwardRecord<LF>{TensorView<const float, In>(x),
                                                NoQuant{},
                                                TensorView<const float, Out>(y),
                                                NoQuant{},
                                                {}},
                              TensorView<float, Out>(dyf), TensorView<float, In>(dxf),
                              NoGradients{});
  int mismatches = 0;
  for (std::size_t i = 0; i < In::size; ++i) {
    mismatches += dx8[i] == dxf[i] ? 0 : 1;
  }
  return mismatches;
}

}  // namespace

TEST_CASE("int8 backward: pools and activations against the float layer, exactly") {
  CHECK(stateless_mismatches<MaxPool2D<2>, Shape<4, 6, 3>>(161) == 0);
  CHECK(stateless_mismatches<MaxPool2D<3, 2, Padding::same>, Shape<5, 5, 2>>(162) == 0);
  CHECK(stateless_mismatches<AvgPool2D<2>, Shape<4, 4, 3>>(163) == 0);
  CHECK(stateless_mismatches<GlobalAvgPool2D, Shape<3, 4, 5>>(164) == 0);
  CHECK(stateless_mismatches<MaxPool2D<2>, Shape<4, 4, 2>, Activation::relu>(165) == 0);
  CHECK(stateless_mismatches<ReLU, Shape<20>>(166) == 0);
  CHECK(stateless_mismatches<ReLU6, Shape<20>>(167) == 0);
}
